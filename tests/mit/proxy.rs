//! `examples/proxy` (the authenticating reverse proxy) run as its own process in front of an
//! application in this process that answers with what it received (request line, every
//! header, the body's length and SHA-256) and echoes WebSocket messages with the
//! `X-Remote-User` it got: logins with curl and tungstenite reach it as alice with the
//! server's mutual-authentication token and the session cookie back; without a valid login,
//! nothing reaches it; spoofed identity headers, the Negotiate token, the session cookie and
//! hop-by-hop headers never reach it; 20 MiB bodies stream whole both ways; request targets
//! arrive as sent; HTTPS and HTTP/2 in front; an application that is down answers `502` and
//! a slow one `504`, logged, while a slow upload is not cut.

use crate::common;
use crate::websocket::{assert_not_upgraded, challenges, close, echoes_as, upgrade_with};

use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::SizedStream;
use actix_web::web::Bytes;
use actix_web::{web, App, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason};
use common::{alice_token, curl_exchange, realm};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tungstenite::Message;

const ALICE: &str = "alice@EXAMPLE.TEST";

/// The example's session cookie.
const SESSION_COOKIE: &str = "__Host-gssapi_session";

/// What reached the application: one report per request (see [`report`]).
type Seen = Arc<Mutex<Vec<String>>>;

