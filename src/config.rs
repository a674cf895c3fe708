//! `SpnegoAuth`: what users configure, and the shared state built from it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::acceptor::{Acceptor, AcquireFailure, ServiceName};
use crate::error::{Error, ErrorKind};
use crate::negotiate::SCHEME;
use crate::pool::Pool;
use crate::session::SessionCookie;

type ResponseFn = Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

/// Kerberos (SPNEGO, `Authorization: Negotiate`) authentication middleware for actix-web.
///
/// Configure it builder-style, then `wrap` an app, a scope or a resource with it:
///
/// ```no_run
/// use actix_gssapi::{KerberosIdentity, SpnegoAuth};
/// use actix_web::{web, App, HttpServer};
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     // Acquire the acceptor credential now: a missing keytab fails here, at start-up,
///     // naming the keytab and principal. Clones share the credential.
///     let auth = SpnegoAuth::new()
///         .hostname("www.example.test")
///         .build()
///         .map_err(std::io::Error::other)?;
///     HttpServer::new(move || {
///         App::new().wrap(auth.clone()).route(
///             "/",
///             web::get().to(|id: KerberosIdentity| async move { id.principal().to_owned() }),
///         )
///     })
///     .bind("127.0.0.1:8080")?
///     .run()
///     .await
/// }
/// ```
///
/// Every setter's documentation gives its default. The defaults are the safe ones: every
/// request needs authentication, and the server only accepts tickets for its own name.
///
/// # Protecting part of an app
/// Wrap the scope or resource that needs a login, not the whole app: its middleware runs after
/// actix-web has routed the request, so no spelling of the path (`/%70rotected`, `//`, a
/// trailing slash) reaches a protected handler without going through it. To also know who is
/// calling on the open routes, wrap the app with an [`optional`](Self::optional) clone: the
/// scope's `SpnegoAuth` then uses the identity the outer one established, and a token is
/// never accepted twice.
///
/// ```no_run
/// use actix_gssapi::{KerberosIdentity, SpnegoAuth};
/// use actix_web::{web, App, HttpServer};
///
/// # #[actix_web::main]
/// # async fn main() -> std::io::Result<()> {
/// let auth = SpnegoAuth::new().build().map_err(std::io::Error::other)?;
/// HttpServer::new(move || {
///     App::new()
///         .wrap(auth.clone().optional())
///         .route("/", web::get().to(|| async { "open to everyone" }))
///         .service(
///             web::scope("/admin")
///                 .wrap(auth.clone())
///                 .route("/", web::get().to(|id: KerberosIdentity| async move {
///                     id.principal().to_owned()
///                 })),
///         )
/// })
/// .bind("127.0.0.1:8080")?
/// .run()
/// .await
/// # }
/// ```
#[must_use]
#[derive(Clone)]
pub struct SpnegoAuth {
    pub(crate) config: Arc<Config>,
    /// Acquired once, on [`build`](Self::build) or on the first worker's start, and shared by
    /// every clone made after the last setter call.
    engine: Arc<OnceLock<Result<Engine, Error>>>,
}

/// What every worker shares: the acceptor credential and the threads that use it.
#[derive(Clone)]
pub(crate) struct Engine {
    pub(crate) acceptor: Acceptor,
    pub(crate) pool: Arc<Pool>,
    /// The name the credential accepts tickets for.
    pub(crate) service: ServiceName,
}

#[derive(Clone)]
pub(crate) enum Hostname {
    Auto,
    Explicit(String),
    Any,
}

#[derive(Clone)]
pub(crate) enum Reply {
    Text(Cow<'static, str>),
    Custom(ResponseFn),
}

#[derive(Clone)]
pub(crate) struct Config {
    service: String,
    hostname: Hostname,
    keytab: Option<String>,
    pub(crate) optional: bool,
    pub(crate) allow_anonymous: bool,
    unauthorized: Reply,
    forbidden: Reply,
    pub(crate) session: Option<SessionCookie>,
    accept_threads: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            service: "HTTP".to_owned(),
            hostname: Hostname::Auto,
            keytab: None,
            optional: false,
            allow_anonymous: false,
            unauthorized: Reply::Text(Cow::Borrowed("Unauthorized")),
            forbidden: Reply::Text(Cow::Borrowed("Forbidden")),
            session: None,
            accept_threads: None,
        }
    }
}

impl Default for SpnegoAuth {
    fn default() -> Self {
        Self::new()
    }
}

