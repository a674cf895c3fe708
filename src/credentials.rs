//! Delegated credentials.

use std::fmt;
use std::time::Duration;

use crate::acceptor::DelegatedCred;
use crate::error::{Error, ErrorKind};

/// A Kerberos credential that the client delegated to this server (a forwarded TGT).
///
/// With it, the server can reach the *next* service as the user: another HTTP API, a database,
/// a file server. Export it to a credential cache with [`store_into`](Self::store_into) and
/// point the other client at that cache (`KRB5CCNAME`, or a GSSAPI cred store).
///
/// A client delegates only when it is asked to and its ticket is forwardable: `curl
/// --negotiate --delegation always`, browsers for hosts in their delegation list (Firefox
/// `network.negotiate-auth.delegation-uris`), `requests-gssapi` with `delegate=True`.
///
/// `Credentials` is `Send + Sync` and cheap to clone (a reference-counted GSSAPI handle); the
/// handle is released when the last clone is dropped.
///
/// ```no_run
/// use actix_gssapi::KerberosIdentity;
///
/// async fn reach_backend(id: KerberosIdentity) -> actix_web::Result<String> {
///     let Some(creds) = id.delegated_credentials() else {
///         return Ok("no delegated credential: ask the client to delegate".to_owned());
///     };
///     creds
///         .store_into("MEMORY:backend-call")
///         .map_err(actix_web::error::ErrorInternalServerError)?;
///     Ok(format!("can act as {}", id.principal()))
/// }
/// ```
#[derive(Clone)]
pub struct Credentials {
    inner: DelegatedCred,
}

impl Credentials {
    pub(crate) fn new(inner: DelegatedCred) -> Self {
        Self { inner }
    }

    /// Writes the credential into the credential cache named `ccache`, replacing what it held.
    ///
    /// Any cache type the Kerberos library knows works: `FILE:/path`, `DIR:/path`,
    /// `MEMORY:name`, `KEYRING:...`. The cache is initialised for the delegating user and holds
    /// their forwarded TGT, so `klist -c`, `kvno`, `curl --negotiate` or any GSSAPI client
    /// pointed at it acts as that user until the ticket expires.
    ///
    /// A `FILE:` cache is a bearer secret: put it in a directory only the server's user can
    /// read, under a name an attacker cannot predict, and remove it when done.
    ///
    /// This does file I/O; from async code, call it inside [`actix_web::web::block`].
    ///
    /// # Errors
    /// [`ErrorKind::CredentialStore`] when the cache cannot be written (bad name, no
    /// permission, unknown cache type); the message carries GSSAPI's reason.
    pub fn store_into(&self, ccache: &str) -> Result<(), Error> {
        self.inner.store_into(ccache).map_err(|e| {
            Error::new(
                ErrorKind::CredentialStore,
                format!("cannot store the delegated credential into {ccache}: {e}"),
            )
        })
    }

    /// The principal that delegated the credential, e.g. `alice@EXAMPLE.TEST`.
    pub fn principal(&self) -> Option<String> {
        self.inner.principal().ok()
    }

    /// How much longer the delegated ticket is valid; `None` if GSSAPI cannot tell (or it has
    /// expired).
    pub fn lifetime(&self) -> Option<Duration> {
        self.inner.lifetime().ok()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal())
            .field("lifetime", &self.lifetime())
            .finish()
    }
}
