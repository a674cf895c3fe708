//! Shared by the real-KDC tests: one realm per test binary, and a logger that records every
//! line the crate logs so tests can check what was (and was not) said.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

use actix_gssapi::testing::{shared_realm, Negotiation, TestRealm};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Every captured line is also appended here, so that `scripts/check-logs.sh` can scan what the
/// whole suite logged for secrets.
fn log_file() -> Option<&'static Mutex<std::fs::File>> {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-logs");
        std::fs::create_dir_all(&dir).ok()?;
        let exe = std::env::current_exe().ok()?;
        let name = exe.file_name()?.to_string_lossy().into_owned();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}-{}.log", std::process::id())))
            .ok()?;
        Some(Mutex::new(file))
    })
    .as_ref()
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("actix_gssapi") {
            let line = format!("{} {}", record.level(), record.args());
            if let Some(Ok(mut file)) = log_file().map(Mutex::lock) {
                use std::io::Write as _;
                let _ = writeln!(file, "{line}");
            }
            if let Ok(mut lines) = LINES.lock() {
                lines.push(line);
            }
        }
    }
    fn flush(&self) {}
}

/// The shared realm, with log capture installed first.
pub fn realm() -> &'static TestRealm {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = log::set_logger(&Capture);
        log::set_max_level(log::LevelFilter::Trace);
    });
    shared_realm()
}

/// Every line logged so far by this crate.
pub fn logs() -> Vec<String> {
    LINES.lock().map(|l| l.clone()).unwrap_or_default()
}

/// Whether some logged line contains all of `parts`.
pub fn logged(parts: &[&str]) -> bool {
    logs().iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// A fresh SPNEGO token for `HTTP@localhost` from alice's ticket.
pub fn alice_token() -> Negotiation {
    Negotiation::start(&realm().alice_ccache(), "HTTP@localhost").expect("alice's token")
}

/// Paths and `X-Case` values of the requests that reached the application of [`serve`].
static CALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether a request with path or `X-Case` `case` reached the application of [`serve`].
pub fn called(case: &str) -> bool {
    CALLED
        .lock()
        .map(|c| c.iter().any(|x| x == case))
        .unwrap_or(false)
}

/// Runs a real server on 127.0.0.1 (one worker, on its own thread: blocking clients in the test
/// cannot stall it) until the process exits. `/open` is open; everything else is protected by
/// `auth` and answers `Hello, <principal>` (or `Hello, anonymous`), recording its path and
/// `X-Case`.
pub fn serve(auth: actix_gssapi::SpnegoAuth) -> std::net::SocketAddr {
    use actix_gssapi::KerberosIdentity;
    use actix_web::{web, App, HttpRequest, HttpServer};

    realm();
    let auth = auth.build().expect("acceptor");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(auth.clone())
                    .route("/open", web::get().to(|| async { "open" }))
                    .default_service(web::to(
                        |req: HttpRequest, id: Option<KerberosIdentity>| async move {
                            let mut called = CALLED.lock().expect("called");
                            called.push(req.path().to_owned());
                            if let Some(case) = req.headers().get("X-Case") {
                                called.push(String::from_utf8_lossy(case.as_bytes()).into_owned());
                            }
                            drop(called);
                            match id {
                                Some(id) => format!("Hello, {}", id.principal()),
                                None => "Hello, anonymous".to_owned(),
                            }
                        },
                    ))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind");
            tx.send(server.addrs()[0]).expect("send addr");
            server.run().await.expect("server");
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("server up")
}

pub mod load;
