//! Kerberos single sign-on for [actix-web]: HTTP Negotiate ([RFC 4559]) through GSSAPI.
//!
//! Browsers and tools in a Kerberos realm (Active Directory or MIT) log in to your service
//! without a password prompt: the client sends `Authorization: Negotiate <token>` holding a
//! Kerberos ticket for `HTTP/<your host>`, [`SpnegoAuth`] checks it against the service's
//! keytab, and your handler receives the user as a [`KerberosIdentity`].
//!
//! # Getting started
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
//!     // Tickets for HTTP/www.example.com (the host name in the URL users open), keys from
//!     // $KRB5_KTNAME or /etc/krb5.keytab; fails here, naming both, when the key is missing.
//!     let auth = SpnegoAuth::builder()
//!         .principal(ServicePrincipal::host("www.example.com"))
//!         .build()
//!         .map_err(std::io::Error::other)?;
//!     HttpServer::new(move || App::new().wrap(auth.clone()).route("/", web::get().to(me)))
//!         .bind("0.0.0.0:8080")?
//!         .run()
//!         .await
//! }
//! ```
//! With a ticket (`kinit alice`), `curl --negotiate -u : http://www.example.com:8080/` answers
//! `Hello, alice@EXAMPLE.COM`.
//!
//! # How it works
//! For each request that reaches a `SpnegoAuth` (wrap the app, or only the scopes and resources
//! that need a login):
//!
//! | request | answer |
//! | --- | --- |
//! | no `Authorization`, or another scheme (`Basic`, `Bearer`) | `401`, `WWW-Authenticate: Negotiate`, body `Unauthorized` (and a `Basic` challenge with the [password fallback](PasswordFallback)) |
//! | `Negotiate` token GSSAPI accepts | your handler runs, with [`KerberosIdentity`] in the request extensions; its response gets `WWW-Authenticate: Negotiate <token>` (mutual authentication) |
//! | `Negotiate` with a bad token: not base64, garbage, truncated, replayed, expired ticket, ticket for another service or from another realm, an NTLM token, an anonymous ticket | `403`, body `Forbidden`, and a `log` warning with the reason (never the token) |
//! | several `Authorization` headers | `403` (which one would count is ambiguous) |
//!
//! In [`optional`](SpnegoAuth::optional) mode, requests without credentials reach the handler
//! anonymously, valid tokens still identify the user, and bad tokens are logged and ignored.
//! To protect part of an app, wrap that scope or resource: its `SpnegoAuth` runs after
//! routing, so no spelling of the path gets around it (see
//! [Protecting part of an app](SpnegoAuth#protecting-part-of-an-app)). Responses are
//! configurable ([`Responses::unauthorized`], [`Responses::forbidden`] and their `_with`
//! variants).
//!
//! The acceptor credentials are acquired once, at [`SpnegoAuthBuilder::build`] or when the first
//! worker starts: one for each of the crate's own GSSAPI threads
//! ([`Capacity::accept_threads`]), shared by every worker. A missing keytab or key stops the
//! server from starting instead of failing each request. The keytab file is copied into
//! memory and copied again when it changes (a key rotation needs no restart). The GSSAPI call
//! runs on those threads, never on the async workers, so a slow keytab or disk never stalls
//! other requests; logins wait for them in a bounded queue, served by client address in turn
//! ([`Capacity::login_queue`]), and past it get `503` with `Retry-After`. Each accepted
//! token's authenticator then goes into the [replay store](ReplayProtection) (in-process by
//! default, Redis for several nodes), which refuses it the second time.
//!
//! Only single-round Kerberos is supported: a SPNEGO exchange that needs another round trip
//! (`GSS_S_CONTINUE_NEEDED`, e.g. a client offering only NTLM) is refused with `403` and
//! logged as unsupported. Every Kerberos client (browsers, curl, requests-gssapi) finishes in
//! one round.
//!
//! # Password fallback
//! Off by default. With [`SpnegoAuthBuilder::password_fallback`], clients that cannot do Kerberos
//! (outside the domain, scripts, browsers that fell back to NTLM) may send their Kerberos
//! password (`Authorization: Basic`) over TLS: it is checked with the KDC, and the ticket the
//! KDC issues for this service is accepted with the service's own keytab, so a spoofed KDC
//! logs nobody in. See [`PasswordFallback`].
//!
//! # Delegation
//! A client that delegates (`curl --negotiate --delegation always`, browsers configured for
//! it) gives the server a forwardable TGT: [`KerberosIdentity::delegated_credentials`]
//! returns it as [`Credentials`], which [`Credentials::store_into`] writes to a credential
//! cache so the server can call the next service as the user.
//!
//! # Logging
//! Through the [`log`] crate, with targets under `actix_gssapi` (filter on that prefix):
//! `info` once at start-up (the service name, keytab, threads and queue), `warn` for every
//! refused token or authorization with the reason and the peer, method and path (never the
//! query string, never the token) and for logins turned away with `503` (at most one line a
//! second), `debug` for each 401 and each success.
//!
//! # Security
//! - Replays: a token whose authenticator was accepted before, within twice the clock skew
//!   plus 2 s (10 minutes by default), is refused, also in other framing. The store is in-process by
//!   default; [`ReplayProtection::redis`] (the `redis` feature) shares it between nodes, and a
//!   store that cannot answer refuses logins (`503`) rather than let one through unchecked.
//! - Anonymous tickets (anonymous PKINIT) are refused unless
//!   [`allow_anonymous`](SpnegoAuthBuilder::allow_anonymous) is on.
//! - Session cookies are bound to the service name and an optional context: services that
//!   share a key do not share logins. A request with credentials is authenticated by them,
//!   never by its cookie; a cookie carries what its login established, and a stricter
//!   `SpnegoAuth` or a [`Require`] it does not meet asks for a ticket (`401`).
//! - `SpnegoAuth` authenticates; [`Require`] authorizes a scope by principal, realm, Active
//!   Directory group ([`KerberosIdentity::pac`], only from a PAC GSSAPI verified) or
//!   predicate. Compare whole principals, realm included.
//! - Keep the keytab readable by the server's user only: it is the service's password.
//! - Passwords ([`PasswordFallback`], opt-in) are read on TLS connections only, unless
//!   allowed for a TLS-terminating proxy; the client never learns why one was refused.
//!
//! # Features
//! - `redis`: [`ReplayProtection::redis`] and [`RedisConfig`] — replay protection shared by
//!   every node through a Redis server (TLS and passwords supported).
//!
//! Test support (a throwaway MIT realm, a Samba AD DC, a Negotiate client, a throwaway Redis)
//! is the `actix-gssapi-testing` crate, a dev-dependency.
//!
//! [actix-web]: https://docs.rs/actix-web
//! [RFC 4559]: https://www.rfc-editor.org/rfc/rfc4559
#![deny(missing_docs)]
#![deny(unsafe_code)]

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
mod identity;
mod krb5;
mod middleware;
mod negotiate;
mod pac;
mod password;
mod pool;
mod replay;
mod require;
mod responses;
mod service_name;
mod session;
mod sys;

/// Re-exported from actix-web's `cookie` crate, for [`SessionCookie`].
pub use actix_web::cookie::{Key, SameSite};
pub use builder::SpnegoAuthBuilder;
pub use capacity::Capacity;
pub use channel_bindings::ChannelBindings;
pub use config::SpnegoAuth;
pub use credentials::{Credentials, MemoryCcache, PrivateCcache};
pub use error::{Error, ErrorKind};
pub use events::{AuthEvent, Malformed, Mechanism, PasswordRefusal};
pub use identity::{KerberosIdentity, KerberosIdentityExt};
#[doc(hidden)]
pub use middleware::SpnegoAuthMiddleware;
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
