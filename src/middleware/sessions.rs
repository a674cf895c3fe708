//! The session step: a cookie identifies a request without credentials when this
//! configuration would have admitted the login it carries, and a fresh login gets one.

use super::*;

/// Whether this `SpnegoAuth` may take the login a session cookie carries as its own: the same
/// policy as for a ticket, and what this configuration would have asked of the login (a local
/// name mapping, a password check) must have been asked. `Err` says why not, for the log.
pub(super) fn admit_session(
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

/// A session cookie configuration and the audience its cookies are bound to.
#[derive(Clone)]
pub(crate) struct SessionBinding {
    pub(super) cookie: SessionCookie,
    pub(super) audience: String,
}

/// Whether a cookie too big for browsers was logged (once per process: it is the user's
/// group count, not a configuration, that makes one).
static WARNED_TOO_BIG: AtomicBool = AtomicBool::new(false);

impl SessionBinding {
    /// The cookie for a fresh login, if one can be issued.
    pub(super) fn issue(
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

impl<S, B> SpnegoAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// Goes on with the identity a session cookie carried.
    pub(super) fn by_session(
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

    /// The identity from a valid session cookie, if sessions are on, the request has one, and
    /// this configuration would have admitted the login it carries.
    pub(super) fn session_identity(&self, req: &ServiceRequest) -> Option<KerberosIdentity> {
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
