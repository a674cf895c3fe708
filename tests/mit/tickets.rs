//! Tickets that must fail, and key rotation that must keep working without a restart.

use crate::common;

use std::net::SocketAddr;
use std::sync::OnceLock;

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::{Negotiation, CLOCK_SKEW_SECS};
use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, web, App};
use common::{logged, logs, realm};

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        common::serve(SpnegoAuth::builder().principal(ServicePrincipal::host("localhost")))
    })
}

/// `curl --negotiate` against `path`, optionally under `faketime <offset>`, with `ccache`;
/// returns the status.
fn curl(path: &str, ccache: &std::path::Path, faketime: Option<&str>) -> String {
    let url = format!("http://localhost:{}{path}", server().port());
    let mut env = realm().env();
    env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    let wrapper: &[&str] = match faketime {
        Some(offset) => &["faketime", "-f", offset],
        None => &[],
    };
    let (code, _) = common::curl_via(wrapper, &["--negotiate", "-u", ":", &url], &env);
    code.to_string()
}

#[test]
fn a_client_clock_skewed_beyond_the_allowance_is_forbidden() {
    let realm = realm();
    realm.add_user("skewed", "skewed-password").unwrap();
    let ccache = realm.kinit("skewed", "skewed-password", &[]).unwrap();
    // Fetch the service ticket at the real time: the KDC would refuse a skewed request, but a
    // client with a cached ticket builds its authenticator from its own (wrong) clock.
    realm
        .fetch_service_ticket(&ccache, "HTTP/localhost")
        .unwrap();
    // Within the allowance (the test realm allows CLOCK_SKEW_SECS) it works...
    const { assert!(CLOCK_SKEW_SECS > 2) };
    assert_eq!(curl("/skew-small", &ccache, Some("+2s")), "200");
    // ...ten minutes off (beyond MIT's default five as well) it does not.
    assert_eq!(curl("/skew-large", &ccache, Some("+10m")), "403");
    assert!(
        logged(&["GET /skew-large", "Clock skew too great"]),
        "{:?}",
        logs()
    );
    assert!(!common::called("/skew-large"));
    assert!(common::called("/skew-small"));
}

/// Kerberos has no revocation: the acceptor never asks the KDC about the client, and MIT's
/// KDC still serves a disabled principal's existing TGT. Disabling an account therefore locks
/// it out when its tickets expire (the ticket lifetime is the revocation delay, as with
/// mod_auth_gssapi and every Kerberos service); this pins that behaviour down.
#[test]
fn a_disabled_principal_is_locked_out_when_its_tickets_expire() {
    let realm = realm();
    realm
        .kadmin("addprinc -maxlife \"3 seconds\" -pw dave-password dave")
        .unwrap();
    let ccache = realm.kinit("dave", "dave-password", &[]).unwrap();
    realm.kadmin("modprinc -allow_tix dave").unwrap();
    // Until they expire, tickets issued before the account was disabled still work.
    assert_eq!(curl("/disabled-early", &ccache, None), "200");
    assert!(common::called("/disabled-early"));
    // Afterwards: no new TGT, and the old ones are past their end time (plus skew allowance).
    let relogin = realm.kinit("dave", "dave-password", &[]).unwrap_err();
    assert!(relogin.to_string().contains("revoked"), "{relogin}");
    std::thread::sleep(std::time::Duration::from_secs(3 + CLOCK_SKEW_SECS + 1));
    let status = curl("/disabled-late", &ccache, None);
    assert_eq!(
        status, "401",
        "curl has no valid ticket left, so it cannot answer the challenge"
    );
    assert!(!common::called("/disabled-late"));
}

#[actix_web::test]
async fn key_rotation_needs_no_restart_and_removed_keys_stop_working() {
    let realm = realm();
    let keytab = realm.dir().join("rotate.keytab");
    realm.add_service("HTTP/rotate.test", &keytab).unwrap();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("rotate.test"))
        .keytab(keytab.display().to_string())
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).default_service(web::to(
        |id: KerberosIdentity| async move { id.principal().to_owned() },
    )))
    .await;
    let status = |token: &Negotiation| {
        atest::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, token.header()))
            .to_request()
    };
    realm.add_user("old-ticket", "pw-old").unwrap();
    realm.add_user("new-ticket", "pw-new").unwrap();
    let old_cc = realm.kinit("old-ticket", "pw-old", &[]).unwrap();
    let new_cc = realm.kinit("new-ticket", "pw-new", &[]).unwrap();

    // kvno 1: the client caches a ticket encrypted with it.
    let t = Negotiation::start(&old_cc, "HTTP@rotate.test").unwrap();
    assert_eq!(
        atest::call_service(&app, status(&t)).await.status(),
        StatusCode::OK
    );

    // Rotate on disk: a new key (kvno 2) is added beside the old one. Same server.
    realm
        .kadmin(&format!("ktadd -k {} HTTP/rotate.test", keytab.display()))
        .unwrap();
    let t = Negotiation::start(&new_cc, "HTTP@rotate.test").unwrap();
    assert_eq!(
        atest::call_service(&app, status(&t)).await.status(),
        StatusCode::OK,
        "a ticket for the new key is accepted without a restart"
    );
    let t = Negotiation::start(&old_cc, "HTTP@rotate.test").unwrap();
    assert_eq!(
        atest::call_service(&app, status(&t)).await.status(),
        StatusCode::OK,
        "old tickets keep working while the old key is in the keytab"
    );

    // Retire the old key: tickets for it are refused, new ones still work.
    realm
        .kadmin(&format!(
            "ktremove -k {} HTTP/rotate.test old",
            keytab.display()
        ))
        .unwrap();
    let t = Negotiation::start(&old_cc, "HTTP@rotate.test").unwrap();
    let res = atest::call_service(&app, status(&t)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "{:?}", logs());
    let t = Negotiation::start(&new_cc, "HTTP@rotate.test").unwrap();
    assert_eq!(
        atest::call_service(&app, status(&t)).await.status(),
        StatusCode::OK
    );
}
