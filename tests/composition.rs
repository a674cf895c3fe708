//! `SpnegoAuth` composed with actix-web's own middleware as users write it (`Condition`,
//! `Logger`, `Compat`, `NormalizePath`) and with actix-cors, in both `wrap` orders, around
//! the whole app, a scope and a resource. No KDC: no valid token exists here, so each
//! composition is checked on what needs none — the 401 challenge, the 403 for bogus tokens,
//! open routes staying open, CORS preflights — and on the protected handler never running.
//!
//! The acceptor credential comes from a keytab this file writes itself (a fixed key for
//! `HTTP/localhost@EXAMPLE.TEST`), with a minimal `krb5.conf`, both in a directory of this
//! test process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_gssapi::{Capacity, KerberosIdentity, ServicePrincipal, SpnegoAuth, SpnegoAuthBuilder};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderName;
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD,
    AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE,
};
use actix_web::http::Method;
use actix_web::middleware::{Compat, Condition, Logger, NormalizePath, TrailingSlash};
use actix_web::{test, web, App};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

const SECRET: &str = "TOP SECRET";
const REALM: &str = "EXAMPLE.TEST";
const APP_ORIGIN: &str = "https://app.example.test";

/// Where the middleware under test is wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// `App::wrap`: every route is behind it, `/open` too.
    App,
    /// `web::scope("/protected").wrap(..)`, beside an open `/open`.
    Scope,
    /// `web::resource("/protected/{case}").wrap(..)`, beside an open `/open`.
    Resource,
}

const PLACES: [Place; 3] = [Place::App, Place::Scope, Place::Resource];

