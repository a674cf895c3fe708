//! The `Transform`/`Service` pair: what happens to each request.

use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderValue, AUTHORIZATION, SET_COOKIE, WWW_AUTHENTICATE};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::{err, ok, ready, LocalBoxFuture, Ready};

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::acceptor::Accepted;
use crate::conclude::{admit, conclude, Answer, Facts, Login, Refused};
use crate::config::{Config, LocalNames, SpnegoAuth};
use crate::cors::{self, PreflightAnswer};
use crate::credentials::Credentials;
use crate::engine::Engine;
use crate::events::{AuthEvent, Mechanism};
use crate::failure::GssFailure;
use crate::identity::{Handled, KerberosIdentity, Outcome};
use crate::negotiate::{self, Authorization, Malformed};
use crate::password::{self, PasswordFailure, PasswordRefusal, Step};
use crate::pool::Full;
use crate::replay::check::Before;
use crate::service_name::VerifyTarget;
use crate::session::{NotIssued, Session, SessionCookie, MAX_COOKIE_BYTES};

impl<S, B> Transform<S, ServiceRequest> for SpnegoAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SpnegoAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let started = self.engine().and_then(|engine| {
            let target = self
                .config
                .password
                .as_ref()
                .map(|p| p.check(engine.service()));
            Ok((engine, target.transpose()?))
        });
        match started {
            Ok((engine, password_target)) => ok(SpnegoAuthMiddleware {
                service: Rc::new(service),
                session: self.config.session.as_ref().map(|cookie| SessionBinding {
                    audience: cookie.audience(engine.service()),
                    cookie: cookie.clone(),
                }),
                config: Arc::clone(&self.config),
                engine,
                password_target,
            }),
            Err(e) => {
                // actix-server logs "Can not start worker" after this and the server does not
                // start: better than a 500 on every request.
                log::error!("SpnegoAuth cannot start: {e}");
                err(())
            }
        }
    }
}

/// The per-worker service built by [`SpnegoAuth`]; not used directly.
#[doc(hidden)]
pub struct SpnegoAuthMiddleware<S> {
    service: Rc<S>,
    config: Arc<Config>,
    engine: Engine,
    session: Option<SessionBinding>,
    /// The service password logins get a ticket for, with the fallback on.
    password_target: Option<VerifyTarget>,
}

/// What to do with a request, before any GSSAPI work.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// An outer `SpnegoAuth` (or a session cookie) already identified the client.
    Pass,
    /// Answer 401 with `WWW-Authenticate: Negotiate`.
    Challenge,
    /// Answer 403: a Negotiate header that cannot hold a valid token, or a token an outer
    /// `SpnegoAuth` already refused.
    Forbid(Refusal),
    /// Pass the request on without an identity (optional mode); `Some` = a refusal that is
    /// worth a log line.
    Anonymous(Option<Refusal>),
    /// Give the token to GSSAPI.
    Accept(Vec<u8>),
}

/// Why a request's credentials were refused before GSSAPI ran.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Malformed(Malformed),
    /// An outer `SpnegoAuth` refused this request's token (and logged why).
    Earlier,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "{why}"),
            Self::Earlier => f.write_str("an enclosing SpnegoAuth refused the token"),
        }
    }
}

/// What an enclosing `SpnegoAuth` decided for this request, if one ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Earlier {
    /// None ran.
    Nothing,
    /// It identified the client.
    Identified,
    /// It let the request through anonymously; `true` when it refused a token.
    Anonymous { refused: bool },
}

fn decide(optional: bool, earlier: Earlier, authorization: Authorization) -> Decision {
    match (earlier, optional) {
        (Earlier::Identified, _) => return Decision::Pass,
        (Earlier::Anonymous { .. }, true) => return Decision::Anonymous(None),
        (Earlier::Anonymous { refused: true }, false) => return Decision::Forbid(Refusal::Earlier),
        // No credentials were seen: the header decides, as if no SpnegoAuth had run.
        (Earlier::Anonymous { refused: false } | Earlier::Nothing, _) => {}
    }
    match (authorization, optional) {
        (Authorization::Missing | Authorization::OtherScheme, false) => Decision::Challenge,
        (Authorization::Missing | Authorization::OtherScheme, true) => Decision::Anonymous(None),
        (Authorization::Malformed(why), false) => Decision::Forbid(Refusal::Malformed(why)),
        (Authorization::Malformed(why), true) => Decision::Anonymous(Some(Refusal::Malformed(why))),
        (Authorization::Token(token), _) => Decision::Accept(token),
    }
}

