//! Kerberos single sign-on for actix-web.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod acceptor;
mod config;
mod credentials;
mod error;
mod identity;
mod middleware;
mod negotiate;

pub use config::SpnegoAuth;
pub use credentials::Credentials;
pub use error::{Error, ErrorKind};
pub use identity::{KerberosIdentity, KerberosIdentityExt};
#[doc(hidden)]
pub use middleware::SpnegoAuthMiddleware;

#[cfg(feature = "testing")]
pub mod testing;
