//! `SpnegoAuthBuilder::on_event`: every outcome, classified from what the real KDC and MIT GSSAPI
//! report (not from guesses), exactly once per request.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_gssapi::{
    AuthEvent, Capacity, KerberosIdentity, Key, Require, ServicePrincipal, SessionCookie,
    SpnegoAuth, SpnegoAuthBuilder,
};
use actix_gssapi_testing::{ClientOptions, Negotiation, CLOCK_SKEW_SECS};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpResponse};
use base64::Engine as _;
use common::realm;

type Events = Arc<Mutex<Vec<(String, AuthEvent)>>>;

/// A `SpnegoAuth` for `HTTP/localhost` whose hook records `path` and event.
fn recording(events: &Events) -> SpnegoAuthBuilder {
    let events = Arc::clone(events);
    SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .on_event(move |req, event| {
            events
                .lock()
                .unwrap()
                .push((req.path().to_owned(), event.clone()));
        })
}

fn take(events: &Events) -> Vec<(String, AuthEvent)> {
    std::mem::take(&mut *events.lock().unwrap())
}

async fn whoami(id: KerberosIdentity) -> HttpResponse {
    HttpResponse::Ok().body(format!("Hello, {}", id.principal()))
}

fn get(path: &str, authorization: Option<&str>) -> actix_http::Request {
    let mut req = test::TestRequest::get().uri(path);
    if let Some(a) = authorization {
        req = req.insert_header((header::AUTHORIZATION, a));
    }
    req.to_request()
}

/// A token from alice for `HTTP@localhost`, made with `options`.
fn alice_with(options: ClientOptions) -> Negotiation {
    Negotiation::start_with(&realm().alice_ccache(), "HTTP@localhost", options).unwrap()
}

/// An event as a line, to compare with the script (the variants with fields are
/// non-exhaustive: matched, not built).
fn line(path: &str, event: &AuthEvent) -> String {
    match event {
        AuthEvent::Authenticated {
            principal,
            mechanism,
            delegated,
            channel_bound,
            ..
        } => format!(
            "{path} authenticated {principal} {mechanism:?} delegated={delegated} \
             channel_bound={channel_bound}"
        ),
        AuthEvent::Refused { rule, .. } => format!("{path} refused: {rule}"),
        other => format!("{path} {other:?}"),
    }
}