impl SpnegoAuth {
    /// The default configuration: service `HTTP`, the machine's host name, the keytab from the
    /// environment, every request authenticated, plain-text `Unauthorized`/`Forbidden`
    /// responses.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config::default()),
            engine: Arc::new(OnceLock::new()),
        }
    }

    /// Changes what the acceptor credential or its threads are made from: a credential
    /// acquired for the old configuration may be for another key, so it is never reused.
    fn edit_engine(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self.engine = Arc::new(OnceLock::new());
        self
    }

    /// Changes what happens around the accept (responses, modes, cookies): the credential and
    /// threads already acquired by [`build`](Self::build) are kept and shared.
    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The service part of the service principal name (`<service>/<hostname>@REALM`).
    ///
    /// Defaults to `HTTP`, which is what browsers, curl and every SPNEGO HTTP client ask a
    /// ticket for.
    pub fn service(self, service: impl Into<String>) -> Self {
        let service = service.into();
        self.edit_engine(|c| c.service = service)
    }

    /// The host name part of the service principal name: the server accepts tickets for
    /// `HTTP/<hostname>@REALM` only.
    ///
    /// Defaults to the machine's host name as the OS reports it (`gethostname(2)`, as
    /// `hostname` prints it; often not the fully-qualified name). Clients ask for a ticket for
    /// the host name in the URL they use, so set this to that name when it differs.
    ///
    /// An empty string means [`any_principal`](Self::any_principal).
    pub fn hostname(self, hostname: impl Into<String>) -> Self {
        let hostname = hostname.into();
        self.edit_engine(|c| {
            c.hostname = if hostname.is_empty() {
                Hostname::Any
            } else {
                Hostname::Explicit(hostname)
            }
        })
    }

    /// Accept a ticket for any service principal whose key is in the keytab, instead of one
    /// name (`GSS_C_NO_NAME`, what Apache mod_auth_gssapi does by default).
    ///
    /// Useful when one server answers under several names (`www`, `intranet`, a load
    /// balancer's name) with all their keys in one keytab. Off by default: a keytab often holds
    /// other services' keys too (`host/`, `nfs/`), and with this on a ticket for any of them is
    /// accepted here.
    pub fn any_principal(self) -> Self {
        self.edit_engine(|c| c.hostname = Hostname::Any)
    }

    /// Read keys from this keytab file instead of the environment's.
    ///
    /// Defaults to the Kerberos library's choice: the `KRB5_KTNAME` environment variable, else
    /// `default_keytab_name` from `krb5.conf`, else `/etc/krb5.keytab`. Takes a path or a
    /// typed name (`FILE:/etc/http.keytab`). The file is read again on every accept, so keys
    /// added to it (a key rotation) are used without a restart.
    pub fn keytab(self, keytab: impl Into<String>) -> Self {
        let keytab = keytab.into();
        self.edit_engine(|c| c.keytab = Some(keytab))
    }

    /// Make login optional: a request without Negotiate credentials reaches the application
    /// anonymously instead of getting a `401`.
    ///
    /// Defaults to off: every request needs a valid token. With this on, a request with a valid
    /// token is still identified (and gets the mutual authentication header), and one with an
    /// invalid token is logged and goes on anonymously. Handlers decide with
    /// `Option<KerberosIdentity>`; one that takes [`KerberosIdentity`] answers an anonymous
    /// request with the `401` challenge itself.
    ///
    /// Keeps the credential and threads of a built `SpnegoAuth`, so the usual shape is one
    /// `build()` and two clones: `auth.clone().optional()` around the app, `auth.clone()` around
    /// the scopes that need a login (see [Protecting part of an app](Self#protecting-part-of-an-app)).
    /// A `SpnegoAuth` nested inside another uses the outer one's result instead of accepting
    /// the token again (tokens are single-use): an identity passes, a refused token is
    /// answered `403`, no credentials `401`.
    ///
    /// ```
    /// use actix_gssapi::SpnegoAuth;
    ///
    /// let auth = SpnegoAuth::new().hostname("www.example.test");
    /// let everyone = auth.clone().optional();
    /// ```
    ///
    /// [`KerberosIdentity`]: crate::KerberosIdentity
    pub fn optional(self) -> Self {
        self.edit(|c| c.optional = true)
    }

    /// Accept anonymous Kerberos tickets (anonymous PKINIT, `kinit -n`: the client is
    /// `WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS`) as identities.
    ///
    /// Defaults to off: a context GSSAPI marks anonymous (`GSS_C_ANON_FLAG`) is refused with
    /// `403` (anonymously passed on in [`optional`](Self::optional) mode), and logged. Realms
    /// that enable anonymous PKINIT (MIT recommends it to armour logins with FAST) let anyone
    /// get such a ticket, so it proves only that the client reached the KDC. Turn this on only
    /// if your handlers check [`KerberosIdentity::is_anonymous`](crate::KerberosIdentity::is_anonymous).
    pub fn allow_anonymous(self) -> Self {
        self.edit(|c| c.allow_anonymous = true)
    }

    /// The body of the `401 Unauthorized` answer to a request without Negotiate credentials.
    ///
    /// Defaults to `Unauthorized`. The response is `text/plain; charset=utf-8` and carries
    /// `WWW-Authenticate: Negotiate`.
    pub fn unauthorized(self, body: impl Into<Cow<'static, str>>) -> Self {
        let reply = Reply::Text(body.into());
        self.edit(|c| c.unauthorized = reply)
    }

    /// Build the answer to a request without Negotiate credentials yourself: any status,
    /// headers and body.
    ///
    /// If the response you return is a `401` without a `WWW-Authenticate` header,
    /// `WWW-Authenticate: Negotiate` is added (a 401 must carry a challenge, RFC 9110 §15.5.2,
    /// and without it browsers never try Kerberos). Any other status is sent as you built it,
    /// e.g. a `302` to a login page, which browsers follow before trying Kerberos.
    ///
    /// ```
    /// use actix_gssapi::SpnegoAuth;
    /// use actix_web::HttpResponse;
    ///
    /// let auth = SpnegoAuth::new().unauthorized_with(|_req| {
    ///     HttpResponse::Unauthorized()
    ///         .content_type("application/json")
    ///         .body(r#"{"error":"kerberos login required"}"#)
    /// });
    /// ```
    pub fn unauthorized_with<F>(self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        let reply = Reply::Custom(Arc::new(response));
        self.edit(|c| c.unauthorized = reply)
    }

    /// The body of the `403 Forbidden` answer to a request whose Negotiate token was refused.
    ///
    /// Defaults to `Forbidden`, as `text/plain; charset=utf-8`. The body never says why: the
    /// reason is logged, not told to a client that may be probing.
    pub fn forbidden(self, body: impl Into<Cow<'static, str>>) -> Self {
        let reply = Reply::Text(body.into());
        self.edit(|c| c.forbidden = reply)
    }

    /// Build the answer to a request whose Negotiate token was refused yourself.
    ///
    /// ```
    /// use actix_gssapi::SpnegoAuth;
    /// use actix_web::HttpResponse;
    ///
    /// let auth = SpnegoAuth::new()
    ///     .forbidden_with(|_req| HttpResponse::Forbidden().body("<h1>Access denied</h1>"));
    /// ```
    pub fn forbidden_with<F>(self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        let reply = Reply::Custom(Arc::new(response));
        self.edit(|c| c.forbidden = reply)
    }

    /// Issue a session cookie after each successful Negotiate exchange, and accept it instead
    /// of a token on later requests. Off by default. See [`SessionCookie`].
    ///
    /// ```
    /// use actix_gssapi::{Key, SessionCookie, SpnegoAuth};
    ///
    /// let auth = SpnegoAuth::new().session_cookie(SessionCookie::new(Key::generate()));
    /// ```
    pub fn session_cookie(self, cookie: SessionCookie) -> Self {
        self.edit(|c| c.session = Some(cookie))
    }

    /// How many Negotiate tokens are checked at once: the number of threads that run
    /// GSSAPI, shared by all workers. More logins than that wait their turn (other requests
    /// do not: they never wait for GSSAPI).
    ///
    /// Defaults to twice the number of CPUs: accepting is CPU work with a little file I/O
    /// (keytab, replay cache), and more threads than that only contend for MIT's locks.
    pub fn accept_threads(self, threads: usize) -> Self {
        self.edit_engine(|c| c.accept_threads = Some(threads.max(1)))
    }

    /// Acquires the acceptor credential now, so that configuration errors surface at start-up.
    ///
    /// Without this call the credential is acquired when the first worker starts, and an error
    /// is logged and stops the server from starting. Clones of the returned value share the
    /// one credential (and every worker with them).
    ///
    /// # Errors
    /// - [`ErrorKind::AcceptorCredential`]: the keytab is missing, unreadable, empty, or has no
    ///   key for the service principal; the message names the keytab and the principal.
    /// - [`ErrorKind::Hostname`]: the default host name could not be read.
    /// - [`ErrorKind::Config`]: a service or host name with a NUL byte, or a session cookie
    ///   that browsers would refuse (see [`SessionCookie::name`]).
    pub fn build(self) -> Result<Self, Error> {
        self.check()?;
        self.engine()?;
        Ok(self)
    }

    /// Checks the parts of the configuration that do not need GSSAPI.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(session) = &self.config.session {
            session
                .validate()
                .map_err(|why| Error::new(ErrorKind::Config, why))?;
        }
        Ok(())
    }

    /// The service name the server accepts tickets for, as GSSAPI writes it: `HTTP@hostname`,
    /// or `None` with [`any_principal`](Self::any_principal).
    ///
    /// # Errors
    /// [`ErrorKind::Hostname`] when the host name is automatic and cannot be read.
    pub fn service_name(&self) -> Result<Option<String>, Error> {
        Ok(match self.config.service_name()? {
            ServiceName::HostBased(name) => Some(name),
            ServiceName::Any => None,
        })
    }

    pub(crate) fn engine(&self) -> Result<Engine, Error> {
        self.engine
            .get_or_init(|| {
                let service = self.config.service_name()?;
                let acceptor = Acceptor::acquire(&service, self.config.keytab.as_deref())
                    .map_err(acquire_error)?;
                let threads = self.config.accept_threads.unwrap_or_else(|| {
                    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
                });
                let pool = Pool::new(threads, "actix-gssapi").map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("cannot start {threads} GSSAPI threads: {e}"),
                    )
                })?;
                log::info!(
                    "SPNEGO acceptor ready for {service}, keytab {}, {threads} accept threads",
                    describe_keytab(self.config.keytab.as_deref())
                );
                Ok(Engine {
                    acceptor,
                    pool: Arc::new(pool),
                    service,
                })
            })
            .clone()
    }
}

