//! Servers run as `nobody` through a [`TestGssproxy`] configured with the keytab guide's
//! gssproxy section: shared by `tests/gssproxy.rs` (MIT realm) and `tests/gssproxy_ad.rs`
//! (Active Directory).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use actix_gssapi_testing::TestGssproxy;

use super::{free_port, start_example_logged_via, Reaped, Stderr};

/// The unprivileged user the servers run as, and its group.
pub const NOBODY: &str = "65534";

/// The keytab guide's gssproxy block that contains `needle` (the first: `[service/`),
/// pointed at `socket`, `keytab` and `nobody`.
pub fn guide_config(needle: &str, socket: &Path, keytab: &Path) -> String {
    let mut block = super::guide::keytab_guide_block_with("ini", needle);
    let socket = socket.display().to_string();
    let keytab = keytab.display().to_string();
    for (guide, ours) in [
        ("/run/gssproxy-actix.sock", socket.as_str()),
        ("/etc/http.keytab", keytab.as_str()),
        ("www-data", NOBODY),
    ] {
        assert!(block.contains(guide), "the guide's block lost {guide}");
        block = block.replace(guide, ours);
    }
    block
}

/// `setpriv` as nobody with no supplementary groups, then `env -i` with exactly `env`.
pub fn as_nobody(env: &[(String, String)]) -> Vec<String> {
    let mut args: Vec<String> = [
        "setpriv",
        "--reuid",
        NOBODY,
        "--regid",
        NOBODY,
        "--clear-groups",
        "env",
        "-i",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    args
}

/// The server's environment: the guide's variables as written (`GSS_USE_PROXY`,
/// `GSSPROXY_SOCKET`, `GSSPROXY_BEHAVIOR`, `KRB5CCNAME`), the socket and the ccache pointed at
/// ours, and `keytab` named (it must not be read).
pub fn server_env(proxy: &TestGssproxy, ccache: &Path, keytab: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/bin:/bin".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("SPNEGO_HOSTNAME", "localhost".to_owned()),
        ("KRB5_CONFIG", proxy.krb5_config().display().to_string()),
        ("KRB5_KTNAME", format!("FILE:{}", keytab.display())),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec();
    let guide = super::guide::keytab_guide_block_with("sh", "GSS_USE_PROXY=");
    for line in guide.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once('=').expect("NAME=value in the guide");
        let value = match name {
            "GSSPROXY_SOCKET" => proxy.socket().display().to_string(),
            "KRB5CCNAME" => format!("FILE:{}", ccache.display()),
            _ => value.to_owned(),
        };
        env.push((name.to_owned(), value));
    }
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for name in [
        "GSS_USE_PROXY",
        "GSSPROXY_SOCKET",
        "GSSPROXY_BEHAVIOR",
        "KRB5CCNAME",
    ] {
        assert!(names.contains(&name), "the guide's environment lost {name}");
    }
    env
}

/// A default ccache for a server on `port`, in a directory of nobody's: the interposer writes
/// gssproxy's encrypted handle of the acceptor credential there (and fails the acquire when it
/// cannot).
pub fn server_ccache(proxy: &TestGssproxy, port: u16) -> PathBuf {
    let dir = ccache_dir(proxy, port);
    std::fs::create_dir(&dir).expect("nobody's directory");
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown nobody");
    dir.join("ccache")
}

pub fn ccache_dir(proxy: &TestGssproxy, port: u16) -> PathBuf {
    proxy.dir().join(format!("nobody-{port}"))
}

/// Starts `examples/<name>` as nobody through `proxy`, `keytab` (gssproxy's) checked
/// unreadable to it, with `extra` environment; waits until it listens.
pub fn serve_with(
    name: &str,
    proxy: &TestGssproxy,
    keytab: &Path,
    extra: &[(&'static str, String)],
) -> (Reaped, Stderr, u16) {
    assert_unreadable_by_nobody(keytab);
    let port = free_port();
    let mut env = server_env(proxy, &server_ccache(proxy, port), keytab);
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let wrapper = as_nobody(&env);
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let (child, stderr) = start_example_logged_via(&wrapper, name, port, &[]);
    (child, stderr, port)
}

/// Without this, a test that passes might pass because the server read the keytab itself.
pub fn assert_unreadable_by_nobody(keytab: &Path) {
    let keytab = keytab.display().to_string();
    let mut args = as_nobody(&[("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
    args.extend(["cat".to_owned(), keytab.clone()]);
    let out = Command::new(&args[0])
        .args(&args[1..])
        .output()
        .expect("setpriv");
    assert!(
        !out.status.success() && out.stdout.is_empty(),
        "nobody can read {keytab}"
    );
    assert!(
        std::fs::metadata(&keytab).is_ok_and(|m| m.len() > 0),
        "{keytab} is missing"
    );
}

/// Asserts a server's answer (status, body), showing its log and gssproxy's when it differs.
#[track_caller]
pub fn assert_answer(got: (u16, String), want: (u16, &str), stderr: &Stderr, proxy: &TestGssproxy) {
    assert_eq!(
        (got.0, got.1.as_str()),
        want,
        "{:?}\n{}",
        lines(stderr),
        proxy.log()
    );
}

pub fn lines(stderr: &Stderr) -> Vec<String> {
    stderr.lock().map(|l| l.clone()).unwrap_or_default()
}

/// Waits up to 5 s for a line of the server's log containing every one of `parts`.
pub fn wait_for_line(stderr: &Stderr, parts: &[&str]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if lines(stderr)
            .iter()
            .any(|l| parts.iter().all(|p| l.contains(p)))
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
