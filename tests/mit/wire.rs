//! A real server on loopback and a real client (`curl --negotiate`, built on MIT GSSAPI):
//! what clients see on the wire, including tickets from another realm and oversized headers.

use crate::common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::OnceLock;

use actix_gssapi::{ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::TestRealm;
use base64::Engine as _;
use common::{alice_token, logged, logs, realm};

/// The server under test: `/` needs Kerberos, `/open` does not. One per test binary.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        common::serve(SpnegoAuth::builder().principal(ServicePrincipal::host("localhost")))
    })
}

/// curl against `path` on the server under test.
fn curl(path: &str, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> (u16, String) {
    let url = format!("http://localhost:{}{path}", server().port());
    let mut args = args.to_vec();
    args.push(&url);
    common::curl(&args, env)
}

#[test]
fn curl_negotiate_logs_in() {
    let env = realm().env();
    let (code, body) = curl("/", &["--negotiate", "-u", ":"], &env);
    assert_eq!((code, body.as_str()), (200, "Hello, alice@EXAMPLE.TEST"));
    let (code, body) = curl("/", &[], &env);
    assert_eq!((code, body.as_str()), (401, "Unauthorized"));
    let (code, body) = curl("/open", &[], &env);
    assert_eq!((code, body.as_str()), (200, "open"));
}

#[test]
fn ticket_from_another_realm_is_forbidden() {
    realm();
    let other = TestRealm::start_named("OTHER.TEST").expect("second realm");
    other.add_user("mallory", "mallory-password").unwrap();
    other
        .add_service("HTTP/localhost", &other.keytab())
        .unwrap();
    let ccache = other.kinit("mallory", "mallory-password", &[]).unwrap();
    let mut env = other.env();
    env.retain(|(k, _)| *k != "KRB5CCNAME");
    env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    // curl gets HTTP/localhost@OTHER.TEST from the other realm's KDC and offers it to us.
    let (code, body) = curl(
        "/",
        &["--negotiate", "-u", ":", "-H", "X-Case: foreign"],
        &env,
    );
    assert_eq!((code, body.as_str()), (403, "Forbidden"));
    assert!(logged(&["OTHER.TEST"]), "{:?}", logs());
}

#[test]
fn several_authorization_headers_are_forbidden() {
    let env = realm().env();
    let token = alice_token();
    let (code, _) = curl(
        "/",
        &[
            "-H",
            &format!("Authorization: {}", token.header()),
            "-H",
            "Authorization: Basic YWxpY2U6eA==",
        ],
        &env,
    );
    assert_eq!(code, 403);
    assert!(logged(&["several Authorization headers"]), "{:?}", logs());
}

#[test]
fn active_directory_sized_headers_reach_gssapi() {
    // 16 KiB of base64: the size of an AD ticket with a large PAC. The server must read it
    // (no 431) and GSSAPI refuse it (it is garbage): 403.
    let env = realm().env();
    let body_len = 12 * 1024;
    let mut token = vec![0x60, 0x82, (body_len >> 8) as u8, body_len as u8];
    token.resize(body_len + 4, 0xa5);
    let junk = base64::engine::general_purpose::STANDARD.encode(&token);
    assert!(junk.len() >= 16 * 1024);
    let (code, _) = curl(
        "/ad-sized",
        &[
            "-H",
            "X-Case: ad-sized",
            "-H",
            &format!("Authorization: Negotiate {junk}"),
        ],
        &env,
    );
    assert_eq!(code, 403);
    // Refused by GSSAPI itself, i.e. the whole token got through.
    assert!(
        logged(&["GET /ad-sized: Negotiate token refused"]),
        "{:?}",
        logs()
    );
}

#[test]
fn huge_headers_are_refused_and_the_server_lives() {
    let env = realm().env();
    for size in [64 * 1024 + 16, 200 * 1024] {
        // Too long for one command-line argument: curl reads the header from a file.
        let file = realm().dir().join(format!("header-{size}"));
        std::fs::write(
            &file,
            format!("Authorization: Negotiate {}\n", "A".repeat(size)),
        )
        .unwrap();
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .arg("-H")
            .arg(format!("@{}", file.display()))
            .arg(format!("http://localhost:{}/", server().port()))
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // 403 (our 64 KiB limit), 431 (actix's header limit) or a closed connection ("000"),
        // never a success and never a 5xx.
        assert!(
            ["403", "431", "400", "000"].contains(&code.as_str()),
            "{size}: {code}"
        );
    }
    let (code, body) = curl("/", &["--negotiate", "-u", ":"], &env);
    assert_eq!((code, body.as_str()), (200, "Hello, alice@EXAMPLE.TEST"));
}
