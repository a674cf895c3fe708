//! An authenticating reverse proxy: Kerberos single sign-on in front of any HTTP application
//! (Grafana, Jupyter, a wiki) that trusts `X-Remote-User`.
//!
//! ```sh
//! # keys for HTTP/www.example.com in a keytab; the application on 127.0.0.1:3000
//! UPSTREAM=http://127.0.0.1:3000 SPNEGO_HOSTNAME=www.example.com KRB5_KTNAME=http.keytab \
//!     cargo run --example proxy -- 0.0.0.0:8080
//! kinit alice && curl --negotiate -u : http://www.example.com:8080/   # the application's page
//! ```
//!
//! Every request must log in (`curl --negotiate`, a browser that trusts the site) or carry
//! the session cookie of an earlier login; then it goes to `UPSTREAM` with the request target
//! exactly as received, the body streamed, and the user in `X-Remote-User: alice@EXAMPLE.COM`,
//! `X-Remote-Realm`, `X-Remote-Local-User` (krb5's `auth_to_local` name, when one maps) and
//! `X-Remote-Groups` (the group SIDs of a verified Active Directory PAC, comma-separated).
//! Whatever copies of those headers the client sent are dropped first, in any case, with `_`
//! for `-`, and so are its `X-Forwarded-*`, `Forwarded` and `X-Real-IP`: the proxy sets
//! `X-Forwarded-For`, `-Proto` and `-Host` itself. The client's `Authorization: Negotiate`
//! (a single-use token for the proxy), the session cookie and the hop-by-hop headers (RFC 9110
//! §7.6.1) stay here; the answer comes back with every `Set-Cookie` of the application's, and
//! the proxy's mutual-authentication token and session cookie. A WebSocket upgrade is
//! authenticated like any request, then relayed frame by frame to the same path upstream
//! until either side closes or the login's ticket expires. CORS preflights need a login too
//! (`authenticate_preflights`): nothing reaches the application unauthenticated.
//!
//! - `UPSTREAM`: `http://host:port` (plain HTTP: the application on loopback or a network
//!   only the proxy reaches, since it trusts the identity headers).
//! - `UPSTREAM_TIMEOUT`: seconds to wait for the application's answer once the request body
//!   has gone, or for its answer to a WebSocket upgrade (default 60). An application that
//!   refuses the connection gets the client a `502`; one not connected within 5 s or not
//!   answering in time, a `504`; each logged with the reason. Response bodies have no time
//!   limit (long polls and event streams pass).
//! - `SPNEGO_HOSTNAME`: the host name in the users' URL (`HTTP/<name>` in the keytab; default
//!   the machine's host name); keys from `KRB5_KTNAME` or `/etc/krb5.keytab`.
//! - `SESSION_KEY_FILE`: 64 bytes or more of secret for the session cookie (default a random
//!   key: sessions end with the process). The cookie is `Secure`: browsers keep it over HTTPS
//!   only, so over plain HTTP every request logs in again.
//! - `TLS_CERT` and `TLS_KEY`: PEM certificate chain and key to serve HTTPS (rustls).
//!
//! Logs go to stderr (`RUST_LOG`, default `info`).

use std::future::{pending, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use actix_gssapi::{
    ForwardAuth, KerberosIdentity, Key, ServicePrincipal, SessionCookie, SpnegoAuth,
};
use actix_web::body::{BodyStream, BoxBody, SizedStream};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Version};
use actix_web::web::Bytes;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError as _};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use awc::error::{ConnectError, SendRequestError, WsClientError};
use awc::ws::Frame;
use bytestring::ByteString;
use futures_util::future::{select, Either};
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::oneshot;

/// The session cookie's name (`SessionCookie`'s default for a `Secure` cookie on `/`): the
/// client's copy stays here, so the application cannot replay it.
const SESSION_COOKIE: &str = "__Host-gssapi_session";

/// The request headers the proxy sets itself: a client's copy of any of them, in any case and
/// with `_` for `-` (CGI-style frameworks read `X_Remote_User` as `X-Remote-User`), never
/// reaches the application.
const OWNED: [&str; 9] = [
    "x-remote-user",
    "x-remote-realm",
    "x-remote-local-user",
    "x-remote-groups",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1, and `Proxy-Connection`), dropped both ways with the