impl fmt::Debug for SpnegoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("SpnegoAuth")
            .field("service", &c.service)
            .field(
                "hostname",
                &match &c.hostname {
                    Hostname::Auto => "<machine host name>",
                    Hostname::Explicit(h) => h.as_str(),
                    Hostname::Any => "<any principal in the keytab>",
                },
            )
            .field("keytab", &c.keytab)
            .field("optional", &c.optional)
            .field("allow_anonymous", &c.allow_anonymous)
            .field("session_cookie", &c.session)
            .field("accept_threads", &c.accept_threads)
            .finish_non_exhaustive()
    }
}

fn describe_keytab(keytab: Option<&str>) -> String {
    match keytab {
        Some(k) => k.to_owned(),
        None => match std::env::var("KRB5_KTNAME") {
            Ok(k) => format!("{k} (from KRB5_KTNAME)"),
            Err(_) => "the default keytab (krb5.conf default_keytab_name, usually \
                       /etc/krb5.keytab)"
                .to_owned(),
        },
    }
}

fn acquire_error(f: AcquireFailure) -> Error {
    Error::new(
        ErrorKind::AcceptorCredential,
        format!(
            "cannot acquire the acceptor credential for {} from keytab {}: {}",
            f.service,
            describe_keytab(f.keytab.as_deref()),
            f.cause
        ),
    )
}

