//! Session cookies: issued after Negotiate, accepted instead of a token, refused when tampered,
//! expired or made with a foreign key, shared by every node with the key, rotatable.

use crate::common;

use std::time::Duration;

use actix_gssapi::{KerberosIdentity, Key, ServicePrincipal, SessionCookie, SpnegoAuth};
use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, web, App, HttpResponse};
use common::{alice_token, logs, realm};

fn key(byte: u8) -> Key {
    Key::from(&[byte; 64])
}

async fn describe(id: KerberosIdentity) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{} session={} delegated={}",
        id.principal(),
        id.is_from_session_cookie(),
        id.delegated_credentials().is_some()
    ))
}

fn with_cookie(cookie: &str) -> actix_http::Request {
    atest::TestRequest::get()
        .uri("/")
        .insert_header((header::COOKIE, cookie))
        .to_request()
}

/// `name=value` of the `Set-Cookie` in `res`, and the whole header.
fn set_cookie<B>(res: &actix_web::dev::ServiceResponse<B>) -> (String, String) {
    let (pair, _) = common::session_cookie(res);
    let full = res.headers().get(header::SET_COOKIE).unwrap();
    (pair, full.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn negotiate_login_issues_a_cookie_that_later_requests_use_instead() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(1)).max_age(Duration::from_secs(600)))
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(describe))).await;
    let login = atest::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, alice_token().header()))
        .to_request();
    let res = atest::call_service(&app, login).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (pair, full) = set_cookie(&res);
    // Secure, Path=/, no Domain: the name gets the __Host- prefix, so that no other host
    // (a sibling subdomain) can set a cookie the browser would send here.
    assert!(pair.starts_with("__Host-gssapi_session="), "{full}");
    assert!(
        !full.contains("alice"),
        "the principal is encrypted: {full}"
    );
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(full.contains(attribute), "{attribute} missing: {full}");
    }
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=false delegated=false"
    );

    let res = atest::call_service(&app, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::WWW_AUTHENTICATE).is_none());
    assert!(
        res.headers().get(header::SET_COOKIE).is_none(),
        "not re-issued"
    );
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=true delegated=false"
    );
    let value = pair.split_once('=').unwrap().1;
    assert!(
        logs().iter().all(|l| !l.contains(value)),
        "a cookie value was logged"
    );
}

#[actix_web::test]
async fn tampered_expired_and_foreign_cookies_fall_back_to_negotiate() {
    realm();
    let auth = |k: Key, max_age: u64| {
        SpnegoAuth::builder()
            .principal(ServicePrincipal::host("localhost"))
            .session_cookie(
                SessionCookie::new(k)
                    .max_age(Duration::from_secs(max_age))
                    .secure(false),
            )
            .build()
            .unwrap()
    };
    let app = atest::init_service(
        App::new()
            .wrap(auth(key(1), 2))
            .route("/", web::get().to(describe)),
    )
    .await;
    let login = atest::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, alice_token().header()))
        .to_request();
    let res = atest::call_service(&app, login).await;
    let (pair, full) = set_cookie(&res);
    assert!(!full.contains("Secure"), "{full}");

    // Tampered: one character changed.
    let mut tampered = pair.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'x' { b'y' } else { b'x' };
    let res = atest::call_service(&app, with_cookie(std::str::from_utf8(&tampered).unwrap())).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        "Negotiate"
    );

    // Foreign key: a server with another key refuses it.
    let other = atest::init_service(
        App::new()
            .wrap(auth(key(9), 2))
            .route("/", web::get().to(describe)),
    )
    .await;
    let res = atest::call_service(&other, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A cookie plus a valid token: the token still works.
    let req = atest::TestRequest::get()
        .uri("/")
        .insert_header((header::COOKIE, std::str::from_utf8(&tampered).unwrap()))
        .insert_header((header::AUTHORIZATION, alice_token().header()))
        .to_request();
    assert_eq!(
        atest::call_service(&app, req).await.status(),
        StatusCode::OK
    );

    // Expired: past its two-second max age.
    assert_eq!(
        atest::call_service(&app, with_cookie(&pair)).await.status(),
        StatusCode::OK
    );
    actix_rt::time::sleep(Duration::from_millis(3100)).await;
    let res = atest::call_service(&app, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        common::logged(&["session cookie has expired"]),
        "{:?}",
        logs()
    );
}

