//! The names a `SpnegoAuth` accepts tickets for and verifies passwords against: the choice
//! users make ([`ServicePrincipal`]), and the plain data the builder resolves it to, which the
//! session cookies, the password fallback and the acceptor share.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// Which tickets the server accepts: the service principal whose key, from the keytab, opens
/// them. One choice, given to
/// [`SpnegoAuthBuilder::principal`](crate::SpnegoAuthBuilder::principal).
///
/// Clients ask their KDC for a ticket to `HTTP/<the host name in the URL>`, so the usual
/// choice is [`host`](Self::host) with the fully-qualified name users type (the one an Active
/// Directory keytab holds, `HTTP/www.example.com@EXAMPLE.COM`):
///
/// ```
/// use actix_gssapi::{ServicePrincipal, SpnegoAuth};
///
/// let builder = SpnegoAuth::builder().principal(ServicePrincipal::host("www.example.com"));
/// assert_eq!(builder.service_name()?.as_deref(), Some("HTTP@www.example.com"));
/// # Ok::<(), actix_gssapi::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServicePrincipal {
    /// `<service>/<host>@REALM`: tickets for this one name. [`host`](Self::host) makes it with
    /// service `HTTP`, what browsers, curl and every SPNEGO HTTP client ask a ticket for.
    ///
    /// An empty host name is a configuration error ([`build`](crate::SpnegoAuthBuilder::build)
    /// fails): it is what an unset environment variable gives, and must not silently widen
    /// what is accepted.
    Host {
        /// The service part, `HTTP` for web servers.
        service: String,
        /// The host name clients use in the URL, e.g. `www.example.com`.
        host: String,
    },
    /// `HTTP/<the machine's host name>@REALM`, the name as `gethostname(2)` reports it (what
    /// `hostname` prints; often not the fully-qualified name the keytab holds). The default, for
    /// a quick start on a machine whose host name is its DNS name; name the host with
    /// [`host`](Self::host) in production.
    #[default]
    MachineHost,
    /// Tickets for any service principal whose key is in the keytab (`GSS_C_NO_NAME`, what
    /// Apache mod_auth_gssapi does by default).
    ///
    /// For one server answering under several names (`www`, `intranet`, a load balancer's
    /// name) with all their keys in one keytab. A keytab often holds other services' keys too
    /// (`host/`, `nfs/`), and with this choice a ticket for any of them is accepted here, so
    /// give this server a keytab of its own.
    AnyInKeytab,
    /// Constrained delegation (S4U2Proxy, mod_auth_gssapi's `GssapiUseS4U2Proxy`): the
    /// credential is acquired for the service account `account` (`httpsvc@AD.EXAMPLE.COM`),
    /// for accepting and initiating, and tickets are accepted for any key in the keytab. Every
    /// login then gets a credential to act as the user toward the back-ends Active Directory
    /// lists in the account's `msDS-AllowedToDelegateTo`, even when the client forwarded no
    /// ticket: [`KerberosIdentity::delegated_credentials`], stored with
    /// [`Credentials::store_in_memory`] or [`Credentials::store_private`] like a forwarded one.
    ///
    /// The account's own key must be in the keytab beside the `HTTP/...` one (`samba-tool
    /// domain exportkeytab --principal=httpsvc`, or `ktpass` for both names): AD refuses to
    /// give a ticket to an SPN as a client.
    ///
    /// [`KerberosIdentity::delegated_credentials`]: crate::KerberosIdentity::delegated_credentials
    /// [`Credentials::store_in_memory`]: crate::Credentials::store_in_memory
    /// [`Credentials::store_private`]: crate::Credentials::store_private
    ConstrainedDelegation {
        /// The service account's principal, realm included.
        account: String,
    },
}

impl ServicePrincipal {
    /// `HTTP/<host>@REALM`: tickets for the host name clients put in the URL.
    pub fn host(host: impl Into<String>) -> Self {
        Self::Host {
            service: "HTTP".to_owned(),
            host: host.into(),
        }
    }

    /// Constrained delegation through the service account `account`; see
    /// [`ConstrainedDelegation`](Self::ConstrainedDelegation).
    pub fn constrained_delegation(account: impl Into<String>) -> Self {
        Self::ConstrainedDelegation {
            account: account.into(),
        }
    }

