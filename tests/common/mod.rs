//! Shared by the real-KDC tests: one realm per test binary, and a logger that records every
//! line the crate logs so tests can check what was (and was not) said.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

use actix_gssapi_testing::{shared_realm, Negotiation, TestRealm};

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

/// Records every line the crate logs from now on (see [`logs`]); idempotent.
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = log::set_logger(&Capture);
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The shared realm, with log capture installed first.
pub fn realm() -> &'static TestRealm {
    capture_logs();
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

/// bob (password `bob-password`), with a forwardable ticket: created once per process, since
/// the modules of one test binary share its realm.
pub fn bob_ccache() -> std::path::PathBuf {
    static BOB: OnceLock<std::path::PathBuf> = OnceLock::new();
    BOB.get_or_init(|| {
        realm().add_user("bob", "bob-password").expect("bob");
        realm()
            .kinit("bob", "bob-password", &[])
            .expect("bob's ticket")
    })
    .clone()
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

/// Runs `factory`'s app on 127.0.0.1 (one worker, on its own thread: blocking clients in the
/// test cannot stall it) until the process exits, and returns its address.
pub fn spawn_server<F, I, S, B>(factory: F) -> std::net::SocketAddr
where
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, actix_http::Request>,
    S: actix_service::ServiceFactory<actix_http::Request, Config = actix_web::dev::AppConfig>
        + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as actix_service::Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    spawn(factory, None)
}

/// [`spawn_server`] and [`spawn_tls_server`]: plain HTTP, or TLS with `tls`.
fn spawn<F, I, S, B>(factory: F, tls: Option<rustls::ServerConfig>) -> std::net::SocketAddr
where
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, actix_http::Request>,
    S: actix_service::ServiceFactory<actix_http::Request, Config = actix_web::dev::AppConfig>
        + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as actix_service::Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(factory)
                .workers(1)
                .disable_signals();
            let server = match tls {
                Some(config) => server.bind_rustls_0_23(("127.0.0.1", 0), config),
                None => server.bind(("127.0.0.1", 0)),
            }
            .expect("bind");
            tx.send(server.addrs()[0]).expect("send addr");
            server.run().await.expect("server");
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("server up")
}

/// A real server whose `/open` is open and everything else is protected by `auth` (wrapped
/// around a scope, after routing): it answers `Hello, <principal>` (or `Hello, anonymous`),
/// recording its path and `X-Case`.
pub fn serve(auth: actix_gssapi::SpnegoAuthBuilder) -> std::net::SocketAddr {
    serve_with(auth, |auth| auth)
}

/// [`serve`] with `derive` applied to the built `SpnegoAuth` (e.g. `SpnegoAuth::optional`).
pub fn serve_with(
    auth: actix_gssapi::SpnegoAuthBuilder,
    derive: fn(actix_gssapi::SpnegoAuth) -> actix_gssapi::SpnegoAuth,
) -> std::net::SocketAddr {
    use actix_gssapi::KerberosIdentity;
    use actix_web::{web, App, HttpRequest};

    realm();
    let auth = derive(auth.build().expect("acceptor"));
    spawn_server(move || {
        App::new()
            .route("/open", web::get().to(|| async { "open" }))
            .service(web::scope("").wrap(auth.clone()).default_service(web::to(
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
            )))
    })
}

