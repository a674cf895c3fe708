//! CORS preflights: which requests are ones (they pass `SpnegoAuth` unauthenticated unless
//! [`authenticate_preflights`](crate::SpnegoAuthBuilder::authenticate_preflights)), and
//! whether what the application answered is a preflight answer (only then does it go out).
//! Pure functions of the request and the response.

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

/// A CORS preflight (Fetch standard): `OPTIONS` with `Origin` and an
/// `Access-Control-Request-Method` that is a method, and no credentials (browsers never send
/// any on one).
///
/// The method must parse as one because that is what makes actix-cors take a request for a
/// preflight: any other `OPTIONS` it hands to the application as an actual cross-origin
/// request and adds `Access-Control-Allow-Origin` to the answer, so a handler's answer (an
/// every-method handler without `KerberosIdentity`) would pass [`judge_answer`] and leave
/// unauthenticated.
pub(crate) fn is_preflight(req: &HttpRequest) -> bool {
    let headers = req.headers();
    req.method() == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| Method::from_bytes(m.as_bytes()).is_ok())
        && !headers.contains_key(header::AUTHORIZATION)
}

/// What the application answered a preflight that `SpnegoAuth` passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreflightAnswer {
    /// A CORS layer's answer: it goes out, without its body.
    Answer,
    /// A 2xx without the CORS answer's headers: no CORS layer answered (a handler did).
    NotAnAnswer,
    /// Another status: the application (a CORS layer, e.g. for an origin it does not allow)
    /// refused the preflight.
    Refused(StatusCode),
}

/// An answer to a CORS preflight as a CORS layer gives it (Fetch standard): an ok status,
/// `Access-Control-Allow-Origin`, and the methods or headers allowed. An every-method handler's
/// answer, even one a CORS layer decorated with `Access-Control-Allow-Origin` (actix-cors
/// with `disable_preflight`, or on a request it did not take for a preflight), has neither
/// of the last two.
fn is_answer<B>(res: &HttpResponse<B>) -> bool {
    let headers = res.headers();
    res.status().is_success()
        && headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        && (headers.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
            || headers.contains_key(header::ACCESS_CONTROL_ALLOW_HEADERS))
}

/// Judges the application's answer to a preflight.
pub(crate) fn judge_answer<B>(res: &HttpResponse<B>) -> PreflightAnswer {
    if is_answer(res) {
        PreflightAnswer::Answer
    } else if res.status().is_success() {
        PreflightAnswer::NotAnAnswer
    } else {
        PreflightAnswer::Refused(res.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preflight_names_a_method_as_actix_cors_requires() {
        use actix_web::test::TestRequest;
        let preflight = |method: &str| {
            TestRequest::default()
                .method(Method::OPTIONS)
                .insert_header((header::ORIGIN, "https://app.example.test"))
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, method))
        };
        for method in ["GET", "POST", "DELETE", "PROPFIND"] {
            assert!(
                is_preflight(&preflight(method).to_http_request()),
                "{method}"
            );
        }
        // actix-cors passes these to the application as actual requests (`Method::try_from`
        // fails), adding Access-Control-Allow-Origin to whatever the handler answers.
        for method in ["", "G ET", "GET, POST", "GET\tPOST", "(GET)"] {
            assert!(
                !is_preflight(&preflight(method).to_http_request()),
                "{method:?}"
            );
        }
        let not_preflights = [
            TestRequest::default()
                .method(Method::OPTIONS)
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET")),
            TestRequest::default()
                .method(Method::OPTIONS)
                .insert_header((header::ORIGIN, "https://app.example.test")),
            preflight("GET").method(Method::GET),
            preflight("GET").insert_header((header::AUTHORIZATION, "Negotiate AAAA")),
        ];
        for req in not_preflights {
            assert!(!is_preflight(&req.to_http_request()));
        }
    }

    #[test]
    fn answers_are_judged_by_status_and_cors_headers() {
        use header::{
            ACCESS_CONTROL_ALLOW_HEADERS as HEADERS, ACCESS_CONTROL_ALLOW_METHODS as METHODS,
            ACCESS_CONTROL_ALLOW_ORIGIN as ORIGIN,
        };
        let answer = |status: StatusCode, headers: &[header::HeaderName]| {
            let mut res = HttpResponse::build(status);
            for h in headers {
                res.insert_header((h.clone(), "x"));
            }
            judge_answer(&res.finish())
        };
        use PreflightAnswer::*;
        let ok = StatusCode::OK;
        assert_eq!(answer(ok, &[ORIGIN, METHODS]), Answer);
        assert_eq!(answer(StatusCode::NO_CONTENT, &[ORIGIN, HEADERS]), Answer);
        assert_eq!(answer(ok, &[ORIGIN]), NotAnAnswer);
        assert_eq!(answer(ok, &[METHODS, HEADERS]), NotAnAnswer);
        assert_eq!(answer(ok, &[]), NotAnAnswer);
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(answer(bad, &[]), Refused(bad));
        let error = StatusCode::INTERNAL_SERVER_ERROR;
        assert_eq!(answer(error, &[ORIGIN, METHODS]), Refused(error));
    }
}
