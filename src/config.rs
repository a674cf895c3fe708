//! `SpnegoAuth`, the built middleware, and the configuration it shares with its workers.

use std::fmt;
use std::sync::{Arc, OnceLock};

use actix_web::{HttpRequest, HttpResponse};

use crate::capacity::Capacity;
use crate::channel_bindings::ChannelBindings;
use crate::engine::{Engine, Settings};
use crate::error::{Error, ErrorKind};
use crate::events::{AuthEvent, EventHook};
use crate::groups::GroupSource;
use crate::password::PasswordFallback;
use crate::pool::Limits;
use crate::replay::ReplayProtection;
use crate::responses::Responses;
use crate::service_name::{ServiceName, ServicePrincipal};
use crate::session::SessionCookie;

/// Kerberos (SPNEGO, `Authorization: Negotiate`) authentication middleware for actix-web.
///
/// Configure it with [`SpnegoAuth::builder`], then `wrap` an app, a scope or a resource with
/// the built value:
///
/// ```no_run
/// use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
/// use actix_web::{web, App, HttpServer};
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     // Acquire the acceptor credential now: a missing keytab fails here, at start-up,
///     // naming the keytab and principal. Clones share the credential.
///     let auth = SpnegoAuth::builder()
///         .principal(ServicePrincipal::host("www.example.test"))
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
/// [`SpnegoAuth::new`] is the default configuration without the builder, started when the first
/// worker starts. The defaults are the safe ones: every request needs authentication, and the
/// server only accepts tickets for its own name.
///
/// A built `SpnegoAuth` has no setters: what its credentials were acquired for cannot change
/// behind the start-up check. Configure a builder, and build again, instead:
///
/// ```compile_fail
/// # fn main() -> Result<(), actix_gssapi::Error> {
/// let auth = actix_gssapi::SpnegoAuth::builder().build()?;
/// let auth = auth.keytab("/etc/other.keytab"); // error: no method `keytab` on `SpnegoAuth`
/// # Ok(()) }
/// ```
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
/// let auth = SpnegoAuth::builder().build().map_err(std::io::Error::other)?;
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
    /// Started by [`SpnegoAuthBuilder::build`](crate::SpnegoAuthBuilder::build), or for
    /// [`SpnegoAuth::new`] when the first worker starts; shared by every clone.
    engine: Arc<OnceLock<Result<Engine, Error>>>,
}

/// Whether logins are mapped to local account names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum LocalNames {
    #[default]
    Off,
    Map,
    Require,
}

/// What the builder collected: read by the middleware, the extractor and `Require` at run time.
#[derive(Clone, Default)]
pub(crate) struct Config {
    pub(crate) principal: ServicePrincipal,
    pub(crate) keytab: Option<String>,
    pub(crate) optional: bool,
    pub(crate) allow_anonymous: bool,
    pub(crate) local_names: LocalNames,
    pub(crate) authenticate_preflights: bool,
    pub(crate) on_event: Option<EventHook>,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    pub(crate) responses: Responses,
    pub(crate) session: Option<SessionCookie>,
    pub(crate) capacity: Capacity,
    pub(crate) password: Option<PasswordFallback>,
    pub(crate) replay: ReplayProtection,
    pub(crate) groups: Option<GroupSource>,
}

impl Default for SpnegoAuth {
    fn default() -> Self {
        Self::new()
    }
}