impl Config {
    fn service_name(&self) -> Result<ServiceName, Error> {
        let host = match &self.hostname {
            Hostname::Any => return Ok(ServiceName::Any),
            Hostname::Explicit(h) => h.clone(),
            Hostname::Auto => crate::acceptor::machine_hostname().ok_or_else(|| {
                Error::new(
                    ErrorKind::Hostname,
                    "cannot read the machine's host name for the service principal: set one \
                     with SpnegoAuth::hostname",
                )
            })?,
        };
        if self.service.contains('\0') || host.contains('\0') {
            return Err(Error::new(
                ErrorKind::Config,
                "service and host name must not contain NUL bytes",
            ));
        }
        Ok(ServiceName::HostBased(format!("{}@{host}", self.service)))
    }

    /// The 401 answer: a challenge without a token (RFC 4559 §5).
    pub(crate) fn unauthorized_response(&self, req: &HttpRequest) -> HttpResponse {
        let mut res = reply(&self.unauthorized, StatusCode::UNAUTHORIZED, req);
        if res.status() == StatusCode::UNAUTHORIZED
            && !res.headers().contains_key(header::WWW_AUTHENTICATE)
        {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(SCHEME));
        }
        res
    }

    /// The 403 answer to a refused token.
    pub(crate) fn forbidden_response(&self, req: &HttpRequest) -> HttpResponse {
        reply(&self.forbidden, StatusCode::FORBIDDEN, req)
    }
}

