//! The `401`, `403` and `503` answers the middleware gives instead of the application's.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::negotiate::SCHEME;
use crate::password::PasswordFallback;

type ResponseFn = Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>;

/// The answers a [`SpnegoAuth`](crate::SpnegoAuth) gives instead of the application's, given
/// to [`SpnegoAuthBuilder::responses`](crate::SpnegoAuthBuilder::responses).
///
/// Each defaults to a short `text/plain; charset=utf-8` body that never says why: the reason
/// is logged, not told to a client that may be probing.
///
/// ```
/// use actix_gssapi::{Responses, SpnegoAuth};
/// use actix_web::HttpResponse;
///
/// let builder = SpnegoAuth::builder().responses(
///     Responses::new()
///         .unauthorized_with(|_req| {
///             HttpResponse::Unauthorized()
///                 .content_type("application/json")
///                 .body(r#"{"error":"kerberos login required"}"#)
///         })
///         .forbidden("Access denied"),
/// );
/// ```
#[must_use]
#[derive(Clone)]
pub struct Responses {
    unauthorized: Reply,
    forbidden: Reply,
    overloaded: Reply,
}

#[derive(Clone)]
enum Reply {
    Text(Cow<'static, str>),
    Custom(ResponseFn),
}

impl Default for Responses {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Responses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responses")
            .field("unauthorized", &self.unauthorized)
            .field("forbidden", &self.forbidden)
            .field("overloaded", &self.overloaded)
            .finish()
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(body) => fmt::Debug::fmt(body, f),
            Self::Custom(_) => f.write_str("<custom>"),
        }
    }
}

impl Responses {
    /// The defaults: `Unauthorized`, `Forbidden` and `Service Unavailable`.
    pub fn new() -> Self {
        Self {
            unauthorized: Reply::Text(Cow::Borrowed("Unauthorized")),
            forbidden: Reply::Text(Cow::Borrowed("Forbidden")),
            overloaded: Reply::Text(Cow::Borrowed("Service Unavailable")),
        }
    }

    /// The body of the `401 Unauthorized` answer to a request without Negotiate credentials.
    ///
    /// Defaults to `Unauthorized`. The response carries `WWW-Authenticate: Negotiate`.
    pub fn unauthorized(mut self, body: impl Into<Cow<'static, str>>) -> Self {
        self.unauthorized = Reply::Text(body.into());
        self
    }

    /// Build the answer to a request without Negotiate credentials yourself: any status,
    /// headers and body.
    ///
    /// If the response you return is a `401` without a `WWW-Authenticate` header,
    /// `WWW-Authenticate: Negotiate` is added (a 401 must carry a challenge, RFC 9110 §15.5.2,
    /// and without it browsers never try Kerberos). Any other status is sent as you built it,
    /// e.g. a `302` to a login page, which browsers follow before trying Kerberos.
    pub fn unauthorized_with<F>(mut self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.unauthorized = Reply::Custom(Arc::new(response));
        self
    }

    /// The body of the `403 Forbidden` answer to a request whose Negotiate token was refused.
    ///
    /// Defaults to `Forbidden`.
    pub fn forbidden(mut self, body: impl Into<Cow<'static, str>>) -> Self {
        self.forbidden = Reply::Text(body.into());
        self
    }

    /// Build the answer to a request whose Negotiate token was refused yourself.
    pub fn forbidden_with<F>(mut self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.forbidden = Reply::Custom(Arc::new(response));
        self
    }

    /// The body of the `503 Service Unavailable` answer to a login that found the
    /// [login queue](crate::Capacity::login_queue) full (or a replay store that cannot answer).
    ///
    /// Defaults to `Service Unavailable`, with `Retry-After: 1`.
    pub fn overloaded(mut self, body: impl Into<Cow<'static, str>>) -> Self {
        self.overloaded = Reply::Text(body.into());
        self
    }