/// Runs `curl -sS --max-time 20 ARGS` behind `wrapper` (e.g. `["faketime", "-f", "+10m"]`)
/// with `env`; returns (HTTP status, body). Panics when curl gives no status.
pub fn curl_via(
    wrapper: &[&str],
    args: &[&str],
    env: &[(&str, std::ffi::OsString)],
) -> (u16, String) {
    let program = wrapper.first().copied().unwrap_or("curl");
    let mut cmd = std::process::Command::new(program);
    if !wrapper.is_empty() {
        cmd.args(&wrapper[1..]).arg("curl");
    }
    let out = cmd
        .args(["-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl gave no status: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, body.to_owned())
}

/// [`curl_via`] without a wrapper.
pub fn curl(args: &[&str], env: &[(&str, std::ffi::OsString)]) -> (u16, String) {
    curl_via(&[], args, env)
}

/// One curl run with its headers dumped (`-D -`): the last status, every status line and
/// header curl printed (one block per response it got), and the last body.
pub struct Exchange {
    pub code: u16,
    pub head: String,
    pub body: String,
}

/// curl `args` against `url` with this process's realm (alice's ticket), headers dumped.
pub fn curl_exchange(url: &str, args: &[&str]) -> Exchange {
    let mut all = vec!["-D", "-"];
    all.extend_from_slice(args);
    all.push(url);
    let (code, out) = curl(&all, &realm().env());
    // The head ends at the last blank line curl printed, before the last response's body.
    let (head, body) = out.rsplit_once("\r\n\r\n").unwrap_or((&out, ""));
    Exchange {
        code,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

impl Exchange {
    /// Every response's status line.
    pub fn status_lines(&self) -> Vec<&str> {
        self.head
            .lines()
            .filter(|l| l.starts_with("HTTP/"))
            .map(str::trim)
            .collect()
    }

    /// The values of header `name` in the last response (any case).
    pub fn last_headers(&self, name: &str) -> Vec<&str> {
        let last = self.head.rsplit("HTTP/").next().unwrap_or("");
        last.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// Lines describing requests, in the order they were answered: see [`record_answers`].
pub type Answers = std::sync::Arc<Mutex<Vec<String>>>;

/// A future as `App::wrap_fn` wants it.
type Answered<B> = std::pin::Pin<
    Box<dyn std::future::Future<Output = actix_web::Result<actix_web::dev::ServiceResponse<B>>>>,
>;

/// For `App::wrap_fn` (outermost, so that it sees the requests a middleware answers early):
/// pushes `describe(request) -> <status>` onto `answers` when each request is answered (an
/// error the inner service returns instead of a response is not recorded).
pub fn record_answers<S, B>(
    answers: &Answers,
    describe: fn(&actix_web::dev::ServiceRequest) -> String,
) -> impl Fn(actix_web::dev::ServiceRequest, &S) -> Answered<B> + Clone + 'static
where
    S: actix_web::dev::Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    S::Future: 'static,
    B: 'static,
{
    let answers = std::sync::Arc::clone(answers);
    move |req, srv| {
        let line = describe(&req);
        let answers = std::sync::Arc::clone(&answers);
        let answer = srv.call(req);
        Box::pin(async move {
            let res = answer.await?;
            let status = res.status().as_u16();
            answers.lock().unwrap().push(format!("{line} -> {status}"));
            Ok(res)
        })
    }
}

/// The scheme of a request's `Authorization` header (never its token), `-` without one.
pub fn authorization_scheme(req: &actix_web::dev::ServiceRequest) -> String {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned())
}

/// A child process, killed and reaped when dropped, whatever the test did.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/<profile>/examples/<name>`, which `cargo test` builds beside the test binaries.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --all-features` (it builds the examples)",
        path.display()
    );
    path
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts `examples/<name>` listening on 127.0.0.1:`port`, with `env`, and waits (at most
/// 20 s) for the "listening on" line every example server prints once bound.
pub fn start_example(name: &str, port: u16, env: &[(&str, std::ffi::OsString)]) -> Reaped {
    launch_example(&[], name, port, env, None)
}

/// What an example wrote to stderr (its log) so far, one string per line.
pub type Stderr = std::sync::Arc<Mutex<Vec<String>>>;

/// [`start_example`], keeping every line the example writes to stderr.
pub fn start_example_logged(
    name: &str,
    port: u16,
    env: &[(&str, std::ffi::OsString)],
) -> (Reaped, Stderr) {
    start_example_logged_via(&[], name, port, env)
}

/// [`start_example_logged`], run by `wrapper` (e.g. `["setpriv", "--reuid=65534", ...]`:
/// the wrapper's arguments, then the example and its address).
pub fn start_example_logged_via(
    wrapper: &[&str],
    name: &str,
    port: u16,
    env: &[(&str, std::ffi::OsString)],
) -> (Reaped, Stderr) {
    let lines = Stderr::default();
    let child = launch_example(
        wrapper,
        name,
        port,
        env,
        Some(std::sync::Arc::clone(&lines)),
    );
    (child, lines)
}

/// [`start_example`] behind `wrapper`, with stderr discarded or read into `stderr`.
fn launch_example(
    wrapper: &[&str],
    name: &str,
    port: u16,
    env: &[(&str, std::ffi::OsString)],
    stderr: Option<Stderr>,
) -> Reaped {
    use std::io::BufRead as _;
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = std::process::Command::new(program);
            c.args(args).arg(example(name));
            c
        }
        None => std::process::Command::new(example(name)),
    };
    let mut child = Reaped(
        command
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::piped())
            .stderr(match stderr {
                Some(_) => std::process::Stdio::piped(),
                None => std::process::Stdio::null(),
            })
            .spawn()
            .unwrap_or_else(|e| panic!("examples/{name}: {e}")),
    );
    if let (Some(lines), Some(pipe)) = (stderr.clone(), child.0.stderr.take()) {
        // Drained as it comes, so the example never blocks on a full pipe; ends with it.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
    }
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(std::time::Duration::from_secs(20)).is_err() {
        // Its last words, when kept: the reason it stopped.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let said = stderr.map(|l| l.lock().map(|l| l.join("\n")).unwrap_or_default());
        panic!(
            "examples/{name} never said it was listening: {}",
            said.unwrap_or_default()
        );
    }
    child
}

/// Starts `harness/bench.rs` in its own process with `extra` environment, accepting
/// authenticators up to 300 s old (tokens made before a run, or replayed during one, are then
/// refused only as replays), and returns it with its address.
pub fn start_bench(extra: &[(&'static str, std::ffi::OsString)]) -> (Reaped, std::net::SocketAddr) {
    let port = free_port();
    let mut env = realm().env();
    let conf = realm().krb5_config_with_clock_skew(300).unwrap();
    env.retain(|(k, _)| *k != "KRB5_CONFIG");
    env.push(("KRB5_CONFIG", conf.into()));
    env.extend(extra.iter().cloned());
    let child = start_example("bench", port, &env);
    (child, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// A process's resident memory in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The most resident memory a process had so far, in KiB (0 when it cannot be read): a body
/// held whole and freed since shows here, not in [`rss_kib`].
pub fn peak_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

/// A `kB` field of `/proc/<pid>/status`.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A handler that answers `body` to whoever reaches it and counts its calls: what stands
/// behind an authorization check in the tests, so they can assert it never ran.
pub fn counting_route(
    calls: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    body: &'static str,
) -> actix_web::Route {
    let calls = std::sync::Arc::clone(calls);
    actix_web::web::to(move || {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { body }
    })
}

/// Linux's `O_NONBLOCK`: opening a FIFO for writing fails at once (ENXIO) while no reader has
/// it open, instead of blocking the feeding thread forever.
const O_NONBLOCK: i32 = 0o4000;

/// Swaps the keytab at `keytab` for a FIFO, so that the next accept blocks reading it (a real
/// stuck disk, not a mocked GSSAPI), and returns a thread that, after `delay`, feeds the keys
/// to the first reader and puts the real keytab back. It gives up (and restores) after 10 s
/// more, so no test can hang; it returns whether it fed a reader.
pub fn stall_keytab(
    keytab: &std::path::Path,
    delay: std::time::Duration,
) -> std::thread::JoinHandle<bool> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::time::{Duration, Instant};

    let bytes = std::fs::read(keytab).expect("keytab");
    let real = keytab.with_extension("real");
    std::fs::rename(keytab, &real).expect("move the keytab aside");
    let status = std::process::Command::new("mkfifo")
        .arg(keytab)
        .status()
        .expect("mkfifo");
    assert!(status.success(), "mkfifo");
    let fifo = keytab.to_owned();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut fed = false;
        while Instant::now() < deadline {
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(O_NONBLOCK)
                .open(&fifo)
            {
                Ok(mut pipe) => {
                    fed = pipe.write_all(&bytes).is_ok();
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        std::fs::rename(&real, &fifo).expect("restore the keytab");
        fed
    })
}

pub mod gssproxy;
pub mod guide;
pub mod load;
pub mod nginx;

/// The `name=value` of the session cookie `res` sets (panics when it sets none), and the
/// whole `Set-Cookie` header's length.
pub fn session_cookie<B>(res: &actix_web::dev::ServiceResponse<B>) -> (String, usize) {
    let full = res
        .headers()
        .get(actix_web::http::header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .expect("a cookie in ASCII");
    (full.split(';').next().unwrap_or("").to_owned(), full.len())
}

/// Sends `GET <target> HTTP/1.1` with `headers` (each `Name: value`, without CRLF) over a raw
/// TCP connection, exactly as given (no client normalises the path), and returns the status
/// (0 when the server hung up without one) and the body.
pub fn raw_get(addr: std::net::SocketAddr, target: &str, headers: &[&str]) -> (u16, String) {
    raw_request(addr, "GET", target, headers)
}

/// Like [`raw_get`], with another method.
pub fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[&str],
) -> (u16, String) {
    let text = raw_exchange(addr, method, target, headers);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Sends a request like [`raw_request`] and returns the whole response as text (status line,
/// headers and body; empty when the server hung up without one).
pub fn raw_exchange(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[&str],
) -> String {
    use std::io::{Read as _, Write as _};
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let timeout = Some(std::time::Duration::from_secs(20));
    stream.set_read_timeout(timeout).unwrap();
    stream.set_write_timeout(timeout).unwrap();
    let _ = stream.write_all(request.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// A SPNEGO NegTokenInit offering `mech` with no optimistic mechanism token.
pub fn spnego_init_without_token(mech: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 128);
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    }
    let mech_list = tlv(0x30, mech);
    let init = tlv(0x30, &tlv(0xa0, &mech_list));
    let mut inner = vec![0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]; // SPNEGO OID
    inner.extend(tlv(0xa0, &init));
    tlv(0x60, &inner)
}

/// The shared realm's environment, with `SPNEGO_HOSTNAME=localhost` for the examples.
pub fn env_for_localhost() -> Vec<(&'static str, std::ffi::OsString)> {
    let mut env = realm().env();
    env.push(("SPNEGO_HOSTNAME", "localhost".into()));
    env
}

/// A self-signed certificate for `localhost` (ECDSA P-256, made once per test process with
/// `openssl` in the realm's directory): its PEM certificate and key files.
pub fn tls_cert() -> (std::path::PathBuf, std::path::PathBuf) {
    static PATHS: OnceLock<(std::path::PathBuf, std::path::PathBuf)> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            make_tls_cert(
                "tls",
                &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
            )
        })
        .clone()
}

/// Makes a self-signed certificate for `localhost` (subjectAltName included) with openssl in
/// `<realm dir>/<name>/`, with `key_options` (e.g. `-newkey rsa:2048 -sha256`); returns its
/// PEM certificate and key files.
pub fn make_tls_cert(name: &str, key_options: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = realm().dir().join(name);
    std::fs::create_dir_all(&dir).expect("certificate directory");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .args(key_options)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl (Debian/Ubuntu: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// A rustls server configuration (ring) with [`tls_cert`].
pub fn tls_config() -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = tls_cert();
    let certs = CertificateDer::pem_file_iter(&cert)
        .expect("certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_file(&key).expect("key");
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("TLS configuration")
}

/// Like [`spawn_server`], over TLS ([`tls_config`]): `req.app_config().secure()` is true.
pub fn spawn_tls_server<F, I, S, B>(factory: F) -> std::net::SocketAddr
where
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, actix_http::Request>,
    S: actix_service::ServiceFactory<actix_http::Request, Config = actix_web::dev::AppConfig>
        + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<actix_http::Response<B>> + 'static,
    <S::Service as actix_service::Service<actix_http::Request>>::Future: 'static,
    S::Service: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    spawn(factory, Some(tls_config()))
}