impl SpnegoAuth {
    /// The default configuration, without the builder: service principal
    /// `HTTP/<machine host name>`, the keytab from the environment, every request
    /// authenticated.
    ///
    /// Its credentials are acquired when the first worker starts; a missing keytab or key is
    /// then logged and stops the server from starting. [`SpnegoAuth::builder`] and
    /// [`build`](crate::SpnegoAuthBuilder::build) give the same error at start-up, in hand.
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, SpnegoAuth};
    /// use actix_web::{web, App, HttpServer};
    ///
    /// # #[actix_web::main]
    /// # async fn main() -> std::io::Result<()> {
    /// HttpServer::new(|| {
    ///     App::new().wrap(SpnegoAuth::new()).route(
    ///         "/",
    ///         web::get().to(|id: KerberosIdentity| async move { id.principal().to_owned() }),
    ///     )
    /// })
    /// .bind("127.0.0.1:8080")?
    /// .run()
    /// .await
    /// # }
    /// ```
    ///
    /// Every `SpnegoAuth::new()` value starts its own GSSAPI threads when first used; build
    /// one and clone it, as above, to share them.
    pub fn new() -> Self {
        Self::from_config(Config::default())
    }

    pub(crate) fn from_config(config: Config) -> Self {
        Self {
            config: Arc::new(config),
            engine: Arc::new(OnceLock::new()),
        }
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
    /// Keeps the credentials and threads, so the usual shape is one `build()` and two clones:
    /// `auth.clone().optional()` around the app, `auth.clone()` around the scopes that need a
    /// login (see [Protecting part of an app](Self#protecting-part-of-an-app)).
    /// A `SpnegoAuth` nested inside another uses the outer one's result instead of accepting
    /// the token again (tokens are single-use): an identity passes, a refused token is
    /// answered `403`, no credentials `401`.
    ///
    /// **Browsers send a ticket only after a `401`** (curl `--negotiate` sends one unasked):
    /// on an optional route, a browser user is identified only by a
    /// [`SessionCookie`](crate::SessionCookie) they already hold. What works: a login route
    /// that requires a login, inside the optional `SpnegoAuth` that issues the cookie. The
    /// browser gets the `401` there, answers it with a ticket, and the cookie it gets back
    /// identifies it on every route (`tests/mit/sessions.rs` runs this shape):
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, Key, ServicePrincipal, SessionCookie, SpnegoAuth};
    /// use actix_web::{web, App, HttpResponse, HttpServer};
    ///
    /// async fn home(id: Option<KerberosIdentity>) -> String {
    ///     match id {
    ///         Some(id) => format!("Hello, {}", id.principal()),
    ///         None => "Hello, stranger: <a href=/login>log in</a>".to_owned(),
    ///     }
    /// }
    ///
    /// # #[actix_web::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let auth = SpnegoAuth::builder()
    ///     .principal(ServicePrincipal::host("www.example.test"))
    ///     .session_cookie(SessionCookie::new(Key::generate()))
    ///     .build()
    ///     .map_err(std::io::Error::other)?;
    /// HttpServer::new(move || {
    ///     App::new()
    ///         .wrap(auth.clone().optional())
    ///         .route("/", web::get().to(home))
    ///         .service(web::resource("/login").wrap(auth.clone()).to(|| async {
    ///             HttpResponse::SeeOther()
    ///                 .insert_header(("Location", "/"))
    ///                 .finish()
    ///         }))
    /// })
    /// .bind("127.0.0.1:8080")?
    /// .run()
    /// .await
    /// # }
    /// ```
    ///
    /// [`KerberosIdentity`]: crate::KerberosIdentity
    pub fn optional(mut self) -> Self {
        Arc::make_mut(&mut self.config).optional = true;
        self
    }

    /// The engine, started on first use (checking the configuration first) and shared by
    /// every clone.
    pub(crate) fn engine(&self) -> Result<Engine, Error> {
        self.engine
            .get_or_init(|| {
                let c = &self.config;
                let service = c.check()?;
                Engine::start(&Settings {
                    service,
                    keytab: c.keytab.as_deref(),
                    threads: c.capacity.threads(),
                    limits: Limits {
                        total: c.capacity.login_queue,
                        per_key: c.capacity.login_queue_per_peer,
                    },
                    replay: &c.replay,
                    groups: c.groups.as_ref(),
                })
            })
            .clone()
    }
}

