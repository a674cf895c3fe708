//! Hostile `Authorization` headers, sent as raw bytes over TCP to a real server: each case
//! pins the exact status and whether the application ran. Nothing may get through, nothing
//! may crash the server.

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use actix_gssapi::{ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::{ClientOptions, Negotiation};
use base64::Engine as _;
use common::{alice_token, called, logs, realm};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64_URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE;

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        common::serve(SpnegoAuth::builder().principal(ServicePrincipal::host("localhost")))
    })
}

/// Sends one request whose `Authorization` lines are given raw (each without CRLF), tagged
/// with `X-Case: case`; returns the status code, or 0 when the server closed the connection
/// without an answer.
fn send(case: &str, authorization: &[&[u8]]) -> u16 {
    let mut request =
        format!("GET /case HTTP/1.1\r\nHost: localhost\r\nX-Case: {case}\r\n").into_bytes();
    for value in authorization {
        request.extend_from_slice(b"Authorization: ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut stream = TcpStream::connect(server()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The server may answer (or hang up) before reading a huge request: ignore write errors.
    let _ = stream.write_all(&request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn negotiate(token: &[u8]) -> Vec<u8> {
    format!("Negotiate {}", B64.encode(token)).into_bytes()
}

fn fresh() -> Vec<u8> {
    alice_token().token()
}

/// A SPNEGO NegTokenInit with the given DER-encoded mechanism OIDs and no mechanism token.
fn spnego_init(mechs: &[&[u8]]) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag, u8::try_from(body.len()).expect("short")];
        v.extend_from_slice(body);
        v
    }
    let list: Vec<u8> = mechs.concat();
    let init = tlv(0x30, &tlv(0xa0, &tlv(0x30, &list)));
    let mut inner = vec![0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    inner.extend(tlv(0xa0, &init));
    tlv(0x60, &inner)
}

const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const NTLM_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
];

struct Case {
    name: String,
    headers: Vec<Vec<u8>>,
    status: u16,
    reaches_app: bool,
}

fn case(name: &str, headers: Vec<Vec<u8>>, status: u16, reaches_app: bool) -> Case {
    Case {
        name: name.to_owned(),
        headers,
        status,
        reaches_app,
    }
}

fn refused(name: &str, header: impl Into<Vec<u8>>, status: u16) -> Case {
    case(name, vec![header.into()], status, false)
}

fn cases() -> Vec<Case> {
    let realm = realm();
    let mut c = Vec::new();
    // No credentials the server can use: 401 with the challenge.
    c.push(case("no-header", vec![], 401, false));
    for (name, value) in [
        ("empty", &b""[..]),
        ("spaces", b"   "),
        ("tab", b"\t"),
        ("basic", b"Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="),
        ("basic-bare", b"Basic"),
        ("bearer", b"Bearer eyJhbGciOiJub25lIn0.e30."),
        ("bearer-bare", b"Bearer"),
        (
            "ntlm-scheme",
            b"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
        ),
        ("kerberos-scheme", b"Kerberos YAA="),
        ("negotiate2", b"Negotiate2 YAA="),
        ("negotiat", b"Negotiat YAA="),
        ("xnegotiate", b"XNegotiate YAA="),
        ("digest", b"Digest username=\"alice\""),
        ("negotiate-comma", b"Negotiate,YAA="),
    ] {
        c.push(refused(name, value, 401));
    }
    // Negotiate headers that cannot hold a token: 403.
    for (name, value) in [
        ("bare", b"Negotiate".to_vec()),
        ("bare-lower", b"negotiate".to_vec()),
        ("bare-upper", b"NEGOTIATE".to_vec()),
        ("bare-trailing-ws", b"Negotiate \t ".to_vec()),
        ("bad-alphabet", b"Negotiate !!!notbase64".to_vec()),
        ("only-padding", b"Negotiate ====".to_vec()),
        ("padding-inside", b"Negotiate YW=Jj".to_vec()),
        ("padding-excess", b"Negotiate YWJj=====".to_vec()),
        ("url-safe-alphabet", b"Negotiate YII-_w==".to_vec()),
        ("obs-text", b"Negotiate \xff\xfe\xfd".to_vec()),
        ("utf8", b"Negotiate YII\xc3\xa9".to_vec()),
        ("inner-space", b"Negotiate YII BBB".to_vec()),
        (
            "raw-ntlm-negotiate",
            negotiate(b"NTLMSSP\0\x01\x00\x00\x00\x07\x82\x08\xa2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
        ),
        (
            "raw-ntlm-authenticate",
            negotiate(b"NTLMSSP\0\x03\x00\x00\x00\x18\x00\x18\x00\x40\x00\x00\x00"),
        ),
        ("spnego-no-mechs", negotiate(&spnego_init(&[]))),
        ("spnego-ntlm-only", negotiate(&spnego_init(&[NTLM_OID]))),
        ("spnego-krb5-no-token", negotiate(&spnego_init(&[KRB5_OID]))),
        (
            "spnego-negtokenresp",
            negotiate(b"\xa1\x07\x30\x05\xa0\x03\x0a\x01\x01"),
        ),
        ("garbage", negotiate(b"\x60\x05hello")),
        ("not-asn1", negotiate(b"hello world")),
    ] {
        c.push(refused(name, value, 403));
    }
    // Control bytes never reach us: actix's HTTP parser answers 400 itself.
    c.push(refused("nul", &b"Negotiate YA\0AA"[..], 400));
    c.push(refused("newline", &b"Negotiate YA\nAA"[..], 400));
    c.push(refused("carriage-return", &b"Negotiate YA\rAA"[..], 400));
    // Damaged real tokens.
    let t = fresh();
    for (name, keep) in [
        ("trunc-1", 1),
        ("trunc-10", 10),
        ("trunc-half", t.len() / 2),
        ("trunc-last", t.len() - 1),
    ] {
        c.push(refused(name, negotiate(&t[..keep]), 403));
    }
    type Position = fn(usize) -> usize;
    let flips: [(&str, Position); 4] = [
        ("flip-length", |_| 1),
        ("flip-two-thirds", |n| n * 2 / 3),
        ("flip-tail", |n| n - 20),
        ("flip-last", |n| n - 1),
    ];
    for (name, at) in flips {
        let mut t = fresh();
        let pos = at(t.len());
        t[pos] ^= 0x5a;
        c.push(refused(name, negotiate(&t), 403));
    }
    let (a, b) = (fresh(), fresh());
    c.push(refused("concatenated", negotiate(&[a, b].concat()), 403));
    let mut trailing = fresh();
    trailing.extend_from_slice(b"\0\0garbage");
    c.push(refused("trailing-bytes", negotiate(&trailing), 403));
    let mut trailing_b64 = negotiate(&fresh());
    trailing_b64.extend_from_slice(b"AAAA");
    c.push(refused("trailing-base64", trailing_b64, 403));
    let mut trailing_word = negotiate(&fresh());
    trailing_word.extend_from_slice(b" extra");
    c.push(refused("trailing-word", trailing_word, 403));
    let url_safe = format!("Negotiate {}", B64_URL.encode(fresh()));
    let url_safe_status = if url_safe.contains(['-', '_']) {
        403
    } else {
        200
    };
    c.push(case(
        "url-safe-token",
        vec![url_safe.into_bytes()],
        url_safe_status,
        url_safe_status == 200,
    ));
    // Real tickets that are not for this server.
    let bob = common::bob_ccache();
    realm
        .kadmin("addprinc -randkey HTTP/other-service.test")
        .unwrap();
    let bob_other = Negotiation::start(&bob, "HTTP@other-service.test").unwrap();
    c.push(refused(
        "other-principal-other-service",
        bob_other.header(),
        403,
    ));
    // Several Authorization headers: refused, whatever they hold.
    c.push(case(
        "two-headers",
        vec![negotiate(&fresh()), b"Basic YWxpY2U6eA==".to_vec()],
        403,
        false,
    ));
    c.push(case(
        "two-negotiate",
        vec![negotiate(&fresh()), negotiate(&fresh())],
        403,
        false,
    ));
    // Sizes.
    let framed = |len: usize| {
        let mut t = vec![0x60, 0x82, (len >> 8) as u8, len as u8];
        t.resize(len + 4, 0xa5);
        t
    };
    c.push(refused("ad-sized-16k", negotiate(&framed(12 * 1024)), 403));
    c.push(refused(
        "header-64k",
        negotiate(&framed(48 * 1024 + 8)),
        403,
    ));
    c.push(refused(
        "header-1m",
        negotiate(&framed(60_000)).repeat(16),
        431,
    ));
    c.push(case(
        "headers-200",
        vec![b"Basic x".to_vec(); 200],
        431,
        false,
    ));
    // Valid tokens in every legal spelling: the application runs.
    for (name, prefix) in [
        ("ok-canonical", "Negotiate "),
        ("ok-lower", "negotiate "),
        ("ok-upper", "NEGOTIATE "),
        ("ok-double-space", "Negotiate  "),
        ("ok-tab", "Negotiate\t"),
    ] {
        let header = format!("{prefix}{}", B64.encode(fresh()));
        c.push(case(name, vec![header.into_bytes()], 200, true));
    }
    let unpadded = format!("Negotiate {}", B64.encode(fresh()).trim_end_matches('='));
    c.push(case("ok-unpadded", vec![unpadded.into_bytes()], 200, true));
    let raw = ClientOptions::new().raw_krb5();
    let krb5 = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", raw).unwrap();
    c.push(case(
        "ok-raw-krb5",
        vec![krb5.header().as_bytes().to_vec()],
        200,
        true,
    ));
    c
}

#[test]
fn hostile_headers_get_their_documented_status_and_never_reach_the_app() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    eprintln!("{} hostile cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let headers: Vec<&[u8]> = case.headers.iter().map(Vec::as_slice).collect();
        let status = send(&case.name, &headers);
        let reached = called(&case.name);
        if status != case.status || reached != case.reaches_app {
            wrong.push(format!(
                "{}: got {status} (app called: {reached}), want {} (app called: {})",
                case.name, case.status, case.reaches_app
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The server is alive and still authenticates.
    assert_eq!(send("after-all", &[alice_token().header().as_bytes()]), 200);
}

#[test]
fn a_replayed_token_is_refused_sequentially() {
    let token = alice_token();
    assert_eq!(send("replay-first", &[token.header().as_bytes()]), 200);
    assert_eq!(send("replay-second", &[token.header().as_bytes()]), 403);
    assert!(called("replay-first"));
    assert!(!called("replay-second"));
}

#[test]
fn the_same_token_in_16_concurrent_requests_succeeds_once() {
    let header = Arc::new(alice_token().header().to_owned());
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (header, barrier) = (Arc::clone(&header), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                send(&format!("race-{i}"), &[header.as_bytes()])
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let forbidden = statuses.iter().filter(|&&s| s == 403).count();
    assert_eq!((ok, forbidden), (1, 15), "{statuses:?}");
    let reached = (0..16).filter(|i| called(&format!("race-{i}"))).count();
    assert_eq!(reached, 1);
}

#[test]
fn logs_never_contain_tokens_or_passwords() {
    // Run after (or beside) the others in this binary; check every captured line.
    hostile_headers_get_their_documented_status_and_never_reach_the_app();
    let lines = logs();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(!line.contains("YII"), "a token prefix was logged: {line}");
        assert!(!line.contains("password"), "{line}");
        assert!(
            !line.contains("YWxpY2U6"),
            "Basic credentials were logged: {line}"
        );
        assert!(
            !line.contains("TlRMTVNT"),
            "an NTLM message was logged: {line}"
        );
    }
}