/// One event per request, each the one its request should give.
#[actix_web::test]
async fn each_outcome_is_reported_once_and_classified() {
    let realm = realm();
    realm
        .kadmin("addprinc -randkey HTTP/events-elsewhere.test")
        .unwrap();
    let events: Events = Arc::default();
    let auth = recording(&events).build().unwrap();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/admin")
                    .wrap(Require::principals(["bob@EXAMPLE.TEST"]))
                    .route("", web::get().to(whoami)),
            )
            .route("/", web::get().to(whoami))
            .wrap(auth),
    )
    .await;
    let spnego = || Negotiation::start(&realm.alice_ccache(), "HTTP@localhost").unwrap();
    let ntlm = format!(
        "Negotiate {}",
        "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
    );
    let replayed = spnego();
    let raw = alice_with(ClientOptions::new().raw_krb5());
    let delegating = alice_with(ClientOptions::new().delegate());
    let elsewhere =
        Negotiation::start(&realm.alice_ccache(), "HTTP@events-elsewhere.test").unwrap();

    let script: Vec<(&str, Option<String>, StatusCode)> = vec![
        ("/missing", None, StatusCode::UNAUTHORIZED),
        (
            "/basic",
            Some("Basic YWxpY2U6cHc=".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/bad-base64",
            Some("Negotiate !!!".into()),
            StatusCode::FORBIDDEN,
        ),
        ("/ntlm", Some(ntlm), StatusCode::FORBIDDEN),
        ("/", Some(replayed.header().into()), StatusCode::OK),
        ("/", Some(replayed.header().into()), StatusCode::FORBIDDEN),
        ("/", Some(raw.header().into()), StatusCode::OK),
        ("/", Some(delegating.header().into()), StatusCode::OK),
        (
            "/elsewhere",
            Some(elsewhere.header().into()),
            StatusCode::FORBIDDEN,
        ),
        (
            "/admin",
            Some(spnego().header().into()),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (path, authorization, status) in &script {
        let res = test::call_service(&app, get(path, authorization.as_deref())).await;
        assert_eq!(res.status(), *status, "{path}");
    }
    let alice = "alice@EXAMPLE.TEST Spnego delegated=false channel_bound=false";
    let expected = [
        "/missing MissingCredentials".to_owned(),
        "/basic OtherScheme".to_owned(),
        "/bad-base64 Malformed(BadBase64)".to_owned(),
        "/ntlm NtlmOffered".to_owned(),
        format!("/ authenticated {alice}"),
        "/ Replay".to_owned(),
        "/ authenticated alice@EXAMPLE.TEST Kerberos delegated=false channel_bound=false"
            .to_owned(),
        "/ authenticated alice@EXAMPLE.TEST Spnego delegated=true channel_bound=false".to_owned(),
        "/elsewhere WrongServicePrincipal".to_owned(),
        format!("/admin authenticated {alice}"),
        "/admin refused: principal one of bob@EXAMPLE.TEST".to_owned(),
    ];
    let got: Vec<String> = take(&events).iter().map(|(p, e)| line(p, e)).collect();
    assert_eq!(got, expected);
}

/// The classes that need a ticket in a particular state: expired, for a key the keytab has
/// not got yet, from a skewed clock; and a raw Kerberos replay (its error code is not
/// renumbered by the mechglue, unlike SPNEGO's).
#[actix_web::test]
async fn expired_tickets_stale_keytabs_skewed_clocks_and_raw_replays() {
    let realm = realm();
    let events: Events = Arc::default();

    // A service whose key the KDC changed after the keytab was written.
    let stale = realm.dir().join("events-stale.keytab");
    realm.add_service("HTTP/events-stale.test", &stale).unwrap();
    realm.kadmin("cpw -randkey HTTP/events-stale.test").unwrap();
    let stale_auth = recording(&events)
        .principal(ServicePrincipal::host("events-stale.test"))
        .keytab(stale.display().to_string())
        .build()
        .unwrap();
    // A user whose tickets last 2 seconds.
    realm
        .kadmin("addprinc -maxlife \"2 seconds\" -pw erin-password erin")
        .unwrap();
    let erin = realm.kinit("erin", "erin-password", &[]).unwrap();
    let expiring = Negotiation::start(&erin, "HTTP@localhost").unwrap();

    let app = test::init_service(
        App::new()
            .service(
                web::scope("/stale")
                    .wrap(stale_auth)
                    .default_service(web::to(whoami)),
            )
            .service(
                web::scope("")
                    .wrap(recording(&events).build().unwrap())
                    .default_service(web::to(whoami)),
            ),
    )
    .await;
    let stale_token = Negotiation::start(&realm.alice_ccache(), "HTTP@events-stale.test").unwrap();
    let res = test::call_service(&app, get("/stale", Some(stale_token.header()))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let raw = alice_with(ClientOptions::new().raw_krb5());
    for status in [StatusCode::OK, StatusCode::FORBIDDEN] {
        let res = test::call_service(&app, get("/raw", Some(raw.header()))).await;
        assert_eq!(res.status(), status);
    }

    // Past the ticket's end and the realm's clock-skew allowance.
    actix_rt::time::sleep(Duration::from_secs(2 + CLOCK_SKEW_SECS + 2)).await;
    let res = test::call_service(&app, get("/expired", Some(expiring.header()))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let got: Vec<String> = take(&events).iter().map(|(p, e)| line(p, e)).collect();
    assert_eq!(
        got,
        [
            "/stale WrongServicePrincipal",
            "/raw authenticated alice@EXAMPLE.TEST Kerberos delegated=false channel_bound=false",
            "/raw Replay",
            "/expired TicketExpired",
        ]
    );
}

/// A client whose clock is ten minutes ahead (curl under `faketime`, with a service ticket
/// fetched at the real time) against a real server.
#[actix_web::test]
async fn a_skewed_client_clock_is_clock_skew() {
    let realm = realm();
    realm.add_user("events-skewed", "skewed-password").unwrap();
    let ccache = realm
        .kinit("events-skewed", "skewed-password", &[])
        .unwrap();
    // The service ticket is fetched at the real time; the authenticator uses the skewed clock.
    realm
        .fetch_service_ticket(&ccache, "HTTP/localhost")
        .unwrap();
    let events: Events = Arc::default();
    let auth = recording(&events).build().unwrap();
    let addr = common::spawn_server(move || {
        App::new()
            .wrap(auth.clone())
            .default_service(web::to(whoami))
    });
    let mut env = realm.env();
    env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    let url = format!("http://localhost:{}/skewed", addr.port());
    let (code, _) = common::curl_via(
        &["faketime", "-f", "+10m"],
        &["--negotiate", "-u", ":", &url],
        &env,
    );
    assert_eq!(code, 403);
    let got: Vec<String> = take(&events).iter().map(|(p, e)| line(p, e)).collect();
    // curl with only Negotiate enabled sends its token on the first request.
    assert_eq!(got, ["/skewed ClockSkew"]);
}

/// Session cookies, CORS preflights, a full login queue, a context GSSAPI could not finish,
/// and optional login with a nested `SpnegoAuth`: one event per request, none repeated by the
/// inner middleware.
#[actix_web::test]
async fn cookies_preflights_overload_unfinished_contexts_and_nesting() {
    let realm = realm();
    let events: Events = Arc::default();
    let auth = recording(&events)
        .session_cookie(SessionCookie::new(Key::generate()).secure(false))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/inner")
                    .wrap(auth.clone())
                    .default_service(web::to(whoami)),
            )
            .default_service(web::to(|id: Option<KerberosIdentity>| async move {
                id.map_or_else(|| "anonymous".to_owned(), |id| id.principal().to_owned())
            }))
            .wrap(auth.clone().optional()),
    )
    .await;
    // Logs in (outer, optional) and gets a cookie; the inner scope reuses the identity.
    let client = Negotiation::start(&realm.alice_ccache(), "HTTP@localhost").unwrap();
    let res = test::call_service(&app, get("/inner/login", Some(client.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/inner/again")
            .insert_header((header::COOKIE, cookie))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Nobody: anonymous outside, 401 inside; each reported once.
    for (path, status) in [
        ("/open", StatusCode::OK),
        ("/inner/x", StatusCode::UNAUTHORIZED),
    ] {
        let res = test::call_service(&app, get(path, None)).await;
        assert_eq!(res.status(), status, "{path}");
    }
    let preflight = test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/inner/api")
        .insert_header((header::ORIGIN, "https://app.example.test"))
        .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
        .to_request();
    let res = test::call_service(&app, preflight).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "no CORS answer: 401"
    );
    // A SPNEGO offer without a Kerberos token: GSSAPI wants another round.
    let krb5_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
    ];
    let header = format!(
        "Negotiate {}",
        B64.encode(common::spnego_init_without_token(&krb5_oid))
    );
    let res = test::call_service(&app, get("/inner/multi", Some(&header))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let got: Vec<String> = take(&events).iter().map(|(p, e)| line(p, e)).collect();
    let alice = "alice@EXAMPLE.TEST";
    assert_eq!(got.len(), 7, "{got:#?}");
    assert_eq!(
        got[..6],
        [
            format!(
                "/inner/login authenticated {alice} Spnego delegated=false channel_bound=false"
            ),
            format!(
                "/inner/again authenticated {alice} SessionCookie delegated=false \
                 channel_bound=false"
            ),
            // An anonymous visit of an open route is not a challenge; the inner scope's 401
            // is one.
            "/open PassedWithoutCredentials".to_owned(),
            "/inner/x PassedWithoutCredentials".to_owned(),
            "/inner/x MissingCredentials".to_owned(),
            "/inner/api CorsPreflight".to_owned(),
        ]
    );
    assert!(
        got[6].starts_with("/inner/multi GssError") && got[6].contains("CONTINUE_NEEDED"),
        "{got:#?}"
    );
}

/// A login the queue cannot take is `Overloaded`.
#[actix_web::test]
async fn a_full_queue_is_overloaded() {
    let realm = realm();
    let keytab = realm.dir().join("events-queue.keytab");
    std::fs::copy(realm.keytab(), &keytab).unwrap();
    let events: Events = Arc::default();
    let auth = recording(&events)
        .keytab(keytab.display().to_string())
        .capacity(
            Capacity::new()
                .accept_threads(1)
                .login_queue(1)
                .login_queue_per_peer(None),
        )
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(auth).default_service(web::to(whoami))).await;
    let request = || {
        test::TestRequest::get()
            .uri("/queued")
            .insert_header((
                header::AUTHORIZATION,
                common::alice_token().header().to_owned(),
            ))
            .to_request()
    };
    // The one GSSAPI thread is stuck on the first login; of the others, what the queue
    // cannot take is refused.
    let feeder = common::stall_keytab(&keytab, Duration::from_secs(1));
    let statuses: Vec<u16> = futures_util::future::join_all(
        [request(), request(), request()].map(|r| test::call_service(&app, r)),
    )
    .await
    .iter()
    .map(|r| r.status().as_u16())
    .collect();
    assert!(feeder.join().unwrap());
    let count = |status| statuses.iter().filter(|&&s| s == status).count();
    assert_eq!(count(200) + count(503), 3, "{statuses:?}");
    assert!(count(200) >= 1 && count(503) >= 1, "{statuses:?}");
    let got: Vec<String> = take(&events).iter().map(|(p, e)| line(p, e)).collect();
    let ok = "/queued authenticated alice@EXAMPLE.TEST Spnego delegated=false channel_bound=false";
    let overloaded = got.iter().filter(|l| *l == "/queued Overloaded").count();
    let authenticated = got.iter().filter(|l| *l == ok).count();
    assert_eq!(
        (authenticated, overloaded, got.len()),
        (count(200), count(503), 3),
        "{got:#?}"
    );
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `examples/metrics`: a scripted run of good and bad logins, then the exported counters,
/// every one of them exactly.
#[actix_web::test]
async fn the_metrics_example_counts_each_outcome_exactly() {
    let realm = realm();
    let _ = realm.kadmin("addprinc -randkey HTTP/metrics-elsewhere.test");
    let port = common::free_port();
    let _server = common::start_example("metrics", port, &common::env_for_localhost());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let authorization = |token: &Negotiation| format!("Authorization: {}", token.header());

    let once = common::alice_token();
    let elsewhere =
        Negotiation::start(&realm.alice_ccache(), "HTTP@metrics-elsewhere.test").unwrap();
    let script: [(Vec<String>, u16); 7] = [
        (vec![], 401),
        (vec![authorization(&once)], 200),
        (vec![authorization(&once)], 403),
        (vec!["Authorization: Negotiate !!!".to_owned()], 403),
        (
            vec![
                "Authorization: Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
                    .to_owned(),
            ],
            403,
        ),
        (vec!["Authorization: Basic YWxpY2U6cHc=".to_owned()], 401),
        (vec![authorization(&elsewhere)], 403),
    ];
    for (headers, status) in &script {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (got, body) = common::raw_get(addr, "/", &headers);
        assert_eq!(got, *status, "{headers:?}: {body}");
    }
    // A real client too.
    let (status, body) = common::curl(
        &[
            "--negotiate",
            "-u",
            ":",
            &format!("http://localhost:{port}/"),
        ],
        &realm.env(),
    );
    assert_eq!((status, body.as_str()), (200, "alice@EXAMPLE.TEST\n"));

    let (status, text) = common::raw_get(addr, "/metrics", &[]);
    assert_eq!(status, 200, "{text}");
    let mut counts = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("actix_gssapi_auth_total{outcome=\"") {
            let (outcome, value) = rest.split_once("\"} ").expect("a sample line");
            counts.insert(outcome.to_owned(), value.trim().parse::<u64>().unwrap());
        }
    }
    let expected: std::collections::BTreeMap<String, u64> = [
        ("authenticated", 2),
        ("missing_credentials", 1),
        ("passed_without_credentials", 0),
        ("other_scheme", 1),
        ("malformed", 1),
        ("ntlm_offered", 1),
        ("replay", 1),
        ("clock_skew", 0),
        ("ticket_expired", 0),
        ("wrong_service_principal", 1),
        ("channel_binding_mismatch", 0),
        ("refused", 0),
        ("overloaded", 0),
        ("replay_store_unavailable", 0),
        ("cors_preflight", 0),
        ("password_refused", 0),
        ("gss_error", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected, "{text}");
    assert!(text.contains("# TYPE actix_gssapi_auth counter"), "{text}");
}