    /// Build the `503` answer yourself. A `503` without `Retry-After` gets `Retry-After: 1`
    /// added.
    pub fn overloaded_with<F>(mut self, response: F) -> Self
    where
        F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.overloaded = Reply::Custom(Arc::new(response));
        self
    }

    /// The 401 answer: a challenge without a token (RFC 4559 §5), and the `Basic` one after it
    /// when the password fallback is on and the connection may carry passwords.
    pub(crate) fn unauthorized_response(
        &self,
        req: &HttpRequest,
        password: Option<&PasswordFallback>,
    ) -> HttpResponse {
        let mut res = render(&self.unauthorized, StatusCode::UNAUTHORIZED, req);
        if res.status() == StatusCode::UNAUTHORIZED
            && !res.headers().contains_key(header::WWW_AUTHENTICATE)
        {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(SCHEME));
        }
        if let Some(fallback) = password {
            fallback.add_challenge(req.app_config().secure(), &mut res);
        }
        res
    }

    /// The 403 answer to a refused token.
    pub(crate) fn forbidden_response(&self, req: &HttpRequest) -> HttpResponse {
        render(&self.forbidden, StatusCode::FORBIDDEN, req)
    }

    /// The 503 answer to a login that found the queue full.
    pub(crate) fn overloaded_response(&self, req: &HttpRequest) -> HttpResponse {
        let mut res = render(&self.overloaded, StatusCode::SERVICE_UNAVAILABLE, req);
        if res.status() == StatusCode::SERVICE_UNAVAILABLE
            && !res.headers().contains_key(header::RETRY_AFTER)
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

fn render(reply: &Reply, status: StatusCode, req: &HttpRequest) -> HttpResponse {
    match reply {
        Reply::Text(body) => HttpResponse::build(status)
            .content_type(HeaderValue::from_static("text/plain; charset=utf-8"))
            .body(body.clone()),
        Reply::Custom(f) => f(req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn default_responses() {
        let responses = Responses::new();
        let req = TestRequest::default().to_http_request();
        let res = responses.unauthorized_response(&req, None);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate"
        );
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; charset=utf-8"
        );
        let res = responses.forbidden_response(&req);
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
        let res = responses.overloaded_response(&req);
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }

    #[test]
    fn a_custom_503_gets_retry_after_unless_it_has_one() {
        let req = TestRequest::default().to_http_request();
        let responses =
            Responses::new().overloaded_with(|_| HttpResponse::ServiceUnavailable().body("later"));
        let res = responses.overloaded_response(&req);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let responses = Responses::new().overloaded_with(|_| {
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "30"))
                .finish()
        });
        let res = responses.overloaded_response(&req);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "30");
    }

    #[test]
    fn custom_401_gets_a_challenge_other_statuses_do_not() {
        let req = TestRequest::default().to_http_request();
        let responses =
            Responses::new().unauthorized_with(|_| HttpResponse::Unauthorized().finish());
        let res = responses.unauthorized_response(&req, None);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate"
        );

        let responses = Responses::new().unauthorized_with(|_| {
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Negotiate, Basic realm=\"x\""))
                .finish()
        });
        let res = responses.unauthorized_response(&req, None);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate, Basic realm=\"x\""
        );

        let responses = Responses::new().unauthorized_with(|_| {
            HttpResponse::Found()
                .insert_header((header::LOCATION, "/login"))
                .finish()
        });
        let res = responses.unauthorized_response(&req, None);
        assert_eq!(res.status(), StatusCode::FOUND);
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn text_bodies_are_used() {
        let req = TestRequest::default().to_http_request();
        let responses = Responses::new()
            .unauthorized("who?")
            .forbidden("no")
            .overloaded("busy");
        for (res, body) in [
            (responses.unauthorized_response(&req, None), "who?"),
            (responses.forbidden_response(&req), "no"),
            (responses.overloaded_response(&req), "busy"),
        ] {
            let bytes = actix_web::body::to_bytes(res.into_body());
            let bytes = futures_util::FutureExt::now_or_never(bytes)
                .unwrap()
                .unwrap();
            assert_eq!(bytes, body);
        }
    }
}
