//! The CORS preflight step: a preflight goes on without an identity, and what comes back must
//! be a CORS answer (the judgement is `crate::cors`'s; this is its place in a request).

use super::*;

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// Passes a CORS preflight on without an identity, and makes sure what comes back is a
    /// CORS answer (see [`SpnegoAuthBuilder::authenticate_preflights`]).
    pub(super) fn preflight(
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
}
