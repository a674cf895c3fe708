//! The GSSAPI step must not stall the worker that runs it.
//!
//! Every accept checks the keytab file and reads it again when it changed. Here the keytab is
//! swapped for a FIFO after start-up, so an accept blocks reading it until the test writes the
//! keys into the pipe — a real stuck disk, not a mocked GSSAPI. Meanwhile an open route on the
//! same single-threaded runtime must answer at once.

mod common;

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_gssapi::{Capacity, KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use common::{alice_token, realm};

#[actix_web::test]
async fn a_stuck_accept_does_not_stall_other_requests_on_the_worker() {
    let realm = realm();
    let keytab = realm.dir().join("blocking.keytab");
    std::fs::copy(realm.keytab(), &keytab).unwrap();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .keytab(keytab.display().to_string())
        .build()
        .unwrap();
    let app = Rc::new(
        test::init_service(
            App::new()
                .route("/open", web::get().to(|| async { "open" }))
                .service(web::resource("/").wrap(auth).route(
                    web::get().to(|id: KerberosIdentity| async move { id.principal().to_owned() }),
                )),
        )
        .await,
    );

    // From now on, reading the keytab blocks until the feeder fills the pipe, in 3 s.
    let feeder = common::stall_keytab(&keytab, Duration::from_secs(3));

    let token = alice_token();
    let protected = {
        let app = Rc::clone(&app);
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, token.header()))
            .to_request();
        actix_rt::spawn(async move { test::call_service(&*app, req).await.status() })
    };
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !protected.is_finished(),
        "the accept should be stuck reading the keytab FIFO"
    );

    let started = Instant::now();
    let open = test::call_service(&*app, test::TestRequest::get().uri("/open").to_request()).await;
    let took = started.elapsed();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(
        took < Duration::from_secs(1),
        "the open route waited {took:?} for a stuck GSSAPI call"
    );
    assert!(
        !protected.is_finished(),
        "the open route answered while the accept was still stuck"
    );

    let status = actix_rt::time::timeout(Duration::from_secs(15), protected)
        .await
        .expect("the stuck request completes once the keytab is readable")
        .unwrap();
    assert!(
        feeder.join().unwrap(),
        "the accept read the keytab through the FIFO"
    );
    // MIT seeks in the keytab file, which a pipe cannot do, so the stuck accept itself may
    // end either way; what matters is that it ended with a documented answer.
    assert!(
        status == StatusCode::OK || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    // With the keytab readable again, the server authenticates as usual.
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, alice_token().header()))
        .to_request();
    let body = test::call_and_read_body(&*app, req).await;
    assert_eq!(body, "alice@EXAMPLE.TEST");
}

/// A replay of a token the replay store holds is answered on the worker, before GSSAPI: with
/// the only GSSAPI thread stuck on the keytab, it still gets its `403` at once. (So a flood of
/// one captured token costs no accepts: `tests/flood.rs`.)
#[actix_web::test]
async fn a_replay_is_refused_without_waiting_for_a_gssapi_thread() {
    let realm = realm();
    let keytab = realm.dir().join("replay-early.keytab");
    std::fs::copy(realm.keytab(), &keytab).unwrap();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .keytab(keytab.display().to_string())
        .capacity(Capacity::new().accept_threads(1))
        .build()
        .unwrap();
    let app = Rc::new(
        test::init_service(App::new().service(web::resource("/").wrap(auth).route(
            web::get().to(|id: KerberosIdentity| async move { id.principal().to_owned() }),
        )))
        .await,
    );
    let get = |header: &str| {
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, header.to_owned()))
            .to_request()
    };
    let used = alice_token();
    let res = test::call_service(&*app, get(used.header())).await;
    assert_eq!(res.status(), StatusCode::OK);

    let feeder = common::stall_keytab(&keytab, Duration::from_secs(3));
    let stuck = {
        let app = Rc::clone(&app);
        let req = get(alice_token().header());
        actix_rt::spawn(async move { test::call_service(&*app, req).await.status() })
    };
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert!(!stuck.is_finished(), "the fresh login should be stuck");

    let started = Instant::now();
    let replay = test::call_service(&*app, get(used.header())).await;
    let took = started.elapsed();
    assert_eq!(replay.status(), StatusCode::FORBIDDEN);
    assert!(
        took < Duration::from_millis(500),
        "the replay waited {took:?} for the stuck GSSAPI thread"
    );
    assert!(!stuck.is_finished(), "the replay was answered first");
    assert!(
        common::logged(&["accepted before (replay store): a replay"]),
        "{:?}",
        common::logs()
    );
    actix_rt::time::timeout(Duration::from_secs(15), stuck)
        .await
        .expect("the stuck login completes once the keytab is readable")
        .unwrap();
    assert!(feeder.join().unwrap());
}