/// Builds an app whose protected handler (`/protected/{case}`, every method, counting its calls
/// in `$calls`) sits behind the middleware `$mw` (wrapped in this order: the first innermost)
/// at `$place`, beside an open `GET /open`; `around` is wrapped on the app outside all of it.
/// Runs `$body` with the initialised service as `$app`.
macro_rules! with_app {
    ($place:expr, $calls:expr, [$($mw:expr),* $(,)?] $(, around: [$($outer:expr),* $(,)?])?,
     |$app:ident| $body:expr) => {
        match $place {
            Place::App => {
                let $app = test::init_service(
                    App::new()
                        $(.wrap($mw))*
                        $($(.wrap($outer))*)?
                        .route("/open", web::get().to(open))
                        .route("/protected/{case}", counting(&$calls)),
                )
                .await;
                $body
            }
            Place::Scope => {
                let $app = test::init_service(
                    App::new()
                        $($(.wrap($outer))*)?
                        .route("/open", web::get().to(open))
                        .service(
                            web::scope("/protected")
                                $(.wrap($mw))*
                                .route("/{case}", counting(&$calls)),
                        ),
                )
                .await;
                $body
            }
            Place::Resource => {
                let $app = test::init_service(
                    App::new()
                        $($(.wrap($outer))*)?
                        .route("/open", web::get().to(open))
                        .service(
                            web::resource("/protected/{case}")
                                $(.wrap($mw))*
                                .route(counting(&$calls)),
                        ),
                )
                .await;
                $body
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The fixture: a keytab and krb5.conf written here, and one SpnegoAuth built from them.

/// The one `SpnegoAuth` every test clones (one GSSAPI thread: the tests send few tokens).
fn auth() -> SpnegoAuth {
    static AUTH: OnceLock<SpnegoAuth> = OnceLock::new();
    AUTH.get_or_init(|| {
        builder()
            .build()
            .expect("the acceptor credential from the keytab written here")
    })
    .clone()
}

/// Like [`auth`], with `authenticate_preflights`.
fn auth_authenticating_preflights() -> SpnegoAuth {
    static AUTH: OnceLock<SpnegoAuth> = OnceLock::new();
    AUTH.get_or_init(|| {
        builder()
            .authenticate_preflights()
            .build()
            .expect("the acceptor credential from the keytab written here")
    })
    .clone()
}

/// Writes `krb5.conf` and a keytab into a directory of this process (once), points
/// `KRB5_CONFIG` at the former, and gives a builder for `HTTP/localhost` with that keytab.
fn builder() -> SpnegoAuthBuilder {
    static KEYTAB: OnceLock<String> = OnceLock::new();
    let keytab = KEYTAB.get_or_init(|| {
        capture_logs();
        let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("composition");
        remove_stale_dirs(&base);
        let dir = base.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("test directory");
        let conf = dir.join("krb5.conf");
        // Our own krb5.conf, so the machine's (another default realm, DNS lookups to
        // canonicalise `localhost`) plays no part. No [realms] section: there is no KDC, and
        // nothing here asks for a ticket.
        std::fs::write(
            &conf,
            format!(
                "[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
"
            ),
        )
        .expect("krb5.conf");
        let keytab = dir.join("http.keytab");
        std::fs::write(&keytab, keytab_bytes(&["HTTP", "localhost"], KVNO, &KEY)).expect("keytab");
        // Every test reaches this before anything of it calls GSSAPI, and other tests wait
        // here, so no thread reads the environment while it changes.
        std::env::set_var("KRB5_CONFIG", &conf);
        keytab.display().to_string()
    });
    SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .keytab(keytab)
        .capacity(Capacity::new().accept_threads(1))
}

/// Removes the directories earlier runs of this test left behind (named by process id).
fn remove_stale_dirs(base: &std::path::Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let alive = std::path::Path::new("/proc").join(&name).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The key of `HTTP/localhost@EXAMPLE.TEST`: fixed, since no ticket for it will ever exist.
const KEY: [u8; 32] = [0x42; 32];
const KVNO: u8 = 1;
/// aes256-cts-hmac-sha1-96.
const ENCTYPE: u16 = 18;
/// KRB5_NT_SRV_HST.
const NT_SRV_HST: u32 = 3;

/// An MIT keytab file (format version 0x0502, big-endian, as
/// <https://web.mit.edu/kerberos/krb5-latest/doc/formats/keytab_file_format.html> describes it)
/// with one entry, for `components@EXAMPLE.TEST`.
fn keytab_bytes(components: &[&str], kvno: u8, key: &[u8]) -> Vec<u8> {
    fn counted(out: &mut Vec<u8>, data: &[u8]) {
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut entry = Vec::new();
    entry.extend_from_slice(&u16::try_from(components.len()).unwrap().to_be_bytes());
    counted(&mut entry, REALM.as_bytes());
    for c in components {
        counted(&mut entry, c.as_bytes());
    }
    entry.extend_from_slice(&NT_SRV_HST.to_be_bytes());
    entry.extend_from_slice(&0u32.to_be_bytes()); // timestamp
    entry.push(kvno);
    entry.extend_from_slice(&ENCTYPE.to_be_bytes());
    counted(&mut entry, key);
    entry.extend_from_slice(&u32::from(kvno).to_be_bytes());
    let mut file = vec![0x05, 0x02];
    file.extend_from_slice(&i32::try_from(entry.len()).unwrap().to_be_bytes());
    file.extend_from_slice(&entry);
    file
}

// ---------------------------------------------------------------------------------------------
// Tokens that no KDC issued.

/// A DER element.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match u8::try_from(len) {
        Ok(n) if n < 0x80 => out.push(n),
        Ok(n) => out.extend([0x81, n]),
        Err(_) => {
            out.push(0x82);
            out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
    }
    out.extend_from_slice(content);
    out
}

fn der_int(n: u8) -> Vec<u8> {
    der(0x02, &[n])
}

const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/// A Kerberos GSS token (RFC 4121 §4.1) holding a structurally valid AP-REQ (RFC 4120 §5.5.1)
/// for `HTTP/localhost@EXAMPLE.TEST` with the keytab's enctype and kvno, whose encrypted parts
/// are filler bytes: GSSAPI finds the key and cannot decrypt the ticket.
fn fake_krb5_token() -> Vec<u8> {
    let encrypted = |kvno: Option<u8>, len: usize| {
        let kvno = kvno.map(|k| der(0xa1, &der_int(k))).unwrap_or_default();
        let etype = der(0xa0, &der_int(u8::try_from(ENCTYPE).unwrap()));
        let cipher = der(0xa2, &der(0x04, &vec![0x5a; len]));
        der(0x30, &[etype, kvno, cipher].concat())
    };
    let sname = der(
        0x30,
        &[
            der(0xa0, &der_int(u8::try_from(NT_SRV_HST).unwrap())),
            der(
                0xa1,
                &der(
                    0x30,
                    &[der(0x1b, b"HTTP"), der(0x1b, b"localhost")].concat(),
                ),
            ),
        ]
        .concat(),
    );
    let ticket = der(
        0x61,
        &der(
            0x30,
            &[
                der(0xa0, &der_int(5)),
                der(0xa1, &der(0x1b, REALM.as_bytes())),
                der(0xa2, &sname),
                der(0xa3, &encrypted(Some(KVNO), 224)),
            ]
            .concat(),
        ),
    );
    let ap_req = der(
        0x6e,
        &der(
            0x30,
            &[
                der(0xa0, &der_int(5)),
                der(0xa1, &der_int(14)),
                der(0xa2, &der(0x03, &[0, 0, 0, 0, 0])),
                der(0xa3, &ticket),
                der(0xa4, &encrypted(None, 112)),
            ]
            .concat(),
        ),
    );
    der(
        0x60,
        &[der(0x06, KRB5_OID), vec![0x01, 0x00], ap_req].concat(),
    )
}

/// A SPNEGO NegTokenInit (RFC 4178 §4.2.1) offering krb5 with [`fake_krb5_token`] in it.
fn fake_spnego_token() -> Vec<u8> {
    let init = der(
        0x30,
        &[
            der(0xa0, &der(0x30, &der(0x06, KRB5_OID))),
            der(0xa2, &der(0x04, &fake_krb5_token())),
        ]
        .concat(),
    );
    der(0x60, &[der(0x06, SPNEGO_OID), der(0xa0, &init)].concat())
}

/// `Authorization` values that can never be valid here, each answered 403.
fn bogus_authorizations() -> Vec<(&'static str, String)> {
    vec![
        ("not base64", "Negotiate !!!notbase64".to_owned()),
        (
            "truncated SPNEGO",
            "Negotiate YIIBAAYGKwYBBQUCoIH1MIHy".to_owned(),
        ),
        (
            "fake SPNEGO ticket",
            format!("Negotiate {}", B64.encode(fake_spnego_token())),
        ),
        (
            "fake krb5 ticket",
            format!("Negotiate {}", B64.encode(fake_krb5_token())),
        ),
        (
            "NTLM",
            "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==".to_owned(),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Log capture: actix-web's Logger and this crate.

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let target = record.target();
        if target.starts_with("actix_gssapi") || target == "actix_web::middleware::logger" {
            if let Ok(mut lines) = LINES.lock() {
                lines.push(format!("{target}: {}", record.args()));
            }
        }
    }
    fn flush(&self) {}
}

fn capture_logs() {
    let _ = log::set_logger(&Capture);
    log::set_max_level(log::LevelFilter::Trace);
}

/// The captured lines that contain `part`.
fn lines_with(part: &str) -> Vec<String> {
    let lines = LINES.lock().map(|l| l.clone()).unwrap_or_default();
    lines.into_iter().filter(|l| l.contains(part)).collect()
}

/// What actix-web's `Logger` (default format) logged for `GET <path>`: the lines with its
/// request line.
fn logger_lines(method: &str, path: &str) -> Vec<String> {
    lines_with(&format!("\"{method} {path} HTTP/1.1\""))
        .into_iter()
        .filter(|l| l.starts_with("actix_web::middleware::logger"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Handlers and requests.

/// The open route: who is calling, if anyone said.
async fn open(id: Option<KerberosIdentity>) -> String {
    match id {
        Some(id) => id.principal().to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// The protected handler: answers every method with the secret, and counts its calls. It takes
/// no `KerberosIdentity` (like static files), so the middleware alone guards it.
fn counting(calls: &Arc<AtomicUsize>) -> actix_web::Route {
    let calls = Arc::clone(calls);
    web::to(move || {
        calls.fetch_add(1, Ordering::SeqCst);
        async { SECRET }
    })
}

/// An answer, reduced to what the tests check; its body was read to the end (so `Logger` has
/// logged it).
#[derive(Debug)]
struct Answer {
    status: u16,
    challenge: Option<String>,
    allow_origin: Option<String>,
    allow_credentials: Option<String>,
    body: String,
}

async fn send<S, B>(app: &S, req: test::TestRequest) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let header = |name: HeaderName| {
        let value = res.headers().get(name)?;
        Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let status = res.status().as_u16();
    let challenge = header(WWW_AUTHENTICATE);
    let allow_origin = header(ACCESS_CONTROL_ALLOW_ORIGIN);
    let allow_credentials = header(ACCESS_CONTROL_ALLOW_CREDENTIALS);
    let body = test::read_body(res).await;
    Answer {
        status,
        challenge,
        allow_origin,
        allow_credentials,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn get(path: &str) -> test::TestRequest {
    test::TestRequest::get().uri(path)
}

fn preflight(path: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(Method::OPTIONS)
        .uri(path)
        .insert_header((ORIGIN, APP_ORIGIN))
        .insert_header((ACCESS_CONTROL_REQUEST_METHOD, "GET"))
}

/// What a required `SpnegoAuth` answers whatever surrounds it: 401 with the challenge without
/// credentials, 403 for every bogus token, never the protected handler; `/open` open beside a
/// protected scope or resource (and challenged when the whole app is protected).
async fn assert_guarded<S, B>(app: &S, place: Place, calls: &AtomicUsize, what: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = send(app, get("/protected/x")).await;
    assert_eq!(
        (res.status, res.challenge.as_deref()),
        (401, Some("Negotiate")),
        "{what} on {place:?}: {res:?}"
    );
    for (name, authorization) in bogus_authorizations() {
        let res = send(
            app,
            get("/protected/x").insert_header((AUTHORIZATION, authorization)),
        )
        .await;
        assert_eq!(res.status, 403, "{what} on {place:?}, {name}: {res:?}");
        assert!(!res.body.contains(SECRET), "{what} on {place:?}: {res:?}");
    }
    let res = send(app, get("/open")).await;
    let expected = if place == Place::App { 401 } else { 200 };
    assert_eq!(res.status, expected, "{what} on {place:?}, /open: {res:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "{what} on {place:?}");
}

fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin(APP_ORIGIN)
        .allowed_methods(["GET", "POST"])
        .supports_credentials()
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// The fixture works: `build()` acquires the credential from the keytab written here, and a
/// fake ticket for its name goes all the way to GSSAPI, which finds the key and cannot
/// decrypt the ticket (a 403, not a parser refusal and not a 500).
#[actix_web::test]
async fn a_keytab_written_here_is_enough_to_start_and_fake_tickets_reach_gssapi() {
    assert_eq!(
        builder().service_name().unwrap().as_deref(),
        Some("HTTP@localhost")
    );
    let auth = auth();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = test::init_service(
        App::new().service(
            web::resource("/protected/{case}")
                .wrap(auth)
                .route(counting(&calls)),
        ),
    )
    .await;
    for (case, token) in [
        ("fixture-spnego", fake_spnego_token()),
        ("fixture-krb5", fake_krb5_token()),
    ] {
        let path = format!("/protected/{case}");
        let header = format!("Negotiate {}", B64.encode(token));
        let res = send(&app, get(&path).insert_header((AUTHORIZATION, header))).await;
        assert_eq!(res.status, 403, "{case}: {res:?}");
        let refusals = lines_with(&format!("GET {path}: Negotiate token refused"));
        assert_eq!(refusals.len(), 1, "{case}: {refusals:?}");
        assert!(
            refusals[0].contains("HTTP/localhost@EXAMPLE.TEST kvno 1")
                && refusals[0].contains("cannot decrypt"),
            "GSSAPI found the ticket's key in the keytab: {refusals:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// `SpnegoAuth` alone, as the docs show it, on the app, a scope and a resource.
#[actix_web::test]
async fn plain_spnego_auth_guards_every_place_and_leaves_open_routes_open() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [auth()], |app| {
            assert_guarded(&app, place, &calls, "SpnegoAuth").await;
        });
    }
}

/// `Condition::new(false, auth)` takes authentication away entirely; `true` is `auth` itself.
#[actix_web::test]
async fn condition_switches_authentication_off_and_on() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [Condition::new(true, auth())], |app| {
            assert_guarded(&app, place, &calls, "Condition(true)").await;
        });

        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [Condition::new(false, auth())], |app| {
            let res = send(&app, get("/protected/x")).await;
            assert_eq!((res.status, res.body.as_str()), (200, SECRET), "{place:?}");
            assert_eq!(res.challenge, None, "{place:?}");
            // A bogus token is not looked at either.
            let res = send(
                &app,
                get("/protected/x").insert_header((AUTHORIZATION, "Negotiate !!!")),
            )
            .await;
            assert_eq!(res.status, 200, "{place:?}");
            let res = send(&app, get("/open")).await;
            assert_eq!((res.status, res.body.as_str()), (200, "anonymous"));
            assert_eq!(calls.load(Ordering::SeqCst), 2, "{place:?}");
        });
    }
}

/// actix-web's `Logger` wrapped outside `SpnegoAuth` logs each refused request with the
/// status the client got. Wrapped inside, it never sees a request `SpnegoAuth` answered
/// itself (it logs only what reached the inner service), here shown with an optional
/// `SpnegoAuth` letting a request through anonymously.
#[actix_web::test]
async fn logger_outside_logs_refusals_with_their_status_and_inside_sees_only_what_passed() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [auth(), Logger::default()], |app| {
            assert_guarded(&app, place, &calls, "Logger outside").await;
            let path = format!("/protected/logger-outside-{place:?}");
            let res = send(&app, get(&path)).await;
            assert_eq!(res.status, 401);
            let lines = logger_lines("GET", &path);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains("HTTP/1.1\" 401 "), "{lines:?}");

            let path = format!("/protected/logger-outside-bogus-{place:?}");
            let fake = format!("Negotiate {}", B64.encode(fake_spnego_token()));
            let res = send(&app, get(&path).insert_header((AUTHORIZATION, fake))).await;
            assert_eq!(res.status, 403);
            let lines = logger_lines("GET", &path);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains("HTTP/1.1\" 403 "), "{lines:?}");
        });

        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [Logger::default(), auth()], |app| {
            assert_guarded(&app, place, &calls, "Logger inside").await;
            let path = format!("/protected/logger-inside-{place:?}");
            assert_eq!(send(&app, get(&path)).await.status, 401);
            assert_eq!(logger_lines("GET", &path), Vec::<String>::new());
        });

        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [Logger::default(), auth().optional()],
            |app| {
                let path = format!("/protected/logger-inside-optional-{place:?}");
                let res = send(&app, get(&path)).await;
                assert_eq!((res.status, res.body.as_str()), (200, SECRET));
                let lines = logger_lines("GET", &path);
                assert_eq!(lines.len(), 1, "{lines:?}");
                assert!(lines[0].contains("HTTP/1.1\" 200 "), "{lines:?}");
                assert_eq!(calls.load(Ordering::SeqCst), 1);
            }
        );
    }
}

/// `Compat::new(auth)`, the way users mix middleware of different body and error types on a
/// scope or resource, alone and beside a `Compat`-wrapped `Logger` in either order.
#[actix_web::test]
async fn compat_wrapped_spnego_auth_answers_like_the_plain_one() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [Compat::new(auth())], |app| {
            assert_guarded(&app, place, &calls, "Compat(auth)").await;
        });
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [Compat::new(auth()), Compat::new(Logger::default())],
            |app| {
                assert_guarded(&app, place, &calls, "Compat(Logger) outside Compat(auth)").await;
            }
        );
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [Compat::new(Logger::default()), Compat::new(auth())],
            |app| {
                assert_guarded(&app, place, &calls, "Compat(Logger) inside Compat(auth)").await;
            }
        );
        // Compat around a Condition around auth, as apps switch it by configuration.
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [Compat::new(Condition::new(true, auth()))],
            |app| {
                assert_guarded(&app, place, &calls, "Compat(Condition(auth))").await;
            }
        );
    }
}

