//! The authenticated identity, and its extractor.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{ready, Ready};

use crate::claims::Claims;
use crate::config::Config;
use crate::credentials::Credentials;
use crate::events::Mechanism;
use crate::groups::Group;
use crate::pac::{Pac, PacBytes};

/// The Kerberos identity of an authenticated request.
///
/// [`SpnegoAuth`](crate::SpnegoAuth) stores one in the request extensions when a request's
/// `Negotiate` token is accepted. Take it in a handler as an extractor:
///
/// ```no_run
/// use actix_gssapi::KerberosIdentity;
///
/// async fn me(id: KerberosIdentity) -> String {
///     format!("Hello, {}", id.principal())
/// }
/// ```
///
/// # Extractor behaviour
/// - Authenticated request: the identity.
/// - No identity (an [`optional`](crate::SpnegoAuth::optional) `SpnegoAuth` let an anonymous
///   request through, or the route is not wrapped by `SpnegoAuth`): the extractor fails with `401 Unauthorized` and
///   `WWW-Authenticate: Negotiate` (the middleware's custom unauthorized response, if one was
///   configured), so a client that can do Kerberos retries with a token. It never answers 500.
///   When no `SpnegoAuth` ran for the request at all, it also logs a warning saying so.
/// - `Option<KerberosIdentity>`: `Some` for authenticated requests, `None` otherwise, for
///   routes where authentication is optional.
///
/// ```no_run
/// use actix_gssapi::KerberosIdentity;
///
/// async fn greet(id: Option<KerberosIdentity>) -> String {
///     match id {
///         Some(id) => format!("Hello, {}", id.principal()),
///         None => "Hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct KerberosIdentity {
    principal: String,
    delegated: Option<Credentials>,
    expires_at: Option<SystemTime>,
    via_session: bool,
    mechanism: Mechanism,
    anonymous: bool,
    pac: Option<Arc<PacSource>>,
    local_name: Option<String>,
    channel_bound: bool,
    groups: Arc<[Group]>,
}

/// The PAC's bytes, and their decoding, done once, when first asked for; for a session
/// cookie, no bytes and what the cookie carried, decoded already.
#[derive(Debug)]
struct PacSource {
    bytes: Option<PacBytes>,
    decoded: OnceLock<Option<Pac>>,
}

impl KerberosIdentity {
    pub(crate) fn new(
        principal: String,
        delegated: Option<Credentials>,
        lifetime: Option<Duration>,
        anonymous: bool,
        pac: Option<PacBytes>,
        local_name: Option<String>,
    ) -> Self {
        Self {
            principal,
            delegated,
            expires_at: lifetime.and_then(|l| SystemTime::now().checked_add(l)),
            via_session: false,
            mechanism: Mechanism::Spnego,
            anonymous,
            pac: pac.map(|bytes| {
                Arc::new(PacSource {
                    bytes: Some(bytes),
                    decoded: OnceLock::new(),
                })
            }),
            local_name,
            channel_bound: false,
            groups: Arc::from(Vec::new()),
        }
    }

    /// Sets the groups a [`GroupSource`](crate::GroupSource) gave.
    pub(crate) fn with_groups(mut self, groups: Arc<[Group]>) -> Self {
        self.groups = groups;
        self
    }

    /// Sets how the client proved itself (SPNEGO unless said otherwise).
    pub(crate) fn with_mechanism(mut self, mechanism: Mechanism) -> Self {
        self.mechanism = mechanism;
        self
    }

    /// Marks a login whose token carried our TLS channel bindings.
    pub(crate) fn with_channel_bound(mut self, channel_bound: bool) -> Self {
        self.channel_bound = channel_bound;
        self
    }

    /// An identity for unit tests, with PAC logon-info bytes if given.
    #[cfg(test)]
    pub(crate) fn for_tests(principal: &str, logon_info: Option<Vec<u8>>) -> Self {
        Self::new(
            principal.to_owned(),
            None,
            None,
            false,
            logon_info.map(|logon_info| PacBytes {
                logon_info,
                upn_dns_info: None,
            }),
            None,
        )
    }