    /// The name GSSAPI is given, checked: `HTTP@host` for the host choices.
    pub(crate) fn resolve(&self) -> Result<ServiceName, Error> {
        let config = |why: &str| Error::new(ErrorKind::Config, why);
        let (service, host) = match self {
            Self::AnyInKeytab => return Ok(ServiceName::Any),
            Self::ConstrainedDelegation { account } => {
                if account.is_empty() || account.contains('\0') {
                    return Err(config(
                        "the constrained delegation account must be a principal name",
                    ));
                }
                return Ok(ServiceName::Account(account.clone()));
            }
            Self::Host { host, .. } if host.is_empty() => {
                return Err(config(
                    "the host name for the service principal is empty (an unset variable?): \
                     give one, or choose ServicePrincipal::AnyInKeytab to accept every name \
                     in the keytab",
                ))
            }
            Self::Host { service, host } => (service.as_str(), host.clone()),
            Self::MachineHost => (
                "HTTP",
                crate::sys::machine_hostname().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Hostname,
                        "cannot read the machine's host name for the service principal: \
                         choose one with ServicePrincipal::host",
                    )
                })?,
            ),
        };
        if service.is_empty() || service.contains(['\0', '/', '@']) || host.contains('\0') {
            return Err(config(
                "the service must be a name such as HTTP, and neither name may contain NUL bytes",
            ));
        }
        Ok(ServiceName::HostBased(format!("{service}@{host}")))
    }
}

/// Which key the acceptor uses: one host-based service name, or any key in the keytab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceName {
    /// `service@host`, e.g. `HTTP@www.example.com` (principal `HTTP/www.example.com@REALM`).
    HostBased(String),
    /// Any principal whose key is in the keytab (`GSS_C_NO_NAME`).
    Any,
    /// The service's own account principal (`httpsvc@AD.EXAMPLE.COM`), for accepting and for
    /// initiating with its keytab: constrained delegation (S4U2Proxy) gives a proxy
    /// credential for every client.
    Account(String),
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HostBased(name) => f.write_str(name),
            Self::Any => f.write_str("any principal in the keytab"),
            Self::Account(name) => write!(f, "{name} (constrained delegation)"),
        }
    }
}

/// The service a password login asks the KDC a ticket for, to accept it with our own key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyTarget {
    /// `service@host` (`GSS_C_NT_HOSTBASED_SERVICE`).
    HostBased(String),
    /// A principal name (`httpsvc@AD.EXAMPLE.COM`).
    Principal(String),
}

impl fmt::Display for VerifyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HostBased(name) | Self::Principal(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_resolves_to_one_name() {
        assert_eq!(
            ServicePrincipal::host("www.example.test")
                .resolve()
                .unwrap(),
            ServiceName::HostBased("HTTP@www.example.test".into())
        );
        let https = ServicePrincipal::Host {
            service: "HTTPS".into(),
            host: "www.example.test".into(),
        };
        assert_eq!(
            https.resolve().unwrap(),
            ServiceName::HostBased("HTTPS@www.example.test".into())
        );
        assert_eq!(
            ServicePrincipal::AnyInKeytab.resolve().unwrap(),
            ServiceName::Any
        );
        assert_eq!(
            ServicePrincipal::constrained_delegation("svc@R")
                .resolve()
                .unwrap(),
            ServiceName::Account("svc@R".into())
        );
        let host = crate::sys::machine_hostname().unwrap();
        assert_eq!(ServicePrincipal::default(), ServicePrincipal::MachineHost);
        assert_eq!(
            ServicePrincipal::MachineHost.resolve().unwrap(),
            ServiceName::HostBased(format!("HTTP@{host}"))
        );
    }

    #[test]
    fn empty_or_nul_names_are_config_errors_not_any_principal() {
        let bad = [
            ServicePrincipal::host(""),
            ServicePrincipal::host("a\0b"),
            ServicePrincipal::constrained_delegation(""),
            ServicePrincipal::constrained_delegation("svc\0@R"),
            ServicePrincipal::Host {
                service: String::new(),
                host: "www".into(),
            },
            ServicePrincipal::Host {
                service: "HTTP/x".into(),
                host: "www".into(),
            },
        ];
        for principal in bad {
            let err = principal.resolve().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{principal:?}: {err}");
        }
        let err = ServicePrincipal::host("").resolve().unwrap_err();
        assert!(err.to_string().contains("AnyInKeytab"), "{err}");
    }
}