/// Spellings of `/protected/x` a client may send, rewritten or not by `NormalizePath`.
const SPELLINGS: &[&str] = &[
    "/protected/x",
    "/protected/x/",
    "/protected/x//",
    "//protected/x",
    "///protected//x",
    "/protected//x",
    "/%70rotected/x",
    "/%70rotected/x/",
    "/./protected/x",
    "/protected/./x",
    "/x/../protected/x",
    "/%2Fprotected/x",
    "/protected%2Fx",
    "/PROTECTED/x",
];

/// The status of `GET` for each of [`SPELLINGS`].
async fn statuses<S, B>(app: &S) -> Vec<u16>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut statuses = Vec::new();
    for spelling in SPELLINGS {
        statuses.push(send(app, get(spelling)).await.status);
    }
    statuses
}

/// The status [`statuses`] gave `spelling`.
fn status_of(statuses: &[u16], spelling: &str) -> u16 {
    let i = SPELLINGS.iter().position(|s| *s == spelling).unwrap();
    statuses[i]
}

/// Compares the statuses of [`SPELLINGS`] without authentication (`control`: which spellings
/// reach the handler) and with it (`guarded`): every spelling that reached the handler is
/// challenged. The others answer as before or are challenged too: `SpnegoAuth` on a scope runs
/// before the scope's own routing (a path in the scope that matches nothing in it is
/// challenged), and on the app before any routing (everything is challenged).
fn assert_no_spelling_gets_past(
    what: &str,
    place: Place,
    control: &[u16],
    guarded: &[u16],
    calls: usize,
) {
    let reached: Vec<&str> = SPELLINGS
        .iter()
        .zip(control)
        .filter(|(_, s)| **s == 200)
        .map(|(p, _)| *p)
        .collect();
    // The control must show spellings other than the plain one reaching the handler, or the
    // comparison proves nothing.
    assert!(
        reached.contains(&"/protected/x") && reached.contains(&"/%70rotected/x"),
        "{what}: {reached:?}"
    );
    for ((spelling, before), after) in SPELLINGS.iter().zip(control).zip(guarded) {
        let challenged = *before == 200 || place == Place::App;
        let ok = if challenged {
            *after == 401
        } else {
            *after == *before || (place == Place::Scope && *after == 401)
        };
        assert!(
            ok,
            "{what}: GET {spelling}: {before} without SpnegoAuth, {after} with it"
        );
    }
    assert_eq!(calls, 0, "{what}");
}

