//! Anonymous tickets (anonymous PKINIT, `kinit -n`) from a real MIT KDC that issues them: refused
//! by default, accepted and marked only when the app opts in.
//!
//! MIT's acceptor never sets `GSS_C_ANON_FLAG` (measured here with MIT 1.20): an anonymous
//! client shows only in its name's type, `GSS_C_NT_ANONYMOUS`. These tests make sure that is
//! what the middleware looks at.

mod common;

use std::sync::OnceLock;

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::{Negotiation, TestRealm};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpResponse};
use common::{logged, logs};

const ANONYMOUS: &str = "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS";

/// This binary's realm: it issues anonymous tickets. Exported before the first GSSAPI call.
fn realm() -> &'static TestRealm {
    static REALM: OnceLock<TestRealm> = OnceLock::new();
    REALM.get_or_init(|| {
        common::capture_logs();
        let realm = TestRealm::start_with_anonymous_pkinit("ANON.TEST")
            .unwrap_or_else(|e| panic!("anonymous PKINIT realm: {e}"));
        realm.export_env();
        realm
    })
}

fn anonymous_token() -> Negotiation {
    static CCACHE: OnceLock<std::path::PathBuf> = OnceLock::new();
    let ccache = CCACHE.get_or_init(|| realm().kinit_anonymous().expect("kinit -n"));
    Negotiation::start(ccache, "HTTP@localhost").expect("anonymous token")
}

fn alice_token() -> Negotiation {
    Negotiation::start(&realm().alice_ccache(), "HTTP@localhost").expect("alice's token")
}

async fn describe(id: Option<KerberosIdentity>) -> HttpResponse {
    HttpResponse::Ok().body(match id {
        Some(id) => format!("{} anonymous={}", id.principal(), id.is_anonymous()),
        None => "nobody".to_owned(),
    })
}

async fn call(auth: SpnegoAuth, token: &Negotiation) -> (StatusCode, String) {
    let app = test::init_service(App::new().wrap(auth).route("/", web::get().to(describe))).await;
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, token.header()))
        .to_request();
    let res = test::call_service(&app, req).await;
    let status = res.status();
    (
        status,
        String::from_utf8_lossy(&test::read_body(res).await).into_owned(),
    )
}

#[actix_web::test]
async fn anonymous_tickets_are_forbidden_by_default() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .unwrap();
    let (status, body) = call(auth, &anonymous_token()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "Forbidden")
    );
    assert!(
        logged(&["refused", "anonymous ticket", ANONYMOUS]),
        "{:?}",
        logs()
    );
    // A named user of the same realm is not affected.
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .unwrap();
    let (status, body) = call(auth, &alice_token()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "alice@ANON.TEST anonymous=false")
    );
}

#[actix_web::test]
async fn optional_mode_treats_an_anonymous_ticket_as_no_login() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .unwrap()
        .optional();
    let (status, body) = call(auth, &anonymous_token()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "nobody"));
}

#[actix_web::test]
async fn allow_anonymous_accepts_and_marks_them() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .allow_anonymous()
        .build()
        .unwrap();
    let (status, body) = call(auth, &anonymous_token()).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            format!("{ANONYMOUS} anonymous=true").as_str()
        )
    );
}

/// A cookie from an anonymous login says so, and a `SpnegoAuth` with the same key, service and
/// context that refuses anonymous tickets refuses that cookie too (it asks for a ticket).
#[actix_web::test]
async fn a_cookie_from_an_anonymous_login_stays_anonymous() {
    use actix_gssapi::{Key, SessionCookie};
    realm();
    let key = Key::from(&[7; 64]);
    let cookie = || SessionCookie::new(key.clone()).secure(false);
    let app = |auth: SpnegoAuth| {
        test::init_service(App::new().wrap(auth).route("/", web::get().to(describe)))
    };
    let allowing = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .allow_anonymous()
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let strict = app(SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(cookie())
        .build()
        .unwrap())
    .await;
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, anonymous_token().header()))
        .to_request();
    let res = test::call_service(&allowing, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (pair, _) = common::session_cookie(&res);
    let with_cookie = || {
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, pair.clone()))
            .to_request()
    };
    let body = test::call_and_read_body(&allowing, with_cookie()).await;
    assert_eq!(body, format!("{ANONYMOUS} anonymous=true"));
    let res = test::call_service(&strict, with_cookie()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        logged(&["session cookie not used", "anonymous ticket"]),
        "{:?}",
        logs()
    );
}