impl fmt::Debug for SpnegoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.debug_fields(&mut f.debug_struct("SpnegoAuth"))
    }
}

impl Config {
    /// Checks the parts of the configuration that do not need GSSAPI, and gives the service
    /// name to acquire the credential for.
    fn check(&self) -> Result<ServiceName, Error> {
        let service = self.principal.resolve()?;
        if self.keytab.as_ref().is_some_and(|k| k.contains('\0')) {
            return Err(Error::new(
                ErrorKind::Config,
                "the keytab name must not contain NUL bytes",
            ));
        }
        if let Some(session) = &self.session {
            session
                .validate()
                .map_err(|why| Error::new(ErrorKind::Config, why))?;
        }
        if let Some(fallback) = &self.password {
            fallback.check(&service)?;
            if self
                .channel_bindings
                .as_ref()
                .is_some_and(ChannelBindings::is_required)
            {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the password fallback cannot be combined with ChannelBindings::required: \
                     a password login cannot be bound to the TLS channel (use bindings when \
                     sent, or no password fallback)",
                ));
            }
        }
        Ok(service)
    }

    pub(crate) fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) -> fmt::Result {
        d.field("principal", &self.principal)
            .field("keytab", &self.keytab)
            .field("optional", &self.optional)
            .field("allow_anonymous", &self.allow_anonymous)
            .field("local_names", &self.local_names)
            .field("authenticate_preflights", &self.authenticate_preflights)
            .field("channel_bindings", &self.channel_bindings)
            .field("on_event", &self.on_event.as_ref().map(|_| "<hook>"))
            .field("responses", &self.responses)
            .field("session_cookie", &self.session)
            .field("capacity", &self.capacity)
            .field("password_fallback", &self.password)
            .field("replay_protection", &self.replay)
            .field("groups", &self.groups)
            .finish()
    }

    /// Gives the event `event()` makes to the hook, if there is one.
    pub(crate) fn emit(&self, req: &HttpRequest, event: impl FnOnce() -> AuthEvent) {
        if let Some(hook) = &self.on_event {
            hook(req, &event());
        }
    }

    /// The 401 answer, with the `Basic` challenge when the password fallback is on.
    pub(crate) fn unauthorized_response(&self, req: &HttpRequest) -> HttpResponse {
        self.responses
            .unauthorized_response(req, self.password.as_ref())
    }

    /// The 403 answer to a refused token.
    pub(crate) fn forbidden_response(&self, req: &HttpRequest) -> HttpResponse {
        self.responses.forbidden_response(req)
    }

    /// The 503 answer to a login that found the queue full.
    pub(crate) fn overloaded_response(&self, req: &HttpRequest) -> HttpResponse {
        self.responses.overloaded_response(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_safe_ones() {
        let auth = SpnegoAuth::new();
        let c = &auth.config;
        assert!(!c.optional, "every request needs auth");
        assert!(!c.allow_anonymous, "anonymous tickets are refused");
        assert_eq!(c.local_names, LocalNames::Off);
        assert!(!c.authenticate_preflights);
        assert_eq!(c.principal, ServicePrincipal::MachineHost);
        assert!(c.keytab.is_none());
        assert!(c.password.is_none(), "no password fallback");
        assert!(c.session.is_none(), "no session cookie");
        assert!(c.channel_bindings.is_none());
    }

    #[test]
    fn build_checks_before_gssapi() {
        for builder in [
            SpnegoAuth::builder().principal(ServicePrincipal::host("")),
            SpnegoAuth::builder().keytab("/etc/a\0b"),
            SpnegoAuth::builder()
                .principal(ServicePrincipal::AnyInKeytab)
                .keytab("/etc/a\0b"),
            SpnegoAuth::builder()
                .principal(ServicePrincipal::AnyInKeytab)
                .password_fallback(PasswordFallback::new()),
            SpnegoAuth::builder()
                .principal(ServicePrincipal::host("www.example.test"))
                .password_fallback(PasswordFallback::new())
                .channel_bindings(
                    ChannelBindings::tls_server_end_point(include_bytes!(
                        "../tests/data/tls/rsa-sha256.der"
                    ))
                    .unwrap()
                    .required(),
                ),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        }
        let err = SpnegoAuth::builder()
            .keytab("/etc/a\0b")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("keytab"), "{err}");
    }

    #[test]
    fn service_name_shows_the_choice() {
        let builder = SpnegoAuth::builder().principal(ServicePrincipal::AnyInKeytab);
        assert_eq!(builder.service_name().unwrap(), None);
        let builder = SpnegoAuth::builder().principal(ServicePrincipal::Host {
            service: "HTTPS".into(),
            host: "www.example.test".into(),
        });
        assert_eq!(
            builder.service_name().unwrap().as_deref(),
            Some("HTTPS@www.example.test")
        );
        let host = crate::sys::machine_hostname().unwrap();
        assert_eq!(
            SpnegoAuth::builder().service_name().unwrap(),
            Some(format!("HTTP@{host}"))
        );
    }

    #[test]
    fn clones_and_optional_variants_share_the_engine() {
        let a = SpnegoAuth::new();
        for b in [a.clone(), a.clone().optional()] {
            assert!(Arc::ptr_eq(&a.engine, &b.engine));
        }
        assert!(!a.config.optional);
        assert!(a.clone().optional().config.optional);
    }

    /// Captures log lines, for the one test that needs to see them.
    struct Lines(std::sync::Mutex<Vec<String>>);

    impl log::Log for Lines {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {}", record.level(), record.args());
            self.0.lock().unwrap().push(line);
        }
        fn flush(&self) {}
    }

    /// The `SpnegoAuth::new()` path: nothing is acquired until a worker starts, and a keytab
    /// that is not there then stops the server (a log line naming it), instead of a 500 on
    /// every request.
    #[actix_rt::test]
    async fn a_lazily_started_auth_that_cannot_start_stops_the_server() {
        static LINES: Lines = Lines(std::sync::Mutex::new(Vec::new()));
        let _ = log::set_logger(&LINES);
        log::set_max_level(log::LevelFilter::Info);
        let auth = SpnegoAuth::from_config(Config {
            principal: ServicePrincipal::host("localhost"),
            keytab: Some("/nonexistent/http.keytab".into()),
            ..Config::default()
        });
        let server = actix_web::HttpServer::new(move || actix_web::App::new().wrap(auth.clone()))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap()
            .run();
        let result = actix_rt::time::timeout(std::time::Duration::from_secs(10), server).await;
        assert!(
            matches!(result, Ok(Err(_))),
            "the server must fail to start, not serve 500s"
        );
        let lines = LINES.0.lock().unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ERROR") && l.contains("/nonexistent/http.keytab")),
            "{lines:?}"
        );
    }

    #[test]
    fn debug_shows_every_setting_and_no_secret() {
        let key = actix_web::cookie::Key::generate();
        let shown = format!(
            "{:?}",
            SpnegoAuth::builder()
                .principal(ServicePrincipal::host("www.example.test"))
                .session_cookie(SessionCookie::new(key.clone()))
                .on_event(|_, _| {})
        );
        for field in [
            "principal",
            "www.example.test",
            "keytab",
            "optional",
            "allow_anonymous",
            "local_names",
            "authenticate_preflights",
            "channel_bindings",
            "on_event: Some(\"<hook>\")",
            "responses",
            "session_cookie",
            "capacity",
            "accept_threads",
            "password_fallback",
            "replay_protection",
        ] {
            assert!(shown.contains(field), "{field} missing from {shown}");
        }
        let hex: String = key.master()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!shown.contains(&hex), "{shown}");
        assert!(
            !shown.contains(&format!("{:?}", &key.master()[..8])),
            "{shown}"
        );
    }
}
