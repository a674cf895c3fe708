//! The password step: `Authorization: Basic` checked with the KDC and verified with the
//! service's keytab (the policy is `crate::password`'s; this is its place in a request).

use super::*;

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// What the password fallback makes of the request, when it is on and takes it.
    pub(super) fn password_step(
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

    /// What the password fallback does with a request it took ([`password::step`]): queue the
    /// password check, or answer without the KDC.
    pub(super) fn password(
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
}
