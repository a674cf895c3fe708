//! GSSAPI failures: their text for logs, and their class for [`AuthEvent`]s.
//!
//! MIT's mechglue rewrites minor status codes: a code one mechanism already used is handed out
//! again under a made-up number (100000 and up) for the next one. A SPNEGO login's Kerberos
//! error therefore reaches us as a number that depends on what failed before in the process
//! (measured: "Request is a replay" as 100006). The class comes from the Kerberos error code
//! when it arrived unchanged (raw Kerberos tokens), else from the minor status' text, compared
//! with libkrb5's own text for each code and MIT's own message formats, translated as MIT
//! translates them. tests/events.rs checks every class against a real KDC.
//!
//! [`AuthEvent`]: crate::AuthEvent

use std::fmt;
use std::sync::OnceLock;

/// A GSSAPI failure, rendered to text where it happened (`gss_display_status` wants the same
/// thread-local mechglue state that produced the minor code).
#[derive(Debug, Clone)]
pub(crate) struct GssFailure {
    /// Major and minor status text, e.g. `Unspecified GSS failure (Request is a replay)`.
    pub(crate) message: String,
    class: FailureClass,
    /// The minor status, as the mechglue gave it (0 for our own failures).
    minor: u32,
    /// Its text (empty for our own failures).
    minor_text: String,
}

/// Why a token GSSAPI saw was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    Replay,
    ClockSkew,
    TicketExpired,
    WrongServicePrincipal,
    /// The client's channel bindings are not ours (`GSS_S_BAD_BINDINGS`).
    BadBindings,
    /// The replay store could not answer: the token was not checked (answered `503`).
    StoreUnavailable,
    Other,
}

impl GssFailure {
    /// A failure GSSAPI reported: `major_text (minor_text)`, classified by `major`, `minor`
    /// and its text.
    pub(crate) fn from_status(major: u32, major_text: &str, minor: u32, minor_text: &str) -> Self {
        // Routine errors are the major status' bits 16-23 (RFC 2744 §3.9.1).
        let class = if (major >> 16) & 0xff == GSS_S_BAD_BINDINGS {
            FailureClass::BadBindings
        } else {
            classify(minor, minor_text, known())
        };
        Self {
            message: format!("{major_text} ({minor_text})"),
            class,
            minor,
            minor_text: minor_text.to_owned(),
        }
    }

    /// A refusal or failure of our own, not a GSSAPI status.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            class: FailureClass::Other,
            minor: 0,
            minor_text: String::new(),
        }
    }

    /// A token our replay store had seen: its authenticator was accepted before.
    pub(crate) fn replayed() -> Self {
        Self {
            message: "the token's authenticator was accepted before (replay store): a replay"
                .to_owned(),
            class: FailureClass::Replay,
            minor: 0,
            minor_text: String::new(),
        }
    }

    /// The replay store could not say whether the token is a replay.
    pub(crate) fn store_unavailable(cause: &dyn fmt::Display) -> Self {
        Self {
            message: format!("the replay store cannot answer: {cause}"),
            class: FailureClass::StoreUnavailable,
            minor: 0,
            minor_text: String::new(),
        }
    }

    /// The minor status and its text, for classifications of their own (password logins).
    pub(crate) fn minor(&self) -> (u32, &str) {
        (self.minor, &self.minor_text)
    }

    pub(crate) fn class(&self) -> FailureClass {
        self.class
    }
}

impl fmt::Display for GssFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `GSS_S_BAD_BINDINGS`, as a routine error number.
const GSS_S_BAD_BINDINGS: u32 = 4;

/// The first code of MIT's com_err table `krb5` (`krb5_err.et`): its codes are BASE + n.
pub(crate) const BASE: i32 = -1_765_328_384;