/// Whether this `SpnegoAuth` may take the login a session cookie carries as its own: the same
/// policy as for a ticket, and what this configuration would have asked of the login (a local
/// name mapping, a password check) must have been asked. `Err` says why not, for the log.
fn admit_session(
    config: &Config,
    claims: &crate::claims::Claims,
    bound: bool,
) -> Result<(), String> {
    admit(config, Facts::from(claims), bound).map_err(|(_, why)| why)?;
    if config.local_names != LocalNames::Off && claims.local_name.is_none() {
        return Err(format!(
            "{} logged in where local names were not mapped, and this SpnegoAuth maps them",
            claims.principal
        ));
    }
    if claims.mechanism == Mechanism::Password && config.password.is_none() {
        return Err(format!(
            "{} logged in with a password, and this SpnegoAuth takes no passwords",
            claims.principal
        ));
    }
    Ok(())
}

impl<S, B> Service<ServiceRequest> for SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    /// The request's path through the middleware, step by step; each step is a method below
    /// or a pure function of its own module.
    fn call(&self, req: ServiceRequest) -> Self::Future {
        let earlier = earlier_outcome(&req);
        if !self.config.authenticate_preflights
            && earlier != Earlier::Identified
            && cors::is_preflight(req.request())
        {
            return self.preflight(req, earlier);
        }
        // Like mod_auth_gssapi, a session counts only for a request without credentials: a
        // ticket or a password beside a cookie is checked, and decides (a success replaces the
        // cookie, a failure is answered as without one).
        if earlier == Earlier::Nothing && !req.headers().contains_key(AUTHORIZATION) {
            if let Some(identity) = self.session_identity(&req) {
                return self.by_session(req, identity);
            }
        }
        let authorization = negotiate::parse_headers(req.headers());
        if let Some(step) = self.password_step(&req, earlier, &authorization) {
            return self.password(req, step, earlier);
        }
        self.report_before_gssapi(&req, earlier, &authorization);
        match decide(self.config.optional, earlier, authorization) {
            Decision::Accept(token) => self.accept(req, token),
            decision => self.answer_before_gssapi(req, earlier, decision),
        }
    }
}

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// Goes on with the identity a session cookie carried.
    fn by_session(
        &self,
        req: ServiceRequest,
        identity: KerberosIdentity,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        self.config
            .emit(req.request(), || AuthEvent::Authenticated {
                principal: identity.principal().to_owned(),
                mechanism: Mechanism::SessionCookie,
                delegated: false,
                channel_bound: identity.is_channel_bound(),
            });
        let mut ext = req.extensions_mut();
        ext.insert(identity);
        ext.insert(Handled {
            config: Arc::clone(&self.config),
            outcome: Outcome::Identified,
        });
        drop(ext);
        self.forward(req)
    }

    /// What the password fallback makes of the request, when it is on and takes it.
    fn password_step(
        &self,
        req: &ServiceRequest,
        earlier: Earlier,
        authorization: &Authorization,
    ) -> Option<Step> {
        let fallback = self.config.password.as_ref()?;
        if earlier == Earlier::Identified {
            return None;
        }
        let step = password::step(
            fallback,
            req.app_config().secure(),
            self.config.optional,
            earlier == Earlier::Anonymous { refused: true },
            authorization,
            req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes),
        );
        (!matches!(step, Step::NotMine)).then_some(step)
    }

    /// Reports what is known before GSSAPI runs (tokens are reported after it); a nested
    /// `SpnegoAuth` repeats none of it.
    fn report_before_gssapi(
        &self,
        req: &ServiceRequest,
        earlier: Earlier,
        authorization: &Authorization,
    ) {
        let early = match authorization {
            Authorization::Missing if self.config.optional => {
                Some(AuthEvent::PassedWithoutCredentials)
            }
            Authorization::Missing => Some(AuthEvent::MissingCredentials),
            Authorization::OtherScheme => Some(AuthEvent::OtherScheme),
            Authorization::Malformed(Malformed::Ntlm) => Some(AuthEvent::NtlmOffered),
            Authorization::Malformed(why) => Some(AuthEvent::Malformed(*why)),
            Authorization::Token(_) => None,
        };
        match (earlier, early) {
            (Earlier::Nothing, Some(event)) => self.config.emit(req.request(), || event),
            // An enclosing optional SpnegoAuth reported a visit without credentials; this one
            // asks for them.
            (Earlier::Anonymous { refused: false }, Some(AuthEvent::MissingCredentials)) => {
                self.config
                    .emit(req.request(), || AuthEvent::MissingCredentials);
            }
            _ => {}
        }
    }

    /// Carries out a [`decide`]d answer that needs no GSSAPI (never [`Decision::Accept`]).
    fn answer_before_gssapi(
        &self,
        req: ServiceRequest,
        earlier: Earlier,
        decision: Decision,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        let res = match decision {
            Decision::Pass => return self.forward(req),
            Decision::Anonymous(why) => {
                if let Some(why) = &why {
                    log::warn!("{}: ignored invalid credentials: {why}", describe(&req));
                }
                let refused = why.is_some() || earlier == Earlier::Anonymous { refused: true };
                mark_anonymous(&req, &self.config, refused);
                return self.forward(req);
            }
            Decision::Challenge => {
                log::debug!(
                    "{}: no Negotiate credentials, answering 401",
                    describe(&req)
                );
                self.config.unauthorized_response(req.request())
            }
            Decision::Forbid(why) => {
                log::warn!("{}: refused: {why}", describe(&req));
                self.config.forbidden_response(req.request())
            }
            // `call` hands tokens to `accept`; refuse rather than let one through unchecked.
            Decision::Accept(_) => self.config.forbidden_response(req.request()),
        };
        answer(req, res)
    }

    /// The token's way through GSSAPI, in its steps: the replay store's look (a known
    /// authenticator is a replay, answered without a GSSAPI thread), the accept on the
    /// engine's threads, the replay store's insert, then [`after_login`] concludes.
    ///
    /// gss_accept_sec_context blocks: it reads the keytab's stamp and, with MIT's replay
    /// cache, writes that file on every call (~60 µs when the disk is fast, much more when it
    /// is not). Run inline, one slow disk would stall every connection of this worker, so it
    /// runs on the engine's threads; the hand-off costs a few µs. tests/blocking.rs proves an
    /// open route still answers while an accept is stuck.
    fn accept(
        &self,
        req: ServiceRequest,
        token: Vec<u8>,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        let want_local_name = self.config.local_names != LocalNames::Off;
        let mechanism = if negotiate::is_spnego(&token) {
            Mechanism::Spnego
        } else {
            Mechanism::Kerberos
        };
        let bindings = self
            .config
            .channel_bindings
            .as_ref()
            .and_then(|cb| cb.for_request(req.app_config().secure()));
        let bound = bindings.is_some();
        let login = (Login::Token(mechanism), bound);
        let check = self.engine.replay_check();
        let tag = match check.as_ref().map(|c| c.before_accept(&token)) {
            Some(Before::Replay) => {
                let replayed = ready(Err(Refused::Token(GssFailure::replayed())));
                return Box::pin(after_login(self.parts(), req, login, replayed));
            }
            Some(Before::Accept(tag)) => Some(tag),
            None => None,
        };
        let peer = req.peer_addr().map(|a| a.ip());
        let pending = match self.engine.accept(peer, token, want_local_name, bindings) {
            Ok(pending) => pending,
            Err(full) => return self.overloaded(req, full),
        };
        let outcome = async move {
            let (accepted, ttl) = pending.await.unwrap_or_else(|| {
                Err(GssFailure::internal(
                    "the GSSAPI step did not complete (it panicked, or the engine is gone)",
                ))
            })?;
            if let (Some(check), Some(tag)) = (check, tag) {
                check.after_accept(tag, ttl).await?;
            }
            Ok(accepted)
        };
        Box::pin(after_login(self.parts(), req, login, async move {
            outcome.await.map_err(Refused::Token)
        }))
    }
}