/// Two real servers (two processes' worth of state: each its own acceptor and middleware),
/// sharing one key, as behind a load balancer; curl logs in on one and uses the cookie on the
/// other. Then a key rotation: a node with the new key and the old one as previous still
/// accepts the old cookie; a node with only the new key does not.
#[test]
fn a_cookie_from_one_node_is_accepted_by_every_node_with_the_key() {
    let realm = realm();
    let node = |current: Key, previous: Option<Key>| {
        let mut cookie = SessionCookie::new(current).secure(false);
        if let Some(previous) = previous {
            cookie = cookie.previous_keys([previous]);
        }
        common::serve(
            SpnegoAuth::builder()
                .principal(ServicePrincipal::host("localhost"))
                .session_cookie(cookie),
        )
    };
    let a = node(key(1), None);
    let b = node(key(1), None);
    let rotated = node(key(2), Some(key(1)));
    let new_only = node(key(2), None);

    let jar = realm.dir().join("cookies.txt");
    let env = realm.env();
    let curl = |addr: std::net::SocketAddr, args: &[&str]| -> String {
        let url = format!("http://localhost:{}/node", addr.port());
        let mut args = args.to_vec();
        args.push(&url);
        let (code, body) = common::curl(&args, &env);
        format!("{body} {code}")
    };
    let jar_s = jar.display().to_string();
    assert_eq!(
        curl(a, &["--negotiate", "-u", ":", "-c", &jar_s]),
        "Hello, alice@EXAMPLE.TEST 200"
    );
    // No Negotiate from here on: only the cookie.
    assert_eq!(curl(b, &["-b", &jar_s]), "Hello, alice@EXAMPLE.TEST 200");
    assert_eq!(
        curl(rotated, &["-b", &jar_s]),
        "Hello, alice@EXAMPLE.TEST 200"
    );
    assert_eq!(curl(new_only, &["-b", &jar_s]), "Unauthorized 401");
}

/// A session key shared by two services does not make them one login: the cookie is bound to
/// the service name the issuing `SpnegoAuth` accepts and to its context.
#[actix_web::test]
async fn a_cookie_is_only_accepted_by_its_own_audience() {
    let realm = realm();
    let other_keytab = realm.dir().join("other-service.keytab");
    realm
        .add_service("HTTP/other.example", &other_keytab)
        .unwrap();
    let cookie = || SessionCookie::new(key(3)).secure(false);
    let app = |auth: SpnegoAuth| {
        atest::init_service(App::new().wrap(auth).route("/", web::get().to(describe)))
    };
    let a = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let a_second_node = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let other_service = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("other.example"))
        .keytab(other_keytab.display().to_string())
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let other_context = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(cookie().context("payroll"))
        .build()
        .unwrap())
    .await;

    // The other service refuses alice's ticket for HTTP/localhost...
    let login = |token: String| {
        atest::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, token))
            .to_request()
    };
    let res = atest::call_service(&other_service, login(alice_token().header().to_owned())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // ...and so must it refuse the session that ticket opened on A.
    let res = atest::call_service(&a, login(alice_token().header().to_owned())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (pair, _) = set_cookie(&res);
    let res = atest::call_service(&other_service, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = atest::call_service(&other_context, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        common::logged(&["issued for another service name or context"]),
        "{:?}",
        logs()
    );
    let res = atest::call_service(&a_second_node, with_cookie(&pair)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=true delegated=false"
    );
}

/// A sibling host can plant a cookie of our name for the parent domain (login CSRF, session
/// fixation). With two cookies of our name the request is not authenticated by either.
#[actix_web::test]
async fn two_session_cookies_of_our_name_authenticate_nobody() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(4)).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(describe))).await;
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let req = atest::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, alice_token().header()))
            .to_request();
        let res = atest::call_service(&app, req).await;
        pairs.push(set_cookie(&res).0);
    }
    for pair in &pairs {
        let res = atest::call_service(&app, with_cookie(pair)).await;
        assert_eq!(res.status(), StatusCode::OK, "each one alone is valid");
    }
    for cookies in [
        format!("{}; {}", pairs[0], pairs[1]),
        format!("{}; gssapi_session=planted", pairs[0]),
    ] {
        let res = atest::call_service(&app, with_cookie(&cookies)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        common::logged(&["several session cookies of this name"]),
        "{:?}",
        logs()
    );
}

