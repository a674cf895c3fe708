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
    /// An outbound call ([`KerberosIdentity::negotiate`](crate::KerberosIdentity::negotiate))
    /// for a request with no credentials to call with: the client did not delegate, the
    /// identity came from a session cookie, or the server has no constrained delegation.
    NoDelegatedCredentials,
    /// The KDC will not issue a ticket for the outbound call's target as the user: an unknown
    /// service, one the service account may not delegate to (Active Directory's constrained
    /// delegation list), or a policy.
    TargetRefused,
    /// The user's credentials for an outbound call have expired.
    CredentialsExpired,
    /// No KDC answered an outbound call's ticket request.
    KdcUnreachable,
    /// A back end's answer did not prove who sent it
    /// ([`OutboundNegotiation::verify`](crate::OutboundNegotiation::verify)): no token, an
    /// unreadable one, or one GSSAPI refused.
    MutualAuthentication,
    /// The queue of outbound GSSAPI calls is full: try again later.
    Overloaded,
    /// Another GSSAPI failure of an outbound call; the message has its text.
    Outbound,
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