/// What the application received, as text: `METHOD target`, then `h name: value` for every
/// header (names in lower case), then `body <length> <sha256>`.
fn report(req: &HttpRequest, length: u64, sha256: &str) -> String {
    let target = req.uri().path_and_query().map_or("", |t| t.as_str());
    let mut text = format!("{} {target}\n", req.method());
    for (name, value) in req.headers() {
        text.push_str(&format!(
            "h {name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str(&format!("body {length} {sha256}\n"));
    text
}

/// A report's request line.
fn request_line(report: &str) -> &str {
    report.lines().next().unwrap_or("")
}

/// Every value of header `name` (lower case) in a report.
fn header<'a>(report: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("h {name}: ");
    report
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// A report's body length and SHA-256.
fn body(report: &str) -> (u64, String) {
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix("body "))
        .unwrap_or_else(|| panic!("no body line: {report}"));
    let (length, sha) = line.split_once(' ').unwrap_or((line, ""));
    (length.parse().expect("a length"), sha.to_owned())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `len` bytes of the test pattern, from offset `start`.
fn pattern(start: usize, len: usize) -> Vec<u8> {
    (start..start + len).map(|i| (i % 251) as u8).collect()
}

/// The application: every path reports (and records) what it received, with two cookies of
/// its own; `/_big?bytes=N[&chunked=1]` streams N bytes of [`pattern`] (with a length, or
/// chunked); `/_slow` answers after 5 s; `/_forbidden` answers `403`; `/_redirect` redirects to `/elsewhere`; `/ws` is a WebSocket (subprotocol `echo.v2`) that
/// echoes text as `<X-Remote-User>: <text>` and binary as it is, and closes with `1000 bye`
/// when told `close-please`.
fn application() -> (SocketAddr, Seen) {
    realm();
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    let addr = common::spawn_server(move || {
        App::new()
            .app_data(web::Data::new(Arc::clone(&record)))
            .route("/ws", web::get().to(ws_echo))
            .route("/_big", web::to(big))
            .route("/_slow", web::to(slow))
            .route("/_forbidden", web::to(HttpResponse::Forbidden))
            .route(
                "/_redirect",
                web::to(|| async {
                    HttpResponse::Found()
                        .insert_header(("Location", "/elsewhere"))
                        .finish()
                }),
            )
            .default_service(web::to(echo))
    });
    (addr, seen)
}

async fn echo(req: HttpRequest, mut payload: web::Payload, seen: web::Data<Seen>) -> HttpResponse {
    let (mut length, mut hasher) = (0u64, Sha256::new());
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) => {
                length += chunk.len() as u64;
                hasher.update(&chunk);
            }
            Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
        }
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = report(&req, length, &sha);
    seen.lock().unwrap().push(text.clone());
    HttpResponse::Ok()
        .append_header(("Set-Cookie", "app_a=1; Path=/"))
        .append_header(("Set-Cookie", "app_b=2; Path=/"))
        .body(text)
}

async fn big(req: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    seen.lock().unwrap().push(report(&req, 0, ""));
    let query = req.query_string();
    let size: usize = query
        .split('&')
        .find_map(|p| p.strip_prefix("bytes="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    const CHUNK: usize = 64 * 1024;
    let chunks = futures_util::stream::iter((0..size).step_by(CHUNK).map(move |start| {
        Ok::<_, Infallible>(Bytes::from(pattern(start, (size - start).min(CHUNK))))
    }));
    if query.contains("chunked=1") {
        HttpResponse::Ok().streaming(chunks)
    } else {
        HttpResponse::Ok().body(SizedStream::new(size as u64, chunks))
    }
}

async fn slow(req: HttpRequest, seen: web::Data<Seen>) -> &'static str {
    seen.lock().unwrap().push(report(&req, 0, ""));
    actix_web::rt::time::sleep(Duration::from_secs(5)).await;
    "late"
}

async fn ws_echo(
    req: HttpRequest,
    body: web::Payload,
    seen: web::Data<Seen>,
) -> actix_web::Result<HttpResponse> {
    let text = report(&req, 0, "");
    let user = header(&text, "x-remote-user").join("|");
    seen.lock().unwrap().push(text);
    let (response, mut session, mut messages) =
        actix_ws::handle_with_protocols(&req, body, &["echo.v2"])?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(message)) = messages.recv().await {
            let sent = match message {
                actix_ws::Message::Text(text) if &*text == "close-please" => {
                    let bye = CloseReason {
                        code: CloseCode::Normal,
                        description: Some("bye".to_owned()),
                    };
                    let _ = session.close(Some(bye)).await;
                    return;
                }
                actix_ws::Message::Text(text) => session.text(format!("{user}: {text}")).await,
                actix_ws::Message::Binary(bytes) => session.binary(bytes).await,
                actix_ws::Message::Ping(bytes) => session.pong(&bytes).await,
                actix_ws::Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

/// The example running in front of `upstream`.
struct Proxy {
    child: common::Reaped,
    port: u16,
    stderr: common::Stderr,
}

impl Proxy {
    fn start(upstream: &str, extra: &[(&'static str, &str)]) -> Self {
        let mut env = common::env_for_localhost();
        env.push(("UPSTREAM", upstream.into()));
        env.extend(extra.iter().map(|(k, v)| (*k, v.into())));
        let port = common::free_port();
        let (child, stderr) = common::start_example_logged("proxy", port, &env);
        Self {
            child,
            port,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Waits (at most 5 s) for a log line holding every one of `parts`, and returns it.
    fn log_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.stderr.lock().unwrap().clone();
            if let Some(line) = lines.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?}: {lines:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn logged(&self, secret: &str) -> bool {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(secret))
    }
}

/// The application and the proxy in front of it.
fn setup() -> (Proxy, Seen) {
    let (app, seen) = application();
    (Proxy::start(&format!("http://{app}"), &[]), seen)
}

/// Every request line that reached the application.
fn request_lines(seen: &Seen) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|r| request_line(r).to_owned())
        .collect()
}

/// `Authorization: <a fresh token of alice's>`.
fn alice_authorization() -> String {
    format!("Authorization: {}", alice_token().header())
}

/// A request sent as raw bytes (exactly these headers, no client normalising the target):
/// the status, the head and the body.
fn raw(proxy: &Proxy, method: &str, target: &str, headers: &[&str]) -> (u16, String, String) {
    let text = common::raw_exchange(proxy.addr(), method, target, headers);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text}"));
    (status, head.to_owned(), body.to_owned())
}

/// [`raw`] with a fresh token of alice's and no other header.
fn raw_as_alice(proxy: &Proxy, method: &str, target: &str) -> (u16, String, String) {
    raw(proxy, method, target, &[&alice_authorization()])
}

/// Whether a raw head has the header line `line` (name in any case).
fn head_has(head: &str, line: &str) -> bool {
    head.lines().any(|l| l.eq_ignore_ascii_case(line))
}

/// The `name=value` of the session cookie among `set_cookies`.
fn session_pair(set_cookies: &[&str]) -> String {
    set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {set_cookies:?}"))
        .to_owned()
}

/// The `Set-Cookie` values of a raw head.
fn raw_set_cookies(head: &str) -> Vec<&str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim())
        .collect()
}

/// Checks a report of alice's request on the proxy reached as `host`: her identity once, the
/// proxy's forwarding headers, and nothing the client said about either.
fn assert_alice_only(report: &str, host: &str) {
    assert_eq!(header(report, "x-remote-user"), [ALICE], "{report}");
    assert_eq!(
        header(report, "x-remote-realm"),
        ["EXAMPLE.TEST"],
        "{report}"
    );
    assert_eq!(header(report, "x-remote-local-user"), ["alice"], "{report}");
    // MIT issues no PAC: no groups, whatever the client claimed.
    assert!(header(report, "x-remote-groups").is_empty(), "{report}");
    assert_eq!(header(report, "x-forwarded-for"), ["127.0.0.1"], "{report}");
    assert_eq!(header(report, "x-forwarded-proto"), ["http"], "{report}");
    assert_eq!(header(report, "x-forwarded-host"), [host], "{report}");
    assert_eq!(header(report, "host"), [host], "{report}");
    for gone in ["authorization", "forwarded", "x-real-ip"] {
        assert!(header(report, gone).is_empty(), "{gone}: {report}");
    }
}

#[test]
fn a_login_reaches_the_application_as_alice_and_the_session_cookie_alone_gets_back_in() {
    let (proxy, seen) = setup();
    let host = format!("localhost:{}", proxy.port);

    // curl's own login, challenge first.
    let res = curl_exchange(&proxy.url("/curl?x=1"), &["--negotiate", "-u", ":"]);
    assert_eq!(res.code, 200, "{}", res.head);
    assert_eq!(request_line(&res.body), "GET /curl?x=1");
    assert_alice_only(&res.body, &host);

    // A token of our own, to check the server's mutual-authentication answer with it.
    let client = alice_token();
    let authorization = format!("Authorization: {}", client.header());
    let res = curl_exchange(
        &proxy.url("/page?q=1"),
        &["-H", &authorization, "-H", "Cookie: theme=dark"],
    );
    assert_eq!(res.code, 200, "{}", res.head);
    let mutual = res.last_headers("www-authenticate");
    assert_eq!(mutual.len(), 1, "{}", res.head);
    client
        .verify_mutual(mutual[0])
        .expect("the answer proves the proxy holds the service key");
    assert_alice_only(&res.body, &host);
    assert_eq!(header(&res.body, "cookie"), ["theme=dark"]);
    // The application's two cookies and the proxy's session cookie.
    let set_cookies = res.last_headers("set-cookie");
    for app in ["app_a=1", "app_b=2"] {
        assert!(
            set_cookies.iter().any(|c| c.starts_with(app)),
            "{set_cookies:?}"
        );
    }
    let session = session_pair(&set_cookies);

    // The cookie alone gets in as alice, and stays at the proxy.
    let res = curl_exchange(
        &proxy.url("/again"),
        &["-b", &format!("{session}; theme=dark")],
    );
    assert_eq!(res.code, 200, "{}", res.head);
    assert!(res.last_headers("www-authenticate").is_empty());
    assert_alice_only(&res.body, &host);
    assert_eq!(header(&res.body, "cookie"), ["theme=dark"]);
    assert!(!res.body.contains(SESSION_COOKIE), "{}", res.body);
    assert_eq!(
        request_lines(&seen),
        ["GET /curl?x=1", "GET /page?q=1", "GET /again"]
    );
}

#[test]
fn without_a_valid_login_nothing_reaches_the_application() {
    let (proxy, seen) = setup();
    let res = curl_exchange(&proxy.url("/no-ticket"), &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(res.last_headers("www-authenticate"), ["Negotiate"]);
    let res = curl_exchange(
        &proxy.url("/spoof-alone"),
        &["-H", "X-Remote-User: admin@EXAMPLE.TEST"],
    );
    assert_eq!(res.code, 401, "{}", res.head);
    // A CORS preflight needs a login too: the application answers nothing unauthenticated.
    let res = curl_exchange(
        &proxy.url("/preflight"),
        &[
            "-X",
            "OPTIONS",
            "-H",
            "Origin: https://app.example.test",
            "-H",
            "Access-Control-Request-Method: DELETE",
        ],
    );
    assert_eq!(res.code, 401, "{}", res.head);
    let res = curl_exchange(
        &proxy.url("/garbage"),
        &["-H", "Authorization: Negotiate AAAAAAAAAAAAAAAA"],
    );
    assert_eq!(res.code, 403, "{}", res.head);
    let authorization = alice_authorization();
    let res = curl_exchange(&proxy.url("/first"), &["-H", &authorization]);
    assert_eq!(res.code, 200, "{}", res.head);
    let res = curl_exchange(&proxy.url("/replayed"), &["-H", &authorization]);
    assert_eq!(res.code, 403, "{}", res.head);

    assert_eq!(request_lines(&seen), ["GET /first"]);
    proxy.log_line(&["GET /replayed", "replay"]);
    // The refusal is logged with its reason, never with the token.
    let b64 = &authorization["Authorization: Negotiate ".len()..];
    assert!(!proxy.logged(&b64[b64.len() / 2..][..32]), "token logged");
}

/// A client's own identity and forwarding headers, in every spelling: none may reach the
/// application.
const SPOOFS: &[&str] = &[
    "X-Remote-User: admin@EXAMPLE.TEST",
    "x-remote-user: admin@EXAMPLE.TEST",
    "X-REMOTE-USER: admin@EXAMPLE.TEST",
    "X-Remote-Realm: EVIL.TEST",
    "X-Remote-Local-User: root",
    "X-Remote-Groups: S-1-5-32-544",
    "x-remote-groups: S-1-5-32-544",
    "X_Remote_User: admin@EXAMPLE.TEST",
    "x_remote_groups: S-1-5-32-544",
    "X-Forwarded-For: 10.6.6.6",
    "X-Forwarded-Host: evil.test",
    "X-Forwarded-Proto: https",
    "Forwarded: for=10.6.6.6;host=evil.test;proto=https",
    "X-Real-IP: 10.6.6.6",
];

/// Nothing of [`SPOOFS`] in a report.
fn assert_no_spoof(report: &str) {
    for spoof in ["admin", "EVIL", "evil", "root", "S-1-5-32-544", "10.6.6.6"] {
        assert!(!report.contains(spoof), "{spoof}: {report}");
    }
    for gone in ["x_remote_user", "x_remote_groups"] {
        assert!(header(report, gone).is_empty(), "{gone}: {report}");
    }
}

#[test]
fn spoofed_identity_headers_never_reach_the_application() {
    let (proxy, seen) = setup();
    // With a ticket.
    let authorization = alice_authorization();
    let mut headers = vec![authorization.as_str()];
    headers.extend_from_slice(SPOOFS);
    let (status, head, report) = raw(&proxy, "GET", "/spoof-ticket", &headers);
    assert_eq!(status, 200, "{head}");
    assert_eq!(request_line(&report), "GET /spoof-ticket");
    assert_alice_only(&report, "localhost");
    assert_no_spoof(&report);

    // With the session cookie that login set.
    let cookie = format!("Cookie: {}", session_pair(&raw_set_cookies(&head)));
    let mut headers = vec![cookie.as_str()];
    headers.extend_from_slice(SPOOFS);
    let (status, head, report) = raw(&proxy, "GET", "/spoof-cookie", &headers);
    assert_eq!(status, 200, "{head}");
    assert_alice_only(&report, "localhost");
    assert_no_spoof(&report);

    // Without either: refused before the application.
    let (status, head, _) = raw(&proxy, "GET", "/spoof-alone", SPOOFS);
    assert_eq!(status, 401, "{head}");
    assert_eq!(
        request_lines(&seen),
        ["GET /spoof-ticket", "GET /spoof-cookie"]
    );
}

/// An application that answers every request with the same bytes, hop-by-hop headers (some
/// named by `Connection`) and two cookies included: actix-web would not send those. It takes
/// connections for 60 s.
fn raw_application() -> SocketAddr {
    const ANSWER: &str = "HTTP/1.1 200 OK\r\n\
        Content-Type: text/plain\r\n\
        Connection: close, X-Up-Secret\r\n\
        X-Up-Secret: s3cret\r\n\
        Keep-Alive: timeout=5\r\n\
        Proxy-Authenticate: Basic realm=\"up\"\r\n\
        Proxy-Connection: keep-alive\r\n\
        Trailer: X-Up-Trailer\r\n\
        Upgrade: h2c\r\n\
        X-Up-Kept: yes\r\n\
        Set-Cookie: up_a=1; Path=/\r\n\
        Set-Cookie: up_b=2; Path=/\r\n\
        Content-Length: 5\r\n\
        \r\n\
        hello";
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(ANSWER.as_bytes());
        }
    });
    addr
}

