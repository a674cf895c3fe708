//! Real HTTP Negotiate clients against a real server on loopback: Python's `requests-gssapi`
//! and `httpx-gssapi` (mutual authentication required), `python-gssapi` with TLS channel
//! bindings over HTTPS, headless Firefox ESR and headless
//! Chromium, each run as a subprocess with the shared realm's environment (alice's ticket).
//! Firefox also runs a single-page app that calls a protected API on another origin (CORS
//! preflight, then a credentialed call), with actix-cors on either side of `SpnegoAuth`.
//! Chromium also logs in through nginx (the forward-auth guide's block) and against a server
//! offering h2.
//!
//! Prerequisites (a missing one fails the test, naming what to install):
//! - Debian packages `firefox-esr`, `chromium`, `tesseract-ocr`, `python3-venv` (with a
//!   Debian `python3`; a pyenv CPython has the venv module), and, to build the Python `gssapi`
//!   package from source, `libkrb5-dev build-essential` (and `python3-dev` for Debian's python).
//! - A virtualenv with the pinned `tests/clients/requirements.txt`, which
//!   `tests/clients/setup.sh` makes in `target/client-venv` (or `$ACTIX_GSSAPI_CLIENT_VENV`).
//!   The tests run it themselves; it returns at once when the venv is up to date.
//!
//! Every client gets a hard timeout, runs in its own process group, and the whole group is
//! killed and reaped when the test is done with it (or panics), so no browser process outlives
//! the test.

use crate::common;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_gssapi::{KerberosIdentity, Responses, ServicePrincipal, SpnegoAuth};
use actix_web::dev::Service as _;
use actix_web::middleware::Condition;
use actix_web::{web, App, HttpRequest, HttpResponse};
use common::realm;

/// How long one client run may take before it is killed and the test fails.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `tests/clients/setup.sh` may take (a first run builds `gssapi` from source: ~45 s).
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);

const ALICE_HELLO: &str = "Hello, alice@EXAMPLE.TEST";

// ---------------------------------------------------------------------------------------------
// Subprocesses: a process group per client, a hard timeout, everything killed and reaped.

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGKILL: i32 = 9;

/// A child that leads its own process group. Dropping it kills the whole group (a browser's
/// content, GPU, network and zygote processes included) and reaps the leader.
///
/// Crash reporters leave the group (they start sessions of their own): Firefox's
/// `crashhelper <browser pid> ...` and Chromium's two `chrome_crashpad_handler
/// --database=$HOME/.config/chromium/...` (`--disable-crashpad-for-testing` would avoid them,
/// but then this Chromium makes no request at all). They watch the browser and exit with it;
/// [`terminate`](Self::terminate) waits for them to go and kills those that stay.
struct Group {
    child: Child,
    done: bool,
    /// The run's private directory: a process whose command line names it is one of ours.
    dir: PathBuf,
}

impl Group {
    fn spawn(cmd: &mut Command, dir: &Path, what: &str) -> Self {
        cmd.process_group(0).stdin(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self {
            child,
            done: false,
            dir: dir.to_owned(),
        }
    }

    /// Whether the leader has exited, without reaping it: while it is a zombie its pid (the
    /// group's id) cannot be reused, so killing the group afterwards hits only our processes.
    fn leader_exited(&self) -> bool {
        !alive(self.child.id())
    }

    /// Kills everything left of the group, reaps the leader, and sees the crash helpers out.
    fn terminate(&mut self) -> Option<ExitStatus> {
        if self.done {
            return None;
        }
        self.done = true;
        let leader = self.child.id();
        let helpers = satellites(leader, &self.dir);
        let pgid = i32::try_from(leader).expect("pid fits in i32");
        // SAFETY: kill(2) with a negative pid signals the process group we created; its
        // leader is not reaped yet, so the group id is still ours.
        unsafe {
            kill(-pgid, SIGKILL);
        }
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        let deadline = Instant::now() + Duration::from_secs(5);
        for pid in helpers {
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) && satellites(leader, &self.dir).contains(&pid) {
                // SAFETY: a live process that still names our run's directory or our leader.
                unsafe {
                    kill(i32::try_from(pid).expect("pid fits in i32"), SIGKILL);
                }
            }
        }
        status
    }

    /// Waits for the leader (at most `timeout`), then kills whatever is left of the group and
    /// reaps the leader. `None` when it had to be killed for running too long.
    fn finish(mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while !self.leader_exited() {
            if Instant::now() > deadline {
                self.terminate();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.terminate()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| {
            !matches!(rest.trim_start().as_bytes().first(), Some(b'Z' | b'X'))
        }),
        Err(_) => false,
    }
}

/// Live processes that belong to the run, in the group or not: their command line names a
/// file in the run's directory, or they are Firefox's `crashhelper <leader> ...`.
fn satellites(leader: u32, dir: &Path) -> Vec<u32> {
    let leader = leader.to_string();
    // `<dir>/`: `client-firefox-1` must not match `client-firefox-10`.
    let mut marker = dir.as_os_str().as_encoded_bytes().to_vec();
    marker.push(b'/');
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let mut args = cmdline.split(|b| *b == 0);
            let program = args.next().unwrap_or_default();
            let names_dir = cmdline.windows(marker.len()).any(|w| w == marker);
            let watches_leader =
                program.ends_with(b"/crashhelper") && args.next() == Some(leader.as_bytes());
            (names_dir || watches_leader) && alive(*pid)
        })
        .collect()
}