/// `NormalizePath` (trim, merge only) inside and outside `SpnegoAuth`, at the same place, and
/// around the app with `SpnegoAuth` on the scope or resource: whatever spelling reaches the
/// protected handler without authentication is challenged with it.
#[actix_web::test]
async fn normalize_path_in_either_order_lets_no_spelling_past() {
    for place in PLACES {
        for mode in [TrailingSlash::Trim, TrailingSlash::MergeOnly] {
            let what = format!("NormalizePath({mode:?}) inside SpnegoAuth on {place:?}");
            let calls = Arc::new(AtomicUsize::new(0));
            let control = with_app!(
                place,
                calls,
                [NormalizePath::new(mode), Condition::new(false, auth())],
                |app| statuses(&app).await
            );
            let calls = Arc::new(AtomicUsize::new(0));
            let guarded = with_app!(place, calls, [NormalizePath::new(mode), auth()], |app| {
                statuses(&app).await
            });
            assert_no_spelling_gets_past(
                &what,
                place,
                &control,
                &guarded,
                calls.load(Ordering::SeqCst),
            );

            let what = format!("NormalizePath({mode:?}) outside SpnegoAuth on {place:?}");
            let calls = Arc::new(AtomicUsize::new(0));
            let control = with_app!(
                place,
                calls,
                [Condition::new(false, auth()), NormalizePath::new(mode)],
                |app| statuses(&app).await
            );
            let calls = Arc::new(AtomicUsize::new(0));
            let guarded = with_app!(place, calls, [auth(), NormalizePath::new(mode)], |app| {
                statuses(&app).await
            });
            assert_no_spelling_gets_past(
                &what,
                place,
                &control,
                &guarded,
                calls.load(Ordering::SeqCst),
            );
            if place == Place::App {
                // Normalizing before routing is what lets `//protected/x` in at all.
                assert_eq!(status_of(&control, "//protected/x"), 200, "{what}");
            }
            if place == Place::App {
                continue; // the next shape is the one just checked
            }

            let what = format!("NormalizePath({mode:?}) on the app, SpnegoAuth on {place:?}");
            let calls = Arc::new(AtomicUsize::new(0));
            let control = with_app!(
                place,
                calls,
                [Condition::new(false, auth())],
                around: [NormalizePath::new(mode)],
                |app| statuses(&app).await
            );
            let calls = Arc::new(AtomicUsize::new(0));
            let guarded = with_app!(
                place,
                calls,
                [auth()],
                around: [NormalizePath::new(mode)],
                |app| statuses(&app).await
            );
            assert_no_spelling_gets_past(
                &what,
                place,
                &control,
                &guarded,
                calls.load(Ordering::SeqCst),
            );
            assert_eq!(status_of(&control, "//protected/x"), 200, "{what}");
        }
    }
}