#[test]
fn hop_by_hop_headers_and_the_negotiate_token_stop_at_the_proxy_both_ways() {
    let (proxy, _) = setup();
    let authorization = alice_authorization();
    let headers = [
        authorization.as_str(),
        "Connection: X-Secret, X-Other",
        "X-Secret: s3cret",
        "X-Other: other",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Trailer: X-Trailer",
        "Proxy-Authorization: Basic YWxpY2U6cHc=",
        "Proxy-Connection: keep-alive",
        "Upgrade: h2c",
        "X-Kept: yes",
    ];
    let (status, head, report) = raw(&proxy, "GET", "/hop", &headers);
    assert_eq!(status, 200, "{head}");
    for gone in [
        "connection",
        "x-secret",
        "x-other",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "upgrade",
        "authorization",
    ] {
        assert!(header(&report, gone).is_empty(), "{gone}: {report}");
    }
    for secret in ["s3cret", "Negotiate", "YWxpY2U6cHc="] {
        assert!(!report.contains(secret), "{secret}: {report}");
    }
    assert_eq!(header(&report, "x-kept"), ["yes"], "{report}");

    // And on the way back.
    let proxy = Proxy::start(&format!("http://{}", raw_application()), &[]);
    let res = curl_exchange(&proxy.url("/hop"), &["--negotiate", "-u", ":"]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "hello"),
        "{}",
        res.head
    );
    for gone in [
        "x-up-secret",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "trailer",
        "upgrade",
    ] {
        assert!(res.last_headers(gone).is_empty(), "{gone}: {}", res.head);
    }
    assert_eq!(res.last_headers("x-up-kept"), ["yes"], "{}", res.head);
    let set_cookies = res.last_headers("set-cookie");
    assert!(set_cookies.iter().any(|c| c.starts_with("up_a=1")));
    assert!(set_cookies.iter().any(|c| c.starts_with("up_b=2")));
    session_pair(&set_cookies);
    let mutual = res.last_headers("www-authenticate");
    assert!(
        mutual.len() == 1 && mutual[0].len() > "Negotiate ".len() + 20,
        "{}",
        res.head
    );
}

