//! The `Transform`/`Service` pair: what happens to each request.

use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, SET_COOKIE, WWW_AUTHENTICATE};
use actix_web::HttpMessage;
use futures_util::future::{err, ok, ready, LocalBoxFuture, Ready};

use crate::acceptor::GssFailure;
use crate::config::{Config, Engine, SpnegoAuth};
use crate::credentials::Credentials;
use crate::identity::{KerberosIdentity, Negotiated};
use crate::negotiate::{self, Authorization, Malformed};
use std::sync::Arc;
use std::time::SystemTime;

use crate::session::Session;

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
        match self.engine() {
            Ok(engine) => ok(SpnegoAuthMiddleware {
                service: Rc::new(service),
                config: Arc::clone(&self.config),
                engine,
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
}

/// What to do with a request, from its headers alone.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Answer 401 with `WWW-Authenticate: Negotiate`.
    Challenge,
    /// Answer 403: a Negotiate header that cannot hold a valid token.
    Forbid(Malformed),
    /// Pass the request on without an identity (auth not required); `Some` = a bad header that
    /// is worth a log line.
    Anonymous(Option<Malformed>),
    /// Give the token to GSSAPI.
    Accept(Vec<u8>),
}

fn decide(required: bool, authorization: Authorization) -> Decision {
    match (authorization, required) {
        (Authorization::Missing | Authorization::OtherScheme, true) => Decision::Challenge,
        (Authorization::Missing | Authorization::OtherScheme, false) => Decision::Anonymous(None),
        (Authorization::Malformed(why), true) => Decision::Forbid(why),
        (Authorization::Malformed(why), false) => Decision::Anonymous(Some(why)),
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

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(session) = &self.config.session {
            match session.read(req.headers(), SystemTime::now()) {
                Session::Valid {
                    principal,
                    expires_at,
                } => {
                    req.extensions_mut()
                        .insert(KerberosIdentity::from_session(principal, expires_at));
                    return self.forward(req);
                }
                Session::Invalid(why) => {
                    log::info!("{}: {why}; falling back to Negotiate", describe(&req));
                }
                Session::Absent => {}
            }
        }
        let required = self.config.is_required(&req);
        let token = match decide(required, negotiate::parse_headers(req.headers())) {
            Decision::Challenge => {
                log::debug!(
                    "{}: no Negotiate credentials, answering 401",
                    describe(&req)
                );
                let res = self.config.unauthorized_response(req.request());
                return Box::pin(ready(Ok(req.into_response(res).map_into_right_body())));
            }
            Decision::Forbid(why) => {
                log::warn!("{}: refused: {why}", describe(&req));
                let res = self.config.forbidden_response(req.request());
                return Box::pin(ready(Ok(req.into_response(res).map_into_right_body())));
            }
            Decision::Anonymous(why) => {
                if let Some(why) = why {
                    log::warn!("{}: ignored invalid credentials: {why}", describe(&req));
                }
                req.extensions_mut()
                    .insert(Negotiated(Arc::clone(&self.config)));
                return self.forward(req);
            }
            Decision::Accept(token) => token,
        };

        let service = Rc::clone(&self.service);
        let config = Arc::clone(&self.config);
        let acceptor = self.engine.acceptor.clone();
        let pending = self.engine.pool.run(move || acceptor.accept(&token));
        Box::pin(async move {
            // gss_accept_sec_context blocks: it opens and reads the keytab and locks and writes
            // the replay cache file on every call (~60 µs when the disk is fast, much more when
            // it is not). Run inline, one slow disk would stall every connection of this
            // worker, so it runs on the crate's own small thread pool (src/pool.rs says why
            // not actix's); the hand-off costs a few µs. tests/blocking.rs proves an open route
            // still answers while an accept is stuck.
            let outcome = pending.await.unwrap_or_else(|| {
                Err(GssFailure::internal(
                    "the GSSAPI step did not complete (it panicked, or the pool is gone)",
                ))
            });
            match outcome {
                Ok(accepted) => {
                    log::debug!(
                        "{}: authenticated {}{}",
                        describe(&req),
                        accepted.principal,
                        if accepted.delegated.is_some() {
                            " (delegated credential)"
                        } else {
                            ""
                        }
                    );
                    let challenge = accepted.output_token.as_deref().and_then(|t| {
                        HeaderValue::try_from(negotiate::challenge_with_token(t)).ok()
                    });
                    let identity = KerberosIdentity::new(
                        accepted.principal,
                        accepted.delegated.map(Credentials::new),
                        accepted.lifetime,
                    );
                    let cookie = config.session.as_ref().and_then(|s| {
                        s.issue(
                            identity.principal(),
                            identity.expires_at(),
                            SystemTime::now(),
                        )
                    });
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
                Err(failure) if required => {
                    log::warn!("{}: Negotiate token refused: {failure}", describe(&req));
                    let res = config.forbidden_response(req.request());
                    Ok(req.into_response(res).map_into_right_body())
                }
                Err(failure) => {
                    log::warn!(
                        "{}: Negotiate token refused, continuing anonymously: {failure}",
                        describe(&req)
                    );
                    req.extensions_mut().insert(Negotiated(config));
                    Ok(service.call(req).await?.map_into_left_body())
                }
            }
        })
    }
}

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// Hands the request to the application as it is.
    fn forward(
        &self,
        req: ServiceRequest,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> {
        let fut = self.service.call(req);
        Box::pin(async move { Ok(fut.await?.map_into_left_body()) })
    }
}

/// `peer METHOD /path` for log lines. The query string is left out: it may carry secrets.
fn describe(req: &ServiceRequest) -> String {
    match req.peer_addr() {
        Some(peer) => format!("{peer} {} {}", req.method(), req.path()),
        None => format!("{} {}", req.method(), req.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        use Authorization as A;
        assert_eq!(decide(true, A::Missing), Decision::Challenge);
        assert_eq!(decide(true, A::OtherScheme), Decision::Challenge);
        assert_eq!(decide(false, A::Missing), Decision::Anonymous(None));
        assert_eq!(decide(false, A::OtherScheme), Decision::Anonymous(None));
        assert_eq!(
            decide(true, A::Malformed(Malformed::BadBase64)),
            Decision::Forbid(Malformed::BadBase64)
        );
        assert_eq!(
            decide(false, A::Malformed(Malformed::Ntlm)),
            Decision::Anonymous(Some(Malformed::Ntlm))
        );
        assert_eq!(decide(true, A::Token(vec![1])), Decision::Accept(vec![1]));
        assert_eq!(decide(false, A::Token(vec![1])), Decision::Accept(vec![1]));
    }
}