#[actix_web::test]
async fn a_host_prefixed_cookie_name_browsers_would_drop_fails_at_build() {
    realm();
    let err = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(5)).name("__Host-sso").secure(false))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), actix_gssapi::ErrorKind::Config);
    assert!(err.to_string().contains("__Host-sso"), "{err}");
}

/// A second user, for a cookie of one user beside the ticket of another.
fn bob_token(options: actix_gssapi_testing::ClientOptions) -> actix_gssapi_testing::Negotiation {
    let ccache = common::bob_ccache();
    actix_gssapi_testing::Negotiation::start_with(&ccache, "HTTP@localhost", options).unwrap()
}

fn cookie_and(cookie: &str, authorization: &str) -> actix_http::Request {
    atest::TestRequest::get()
        .uri("/")
        .insert_header((header::COOKIE, cookie))
        .insert_header((header::AUTHORIZATION, authorization))
        .to_request()
}

/// A `GET /` with only `authorization`.
fn with_token(authorization: &str) -> actix_http::Request {
    atest::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, authorization))
        .to_request()
}

/// alice's token, made with `options` (delegating, raw Kerberos 5).
fn alice_with(options: actix_gssapi_testing::ClientOptions) -> actix_gssapi_testing::Negotiation {
    actix_gssapi_testing::Negotiation::start_with(
        &realm().alice_ccache(),
        "HTTP@localhost",
        options,
    )
    .unwrap()
}

/// alice's cookie, from a real login on `app`.
async fn alice_cookie<S, B>(app: &S) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let res = atest::call_service(app, with_token(alice_token().header())).await;
    assert_eq!(res.status(), StatusCode::OK);
    set_cookie(&res).0
}

/// mod_auth_gssapi's rule: a session is used only for a request without `Authorization`. A
/// ticket beside a cookie is checked and decides; a success replaces the cookie.
#[actix_web::test]
async fn a_ticket_beside_a_cookie_decides_and_replaces_it() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(6)).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(describe))).await;
    let alice = alice_cookie(&app).await;

    let res = atest::call_service(
        &app,
        cookie_and(&alice, bob_token(Default::default()).header()),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (bobs, _) = set_cookie(&res);
    assert_ne!(bobs, alice, "a fresh cookie replaces alice's");
    assert!(res.headers().get(header::WWW_AUTHENTICATE).is_some());
    assert_eq!(
        atest::read_body(res).await,
        "bob@EXAMPLE.TEST session=false delegated=false"
    );
    // The new cookie is bob's; alice's own still works alone (it has not expired).
    let res = atest::call_service(&app, with_cookie(&bobs)).await;
    assert_eq!(
        atest::read_body(res).await,
        "bob@EXAMPLE.TEST session=true delegated=false"
    );
    let res = atest::call_service(&app, with_cookie(&alice)).await;
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=true delegated=false"
    );

    // A delegated ticket beside a cookie brings its credential.
    let delegated = bob_token(actix_gssapi_testing::ClientOptions::new().delegate());
    let res = atest::call_service(&app, cookie_and(&alice, delegated.header())).await;
    assert_eq!(
        atest::read_body(res).await,
        "bob@EXAMPLE.TEST session=false delegated=true"
    );
}