/// MIT's krb5 error codes that name a class.
const CODES: &[(i32, FailureClass)] = &[
    (BASE + 31, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_BAD_INTEGRITY
    (BASE + 32, FailureClass::TicketExpired),         // KRB5KRB_AP_ERR_TKT_EXPIRED
    (BASE + 34, FailureClass::Replay),                // KRB5KRB_AP_ERR_REPEAT
    (BASE + 35, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_NOT_US
    (BASE + 37, FailureClass::ClockSkew),             // KRB5KRB_AP_ERR_SKEW
    (BASE + 44, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_BADKEYVER
    (BASE + 144, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_WRONG_PRINC
    (BASE + 163, FailureClass::Replay),               // KRB5_RC_REPLAY
];

/// The messages MIT's `krb5_rd_req` sets instead of a code's own text when the ticket's server
/// or key is not the acceptor's (`rd_req_dec.c`), in the `mit-krb5` gettext domain.
const FORMATS: &[&str] = &[
    "Cannot find key for %s kvno %d in keytab",
    "Cannot find key for %s kvno %d in keytab (request ticket server %s)",
    "Cannot decrypt ticket for %s using keytab key for %s",
    "Server principal %s does not match request ticket server %s",
    "Request ticket server %s found in keytab but does not match server principal %s",
    "Request ticket server %s not found in keytab (ticket kvno %d)",
    "Request ticket server %s kvno %d not found in keytab; ticket is likely out of date",
    "Request ticket server %s kvno %d not found in keytab; keytab is likely out of date",
    "Request ticket server %s kvno %d found in keytab but not with enctype %s",
    "Request ticket server %s kvno %d enctype %s found in keytab but cannot decrypt ticket",
];

/// The texts a minor status is compared with, in the process's language.
pub(crate) struct Known {
    /// libkrb5's text for each of [`CODES`].
    messages: Vec<(String, FailureClass)>,
    /// [`FORMATS`] as MIT would print them (translated), each cut at its `%s`/`%d`.
    formats: Vec<Vec<String>>,
}

fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN.get_or_init(|| Known {
        messages: CODES
            .iter()
            .filter_map(|&(code, class)| Some((crate::krb5::error_text(code)?, class)))
            .collect(),
        formats: FORMATS
            .iter()
            .map(|f| pieces(&crate::sys::gettext("mit-krb5", f)))
            .collect(),
    })
}

/// The literal pieces of a printf format between its conversions.
pub(crate) fn pieces(format: &str) -> Vec<String> {
    format
        .split("%s")
        .flat_map(|p| p.split("%d"))
        .map(str::to_owned)
        .collect()
}

/// Whether `text` is `pieces` with anything in the gaps: the first piece starts it, the last
/// ends it, the others follow in order.
pub(crate) fn fits(text: &str, pieces: &[String]) -> bool {
    let [first, middle @ .., last] = pieces else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for piece in middle {
        match rest.find(piece.as_str()) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last.as_str())
}

fn classify(minor: u32, minor_text: &str, known: &Known) -> FailureClass {
    // The code itself, when the mechglue did not renumber it. (`as`: a com_err code is an
    // i32 carried in an OM_uint32.)
    if let Some(&(_, class)) = CODES.iter().find(|(code, _)| *code as u32 == minor) {
        return class;
    }
    if let Some((_, class)) = known.messages.iter().find(|(m, _)| m == minor_text) {
        return *class;
    }
    if known.formats.iter().any(|f| fits(minor_text, f)) {
        return FailureClass::WrongServicePrincipal;
    }
    FailureClass::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn english() -> Known {
        Known {
            messages: vec![
                ("Request is a replay".into(), FailureClass::Replay),
                ("Clock skew too great".into(), FailureClass::ClockSkew),
            ],
            formats: FORMATS.iter().map(|f| pieces(f)).collect(),
        }
    }

    #[test]
    fn classes_from_codes_texts_and_formats() {
        let k = english();
        assert_eq!(
            classify(100_006, "Request is a replay", &k),
            FailureClass::Replay
        );
        assert_eq!(
            classify((BASE + 37) as u32, "whatever", &k),
            FailureClass::ClockSkew
        );
        assert_eq!(
            classify(
                100_007,
                "Request ticket server HTTP/x@R not found in keytab (ticket kvno 1)",
                &k
            ),
            FailureClass::WrongServicePrincipal
        );
        assert_eq!(
            classify(
                7,
                "Request ticket server HTTP/x@R kvno 3 not found in keytab; keytab is likely \
                 out of date",
                &k
            ),
            FailureClass::WrongServicePrincipal
        );
        // Near misses stay unclassified.
        for text in [
            "Request is a replay!",
            "Request ticket server HTTP/x@R not found in keytab",
            "No keys in keytab",
            "",
        ] {
            assert_eq!(classify(1, text, &k), FailureClass::Other, "{text}");
        }
    }

    #[test]
    fn libkrb5_gives_the_texts_of_the_codes() {
        let k = known();
        assert_eq!(k.messages.len(), CODES.len());
        assert!(k
            .messages
            .iter()
            .any(|(m, c)| m == "Request is a replay" && *c == FailureClass::Replay));
        assert_eq!(k.formats.len(), FORMATS.len());
    }
}
