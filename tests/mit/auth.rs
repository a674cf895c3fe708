//! The middleware against a real MIT KDC, in process: every documented behaviour.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_gssapi::{
    Capacity, ErrorKind, KerberosIdentity, Responses, ServicePrincipal, SpnegoAuth,
    SpnegoAuthBuilder,
};
use actix_gssapi_testing::{ClientOptions, Negotiation};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpMessage as _, HttpResponse};
use base64::Engine as _;
use common::{alice_token, logged, logs, realm};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn whoami(id: KerberosIdentity) -> HttpResponse {
    HttpResponse::Ok().body(format!("Hello, {}", id.principal()))
}

async fn maybe(id: Option<KerberosIdentity>) -> HttpResponse {
    match id {
        Some(id) => HttpResponse::Ok().body(format!("Hello, {}", id.principal())),
        None => HttpResponse::Ok().body("Hello, anonymous"),
    }
}

/// An app whose handlers count their calls, so tests can assert the app was NOT reached.
macro_rules! counting_app {
    ($auth:expr, $calls:expr) => {{
        let calls = Arc::clone(&$calls);
        test::init_service(App::new().wrap($auth).default_service(web::to(
            move |id: Option<KerberosIdentity>| {
                let calls = Arc::clone(&calls);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    match id {
                        Some(id) => HttpResponse::Ok().body(format!("Hello, {}", id.principal())),
                        None => HttpResponse::Ok().body("Hello, anonymous"),
                    }
                }
            },
        )))
        .await
    }};
}

fn get(path: &str, authorization: Option<&str>) -> actix_http::Request {
    let mut req = test::TestRequest::get().uri(path);
    if let Some(a) = authorization {
        req = req.insert_header((header::AUTHORIZATION, a));
    }
    req.to_request()
}