/// What a cross-origin client gets from an app with actix-cors `inside` or outside a required
/// `SpnegoAuth`, and never the protected handler.
async fn assert_cors<S, B>(app: &S, calls: &AtomicUsize, inside: bool, what: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    // A preflight gets actix-cors' answer, whichever side of SpnegoAuth it is on.
    let res = send(app, preflight("/protected/x")).await;
    assert_eq!(
        (
            res.status,
            res.allow_origin.as_deref(),
            res.challenge.as_deref()
        ),
        (200, Some(APP_ORIGIN), None),
        "{what}: preflight {res:?}"
    );
    assert_eq!(res.body, "", "{what}");

    // An OPTIONS request that is no preflight needs a login like any other.
    let plain = || {
        test::TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/protected/x")
    };
    for (name, req) in [
        ("plain OPTIONS", plain()),
        (
            "OPTIONS with Origin only",
            plain().insert_header((ORIGIN, APP_ORIGIN)),
        ),
    ] {
        let res = send(app, req).await;
        assert_eq!(
            (res.status, res.challenge.as_deref()),
            (401, Some("Negotiate")),
            "{what}: {name} {res:?}"
        );
    }

    // The cross-origin call itself, without credentials and with a bogus token: refused, with
    // the CORS headers only when actix-cors runs after SpnegoAuth answered (outside it). A
    // browser script can read the 401 only then; the browser's own Negotiate retry does not
    // need to.
    let cors_headers = if inside {
        (None, None)
    } else {
        (Some(APP_ORIGIN), Some("true"))
    };
    let cross_origin = || get("/protected/x").insert_header((ORIGIN, APP_ORIGIN));
    let res = send(app, cross_origin()).await;
    assert_eq!(
        (res.status, res.challenge.as_deref()),
        (401, Some("Negotiate")),
        "{what}: {res:?}"
    );
    assert_eq!(
        (
            res.allow_origin.as_deref(),
            res.allow_credentials.as_deref()
        ),
        cors_headers,
        "{what}: {res:?}"
    );
    let fake = format!("Negotiate {}", B64.encode(fake_spnego_token()));
    let res = send(app, cross_origin().insert_header((AUTHORIZATION, fake))).await;
    assert_eq!(res.status, 403, "{what}: {res:?}");
    assert_eq!(
        (
            res.allow_origin.as_deref(),
            res.allow_credentials.as_deref()
        ),
        cors_headers,
        "{what}: {res:?}"
    );

    // A preflight from an origin actix-cors does not allow: its 400 goes out when it answers
    // first; inside, that answer (no Access-Control-Allow-Origin) becomes SpnegoAuth's 401.
    let res = send(
        app,
        preflight("/protected/x").insert_header((ORIGIN, "https://evil.example")),
    )
    .await;
    let expected = if inside { 401 } else { 400 };
    assert_eq!(res.status, expected, "{what}: {res:?}");
    assert_eq!(res.allow_origin, None, "{what}: {res:?}");

    // Preflight-shaped requests whose Access-Control-Request-Method is not a method:
    // actix-cors does not take them for preflights.
    for method in ["", "G ET", "GET, POST"] {
        let res = send(
            app,
            preflight("/protected/x").insert_header((ACCESS_CONTROL_REQUEST_METHOD, method)),
        )
        .await;
        assert!(
            !res.body.contains(SECRET),
            "{what}: preflight with method {method:?}: {res:?}"
        );
        assert_eq!(
            (res.status, res.challenge.as_deref()),
            (401, Some("Negotiate")),
            "{what}: preflight with method {method:?}: {res:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "{what}");
}

/// actix-cors inside `SpnegoAuth` (the preflight passes it unauthenticated, by default) and
/// outside it (actix-cors answers the preflight first), on the app, a scope and a resource;
/// with `authenticate_preflights()` only actix-cors outside can answer a preflight.
#[actix_web::test]
async fn actix_cors_answers_preflights_in_either_order_and_nothing_else_gets_in() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [cors(), auth()], |app| {
            let what = format!("actix-cors inside SpnegoAuth on {place:?}");
            assert_cors(&app, &calls, true, &what).await;
            assert_guarded(&app, place, &calls, &what).await;
        });
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [auth(), cors()], |app| {
            let what = format!("actix-cors outside SpnegoAuth on {place:?}");
            assert_cors(&app, &calls, false, &what).await;
            assert_guarded(&app, place, &calls, &what).await;
        });

        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [cors(), auth_authenticating_preflights()],
            |app| {
                let res = send(&app, preflight("/protected/x")).await;
                assert_eq!(
                    (res.status, res.challenge.as_deref(), res.allow_origin),
                    (401, Some("Negotiate"), None),
                    "authenticate_preflights, actix-cors inside, {place:?}"
                );
                assert_guarded(&app, place, &calls, "authenticate_preflights").await;
            }
        );
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [auth_authenticating_preflights(), cors()],
            |app| {
                let res = send(&app, preflight("/protected/x")).await;
                assert_eq!(
                    (res.status, res.allow_origin.as_deref()),
                    (200, Some(APP_ORIGIN)),
                    "authenticate_preflights, actix-cors outside, {place:?}"
                );
                assert_eq!(calls.load(Ordering::SeqCst), 0);
            }
        );
    }
}

