//! Whether MIT's GSSAPI hands our calls to gssproxy: the interposer plugin that Debian's and
//! Red Hat's `gssproxy` packages register (`/etc/gss/mech.d/proxymech.conf`) takes over the
//! Kerberos mechanism in a process whose environment has `GSS_USE_PROXY` set to a true value,
//! and is inert otherwise. Then the gssproxy daemon holds the keytab, acquires the acceptor
//! credential and accepts each token; this process never reads the keys.

use std::fmt;
use std::sync::OnceLock;

/// The socket the interposer talks to when `GSSPROXY_SOCKET` does not name one (Debian's and
/// Red Hat's builds; `strings proxymech.so`).
const DEFAULT_SOCKET: &str = "/var/lib/gssproxy/default.sock";

/// Whether this process's environment turns the interposer on, as read the first time.
pub(crate) fn in_use() -> bool {
    static IN_USE: OnceLock<bool> = OnceLock::new();
    *IN_USE.get_or_init(|| Gssproxy::from_env().is_some())
}

/// The interposer's settings, as it reads them from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gssproxy {
    /// `GSSPROXY_SOCKET`, or the compiled-in default.
    socket: String,
    /// `GSSPROXY_BEHAVIOR` when set (the plugin's default is `REMOTE_FIRST`: gssproxy, then
    /// this process's own keytab when gssproxy fails).
    behavior: Option<String>,
}

impl Gssproxy {
    /// The interposer's settings when this process's environment turns it on.
    pub(crate) fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok();
        Self::from_vars(
            var("GSS_USE_PROXY").as_deref(),
            var("GSSPROXY_SOCKET"),
            var("GSSPROXY_BEHAVIOR"),
        )
    }

    /// The plugin's own test (`gp_boolean_is_true`): `1`, `on`, `true` or `yes`, any case.
    fn from_vars(
        use_proxy: Option<&str>,
        socket: Option<String>,
        behavior: Option<String>,
    ) -> Option<Self> {
        let on = use_proxy.is_some_and(|v| {
            ["1", "on", "true", "yes"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t))
        });
        on.then(|| Self {
            socket: socket
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_SOCKET.to_owned()),
            behavior: behavior.filter(|b| !b.is_empty()),
        })
    }
}

impl fmt::Display for Gssproxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GSS_USE_PROXY, socket {}, ", self.socket)?;
        match &self.behavior {
            Some(b) => write!(f, "GSSPROXY_BEHAVIOR={b}"),
            // The plugin's default: when gssproxy fails, it tries a keytab this process can
            // read (measured: a server whose keytab was readable started with gssproxy down).
            None => write!(
                f,
                "GSSPROXY_BEHAVIOR unset: REMOTE_FIRST, falls back to local keys"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugins_true_values_turn_it_on() {
        for on in ["yes", "YES", "1", "on", "True"] {
            assert!(Gssproxy::from_vars(Some(on), None, None).is_some(), "{on}");
        }
        for off in [
            None,
            Some(""),
            Some("no"),
            Some("0"),
            Some("y"),
            Some("yes "),
        ] {
            assert_eq!(Gssproxy::from_vars(off, None, None), None, "{off:?}");
        }
    }

    #[test]
    fn the_socket_defaults_to_the_plugins() {
        let p = Gssproxy::from_vars(Some("yes"), None, None).expect("on");
        assert_eq!(
            p.to_string(),
            format!(
                "GSS_USE_PROXY, socket {DEFAULT_SOCKET}, GSSPROXY_BEHAVIOR unset: REMOTE_FIRST, \
                 falls back to local keys"
            )
        );
        let p = Gssproxy::from_vars(
            Some("yes"),
            Some("/run/x.sock".into()),
            Some("REMOTE_ONLY".into()),
        )
        .expect("on");
        assert_eq!(
            p.to_string(),
            "GSS_USE_PROXY, socket /run/x.sock, GSSPROXY_BEHAVIOR=REMOTE_ONLY"
        );
    }
}
