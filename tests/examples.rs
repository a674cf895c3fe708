//! The shipped examples, run as users run them: `examples/hello` answering a real
//! `curl --negotiate -u :`, its start-up error, and the README's demo end to end.

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::realm;

/// `target/<profile>/examples/<name>`, built by `cargo test` beside this test binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --all-features` (it builds the examples)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps the child when the test ends, whatever happens.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `examples/hello` on `port`, and waits (at most 20 s) for its "listening on" line.
fn start_hello(port: u16, env: &[(&str, std::ffi::OsString)]) -> Reaped {
    let mut child = Reaped(
        Command::new(example("hello"))
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("SPNEGO_HOSTNAME", "localhost")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("examples/hello says it is listening");
    child
}

fn curl(args: &[&str], env: &[(&str, std::ffi::OsString)]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_owned(), body.to_owned())
}

#[test]
fn hello_answers_curl_negotiate() {
    let env = realm().env();
    let port = free_port();
    let _server = start_hello(port, &env);
    let url = format!("http://localhost:{port}/");
    let (code, body) = curl(&["--negotiate", "-u", ":", &url], &env);
    assert_eq!(
        (code.as_str(), body.as_str()),
        ("200", "Hello, alice@EXAMPLE.TEST")
    );
    let (code, body) = curl(&[&url], &env);
    assert_eq!((code.as_str(), body.as_str()), ("401", "Unauthorized"));
    let (code, body) = curl(&["-H", "Authorization: Negotiate !!!notbase64", &url], &env);
    assert_eq!((code.as_str(), body.as_str()), ("403", "Forbidden"));
}

#[test]
fn hello_refuses_to_start_without_its_keytab() {
    let mut env = realm().env();
    env.retain(|(k, _)| *k != "KRB5_KTNAME");
    env.push(("KRB5_KTNAME", "FILE:/nonexistent/http.keytab".into()));
    let out = Command::new(example("hello"))
        .arg(format!("127.0.0.1:{}", free_port()))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("SPNEGO_HOSTNAME", "localhost")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/http.keytab"), "{stderr}");
    assert!(stderr.contains("HTTP@localhost"), "{stderr}");
}

#[test]
fn demo_runs_end_to_end() {
    realm();
    let out = Command::new(example("demo"))
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("DEMO_EXIT_AFTER_REQUEST", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Hello, alice@EXAMPLE.TEST"), "{stdout}");
    assert!(stdout.contains("curl --negotiate -u :"), "{stdout}");
}

#[test]
fn sessions_example_logs_in_once_then_uses_the_cookie() {
    let realm = realm();
    let env = realm.env();
    let port = free_port();
    let mut child = Reaped(
        Command::new(example("sessions"))
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("SPNEGO_HOSTNAME", "localhost")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "{line}");
    let url = format!("http://localhost:{port}/");
    let jar = realm.dir().join("sessions-example.jar");
    let jar = jar.to_str().unwrap();
    let (code, body) = curl(&["--negotiate", "-u", ":", "-c", jar, &url], &env);
    assert_eq!(
        (code.as_str(), body.as_str()),
        ("200", "Hello, alice@EXAMPLE.TEST (by Kerberos ticket)\n")
    );
    // curl sends `Secure` cookies back to http://localhost, as browsers do.
    let (code, body) = curl(&["-b", jar, &url], &env);
    assert_eq!(
        (code.as_str(), body.as_str()),
        ("200", "Hello, alice@EXAMPLE.TEST (by session cookie)\n")
    );
}