/// Answers `req` with `res` without calling the application.
fn answer<B>(
    req: ServiceRequest,
    res: HttpResponse,
) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>
where
    B: MessageBody + 'static,
{
    Box::pin(ready(Ok(req.into_response(res).map_into_right_body())))
}

/// Waits for the engine, then carries out the [`conclude`]d policy: run the application with
/// the identity, or answer `401`/`403`/`503`, or go on anonymously in optional mode.
async fn after_login<S, B>(
    (service, config, session, engine): (Rc<S>, Arc<Config>, Option<SessionBinding>, Engine),
    req: ServiceRequest,
    (login, bound): (Login, bool),
    outcome: impl Future<Output = Result<Accepted, Refused>>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    let outcome = outcome.await;
    let conclusion = conclude(&config, &login, outcome.as_ref(), bound);
    if let Some(line) = conclusion.log {
        let unlogged = if line.rate_limited {
            engine.store_error_to_log()
        } else {
            Some(0)
        };
        if let Some(unlogged) = unlogged {
            log::log!(
                line.level,
                "{}: {}{}",
                describe(&req),
                line.text,
                unlogged_since(unlogged)
            );
        }
    }
    let event = conclusion.event;
    config.emit(req.request(), || event);
    let res = match conclusion.answer {
        Answer::Identify => {
            let Ok(accepted) = outcome else {
                // `conclude` identifies accepted logins only.
                let res = config.forbidden_response(req.request());
                return Ok(req.into_response(res).map_into_right_body());
            };
            req.extensions_mut().insert(Handled {
                config: Arc::clone(&config),
                outcome: Outcome::Identified,
            });
            return identified(
                service,
                &config,
                req,
                (accepted, login.mechanism()),
                session.as_ref(),
            )
            .await;
        }
        Answer::Anonymous => {
            mark_anonymous(&req, &config, true);
            return Ok(service.call(req).await?.map_into_left_body());
        }
        Answer::Forbid => config.forbidden_response(req.request()),
        Answer::Challenge => config.unauthorized_response(req.request()),
        Answer::Unavailable => config.overloaded_response(req.request()),
    };
    Ok(req.into_response(res).map_into_right_body())
}