/// Bad credentials beside a valid cookie get the wire table's answer, never the cookie's user.
#[actix_web::test]
async fn bad_credentials_beside_a_cookie_are_refused_not_ignored() {
    realm();
    let cookie = || SessionCookie::new(key(7)).secure(false);
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = atest::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .session_cookie(cookie())
                    .build()
                    .unwrap(),
            )
            .route("/", common::counting_route(&calls, "served")),
    )
    .await;
    let alice = alice_cookie(&app).await;
    let used = alice_token();
    let res = atest::call_service(&app, cookie_and(&alice, used.header())).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a fresh token beside the cookie"
    );
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    for (authorization, status) in [
        ("Negotiate !!!notbase64", StatusCode::FORBIDDEN),
        (used.header(), StatusCode::FORBIDDEN),
        (
            "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
            StatusCode::FORBIDDEN,
        ),
        ("Negotiate YIIBAA==", StatusCode::FORBIDDEN),
        ("Bearer abc", StatusCode::UNAUTHORIZED),
        ("Basic YWxpY2U6cHc=", StatusCode::UNAUTHORIZED),
    ] {
        let res = atest::call_service(&app, cookie_and(&alice, authorization)).await;
        assert_eq!(res.status(), status, "{authorization:.20}");
        assert!(res.headers().get(header::SET_COOKIE).is_none());
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "the handler ran for a refused request"
    );
    assert!(
        common::logged(&["accepted before (replay store): a replay"]),
        "{:?}",
        logs()
    );

    // In optional mode a refused token goes on anonymously, as without a cookie.
    let optional = atest::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .session_cookie(cookie())
                    .build()
                    .unwrap()
                    .optional(),
            )
            .route(
                "/",
                web::get().to(|id: Option<KerberosIdentity>| async move {
                    id.map_or("anonymous".to_owned(), |id| id.principal().to_owned())
                }),
            ),
    )
    .await;
    let alice = alice_cookie(&optional).await;
    let res = atest::call_service(&optional, cookie_and(&alice, "Negotiate !!!")).await;
    assert_eq!(atest::read_body(res).await, "anonymous");
    let res = atest::call_service(&optional, with_cookie(&alice)).await;
    assert_eq!(atest::read_body(res).await, "alice@EXAMPLE.TEST");
}

/// A cookie carries how its login was made; a `SpnegoAuth` with the same key, service and
/// context but stricter rules takes none that a ticket login there would not have passed.
#[actix_web::test]
async fn a_stricter_spnego_auth_refuses_cookies_of_looser_logins() {
    realm();
    let cookie = || SessionCookie::new(key(8)).secure(false);
    let who = |id: KerberosIdentity| async move {
        format!(
            "{} session={} local={:?} mechanism={}",
            id.principal(),
            id.is_from_session_cookie(),
            id.local_name(),
            id.mechanism()
        )
    };
    let app = |auth: SpnegoAuth| {
        atest::init_service(App::new().wrap(auth).route("/", web::get().to(who)))
    };
    let loose = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let mapping = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .map_local_names()
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let requiring_names = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .require_local_names()
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let (cert, _) = common::tls_cert();
    let der = rustls::pki_types::CertificateDer::pem_file_iter(&cert)
        .and_then(|mut c| c.next().unwrap())
        .map(|c| c.as_ref().to_vec());
    use rustls::pki_types::pem::PemObject as _;
    let bindings = actix_gssapi::ChannelBindings::tls_server_end_point(&der.unwrap()).unwrap();
    let requiring_bindings = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .channel_bindings(bindings.required().behind_tls_proxy())
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;

    let loose_cookie = alice_cookie(&loose).await;
    for (app, name) in [
        (&mapping, "mapping"),
        (&requiring_names, "requiring local names"),
        (&requiring_bindings, "requiring channel bindings"),
    ] {
        let res = atest::call_service(app, with_cookie(&loose_cookie)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Negotiate"
        );
    }
    assert!(
        common::logged(&["session cookie not used", "were not mapped"]),
        "{:?}",
        logs()
    );
    assert!(
        common::logged(&["session cookie not used", "ChannelBindings::required"]),
        "{:?}",
        logs()
    );

    // A cookie from a login that mapped names brings the name; one from a raw Kerberos 5
    // token says so.
    let raw = alice_with(actix_gssapi_testing::ClientOptions::new().raw_krb5());
    let res = atest::call_service(&mapping, with_token(raw.header())).await;
    let (mapped_cookie, _) = set_cookie(&res);
    for app in [&mapping, &requiring_names] {
        let res = atest::call_service(app, with_cookie(&mapped_cookie)).await;
        assert_eq!(
            atest::read_body(res).await,
            "alice@EXAMPLE.TEST session=true local=Some(\"alice\") mechanism=Kerberos"
        );
    }
    // A SpnegoAuth that does not map names does not show one.
    let res = atest::call_service(&loose, with_cookie(&mapped_cookie)).await;
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=true local=None mechanism=Kerberos"
    );
}