/// What a finished client printed.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A fresh private directory for one client run, inside the realm's directory (removed with
/// the realm when the test process exits).
fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = realm().dir().join(format!(
        "client-{name}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `cmd` to completion with its output in files under `dir`; kills it (and fails the
/// test) after `timeout`.
fn run_bounded(cmd: &mut Command, dir: &Path, what: &str, timeout: Duration) -> Finished {
    let out_path = dir.join(format!("{what}.stdout"));
    let err_path = dir.join(format!("{what}.stderr"));
    cmd.stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let status = Group::spawn(cmd, dir, what).finish(timeout);
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "{what} still running after {timeout:?}: killed.\nstdout:\n{stdout}\nstderr:\n{}",
            tail(&stderr, 4000)
        );
    };
    eprintln!("{what}: {status} in {:?}", started.elapsed());
    Finished {
        status,
        stdout,
        stderr,
    }
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}

/// The program's path, or a failure naming the Debian package that provides it.
fn require(programs: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for program in programs {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(program);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found on PATH: install it (Debian/Ubuntu: apt-get install {package})",
        programs.join(" / ")
    );
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

// ---------------------------------------------------------------------------------------------
// Python clients.

/// `<target dir>/client-venv` (this binary is `<target dir>/<profile>/deps/real_clients-*`),
/// or `$ACTIX_GSSAPI_CLIENT_VENV`.
fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ACTIX_GSSAPI_CLIENT_VENV") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("client-venv"))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/client-venv"))
}

/// The venv's python, after `tests/clients/setup.sh` made sure the venv has the pinned
/// packages (instant when it has).
fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = venv_dir();
            let dir = scratch("setup");
            let done = run_bounded(
                Command::new("sh")
                    .arg(clients_dir().join("setup.sh"))
                    .arg(&venv),
                &dir,
                "setup.sh",
                SETUP_TIMEOUT,
            );
            if !done.status.success() {
                return Err(format!(
                    "tests/clients/setup.sh {} failed ({}): {}{}",
                    venv.display(),
                    done.status,
                    done.stdout,
                    tail(&done.stderr, 4000)
                ));
            }
            Ok(venv.join("bin/python"))
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What `tests/clients/*_client.py` printed.
#[derive(Debug)]
struct PythonResult {
    client: String,
    status: String,
    mutual: bool,
    error: String,
    body: String,
}

fn python_client(script: &str, url: &str) -> PythonResult {
    python_client_with(script, &[url])
}

/// Runs `tests/clients/<script>` with `args`.
fn python_client_with(script: &str, args: &[&str]) -> PythonResult {
    let python = venv_python();
    let dir = scratch(script);
    let done = run_bounded(
        Command::new(&python)
            .arg(clients_dir().join(script))
            .args(args)
            .envs(realm().env())
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        &dir,
        script,
        CLIENT_TIMEOUT,
    );
    assert!(
        done.status.success(),
        "{script} failed ({}): {}{}",
        done.status,
        done.stdout,
        tail(&done.stderr, 4000)
    );
    let (head, body) = done
        .stdout
        .split_once("\nbody=")
        .unwrap_or_else(|| panic!("{script} printed no body line: {}", done.stdout));
    let field = |key: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    PythonResult {
        client: field("client"),
        status: field("status"),
        mutual: field("mutual") == "true",
        error: field("error"),
        body: body.to_owned(),
    }
}

/// The server for the Python clients: every path needs Kerberos and answers
/// `Hello, <principal>` (see `common::serve`), as `examples/hello` does.
fn python_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        common::serve(SpnegoAuth::builder().principal(ServicePrincipal::host("localhost")))
    })
}

/// Not our middleware: a server that challenges with `Negotiate`, then answers any
/// `Authorization: Negotiate ...` with 200 and no mutual-authentication token.
fn impostor() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        common::spawn_server(|| {
            App::new().default_service(web::to(|req: HttpRequest| async move {
                let negotiates = req
                    .headers()
                    .get("Authorization")
                    .is_some_and(|v| v.as_bytes().starts_with(b"Negotiate "));
                if negotiates {
                    HttpResponse::Ok().body("trust me")
                } else {
                    HttpResponse::Unauthorized()
                        .insert_header(("WWW-Authenticate", "Negotiate"))
                        .finish()
                }
            }))
        })
    })
}

fn python_logs_in(script: &str, client: &str) {
    let port = python_server().port();
    let path = format!("/{client}");
    let r = python_client(script, &format!("http://localhost:{port}{path}"));
    assert_eq!(r.client, client);
    assert_eq!(
        (r.status.as_str(), r.body.as_str(), r.error.as_str()),
        ("200", ALICE_HELLO, ""),
        "{r:?}"
    );
    // The server's token in the 200 completed the client's GSSAPI context.
    assert!(r.mutual, "mutual authentication not verified: {r:?}");
    assert!(common::called(&path));

    // The client really checks the server: a server that takes the token but answers 200
    // without a token of its own (as one without the service key would) is refused.
    let port = impostor().port();
    let r = python_client(script, &format!("http://localhost:{port}/"));
    assert!(!r.mutual, "{r:?}");
    assert!(r.error.contains("MutualAuthenticationError"), "{r:?}");
}

#[test]
fn requests_gssapi_logs_in_with_mutual_auth() {
    python_logs_in("requests_client.py", "requests-gssapi");
}

#[test]
fn httpx_gssapi_logs_in_with_mutual_auth() {
    python_logs_in("httpx_client.py", "httpx-gssapi");
}