/// The documented shape — an optional `SpnegoAuth` around the app, a required one around a
/// scope or resource — with actix-web's middleware and actix-cors between and around them:
/// the protected part is challenged, a bogus token is refused once (the inner `SpnegoAuth`
/// uses the outer one's verdict instead of accepting the token again), a preflight gets
/// actix-cors' answer, and the open route stays open and anonymous.
#[actix_web::test]
async fn nested_optional_and_required_spnego_auth_with_middleware_between() {
    for place in [Place::Scope, Place::Resource] {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(
            place,
            calls,
            [
                cors(),
                Compat::new(auth()),
                Condition::new(true, Logger::default())
            ],
            around: [Logger::default(), auth().optional(), NormalizePath::trim()],
            |app| {
                for path in ["/protected/x", "//protected/x/", "/%70rotected/x"] {
                    let res = send(&app, get(path)).await;
                    assert_eq!(
                        (res.status, res.challenge.as_deref()),
                        (401, Some("Negotiate")),
                        "{place:?}: GET {path}: {res:?}"
                    );
                }
                let path = format!("/protected/nested-{place:?}");
                let lines = || lines_with(&format!("GET {path}: "));
                let fake = format!("Negotiate {}", B64.encode(fake_spnego_token()));
                let res = send(&app, get(&path).insert_header((AUTHORIZATION, fake))).await;
                assert_eq!(res.status, 403, "{place:?}: {res:?}");
                let lines = lines();
                assert_eq!(lines.len(), 2, "{lines:?}");
                assert!(
                    lines[0].contains("Negotiate token refused, continuing anonymously"),
                    "the outer SpnegoAuth ran GSSAPI: {lines:?}"
                );
                assert!(
                    lines[1].contains("an enclosing SpnegoAuth refused the token"),
                    "the inner one did not: {lines:?}"
                );
                // Both Loggers (on the app inside the optional SpnegoAuth, and on the
                // scope or resource outside the required one) saw the 403.
                let logged = logger_lines("GET", &path);
                assert_eq!(logged.len(), 2, "{logged:?}");
                assert!(logged.iter().all(|l| l.contains("\" 403 ")), "{logged:?}");

                let ntlm = "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==";
                let res = send(&app, get("/protected/x").insert_header((AUTHORIZATION, ntlm))).await;
                assert_eq!(res.status, 403, "{place:?}: {res:?}");

                let res = send(&app, preflight("/protected/x")).await;
                assert_eq!(
                    (res.status, res.allow_origin.as_deref()),
                    (200, Some(APP_ORIGIN)),
                    "{place:?}: {res:?}"
                );

                for authorization in [None, Some("Negotiate !!!"), Some(ntlm)] {
                    let mut req = get("/open/");
                    if let Some(a) = authorization {
                        req = req.insert_header((AUTHORIZATION, a));
                    }
                    let res = send(&app, req).await;
                    assert_eq!(
                        (res.status, res.body.as_str()),
                        (200, "anonymous"),
                        "{place:?}: /open/ with {authorization:?}"
                    );
                }
                assert_eq!(calls.load(Ordering::SeqCst), 0, "{place:?}");
            }
        );
    }
}

/// actix-cors with `disable_preflight()` inside `SpnegoAuth` hands a preflight to the handler
/// and decorates its answer with `Access-Control-Allow-Origin`: that is still not an answer to
/// the preflight, so the client gets the 401, never the handler's content.
#[actix_web::test]
async fn a_cors_layer_that_decorates_every_answer_lets_no_content_out() {
    for place in PLACES {
        let calls = Arc::new(AtomicUsize::new(0));
        with_app!(place, calls, [cors().disable_preflight(), auth()], |app| {
            let answer = send(&app, preflight("/protected/decorated")).await;
            assert_eq!(answer.status, 401, "{place:?}: {answer:?}");
            assert!(!answer.body.contains(SECRET), "{place:?}: {answer:?}");
        });
    }
}
