//! `SpnegoAuthBuilder`: everything users configure, each default documented, checked by
//! `build()`, which starts the engine and returns the middleware.

use std::fmt;
use std::sync::Arc;

use actix_web::HttpRequest;

use crate::capacity::Capacity;
use crate::channel_bindings::ChannelBindings;
use crate::config::{Config, LocalNames, SpnegoAuth};
use crate::error::Error;
use crate::events::{AuthEvent, EventHook};
use crate::groups::GroupSource;
use crate::password::PasswordFallback;
use crate::replay::ReplayProtection;
use crate::responses::Responses;
use crate::service_name::{ServiceName, ServicePrincipal};
use crate::session::SessionCookie;

/// Configures a [`SpnegoAuth`]: made by [`SpnegoAuth::builder`], turned into the middleware by
/// [`build`](Self::build), which checks the configuration and acquires the acceptor credential.
///
/// ```no_run
/// use actix_gssapi::{ServicePrincipal, SpnegoAuth};
///
/// let auth = SpnegoAuth::builder()
///     .principal(ServicePrincipal::host("www.example.com"))
///     .keytab("/etc/krb5/http.keytab")
///     .build()?;
/// # Ok::<(), actix_gssapi::Error>(())
/// ```
///
/// Every setter's documentation gives its default. The defaults are the safe ones: every
/// request needs authentication, and the server only accepts tickets for its own name.
#[must_use]
#[derive(Clone, Default)]
pub struct SpnegoAuthBuilder {
    config: Config,
}

impl SpnegoAuth {
    /// Everything there is to configure: see [`SpnegoAuthBuilder`].
    pub fn builder() -> SpnegoAuthBuilder {
        SpnegoAuthBuilder::default()
    }
}

impl SpnegoAuthBuilder {
    /// Which tickets the server accepts: one host name, the machine's, any key in the keytab,
    /// or a service account for constrained delegation. See [`ServicePrincipal`].
    ///
    /// Defaults to [`ServicePrincipal::MachineHost`], `HTTP/<gethostname(2)>`. Clients ask for
    /// a ticket for the host name in the URL they use, so choose
    /// [`ServicePrincipal::host`] with that name when it differs (it usually does: the machine
    /// name is often not the fully-qualified one).
    pub fn principal(mut self, principal: ServicePrincipal) -> Self {
        self.config.principal = principal;
        self
    }

    /// Read keys from this keytab file instead of the environment's.
    ///
    /// Defaults to the Kerberos library's choice: the `KRB5_KTNAME` environment variable, else
    /// `default_keytab_name` from `krb5.conf`, else `/etc/krb5.keytab`. Takes a path or a
    /// typed name (`FILE:/etc/http.keytab`). A keytab file is copied into memory at start-up,
    /// and copied again before the next login whenever it changes (one `stat` per login), so
    /// keys added to it (a key rotation) are used without a restart, and removed ones are
    /// refused.
    ///
    /// Not used when gssproxy holds the keys (`GSS_USE_PROXY=yes`, [keytab
    /// guide](crate::guide::keytab#keeping-the-keytab-in-gssproxy)): a warning says so.
    pub fn keytab(mut self, keytab: impl Into<String>) -> Self {
        self.config.keytab = Some(keytab.into());
        self
    }

    /// Accept anonymous Kerberos tickets (anonymous PKINIT, `kinit -n`: the client is
    /// `WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS`) as identities.
    ///
    /// Defaults to off: a context GSSAPI marks anonymous (`GSS_C_ANON_FLAG`) is refused with
    /// `403` (anonymously passed on in [`optional`](SpnegoAuth::optional) mode), and logged.
    /// Realms that enable anonymous PKINIT (MIT recommends it to armour logins with FAST) let
    /// anyone get such a ticket, so it proves only that the client reached the KDC. Turn this
    /// on only if your handlers check
    /// [`KerberosIdentity::is_anonymous`](crate::KerberosIdentity::is_anonymous).
    pub fn allow_anonymous(mut self) -> Self {
        self.config.allow_anonymous = true;
        self
    }