/// Runs the application for an accepted token, and adds the mutual authentication token and
/// the session cookie to its response.
async fn identified<S, B>(
    service: Rc<S>,
    config: &Config,
    req: ServiceRequest,
    (accepted, mechanism): (Accepted, Mechanism),
    session: Option<&SessionBinding>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    log::debug!(
        "{}: authenticated {}{}",
        describe(&req),
        accepted.principal,
        if accepted.by_password {
            " (password)"
        } else if accepted.delegated.is_some() {
            " (delegated credential)"
        } else {
            ""
        }
    );
    let challenge = accepted
        .output_token
        .as_deref()
        .and_then(|t| HeaderValue::try_from(negotiate::challenge_with_token(t)).ok());
    let identity = KerberosIdentity::new(
        accepted.principal,
        accepted.delegated.map(Credentials::new),
        accepted.lifetime,
        accepted.anonymous,
        accepted.pac,
        accepted.local_name,
    )
    .with_channel_bound(accepted.channel_bound)
    .with_mechanism(mechanism);
    let cookie = session.and_then(|s| s.issue(config, &req, &identity));
    req.extensions_mut().insert(identity);
    let mut res = service.call(req).await?;
    if let Some(challenge) = challenge {
        // Mutual authentication (RFC 4559 §5): the client checks the server.
        res.headers_mut().append(WWW_AUTHENTICATE, challenge);
    }
    if let Some(cookie) = cookie {
        if let Ok(value) = HeaderValue::try_from(cookie.to_string()) {
            res.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(res.map_into_left_body())
}

/// A session cookie configuration and the audience its cookies are bound to.
#[derive(Clone)]
pub(crate) struct SessionBinding {
    cookie: SessionCookie,
    audience: String,
}

/// Whether a cookie too big for browsers was logged (once per process: it is the user's
/// group count, not a configuration, that makes one).
static WARNED_TOO_BIG: AtomicBool = AtomicBool::new(false);

impl SessionBinding {
    /// The cookie for a fresh login, if one can be issued.
    fn issue(
        &self,
        config: &Config,
        req: &ServiceRequest,
        identity: &KerberosIdentity,
    ) -> Option<actix_web::cookie::Cookie<'static>> {
        let claims = identity.session_claims(&self.audience, config.local_names != LocalNames::Off);
        match self
            .cookie
            .issue(&claims, identity.expires_at(), SystemTime::now())
        {
            Ok(cookie) => {
                if self.cookie.is_secure()
                    && req.connection_info().scheme() == "http"
                    && self.cookie.first_plain_http_answer()
                {
                    log::warn!(
                        "{}: session cookie {} is Secure, but this request came over plain \
                         HTTP: browsers drop a Secure cookie set over HTTP (curl keeps it for \
                         localhost), so every request will negotiate again. Serve HTTPS (or \
                         set X-Forwarded-Proto behind a TLS proxy); on an HTTP-only intranet \
                         host, SessionCookie::secure(false) sends the cookie in clear text \
                         (logged once)",
                        describe(req),
                        self.cookie.cookie_name()
                    );
                }
                Some(cookie)
            }
            Err(NotIssued::TooShort) => None,
            Err(NotIssued::TooBig(len)) => {
                let once = !WARNED_TOO_BIG.swap(true, Ordering::Relaxed);
                let line = format!(
                    "{}: no session cookie for {}: it would be {len} bytes, more than browsers \
                     keep ({MAX_COOKIE_BYTES}; the PAC has {} groups): the client goes on \
                     sending tickets",
                    describe(req),
                    identity.principal(),
                    identity.pac().map_or(0, |p| p.group_sids().len())
                );
                if once {
                    log::warn!("{line} (logged once; later ones at debug level)");
                } else {
                    log::debug!("{line}");
                }
                None
            }
        }
    }
}

/// What an enclosing `SpnegoAuth` left in the request's extensions.
fn earlier_outcome(req: &ServiceRequest) -> Earlier {
    let extensions = req.extensions();
    if extensions.contains::<KerberosIdentity>() {
        Earlier::Identified
    } else if let Some(h) = extensions.get::<Handled>() {
        Earlier::Anonymous {
            refused: h.outcome == Outcome::Refused,
        }
    } else {
        Earlier::Nothing
    }
}

/// Records that the request goes on anonymously, for the extractor (which answers with this
/// configuration's 401) and for `SpnegoAuth`s nested inside this one.
fn mark_anonymous(req: &ServiceRequest, config: &Arc<Config>, refused: bool) {
    req.extensions_mut().insert(Handled {
        config: Arc::clone(config),
        outcome: if refused {
            Outcome::Refused
        } else {
            Outcome::Anonymous
        },
    });
}

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// What [`after_login`] needs of this middleware.
    fn parts(&self) -> (Rc<S>, Arc<Config>, Option<SessionBinding>, Engine) {
        (
            Rc::clone(&self.service),
            Arc::clone(&self.config),
            self.session.clone(),
            self.engine.clone(),
        )
    }

    /// Hands the request to the application as it is.
    fn forward(
        &self,
        req: ServiceRequest,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        let fut = self.service.call(req);
        Box::pin(async move { Ok(fut.await?.map_into_left_body()) })
    }

    /// Passes a CORS preflight on without an identity, and makes sure what comes back is a
    /// CORS answer (see [`SpnegoAuthBuilder::authenticate_preflights`]).
    fn preflight(
        &self,
        req: ServiceRequest,
        earlier: Earlier,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        log::debug!(
            "{}: CORS preflight, passed on unauthenticated",
            describe(&req)
        );
        let passed_by_outer = req
            .extensions()
            .get::<Handled>()
            .is_some_and(|h| h.outcome == Outcome::Preflight);
        if passed_by_outer {
            // An enclosing SpnegoAuth passed it on as a preflight, and checks (and logs) what
            // comes back.
            return self.forward(req);
        }
        if earlier == Earlier::Nothing {
            self.config.emit(req.request(), || AuthEvent::CorsPreflight);
        }
        req.extensions_mut().insert(Handled {
            config: Arc::clone(&self.config),
            outcome: Outcome::Preflight,
        });
        let config = Arc::clone(&self.config);
        let fut = self.service.call(req);
        Box::pin(async move {
            let res = fut.await?;
            let (req, res) = res.into_parts();
            match cors::judge_answer(&res) {
                PreflightAnswer::Answer => {
                    // Browsers read only the status and headers of a preflight's answer: the
                    // body goes, so no content leaves unauthenticated, whoever wrote it.
                    let mut res = res.set_body(());
                    res.headers_mut().remove(header::CONTENT_LENGTH);
                    return Ok(
                        ServiceResponse::new(req, res.map_into_boxed_body()).map_into_right_body()
                    );
                }
                PreflightAnswer::NotAnAnswer => log::warn!(
                    "{}: the application's answer to a CORS preflight is not one (a 2xx with \
                     Access-Control-Allow-Origin and -Methods or -Headers); answering 401 \
                     instead (wrap actix-cors inside SpnegoAuth to answer preflights, or call \
                     SpnegoAuthBuilder::authenticate_preflights)",
                    describe_request(&req)
                ),
                // actix-cors answers 400 to an origin it does not allow: the browser fails
                // the preflight either way.
                PreflightAnswer::Refused(status) => log::info!(
                    "{}: the application refused the CORS preflight ({status}); answering 401",
                    describe_request(&req)
                ),
            }
            let res = config.unauthorized_response(&req);
            Ok(ServiceResponse::new(req, res).map_into_right_body())
        })
    }

    /// What the password fallback does with a request it took ([`password::step`]): queue the
    /// password check, or answer without the KDC.
    fn password(
        &self,
        req: ServiceRequest,
        step: Step,
        earlier: Earlier,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        let config = &self.config;
        let refused = |req: ServiceRequest, reason: PasswordRefusal| {
            config.emit(req.request(), || AuthEvent::PasswordRefused { reason });
            if config.optional {
                mark_anonymous(&req, config, true);
                return self.forward(req);
            }
            let res = config.unauthorized_response(req.request());
            answer(req, res)
        };
        match step {
            Step::Verify(credentials) => {
                let (Some(fallback), Some(target)) = (&config.password, &self.password_target)
                else {
                    // Both are set together in `new_transform`.
                    return refused(req, PasswordRefusal::Other);
                };
                let user = fallback.principal(credentials.user());
                let want_local_name = config.local_names != LocalNames::Off;
                match self.engine.verify_password(
                    req.peer_addr().map(|a| a.ip()),
                    user.clone(),
                    credentials,
                    target.clone(),
                    want_local_name,
                ) {
                    Ok(pending) => Box::pin(after_login(
                        self.parts(),
                        req,
                        (Login::Password { user }, false),
                        async move {
                            let failure = match pending.await {
                                Some(Ok(accepted)) => return Ok(accepted),
                                Some(Err(failure)) => failure,
                                None => PasswordFailure::Credentials(GssFailure::internal(
                                    "the password check did not complete (it panicked, or \
                                     the engine is gone)",
                                )),
                            };
                            Err(Refused::Password {
                                reason: password::classify(&failure),
                                message: password::message(&failure).to_owned(),
                            })
                        },
                    )),
                    Err(full) => self.overloaded(req, full),
                }
            }
            Step::Refuse(why) => {
                log::warn!("{}: password login refused: {why}", describe(&req));
                refused(req, PasswordRefusal::Malformed)
            }
            Step::Insecure => {
                log::warn!(
                    "{}: a password (Authorization: Basic) on a plain HTTP connection, refused \
                     without reading it: passwords are taken over TLS only (serve HTTPS; behind \
                     a proxy that terminates TLS, PasswordFallback::allow_insecure_http)",
                    describe(&req)
                );
                refused(req, PasswordRefusal::InsecureTransport)
            }
            Step::OfferAfterNtlm => {
                if earlier == Earlier::Nothing {
                    config.emit(req.request(), || AuthEvent::NtlmOffered);
                }
                log::warn!(
                    "{}: NTLM token under Negotiate: the client got no Kerberos ticket for {}. \
                     Likely causes: it has no ticket for the realm (not logged in to it), the \
                     host name in its URL is not the service principal's (a wrong SPN, or a \
                     DNS alias), or the site is not trusted for Negotiate (Firefox \
                     network.negotiate-auth.trusted-uris, Chrome AuthServerAllowlist). \
                     Answering 401 with a password challenge (Basic) too: the user can give a \
                     password",
                    describe(&req),
                    self.password_target
                        .as_ref()
                        .map_or_else(|| "this service".to_owned(), ToString::to_string)
                );
                let res = config.unauthorized_response(req.request());
                answer(req, res)
            }
            Step::AskAgain => {
                log::debug!(
                    "{}: an enclosing SpnegoAuth refused the password, answering 401",
                    describe(&req)
                );
                let res = config.unauthorized_response(req.request());
                answer(req, res)
            }
            // Never handed here (`call` goes on with Negotiate); refuse rather than let through.
            Step::NotMine => {
                let res = config.unauthorized_response(req.request());
                answer(req, res)
            }
        }
    }

    /// The 503 answer to a login the queue cannot take, with a warning at most once a second.
    fn overloaded(
        &self,
        req: ServiceRequest,
        full: Full,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        if let Some(unlogged) = self.engine.overload_to_log() {
            log::warn!(
                "{}: login refused with 503: {}{}",
                describe(&req),
                match full {
                    Full::Queue => "the login queue is full",
                    Full::Key => "this client has too many logins waiting",
                },
                unlogged_since(unlogged)
            );
        }
        self.config.emit(req.request(), || AuthEvent::Overloaded);
        let res = self.config.overloaded_response(req.request());
        answer(req, res)
    }

    /// The identity from a valid session cookie, if sessions are on, the request has one, and
    /// this configuration would have admitted the login it carries.
    fn session_identity(&self, req: &ServiceRequest) -> Option<KerberosIdentity> {
        let binding = self.session.as_ref()?;
        match binding
            .cookie
            .read(&binding.audience, req.headers(), SystemTime::now())
        {
            Session::Valid { claims, expires_at } => {
                let bound = self
                    .config
                    .channel_bindings
                    .as_ref()
                    .and_then(|cb| cb.for_request(req.app_config().secure()))
                    .is_some();
                if let Err(why) = admit_session(&self.config, &claims, bound) {
                    log::info!(
                        "{}: session cookie not used: {why}; falling back to Negotiate",
                        describe(req)
                    );
                    return None;
                }
                let identity = KerberosIdentity::from_session(*claims, expires_at);
                Some(if self.config.local_names == LocalNames::Off {
                    identity.without_local_name()
                } else {
                    identity
                })
            }
            Session::Invalid(why) => {
                log::info!("{}: {why}; falling back to Negotiate", describe(req));
                None
            }
            Session::Absent => None,
        }
    }
}

