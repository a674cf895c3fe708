//! Outbound calls when no KDC answers: a delegated credential taken from a real login, then
//! the realm's KDC stopped; asking for a ticket for the back end fails with
//! `ErrorKind::KdcUnreachable`, naming the user and the target, promptly and without a panic.
//! Its own binary: stopping the KDC ends the realm for every test after it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_gssapi::{
    Credentials, ErrorKind, KerberosIdentity, ServicePrincipal, SpnegoAuth, Target,
};
use actix_gssapi_testing::{ClientOptions, Negotiation, TestRealm};
use actix_web::{test, web, App};

#[actix_web::test]
async fn without_a_kdc_an_outbound_call_fails_saying_so() {
    common::capture_logs();
    let realm = TestRealm::start().expect("realm");
    realm.export_env();
    realm
        .add_service(
            "HTTP/kdc-down-backend.test",
            &realm.dir().join("backend.keytab"),
        )
        .expect("back-end principal");
    let taken: Arc<Mutex<Option<(String, Credentials)>>> = Arc::default();
    let keep = Arc::clone(&taken);
    let app = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .expect("acceptor"),
            )
            .route(
                "/",
                web::get().to(move |id: KerberosIdentity| {
                    let creds = id.delegated_credentials().cloned().expect("delegated");
                    *keep.lock().unwrap() = Some((id.principal().to_owned(), creds));
                    async { "taken" }
                }),
            ),
    )
    .await;
    let options = ClientOptions::new().delegate();
    let token = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options)
        .expect("alice's delegating token");
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header(("Authorization", token.header()))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "taken");
    let (principal, creds) = taken.lock().unwrap().take().expect("credentials");

    realm.stop_kdc().expect("stop the KDC");
    let started = Instant::now();
    let e = creds
        .negotiate(&Target::http("kdc-down-backend.test"))
        .await
        .expect_err("no KDC, no ticket");
    assert_eq!(e.kind(), ErrorKind::KdcUnreachable, "{e}");
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot call HTTP@kdc-down-backend.test as {principal}: no KDC answered: "
        )),
        "{message}"
    );
    assert!(!message.contains("Negotiate "), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}
