//! WebSocket upgrades behind `SpnegoAuth`, with a real WebSocket client (tungstenite) and
//! curl: the upgrade request carries `Authorization: Negotiate`, the `101` answer carries the
//! mutual-authentication token, and messages flow with the principal; without credentials,
//! or with bad or replayed ones, `401`/`403` and the handler never runs. In process, and
//! through `examples/websocket` (build the examples first: `cargo test --test websocket` alone
//! does not).

use crate::common;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::Negotiation;
use actix_web::{web, App, HttpRequest};
use base64::Engine as _;
use common::{alice_token, free_port, logged, logs, realm, start_example};
use tungstenite::client::IntoClientRequest as _;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::{header, HeaderMap, StatusCode};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// The longest any connect, read or write may take.
const TIMEOUT: Duration = Duration::from_secs(20);

const ALICE: &str = "alice@EXAMPLE.TEST";

/// A server on 127.0.0.1 whose `/ws` (behind `SpnegoAuth` for `HTTP@localhost`) opens a
/// WebSocket echoing `<principal>: <text>`; the counter says how often that handler ran.
fn serve_ws() -> (SocketAddr, Arc<AtomicUsize>) {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .build()
        .expect("acceptor");
    let upgrades = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&upgrades);
    let addr = common::spawn_server(move || {
        let counter = Arc::clone(&counter);
        App::new().wrap(auth.clone()).route(
            "/ws",
            web::get().to(
                move |id: KerberosIdentity, req: HttpRequest, body: web::Payload| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let (response, mut session, mut messages) = actix_ws::handle(&req, body)?;
                        actix_web::rt::spawn(async move {
                            while let Some(Ok(actix_ws::Message::Text(text))) =
                                messages.recv().await
                            {
                                let reply = format!("{}: {text}", id.principal());
                                if session.text(reply).await.is_err() {
                                    return;
                                }
                            }
                            let _ = session.close(None).await;
                        });
                        Ok::<_, actix_web::Error>(response)
                    }
                },
            ),
        )
    });
    (addr, upgrades)
}

/// An open WebSocket and the headers of its `101` answer.
pub(crate) type Opened = (WebSocket<TcpStream>, HeaderMap);

/// A refused upgrade: the status and headers of the answer.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
}

/// Opens `ws://localhost:<port><path>` on 127.0.0.1 with tungstenite, sending `authorization`
/// (if any) on the upgrade request. Panics on anything but an upgrade or an HTTP answer.
fn upgrade(
    addr: SocketAddr,
    path: &str,
    authorization: Option<&str>,
) -> Result<Opened, Box<Refused>> {
    let authorization = authorization.map(|a| ("Authorization", a));
    upgrade_with(addr, path, authorization.as_slice())
}

/// [`upgrade`] with `headers` (name, value) added to the upgrade request, in order.
pub(crate) fn upgrade_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Opened, Box<Refused>> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut request = format!("ws://localhost:{}{path}", addr.port())
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        let name = header::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().append(name, value.parse().unwrap());
    }
    match tungstenite::client(request, stream) {
        Ok((socket, response)) => Ok((socket, response.headers().clone())),
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            Err(Box::new(Refused {
                status: response.status(),
                headers: response.headers().clone(),
            }))
        }
        Err(e) => panic!("WebSocket handshake on {path}: {e}"),
    }
}