    /// The identity a session cookie carried, as the login that issued it established it.
    pub(crate) fn from_session(claims: Claims, expires_at: SystemTime) -> Self {
        Self {
            principal: claims.principal,
            delegated: None,
            expires_at: Some(expires_at),
            via_session: true,
            mechanism: claims.mechanism,
            anonymous: claims.anonymous,
            pac: claims.pac.map(|pac| {
                Arc::new(PacSource {
                    bytes: None,
                    decoded: OnceLock::from(Some(pac)),
                })
            }),
            local_name: claims.local_name.flatten(),
            channel_bound: claims.channel_bound,
            groups: claims.groups.into(),
        }
    }

    /// What a session cookie for this login carries (its end is set when it is issued);
    /// `names_mapped`: whether this `SpnegoAuth` maps local names. Decodes the PAC now.
    pub(crate) fn session_claims(&self, audience: &str, names_mapped: bool) -> Claims {
        Claims {
            end_secs: 0,
            audience: audience.to_owned(),
            principal: self.principal.clone(),
            mechanism: self.mechanism,
            anonymous: self.anonymous,
            channel_bound: self.channel_bound,
            local_name: names_mapped.then(|| self.local_name.clone()),
            pac: self.pac().cloned(),
            groups: self.groups.to_vec(),
        }
    }

    /// Forgets the local name (for a `SpnegoAuth` that does not map names, reading a cookie
    /// from one that did).
    pub(crate) fn without_local_name(mut self) -> Self {
        self.local_name = None;
        self
    }

    /// The client's Kerberos principal, as GSSAPI displays it: `alice@EXAMPLE.TEST`, or
    /// `HTTP/host@EXAMPLE.TEST` for a service. Compare it whole (realm included) when you
    /// authorize: `alice@EXAMPLE.TEST` and `alice@EVIL.TEST` are different people.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The realm part of the principal (`EXAMPLE.TEST`), if it has one.
    pub fn realm(&self) -> Option<&str> {
        self.principal.rsplit_once('@').map(|(_, realm)| realm)
    }

    /// The credential the client delegated, if it delegated one. See [`Credentials`].
    pub fn delegated_credentials(&self) -> Option<&Credentials> {
        self.delegated.as_ref()
    }