/// python-gssapi with TLS channel bindings it computes from the certificate of a live TLS
/// connection to `examples/tls` (rustls): bound → in and channel-bound, with mutual
/// authentication; bound with the wrong hash → 403; no bindings → in unbound, or 403 when
/// bindings are required.
#[test]
fn python_gssapi_binds_to_the_tls_certificate() {
    let (cert, key) = common::make_tls_cert("bindings", &["-newkey", "rsa:2048", "-sha256"]);
    let start = |mode: &str| {
        let port = common::free_port();
        let mut env = common::env_for_localhost();
        env.push(("TLS_CERT", cert.clone().into()));
        env.push(("TLS_KEY", key.clone().into()));
        env.push(("CHANNEL_BINDINGS", mode.into()));
        (common::start_example("tls", port, &env), port)
    };
    let cafile = cert.display().to_string();
    let run = |port: u16, mode: &str| {
        let url = format!("https://localhost:{port}/");
        python_client_with("bindings_client.py", &[&url, &cafile, mode])
    };

    let (_when_sent, port) = start("when-sent");
    let r = run(port, "bind");
    assert_eq!(
        (r.status.as_str(), r.body.as_str(), r.error.as_str()),
        ("200", "alice@EXAMPLE.TEST channel-bound=true\n", ""),
        "{r:?}"
    );
    assert!(r.mutual, "{r:?}");
    let r = run(port, "bind-sha512");
    assert_eq!(r.status, "403", "{r:?}");
    let r = run(port, "none");
    assert_eq!(
        (r.status.as_str(), r.body.as_str()),
        ("200", "alice@EXAMPLE.TEST channel-bound=false\n"),
        "{r:?}"
    );

    let (_required, port) = start("required");
    assert_eq!(run(port, "none").status, "403");
    let r = run(port, "bind");
    assert_eq!(
        (r.status.as_str(), r.body.as_str()),
        ("200", "alice@EXAMPLE.TEST channel-bound=true\n"),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Browsers: a page that reports back what the browser rendered.

/// What the browsers' site saw.
#[derive(Default)]
struct Seen {
    /// `METHOD /path <scheme of the Authorization header, or "-">` for every request.
    requests: Mutex<Vec<String>>,
    /// The principals `/page` was served to.
    served: Mutex<Vec<String>>,
    /// The text the page's script posted to `/report`: `document.body.innerText`.
    reports: Mutex<Vec<String>>,
}

impl Seen {
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
    fn served(&self) -> Vec<String> {
        self.served.lock().unwrap().clone()
    }
    fn reports(&self) -> Vec<String> {
        self.reports.lock().unwrap().clone()
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An HTML page showing `text` in big black letters (for OCR), whose script posts what the
/// browser rendered back to `/report`. The XHR is synchronous so that it is done before the
/// page's load event, after which `firefox --screenshot` and `chromium --dump-dom` exit.
fn page(text: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>actix-gssapi</title><link rel="icon" href="data:,"></head>
<body style="margin:24px;background:#fff;color:#000">
<p id="who" style="font:bold 40px monospace">{}</p>
<script>
var x = new XMLHttpRequest();
x.open("POST", "/report", false);
x.setRequestHeader("Content-Type", "text/plain");
x.send(document.body.innerText.trim());
</script>
</body></html>
"#,
        escape_html(text)
    )
}

/// `POST /report`: records what a [`page`]'s script sends (in the app's `Data<Seen>`).
fn report_route() -> actix_web::Route {
    web::post().to(|body: String, seen: web::Data<Seen>| async move {
        seen.reports.lock().unwrap().push(body);
        "thanks"
    })
}

/// A site of its own per browser test: `/page` needs Kerberos and greets the principal;
/// `/report` is open and records what the page's script sends; the 401 page (no Kerberos)
/// reports too.
fn browser_site() -> (SocketAddr, Arc<Seen>) {
    realm();
    let seen = Arc::new(Seen::default());
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .responses(Responses::new().unauthorized_with(|_| {
            HttpResponse::Unauthorized()
                .content_type("text/html; charset=utf-8")
                .body(page("Kerberos login required"))
        }))
        .build()
        .expect("acceptor");
    let app_seen = Arc::clone(&seen);
    let addr = common::spawn_server(move || {
        let record = Arc::clone(&app_seen);
        App::new()
            .app_data(web::Data::from(Arc::clone(&app_seen)))
            // Outermost: sees every request, also those the middleware answers.
            .wrap_fn(move |req, srv| {
                let scheme = req
                    .headers()
                    .get("Authorization")
                    .map(|v| {
                        let v = String::from_utf8_lossy(v.as_bytes());
                        let mut words = v.split_whitespace();
                        let scheme = words.next().unwrap_or("").to_owned();
                        match words.next() {
                            Some(t) if t.starts_with("TlRMTVNT") => scheme + " (NTLM)",
                            _ => scheme,
                        }
                    })
                    .unwrap_or_else(|| "-".to_owned());
                record.requests.lock().unwrap().push(format!(
                    "{} {} {scheme}",
                    req.method(),
                    req.path()
                ));
                srv.call(req)
            })
            .service(
                web::resource("/page")
                    .wrap(auth.clone())
                    .route(web::get().to(
                        |id: KerberosIdentity, seen: web::Data<Seen>| async move {
                            seen.served.lock().unwrap().push(id.principal().to_owned());
                            HttpResponse::Ok()
                                .content_type("text/html; charset=utf-8")
                                .body(page(&format!("Hello, {}", id.principal())))
                        },
                    )),
            )
            .route("/report", report_route())
    });
    (addr, seen)
}

/// The text tesseract reads in `png`, with all whitespace removed (OCR spacing varies).
fn ocr(png: &Path) -> String {
    let tesseract = require(&["tesseract"], "tesseract-ocr");
    let dir = png.parent().expect("screenshot dir");
    let done = run_bounded(
        Command::new(tesseract).arg(png).arg("stdout"),
        dir,
        "tesseract",
        CLIENT_TIMEOUT,
    );
    assert!(done.status.success(), "tesseract: {}", done.stderr);
    done.stdout.split_whitespace().collect()
}

/// Loads `url` in headless Firefox with a fresh profile (Negotiate allowed for `localhost`
/// when `trusted`), waits for it to take its screenshot and exit, and returns the screenshot.
fn firefox(url: &str, trusted: bool) -> PathBuf {
    let firefox = require(&["firefox-esr", "firefox"], "firefox-esr");
    require(&["tesseract"], "tesseract-ocr"); // fail before starting the browser
    let dir = scratch("firefox");
    let profile = dir.join("profile");
    let home = dir.join("home");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    // Temporary files go to the run's directory, removed with the realm.
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut prefs = std::fs::read_to_string(clients_dir().join("firefox/user.js"))
        .expect("tests/clients/firefox/user.js");
    if trusted {
        let _ = writeln!(
            prefs,
            "user_pref(\"network.negotiate-auth.trusted-uris\", \"localhost\");"
        );
    }
    std::fs::write(profile.join("user.js"), prefs).unwrap();
    let shot = dir.join("screenshot.png");
    let done = run_bounded(
        Command::new(firefox)
            .args(["--headless", "--no-remote", "--new-instance", "--profile"])
            .arg(&profile)
            .args(["--window-size=1000,300", "--screenshot"])
            .arg(&shot)
            .arg(url)
            .envs(realm().env())
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY"),
        &dir,
        "firefox",
        CLIENT_TIMEOUT,
    );
    assert!(
        done.status.success() && shot.is_file(),
        "firefox failed ({}), screenshot {}: {}{}",
        done.status,
        if shot.is_file() { "taken" } else { "missing" },
        done.stdout,
        tail(&done.stderr, 4000)
    );
    shot
}

#[test]
fn firefox_logs_in_and_renders_the_page() {
    let (addr, seen) = browser_site();
    let shot = firefox(&format!("http://localhost:{}/page", addr.port()), true);
    let requests = seen.requests();
    eprintln!("firefox: {requests:?}");
    // Challenged first (no credentials), then a Negotiate token, never NTLM.
    assert!(requests.iter().any(|r| r == "GET /page -"), "{requests:?}");
    assert!(
        requests.iter().any(|r| r == "GET /page Negotiate"),
        "{requests:?}"
    );
    assert!(!requests.iter().any(|r| r.contains("NTLM")), "{requests:?}");
    assert_eq!(seen.served(), ["alice@EXAMPLE.TEST"], "{requests:?}");
    // What the browser rendered, as its own script read it from the page...
    assert_eq!(seen.reports(), [ALICE_HELLO], "{requests:?}");
    // ...and as a person would see it.
    let text = ocr(&shot);
    assert!(
        text.contains("Hello,alice@EXAMPLE.TEST"),
        "OCR of {}: {text:?}",
        shot.display()
    );
}

#[test]
fn firefox_without_trusted_uris_gets_401() {
    let (addr, seen) = browser_site();
    let shot = firefox(&format!("http://localhost:{}/page", addr.port()), false);
    let requests = seen.requests();
    // Firefox never answered the challenge: no Authorization header at all.
    assert!(requests.iter().any(|r| r == "GET /page -"), "{requests:?}");
    assert!(requests.iter().all(|r| r.ends_with(" -")), "{requests:?}");
    assert!(seen.served().is_empty(), "{requests:?}");
    // It rendered the 401 page.
    assert_eq!(seen.reports(), ["Kerberos login required"], "{requests:?}");
    let text = ocr(&shot);
    assert!(text.contains("Kerberosloginrequired"), "OCR: {text:?}");
}

/// Removes `/tmp/org.chromium.Chromium.*/` of a Chromium run (the profile's `SingletonSocket`
/// links into it), which Chromium leaves behind when it is killed.
struct ChromiumSingleton(PathBuf);

impl Drop for ChromiumSingleton {
    fn drop(&mut self) {
        let Ok(socket) = std::fs::read_link(self.0.join("SingletonSocket")) else {
            return;
        };
        if let Some(dir) = socket.parent() {
            let ours = dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("org.chromium.Chromium."));
            if ours {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// Headless Chromium with a fresh profile; returns the DOM after load (`--dump-dom`).
///
/// Why `Local State` is pre-seeded: on Linux, Chromium loads the GSSAPI library into its
/// network service only when the profile's `Local State` has
/// `net.received_http_auth_negotiate_headers = true`, a flag it sets the first time it sees a
/// Negotiate challenge. In a fresh profile the first challenge therefore fails with
/// `ERR_UNSUPPORTED_AUTH_SCHEME` (net-log: `AUTH_HANDLER_CREATE_RESULT ... net_error -339`),
/// and only the next browser start with that profile does Negotiate. Flags such as
/// `--gssapi-library-name` do not help; setting the flag beforehand does.
fn chromium(url: &str, allowlist: Option<&str>) -> String {
    chromium_in(&scratch("chromium"), url, allowlist, &[])
}

/// [`chromium`] with its profile in `dir` (a later run in the same `dir` has the earlier
/// runs' cookies) and `extra` arguments.
fn chromium_in(dir: &Path, url: &str, allowlist: Option<&str>, extra: &[&str]) -> String {
    let chromium = require(&["chromium", "chromium-browser"], "chromium");
    let profile = dir.join("profile");
    let home = dir.join("home");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    // Not TMPDIR: Chromium's singleton socket goes there, and a unix socket path must be
    // short. A killed Chromium leaves that directory behind: the guard removes it.
    let _singleton = ChromiumSingleton(profile.clone());
    let local_state = profile.join("Local State");
    if !local_state.exists() {
        std::fs::write(
            local_state,
            r#"{"net":{"received_http_auth_negotiate_headers":true}}"#,
        )
        .unwrap();
    }
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        // Chromium refuses to run as root with its sandbox; the tests run as root on CI.
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-breakpad",
        "--metrics-recording-only",
        "--password-store=basic",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    if let Some(allowlist) = allowlist {
        cmd.arg(format!("--auth-server-allowlist={allowlist}"));
    }
    cmd.args(extra)
        .args(["--dump-dom", url])
        .envs(realm().env())
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let done = run_bounded(&mut cmd, dir, "chromium", CLIENT_TIMEOUT);
    assert!(
        done.status.success(),
        "chromium failed ({}): {}{}",
        done.status,
        done.stdout,
        tail(&done.stderr, 4000)
    );
    done.stdout
}

#[test]
fn chromium_logs_in_and_renders_the_page() {
    let (addr, seen) = browser_site();
    let dom = chromium(
        &format!("http://localhost:{}/page", addr.port()),
        Some("localhost"),
    );
    let requests = seen.requests();
    eprintln!("chromium: {requests:?}");
    assert!(
        requests.iter().any(|r| r == "GET /page Negotiate"),
        "{requests:?}\n{dom}"
    );
    assert!(!requests.iter().any(|r| r.contains("NTLM")), "{requests:?}");
    assert_eq!(seen.served(), ["alice@EXAMPLE.TEST"], "{requests:?}");
    assert_eq!(seen.reports(), [ALICE_HELLO], "{requests:?}");
    assert!(dom.contains(&format!(">{ALICE_HELLO}</p>")), "{dom}");
}

#[test]
fn chromium_without_allowlist_gets_401() {
    let (addr, seen) = browser_site();
    let dom = chromium(&format!("http://localhost:{}/page", addr.port()), None);
    let requests = seen.requests();
    assert!(requests.iter().all(|r| r.ends_with(" -")), "{requests:?}");
    assert!(seen.served().is_empty(), "{requests:?}");
    assert_eq!(seen.reports(), ["Kerberos login required"], "{requests:?}");
    assert!(dom.contains(">Kerberos login required</p>"), "{dom}");
}

/// The optional-login pattern `SpnegoAuth::optional` documents, in a real browser: the app is
/// open (optional login, session cookies), `/login` requires a login and redirects home. The
/// browser sends nothing on the open page, gets the `401` on `/login`, answers it with a
/// ticket, stores the cookie, and is identified on the open page by the cookie alone.
#[test]
fn chromium_logs_in_on_a_login_route_and_the_cookie_identifies_it_on_open_pages() {
    use actix_gssapi::{Key, SessionCookie};
    realm();
    let seen = Arc::new(Seen::default());
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        // Plain HTTP on loopback: a Secure cookie would be dropped by the browser.
        .session_cookie(SessionCookie::new(Key::generate()).secure(false))
        .build()
        .expect("acceptor");
    let app_seen = Arc::clone(&seen);
    let addr = common::spawn_server(move || {
        let record = Arc::clone(&app_seen);
        App::new()
            .app_data(web::Data::from(Arc::clone(&app_seen)))
            .wrap(auth.clone().optional())
            .wrap_fn(move |req, srv| {
                let has = |name: &'static str| {
                    if req.headers().contains_key(name) {
                        name
                    } else {
                        "-"
                    }
                };
                record.requests.lock().unwrap().push(format!(
                    "{} {} {} {}",
                    req.method(),
                    req.path(),
                    has("authorization"),
                    has("cookie")
                ));
                srv.call(req)
            })
            .route(
                "/",
                web::get().to(|id: Option<KerberosIdentity>| async move {
                    let text = match id {
                        Some(id) if id.is_from_session_cookie() => {
                            format!("Hello, {} (cookie)", id.principal())
                        }
                        Some(id) => format!("Hello, {} (ticket)", id.principal()),
                        None => "Hello, stranger".to_owned(),
                    };
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(page(&text))
                }),
            )
            .service(web::resource("/login").wrap(auth.clone()).to(|| async {
                HttpResponse::SeeOther()
                    .insert_header(("Location", "/"))
                    .finish()
            }))
            .route("/report", report_route())
    });
    let dom = chromium(
        &format!("http://localhost:{}/login", addr.port()),
        Some("localhost"),
    );
    let requests = seen.requests();
    eprintln!("chromium: {requests:?}");
    let expected = [
        "GET /login - -",
        "GET /login authorization -",
        "GET / - cookie",
    ]
    .map(String::from);
    assert!(
        requests.windows(3).any(|w| w == expected),
        "{requests:?}\n{dom}"
    );
    assert_eq!(
        seen.reports(),
        [format!("{ALICE_HELLO} (cookie)")],
        "{requests:?}"
    );
}

/// The forward-auth guide's nginx block in front of `ForwardAuth` and an application that
/// shows the `X-Remote-User` it got: Chromium gets the endpoint's `401` challenge through
/// nginx, answers it with a ticket, and renders the application's page as alice.
#[test]
fn chromium_logs_in_through_nginx_with_the_forward_auth_guides_block() {
    use common::nginx::{guide_server_block, servers, Nginx};
    let (endpoint, upstream, seen) = servers();
    let nginx = Nginx::start(realm().dir(), &guide_server_block(), endpoint, upstream);
    let dom = chromium(&nginx.url("/app/page"), Some("localhost"));
    let seen = seen.lock().unwrap().clone();
    eprintln!("chromium through nginx: {seen:?}");
    // Nginx asked the endpoint about the request without credentials (`401`); Chromium sends
    // a ticket only when challenged, so the second question, with its ticket, shows that the
    // challenge reached it through nginx. Then the application got the request, as alice.
    let login = [
        "/auth - -> 401",
        "/auth Negotiate -> 200",
        "/app/page user=alice@EXAMPLE.TEST",
    ];
    // Sometimes (a race with `--dump-dom`'s exit) Chromium also asks for the plain-text page's
    // favicon, with the session cookie that came back through nginx and nothing else.
    let favicon = ["/auth - -> 200", "/favicon.ico user=alice@EXAMPLE.TEST"];
    let lines: Vec<&str> = seen.iter().map(String::as_str).collect();
    assert!(
        lines == login || lines == [&login[..], &favicon[..]].concat(),
        "{seen:?}\n{dom}"
    );
    assert!(
        dom.contains(">/app/page user=alice@EXAMPLE.TEST</pre>"),
        "{dom}"
    );
}

// ---------------------------------------------------------------------------------------------
// CORS: a single-page app on one origin calls a Kerberos-protected API on another.

/// Where actix-cors sits relative to `SpnegoAuth` in the API's app.
#[derive(Clone, Copy, Debug)]
enum CorsOrder {
    /// `.wrap(cors).wrap(auth)`: the preflight passes `SpnegoAuth` (the default) to actix-cors.
    Inside,
    /// `.wrap(auth).wrap(cors)`: actix-cors answers the preflight before `SpnegoAuth`.
    Outside,
    /// Inside, with `SpnegoAuth::authenticate_preflights()`: the preflight gets the 401.
    InsideAuthenticatingPreflights,
}

/// A page on `http://localhost:<page port>/spa` whose script calls
/// `POST http://localhost:<api port>/api/me` with credentials and a JSON body (so the browser
/// sends a preflight first), shows the answer and reports it. Returns the page's URL, what the
/// page's site saw (`reports`) and what the API saw (`requests`, `served`).
fn cors_site(order: CorsOrder) -> (String, Arc<Seen>, Arc<Seen>) {
    realm();
    let page_seen = Arc::new(Seen::default());
    let api_seen = Arc::new(Seen::default());
    // The page's site first (its origin goes into the API's CORS policy); it learns the API's
    // URL once the API is up.
    let api_url: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let (seen, url) = (Arc::clone(&page_seen), Arc::clone(&api_url));
    let page = common::spawn_server(move || {
        let url = Arc::clone(&url);
        App::new()
            .app_data(web::Data::from(Arc::clone(&seen)))
            .route(
                "/spa",
                web::get().to(move || {
                    let html = spa_page(url.get().expect("the API is up"));
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(html)
                    }
                }),
            )
            .route("/report", report_route())
    });
    let page_origin = format!("http://localhost:{}", page.port());
    let mut auth = SpnegoAuth::builder().principal(ServicePrincipal::host("localhost"));
    if matches!(order, CorsOrder::InsideAuthenticatingPreflights) {
        auth = auth.authenticate_preflights();
    }
    let auth = auth.build().expect("acceptor");
    let (seen, origin) = (Arc::clone(&api_seen), page_origin.clone());
    let api = common::spawn_server(move || {
        let record = Arc::clone(&seen);
        let cors = || {
            actix_cors::Cors::default()
                .allowed_origin(&origin)
                .allowed_methods(["POST"])
                .allowed_header("content-type")
                .supports_credentials()
        };
        let me = web::resource("/api/me").route(web::post().to(
            |id: KerberosIdentity, seen: web::Data<Seen>| async move {
                seen.served.lock().unwrap().push(id.principal().to_owned());
                format!("API says: {}", id.principal())
            },
        ));
        // The two orders as one type: actix-cors is on exactly one side of SpnegoAuth.
        let inside = !matches!(order, CorsOrder::Outside);
        App::new()
            .app_data(web::Data::from(Arc::clone(&seen)))
            .service(me)
            .wrap(Condition::new(inside, cors()))
            .wrap(auth.clone())
            .wrap(Condition::new(!inside, cors()))
            // Outermost: every request and the status it got, also those answered early.
            .wrap_fn(move |req, srv| {
                let scheme = req
                    .headers()
                    .get("Authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("-")
                    .to_owned();
                let line = format!("{} {} {scheme}", req.method(), req.path());
                let record = Arc::clone(&record);
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    record
                        .requests
                        .lock()
                        .unwrap()
                        .push(format!("{line} -> {}", res.status().as_u16()));
                    Ok(res)
                }
            })
    });
    api_url
        .set(format!("http://localhost:{}/api/me", api.port()))
        .expect("set once");
    (format!("{page_origin}/spa"), page_seen, api_seen)
}

/// The single-page app: a synchronous (so done before the load event, when Firefox takes its
/// screenshot) credentialed cross-origin `POST` with a JSON body, which needs a preflight.
fn spa_page(api_url: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>spa</title><link rel="icon" href="data:,"></head>
<body style="margin:24px;background:#fff;color:#000">
<p id="who" style="font:bold 40px monospace">loading</p>
<script>
var out = "no answer";
try {{
  var x = new XMLHttpRequest();
  x.open("POST", "{api_url}", false);
  x.withCredentials = true;
  x.setRequestHeader("Content-Type", "application/json");
  x.send("{{}}");
  out = x.status + " " + x.responseText;
}} catch (e) {{ out = "error " + e; }}
document.getElementById("who").textContent = out;
var r = new XMLHttpRequest();
r.open("POST", "/report", false);
r.setRequestHeader("Content-Type", "text/plain");
r.send(out);
</script>
</body></html>
"#
    )
}

fn firefox_calls_a_cross_origin_api(order: CorsOrder) {
    let (url, page, api) = cors_site(order);
    let shot = firefox(&url, true);
    let requests = api.requests();
    eprintln!("firefox, actix-cors {order:?}: {requests:?}");
    // The preflight (no credentials) was answered 200 by actix-cors, then the call itself
    // was challenged, and answered with a Negotiate token, never NTLM.
    assert_eq!(
        requests.first().map(String::as_str),
        Some("OPTIONS /api/me - -> 200"),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r == "POST /api/me - -> 401"),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r == "POST /api/me Negotiate -> 200"),
        "{requests:?}"
    );
    assert!(!requests.iter().any(|r| r.contains("NTLM")), "{requests:?}");
    assert_eq!(api.served(), ["alice@EXAMPLE.TEST"], "{requests:?}");
    assert_eq!(
        page.reports(),
        ["200 API says: alice@EXAMPLE.TEST"],
        "{requests:?}"
    );
    let text = ocr(&shot);
    assert!(text.contains("APIsays:alice@EXAMPLE.TEST"), "OCR: {text:?}");
}

#[test]
fn firefox_calls_a_cross_origin_api_with_actix_cors_inside() {
    firefox_calls_a_cross_origin_api(CorsOrder::Inside);
}

#[test]
fn firefox_calls_a_cross_origin_api_with_actix_cors_outside() {
    firefox_calls_a_cross_origin_api(CorsOrder::Outside);
}

/// What the default prevents: with preflights authenticated, the browser's preflight gets the
/// 401, and the call is never made.
#[test]
fn firefox_cannot_call_the_api_when_preflights_are_authenticated() {
    let (url, page, api) = cors_site(CorsOrder::InsideAuthenticatingPreflights);
    firefox(&url, true);
    let requests = api.requests();
    assert_eq!(requests, ["OPTIONS /api/me - -> 401"]);
    assert!(api.served().is_empty());
    let reports = page.reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("error ") || reports[0].starts_with("0 "),
        "{reports:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The password fallback: requests' HTTPBasicAuth against `examples/password_fallback`.

/// What `tests/clients/requests_basic_client.py` printed: status, the `WWW-Authenticate`
/// values joined with ` | `, error, body.
#[derive(Debug)]
struct BasicResult {
    status: String,
    challenges: String,
    error: String,
    body: String,
}

fn requests_basic(url: &str, user: &str, password: &str, ca: Option<&Path>) -> BasicResult {
    let script = "requests_basic_client.py";
    let python = venv_python();
    let dir = scratch(script);
    let mut cmd = Command::new(&python);
    cmd.arg(clients_dir().join(script)).arg(url).arg(user);
    if let Some(ca) = ca {
        cmd.arg(ca);
    }
    let done = run_bounded(
        cmd.envs(realm().env())
            // Not on the command line, where `ps` shows it.
            .env("BASIC_PASSWORD", password)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        &dir,
        script,
        CLIENT_TIMEOUT,
    );
    assert!(
        done.status.success(),
        "{script}: {}{}",
        done.stdout,
        done.stderr
    );
    let (head, body) = done
        .stdout
        .split_once("\nbody=")
        .unwrap_or_else(|| panic!("{script} printed no body line: {}", done.stdout));
    let field = |key: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(field("client"), "requests-basic");
    BasicResult {
        status: field("status"),
        challenges: field("challenges"),
        error: field("error"),
        body: body.to_owned(),
    }
}

#[test]
fn requests_http_basic_auth_logs_in_over_https_only() {
    let (cert, key) = common::tls_cert();
    let mut env = common::env_for_localhost();
    env.push(("TLS_CERT", cert.clone().into()));
    env.push(("TLS_KEY", key.into()));
    let port = common::free_port();
    let _server = common::start_example("password_fallback", port, &env);
    let url = format!("https://localhost:{port}/");
    let r = requests_basic(
        &url,
        "alice",
        actix_gssapi_testing::ALICE_PASSWORD,
        Some(&cert),
    );
    assert_eq!(
        (r.status.as_str(), r.body.as_str(), r.error.as_str()),
        ("200", "alice@EXAMPLE.TEST\n", ""),
        "{r:?}"
    );
    let r = requests_basic(&url, "alice", "not-alices-password", Some(&cert));
    assert_eq!((r.status.as_str(), r.error.as_str()), ("401", ""), "{r:?}");
    assert_eq!(
        r.challenges, r#"Negotiate | Basic realm="Kerberos", charset="UTF-8""#,
        "{r:?}"
    );

    // The same example on plain HTTP without ALLOW_INSECURE_BASIC: refused, not offered.
    let port = common::free_port();
    let _plain = common::start_example("password_fallback", port, &common::env_for_localhost());
    let url = format!("http://localhost:{port}/");
    let r = requests_basic(&url, "alice", actix_gssapi_testing::ALICE_PASSWORD, None);
    assert_eq!(
        (r.status.as_str(), r.challenges.as_str()),
        ("401", "Negotiate"),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// HTTP/2: Chromium against a server offering h2 and http/1.1 (ALPN).

/// `<HTTP version> <method> <path> <authorization or -> <cookie or ->`, for
/// [`common::record_answers`].
fn version_and_credentials(req: &actix_web::dev::ServiceRequest) -> String {
    let has = |name: &'static str| {
        if req.headers().contains_key(name) {
            name
        } else {
            "-"
        }
    };
    format!(
        "{:?} {} {} {} {}",
        req.version(),
        req.method(),
        req.path(),
        has("authorization"),
        has("cookie")
    )
}

/// Chromium treats Negotiate as bound to a connection: over HTTPS offering h2 and http/1.1
/// (actix-web's rustls binding always offers both), the first request goes out on h2 and gets
/// the `401` challenge there; Chromium answers it with a ticket on a new HTTP/1.1 connection,
/// where it logs in, and the page's next request goes over HTTP/1.1 too. The next start of the
/// browser (same profile) sends the session cookie over h2, and is in. Whatever protocol
/// Chromium picks, the login must succeed and render alice; the exact sequence is asserted last,
/// so that a change in Chromium shows as such.
#[test]
fn chromium_logs_in_over_http11_after_an_h2_challenge_and_the_cookie_then_serves_h2() {
    use actix_gssapi::{Key, SessionCookie};
    realm();
    let seen = Arc::new(Seen::default());
    let answers = common::Answers::default();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(Key::generate()))
        .build()
        .expect("acceptor");
    let (app_seen, record) = (Arc::clone(&seen), Arc::clone(&answers));
    let addr = common::spawn_tls_server(move || {
        App::new()
            .app_data(web::Data::from(Arc::clone(&app_seen)))
            .wrap_fn(common::record_answers(&record, version_and_credentials))
            .service(
                web::resource("/page")
                    .wrap(auth.clone())
                    .route(web::get().to(
                        |id: KerberosIdentity, seen: web::Data<Seen>| async move {
                            let how = if id.is_from_session_cookie() {
                                "cookie"
                            } else {
                                "ticket"
                            };
                            seen.served
                                .lock()
                                .unwrap()
                                .push(format!("{} {how}", id.principal()));
                            HttpResponse::Ok()
                                .content_type("text/html; charset=utf-8")
                                .body(page(&format!("Hello, {}", id.principal())))
                        },
                    )),
            )
            .route("/report", report_route())
    });
    let dir = scratch("chromium");
    let url = format!("https://localhost:{}/page", addr.port());
    let https = ["--ignore-certificate-errors"];
    // One start of the browser with the profile in `dir`: what the server answered, in order.
    let start = |which: &str| {
        let dom = chromium_in(&dir, &url, Some("localhost"), &https);
        let answered = std::mem::take(&mut *answers.lock().unwrap());
        eprintln!("chromium, {which} start: {answered:?}");
        // Chromium sometimes asks for the icon before it exits (seen through nginx in about
        // 3 runs of 10): not part of the sequence under test.
        let answered: Vec<String> = answered
            .into_iter()
            .filter(|l| !l.contains(" /favicon.ico "))
            .collect();
        assert!(
            dom.contains(&format!(">{ALICE_HELLO}</p>")),
            "{answered:?}\n{dom}"
        );
        answered
    };

    let first = start("first");
    assert_eq!(seen.served(), ["alice@EXAMPLE.TEST ticket"], "{first:?}");
    assert_eq!(seen.reports(), [ALICE_HELLO], "{first:?}");
    // The challenge on h2: the test exercises h2, and the server challenges there.
    assert_eq!(
        first.first().map(String::as_str),
        Some("HTTP/2.0 GET /page - - -> 401"),
        "{first:?}"
    );
    // One login, whichever protocol Chromium chose for it; nothing else refused.
    let logins: Vec<_> = first
        .iter()
        .filter(|l| l.contains(" authorization "))
        .collect();
    assert!(
        logins.len() == 1 && logins[0].ends_with(" GET /page authorization - -> 200"),
        "{first:?}"
    );
    assert!(
        first[1..].iter().all(|l| l.ends_with(" -> 200")),
        "{first:?}"
    );
    // What Chromium 156 does (the deployment guide says so): the login and the rest of the
    // run on HTTP/1.1.
    assert_eq!(
        first,
        [
            "HTTP/2.0 GET /page - - -> 401",
            "HTTP/1.1 GET /page authorization - -> 200",
            "HTTP/1.1 POST /report - cookie -> 200",
        ],
        "Chromium changed how it answers a Negotiate challenge on h2: update the deployment \
         guide's HTTP/2 section"
    );

    // The next start: the cookie alone, over h2.
    let second = start("second");
    assert_eq!(
        seen.served(),
        ["alice@EXAMPLE.TEST ticket", "alice@EXAMPLE.TEST cookie"],
        "{second:?}"
    );
    assert_eq!(
        second,
        [
            "HTTP/2.0 GET /page - cookie -> 200",
            "HTTP/2.0 POST /report - cookie -> 200",
        ]
    );
}