/// Every `WWW-Authenticate` value of an answer.
pub(crate) fn challenges(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// [`opens_as`] with a fresh token of alice's.
fn alice_opens(addr: SocketAddr, path: &str) -> WebSocket<TcpStream> {
    opens_as(alice_token(), addr, path)
}

/// Upgrades with `client`'s token, and checks the `101` answer's mutual-authentication token
/// with the client's own GSSAPI context.
fn opens_as(client: Negotiation, addr: SocketAddr, path: &str) -> WebSocket<TcpStream> {
    let (socket, headers) = upgrade(addr, path, Some(client.header()))
        .unwrap_or_else(|refused| panic!("upgrade refused: {refused:?}"));
    let challenges = challenges(&headers);
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(
        challenges[0].len() > "Negotiate ".len() + 20,
        "no token: {challenges:?}"
    );
    client
        .verify_mutual(&challenges[0])
        .expect("the 101 answer proves the server holds the service key");
    socket
}

/// Sends a few text messages and checks each comes back as `<principal>: <text>`.
pub(crate) fn echoes_as(socket: &mut WebSocket<TcpStream>, principal: &str) {
    for text in ["hello", "a second message", "ünïcödé ✓", ""] {
        socket.send(Message::text(text)).unwrap();
        let reply = socket.read().unwrap();
        assert_eq!(reply, Message::text(format!("{principal}: {text}")));
    }
}

/// Sends a close frame and waits (bounded by the socket's timeout) for the server's.
pub(crate) fn close(mut socket: WebSocket<TcpStream>) {
    socket.close(None).unwrap();
    match socket.read() {
        Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => {}
        Ok(other) => panic!("after close: {other:?}"),
        Err(e) => panic!("closing: {e}"),
    }
}

/// A 401 or 403 to an upgrade request: no `Upgrade` answer, nothing switched.
pub(crate) fn assert_not_upgraded(refused: &Refused) {
    assert!(
        refused.headers.get(header::UPGRADE).is_none(),
        "{refused:?}"
    );
    assert!(
        refused.headers.get(header::SEC_WEBSOCKET_ACCEPT).is_none(),
        "{refused:?}"
    );
}

/// What an upgrade gets without credentials (`401` and the challenge) and with malformed or
/// garbage tokens (`403`): never a `101`. Checked in process and against the example.
fn refusals_without_upgrade(addr: SocketAddr, path: &str) {
    let refused = upgrade(addr, path, None).unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    assert_eq!(challenges(&refused.headers), ["Negotiate"]);
    assert_not_upgraded(&refused);

    let garbage = format!(
        "Negotiate {}",
        base64::engine::general_purpose::STANDARD.encode([0x60, 0x03, 0x06, 0x01, 0x00])
    );
    // Half of a real token, cut on a base64 quantum: valid base64, a truncated GSS-API token.
    let token = alice_token();
    let b64 = &token.header()["Negotiate ".len()..];
    let truncated = format!("Negotiate {}", &b64[..b64.len() / 2 / 4 * 4]);
    for bad in ["Negotiate !!!notbase64", "Negotiate", &garbage, &truncated] {
        let refused = upgrade(addr, path, Some(bad)).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
        assert!(challenges(&refused.headers).is_empty(), "{refused:?}");
        assert_not_upgraded(&refused);
    }
}

#[test]
fn upgrade_with_a_valid_token_gets_101_mutual_auth_and_the_principal() {
    let (addr, upgrades) = serve_ws();
    let mut socket = alice_opens(addr, "/ws");
    echoes_as(&mut socket, ALICE);
    close(socket);
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);
}

#[test]
fn upgrade_without_or_with_bad_credentials_is_refused_before_the_handler() {
    let (addr, upgrades) = serve_ws();
    refusals_without_upgrade(addr, "/ws");
    assert_eq!(upgrades.load(Ordering::SeqCst), 0);
    assert!(
        logged(&["GET /ws", "refused"]),
        "no refusal logged: {:?}",
        logs()
    );
}

#[test]
fn replayed_upgrade_token_is_forbidden() {
    let (addr, upgrades) = serve_ws();
    let client = alice_token();
    let header = client.header().to_owned();
    let socket = opens_as(client, addr, "/ws");
    let replayed = upgrade(addr, "/ws", Some(&header)).unwrap_err();
    assert_eq!(replayed.status, StatusCode::FORBIDDEN, "{replayed:?}");
    assert_not_upgraded(&replayed);
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);
    assert!(logged(&["GET /ws", "replay"]), "{:?}", logs());
    // The refusal is logged with its reason, never with the token.
    let b64 = &header["Negotiate ".len()..];
    let secret = &b64[b64.len() / 2..][..32];
    assert!(!logs().iter().any(|l| l.contains(secret)), "token logged");
    // The first socket is unaffected by the replay.
    let mut socket = socket;
    echoes_as(&mut socket, ALICE);
    close(socket);
}