/// A rule a cookie cannot meet asks for a ticket (401) instead of refusing (403): here,
/// delegated credentials, which no cookie carries.
#[actix_web::test]
async fn a_rule_the_cookie_cannot_meet_asks_for_a_ticket() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(9)).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(
        App::new().wrap(auth).service(
            web::scope("")
                .wrap(actix_gssapi::Require::delegated_credentials())
                .route("/", web::get().to(describe)),
        ),
    )
    .await;
    // alice logs in with a delegated ticket and gets a cookie...
    let delegating = || alice_with(actix_gssapi_testing::ClientOptions::new().delegate());
    let res = atest::call_service(&app, with_token(delegating().header())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (cookie, _) = set_cookie(&res);
    // ...which alone cannot bring the credential: 401 with the challenge, not 403.
    let res = atest::call_service(&app, with_cookie(&cookie)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        "Negotiate"
    );
    assert!(
        common::logged(&["does not meet the authorization rule (delegated credentials)"]),
        "{:?}",
        logs()
    );
    // The browser answers the challenge with a ticket: a ticket without delegation is 403...
    let res = atest::call_service(&app, cookie_and(&cookie, alice_token().header())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // ...a delegated one gets in.
    let res = atest::call_service(&app, cookie_and(&cookie, delegating().header())).await;
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=false delegated=true"
    );
}

/// Browsers drop a `Secure` cookie set over plain HTTP: the first such answer logs a warning
/// that says what to do, once.
#[actix_web::test]
async fn a_secure_cookie_over_plain_http_is_warned_about_once() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(10)).name("warned_cookie"))
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(describe))).await;
    for _ in 0..3 {
        alice_cookie(&app).await;
    }
    let warnings = logs()
        .iter()
        .filter(|l| l.starts_with("WARN") && l.contains("session cookie warned_cookie is Secure"))
        .count();
    assert_eq!(warnings, 1, "{:?}", logs());
    assert!(common::logged(&["SessionCookie::secure(false)"]));
    // Behind a TLS proxy that says so, nothing is logged.
    let proxied = atest::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .session_cookie(SessionCookie::new(key(10)).name("proxied_cookie"))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(describe)),
    )
    .await;
    let req = atest::TestRequest::get()
        .uri("/")
        .insert_header(("X-Forwarded-Proto", "https"))
        .insert_header((header::AUTHORIZATION, alice_token().header()))
        .to_request();
    assert_eq!(
        atest::call_service(&proxied, req).await.status(),
        StatusCode::OK
    );
    assert!(!common::logged(&["proxied_cookie is Secure"]));
}

/// The optional-login shape the docs teach for browsers (which send a ticket only after a
/// `401`): an optional `SpnegoAuth` with sessions around the app, a `/login` resource that
/// requires a login; the cookie it sets identifies the user on the open routes.
#[actix_web::test]
async fn a_login_route_inside_optional_login_identifies_browsers_everywhere() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(key(11)).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(
        App::new()
            .wrap(auth.clone().optional())
            .route(
                "/",
                web::get().to(|id: Option<KerberosIdentity>| async move {
                    id.map_or("stranger".to_owned(), |id| id.principal().to_owned())
                }),
            )
            .service(web::resource("/login").wrap(auth.clone()).to(|| async {
                HttpResponse::SeeOther()
                    .insert_header(("Location", "/"))
                    .finish()
            })),
    )
    .await;
    let get = |path: &str| atest::TestRequest::get().uri(path);
    // What a browser does: no credentials on the open route...
    let body = atest::call_and_read_body(&app, get("/").to_request()).await;
    assert_eq!(body, "stranger");
    // ...the login route challenges it...
    let res = atest::call_service(&app, get("/login").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        "Negotiate"
    );
    // ...it answers with a ticket and gets the cookie...
    let res = atest::call_service(
        &app,
        get("/login")
            .insert_header((header::AUTHORIZATION, alice_token().header()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (pair, _) = set_cookie(&res);
    // ...which identifies it on the open route from then on.
    let body = atest::call_and_read_body(
        &app,
        get("/").insert_header((header::COOKIE, pair)).to_request(),
    )
    .await;
    assert_eq!(body, "alice@EXAMPLE.TEST");
}