    /// A fresh `Authorization: Negotiate` value for `target`, as this user, from the
    /// [delegated credentials](Self::delegated_credentials): see
    /// [`Credentials::negotiate`], which this calls, for the exchange and its check.
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, Target};
    /// use actix_web::{error, http::header};
    ///
    /// async fn handler(id: KerberosIdentity) -> actix_web::Result<String> {
    ///     let call = id
    ///         .negotiate(&Target::http("backend.example.com"))
    ///         .await
    ///         // Each failure says what to do: "... did not delegate", "the KDC refuses ...".
    ///         .map_err(error::ErrorBadGateway)?;
    ///     let _authorization = (header::AUTHORIZATION, call.header_value().clone());
    ///     Ok("...".to_owned())
    /// }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::NoDelegatedCredentials`](crate::ErrorKind::NoDelegatedCredentials) when
    /// the request has none (the message says why: a session cookie, or a client that did not
    /// delegate); otherwise as [`Credentials::negotiate_with`].
    pub async fn negotiate(
        &self,
        target: &crate::Target,
    ) -> Result<crate::OutboundNegotiation, crate::Error> {
        match &self.delegated {
            Some(creds) => {
                let options = crate::OutboundOptions::new();
                creds
                    .negotiate_as(Some(self.principal.clone()), target, options)
                    .await
            }
            None => {
                let why = if self.via_session {
                    "a session cookie carries no credentials: let a ticket decide on this \
                     route (Require::delegated_credentials())"
                } else {
                    "the client delegated none (curl --delegation always, a browser's \
                     delegation allow list), and this server has no constrained delegation \
                     (ServicePrincipal::ConstrainedDelegation)"
                };
                Err(crate::Error::new(
                    crate::ErrorKind::NoDelegatedCredentials,
                    format!("cannot call {target} as {}: {why}", self.principal),
                ))
            }
        }
    }

    /// When the client's ticket (the GSSAPI security context) expires; for a request
    /// authenticated by its session cookie, when the session expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether this request was authenticated by a [`SessionCookie`](crate::SessionCookie)
    /// rather than by credentials of its own. Such requests have no delegated credentials;
    /// everything else (principal, [`mechanism`](Self::mechanism), groups, flags, local name)
    /// is what the login that issued the cookie established. A [`Require`](crate::Require)
    /// rule that refuses a cookie's identity answers `401 Negotiate`, so that the client's
    /// ticket decides.
    pub fn is_from_session_cookie(&self) -> bool {
        self.via_session
    }

    /// How the client proved who it is: [`Mechanism::Spnego`], [`Mechanism::Kerberos`] (a
    /// raw Kerberos 5 token) or [`Mechanism::Password`]. For a request authenticated by its
    /// session cookie, the mechanism of the login that issued the cookie.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether this request logged in with a user name and password (`Authorization: Basic`,
    /// the [`PasswordFallback`](crate::PasswordFallback)) rather than a Kerberos ticket. The
    /// password was checked with the KDC and the resulting ticket verified with the service's
    /// keytab. The client delegates nothing; with
    /// [constrained delegation](crate::ServicePrincipal::ConstrainedDelegation) the proxy
    /// credential is there as for any login.
    /// For a request authenticated by its session cookie, whether the login that issued
    /// the cookie was a password login.
    pub fn is_password_login(&self) -> bool {
        self.mechanism == Mechanism::Password
    }

    /// Whether the login was bound to this server's TLS certificate: the client's token
    /// carried the same [`ChannelBindings`](crate::ChannelBindings) as the server's, and
    /// GSSAPI checked them (`GSS_C_CHANNEL_BOUND_FLAG`). `false` without channel bindings,
    /// and for clients that sent none. For a request authenticated by its session cookie,
    /// whether the login that issued the cookie was bound.
    pub fn is_channel_bound(&self) -> bool {
        self.channel_bound
    }

    /// Whether the client used an anonymous ticket (`WELLKNOWN/ANONYMOUS`, GSSAPI's
    /// `GSS_C_ANON_FLAG`). Always `false` unless
    /// [`SpnegoAuthBuilder::allow_anonymous`](crate::SpnegoAuthBuilder::allow_anonymous) is
    /// on: anonymous tickets are refused by default.
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// The local account name krb5's `auth_to_local` rules map the client to (`alice` for
    /// `alice@EXAMPLE.COM` by default), when
    /// [`SpnegoAuthBuilder::map_local_names`](crate::SpnegoAuthBuilder::map_local_names) is on
    /// and a rule maps it; `None` otherwise. A session cookie carries the name its login was
    /// mapped to.
    pub fn local_name(&self) -> Option<&str> {
        self.local_name.as_deref()
    }

    /// The groups the [`GroupSource`](crate::GroupSource) of
    /// [`SpnegoAuthBuilder::groups`](crate::SpnegoAuthBuilder::groups) gave for this user,
    /// nested groups included, as looked up at login (or cached): empty without a group
    /// source. A [`SessionCookie`](crate::SessionCookie) carries its login's list. The PAC's
    /// groups, when the ticket has one, are in [`pac`](Self::pac).
    ///
    /// ```
    /// use actix_gssapi::KerberosIdentity;
    ///
    /// fn can_deploy(id: &KerberosIdentity) -> bool {
    ///     id.is_in_group("deployers")
    /// }
    /// # let _ = can_deploy;
    /// ```
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Whether [`groups`](Self::groups) has a group of exactly this name.
    pub fn is_in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.name() == name)
    }

    /// What the ticket's PAC says about the user (Active Directory): SIDs of the user and of
    /// every group they are in, logon name and domain, UPN.
    ///
    /// `None` when the ticket has no verified logon information (MIT Kerberos tickets), or
    /// when it does not decode (logged once as a warning; the login itself stands). A request
    /// authenticated by its [`SessionCookie`](crate::SessionCookie) has what the login's PAC
    /// said: the cookie carries it. Only PAC data whose
    /// server checksum GSSAPI verified with the service key is used. Decoded on first call,
    /// then kept: a login whose handler never asks costs only the copy of the bytes.
    ///
    /// Group *names* change and can be reused; SIDs do not. Map SIDs to your roles:
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, Sid};
    ///
    /// fn is_payroll_admin(id: &KerberosIdentity, admins: &Sid) -> bool {
    ///     id.pac().is_some_and(|pac| pac.is_member_of(admins))
    /// }
    /// ```
    pub fn pac(&self) -> Option<&Pac> {
        let source = self.pac.as_ref()?;
        source
            .decoded
            .get_or_init(|| {
                let bytes = source.bytes.as_ref()?;
                match crate::pac::decode(&bytes.logon_info, bytes.upn_dns_info.as_deref()) {
                    Ok(pac) => Some(pac),
                    Err(why) => {
                        log::warn!(
                            "the PAC of {} does not decode ({why}); its groups are unknown",
                            self.principal
                        );
                        None
                    }
                }
            })
            .as_ref()
    }
}