fn reply(reply: &Reply, status: StatusCode, req: &HttpRequest) -> HttpResponse {
    match reply {
        Reply::Text(body) => HttpResponse::build(status)
            .content_type(mime_text_plain())
            .body(body.clone()),
        Reply::Custom(f) => f(req),
    }
}

fn mime_text_plain() -> HeaderValue {
    HeaderValue::from_static("text/plain; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn defaults_are_the_safe_ones() {
        let auth = SpnegoAuth::new();
        assert!(!auth.config.optional, "every request needs auth");
        assert!(
            !auth.config.allow_anonymous,
            "anonymous tickets are refused"
        );
        assert!(matches!(auth.config.hostname, Hostname::Auto));
        assert_eq!(auth.config.service, "HTTP");
        assert!(auth.config.keytab.is_none());
    }

    #[test]
    fn empty_hostname_means_any_principal() {
        let auth = SpnegoAuth::new().hostname("");
        assert_eq!(auth.service_name().unwrap(), None);
        let auth = SpnegoAuth::new()
            .hostname("www.example.test")
            .service("HTTPS");
        assert_eq!(
            auth.service_name().unwrap().as_deref(),
            Some("HTTPS@www.example.test")
        );
    }

    #[test]
    fn automatic_hostname_is_the_machine_name() {
        let name = SpnegoAuth::new().service_name().unwrap().unwrap();
        let host = crate::acceptor::machine_hostname().unwrap();
        assert_eq!(name, format!("HTTP@{host}"));
    }

    #[test]
    fn nul_in_names_is_a_config_error() {
        let err = SpnegoAuth::new()
            .hostname("a\0b")
            .service_name()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn setters_drop_a_credential_acquired_for_an_older_config() {
        let a = SpnegoAuth::new();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.engine, &b.engine), "clones share");
        for changed in [
            b.clone().hostname("other"),
            b.clone().any_principal(),
            b.clone().service("HTTPS"),
            b.clone().keytab("/x.keytab"),
            b.clone().accept_threads(3),
        ] {
            assert!(!Arc::ptr_eq(&a.engine, &changed.engine));
        }
    }

    #[test]
    fn policy_setters_keep_the_engine() {
        let a = SpnegoAuth::new();
        for kept in [
            a.clone().optional(),
            a.clone().allow_anonymous(),
            a.clone().unauthorized("x"),
            a.clone()
                .unauthorized_with(|_| HttpResponse::Unauthorized().finish()),
            a.clone().forbidden("x"),
            a.clone()
                .forbidden_with(|_| HttpResponse::Forbidden().finish()),
            a.clone()
                .session_cookie(SessionCookie::new(actix_web::cookie::Key::generate())),
        ] {
            assert!(Arc::ptr_eq(&a.engine, &kept.engine));
        }
    }

    #[test]
    fn default_responses() {
        let config = Config::default();
        let req = TestRequest::default().to_http_request();
        let res = config.unauthorized_response(&req);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate"
        );
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; charset=utf-8"
        );
        let res = config.forbidden_response(&req);
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn custom_401_gets_a_challenge_other_statuses_do_not() {
        let req = TestRequest::default().to_http_request();
        let auth = SpnegoAuth::new().unauthorized_with(|_| HttpResponse::Unauthorized().finish());
        let res = auth.config.unauthorized_response(&req);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate"
        );

        let auth = SpnegoAuth::new().unauthorized_with(|_| {
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Negotiate, Basic realm=\"x\""))
                .finish()
        });
        let res = auth.config.unauthorized_response(&req);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate, Basic realm=\"x\""
        );

        let auth = SpnegoAuth::new().unauthorized_with(|_| {
            HttpResponse::Found()
                .insert_header((header::LOCATION, "/login"))
                .finish()
        });
        let res = auth.config.unauthorized_response(&req);
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
