//! Outbound calls when the KDC stalls, then dies: a real login's delegated credential asks
//! for a ticket for a back end while the realm's KDC is stopped (`SIGSTOP`): the call waits on
//! the crate's outbound GSSAPI threads, and an open route on the same (single) actix worker
//! keeps answering at once; once the KDC is killed, the call fails with
//! `ErrorKind::KdcUnreachable`, naming the user and the target. Its own binary: the realm is
//! gone for every test after it.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth, Target};
use actix_gssapi_testing::{ClientOptions, Negotiation, TestRealm};
use actix_web::{web, App, HttpResponse};

/// Set by the handler just before it asks for the back end's ticket.
static CALLING: AtomicBool = AtomicBool::new(false);

async fn call(id: KerberosIdentity) -> HttpResponse {
    CALLING.store(true, Ordering::SeqCst);
    match id.negotiate(&Target::http("kdc-down-backend.test")).await {
        Ok(_) => HttpResponse::Ok().body("token made"),
        Err(e) => HttpResponse::BadGateway().body(format!("{:?}: {e}", e.kind())),
    }
}

fn signal(realm: &TestRealm, signal: &str) {
    let pid = std::fs::read_to_string(realm.dir().join("kdc.pid")).expect("kdc.pid");
    let status = Command::new("kill")
        .args([signal, pid.trim()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn a_stalled_kdc_holds_no_worker_and_a_dead_one_is_kdc_unreachable() {
    common::capture_logs();
    let realm = TestRealm::start().expect("realm");
    realm.export_env();
    realm
        .add_service(
            "HTTP/kdc-down-backend.test",
            &realm.dir().join("backend.keytab"),
        )
        .expect("back-end principal");
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .expect("acceptor");
    let addr = common::spawn_server(move || {
        App::new()
            .route("/open", web::get().to(|| async { "open" }))
            .service(web::resource("/").wrap(auth.clone()).to(call))
    });
    let url = |path: &str| format!("http://localhost:{}{path}", addr.port());
    let delegating = || {
        let options = ClientOptions::new().delegate();
        let token = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options)
            .expect("alice's delegating token");
        format!("Authorization: {}", token.header())
    };
    let env = realm.env();
    // With the KDC up, the call works.
    let header = delegating();
    assert_eq!(
        common::curl(&["-H", &header, &url("/")], &env),
        (200, "token made".to_owned())
    );

    // Made while the KDC answers: the client's forwarded TGT needs it too.
    let header = delegating();
    CALLING.store(false, Ordering::SeqCst);
    signal(&realm, "-STOP");
    let (waiting_url, waiting_env) = (url("/"), env.clone());
    let waiting =
        std::thread::spawn(move || common::curl(&["-H", &header, &waiting_url], &waiting_env));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !CALLING.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the handler never started its call"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(
            common::curl(&[&url("/open")], &env),
            (200, "open".to_owned())
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the open route waited {:?} behind a call to a stalled KDC",
            started.elapsed()
        );
        assert!(!waiting.is_finished(), "the call did not wait for the KDC");
        std::thread::sleep(Duration::from_millis(100));
    }

    signal(&realm, "-KILL");
    let (status, body) = waiting.join().expect("the waiting request");
    assert_eq!(status, 502, "{body}");
    assert!(
        body.starts_with(
            "KdcUnreachable: cannot call HTTP@kdc-down-backend.test as alice@EXAMPLE.TEST: no \
             KDC answered: "
        ),
        "{body}"
    );
    assert!(!body.contains("Negotiate "), "{body}");
}
