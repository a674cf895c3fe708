//! No spelling of a protected path reaches a protected handler without a valid login, for
//! every way the docs teach to protect part of an app.
//!
//! actix-web routes on the percent-decoded path, and `NormalizePath` may rewrite it, while a
//! predicate sees the raw one: `GET /%70rotected/data` once slipped past a documented
//! `req.path().starts_with("/protected")`. The handlers here take no `KerberosIdentity` (like
//! static files), so the middleware alone stands between a request and the secret.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_gssapi::{ServicePrincipal, SpnegoAuth};
use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{web, App};
use common::{alice_token, raw_get, realm};

const SECRET: &str = "TOP SECRET payroll";

/// Request targets that name `/protected/data` (or try to) in other spellings.
const HOSTILE: &[&str] = &[
    "/protected/data",
    "/protected/data/",
    "/protected//data",
    "//protected/data",
    "///protected/data",
    "/%70rotected/data",
    "/%70%72%6f%74%65%63%74%65%64/%64%61%74%61",
    "/protected/%64ata",
    "/protected%2Fdata",
    "/protected%2fdata",
    "/%2Fprotected/data",
    "/%2fprotected%2fdata",
    "/./protected/data",
    "/protected/./data",
    "/protected/../protected/data",
    "/x/../protected/data",
    "/%2e/protected/data",
    "/protected/%2e/data",
    "/protected/%2e%2e/protected/data",
    "/PROTECTED/data",
    "/Protected/data",
    "/protected/DATA",
    "/protected/data;x=1",
    "/protected/data?x=1",
    "/protected/data%20",
    "/protected/data%00",
    "/protected/data.",
    "/protected/data%2F",
    "http://localhost/protected/data",
    "http://localhost//protected/data",
];

/// One app shape: a server, and how many times its secret handler ran.
struct Shape {
    name: &'static str,
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

/// A handler that hands out the secret to whoever reaches it, counting its calls.
fn secret(calls: &Arc<AtomicUsize>) -> actix_web::Route {
    common::counting_route(calls, SECRET)
}

fn shapes() -> Vec<Shape> {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .unwrap();
    let mut shapes = Vec::new();
    let mut add = |name, build: &dyn Fn(Arc<AtomicUsize>) -> SocketAddr| {
        let calls = Arc::new(AtomicUsize::new(0));
        shapes.push(Shape {
            name,
            addr: build(Arc::clone(&calls)),
            calls,
        });
    };

    // The composition guide's shape (examples/protected_scope.rs): optional around the app, required
    // around the scope; NormalizePath outside both, as apps often add it.
    let a = auth.clone();
    add(
        "optional app + protected scope + NormalizePath",
        &move |calls| {
            let auth = a.clone();
            common::spawn_server(move || {
                App::new()
                    .wrap(auth.clone().optional())
                    .wrap(NormalizePath::trim())
                    .route("/", web::get().to(|| async { "open" }))
                    .service(
                        web::scope("/protected")
                            .wrap(auth.clone())
                            .route("/data", secret(&calls)),
                    )
            })
        },
    );
    // NormalizePath inside the app's middleware: it rewrites after SpnegoAuth has run.
    let a = auth.clone();
    add(
        "NormalizePath inside an optional app, protected scope",
        &move |calls| {
            let auth = a.clone();
            common::spawn_server(move || {
                App::new()
                    .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
                    .wrap(auth.clone().optional())
                    .service(
                        web::scope("/protected")
                            .wrap(auth.clone())
                            .route("/data", secret(&calls)),
                    )
            })
        },
    );
    // The whole app protected.
    let a = auth.clone();
    add("whole app + NormalizePath inside", &move |calls| {
        let auth = a.clone();
        common::spawn_server(move || {
            App::new()
                .wrap(NormalizePath::trim())
                .wrap(auth.clone())
                .default_service(secret(&calls))
        })
    });
    // One resource protected, the rest of the app open (a catch-all open handler).
    let a = auth.clone();
    add(
        "protected resource beside an open catch-all",
        &move |calls| {
            let auth = a.clone();
            common::spawn_server(move || {
                App::new()
                    .wrap(NormalizePath::trim())
                    .service(
                        web::resource("/protected/data")
                            .wrap(auth.clone())
                            .route(secret(&calls)),
                    )
                    .default_service(web::to(|| async { "open" }))
            })
        },
    );
    shapes
}

#[test]
fn no_spelling_of_a_protected_path_gets_in_without_a_login() {
    let garbage = format!("Authorization: Negotiate {}", "YIIBAAYGKwYBBQUCoIH1MIHy");
    for shape in shapes() {
        for target in HOSTILE {
            for headers in [
                vec![],
                vec![garbage.as_str()],
                vec!["Authorization: Basic YTpi"],
            ] {
                // An open catch-all may answer 200 itself; the secret must never come back.
                let (status, body) = raw_get(shape.addr, target, &headers);
                assert!(
                    !body.contains(SECRET),
                    "{}: GET {target} {headers:?} -> {status} {body:?}",
                    shape.name
                );
            }
        }
        assert_eq!(shape.calls.load(Ordering::SeqCst), 0, "{}", shape.name);

        // CORS preflights pass SpnegoAuth unauthenticated (its default). The handler here
        // matches every method, so it runs, but no content of its answer comes back (an open
        // catch-all may answer 200 itself).
        for target in HOSTILE {
            let (status, body) = common::raw_request(
                shape.addr,
                "OPTIONS",
                target,
                &[
                    "Origin: https://evil.example",
                    "Access-Control-Request-Method: GET",
                ],
            );
            assert!(
                !body.contains(SECRET),
                "{}: preflight {target} -> {status} {body:?}",
                shape.name
            );
        }

        // The test can fail: with a login, the secret is served.
        let login = format!("Authorization: {}", alice_token().header());
        let (status, body) = raw_get(shape.addr, "/protected/data", &[&login]);
        assert_eq!((status, body.as_str()), (200, SECRET), "{}", shape.name);
        // And a decoded spelling that routes to it needs the same login.
        let login = format!("Authorization: {}", alice_token().header());
        let (status, body) = raw_get(shape.addr, "/%70rotected/data", &[&login]);
        assert_eq!((status, body.as_str()), (200, SECRET), "{}", shape.name);
    }
}

/// The example the composition guide copies, run as its own server.
#[test]
fn the_protected_scope_example_keeps_its_scope_closed() {
    let realm = realm();
    let port = common::free_port();
    let mut env = realm.env();
    env.push(("SPNEGO_HOSTNAME", "localhost".into()));
    let _server = common::start_example("protected_scope", port, &env);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let report = "Quarterly report";
    for target in HOSTILE {
        let target = target.replace("data", "report");
        let (status, body) = raw_get(addr, &target, &[]);
        assert!(
            !(200..300).contains(&status) && !body.contains(report),
            "GET {target} -> {status} {body:?}"
        );
        let target = target.replace("report", "me");
        let (status, body) = raw_get(addr, &target, &[]);
        assert!(
            !(200..300).contains(&status),
            "GET {target} -> {status} {body:?}"
        );
    }
    let (status, body) = raw_get(addr, "/greeting", &[]);
    assert_eq!((status, body.as_str()), (200, "Hello, stranger\n"));
    let login = format!("Authorization: {}", alice_token().header());
    let (status, body) = raw_get(addr, "/%70rotected/report", &[&login]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(report), "{body}");
    let login = format!("Authorization: {}", alice_token().header());
    let (status, body) = raw_get(addr, "/greeting", &[&login]);
    assert_eq!(
        (status, body.as_str()),
        (200, "Hello, alice@EXAMPLE.TEST\n")
    );
}
