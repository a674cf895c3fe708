//! A WebSocket route behind Kerberos: the upgrade request carries `Authorization: Negotiate`,
//! and the socket then echoes each text message prefixed with the principal and `: `
//! (`hello` comes back as `alice@EXAMPLE.COM: hello`). `/` answers the principal.
//!
//! ```sh
//! # keys for HTTP/<this host> in /etc/krb5.keytab, or point KRB5_KTNAME at a keytab
//! cargo run --example websocket -- 127.0.0.1:8080
//! kinit alice && curl --negotiate -u : http://$(hostname):8080/   # alice@EXAMPLE.COM
//! ```
//!
//! `ws://$(hostname):8080/ws` needs a WebSocket client that sends the Negotiate header on the
//! upgrade request (a browser does when it trusts the site for Negotiate). Without
//! credentials the upgrade is answered `401`, with a bad or replayed token `403`, and no
//! socket is opened. Pings are answered; a binary message closes the socket (`1003`), and so
//! does the end of the ticket's lifetime (`1008`): the client reconnects with a fresh ticket.
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.
//! Logs go to stderr (`RUST_LOG`, default `info`).

use std::time::SystemTime;

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};

async fn me(id: KerberosIdentity) -> String {
    format!("{}\n", id.principal())
}

/// `SpnegoAuth` authenticated the upgrade request before this runs: without valid
/// credentials it answered 401 or 403 itself, and no socket was opened.
async fn ws(
    id: KerberosIdentity,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(echo(
        id.principal().to_owned(),
        id.expires_at(),
        session,
        messages.aggregate_continuations(),
    ));
    // The 101 answer; SpnegoAuth adds the mutual-authentication token to it.
    Ok(response)
}

/// Echoes text messages as `<principal>: <text>` until the client closes the socket, sends
/// something else than text, or the ticket it logged in with expires.
async fn echo(
    principal: String,
    expires_at: Option<SystemTime>,
    mut session: Session,
    mut messages: AggregatedMessageStream,
) {
    let reason = loop {
        // Authentication happened once, on the upgrade request: the socket must not outlive
        // the ticket, or a disabled account would keep its connections.
        let left = expires_at.map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
        let message = match left {
            Some(left) => match actix_web::rt::time::timeout(left, messages.recv()).await {
                Ok(message) => message,
                Err(_) => break Some(close(CloseCode::Policy, "Kerberos ticket expired")),
            },
            None => messages.recv().await,
        };
        let sent = match message {
            Some(Ok(AggregatedMessage::Text(text))) => {
                session.text(format!("{principal}: {text}")).await
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => session.pong(&bytes).await,
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Ok(AggregatedMessage::Binary(_))) => {
                break Some(close(CloseCode::Unsupported, "text messages only"))
            }
            Some(Ok(AggregatedMessage::Close(reason))) => break reason,
            Some(Err(e)) => {
                log::info!("{principal}: WebSocket closed: {e}");
                break Some(close(CloseCode::Protocol, "protocol error"));
            }
            // The connection is gone: nothing left to close.
            None => return,
        };
        if sent.is_err() {
            return;
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

    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build()?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(me))
            .route("/ws", web::get().to(ws))
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