fn www_authenticate(res: &ServiceResponse<impl actix_web::body::MessageBody>) -> Option<String> {
    res.headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn status_and_body<S, B>(app: &S, req: actix_http::Request) -> (StatusCode, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Logs in as alice on `path` with a fresh token, checks the server's mutual-authentication
/// token, and returns the body.
async fn alice_logs_in<S, B>(app: &S, path: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let client = alice_token();
    let res = test::call_service(app, get(path, Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    client
        .verify_mutual(&www_authenticate(&res).expect("a mutual-auth token"))
        .unwrap();
    String::from_utf8_lossy(&test::read_body(res).await).into_owned()
}

fn localhost() -> SpnegoAuthBuilder {
    SpnegoAuth::builder().principal(ServicePrincipal::host("localhost"))
}

#[actix_web::test]
async fn valid_token_reaches_the_app_with_the_principal_and_a_mutual_auth_token() {
    let realm = realm();
    let app = test::init_service(
        App::new()
            .wrap(localhost().build().unwrap())
            .route("/", web::get().to(whoami)),
    )
    .await;
    let client = alice_token();
    let res = test::call_service(&app, get("/", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let challenge = www_authenticate(&res).expect("mutual auth token");
    client
        .verify_mutual(&challenge)
        .expect("the server proves it holds the service key");
    let body = test::read_body(res).await;
    assert_eq!(body, format!("Hello, alice@{}", realm.realm()));
}

#[actix_web::test]
async fn raw_krb5_tokens_are_accepted_too() {
    let realm = realm();
    let app = test::init_service(
        App::new()
            .wrap(localhost().build().unwrap())
            .route("/", web::get().to(whoami)),
    )
    .await;
    let options = ClientOptions::new().raw_krb5();
    let client = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options).unwrap();
    let res = test::call_service(&app, get("/", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    client
        .verify_mutual(&www_authenticate(&res).unwrap())
        .unwrap();
}

#[actix_web::test]
async fn mutual_auth_token_is_added_whatever_the_app_status() {
    realm();
    let app = test::init_service(App::new().wrap(localhost().build().unwrap()).route(
        "/",
        web::get().to(|| async { HttpResponse::NotFound().body("nope") }),
    ))
    .await;
    let client = alice_token();
    let res = test::call_service(&app, get("/", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    client
        .verify_mutual(&www_authenticate(&res).unwrap())
        .unwrap();
}

#[actix_web::test]
async fn missing_header_is_challenged_without_calling_the_app() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let res = test::call_service(&app, get("/", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(test::read_body(res).await, "Unauthorized");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn other_schemes_are_challenged() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    for other in [
        "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=",
        "Bearer abc.def.ghi",
        "NTLM TlRMTVNTUAABAAAA",
    ] {
        let res = test::call_service(&app, get("/", Some(other))).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{other}");
        assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn bad_tokens_are_forbidden_and_logged_without_the_token() {
    let realm = realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let valid = alice_token().token();
    let mut truncated = valid.clone();
    truncated.truncate(valid.len() / 2);
    let mut flipped = valid.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    let cases: Vec<(String, &str)> = vec![
        ("Negotiate !!!notbase64".into(), "not valid base64"),
        ("Negotiate".into(), "without a token"),
        (
            format!("Negotiate {}", B64.encode(b"garbage, not a GSS token")),
            "not a GSS-API initial context token",
        ),
        (
            format!("Negotiate {}", B64.encode(&truncated)),
            "truncated or trailing data",
        ),
        (
            format!("Negotiate {}", B64.encode(b"\x60\x05hello")),
            "token refused",
        ),
        (
            format!("Negotiate {}", B64.encode(&flipped)),
            "token refused",
        ),
        (
            format!(
                "Negotiate {}",
                B64.encode(b"NTLMSSP\0\x01\x00\x00\x00\x07\x82\x08\xa2")
            ),
            "NTLM",
        ),
    ];
    for (header, reason) in &cases {
        let res = test::call_service(&app, get("/secret?q=1", Some(header))).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{reason}");
        assert_eq!(www_authenticate(&res), None);
        assert_eq!(test::read_body(res).await, "Forbidden");
        assert!(
            logged(&["WARN", "GET /secret", reason]),
            "no log line for {reason}: {:?}",
            logs()
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the app was never called");
    for line in logs() {
        for (header, _) in &cases {
            let token = header.trim_start_matches("Negotiate").trim();
            assert!(
                token.len() < 8 || !line.contains(token),
                "a token was logged: {line}"
            );
        }
        assert!(!line.contains("q=1"), "the query string was logged: {line}");
    }
    let _ = realm;
}

#[actix_web::test]
async fn replayed_token_is_forbidden() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let client = alice_token();
    let first = test::call_service(&app, get("/", Some(client.header()))).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = test::call_service(&app, get("/replay", Some(client.header()))).await;
    assert_eq!(second.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(logged(&["GET /replay", "replay"]), "{:?}", logs());
}

#[actix_web::test]
async fn token_for_another_service_is_forbidden() {
    let realm = realm();
    // Known to the KDC but not in the server's keytab.
    realm
        .kadmin("addprinc -randkey HTTP/elsewhere.test")
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let client = Negotiation::start(&realm.alice_ccache(), "HTTP@elsewhere.test").unwrap();
    let res = test::call_service(&app, get("/elsewhere", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        logged(&["GET /elsewhere", "HTTP/elsewhere.test"]),
        "{:?}",
        logs()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn token_for_another_name_in_the_keytab_is_forbidden_unless_any_in_keytab() {
    let realm = realm();
    let host = machine_host();
    if host == "localhost" {
        return; // nothing to tell apart on a machine named localhost
    }
    // The shared keytab holds HTTP/localhost and HTTP/<machine>.
    let calls = Arc::new(AtomicUsize::new(0));
    let bound = counting_app!(localhost().build().unwrap(), calls);
    let other = Negotiation::start(&realm.alice_ccache(), &format!("HTTP@{host}")).unwrap();
    let res = test::call_service(&bound, get("/", Some(other.header()))).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "bound to HTTP/localhost"
    );

    {
        let app = counting_app!(
            SpnegoAuth::builder()
                .principal(ServicePrincipal::AnyInKeytab)
                .build()
                .unwrap(),
            calls
        );
        for target in ["HTTP@localhost".to_owned(), format!("HTTP@{host}")] {
            let client = Negotiation::start(&realm.alice_ccache(), &target).unwrap();
            let res = test::call_service(&app, get("/", Some(client.header()))).await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "any principal accepts {target}"
            );
            client
                .verify_mutual(&www_authenticate(&res).unwrap())
                .unwrap();
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn automatic_hostname_is_the_machine_name() {
    let realm = realm();
    let host = machine_host();
    assert_eq!(
        SpnegoAuth::builder().service_name().unwrap(),
        Some(format!("HTTP@{host}"))
    );
    // Started when the app starts (the quick start's shape).
    let auth = SpnegoAuth::new();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let client = Negotiation::start(&realm.alice_ccache(), &format!("HTTP@{host}")).unwrap();
    let res = test::call_service(&app, get("/", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    if host != "localhost" {
        let client = alice_token(); // HTTP@localhost: not this server's name
        let res = test::call_service(&app, get("/", Some(client.header()))).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}

#[actix_web::test]
async fn expired_ticket_is_forbidden() {
    let realm = realm();
    realm
        .kadmin("addprinc -maxlife \"2 seconds\" -pw carol-password carol")
        .unwrap();
    let ccache = realm.kinit("carol", "carol-password", &[]).unwrap();
    let client = Negotiation::start(&ccache, "HTTP@localhost").unwrap();
    // Past the ticket's end and the realm's clock-skew allowance.
    let wait = 2 + actix_gssapi_testing::CLOCK_SKEW_SECS + 2;
    actix_rt::time::sleep(std::time::Duration::from_secs(wait)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let res = test::call_service(&app, get("/expired", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(logged(&["GET /expired", "expired"]), "{:?}", logs());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// The documented shape: an optional `SpnegoAuth` around the app, a required one around the
/// scope that needs a login. Handlers here take `Option<KerberosIdentity>`, so only the
/// middleware stands between an anonymous request and `/protected`.
macro_rules! optional_app_with_protected_scope {
    ($calls:expr) => {{
        let auth = localhost().build().unwrap();
        let calls = Arc::clone(&$calls);
        let handler = move |id: Option<KerberosIdentity>| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                match id {
                    Some(id) => HttpResponse::Ok().body(format!("Hello, {}", id.principal())),
                    None => HttpResponse::Ok().body("Hello, anonymous"),
                }
            }
        };
        test::init_service(
            App::new()
                .wrap(auth.clone().optional())
                .service(
                    web::scope("/protected")
                        .wrap(auth.clone())
                        .default_service(web::to(handler.clone())),
                )
                .default_service(web::to(handler)),
        )
        .await
    }};
}

#[actix_web::test]
async fn optional_mode_outside_a_protected_scope() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = optional_app_with_protected_scope!(calls);

    // The scope: no header -> 401, bad token -> 403, good token -> identified.
    let (status, _) = status_and_body(&app, get("/protected/x", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_and_body(&app, get("/protected/x", Some("Negotiate !!!"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        status_and_body(&app, get("/protected/x", Some("Basic YWxpY2U6c2VjcmV0"))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "Unauthorized")
    );
    // Accepted once, by the outer SpnegoAuth: were the scope's to accept it again, the
    // replay cache would refuse it (403).
    let body = alice_logs_in(&app, "/protected/x").await;
    assert_eq!(body, "Hello, alice@EXAMPLE.TEST");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Outside the scope: no header -> anonymous, valid token -> identified, bad -> anonymous.
    let (status, body) = status_and_body(&app, get("/open", None)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "Hello, anonymous")
    );
    let body = alice_logs_in(&app, "/open").await;
    assert_eq!(body, "Hello, alice@EXAMPLE.TEST");
    for bad in [
        "Negotiate !!!".to_owned(),
        format!("Negotiate {}", B64.encode(b"garbage")),
        format!("Negotiate {}", B64.encode(b"\x60\x05hello")),
    ] {
        let (status, body) = status_and_body(&app, get("/open-bad", Some(&bad))).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "Hello, anonymous")
        );
    }
    assert!(
        logged(&["GET /open-bad", "ignored invalid credentials"]),
        "{:?}",
        logs()
    );
    assert!(
        logged(&["GET /open-bad", "continuing anonymously"]),
        "{:?}",
        logs()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[actix_web::test]
async fn a_token_the_outer_optional_auth_refused_is_forbidden_in_the_scope() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = optional_app_with_protected_scope!(calls);
    let token = alice_token();
    let (status, _) = status_and_body(&app, get("/protected/first", Some(token.header()))).await;
    assert_eq!(status, StatusCode::OK);
    // The replay: the outer SpnegoAuth refuses it and goes on anonymously; the scope's answers
    // 403 on that verdict, without a second GSSAPI call.
    let (status, body) =
        status_and_body(&app, get("/protected/replayed", Some(token.header()))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "Forbidden")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let lines: Vec<_> = logs()
        .into_iter()
        .filter(|l| l.contains("GET /protected/replayed"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("continuing anonymously") && lines[0].contains("replay"));
    assert!(lines[1].contains("an enclosing SpnegoAuth refused the token"));
}

#[actix_web::test]
async fn the_extractor_may_touch_extensions_in_a_custom_401() {
    realm();
    let auth = localhost()
        .responses(Responses::new().unauthorized_with(|req| {
            // Would panic (RefCell already borrowed) if the extractor held the borrow.
            req.extensions_mut().insert(7u8);
            let seen = req.extensions().get::<u8>().copied();
            HttpResponse::Unauthorized().body(format!("seen {seen:?}"))
        }))
        .build()
        .unwrap()
        .optional();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let (status, body) = status_and_body(&app, get("/", None)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "seen Some(7)")
    );
}

#[actix_web::test]
async fn custom_text_responses() {
    realm();
    let auth = localhost()
        .responses(
            Responses::new()
                .unauthorized("Please log in with Kerberos")
                .forbidden("Go away"),
        )
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let res = test::call_service(&app, get("/", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    assert_eq!(test::read_body(res).await, "Please log in with Kerberos");
    let res = test::call_service(&app, get("/", Some("Negotiate !!!"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(test::read_body(res).await, "Go away");
}

#[actix_web::test]
async fn custom_full_responses() {
    realm();
    let auth = localhost()
        .responses(
            Responses::new()
                .unauthorized_with(|req| {
                    HttpResponse::Unauthorized()
                        .content_type("application/json")
                        .insert_header(("X-Path", req.path().to_owned()))
                        .body(r#"{"error":"login"}"#)
                })
                .forbidden_with(|_| {
                    HttpResponse::build(StatusCode::IM_A_TEAPOT)
                        .content_type("text/html")
                        .body("<h1>no</h1>")
                }),
        )
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(auth).route("/p", web::get().to(whoami))).await;
    let res = test::call_service(&app, get("/p", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    assert_eq!(res.headers().get("X-Path").unwrap(), "/p");
    assert_eq!(test::read_body(res).await, r#"{"error":"login"}"#);
    let res = test::call_service(&app, get("/p", Some("Negotiate !!!"))).await;
    assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "text/html"
    );
    assert_eq!(test::read_body(res).await, "<h1>no</h1>");
}

#[actix_web::test]
async fn optional_identity_extractor() {
    realm();
    let auth = localhost().build().unwrap().optional();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(maybe))).await;
    let (_, body) = status_and_body(&app, get("/", None)).await;
    assert_eq!(body, "Hello, anonymous");
    let (_, body) = status_and_body(&app, get("/", Some(alice_token().header()))).await;
    assert_eq!(body, "Hello, alice@EXAMPLE.TEST");
}

#[actix_web::test]
async fn required_extractor_on_an_anonymous_request_answers_401_with_the_challenge() {
    realm();
    let auth = localhost()
        .responses(Responses::new().unauthorized("custom 401 also here"))
        .build()
        .unwrap()
        .optional();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let res = test::call_service(&app, get("/", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    assert_eq!(test::read_body(res).await, "custom 401 also here");
}

#[actix_web::test]
async fn extractor_without_the_middleware_answers_401_not_500() {
    realm();
    let app = test::init_service(App::new().route("/unwrapped", web::get().to(whoami))).await;
    let res = test::call_service(&app, get("/unwrapped", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    assert!(logged(&["WARN", "/unwrapped", "wrap"]), "{:?}", logs());
}

#[actix_web::test]
async fn middleware_on_a_scope_leaves_other_routes_open() {
    realm();
    let app = test::init_service(
        App::new()
            .route("/health", web::get().to(|| async { "ok" }))
            .service(
                web::scope("/api")
                    .wrap(localhost().build().unwrap())
                    .route("/me", web::get().to(whoami)),
            ),
    )
    .await;
    let (status, body) = status_and_body(&app, get("/health", None)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, _) = status_and_body(&app, get("/api/me", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = status_and_body(&app, get("/api/me", Some(alice_token().header()))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "Hello, alice@EXAMPLE.TEST")
    );
}

#[actix_web::test]
async fn no_delegated_credential_unless_the_client_delegates() {
    realm();
    let app = test::init_service(App::new().wrap(localhost().build().unwrap()).route(
        "/",
        web::get().to(|id: KerberosIdentity| async move {
            format!("{}", id.delegated_credentials().is_some())
        }),
    ))
    .await;
    let (_, body) = status_and_body(&app, get("/", Some(alice_token().header()))).await;
    assert_eq!(body, "false");
}

#[actix_web::test]
async fn delegated_credential_exports_to_a_ccache_that_reaches_another_service() {
    let realm = realm();
    realm.kadmin("addprinc -randkey HTTP/backend.test").unwrap();
    let out_dir = realm.dir().join("delegated");
    std::fs::create_dir_all(&out_dir).unwrap();
    let ccache = out_dir.join("alice.cc");
    let target = format!("FILE:{}", ccache.display());
    let app = test::init_service(App::new().wrap(localhost().build().unwrap()).route(
        "/",
        web::get().to(move |id: KerberosIdentity| {
            let target = target.clone();
            async move {
                let creds = id.delegated_credentials().cloned().expect("delegated");
                assert_eq!(creds.principal().as_deref(), Some(id.principal()));
                assert!(creds.lifetime().is_some_and(|l| l.as_secs() > 60));
                web::block(move || creds.store_into(&target))
                    .await
                    .unwrap()
                    .unwrap();
                HttpResponse::Ok().body("stored")
            }
        }),
    ))
    .await;
    let options = ClientOptions::new().delegate();
    let client = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options).unwrap();
    let (status, body) = status_and_body(&app, get("/", Some(client.header()))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "stored"));

    let klist = realm
        .command("klist")
        .arg("-c")
        .arg(format!("FILE:{}", ccache.display()))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&klist.stdout);
    assert!(klist.status.success(), "{listing}");
    assert!(
        listing.contains("Default principal: alice@EXAMPLE.TEST"),
        "{listing}"
    );
    assert!(
        listing.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"),
        "{listing}"
    );

    let kvno = realm
        .command("kvno")
        .arg("-c")
        .arg(format!("FILE:{}", ccache.display()))
        .arg("HTTP/backend.test")
        .output()
        .unwrap();
    assert!(
        kvno.status.success(),
        "the delegated TGT gets a ticket for the next service: {}",
        String::from_utf8_lossy(&kvno.stderr)
    );
    assert!(String::from_utf8_lossy(&kvno.stdout).contains("HTTP/backend.test@EXAMPLE.TEST"));
}

#[actix_web::test]
async fn missing_keytab_fails_at_start_up_naming_keytab_and_principal() {
    realm();
    let err = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .keytab("FILE:/nonexistent/http.keytab")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AcceptorCredential);
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/http.keytab"), "{msg}");
    assert!(msg.contains("HTTP@localhost"), "{msg}");

    // A keytab that exists but lacks the principal.
    let err = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("not-in-keytab.test"))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AcceptorCredential);
    assert!(err.to_string().contains("HTTP@not-in-keytab.test"), "{err}");
}

#[actix_web::test]
async fn explicit_keytab_is_used() {
    let realm = realm();
    let keytab = realm.dir().join("explicit.keytab");
    realm.add_service("HTTP/explicit.test", &keytab).unwrap();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("explicit.test"))
        .keytab(keytab.display().to_string())
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let client = Negotiation::start(&realm.alice_ccache(), "HTTP@explicit.test").unwrap();
    let (status, body) = status_and_body(&app, get("/", Some(client.header()))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "Hello, alice@EXAMPLE.TEST")
    );
}

#[actix_web::test]
async fn response_bodies_never_carry_gss_details() {
    realm();
    let app = test::init_service(
        App::new()
            .wrap(localhost().build().unwrap())
            .route("/", web::get().to(whoami)),
    )
    .await;
    let client = alice_token();
    test::call_service(&app, get("/", Some(client.header()))).await;
    for header in [
        client.header().to_owned(), // replay
        format!("Negotiate {}", B64.encode(b"garbage")),
        "Negotiate !!!".to_owned(),
    ] {
        let (status, body) = status_and_body(&app, get("/", Some(&header))).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::FORBIDDEN, "Forbidden")
        );
    }
}

fn machine_host() -> String {
    let out = std::process::Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[actix_web::test]
async fn spnego_offers_needing_another_round_are_refused_as_unsupported() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = counting_app!(localhost().build().unwrap(), calls);
    let krb5_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
    ];
    let header = format!(
        "Negotiate {}",
        B64.encode(common::spnego_init_without_token(&krb5_oid))
    );
    let res = test::call_service(&app, get("/multi-round", Some(&header))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        logged(&["GET /multi-round", "CONTINUE_NEEDED", "not supported"]),
        "{:?}",
        logs()
    );

    let ntlm_oid = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
    ];
    let header = format!(
        "Negotiate {}",
        B64.encode(common::spnego_init_without_token(&ntlm_oid))
    );
    let res = test::call_service(&app, get("/ntlm-only", Some(&header))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(logged(&["GET /ntlm-only", "refused"]), "{:?}", logs());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// The composition guide's CORS advice: actix-cors wrapped outside `SpnegoAuth` answers real preflights
/// itself; any other `OPTIONS` still needs a login.
#[actix_web::test]
async fn cors_outside_the_middleware_answers_preflights_and_nothing_else_gets_in() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let handler_calls = Arc::clone(&calls);
    let app = test::init_service(
        App::new()
            .wrap(localhost().build().unwrap())
            .wrap(
                actix_cors::Cors::default()
                    .allowed_origin("https://app.example.test")
                    .allowed_methods(["GET", "POST"])
                    .supports_credentials(),
            )
            .default_service(web::to(move || {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async { "secret" }
            })),
    )
    .await;
    let preflight = test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api")
        .insert_header((header::ORIGIN, "https://app.example.test"))
        .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
        .to_request();
    let res = test::call_service(&app, preflight).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://app.example.test"
    );
    let plain_options = test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api")
        .to_request();
    let res = test::call_service(&app, plain_options).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let cross_origin_get = test::TestRequest::get()
        .uri("/api")
        .insert_header((header::ORIGIN, "https://app.example.test"))
        .to_request();
    let res = test::call_service(&app, cross_origin_get).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

fn preflight(path: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri(path)
        .insert_header((header::ORIGIN, "https://app.example.test"))
        .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
}

fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin("https://app.example.test")
        .allowed_methods(["GET", "POST"])
        .supports_credentials()
}

/// By default a CORS preflight passes the middleware unauthenticated, so actix-cors wrapped
/// *inside* it answers; the real cross-origin call after it still needs a login and gets the
/// CORS headers on its answer.
#[actix_web::test]
async fn cors_inside_the_middleware_answers_preflights_by_default() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let handler_calls = Arc::clone(&calls);
    let app = test::init_service(
        App::new()
            .wrap(cors())
            .wrap(localhost().build().unwrap())
            .default_service(web::to(move |id: KerberosIdentity| {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async move { format!("Hello, {}", id.principal()) }
            })),
    )
    .await;
    let res = test::call_service(&app, preflight("/api").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://app.example.test"
    );
    assert!(www_authenticate(&res).is_none());
    assert!(logged(&["OPTIONS /api", "CORS preflight"]), "{:?}", logs());
    // The call itself: challenged without credentials, served with them.
    for req in [
        test::TestRequest::post().uri("/api"),
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api"),
    ] {
        let res = test::call_service(
            &app,
            req.insert_header((header::ORIGIN, "https://app.example.test"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let client = alice_token();
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/api")
            .insert_header((header::ORIGIN, "https://app.example.test"))
            .insert_header((header::AUTHORIZATION, client.header().to_owned()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .unwrap(),
        "true"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Without actix-cors, a preflight reaches the application unauthenticated: a handler taking
/// `KerberosIdentity` answers the challenge, and an answer that is not a CORS answer (here an
/// every-method handler without an identity) is replaced by the challenge, its body dropped.
#[actix_web::test]
async fn a_preflight_gets_nothing_but_a_cors_answer_out_of_the_application() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let handler_calls = Arc::clone(&calls);
    let app = test::init_service(
        App::new()
            .wrap(localhost().build().unwrap())
            .route("/me", web::to(whoami))
            .route(
                "/cors",
                web::method(actix_web::http::Method::OPTIONS).to(|| async {
                    HttpResponse::Ok()
                        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
                        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
                        .body("a body no browser reads")
                }),
            )
            // A handler whose answers a CORS layer decorates (actix-cors with
            // disable_preflight does so): Access-Control-Allow-Origin, but no answer to the
            // preflight's question.
            .route(
                "/decorated",
                web::to(|| async {
                    HttpResponse::Ok()
                        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
                        .body("secret")
                }),
            )
            .route(
                "/not-ok",
                web::to(|| async {
                    HttpResponse::InternalServerError()
                        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
                        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
                        .body("secret")
                }),
            )
            .default_service(web::to(move || {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async { "secret" }
            })),
    )
    .await;
    let (status, body) = status_and_body(&app, preflight("/me").to_request()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "Unauthorized")
    );
    let res = test::call_service(&app, preflight("/report").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));
    let body = test::read_body(res).await;
    assert_eq!(body.as_ref(), b"Unauthorized");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler ran, its answer was dropped"
    );
    assert!(
        logged(&["OPTIONS /report", "CORS preflight is not one", "401"]),
        "{:?}",
        logs()
    );
    for path in ["/decorated", "/not-ok"] {
        let (status, body) = status_and_body(&app, preflight(path).to_request()).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "Unauthorized"),
            "{path}"
        );
    }
    // The application's own CORS answer goes out, without its body.
    let res = test::call_service(&app, preflight("/cors").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_METHODS)
            .unwrap(),
        "POST"
    );
    assert!(test::read_body(res).await.is_empty());
}

/// `authenticate_preflights()` turns the pass off; a preflight-looking request that carries
/// credentials is authenticated in any case.
#[actix_web::test]
async fn preflights_are_authenticated_when_asked_or_when_they_carry_credentials() {
    realm();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = test::init_service(
        App::new()
            .wrap(cors())
            .wrap(localhost().authenticate_preflights().build().unwrap())
            .default_service(web::to(whoami)),
    )
    .await;
    let res = test::call_service(&app, preflight("/api").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&res).as_deref(), Some("Negotiate"));

    let app = counting_app!(localhost().build().unwrap(), calls);
    let res = test::call_service(
        &app,
        preflight("/api")
            .insert_header((header::AUTHORIZATION, "Negotiate AAAA"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let client = alice_token();
    let (status, body) = status_and_body(
        &app,
        preflight("/api")
            .insert_header((header::AUTHORIZATION, client.header().to_owned()))
            .to_request(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "Hello, alice@EXAMPLE.TEST")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A login past the queue's bound is answered at once with 503 and `Retry-After`, and a client
/// over its own bound does not keep another client out.
#[actix_web::test]
async fn a_full_login_queue_answers_503_and_one_client_cannot_fill_it() {
    let realm = realm();
    let keytab = realm.dir().join("queue.keytab");
    std::fs::copy(realm.keytab(), &keytab).unwrap();
    let auth = localhost()
        .keytab(keytab.display().to_string())
        .capacity(
            Capacity::new()
                .accept_threads(1)
                .login_queue(4)
                .login_queue_per_peer(Some(2)),
        )
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(whoami))).await;
    let from = |peer: &str| {
        test::TestRequest::get()
            .uri("/")
            .peer_addr(peer.parse().unwrap())
            .insert_header((header::AUTHORIZATION, alice_token().header().to_owned()))
            .to_request()
    };
    // The one GSSAPI thread gets stuck on the first login (its keytab read blocks for a
    // second), so the queue fills the same way on every run whatever the machine's speed.
    let feeder = common::stall_keytab(&keytab, std::time::Duration::from_secs(1));
    let mut requests = vec![from("127.0.0.3:3000")];
    // Then 30 logins from one address at once, and one from another.
    requests.extend((0..30).map(|_| from("127.0.0.2:4000")));
    requests.push(from("127.0.0.1:5000"));
    let mut responses =
        futures_util::future::join_all(requests.into_iter().map(|r| test::call_service(&app, r)))
            .await;
    assert!(feeder.join().unwrap(), "the stuck login read the keytab");
    assert_eq!(responses.remove(0).status(), StatusCode::OK);
    let mut statuses = std::collections::BTreeMap::new();
    for res in &responses[..30] {
        *statuses.entry(res.status().as_u16()).or_insert(0) += 1;
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
        }
    }
    assert!(
        statuses.get(&503).copied().unwrap_or(0) >= 20,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= 2,
        "{statuses:?}"
    );
    assert_eq!(
        responses[30].status(),
        StatusCode::OK,
        "the other client still gets in"
    );
    assert!(
        logged(&["login refused with 503", "too many logins waiting"]),
        "{:?}",
        logs()
    );
}

/// MIT's KDC issues a PAC without logon information: no groups, and nothing made up.
#[actix_web::test]
async fn an_mit_ticket_has_no_pac_groups() {
    realm();
    let app = test::init_service(App::new().wrap(localhost().build().unwrap()).route(
        "/",
        web::get().to(|id: KerberosIdentity| async move {
            format!(
                "{} pac={:?}",
                id.principal(),
                id.pac().map(|p| p.user_sid().clone())
            )
        }),
    ))
    .await;
    let body = alice_logs_in(&app, "/").await;
    assert_eq!(body, "alice@EXAMPLE.TEST pac=None");
}

/// `Require` on MIT tickets: by principal, realm and predicate, with the enclosing
/// `SpnegoAuth`'s own 401 and 403 responses; the handler runs only when allowed.
#[actix_web::test]
async fn require_admits_by_principal_realm_and_predicate() {
    use actix_gssapi::Require;
    let bob = &common::bob_ccache();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |calls: &Arc<AtomicUsize>| common::counting_route(calls, "in");
    let app = test::init_service(
        App::new()
            .wrap(
                localhost()
                    .responses(
                        Responses::new()
                            .forbidden("not for you")
                            .unauthorized("log in"),
                    )
                    .build()
                    .unwrap(),
            )
            .service(
                web::scope("/alice-only")
                    .wrap(Require::principals(["alice@EXAMPLE.TEST"]))
                    .default_service(counted(&calls)),
            )
            .service(
                web::scope("/realm")
                    .wrap(Require::realms(["EXAMPLE.TEST"]))
                    .default_service(counted(&calls)),
            )
            .service(
                web::scope("/other-realm")
                    .wrap(Require::realms(["OTHER.TEST"]))
                    .default_service(counted(&calls)),
            )
            .service(
                web::scope("/short-names")
                    .wrap(Require::predicate("a name of 3 letters", |id| {
                        id.principal()
                            .split('@')
                            .next()
                            .is_some_and(|n| n.len() == 3)
                    }))
                    .default_service(counted(&calls)),
            ),
    )
    .await;
    let bob_token = || {
        Negotiation::start(bob, "HTTP@localhost")
            .unwrap()
            .header()
            .to_owned()
    };
    for (path, who, status, body) in [
        ("/alice-only/", "alice", 200, "in"),
        ("/alice-only/", "bob", 403, "not for you"),
        ("/alice-only/", "nobody", 401, "log in"),
        ("/realm/", "bob", 200, "in"),
        ("/other-realm/", "alice", 403, "not for you"),
        ("/short-names/", "bob", 200, "in"),
        ("/short-names/", "alice", 403, "not for you"),
    ] {
        let header = match who {
            "alice" => Some(alice_token().header().to_owned()),
            "bob" => Some(bob_token()),
            _ => None,
        };
        let (s, b) = status_and_body(&app, get(path, header.as_deref())).await;
        assert_eq!((s.as_u16(), b.as_str()), (status, body), "{path} as {who}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        logged(&[
            "GET /short-names/",
            "alice@EXAMPLE.TEST refused",
            "a name of 3 letters"
        ]),
        "{:?}",
        logs()
    );

    // Without a SpnegoAuth outside it, Require has no identity to check: 401, and a warning.
    let bare = test::init_service(
        App::new()
            .wrap(Require::realms(["EXAMPLE.TEST"]))
            .route("/", web::get().to(whoami)),
    )
    .await;
    let (s, _) = status_and_body(&bare, get("/", Some(alice_token().header()))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        logged(&["Require on GET /", "no SpnegoAuth covers"]),
        "{:?}",
        logs()
    );
}

/// Local names from krb5.conf's `auth_to_local` rules (the test realm maps `ops/*` to
/// `operator`, and MIT's default maps `alice@EXAMPLE.TEST` to `alice`): off by default,
/// mapped on request, and required: an unmapped principal is refused.
#[actix_web::test]
async fn local_names_come_from_auth_to_local_rules() {
    let realm = realm();
    static USERS: std::sync::OnceLock<(std::path::PathBuf, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    let (ops, unmapped) = USERS.get_or_init(|| {
        for name in ["ops/deploy", "web/admin"] {
            realm.add_user(name, "a-password").ok();
        }
        (
            realm.kinit("ops/deploy", "a-password", &[]).unwrap(),
            realm.kinit("web/admin", "a-password", &[]).unwrap(),
        )
    });
    let token = |cc: &std::path::Path| {
        Negotiation::start(cc, "HTTP@localhost")
            .unwrap()
            .header()
            .to_owned()
    };
    let app = |auth: SpnegoAuth| {
        test::init_service(App::new().wrap(auth).route(
            "/",
            web::get().to(|id: KerberosIdentity| async move {
                format!("{} {:?}", id.principal(), id.local_name())
            }),
        ))
    };
    let off = app(localhost().build().unwrap()).await;
    let (_, body) = status_and_body(&off, get("/", Some(alice_token().header()))).await;
    assert_eq!(body, "alice@EXAMPLE.TEST None", "off by default");

    let mapped = app(localhost().map_local_names().build().unwrap()).await;
    for (header, expected) in [
        (
            alice_token().header().to_owned(),
            "alice@EXAMPLE.TEST Some(\"alice\")",
        ),
        (token(ops), "ops/deploy@EXAMPLE.TEST Some(\"operator\")"),
        (token(unmapped), "web/admin@EXAMPLE.TEST None"),
    ] {
        let (status, body) = status_and_body(&mapped, get("/", Some(&header))).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, expected));
    }

    let required = app(localhost().require_local_names().build().unwrap()).await;
    let (status, body) = status_and_body(&required, get("/", Some(&token(ops)))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "ops/deploy@EXAMPLE.TEST Some(\"operator\")")
    );
    let (status, _) = status_and_body(&required, get("/unmapped", Some(&token(unmapped)))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        logged(&[
            "GET /unmapped",
            "web/admin@EXAMPLE.TEST has no local account name"
        ]),
        "{:?}",
        logs()
    );
}

/// actix-cors inside two nested `SpnegoAuth`s refuses a preflight from an origin it does not
/// allow (400): the client gets the 401, and the log says what happened, once, without the
/// advice to wrap actix-cors inside (it is).
#[actix_web::test]
async fn a_preflight_actix_cors_refuses_is_logged_once_and_truly() {
    realm();
    let app = test::init_service(
        App::new().wrap(localhost().build().unwrap()).service(
            web::scope("/nested")
                .wrap(cors())
                .wrap(localhost().build().unwrap())
                .default_service(web::to(|| async { "secret" })),
        ),
    )
    .await;
    let req = preflight("/nested/refused-origin")
        .insert_header((header::ORIGIN, "https://evil.example"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let lines: Vec<String> = logs()
        .into_iter()
        .filter(|l| l.contains("OPTIONS /nested/refused-origin") && !l.starts_with("DEBUG"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("INFO")
            && lines[0].contains("refused the CORS preflight (400 Bad Request)"),
        "{lines:?}"
    );
    // An allowed origin still gets actix-cors' answer through both.
    let res = test::call_service(&app, preflight("/nested/allowed").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://app.example.test"
    );
}