/// curl with alice's ticket, the body written to `out`: the status.
fn curl_to_file(args: &[&str], out: &std::path::Path) -> u16 {
    let output = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "60", "--negotiate", "-u", ":", "-o"])
        .arg(out)
        .args(["-w", "%{http_code}"])
        .args(args)
        .envs(realm().env())
        .output()
        .expect("curl");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl: {}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn bodies_of_20_mib_stream_through_whole_both_ways() {
    const SIZE: usize = 20 << 20;
    let (proxy, _) = setup();
    let dir = realm().dir().join(format!("proxy-{}", proxy.port));
    std::fs::create_dir_all(&dir).unwrap();
    let data = pattern(0, SIZE);
    let sha = sha256_hex(&data);
    let upload = dir.join("upload");
    std::fs::write(&upload, &data).unwrap();
    let out = dir.join("out");
    let from_file = format!("@{}", upload.display());
    let peak_before = common::peak_rss_kib(proxy.child.0.id());

    // Up: with its length (curl sends `Expect: 100-continue` for it), and chunked.
    for (path, framing) in [
        ("/up-sized", None),
        ("/up-chunked", Some("Transfer-Encoding: chunked")),
    ] {
        let mut args = vec!["--data-binary", &from_file];
        if let Some(framing) = framing {
            args.extend(["-H", framing]);
        }
        let url = proxy.url(path);
        args.push(&url);
        assert_eq!(curl_to_file(&args, &out), 200, "{path}");
        let report = std::fs::read_to_string(&out).unwrap();
        assert_eq!(request_line(&report), format!("POST {path}"));
        assert_eq!(body(&report), (SIZE as u64, sha.clone()), "{path}");
        assert!(header(&report, "expect").is_empty(), "{report}");
    }

    // Down: with a length, and chunked.
    for query in ["", "&chunked=1"] {
        let url = proxy.url(&format!("/_big?bytes={SIZE}{query}"));
        assert_eq!(curl_to_file(&[&url], &out), 200, "{query}");
        let got = std::fs::read(&out).unwrap();
        assert_eq!(got.len(), SIZE, "{query}");
        assert_eq!(sha256_hex(&got), sha, "{query}");
    }
    // A HEAD answer keeps the application's length and has no body.
    let (status, head, rest) = raw_as_alice(&proxy, "HEAD", "/_big?bytes=1000");
    assert_eq!(status, 200, "{head}");
    assert!(head_has(&head, "content-length: 1000"), "{head}");
    assert_eq!(rest, "");

    let peak = common::peak_rss_kib(proxy.child.0.id());
    eprintln!("proxy's peak RSS: {peak_before} KiB, then {peak} KiB after 80 MiB went through");
    // A proxy that held one whole body would have peaked 20 MiB higher.
    assert!(
        peak < peak_before + 10 * 1024,
        "peak RSS {peak_before} KiB, then {peak} KiB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn request_targets_arrive_as_sent() {
    let (proxy, seen) = setup();
    for (sent, arrives) in [
        ("/a%2Fb/../c?x=%20", "/a%2Fb/../c?x=%20"),
        (
            "/%7Ealice/./x//y;p=1?q=a+b&r=%2F&s=%00",
            "/%7Ealice/./x//y;p=1?q=a+b&r=%2F&s=%00",
        ),
        ("/caf%C3%A9", "/caf%C3%A9"),
        // Absolute form: the path goes on, the host never decides where.
        ("http://evil.test/absolute?x=1", "/absolute?x=1"),
    ] {
        let (status, head, report) = raw_as_alice(&proxy, "GET", sent);
        assert_eq!(status, 200, "{sent}: {head}");
        assert_eq!(request_line(&report), format!("GET {arrives}"), "{sent}");
        assert_eq!(header(&report, "host"), ["localhost"], "{sent}");
    }
    // A redirect is the client's to follow, not the proxy's.
    let (status, head, _) = raw_as_alice(&proxy, "GET", "/_redirect");
    assert_eq!(status, 302, "{head}");
    assert!(head_has(&head, "location: /elsewhere"), "{head}");
    assert!(!request_lines(&seen).iter().any(|l| l.contains("elsewhere")));
}

/// With `TLS_CERT` and `TLS_KEY` the proxy serves HTTPS: the application hears `https`, and
/// an HTTP/2 request (whose host is `:authority`, not a header) arrives with its `Host` and
/// its body (no `Content-Length`: h2 frames it).
#[test]
fn over_https_and_http2_the_application_hears_https_the_host_and_the_body() {
    let (app, _) = application();
    let (cert, key) = common::tls_cert();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let proxy = Proxy::start(
        &format!("http://{app}"),
        &[("TLS_CERT", cert), ("TLS_KEY", key)],
    );
    let host = format!("localhost:{}", proxy.port);
    let res = curl_exchange(
        &format!("https://{host}/tls?x=1"),
        &[
            "--negotiate",
            "-u",
            ":",
            "--http2",
            "--cacert",
            cert,
            "--data-binary",
            "hello",
            // No length: the body ends with the h2 stream.
            "-H",
            "Content-Length:",
        ],
    );
    assert_eq!(res.code, 200, "{}", res.head);
    assert!(
        res.status_lines().last().unwrap().starts_with("HTTP/2 "),
        "{}",
        res.head
    );
    assert_eq!(request_line(&res.body), "POST /tls?x=1");
    assert_eq!(header(&res.body, "x-remote-user"), [ALICE], "{}", res.body);
    assert_eq!(header(&res.body, "x-forwarded-proto"), ["https"]);
    assert_eq!(header(&res.body, "host"), [host.as_str()], "{}", res.body);
    assert_eq!(header(&res.body, "x-forwarded-host"), [host.as_str()]);
    assert_eq!(body(&res.body), (5, sha256_hex(b"hello")));
    // Over HTTPS the session cookie goes out without the plain-HTTP warning.
    session_pair(&res.last_headers("set-cookie"));
    assert!(!proxy.logged("plain HTTP"));
}

#[test]
fn an_application_that_is_down_gets_502_and_a_slow_one_504_both_logged() {
    let dead = common::free_port();
    let proxy = Proxy::start(&format!("http://127.0.0.1:{dead}"), &[]);
    let authorization = alice_authorization();
    let res = curl_exchange(&proxy.url("/down"), &["-H", &authorization]);
    assert_eq!(res.code, 502, "{}", res.head);
    let line = proxy.log_line(&["GET /down", "answering 502"]);
    assert!(
        line.contains(&format!("upstream http://127.0.0.1:{dead}")),
        "{line}"
    );
    let b64 = &authorization["Authorization: Negotiate ".len()..];
    assert!(!proxy.logged(&b64[b64.len() / 2..][..32]), "token logged");
    // Authentication comes first, up or down.
    let res = curl_exchange(&proxy.url("/down-anonymous"), &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    // A WebSocket to it: 502 as well, no upgrade.
    let authorization = alice_token().header().to_owned();
    let refused =
        upgrade_with(proxy.addr(), "/ws", &[("Authorization", &authorization)]).unwrap_err();
    assert_eq!(refused.status, 502, "{refused:?}");
    assert_not_upgraded(&refused);
    proxy.log_line(&["GET /ws", "WebSocket", "answering 502"]);

    let (app, seen) = application();
    let proxy = Proxy::start(&format!("http://{app}"), &[("UPSTREAM_TIMEOUT", "1")]);
    let started = Instant::now();
    let res = curl_exchange(&proxy.url("/_slow"), &["--negotiate", "-u", ":"]);
    let took = started.elapsed();
    assert_eq!(res.code, 504, "{}", res.head);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(request_lines(&seen), ["GET /_slow"]);
    proxy.log_line(&["GET /_slow", "did not answer within 1s", "answering 504"]);

    // The clock starts once the body has gone: an upload slower than the timeout goes through.
    let upload = realm().dir().join(format!("proxy-slow-{}", proxy.port));
    std::fs::write(&upload, pattern(0, 40 * 1024)).unwrap();
    let out = upload.with_extension("out");
    let started = Instant::now();
    let url = proxy.url("/slow-upload");
    let from_file = format!("@{}", upload.display());
    let args = ["--limit-rate", "16k", "--data-binary", &from_file, &url];
    assert_eq!(curl_to_file(&args, &out), 200);
    let took = started.elapsed();
    assert!(took > Duration::from_millis(1500), "{took:?}");
    let report = std::fs::read_to_string(&out).unwrap();
    assert_eq!(body(&report).0, 40 * 1024);
}

#[test]
fn a_websocket_through_the_proxy_is_alices_and_relays_both_ways() {
    let (proxy, seen) = setup();
    let client = alice_token();
    let (mut socket, headers) = upgrade_with(
        proxy.addr(),
        "/ws",
        &[
            ("Authorization", client.header()),
            ("X-Remote-User", "admin@EXAMPLE.TEST"),
            ("Sec-WebSocket-Protocol", "chat.v1, echo.v2"),
        ],
    )
    .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"));
    let mutual = challenges(&headers);
    assert_eq!(mutual.len(), 1, "{mutual:?}");
    client
        .verify_mutual(&mutual[0])
        .expect("the 101 answer proves the proxy holds the service key");
    assert_eq!(headers["sec-websocket-protocol"], "echo.v2");
    // The application prefixes what its X-Remote-User said: alice's, and nothing else.
    echoes_as(&mut socket, ALICE);
    let binary = Message::binary(vec![0, 1, 2, 255]);
    socket.send(binary.clone()).unwrap();
    assert_eq!(socket.read().unwrap(), binary);
    socket.send(Message::Ping("are you there".into())).unwrap();
    assert_eq!(
        socket.read().unwrap(),
        Message::Pong("are you there".into())
    );
    close(socket);

    let reports = seen.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(header(&reports[0], "x-remote-user"), [ALICE]);
    assert!(header(&reports[0], "authorization").is_empty());
    assert_eq!(
        header(&reports[0], "sec-websocket-protocol"),
        ["chat.v1, echo.v2"]
    );

    // The application closes: the client gets its close frame.
    let authorization = alice_token().header().to_owned();
    let (mut socket, _) = upgrade_with(proxy.addr(), "/ws", &[("Authorization", &authorization)])
        .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"));
    socket.send(Message::text("close-please")).unwrap();
    match socket.read().unwrap() {
        Message::Close(Some(frame)) => {
            assert_eq!(
                frame.code,
                tungstenite::protocol::frame::coding::CloseCode::Normal
            );
            assert_eq!(frame.reason, "bye");
        }
        other => panic!("expected a close frame: {other:?}"),
    }

    // No ticket: the challenge, no upgrade, and the application hears nothing.
    let refused = upgrade_with(proxy.addr(), "/ws", &[]).unwrap_err();
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(challenges(&refused.headers), ["Negotiate"]);
    assert_not_upgraded(&refused);
    assert_eq!(seen.lock().unwrap().len(), 2);

    // An application that refuses the upgrade: its 4xx, or 502 for an answer that is no
    // refusal (a page where no WebSocket is).
    for (path, status) in [("/_forbidden", 403), ("/_big?bytes=3", 502)] {
        let authorization = alice_token().header().to_owned();
        let refused =
            upgrade_with(proxy.addr(), path, &[("Authorization", &authorization)]).unwrap_err();
        assert_eq!(refused.status, status, "{path}: {refused:?}");
        assert_not_upgraded(&refused);
    }
}

/// Authentication happened once, on the upgrade: the proxy closes both sides (1008) when the
/// ticket the socket was opened with expires, and not before.
#[test]
fn a_websocket_through_the_proxy_closes_when_the_ticket_expires() {
    let (proxy, _) = setup();
    crate::websocket::closed_when_the_ticket_expires(proxy.addr(), "gail");
}

/// A principal in UTF-8 goes on as its bytes (obs-text), as `ForwardAuth` sends it, not
/// refused for not being ASCII.
#[test]
fn a_principal_beyond_ascii_reaches_the_application_as_its_bytes() {
    let realm = realm();
    realm.add_user("jürgen", "jürgen-password").unwrap();
    let ccache = realm.kinit("jürgen", "jürgen-password", &[]).unwrap();
    let client = actix_gssapi_testing::Negotiation::start(&ccache, "HTTP@localhost").unwrap();
    let (proxy, _) = setup();
    let authorization = format!("Authorization: {}", client.header());
    let (status, head, report) = raw(&proxy, "GET", "/utf8", &[&authorization]);
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&report, "x-remote-user"), ["jürgen@EXAMPLE.TEST"]);
}