/// ones `Connection` names.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Request headers that belong to this connection's framing or handshake: the client to the
/// proxy's `Content-Length` and `Expect` (actix answered it), and the WebSocket handshake
/// (the proxy makes its own to the application).
const OWN_FRAMING: [&str; 6] = [
    "content-length",
    "expect",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

/// The largest WebSocket frame relayed either way.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// The connection to the application, one per worker (awc's client is not `Send`).
struct Upstream {
    /// `http://host:port`, without a trailing slash.
    base: String,
    client: awc::Client,
    /// How long the application may take to answer once the request body has gone.
    timeout: Duration,
}

/// Every request: authenticated by `SpnegoAuth` before this runs.
async fn forward(
    req: HttpRequest,
    body: web::Payload,
    id: KerberosIdentity,
    upstream: web::Data<Upstream>,
) -> HttpResponse {
    let Some(target) = origin_form(&req) else {
        return HttpResponse::BadRequest().body("request target cannot be forwarded\n");
    };
    let identity = match identity_headers(&id) {
        Ok(identity) => identity,
        Err(name) => {
            // Never pass a request on with another identity than the one GSSAPI established.
            log::warn!(
                "{} {}: {name} for {:?} is no header value: answering 403",
                req.method(),
                req.path(),
                id.principal()
            );
            return HttpResponse::Forbidden().finish();
        }
    };
    let headers = upstream_headers(&req, &identity);
    let url = format!("{}{target}", upstream.base);
    if is_websocket_upgrade(&req) {
        return websocket(&req, body, &id, headers, &url, &upstream).await;
    }

    let mut request = upstream.client.request(req.method().clone(), url.as_str());
    *request.headers_mut() = headers;
    let (body, sent) = signal_end(body);
    // The body as the client framed it: its length when it gave one, else chunked, else
    // none. HTTP/1.1 has no body without either (RFC 9112 §6.3); HTTP/2 needs neither.
    let length = content_length(req.headers());
    let has_body =
        req.headers().contains_key(header::TRANSFER_ENCODING) || req.version() == Version::HTTP_2;
    let sending = match (length, has_body) {
        (Some(length), _) => request.send_body(SizedStream::new(length, body)),
        (None, true) => request.send_body(BodyStream::new(body)),
        (None, false) => {
            drop(body);
            request.send()
        }
    };
    match answered_within(sending, sent, upstream.timeout).await {
        Some(Ok(response)) => client_answer(response),
        Some(Err(e)) => upstream_failed(&req, &upstream.base, &e),
        None => {
            log::error!(
                "{} {}: upstream {} did not answer within {:?}: answering 504",
                req.method(),
                req.path(),
                upstream.base,
                upstream.timeout
            );
            HttpResponse::GatewayTimeout().finish()
        }
    }
}

/// The request body, and a receiver that ends once the whole body has gone (or the stream
/// was dropped, as awc does when sending fails).
fn signal_end(
    body: web::Payload,
) -> (
    impl Stream<Item = Result<Bytes, PayloadError>>,
    oneshot::Receiver<()>,
) {
    let (tx, rx) = oneshot::channel();
    let mut tx = Some(tx);
    let body = body.chain(futures_util::stream::poll_fn(move |_| {
        tx.take();
        Poll::Ready(None)
    }));
    (body, rx)
}

/// What `sending` gives, or `None` when that takes longer than `timeout` after `sent` ends:
/// the application's time to answer, not counting a slow client's upload.
async fn answered_within<F: Future>(
    sending: F,
    sent: oneshot::Receiver<()>,
    timeout: Duration,
) -> Option<F::Output> {
    let deadline = async {
        let _ = sent.await;
        actix_web::rt::time::sleep(timeout).await;
    };
    match select(pin!(sending), pin!(deadline)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// The application's answer for the client, hop-by-hop headers dropped, its body streamed:
/// no whole body is held, and none is cut at a size limit.
fn client_answer(response: awc::ClientResponse) -> HttpResponse {
    let mut answer = HttpResponse::build(response.status());
    let connection = connection_tokens(response.headers());
    for (name, value) in response.headers() {
        if !is_hop_by_hop(name, &connection) {
            answer.append_header((name.clone(), value.clone()));
        }
    }
    let body = match content_length(response.headers()) {
        Some(length) => BoxBody::new(SizedStream::new(length, response)),
        None => BoxBody::new(BodyStream::new(response)),
    };
    answer.body(body)
}

/// A request that could not reach the application: `502`, or `504` when connecting timed
/// out; logged with the reason (awc's errors carry no request header, so no token).
fn upstream_failed(req: &HttpRequest, base: &str, e: &SendRequestError) -> HttpResponse {
    let timed_out = matches!(
        e,
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout)
    );
    let status = if timed_out {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    log::error!(
        "{} {}: upstream {base}: {e}: answering {}",
        req.method(),
        req.path(),
        status.as_u16()
    );
    HttpResponse::build(status).finish()
}

/// The request target to send on: origin-form as received (percent-encoding, `..` and all);
/// an absolute-form target's path and query. `None` for `*` (`OPTIONS *`).
fn origin_form(req: &HttpRequest) -> Option<&str> {
    match req.uri().path_and_query() {
        Some(target) if target.as_str().starts_with('/') => Some(target.as_str()),
        Some(_) => None,
        None => Some("/"),
    }
}

/// The identity headers for `id` (as `ForwardAuth` answers them: `X-Remote-User`, `-Realm`,
/// `-Local-User`, `-Groups`), or the name of the first whose value cannot be a header value
/// (a principal with a control character).
fn identity_headers(id: &KerberosIdentity) -> Result<Vec<(HeaderName, HeaderValue)>, HeaderName> {
    Ok(ForwardAuth::new()
        .identity_headers(id)?
        .into_iter()
        .collect())
}

/// The headers the application gets: the client's, less the hop-by-hop ones, the framing,
/// the Negotiate token, the session cookie and every header the proxy owns; then the
/// `X-Forwarded-*` headers and `identity`.
fn upstream_headers(req: &HttpRequest, identity: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let client = req.headers();
    let connection = connection_tokens(client);
    let mut headers = HeaderMap::new();
    for (name, value) in client {
        let dropped = is_hop_by_hop(name, &connection)
            || OWN_FRAMING.contains(&name.as_str())
            || is_owned(name.as_str())
            || (name == header::AUTHORIZATION && is_negotiate(value));
        if dropped {
            continue;
        }
        if name == header::COOKIE {
            if let Some(rest) = without_session_cookie(value) {
                headers.append(header::COOKIE, rest);
            }
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    // From the connection itself, never from the client's headers (actix's ConnectionInfo
    // would believe a client's `X-Forwarded-For`).
    let host = client
        .get(header::HOST)
        .cloned()
        .or_else(|| HeaderValue::from_str(req.uri().authority()?.as_str()).ok());
    if let Some(host) = host {
        // An HTTP/2 request carries its host in `:authority`: the application gets a `Host`.
        if !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, host.clone());
        }
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    if let Some(peer) = req.peer_addr() {
        if let Ok(ip) = HeaderValue::from_str(&peer.ip().to_string()) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), ip);
        }
    }
    let proto = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(proto),
    );
    for (name, value) in identity {
        headers.insert(name.clone(), value.clone());
    }
    headers
}