#[test]
fn example_echoes_with_the_principal_and_refuses_bad_upgrades() {
    let env = common::env_for_localhost();
    let port = free_port();
    let _server = start_example("websocket", port, &env);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let mut socket = alice_opens(addr, "/ws");
    echoes_as(&mut socket, ALICE);
    // Text only: a binary message closes the socket with 1003, not a panic or silence.
    socket.send(Message::binary(vec![0, 1, 2])).unwrap();
    match socket.read().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Unsupported),
        other => panic!("expected a close frame: {other:?}"),
    }

    refusals_without_upgrade(addr, "/ws");
    let client = alice_token();
    let header = client.header().to_owned();
    close(opens_as(client, addr, "/ws"));
    let replayed = upgrade(addr, "/ws", Some(&header)).unwrap_err();
    assert_eq!(replayed.status, StatusCode::FORBIDDEN, "{replayed:?}");
    assert_not_upgraded(&replayed);
    // The plain route answers the principal.
    let (code, body) = common::curl(
        &[
            "--negotiate",
            "-u",
            ":",
            &format!("http://localhost:{port}/"),
        ],
        &env,
    );
    assert_eq!((code, body.as_str()), (200, "alice@EXAMPLE.TEST\n"));
}

/// Authentication happens once, on the upgrade request: the example closes the socket (1008)
/// when the ticket it was opened with expires, and not before.
#[test]
fn example_closes_the_socket_when_the_ticket_expires() {
    let env = common::env_for_localhost();
    let port = free_port();
    let _server = start_example("websocket", port, &env);
    closed_when_the_ticket_expires(SocketAddr::from(([127, 0, 0, 1], port)), "erin");
}

/// Makes `user`, whose tickets last 4 s, opens `/ws` on `addr` as them, and checks that the
/// server echoes as them, then closes the socket (`1008`) when the ticket expires, not before.
pub(crate) fn closed_when_the_ticket_expires(addr: SocketAddr, user: &str) {
    let realm = realm();
    realm
        .kadmin(&format!(
            "addprinc -maxlife \"4 seconds\" -pw {user}-password {user}"
        ))
        .unwrap();
    let issued = Instant::now();
    let ccache = realm.kinit(user, &format!("{user}-password"), &[]).unwrap();
    let client = Negotiation::start(&ccache, "HTTP@localhost").unwrap();
    let mut socket = opens_as(client, addr, "/ws");
    echoes_as(&mut socket, &format!("{user}@EXAMPLE.TEST"));
    match socket.read().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Policy, "{frame:?}"),
        other => panic!("expected a close frame: {other:?}"),
    }
    // Kerberos times are whole seconds: the ticket ends at least 3 s after `issued`.
    let after = issued.elapsed();
    assert!(after >= Duration::from_secs(3), "closed after {after:?}");
}

/// curl's upgrade request: `101` with the mutual-authentication token when it sends a token
/// (with one auth method, `--negotiate` sends it on the first request), `401` without. curl
/// does not speak WebSocket: after the `101` it waits for a body until `--max-time`.
#[test]
fn curl_upgrade_request_gets_101_with_negotiate_and_401_without() {
    let (addr, upgrades) = serve_ws();
    let port = addr.port();
    let curl_upgrade = |auth: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-D", "-", "-o", "/dev/null", "--max-time", "3"])
            .args(auth)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-H", "Connection: Upgrade", "-H", "Upgrade: websocket"])
            .args(["-H", "Sec-WebSocket-Version: 13"])
            .args(["-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
            .arg(format!("http://localhost:{port}/ws"))
            .envs(realm().env())
            .output()
            .expect("curl");
        // Each answer's head, lower-cased; bodies go to /dev/null.
        String::from_utf8_lossy(&out.stdout)
            .split("\r\n\r\n")
            .filter(|h| h.starts_with("HTTP/"))
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    };

    let heads = curl_upgrade(&["--negotiate", "-u", ":"]);
    assert_eq!(heads.len(), 1, "{heads:?}");
    let head = &heads[0];
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    assert!(head.contains("\r\nupgrade: websocket"), "{head}");
    // The accept key RFC 6455 §1.3 gives for this Sec-WebSocket-Key.
    assert!(
        head.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(head.contains("\r\nwww-authenticate: negotiate "), "{head}");
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);

    let heads = curl_upgrade(&[]);
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].starts_with("http/1.1 401 "), "{heads:?}");
    assert!(
        heads[0].contains("\r\nwww-authenticate: negotiate\r\n"),
        "{heads:?}"
    );
    assert!(!heads[0].contains("\r\nupgrade:"), "{heads:?}");
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);
}
