//! `SpnegoAuth`: what users configure, and the shared state built from it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::channel_bindings::ChannelBindings;
use crate::engine::{Engine, Settings};
use crate::error::{Error, ErrorKind};
use crate::events::{AuthEvent, EventHook};
use crate::negotiate::SCHEME;
use crate::password::PasswordFallback;
use crate::pool::Limits;
use crate::replay::ReplayProtection;
use crate::service_name::ServiceName;
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

/// Whether logins are mapped to local account names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalNames {
    Off,
    Map,
    Require,
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
    constrained_delegation: Option<String>,
    pub(crate) optional: bool,
    pub(crate) allow_anonymous: bool,
    pub(crate) local_names: LocalNames,
    pub(crate) authenticate_preflights: bool,
    on_event: Option<EventHook>,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    unauthorized: Reply,
    forbidden: Reply,
    pub(crate) session: Option<SessionCookie>,
    accept_threads: Option<usize>,
    login_queue: usize,
    login_queue_per_peer: Option<usize>,
    overloaded: Reply,
    pub(crate) password: Option<PasswordFallback>,
    replay: ReplayProtection,
}

/// [`SpnegoAuth::login_queue`]'s default.
const DEFAULT_LOGIN_QUEUE: usize = 1024;
/// [`SpnegoAuth::login_queue_per_peer`]'s default.
const DEFAULT_LOGIN_QUEUE_PER_PEER: usize = 64;