/// Whether the proxy sets `name` itself (see [`OWNED`]).
fn is_owned(name: &str) -> bool {
    let dashed = name.replace('_', "-");
    OWNED.contains(&dashed.as_str())
}

/// The header names `Connection` lists (lower case), which are hop-by-hop too.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &HeaderName, connection: &[String]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || connection.iter().any(|t| t == name.as_str())
}

fn is_negotiate(value: &HeaderValue) -> bool {
    let scheme = value.as_bytes().split(|b| *b == b' ').next().unwrap_or(b"");
    scheme.eq_ignore_ascii_case(b"negotiate")
}

/// A `Cookie` header without the session cookie; `None` when nothing else is left.
fn without_session_cookie(value: &HeaderValue) -> Option<HeaderValue> {
    let Ok(text) = value.to_str() else {
        // Not text: no cookie of ours in it (ours is ASCII), pass it as it is.
        return Some(value.clone());
    };
    let rest: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split('=').next().map(str::trim) != Some(SESSION_COOKIE))
        .collect();
    if rest.is_empty() {
        None
    } else {
        HeaderValue::from_str(&rest.join("; ")).ok()
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A WebSocket handshake (`Upgrade: websocket` on a `GET`).
fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.method() == Method::GET
        && req
            .headers()
            .get_all(header::UPGRADE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
}

/// Opens the same path upstream as a WebSocket with the identity headers, then answers the
/// client's handshake and relays frames both ways. A client handshake actix refuses gets its
/// `400` without the application hearing of it; an application that refuses the upgrade
/// gives its status (a `4xx` or `5xx`), else `502`.
async fn websocket(
    req: &HttpRequest,
    body: web::Payload,
    id: &KerberosIdentity,
    headers: HeaderMap,
    url: &str,
    upstream: &Upstream,
) -> HttpResponse {
    if let Err(e) = actix_http::ws::handshake(req.head()) {
        return e.error_response();
    }
    let mut request = upstream.client.ws(url).max_frame_size(MAX_FRAME);
    for (name, value) in &headers {
        request = request.header(name.clone(), value.clone());
    }
    let opened = actix_web::rt::time::timeout(upstream.timeout, request.connect()).await;
    let (response, socket) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(WsClientError::InvalidResponseStatus(status)))
            if status.is_client_error() || status.is_server_error() =>
        {
            log::info!(
                "GET {}: upstream {} refused the WebSocket: {status}",
                req.path(),
                upstream.base
            );
            return HttpResponse::build(status).finish();
        }
        Ok(Err(e)) => {
            log::error!(
                "GET {}: upstream {} WebSocket: {e}: answering 502",
                req.path(),
                upstream.base
            );
            return HttpResponse::BadGateway().finish();
        }
        Err(_) => {
            log::error!(
                "GET {}: upstream {} did not open the WebSocket within {:?}: answering 504",
                req.path(),
                upstream.base,
                upstream.timeout
            );
            return HttpResponse::GatewayTimeout().finish();
        }
    };
    // The subprotocol the application chose, for the client's answer.
    let protocol = response
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let protocols: Vec<&str> = protocol.iter().map(String::as_str).collect();
    let (answer, session, messages) = match actix_ws::handle_with_protocols(req, body, &protocols) {
        Ok(opened) => opened,
        Err(e) => return e.error_response(),
    };
    actix_web::rt::spawn(relay(
        format!("{} {}", id.principal(), req.path()),
        id.expires_at(),
        session,
        messages.max_frame_size(MAX_FRAME),
        socket,
    ));
    // The 101 answer; SpnegoAuth adds the mutual-authentication token to it.
    answer
}

