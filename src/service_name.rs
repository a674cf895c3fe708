//! The names a `SpnegoAuth` accepts tickets for and verifies passwords against: plain data
//! that the configuration, the session cookies, the password fallback and the acceptor share.

use std::fmt;

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
