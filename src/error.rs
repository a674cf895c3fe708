//! Errors of this crate.

use std::fmt;

/// An error from setting up authentication or from using a delegated credential.
///
/// Requests never see this type: a client that fails authentication gets the configured
/// 401/403 response, and the reason goes to the `log` crate. `Error` is what *your code* gets,
/// from [`SpnegoAuthBuilder::build`](crate::SpnegoAuthBuilder::build) at start-up and from
/// [`Credentials::store_into`](crate::Credentials::store_into).
///
/// Its `Display` names what was being done and GSSAPI's own explanation, e.g.
/// `cannot acquire the acceptor credential for HTTP@www.example.test from keytab
/// FILE:/etc/http.keytab: No credentials were supplied, or the credentials were unavailable or
/// inaccessible (No key table entry found matching HTTP/www.example.test@)`.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What kind of [`Error`] happened. More kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The acceptor credential could not be acquired: the keytab is missing, unreadable or
    /// empty, or holds no key for the configured service principal.
    AcceptorCredential,
    /// The machine's host name could not be read, so the default service name
    /// (`HTTP@<hostname>`) could not be formed. Choose one with
    /// [`ServicePrincipal::host`](crate::ServicePrincipal::host).
    Hostname,
    /// The configuration is invalid (e.g. a service or keytab name with a NUL byte).
    Config,
    /// A delegated credential could not be written to a credential cache.
    CredentialStore,
    /// The replay store could not be set up: e.g. a Redis URL that does not parse, TLS
    /// certificates for a `redis://` (not `rediss://`) URL, certificates or a key that do not
    /// parse, or a `#insecure` URL (certificate checks turned off: refused).
    ReplayStore,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