/// Relays frames between the client (`session`, `messages`) and the application (`socket`)
/// until either closes (the close goes on to the other), either fails, or the login's
/// ticket expires (both closed with `1008`): authentication happened once, on the upgrade.
async fn relay<U>(
    who: String,
    expires_at: Option<SystemTime>,
    mut session: Session,
    mut messages: MessageStream,
    socket: U,
) where
    U: Stream<Item = Result<Frame, actix_ws::ProtocolError>>
        + Sink<Message, Error = actix_ws::ProtocolError>,
{
    let (mut to_app, mut from_app) = socket.split();
    let left = expires_at.map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
    let mut expiry = pin!(async move {
        match left {
            Some(left) => actix_web::rt::time::sleep(left).await,
            None => pending().await,
        }
    });
    let reason = loop {
        tokio::select! {
            message = messages.recv() => match message {
                Some(Ok(Message::Close(reason))) => {
                    let _ = to_app.send(Message::Close(reason.clone())).await;
                    break reason;
                }
                Some(Ok(Message::Nop)) => {}
                Some(Ok(message)) => {
                    if to_app.send(message).await.is_err() {
                        break Some(close(CloseCode::Error, "upstream gone"));
                    }
                }
                Some(Err(e)) => {
                    log::info!("{who}: WebSocket from the client: {e}");
                    let reason = Some(close(CloseCode::Protocol, "protocol error"));
                    let _ = to_app.send(Message::Close(reason.clone())).await;
                    break reason;
                }
                None => {
                    let _ = to_app.send(Message::Close(None)).await;
                    return;
                }
            },
            frame = from_app.next() => {
                let sent = match frame {
                    Some(Ok(Frame::Text(bytes))) => match ByteString::try_from(bytes) {
                        Ok(text) => session.text(text).await,
                        Err(_) => {
                            let reason = Some(close(CloseCode::Invalid, "text is not UTF-8"));
                            let _ = to_app.send(Message::Close(reason.clone())).await;
                            break reason;
                        }
                    },
                    Some(Ok(Frame::Binary(bytes))) => session.binary(bytes).await,
                    Some(Ok(Frame::Continuation(item))) => session.continuation(item).await,
                    Some(Ok(Frame::Ping(bytes))) => session.ping(&bytes).await,
                    Some(Ok(Frame::Pong(bytes))) => session.pong(&bytes).await,
                    Some(Ok(Frame::Close(reason))) => {
                        // Answer the application's close, and pass it on.
                        let _ = to_app.send(Message::Close(reason.clone())).await;
                        break reason;
                    }
                    Some(Err(e)) => {
                        log::warn!("{who}: WebSocket from the upstream: {e}");
                        break Some(close(CloseCode::Error, "upstream protocol error"));
                    }
                    None => break Some(close(CloseCode::Away, "upstream gone")),
                };
                if sent.is_err() {
                    // The client is gone.
                    let _ = to_app.send(Message::Close(None)).await;
                    return;
                }
            },
            () = &mut expiry => {
                let reason = Some(close(CloseCode::Policy, "Kerberos ticket expired"));
                let _ = to_app.send(Message::Close(reason.clone())).await;
                break reason;
            }
        }
    };
    let _ = session.close(reason).await;
}

