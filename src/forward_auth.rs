//! `ForwardAuth`: the endpoint a reverse proxy asks whether a request may pass (nginx
//! `auth_request`, Caddy `forward_auth`, Traefik `forwardAuth`), answering with who the user
//! is in headers the proxy hands on to the application behind it.

use std::fmt;
use std::sync::Arc;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use crate::config::{Config, SpnegoAuth};
use crate::identity::{Handled, KerberosIdentity};
use crate::original_request::{Place, Segments};
use crate::require::Require;
use crate::trusted_proxy::TrustedProxy;

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
/// | a [route rule](Self::require) refuses the user | `403`; `401` with the challenge when the identity came from a session cookie, so that a ticket decides |
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
    original_uri: HeaderName,
    original_method: HeaderName,
    trusted: TrustedProxy,
    rules: Arc<Vec<(Place, Require)>>,
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
            .field("original_uri_header", &self.original_uri)
            .field("original_method_header", &self.original_method)
            .field("trusted_proxy", &self.trusted)
            .field(
                "rules",
                &self
                    .rules
                    .iter()
                    .map(|(place, rule)| format!("{place}: {}", rule.describe()))
                    .collect::<Vec<_>>(),
            )
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
            original_uri: HeaderName::from_static("x-forwarded-uri"),
            original_method: HeaderName::from_static("x-forwarded-method"),
            trusted: TrustedProxy::default(),
            rules: Arc::default(),
        }
    }

    /// Applies `rule` to the original requests for `prefix` and below, whatever their method:
    /// the user must meet it, or the answer is `403` (`401` for a session cookie's identity,
    /// so that a ticket decides, as [`Require`] does). Several rules covering one request must
    /// all be met. Requests no rule covers need only a login.
    ///
    /// The original request is what the [trusted proxy](Self::trusted_proxy) says in
    /// `X-Forwarded-Uri` (nginx: `$request_uri`; Caddy and Traefik send it themselves) and
    /// `X-Forwarded-Method`. `prefix` covers whole segments (`/admin` covers `/admin` and
    /// `/admin/x`, not `/administrator`) and is matched after the path is read every way a
    /// server behind might read it: case-insensitively, percent-escapes decoded, `.`, `..`,
    /// `//`, `\` and `;` parameters resolved. Every rule applies — as if the request could be
    /// for any route — when the endpoint cannot tell which request it is asked about: no
    /// `X-Forwarded-Uri`, two of them, one from an untrusted peer, or a path with an escaped
    /// separator (`%2F`), a double escape or a control byte. Each such case is logged.
    ///
    /// ```
    /// use actix_gssapi::{ForwardAuth, Require};
    ///
    /// let endpoint = ForwardAuth::new()
    ///     .require("/admin", Require::principals(["root@EXAMPLE.COM"]))
    ///     .require("/", Require::realms(["EXAMPLE.COM"]));
    /// ```
    ///
    /// # Panics
    /// When `prefix` is not a path (`/…`), or holds an escaped separator or control byte.
    pub fn require(self, prefix: &str, rule: Require) -> Self {
        self.push_rule(Place::new(prefix, None), rule)
    }

    /// [`require`](Self::require), for these methods only (a `GET` rule covers `HEAD` too).
    /// An original request whose method the endpoint was not told is covered.
    ///
    /// ```
    /// use actix_gssapi::{ForwardAuth, Require};
    /// use actix_web::http::Method;
    ///
    /// let endpoint = ForwardAuth::new().require_for(
    ///     [Method::POST, Method::PUT, Method::DELETE],
    ///     "/wiki",
    ///     Require::principals(["editor@EXAMPLE.COM"]),
    /// );
    /// ```
    ///
    /// # Panics
    /// As [`require`](Self::require).
    pub fn require_for(
        self,
        methods: impl IntoIterator<Item = Method>,
        prefix: &str,
        rule: Require,
    ) -> Self {
        let methods = methods.into_iter().map(|m| m.as_str().to_owned()).collect();
        self.push_rule(Place::new(prefix, Some(methods)), rule)
    }

    fn push_rule(mut self, place: Place, rule: Require) -> Self {
        Arc::make_mut(&mut self.rules).push((place, rule));
        self
    }

    /// Who may say which request the endpoint is asked about. Defaults to
    /// [`TrustedProxy::loopback`]: a proxy on the same host.
    pub fn trusted_proxy(mut self, trusted: TrustedProxy) -> Self {
        self.trusted = trusted;
        self
    }

    /// The header holding the original request's URI. Defaults to `X-Forwarded-Uri` (what
    /// Caddy's `forward_auth` and Traefik's `forwardAuth` send).
    pub fn original_uri_header(mut self, name: HeaderName) -> Self {
        self.original_uri = name;
        self
    }

    /// The header holding the original request's method. Defaults to `X-Forwarded-Method`.
    pub fn original_method_header(mut self, name: HeaderName) -> Self {
        self.original_method = name;
        self
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

    /// The identity headers this endpoint answers for `id`, under its configured names: the
    /// principal, the realm, the local name when mapped, the verified PAC's group SIDs. For a
    /// proxy of your own (`examples/proxy.rs` sets them on the request to its application,
    /// after removing every copy the client sent).
    ///
    /// ```
    /// use actix_gssapi::{ForwardAuth, KerberosIdentity};
    /// use actix_web::{HttpRequest, HttpResponse};
    ///
    /// async fn forward(req: HttpRequest, id: KerberosIdentity) -> HttpResponse {
    ///     let Ok(identity) = ForwardAuth::new().identity_headers(&id) else {
    ///         // Never pass a request on with another identity than GSSAPI's.
    ///         return HttpResponse::Forbidden().finish();
    ///     };
    ///     // ... the client's headers, less its own copies of these, plus `identity` ...
    ///     # let _ = (req, identity);
    ///     HttpResponse::Ok().finish()
    /// }
    /// ```
    ///
    /// # Errors
    /// The name of the first header whose value cannot be one (a principal with a control
    /// character): pass no request on for such an identity.
    pub fn identity_headers(&self, id: &KerberosIdentity) -> Result<HeaderMap, HeaderName> {
        let mut values = vec![(&self.user, id.principal().to_owned())];
        if let Some(realm) = id.realm() {
            values.push((&self.realm, realm.to_owned()));
        }
        if let Some(local) = id.local_name() {
            values.push((&self.local_name, local.to_owned()));
        }
        if let Some(pac) = id.pac() {
            let sids: Vec<String> = pac.group_sids().iter().map(ToString::to_string).collect();
            values.push((&self.groups, sids.join(",")));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in values {
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| name.clone())?;
            headers.insert(name.clone(), value);
        }
        Ok(headers)
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
        if let Some(refusal) = self.apply_rules(req, id) {
            return refusal;
        }
        match self.identity_headers(id) {
            Ok(headers) => {
                let mut res = HttpResponse::Ok().finish();
                for (name, value) in headers {
                    res.headers_mut().insert(name, value);
                }
                res
            }
            Err(name) => {
                log::warn!(
                    "{} {}: {name} for {:?} is no header value: answering 403",
                    req.method(),
                    req.path(),
                    id.principal()
                );
                HttpResponse::Forbidden().finish()
            }
        }
    }

    /// The route rules' answer when one refuses `id`, or `None` to let it pass.
    fn apply_rules(&self, req: &HttpRequest, id: &KerberosIdentity) -> Option<HttpResponse> {
        if self.rules.is_empty() {
            return None;
        }
        let original = self.original(req);
        let (method, path) = match &original {
            Ok((method, path)) => (method.as_deref(), Some(path)),
            Err(why) => {
                log::warn!(
                    "{} {}: every route rule applies to this request for {:?}: {why}",
                    req.method(),
                    req.path(),
                    id.principal()
                );
                (None, None)
            }
        };
        let config = req
            .extensions()
            .get::<Handled>()
            .map_or_else(|| Arc::new(Config::default()), |h| Arc::clone(&h.config));
        let shown = path.map_or_else(|| "an unknown path".to_owned(), ToString::to_string);
        for (place, rule) in self.rules.iter() {
            if path.is_some_and(|path| !place.covers(method, path)) {
                continue;
            }
            if let Some(refusal) =
                rule.refusal(req, id, &config, &format!(" for {place} on {shown}"))
            {
                return Some(refusal);
            }
        }
        None
    }

    /// The original request's method (`None` when not told) and path, or why the endpoint
    /// cannot tell which request it is asked about.
    fn original(&self, req: &HttpRequest) -> Result<(Option<String>, Segments), String> {
        if let Some(why) = self.trusted.distrust(req) {
            return Err(format!("its {} is not taken: {why}", self.original_uri));
        }
        let one = |name: &HeaderName| {
            let mut values = req.headers().get_all(name);
            match (values.next(), values.next()) {
                (Some(value), None) => Ok(Some(value.as_bytes())),
                (None, _) => Ok(None),
                (Some(_), Some(_)) => Err(format!(
                    "it has several {name} headers (a client's beside the proxy's?)"
                )),
            }
        };
        let uri = one(&self.original_uri)?
            .ok_or_else(|| format!("it has no {} header", self.original_uri))?;
        let path = Segments::parse(uri).map_err(|why| {
            format!(
                "its {} cannot be read as one path: {why}",
                self.original_uri
            )
        })?;
        let method = one(&self.original_method)
            .ok()
            .flatten()
            .and_then(|m| std::str::from_utf8(m).ok())
            .map(str::to_owned);
        Ok((method, path))
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

    /// A sub-request from `peer` about `uri` (none when `None`) with `method`.
    fn asked(peer: &str, uri: Option<&str>, method: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(uri) = uri {
            req = req.append_header(("x-forwarded-uri", uri));
        }
        if let Some(method) = method {
            req = req.append_header(("x-forwarded-method", method));
        }
        req.to_http_request()
    }

    fn status(endpoint: &ForwardAuth, req: &HttpRequest, id: &KerberosIdentity) -> u16 {
        endpoint.answer(req, id).status().as_u16()
    }

    fn admins_only() -> ForwardAuth {
        ForwardAuth::new()
            .require("/admin", Require::principals(["root@EXAMPLE.TEST"]))
            .require_for(
                [Method::POST, Method::DELETE],
                "/wiki",
                Require::principals(["editor@EXAMPLE.TEST"]),
            )
    }

    #[test]
    fn route_rules_apply_to_the_original_request_however_it_is_spelled() {
        let endpoint = admins_only();
        let alice = KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None);
        let root = KerberosIdentity::for_tests("root@EXAMPLE.TEST", None);
        let local = "127.0.0.1:5000";
        for uri in [
            "/admin",
            "/admin/",
            "/ADMIN/users",
            "//admin",
            "/x/../admin",
            "/%61dmin?x=1",
            "/admin;jsessionid=1",
            "/public/..;/admin",
            "/public\\..\\admin",
            "http://host/admin",
        ] {
            let req = asked(local, Some(uri), Some("GET"));
            assert_eq!(status(&endpoint, &req, &alice), 403, "{uri}");
            assert_eq!(status(&endpoint, &req, &root), 200, "{uri}");
        }
        for uri in [
            "/",
            "/administrator",
            "/public/admin",
            "/public?next=/admin",
        ] {
            let req = asked(local, Some(uri), Some("GET"));
            assert_eq!(status(&endpoint, &req, &alice), 200, "{uri}");
        }
        // Method-limited rules: reads are open, writes need the editor.
        let get = asked(local, Some("/wiki/page"), Some("GET"));
        assert_eq!(status(&endpoint, &get, &alice), 200);
        let post = asked(local, Some("/wiki/page"), Some("post"));
        assert_eq!(status(&endpoint, &post, &alice), 403);
        let editor = KerberosIdentity::for_tests("editor@EXAMPLE.TEST", None);
        assert_eq!(status(&endpoint, &post, &editor), 200);
        let unknown = asked(local, Some("/wiki/page"), None);
        assert_eq!(
            status(&endpoint, &unknown, &alice),
            403,
            "no method: covered"
        );
    }

    #[test]
    fn every_rule_applies_when_the_original_request_is_unknown_or_untrusted() {
        let endpoint = admins_only();
        let alice = KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None);
        let public = Some("/public");
        assert_eq!(
            status(&endpoint, &asked("127.0.0.1:1", public, None), &alice),
            200
        );
        for (why, req) in [
            ("no header", asked("127.0.0.1:1", None, Some("GET"))),
            ("another host", asked("192.0.2.7:1", public, Some("GET"))),
            (
                "escaped separator",
                asked("127.0.0.1:1", Some("/public%2F..%2Fadmin"), None),
            ),
            (
                "double escape",
                asked("127.0.0.1:1", Some("/%252e%252e/admin"), None),
            ),
            (
                "two headers",
                TestRequest::default()
                    .peer_addr("127.0.0.1:1".parse().unwrap())
                    .append_header(("x-forwarded-uri", "/admin"))
                    .append_header(("x-forwarded-uri", "/public"))
                    .to_http_request(),
            ),
        ] {
            assert_eq!(status(&endpoint, &req, &alice), 403, "{why}");
        }
        // Someone every rule admits is let in all the same.
        let both = ForwardAuth::new().require("/admin", Require::realms(["EXAMPLE.TEST"]));
        let req = asked("192.0.2.7:1", None, None);
        assert_eq!(status(&both, &req, &alice), 200);
        // Without rules, nothing about the original request matters.
        assert_eq!(status(&ForwardAuth::new(), &req, &alice), 200);
    }

    #[test]
    fn a_shared_secret_makes_the_original_request_trusted() {
        let name = HeaderName::from_static("x-forward-auth-secret");
        let endpoint = admins_only().trusted_proxy(
            TrustedProxy::peers(["192.0.2.7".parse().unwrap()]).secret_header(name, "s3cret"),
        );
        let alice = KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None);
        let with = |secret: &str| {
            TestRequest::default()
                .peer_addr("192.0.2.7:1".parse().unwrap())
                .insert_header(("x-forwarded-uri", "/public"))
                .insert_header(("x-forward-auth-secret", secret))
                .to_http_request()
        };
        assert_eq!(status(&endpoint, &with("s3cret"), &alice), 200);
        assert_eq!(status(&endpoint, &with("guess"), &alice), 403);
        assert_eq!(
            status(
                &endpoint,
                &asked("192.0.2.7:1", Some("/public"), None),
                &alice
            ),
            403
        );
        assert!(!format!("{endpoint:?}").contains("s3cret"));
    }

    #[test]
    fn a_session_cookie_a_rule_refuses_is_asked_for_a_ticket() {
        let endpoint = admins_only();
        let alice = KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None);
        let cookie = KerberosIdentity::from_session(
            alice.session_claims("HTTP@localhost", false),
            std::time::SystemTime::now() + std::time::Duration::from_secs(60),
        );
        let res = endpoint.answer(&asked("127.0.0.1:1", Some("/admin"), None), &cookie);
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers().get("www-authenticate").unwrap(), "Negotiate");
        assert!(res.headers().get("x-remote-user").is_none());
        let res = endpoint.answer(&asked("127.0.0.1:1", Some("/public"), None), &cookie);
        assert_eq!(res.status(), 200);
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
