//! `ForwardAuth`: the endpoint a reverse proxy asks whether a request may pass (nginx
//! `auth_request`, Caddy `forward_auth`, Traefik `forwardAuth`), answering with who the user
//! is in headers the proxy hands on to the application behind it.

use std::fmt;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::config::SpnegoAuth;
use crate::identity::KerberosIdentity;

/// The forward-auth endpoint: Kerberos in front of an application that knows nothing of it
/// (Grafana, Jupyter, a wiki), behind a proxy that asks this endpoint about each request.
///
/// Mount it with [`service`](Self::service), protected by a built [`SpnegoAuth`]; the proxy
/// sends it each request's headers (the `Authorization` or session cookie among them) and
/// acts on the answer:
///
/// | the request | the answer |
/// | --- | --- |
/// | a valid ticket (or session cookie) | `200`, empty, with the user in [`X-Remote-User`](Self::user_header) (`alice@EXAMPLE.COM`), the realm in `X-Remote-Realm`, the local name (when mapped) in `X-Remote-Local-User`, the verified PAC's group SIDs (comma-separated) in `X-Remote-Groups`; and `WWW-Authenticate: Negotiate <token>` (mutual authentication) and the session cookie's `Set-Cookie`, for the proxy to copy to the client |
/// | no credentials | `401` with `WWW-Authenticate: Negotiate`, which the proxy returns to the client |
/// | a refused token | `403` |
///
/// Every method is answered (proxies forward the original one). The identity headers are for
/// the proxy only: it must set them on the request to the application itself, replacing any
/// the client sent, and the application must be reachable through the proxy only. The
/// [forward-auth guide](crate::guide::forward_auth) has nginx and Caddy configurations that the
/// tests run as written.
///
/// ```no_run
/// use actix_gssapi::{Capacity, ForwardAuth, ServicePrincipal, SpnegoAuth};
/// use actix_web::{App, HttpServer};
///
/// # #[actix_web::main]
/// # async fn main() -> std::io::Result<()> {
/// let auth = SpnegoAuth::builder()
///     .principal(ServicePrincipal::host("www.example.com"))
///     // Every login comes from the proxy's address: one queue, no per-client turns.
///     .capacity(Capacity::new().login_queue_per_peer(None))
///     .build()
///     .map_err(std::io::Error::other)?;
/// HttpServer::new(move || App::new().service(ForwardAuth::new().service("/auth", auth.clone())))
///     .bind("127.0.0.1:8081")?
///     .run()
///     .await
/// # }
/// ```
#[must_use]
#[derive(Clone)]
pub struct ForwardAuth {
    user: HeaderName,
    realm: HeaderName,
    local_name: HeaderName,
    groups: HeaderName,
}

impl Default for ForwardAuth {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ForwardAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardAuth")
            .field("user_header", &self.user)
            .field("realm_header", &self.realm)
            .field("local_name_header", &self.local_name)
            .field("groups_header", &self.groups)
            .finish()
    }
}

impl ForwardAuth {
    /// The endpoint with the default header names: `X-Remote-User`, `X-Remote-Realm`,
    /// `X-Remote-Local-User`, `X-Remote-Groups`.
    pub fn new() -> Self {
        Self {
            user: HeaderName::from_static("x-remote-user"),
            realm: HeaderName::from_static("x-remote-realm"),
            local_name: HeaderName::from_static("x-remote-local-user"),
            groups: HeaderName::from_static("x-remote-groups"),
        }
    }

    /// The header that carries the principal. Defaults to `X-Remote-User`.
    pub fn user_header(mut self, name: HeaderName) -> Self {
        self.user = name;
        self
    }

    /// The header that carries the principal's realm. Defaults to `X-Remote-Realm`.
    pub fn realm_header(mut self, name: HeaderName) -> Self {
        self.realm = name;
        self
    }

    /// The header that carries the local account name, sent only when
    /// [`map_local_names`](crate::SpnegoAuthBuilder::map_local_names) mapped one. Defaults to
    /// `X-Remote-Local-User`.
    pub fn local_name_header(mut self, name: HeaderName) -> Self {
        self.local_name = name;
        self
    }

    /// The header that carries the group SIDs of a PAC GSSAPI verified (Active Directory),
    /// comma-separated; absent without one. Defaults to `X-Remote-Groups`. A user in hundreds
    /// of groups makes it long: give the proxy room for it (nginx: `proxy_buffer_size`).
    pub fn groups_header(mut self, name: HeaderName) -> Self {
        self.groups = name;
        self
    }

    /// The endpoint at `path`, for every method, behind `auth`.
    pub fn service(self, path: &str, auth: SpnegoAuth) -> impl HttpServiceFactory {
        web::resource(path).wrap(auth).route(web::route().to(
            move |req: HttpRequest, id: KerberosIdentity| {
                let answer = self.answer(&req, &id);
                async move { answer }
            },
        ))
    }

    /// `200` with the identity headers, or `403` when one cannot be a header value (a
    /// principal with a control character): a proxy must never pass a request on with an
    /// identity other than the one GSSAPI established.
    fn answer(&self, req: &HttpRequest, id: &KerberosIdentity) -> HttpResponse {
        let mut headers = vec![(self.user.clone(), id.principal().to_owned())];
        if let Some(realm) = id.realm() {
            headers.push((self.realm.clone(), realm.to_owned()));
        }
        if let Some(local) = id.local_name() {
            headers.push((self.local_name.clone(), local.to_owned()));
        }
        if let Some(pac) = id.pac() {
            let sids: Vec<String> = pac.group_sids().iter().map(ToString::to_string).collect();
            headers.push((self.groups.clone(), sids.join(",")));
        }
        let mut res = HttpResponse::Ok().finish();
        for (name, value) in headers {
            match HeaderValue::from_bytes(value.as_bytes()) {
                Ok(value) => {
                    res.headers_mut().insert(name, value);
                }
                Err(_) => {
                    log::warn!(
                        "{} {}: {name} for {:?} is no header value: answering 403",
                        req.method(),
                        req.path(),
                        id.principal()
                    );
                    return HttpResponse::Forbidden().finish();
                }
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_identity_goes_into_the_configured_headers() {
        let req = TestRequest::default().to_http_request();
        let id = KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None);
        let res = ForwardAuth::new().answer(&req, &id);
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get("x-remote-user").unwrap(),
            "alice@EXAMPLE.TEST"
        );
        assert_eq!(res.headers().get("x-remote-realm").unwrap(), "EXAMPLE.TEST");
        assert!(res.headers().get("x-remote-local-user").is_none());
        assert!(
            res.headers().get("x-remote-groups").is_none(),
            "no PAC, no groups"
        );

        let custom = ForwardAuth::new().user_header(HeaderName::from_static("remote-user"));
        let res = custom.answer(&req, &id);
        assert_eq!(
            res.headers().get("remote-user").unwrap(),
            "alice@EXAMPLE.TEST"
        );
        assert!(res.headers().get("x-remote-user").is_none());
    }

    #[test]
    fn a_principal_that_is_no_header_value_is_refused_not_passed_on() {
        let req = TestRequest::default().to_http_request();
        for principal in [
            "evil\r\nX-Remote-User: admin@EXAMPLE.TEST",
            "a\u{7f}b@EXAMPLE.TEST",
        ] {
            let id = KerberosIdentity::for_tests(principal, None);
            let res = ForwardAuth::new().answer(&req, &id);
            assert_eq!(res.status(), 403, "{principal:?}");
            assert!(res.headers().get("x-remote-user").is_none());
        }
    }
}
