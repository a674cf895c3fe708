//! The `Transform`/`Service` pair: what happens to each request. `call` is the path, step by
//! step; the steps with a module of their own are the session cookie (`sessions`), the
//! password fallback (`passwords`) and CORS preflights (`preflight`).

mod passwords;
mod preflight;
mod sessions;

use sessions::SessionBinding;

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
            engine.outage_to_log()
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
    .with_mechanism(mechanism)
    // An error here was answered 503 before (`conclude`).
    .with_groups(accepted.groups.and_then(Result::ok).unwrap_or_default());
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
