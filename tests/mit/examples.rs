//! The shipped examples, run as users run them: `examples/hello` answering a real
//! `curl --negotiate -u :`, its start-up error, the sessions example, and the README's demo
//! end to end.

use crate::common;

use std::ffi::OsString;
use std::process::{Command, Stdio};

use common::{curl, example, free_port, realm, start_example};

/// Runs `examples/hello` with `env`, which must make it exit with an error; returns its
/// standard error.
fn hello_fails_to_start(env: &[(&str, OsString)]) -> String {
    let out = Command::new(example("hello"))
        .arg(format!("127.0.0.1:{}", free_port()))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "hello started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hello_answers_curl_negotiate() {
    let env = common::env_for_localhost();
    let port = free_port();
    let _server = start_example("hello", port, &env);
    let url = format!("http://localhost:{port}/");
    let (code, body) = curl(&["--negotiate", "-u", ":", &url], &env);
    assert_eq!((code, body.as_str()), (200, "Hello, alice@EXAMPLE.TEST"));
    let (code, body) = curl(&[&url], &env);
    assert_eq!((code, body.as_str()), (401, "Unauthorized"));
    let (code, body) = curl(&["-H", "Authorization: Negotiate !!!notbase64", &url], &env);
    assert_eq!((code, body.as_str()), (403, "Forbidden"));
}

#[test]
fn hello_refuses_to_start_without_its_keytab() {
    let mut env = common::env_for_localhost();
    env.retain(|(k, _)| *k != "KRB5_KTNAME");
    env.push(("KRB5_KTNAME", "FILE:/nonexistent/http.keytab".into()));
    let stderr = hello_fails_to_start(&env);
    assert!(stderr.contains("/nonexistent/http.keytab"), "{stderr}");
    assert!(stderr.contains("HTTP@localhost"), "{stderr}");
}

/// An unset-but-present variable must not widen the server to every key in the keytab.
#[test]
fn hello_refuses_an_empty_host_name() {
    let mut env = realm().env();
    env.push(("SPNEGO_HOSTNAME", "".into()));
    let stderr = hello_fails_to_start(&env);
    assert!(stderr.contains("empty"), "{stderr}");
    assert!(stderr.contains("AnyInKeytab"), "{stderr}");
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
    let env = common::env_for_localhost();
    let port = free_port();
    let _server = start_example("sessions", port, &env);
    let url = format!("http://localhost:{port}/");
    let jar = realm().dir().join("sessions-example.jar");
    let jar = jar.to_str().unwrap();
    let (code, body) = curl(&["--negotiate", "-u", ":", "-c", jar, &url], &env);
    assert_eq!(
        (code, body.as_str()),
        (200, "Hello, alice@EXAMPLE.TEST (by Kerberos ticket)\n")
    );
    // curl sends `Secure` cookies back to http://localhost, as browsers do.
    let (code, body) = curl(&["-b", jar, &url], &env);
    assert_eq!(
        (code, body.as_str()),
        (200, "Hello, alice@EXAMPLE.TEST (by session cookie)\n")
    );
}

/// A session key file shorter than a key: a clear start-up error naming the file, no panic.
#[test]
fn sessions_example_refuses_a_short_key_with_a_clear_error() {
    let short = realm().dir().join("short-session.key");
    std::fs::write(&short, [7u8; 12]).unwrap();
    let mut env = realm().env();
    env.push(("SESSION_KEY_FILE", short.clone().into()));
    let out = std::process::Command::new(common::example("sessions"))
        .arg(format!("127.0.0.1:{}", common::free_port()))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("examples/sessions");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(&format!("session key {}", short.display())) && stderr.contains("short"),
        "{stderr}"
    );
}