/// The end of a rate-limited log line: how many like it went unlogged since the last one.
fn unlogged_since(unlogged: u64) -> String {
    if unlogged > 0 {
        format!(" ({unlogged} more since the last such line)")
    } else {
        String::new()
    }
}

/// `peer METHOD /path` for log lines. The query string is left out: it may carry secrets.
fn describe(req: &ServiceRequest) -> String {
    describe_request(req.request())
}

fn describe_request(req: &HttpRequest) -> String {
    match req.peer_addr() {
        Some(peer) => format!("{peer} {} {}", req.method(), req.path()),
        None => format!("{} {}", req.method(), req.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_without_an_enclosing_spnego_auth() {
        use Authorization as A;
        let none = Earlier::Nothing;
        let malformed = |m| Refusal::Malformed(m);
        assert_eq!(decide(false, none, A::Missing), Decision::Challenge);
        assert_eq!(decide(false, none, A::OtherScheme), Decision::Challenge);
        assert_eq!(decide(true, none, A::Missing), Decision::Anonymous(None));
        assert_eq!(
            decide(true, none, A::OtherScheme),
            Decision::Anonymous(None)
        );
        assert_eq!(
            decide(false, none, A::Malformed(Malformed::BadBase64)),
            Decision::Forbid(malformed(Malformed::BadBase64))
        );
        assert_eq!(
            decide(true, none, A::Malformed(Malformed::Ntlm)),
            Decision::Anonymous(Some(malformed(Malformed::Ntlm)))
        );
        assert_eq!(
            decide(false, none, A::Token(vec![1])),
            Decision::Accept(vec![1])
        );
        assert_eq!(
            decide(true, none, A::Token(vec![1])),
            Decision::Accept(vec![1])
        );
    }

    #[test]
    fn nested_spnego_auth_never_accepts_a_token_twice() {
        use Authorization as A;
        let headers = [
            A::Missing,
            A::OtherScheme,
            A::Malformed(Malformed::Ntlm),
            A::Token(vec![1]),
        ];
        for optional in [false, true] {
            for header in headers.clone() {
                assert_eq!(
                    decide(optional, Earlier::Identified, header),
                    Decision::Pass
                );
            }
            for header in headers.clone() {
                let refused = Earlier::Anonymous { refused: true };
                let expected = if optional {
                    Decision::Anonymous(None)
                } else {
                    Decision::Forbid(Refusal::Earlier)
                };
                assert_eq!(decide(optional, refused, header), expected);
            }
        }
        // An outer optional SpnegoAuth saw no credentials: this one decides as if alone.
        let seen_nothing = Earlier::Anonymous { refused: false };
        assert_eq!(decide(false, seen_nothing, A::Missing), Decision::Challenge);
        assert_eq!(
            decide(true, seen_nothing, A::Missing),
            Decision::Anonymous(None)
        );
    }
}
