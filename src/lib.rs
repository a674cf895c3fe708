//! Kerberos single sign-on for [actix-web]: HTTP Negotiate / SPNEGO ([RFC 4559]) through
//! GSSAPI.
//!
//! Browsers and tools in a Kerberos realm (Active Directory or MIT) log in to your service
//! without a password prompt: the client sends `Authorization: Negotiate <token>` holding a
//! Kerberos ticket for `HTTP/<the host name in the URL>`, [`SpnegoAuth`] checks it with the
//! service's keytab, and your handler receives the user as a [`KerberosIdentity`].
//!
//! # Getting started
//! The service principal must be `HTTP/<the host name in the URL>`, fully qualified
//! (`www.example.com`, not `www`), and the keytab must hold its key: clients ask their KDC for
//! a ticket for exactly that name. The [keytab guide](guide::keytab) shows how to export it
//! from Active Directory or MIT.
//!
//! ```no_run
//! use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
//! use actix_web::{web, App, HttpServer};
//!
//! async fn me(id: KerberosIdentity) -> String {
//!     format!("Hello, {}", id.principal())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let auth = SpnegoAuth::builder()
//!         // The host name users put in the URL: the key the keytab exported from AD holds.
//!         .principal(ServicePrincipal::host("www.example.com"))
//!         .keytab("/etc/http.keytab")
//!         // Fails here, naming the keytab and the principal, when the key is missing.
//!         .build()
//!         .map_err(std::io::Error::other)?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .route("/", web::get().to(|| async { "open to everyone" }))
//!             // Only this scope needs a login. Its SpnegoAuth runs after routing, so no
//!             // spelling of the path gets around it.
//!             .service(
//!                 web::scope("/api")
//!                     .wrap(auth.clone())
//!                     .route("/me", web::get().to(me)),
//!             )
//!     })
//!     .bind("0.0.0.0:8080")?
//!     .run()
//!     .await
//! }
//! ```
//! With a ticket (`kinit alice@EXAMPLE.COM`), `curl --negotiate -u :
//! http://www.example.com:8080/api/me` answers `Hello, alice@EXAMPLE.COM`.
//!
//! # What clients get
//! For a request that reaches a `SpnegoAuth` (not in [`optional`](SpnegoAuth::optional) mode):
//!
//! | request | answer |
//! | --- | --- |
//! | no `Authorization` header | `401`, `WWW-Authenticate: Negotiate`, `text/plain` body `Unauthorized` |
//! | `Authorization` with another scheme (`Basic`, `Bearer`) | `401`, the same challenge |
//! | `Negotiate` token GSSAPI accepts | your handler runs with the [`KerberosIdentity`]; `WWW-Authenticate: Negotiate <token>` (mutual authentication) is added to its response, whatever its status |
//! | `Negotiate` token that is malformed (not base64, truncated, not a GSS-API token, over 64 KiB of base64), invalid, replayed, for another service, expired, from a foreign realm, anonymous (unless allowed), or an NTLM token | `403`, `text/plain` body `Forbidden` (no challenge); a log line gives the reason, never the token |
//! | several `Authorization` headers | `403`: which one counts would be ambiguous |
//! | a SPNEGO exchange needing another round trip (`GSS_S_CONTINUE_NEEDED`) | `403`, logged as unsupported; every Kerberos client (browsers, curl, requests-gssapi) completes in one round trip |
//! | a login while the [login queue](Capacity::login_queue) is full | `503`, `Retry-After: 1`; a warning is logged at most once a second |
//! | `Negotiate` token GSSAPI accepts, but the [replay store](ReplayProtection) cannot answer (Redis down or slow, the in-process store full) | `503`, `Retry-After: 1` (also in optional mode): never let through unchecked; an error is logged at most once a second |
//! | with the [password fallback](PasswordFallback): `Basic` credentials | checked with the KDC: the handler runs, or `401` with both challenges (`503` when no KDC answers); on plain HTTP (unless allowed) `401` with `Negotiate` only, unread. An NTLM token gets `401` with both challenges |
//!
//! In optional mode, no credentials or another scheme reach the handler anonymously, a valid
//! token identifies the user as above, and a bad one is logged and the request goes on
//! anonymously. A token is single-use: clients need a fresh one per request (curl, browsers
//! and GSSAPI libraries make one each time).
//!
//! # Guides
//! - [Keytab and service principal](guide::keytab): read first.
//! - [Active Directory](guide::active_directory): groups, constrained delegation, forwarded
//!   credentials.
//! - [Composition](guide::composition): open routes, optional login, CORS, WebSockets, custom
//!   answers, session cookies, the password fallback.
//! - [Deployment](guide::deployment): several nodes, overload, TLS, logging, metrics.
//! - [Forward auth](guide::forward_auth): Kerberos in front of any application, behind nginx
//!   or Caddy.
//! - [Calling back ends as the user](guide::outbound): outbound Negotiate with delegated or
//!   constrained-delegation credentials.
//! - [Security model](guide::security).
//! - [Coming from mod_auth_gssapi or ASGI-GSSAPI](guide::coming_from).
//!
//! # Features
//! - `redis`: [`ReplayProtection::redis`] and [`RedisConfig`], replay protection shared by
//!   every node through one Redis server or a Redis Cluster (TLS and passwords supported).
//! - `ldap`: [`GroupSource::ldap`] and [`LdapGroups`], groups (nested) from an LDAP directory
//!   (OpenLDAP, FreeIPA, Active Directory) for tickets that carry none.
//!
//! Test support — a throwaway MIT realm, Samba AD DC, Redis and OpenLDAP for testing your own
//! handlers — is the `actix-gssapi-testing` crate in `testing/` (a dev-dependency).
//!
//! [actix-web]: https://docs.rs/actix-web
//! [RFC 4559]: https://www.rfc-editor.org/rfc/rfc4559
#![deny(missing_docs)]
#![deny(unsafe_code)]