impl Default for Config {
    fn default() -> Self {
        Self {
            service: "HTTP".to_owned(),
            hostname: Hostname::Auto,
            keytab: None,
            constrained_delegation: None,
            optional: false,
            allow_anonymous: false,
            local_names: LocalNames::Off,
            authenticate_preflights: false,
            on_event: None,
            channel_bindings: None,
            unauthorized: Reply::Text(Cow::Borrowed("Unauthorized")),
            forbidden: Reply::Text(Cow::Borrowed("Forbidden")),
            session: None,
            accept_threads: None,
            login_queue: DEFAULT_LOGIN_QUEUE,
            login_queue_per_peer: Some(DEFAULT_LOGIN_QUEUE_PER_PEER),
            overloaded: Reply::Text(Cow::Borrowed("Service Unavailable")),
            password: None,
            replay: ReplayProtection::default(),
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
    /// An empty name is a configuration error ([`build`](Self::build) fails): it is what an
    /// unset environment variable gives, and must not silently widen what is accepted. Use
    /// [`any_principal`](Self::any_principal) to accept every name in the keytab.
    pub fn hostname(self, hostname: impl Into<String>) -> Self {
        let hostname = hostname.into();
        self.edit_engine(|c| c.hostname = Hostname::Explicit(hostname))
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

    /// Constrained delegation (S4U2Proxy, mod_auth_gssapi's `GssapiUseS4U2Proxy`): every
    /// login gets a credential to act as the user toward the back-ends Active Directory lists
    /// in the service account's `msDS-AllowedToDelegateTo`, even when the client forwarded no
    /// ticket. It is [`KerberosIdentity::delegated_credentials`], stored with
    /// [`Credentials::store_in_memory`] or [`Credentials::store_private`] like a forwarded one.
    ///
    /// `account` is the service account's own principal (`httpsvc@AD.EXAMPLE.COM`), whose key
    /// must be in the keytab beside the `HTTP/...` one (`samba-tool domain exportkeytab
    /// --principal=httpsvc`, or `ktpass` for both names): AD refuses to give a ticket to an SPN
    /// as a client. The credential is acquired for accepting and initiating with that keytab;
    /// tickets are accepted for any key in it. Defaults to off (no delegation unless the
    /// client forwards its ticket).
    ///
    /// [`KerberosIdentity::delegated_credentials`]: crate::KerberosIdentity::delegated_credentials
    /// [`Credentials::store_in_memory`]: crate::Credentials::store_in_memory
    /// [`Credentials::store_private`]: crate::Credentials::store_private
    pub fn constrained_delegation(self, account: impl Into<String>) -> Self {
        let account = account.into();
        self.edit_engine(|c| c.constrained_delegation = Some(account))
    }

    /// Read keys from this keytab file instead of the environment's.
    ///
    /// Defaults to the Kerberos library's choice: the `KRB5_KTNAME` environment variable, else
    /// `default_keytab_name` from `krb5.conf`, else `/etc/krb5.keytab`. Takes a path or a
    /// typed name (`FILE:/etc/http.keytab`). A keytab file is copied into memory at start-up,
    /// and copied again before the next login whenever it changes (one `stat` per login), so
    /// keys added to it (a key rotation) are used without a restart, and removed ones are
    /// refused.
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
    /// **Browsers send a ticket only after a `401`** (curl `--negotiate` sends one unasked):
    /// on an optional route, a browser user is identified only by a
    /// [`SessionCookie`](crate::SessionCookie) they already hold. What works: a login route
    /// that requires a login, inside the optional `SpnegoAuth` that issues the cookie. The
    /// browser gets the `401` there, answers it with a ticket, and the cookie it gets back
    /// identifies it on every route (`tests/sessions.rs` runs this shape):
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, Key, SessionCookie, SpnegoAuth};
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
    /// let auth = SpnegoAuth::new()
    ///     .hostname("www.example.test")
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

    /// Map each login to a local account name with krb5's `auth_to_local` rules (krb5.conf,
    /// `gss_localname`), for [`KerberosIdentity::local_name`].
    ///
    /// Defaults to off: it is a krb5 lookup on every login. By default MIT maps a
    /// one-component principal of the default realm to its name (`alice@EXAMPLE.COM` to
    /// `alice`) and nothing else; `auth_to_local` rules in the realm's section of krb5.conf
    /// map more. Requests authenticated by a session cookie have no local name.
    ///
    /// [`KerberosIdentity::local_name`]: crate::KerberosIdentity::local_name
    pub fn map_local_names(self) -> Self {
        self.edit(|c| {
            if c.local_names == LocalNames::Off {
                c.local_names = LocalNames::Map;
            }
        })
    }

    /// Like [`map_local_names`](Self::map_local_names), and refuse (`403`, logged) a login
    /// that no rule maps to a local account.
    ///
    /// Defaults to off. For services that act as a local user (files, a database role): a
    /// principal of a trusted foreign realm, or a service principal, is then refused instead
    /// of reaching a handler that cannot serve it.
    pub fn require_local_names(self) -> Self {
        self.edit(|c| c.local_names = LocalNames::Require)
    }

    /// Authenticate CORS preflight requests like any other request, instead of passing them
    /// on unauthenticated.
    ///
    /// By default a CORS preflight — an `OPTIONS` request with `Origin`, an
    /// `Access-Control-Request-Method` that names a method (what actix-cors takes for a
    /// preflight) and no `Authorization` header — goes on to the application without an
    /// identity, so that [`actix-cors`] (wrapped inside this `SpnegoAuth`) or the application
    /// answers it. Browsers never send credentials on a preflight (Fetch standard), so
    /// answering it `401` breaks every cross-origin call from a single-page app. A plain
    /// `OPTIONS` request, or one with an `Authorization` header, is authenticated as usual.
    ///
    /// Guards keep a preflight from getting anything else out of the application:
    /// - a handler that takes [`KerberosIdentity`] answers it with the `401` challenge (the
    ///   request carries no identity);
    /// - an answer that is not a CORS preflight answer (a `2xx` with
    ///   `Access-Control-Allow-Origin` and `Access-Control-Allow-Methods` or `-Headers`) is
    ///   replaced by the `401` challenge, and logged: a handler that matches every method,
    ///   such as `Resource::to`, answered it, even if a CORS layer decorated its answer;
    /// - the body of a preflight answer that passes is dropped (browsers read only its status
    ///   and headers), so no content leaves unauthenticated whoever wrote it.
    ///
    /// A handler that matches every method still *runs* for a preflight, so one with side
    /// effects must take [`KerberosIdentity`], match only its methods (`web::get()`, ...), or
    /// sit behind an `actix-cors` that answers preflights first; otherwise turn this on.
    /// `actix-cors` may also be wrapped *outside* `SpnegoAuth`: it then answers preflights
    /// before this setting is consulted. Both orders are tested.
    ///
    /// ```
    /// use actix_gssapi::SpnegoAuth;
    ///
    /// // No cross-origin callers: every OPTIONS request needs a login too.
    /// let auth = SpnegoAuth::new().authenticate_preflights();
    /// ```
    ///
    /// [`actix-cors`]: https://docs.rs/actix-cors
    /// [`KerberosIdentity`]: crate::KerberosIdentity
    pub fn authenticate_preflights(self) -> Self {
        self.edit(|c| c.authenticate_preflights = true)
    }

    /// Bind logins over TLS to the server's certificate (RFC 5929 `tls-server-end-point`,
    /// "Extended Protection"): a client that bound its token to another certificate is refused
    /// (`403`), and with [`ChannelBindings::required`] so is one that did not bind.
    ///
    /// Defaults to off. See [`ChannelBindings`] for the modes, and for what to do behind a
    /// TLS-terminating proxy; `examples/tls.rs` serves HTTPS with rustls and bindings.
    ///
    /// ```
    /// use actix_gssapi::{ChannelBindings, SpnegoAuth};
    ///
    /// # let certificate_der = std::fs::read(concat!(
    /// #     env!("CARGO_MANIFEST_DIR"),
    /// #     "/tests/data/tls/rsa-sha256.der"
    /// # ))
    /// # .unwrap();
    /// // Clients that bind must bind to this certificate; clients that do not still log in.
    /// let auth = SpnegoAuth::new()
    ///     .channel_bindings(ChannelBindings::tls_server_end_point(&certificate_der)?);
    /// # Ok::<(), actix_gssapi::Error>(())
    /// ```
    pub fn channel_bindings(self, bindings: ChannelBindings) -> Self {
        self.edit(|c| c.channel_bindings = Some(bindings))
    }

    /// Call `hook` with every authentication outcome, for metrics and audit logs.
    ///
    /// The hook gets the request and an [`AuthEvent`]: who logged in and how, or why not
    /// (missing credentials, malformed token, NTLM, replay, clock skew, expired ticket, wrong
    /// service principal, a refusing rule, overload, ...). It runs on the worker thread,
    /// after the decision and outside any lock, once per decision (see [`AuthEvent`]); keep it
    /// quick (count, or send to a channel). Without a hook nothing is built or called.
    /// A panic in the hook is not caught: it fails the request like a panicking handler.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// use actix_gssapi::{AuthEvent, SpnegoAuth};
    ///
    /// let replays = Arc::new(AtomicU64::new(0));
    /// let counter = Arc::clone(&replays);
    /// let auth = SpnegoAuth::new().on_event(move |req, event| {
    ///     if *event == AuthEvent::Replay {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     if let AuthEvent::Authenticated { principal, .. } = event {
    ///         log::info!(target: "audit", "{principal} {} {}", req.method(), req.path());
    ///     }
    /// });
    /// ```
    ///
    /// `examples/metrics.rs` exports the events as Prometheus counters.
    pub fn on_event<F>(self, hook: F) -> Self
    where
        F: Fn(&HttpRequest, &AuthEvent) + Send + Sync + 'static,
    {
        let hook: EventHook = Arc::new(hook);
        self.edit(|c| c.on_event = Some(hook))
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

    /// Lets clients without Kerberos log in with their Kerberos password
    /// (`Authorization: Basic`), checked with the KDC and verified against this service's
    /// keytab, on TLS connections only unless allowed otherwise. Off by default: see
    /// [`PasswordFallback`] for what it checks, why it wants HTTPS, and what each request is
    /// answered.
    ///
    /// ```
    /// use actix_gssapi::{PasswordFallback, SpnegoAuth};
    ///
    /// let auth = SpnegoAuth::new()
    ///     .hostname("www.example.com")
    ///     .password_fallback(PasswordFallback::new().realm("EXAMPLE.COM"));
    /// ```
    pub fn password_fallback(self, fallback: PasswordFallback) -> Self {
        self.edit(|c| c.password = Some(fallback))
    }

    /// How a token used a second time is refused: by default in an in-process store; with
    /// the `redis` feature, in a Redis server that every node shares, so a token used on one
    /// node is refused on all; or by MIT's own replay cache. See [`ReplayProtection`] for how
    /// it works and what each store costs.
    ///
    /// ```
    /// use actix_gssapi::{ReplayProtection, SpnegoAuth};
    ///
    /// let auth = SpnegoAuth::new().replay_protection(ReplayProtection::in_memory().max_entries(4_000_000));
    /// ```
    pub fn replay_protection(self, protection: ReplayProtection) -> Self {
        self.edit_engine(|c| c.replay = protection)
    }

    /// How many Negotiate tokens are checked at once: the number of threads that run
    /// GSSAPI, shared by all workers, each with its own acceptor credential. More logins than
    /// that wait their turn in the [login queue](Self::login_queue) (other requests do not:
    /// they never wait for GSSAPI).
    ///
    /// Defaults to four per CPU. Accepting is CPU work, but MIT takes a global lock for every
    /// krb5 context it creates (several per accept) (and, with MIT's replay cache, a file lock), so a
    /// thread often waits; measured with `examples/benchmark.rs` on 2 CPUs: 2 threads 17.0k
    /// logins/s, 4: 18.3k, 8: 22.6k, 12: 20.9k.
    pub fn accept_threads(self, threads: usize) -> Self {
        self.edit_engine(|c| c.accept_threads = Some(threads.max(1)))
    }

    /// How many logins may wait for a GSSAPI thread, all clients together. Past it, a login is
    /// answered at once with the [overloaded](Self::overloaded) response (`503`, `Retry-After`)
    /// and a warning is logged (at most one line a second), so memory stays bounded under a
    /// flood and clients learn to come back instead of timing out.
    ///
    /// Defaults to 1024 (with ~2 KB tokens, 2 MB; at most 64 KiB each). Waiting logins are
    /// served by client address in turn, not in arrival order, so a client with many waiting
    /// logins delays another client's login by about one accept, not by all of its own. A
    /// login whose client hung up before its turn is skipped.
    pub fn login_queue(self, logins: usize) -> Self {
        self.edit_engine(|c| c.login_queue = logins.max(1))
    }

    /// How many logins from one client address may wait at once; `None` lifts the limit
    /// and the turns (one queue, in arrival order). Past it, that client's further logins get
    /// the [overloaded](Self::overloaded) response while others still get in.
    ///
    /// Defaults to `Some(64)`: about a millisecond of work for the GSSAPI threads, and plenty
    /// for one client (a browser sends one login at a time). Each waiting login holds its
    /// connection's buffers; under a flood from one address (`tests/flood.rs`: 256
    /// connections replaying a token and hanging up) 64 kept the server's growth to ~15 MiB
    /// where 256 let it reach ~30 MiB.
    ///
    /// **Behind a reverse proxy** every request comes from the proxy's address, so all users
    /// share this limit and one turn: raise it to the whole queue or set `None` there, and let
    /// the proxy limit clients (it knows their addresses).
    pub fn login_queue_per_peer(self, logins: Option<usize>) -> Self {
        self.edit_engine(|c| c.login_queue_per_peer = logins.map(|n| n.max(1)))
    }

    /// The body of the `503 Service Unavailable` answer to a login that found the
    /// [queue](Self::login_queue) full.
    ///
    /// Defaults to `Service Unavailable`, as `text/plain; charset=utf-8`, with `Retry-After: 1`.
    pub fn overloaded(self, body: impl Into<Cow<'static, str>>) -> Self {
        let reply = Reply::Text(body.into());
        self.edit(|c| c.overloaded = reply)
    }

    /// Build the answer to a login that found the [queue](Self::login_queue) full yourself.
    /// A `503` without `Retry-After` gets `Retry-After: 1` added.
    pub fn overloaded_with<F>(self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        let reply = Reply::Custom(Arc::new(response));
        self.edit(|c| c.overloaded = reply)
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
    /// - [`ErrorKind::Config`]: a service or host name with a NUL byte, a session cookie
    ///   that browsers would refuse (see [`SessionCookie::name`]), or a
    ///   [`PasswordFallback`] with an invalid realm or no service to verify passwords
    ///   against.
    /// - [`ErrorKind::ReplayStore`]: a [`ReplayProtection::redis`] configuration that cannot
    ///   work (a URL that is not a Redis URL, certificates that do not parse or that come with
    ///   a plain `redis://` URL). Redis itself need not be up: logins are refused with `503`
    ///   until it answers.
    pub fn build(self) -> Result<Self, Error> {
        self.check()?;
        self.engine()?;
        Ok(self)
    }

    /// Checks the parts of the configuration that do not need GSSAPI.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self
            .config
            .keytab
            .as_ref()
            .is_some_and(|k| k.contains('\0'))
        {
            return Err(Error::new(
                ErrorKind::Config,
                "the keytab name must not contain NUL bytes",
            ));
        }
        if let Some(session) = &self.config.session {
            session
                .validate()
                .map_err(|why| Error::new(ErrorKind::Config, why))?;
        }
        if let Some(fallback) = &self.config.password {
            fallback.check(&self.config.service_name()?)?;
            if self
                .config
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
        Ok(())
    }

    /// The service name the server accepts tickets for, as GSSAPI writes it: `HTTP@hostname`,
    /// or `None` with [`any_principal`](Self::any_principal).
    ///
    /// # Errors
    /// [`ErrorKind::Hostname`] when the host name is automatic and cannot be read.
    pub fn service_name(&self) -> Result<Option<String>, Error> {
        Ok(match self.config.service_name()? {
            ServiceName::HostBased(name) | ServiceName::Account(name) => Some(name),
            ServiceName::Any => None,
        })
    }

    /// The engine, started on first use and shared by every clone made since the last
    /// change to what it is made from.
    pub(crate) fn engine(&self) -> Result<Engine, Error> {
        self.engine
            .get_or_init(|| {
                let c = &self.config;
                Engine::start(&Settings {
                    service: c.service_name()?,
                    keytab: c.keytab.as_deref(),
                    threads: c.accept_threads.unwrap_or_else(|| {
                        4 * std::thread::available_parallelism().map_or(1, |n| n.get())
                    }),
                    limits: Limits {
                        total: c.login_queue,
                        per_key: c.login_queue_per_peer,
                    },
                    replay: &c.replay,
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
            .field("constrained_delegation", &c.constrained_delegation)
            .field("optional", &c.optional)
            .field("allow_anonymous", &c.allow_anonymous)
            .field("local_names", &c.local_names)
            .field("authenticate_preflights", &c.authenticate_preflights)
            .field("channel_bindings", &c.channel_bindings)
            .field("on_event", &c.on_event.as_ref().map(|_| "<hook>"))
            .field("session_cookie", &c.session)
            .field("accept_threads", &c.accept_threads)
            .field("login_queue", &c.login_queue)
            .field("login_queue_per_peer", &c.login_queue_per_peer)
            .field("password_fallback", &c.password)
            .field("replay_protection", &c.replay)
            .finish_non_exhaustive()
    }
}

impl Config {
    fn service_name(&self) -> Result<ServiceName, Error> {
        if let Some(account) = &self.constrained_delegation {
            if account.is_empty() || account.contains('\0') {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the constrained delegation account must be a principal name",
                ));
            }
            return Ok(ServiceName::Account(account.clone()));
        }
        let host = match &self.hostname {
            Hostname::Any => return Ok(ServiceName::Any),
            Hostname::Explicit(h) if h.is_empty() => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "the host name for the service principal is empty (an unset variable?): \
                     give one, or call SpnegoAuth::any_principal to accept every name in the \
                     keytab",
                ))
            }
            Hostname::Explicit(h) => h.clone(),
            Hostname::Auto => crate::sys::machine_hostname().ok_or_else(|| {
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
                "service and host names must not contain NUL bytes",
            ));
        }
        Ok(ServiceName::HostBased(format!("{}@{host}", self.service)))
    }

    /// Gives the event `event()` makes to the hook, if there is one.
    pub(crate) fn emit(&self, req: &HttpRequest, event: impl FnOnce() -> AuthEvent) {
        if let Some(hook) = &self.on_event {
            hook(req, &event());
        }
    }

    /// The 401 answer: a challenge without a token (RFC 4559 §5), and the `Basic` one after it
    /// when the password fallback is on and the connection may carry passwords.
    pub(crate) fn unauthorized_response(&self, req: &HttpRequest) -> HttpResponse {
        let mut res = reply(&self.unauthorized, StatusCode::UNAUTHORIZED, req);
        if res.status() == StatusCode::UNAUTHORIZED
            && !res.headers().contains_key(header::WWW_AUTHENTICATE)
        {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(SCHEME));
        }
        if let Some(fallback) = &self.password {
            fallback.add_challenge(req.app_config().secure(), &mut res);
        }
        res
    }

    /// The 403 answer to a refused token.
    pub(crate) fn forbidden_response(&self, req: &HttpRequest) -> HttpResponse {
        reply(&self.forbidden, StatusCode::FORBIDDEN, req)
    }

    /// The 503 answer to a login that found the queue full.
    pub(crate) fn overloaded_response(&self, req: &HttpRequest) -> HttpResponse {
        let mut res = reply(&self.overloaded, StatusCode::SERVICE_UNAVAILABLE, req);
        if res.status() == StatusCode::SERVICE_UNAVAILABLE
            && !res.headers().contains_key(header::RETRY_AFTER)
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
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
        assert!(auth.config.password.is_none(), "no password fallback");
    }

    #[test]
    fn an_empty_hostname_is_an_error_not_any_principal() {
        let err = SpnegoAuth::new().hostname("").service_name().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("any_principal"), "{err}");
        let err = SpnegoAuth::new().hostname("").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let auth = SpnegoAuth::new().any_principal();
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
        let host = crate::sys::machine_hostname().unwrap();
        assert_eq!(name, format!("HTTP@{host}"));
    }

    #[test]
    fn nul_in_names_is_a_config_error() {
        let err = SpnegoAuth::new()
            .hostname("a\0b")
            .service_name()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        for auth in [
            SpnegoAuth::new().keytab("/etc/a\0b"),
            SpnegoAuth::new().any_principal().keytab("/etc/a\0b"),
        ] {
            let err = auth.build().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{err}");
            assert!(err.to_string().contains("keytab"), "{err}");
        }
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
            b.clone().constrained_delegation("svc@R"),
            b.clone().login_queue(3),
            b.clone().login_queue_per_peer(None),
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
            a.clone().map_local_names(),
            a.clone().require_local_names(),
            a.clone().unauthorized("x"),
            a.clone()
                .unauthorized_with(|_| HttpResponse::Unauthorized().finish()),
            a.clone().forbidden("x"),
            a.clone().overloaded("busy"),
            a.clone()
                .overloaded_with(|_| HttpResponse::ServiceUnavailable().finish()),
            a.clone()
                .forbidden_with(|_| HttpResponse::Forbidden().finish()),
            a.clone()
                .session_cookie(SessionCookie::new(actix_web::cookie::Key::generate())),
            a.clone()
                .password_fallback(crate::PasswordFallback::new().allow_insecure_http()),
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
        let res = config.overloaded_response(&req);
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn queue_defaults_are_bounded_and_per_peer() {
        let c = Config::default();
        assert_eq!(c.login_queue, 1024);
        assert_eq!(c.login_queue_per_peer, Some(64));
        let c = SpnegoAuth::new()
            .login_queue(0)
            .login_queue_per_peer(Some(0));
        assert_eq!(c.config.login_queue, 1);
        assert_eq!(c.config.login_queue_per_peer, Some(1));
    }

    #[test]
    fn a_custom_503_gets_retry_after_unless_it_has_one() {
        let req = TestRequest::default().to_http_request();
        let auth =
            SpnegoAuth::new().overloaded_with(|_| HttpResponse::ServiceUnavailable().body("later"));
        let res = auth.config.overloaded_response(&req);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let auth = SpnegoAuth::new().overloaded_with(|_| {
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "30"))
                .finish()
        });
        let res = auth.config.overloaded_response(&req);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "30");
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