/// What the [`SpnegoAuth`](crate::SpnegoAuth) that let a request through decided: the one
/// private request extension, read by the extractor (whose `401` is that configuration's, and
/// which tells "anonymous by policy" from "middleware not mounted"), by a
/// [`Require`](crate::Require) inside it (its answers and events are that configuration's),
/// and by a `SpnegoAuth` nested inside it (which uses the outer decision instead of accepting
/// the token again). An identified request also carries its [`KerberosIdentity`], the public
/// extension.
#[derive(Clone)]
pub(crate) struct Handled {
    pub(crate) config: Arc<Config>,
    pub(crate) outcome: Outcome,
}

/// How a [`Handled`] request went on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// With its [`KerberosIdentity`].
    Identified,
    /// Without an identity, in optional mode: it brought no credentials (or another scheme).
    Anonymous,
    /// Without an identity, in optional mode: its credentials were refused.
    Refused,
    /// A CORS preflight passed on without an identity, whose answer that `SpnegoAuth` checks.
    Preflight,
}

impl Handled {
    /// Reports the `401` that a `Require` inside an optional `SpnegoAuth` answers a request
    /// without an identity: a challenge for missing credentials, unless the credentials were
    /// refused (that was reported) or it is a preflight.
    pub(crate) fn report_challenge(&self, req: &HttpRequest) {
        if self.outcome == Outcome::Anonymous && !req.headers().contains_key(AUTHORIZATION) {
            self.config
                .emit(req, || crate::events::AuthEvent::MissingCredentials);
        }
    }
}

impl FromRequest for KerberosIdentity {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The extensions borrow ends here, before a user's `unauthorized_with` closure runs:
        // that closure may read or write the extensions itself.
        let (identity, handled) = {
            let extensions = req.extensions();
            (
                extensions.get::<KerberosIdentity>().cloned(),
                extensions.get::<Handled>().map(|h| Arc::clone(&h.config)),
            )
        };
        if let Some(id) = identity {
            return ready(Ok(id));
        }
        let response = match handled {
            // Not reported as an event: `Option<KerberosIdentity>` runs this too, and its
            // `None` is no challenge.
            Some(config) => config.unauthorized_response(req),
            None => {
                log::warn!(
                    "KerberosIdentity extracted on {} {}, which no SpnegoAuth middleware \
                     wraps: wrap the app, scope or resource with SpnegoAuth",
                    req.method(),
                    req.path()
                );
                Config::default().unauthorized_response(req)
            }
        };
        ready(Err(InternalError::from_response(
            "no Kerberos identity for this request",
            response,
        )
        .into()))
    }
}

/// Reads the [`KerberosIdentity`] of a request outside a handler's arguments, e.g. in another
/// middleware that runs inside [`SpnegoAuth`](crate::SpnegoAuth).
///
/// ```
/// use actix_gssapi::KerberosIdentityExt as _;
/// use actix_web::test::TestRequest;
///
/// let req = TestRequest::default().to_http_request();
/// assert!(req.kerberos_identity().is_none());
/// ```
pub trait KerberosIdentityExt {
    /// The identity, if the request was authenticated.
    fn kerberos_identity(&self) -> Option<KerberosIdentity>;
}

impl<T: HttpMessage> KerberosIdentityExt for T {
    fn kerberos_identity(&self) -> Option<KerberosIdentity> {
        self.extensions().get::<KerberosIdentity>().cloned()
    }
}