    /// Map each login to a local account name with krb5's `auth_to_local` rules (krb5.conf,
    /// `gss_localname`), for [`KerberosIdentity::local_name`].
    ///
    /// Defaults to off: it is a krb5 lookup on every login. By default MIT maps a
    /// one-component principal of the default realm to its name (`alice@EXAMPLE.COM` to
    /// `alice`) and nothing else; `auth_to_local` rules in the realm's section of krb5.conf
    /// map more. A [session cookie](crate::SessionCookie) carries the name its login mapped.
    ///
    /// [`KerberosIdentity::local_name`]: crate::KerberosIdentity::local_name
    pub fn map_local_names(mut self) -> Self {
        if self.config.local_names == LocalNames::Off {
            self.config.local_names = LocalNames::Map;
        }
        self
    }

    /// Like [`map_local_names`](Self::map_local_names), and refuse (`403`, logged) a login
    /// that no rule maps to a local account.
    ///
    /// Defaults to off. For services that act as a local user (files, a database role): a
    /// principal of a trusted foreign realm, or a service principal, is then refused instead
    /// of reaching a handler that cannot serve it.
    pub fn require_local_names(mut self) -> Self {
        self.config.local_names = LocalNames::Require;
        self
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
    /// let builder = SpnegoAuth::builder().authenticate_preflights();
    /// ```
    ///
    /// [`actix-cors`]: https://docs.rs/actix-cors
    /// [`KerberosIdentity`]: crate::KerberosIdentity
    pub fn authenticate_preflights(mut self) -> Self {
        self.config.authenticate_preflights = true;
        self
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
    /// let builder = SpnegoAuth::builder()
    ///     .channel_bindings(ChannelBindings::tls_server_end_point(&certificate_der)?);
    /// # Ok::<(), actix_gssapi::Error>(())
    /// ```
    pub fn channel_bindings(mut self, bindings: ChannelBindings) -> Self {
        self.config.channel_bindings = Some(bindings);
        self
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
    /// let builder = SpnegoAuth::builder().on_event(move |req, event| {
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
    pub fn on_event<F>(mut self, hook: F) -> Self
    where
        F: Fn(&HttpRequest, &AuthEvent) + Send + Sync + 'static,
    {
        let hook: EventHook = Arc::new(hook);
        self.config.on_event = Some(hook);
        self
    }

    /// The `401`, `403` and `503` answers. Defaults to [`Responses::new`]: short plain-text
    /// bodies that never say why. See [`Responses`].
    pub fn responses(mut self, responses: Responses) -> Self {
        self.config.responses = responses;
        self
    }

    /// Issue a session cookie after each successful Negotiate exchange, and accept it instead
    /// of a token on later requests. Off by default. See [`SessionCookie`].
    ///
    /// ```
    /// use actix_gssapi::{Key, SessionCookie, SpnegoAuth};
    ///
    /// let builder = SpnegoAuth::builder().session_cookie(SessionCookie::new(Key::generate()));
    /// ```
    pub fn session_cookie(mut self, cookie: SessionCookie) -> Self {
        self.config.session = Some(cookie);
        self
    }

    /// Lets clients without Kerberos log in with their Kerberos password
    /// (`Authorization: Basic`), checked with the KDC and verified against this service's
    /// keytab, on TLS connections only unless allowed otherwise. Off by default: see
    /// [`PasswordFallback`] for what it checks, why it wants HTTPS, and what each request is
    /// answered.
    ///
    /// ```
    /// use actix_gssapi::{PasswordFallback, ServicePrincipal, SpnegoAuth};
    ///
    /// let builder = SpnegoAuth::builder()
    ///     .principal(ServicePrincipal::host("www.example.com"))
    ///     .password_fallback(PasswordFallback::new().realm("EXAMPLE.COM"));
    /// ```
    pub fn password_fallback(mut self, fallback: PasswordFallback) -> Self {
        self.config.password = Some(fallback);
        self
    }

    /// How a token used a second time is refused: by default in an in-process store; with
    /// the `redis` feature, in a Redis server that every node shares, so a token used on one
    /// node is refused on all; or by MIT's own replay cache. See [`ReplayProtection`] for how
    /// it works and what each store costs.
    ///
    /// ```
    /// use actix_gssapi::{ReplayProtection, SpnegoAuth};
    ///
    /// let builder = SpnegoAuth::builder()
    ///     .replay_protection(ReplayProtection::in_memory().max_entries(4_000_000));
    /// ```
    pub fn replay_protection(mut self, protection: ReplayProtection) -> Self {
        self.config.replay = protection;
        self
    }

    /// Where the groups of a login come from when its ticket carries none (MIT and FreeIPA
    /// realms, Active Directory tickets without a PAC): the host's name service or an LDAP
    /// directory, looked up on the GSSAPI thread after the accept and cached. Then
    /// [`KerberosIdentity::groups`](crate::KerberosIdentity::groups) lists them and
    /// [`Require::any_group_named`](crate::Require::any_group_named) decides by them; a
    /// directory that cannot answer makes logins fail with `503`. See [`GroupSource`].
    ///
    /// ```
    /// use actix_gssapi::{GroupSource, SpnegoAuth};
    ///
    /// let builder = SpnegoAuth::builder().groups(GroupSource::name_service());
    /// ```
    pub fn groups(mut self, source: GroupSource) -> Self {
        self.config.groups = Some(source);
        self
    }

    /// How many GSSAPI threads check tokens and how many logins may wait for them. Defaults to
    /// [`Capacity::new`]. See [`Capacity`].
    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// The service name the server will accept tickets for, as GSSAPI writes it:
    /// `HTTP@hostname`, the constrained delegation account, or `None` with
    /// [`ServicePrincipal::AnyInKeytab`].
    ///
    /// # Errors
    /// [`ErrorKind::Hostname`](crate::ErrorKind::Hostname) when the principal is
    /// [`ServicePrincipal::MachineHost`] and the host name cannot be read;
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an empty or NUL-holding name.
    pub fn service_name(&self) -> Result<Option<String>, Error> {
        Ok(match self.config.principal.resolve()? {
            ServiceName::HostBased(name) | ServiceName::Account(name) => Some(name),
            ServiceName::Any => None,
        })
    }

    /// Checks the configuration and acquires the acceptor credentials, so that configuration
    /// errors surface at start-up, with the error in hand: the middleware, to `wrap` apps,
    /// scopes and resources with. Clones of it share the credentials and GSSAPI threads (and
    /// every worker with them); nothing on it can change what they were acquired for.
    ///
    /// # Errors
    /// - [`ErrorKind::AcceptorCredential`]: the keytab is missing, unreadable, empty, or has no
    ///   key for the service principal; the message names the keytab and the principal. With
    ///   `GSS_USE_PROXY=yes`, gssproxy could not give the credential: the message names it and
    ///   its socket.
    /// - [`ErrorKind::Hostname`]: the machine's host name could not be read
    ///   ([`ServicePrincipal::MachineHost`]).
    /// - [`ErrorKind::Config`]: an empty host name, a name with a NUL byte, a session cookie
    ///   that browsers would refuse (see [`SessionCookie::name`]), a [`PasswordFallback`] with
    ///   an invalid realm or no service to verify passwords against, or a password fallback
    ///   with [`ChannelBindings::required`].
    /// - [`ErrorKind::ReplayStore`]: a [`ReplayProtection::redis`] configuration that cannot
    ///   work (a URL that is not a Redis URL, certificates that do not parse or that come with
    ///   a plain `redis://` URL). Redis itself need not be up: logins are refused with `503`
    ///   until it answers.
    ///
    /// [`ErrorKind::AcceptorCredential`]: crate::ErrorKind::AcceptorCredential
    /// [`ErrorKind::Hostname`]: crate::ErrorKind::Hostname
    /// [`ErrorKind::Config`]: crate::ErrorKind::Config
    /// [`ErrorKind::ReplayStore`]: crate::ErrorKind::ReplayStore
    pub fn build(self) -> Result<SpnegoAuth, Error> {
        let auth = SpnegoAuth::from_config(self.config);
        auth.engine()?;
        Ok(auth)
    }
}

impl fmt::Debug for SpnegoAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config
            .debug_fields(&mut f.debug_struct("SpnegoAuthBuilder"))
    }
}
