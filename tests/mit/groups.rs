//! Groups for tickets that carry none (MIT tickets have no PAC), from a `GroupSource`: the
//! host's name service here, end to end through a real login, a group rule and a session
//! cookie.

use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;

use actix_gssapi::{
    GroupSource, KerberosIdentity, Key, Require, ServicePrincipal, SessionCookie, SpnegoAuth,
};
use actix_gssapi_testing::{id_groups, Negotiation};
use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, web, App};
use common::{alice_token, realm};

/// The host's own account `daemon` (every Debian machine has it) as a principal of the test
/// realm: MIT's default `auth_to_local` rule maps `daemon@EXAMPLE.TEST` to `daemon`.
fn daemon_ccache() -> &'static PathBuf {
    static CCACHE: OnceLock<PathBuf> = OnceLock::new();
    CCACHE.get_or_init(|| {
        let realm = realm();
        realm.add_user("daemon", "a-password").ok();
        realm.kinit("daemon", "a-password", &[]).unwrap()
    })
}

fn daemon_token() -> String {
    Negotiation::start(daemon_ccache(), "HTTP@localhost")
        .unwrap()
        .header()
        .to_owned()
}

async fn list(id: KerberosIdentity) -> String {
    let mut names: Vec<&str> = id.groups().iter().map(|g| g.name()).collect();
    names.sort_unstable();
    format!(
        "{} session={} local={:?} groups={}",
        id.principal(),
        id.is_from_session_cookie(),
        id.local_name(),
        names.join(",")
    )
}

fn request(path: &str, header: (header::HeaderName, &str)) -> actix_http::Request {
    atest::TestRequest::get()
        .uri(path)
        .insert_header(header)
        .to_request()
}

#[actix_web::test]
async fn the_name_service_gives_groups_that_rules_and_cookies_use() {
    realm();
    let expected = id_groups("daemon").unwrap();
    assert!(!expected.is_empty());
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .groups(GroupSource::name_service())
        .session_cookie(SessionCookie::new(Key::from(&[9; 64])).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(
        App::new()
            .wrap(auth)
            .route("/", web::get().to(list))
            .service(
                web::scope("/ops")
                    .wrap(Require::any_group_named([expected[0].as_str()]))
                    .route("/", web::get().to(list)),
            ),
    )
    .await;

    // daemon: the host's groups, as `id` lists them; the local name was asked for the lookup
    // only (map_local_names is off), so the identity does not show it.
    let res = atest::call_service(
        &app,
        request("/ops/", (header::AUTHORIZATION, &daemon_token())),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (cookie, _) = common::session_cookie(&res);
    let body = atest::read_body(res).await;
    assert_eq!(
        body,
        format!(
            "daemon@EXAMPLE.TEST session=false local=None groups={}",
            expected.join(",")
        )
    );

    // The cookie carries them: the group rule admits the cookie alone.
    let res = atest::call_service(&app, request("/ops/", (header::COOKIE, &cookie))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        atest::read_body(res).await,
        format!(
            "daemon@EXAMPLE.TEST session=true local=None groups={}",
            expected.join(",")
        )
    );

    // alice has no account on this host: no groups, refused by the rule with 403, let in
    // where no rule asks.
    let alice = alice_token();
    let res =
        atest::call_service(&app, request("/", (header::AUTHORIZATION, alice.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (alice_cookie, _) = common::session_cookie(&res);
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=false local=None groups="
    );
    let res = atest::call_service(
        &app,
        request("/ops/", (header::AUTHORIZATION, alice_token().header())),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        common::logged(&["alice@EXAMPLE.TEST", "member of any of the groups named"]),
        "{:?}",
        common::logs()
    );
    // Her cookie refused by the rule: 401, so that a ticket decides.
    let res = atest::call_service(&app, request("/ops/", (header::COOKIE, &alice_cookie))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// With `map_local_names` on, the identity shows the name the lookup used.
#[actix_web::test]
async fn the_local_name_shows_when_names_are_mapped() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .groups(GroupSource::name_service())
        .map_local_names()
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(list))).await;
    let res =
        atest::call_service(&app, request("/", (header::AUTHORIZATION, &daemon_token()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        atest::read_body(res).await,
        format!(
            "daemon@EXAMPLE.TEST session=false local=Some(\"daemon\") groups={}",
            id_groups("daemon").unwrap().join(",")
        )
    );
}