fn close(code: CloseCode, description: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(description.to_owned()),
    }
}

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let base = upstream_base()?;
    let timeout = match std::env::var("UPSTREAM_TIMEOUT") {
        Ok(secs) => Duration::from_secs(
            secs.parse()
                .map_err(|_| format!("UPSTREAM_TIMEOUT={secs}: give whole seconds"))?,
        ),
        Err(_) => Duration::from_secs(60),
    };
    let key = match std::env::var_os("SESSION_KEY_FILE") {
        Some(path) => {
            let bytes = std::fs::read(&path)?;
            Key::try_from(&bytes[..])
                .map_err(|e| format!("session key {}: {e}", path.to_string_lossy()))?
        }
        None => Key::generate(),
    };

    let mut auth = SpnegoAuth::builder()
        // Nothing reaches the application unauthenticated, CORS preflights included.
        .authenticate_preflights()
        .map_local_names()
        .session_cookie(SessionCookie::new(key).name(SESSION_COOKIE));
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build()?;

    let factory = move || {
        let client = awc::Client::builder()
            // The client gets the application's redirects, its bodies as they are, and no
            // header the client did not send: no following, no decompression, no User-Agent.
            .disable_redirects()
            .no_default_headers()
            // Bodies stream for as long as they take; `forward` times the wait for an answer.
            .disable_timeout()
            .connector(awc::Connector::new().timeout(Duration::from_secs(5)))
            .finish();
        let upstream = Upstream {
            base: base.clone(),
            client,
            timeout,
        };
        App::new()
            .app_data(web::Data::new(upstream))
            .wrap(auth.clone())
            .default_service(web::to(forward))
    };
    let server = HttpServer::new(factory);
    let (server, scheme) = match tls_config()? {
        Some(tls) => (server.bind_rustls_0_23(&addr, tls)?, "https"),
        None => (server.bind(&addr)?, "http"),
    };
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on {scheme}://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}

/// `UPSTREAM`, checked: `http://host[:port]`, nothing after the authority.
fn upstream_base() -> Result<String, Box<dyn std::error::Error>> {
    let raw = std::env::var("UPSTREAM").map_err(|_| "set UPSTREAM to http://host:port")?;
    let uri: actix_web::http::Uri = raw.parse().map_err(|e| format!("UPSTREAM={raw}: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(format!("UPSTREAM={raw}: give http://host:port (plain HTTP)").into());
    }
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(format!("UPSTREAM={raw}: no path (requests keep theirs)").into());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// HTTPS when `TLS_CERT` and `TLS_KEY` name a PEM chain and its key.
fn tls_config() -> Result<Option<rustls::ServerConfig>, Box<dyn std::error::Error>> {
    let (Ok(cert_file), Ok(key_file)) = (std::env::var("TLS_CERT"), std::env::var("TLS_KEY"))
    else {
        return Ok(None);
    };
    let chain = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cert_file}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(&key_file).map_err(|e| format!("{key_file}: {e}"))?;
    let tls = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    Ok(Some(tls))
}