/// Long-form guides, one topic each; their code blocks are doctests.
pub mod guide;

mod acceptor;
mod apreq;
mod basic;
mod builder;
mod capacity;
mod channel_bindings;
mod claims;
mod conclude;
mod config;
mod cors;
mod credentials;
mod engine;
mod error;
mod events;
mod failure;
mod forward_auth;
mod groups;
mod gssproxy;
mod identity;
mod krb5;
mod middleware;
mod mit_errors;
mod negotiate;
mod original_request;
mod outbound;
mod pac;
mod password;
mod pool;
mod replay;
mod require;
mod responses;
mod service_name;
mod session;
mod sys;
mod trusted_proxy;

/// Re-exported from actix-web's `cookie` crate, for [`SessionCookie`].
pub use actix_web::cookie::{Key, SameSite};
pub use builder::SpnegoAuthBuilder;
pub use capacity::Capacity;
pub use channel_bindings::ChannelBindings;
pub use config::SpnegoAuth;
pub use credentials::{Credentials, MemoryCcache, PrivateCcache};
pub use error::{Error, ErrorKind};
pub use events::{AuthEvent, Malformed, Mechanism, PasswordRefusal};
pub use forward_auth::ForwardAuth;
#[cfg(feature = "ldap")]
pub use groups::LdapGroups;
pub use groups::{Group, GroupSource};
pub use identity::{KerberosIdentity, KerberosIdentityExt};
#[doc(hidden)]
pub use middleware::SpnegoAuthMiddleware;
pub use outbound::{OutboundNegotiation, OutboundOptions, Target};
pub use pac::{Pac, ParseSidError, Sid};
pub use password::PasswordFallback;
#[cfg(feature = "redis")]
pub use replay::redis::RedisConfig;
pub use replay::ReplayProtection;
pub use require::Require;
#[doc(hidden)]
pub use require::RequireMiddleware;
pub use responses::Responses;
pub use service_name::ServicePrincipal;
pub use session::SessionCookie;
pub use trusted_proxy::TrustedProxy;

/// Entry points for `cargo fuzz` (built with `--cfg fuzzing`): not a public API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod __fuzz {
    /// Parses one raw `Authorization` value (header parsing, base64, token framing) and
    /// returns a summary that never contains token bytes.
    pub fn parse_authorization(value: &[u8]) -> String {
        format!("{:?}", crate::negotiate::parse_bytes(value))
    }

    /// Decodes PAC logon information (and UPN/DNS information) and summarises it.
    pub fn decode_pac(logon_info: &[u8], upn_dns_info: Option<&[u8]>) -> String {
        crate::pac::fuzz_summary(logon_info, upn_dns_info)
    }

    /// Checks the framing of a decoded token.
    pub fn inspect_token(token: &[u8]) -> bool {
        crate::negotiate::inspect_token(token).is_ok()
    }

    /// Locates the authenticator of a decoded token and returns its replay tag (SHA-256 of
    /// its ciphertext), or why it cannot be located.
    pub fn authenticator_tag(token: &[u8]) -> Result<[u8; 32], &'static str> {
        crate::apreq::authenticator_tag(token).map_err(|why| why.0)
    }

    /// Where the authenticator's ciphertext (the bytes [`authenticator_tag`] hashes) is in
    /// a decoded token, or why it cannot be located.
    pub fn authenticator_cipher(token: &[u8]) -> Result<std::ops::Range<usize>, &'static str> {
        crate::apreq::authenticator_cipher(token).map_err(|why| why.0)
    }

    /// Parses one raw `Authorization` value as `Basic` credentials: the user and password, or
    /// why they were refused (`not Basic` for another scheme).
    pub fn parse_basic(value: &[u8]) -> Result<(String, Vec<u8>), String> {
        crate::basic::fuzz_parse(value)
    }

    /// The `Debug` text of what a raw `Authorization` value parses to as `Basic`: what a log
    /// line could show, which must never hold the credentials.
    pub fn basic_summary(value: &[u8]) -> String {
        format!("{:?}", crate::basic::parse_bytes(value))
    }

    /// Decodes a session cookie's plaintext payload (what the cookie holds after AES-GCM);
    /// for one that decodes, whether encoding it again and decoding that gives the same
    /// claims. `None` when it does not decode.
    pub fn session_claims_round_trip(bytes: &[u8]) -> Option<bool> {
        let claims = crate::claims::decode(bytes)?;
        Some(crate::claims::decode(&crate::claims::encode(&claims)).as_ref() == Some(&claims))
    }

    /// Reads a forward-auth request's original URI (`X-Forwarded-Uri`) as route rules do; for
    /// one that reads, whether its rendering (what log lines show) reads back the same.
    /// `None` when it is unclear.
    pub fn original_uri_round_trip(target: &[u8]) -> Option<bool> {
        let segments = crate::original_request::Segments::parse(target).ok()?;
        let again = crate::original_request::Segments::parse(segments.to_string().as_bytes());
        Some(again.as_ref() == Ok(&segments))
    }

    /// Parses every `Authorization` header of a header map built from `values`.
    pub fn parse_headers(values: &[&[u8]]) -> String {
        use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
        let mut map = HeaderMap::new();
        for v in values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                map.append(AUTHORIZATION, v);
            }
        }
        format!("{:?}", crate::negotiate::parse_headers(&map))
    }
}
