//! Against a real Active Directory DC (Samba, started by the `testing` feature): the groups in
//! an AD ticket's PAC reach handlers through `KerberosIdentity::pac()`, nested groups
//! included, as the DC itself computes them, and a user in 400 groups (a ~6 KB token) logs in
//! over a real connection.

mod common;

use actix_gssapi::testing::{shared_domain, Negotiation, TestDomain, MANY_GROUPS};
use actix_gssapi::{KerberosIdentity, Sid, SpnegoAuth};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpResponse};

fn domain() -> &'static TestDomain {
    common::capture_logs();
    shared_domain()
}

fn token(user: &str) -> Negotiation {
    let ccache = domain().kinit(user).expect("kinit");
    Negotiation::start(&ccache, "HTTP@localhost").expect("token")
}

/// The principal, then the user's SID, then every group SID, one per line.
async fn groups(id: KerberosIdentity) -> HttpResponse {
    let Some(pac) = id.pac() else {
        return HttpResponse::Ok().body(format!("{}\nno PAC", id.principal()));
    };
    let mut body = format!("{}\n{}\n", id.principal(), pac.user_sid());
    for sid in pac.group_sids() {
        body.push_str(&format!("{sid}\n"));
    }
    HttpResponse::Ok().body(body)
}

fn sid(name: &str) -> String {
    domain().sid(name).expect("sid")
}

#[actix_web::test]
async fn an_ad_ticket_brings_its_groups_nested_ones_included() {
    domain();
    let app = test::init_service(
        App::new()
            .wrap(SpnegoAuth::new().hostname("localhost"))
            .route("/", web::get().to(groups)),
    )
    .await;
    let client = token("alice");
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "alice@AD.TEST");
    assert_eq!(lines[1], sid("alice"));
    let groups = &lines[2..];
    // g1, g2 and g3 (global), glocal (domain local), guniv (universal), gnest (through g1),
    // and Domain Users (the primary group).
    for group in ["g1", "g2", "g3", "glocal", "guniv", "gnest", "Domain Users"] {
        assert!(
            groups.contains(&sid(group).as_str()),
            "{group} ({}) missing from {groups:?}",
            sid(group)
        );
    }
    // Nothing alice is not in.
    for group in ["mg001", "Domain Admins"] {
        assert!(
            !groups.contains(&sid(group).as_str()),
            "{group} in {groups:?}"
        );
    }
    assert!(groups.iter().all(|g| g.parse::<Sid>().is_ok()));

    // bob is in g3 only.
    let client = token("bob");
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    let body = test::call_and_read_body(&app, req).await;
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.starts_with("bob@AD.TEST\n"), "{body}");
    assert!(body.contains(&sid("g3")));
    assert!(!body.contains(&format!("{}\n", sid("g1"))));
}

/// A user in 400 groups: a ~6 KB token in a real HTTP request, every group decoded.
#[::core::prelude::v1::test]
fn a_user_in_400_groups_logs_in_over_a_real_connection() {
    domain();
    let addr = common::spawn_server(|| {
        App::new()
            .wrap(SpnegoAuth::new().hostname("localhost"))
            .route("/", web::get().to(groups))
    });
    let client = token("manygroups");
    assert!(
        client.header().len() > 5_000,
        "token of {} bytes",
        client.header().len()
    );
    let authorization = format!("Authorization: {}", client.header());
    let (status, body) = common::raw_get(addr, "/", &[&authorization]);
    assert_eq!(status, 200, "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "manygroups@AD.TEST");
    assert_eq!(lines[1], sid("manygroups"));
    // Its own groups, Domain Users, and the asserted-identity SID (S-1-18-1).
    assert_eq!(lines.len() - 2, MANY_GROUPS + 2, "{:?}", &lines[..5]);
    for group in ["mg001", "mg200", "mg400"] {
        assert!(lines.contains(&sid(group).as_str()), "{group}");
    }
}
