//! HTTP/2: `SpnegoAuth` over h2 (actix-web's `http2` feature, rustls, ALPN), with curl
//! `--http2` as the client: a Negotiate login with its mutual-authentication answer, the `401`
//! challenge, a replayed token refused, and the session cookie it issues identifying the next
//! request. Nothing in the crate depends on the HTTP version; this proves it.

use crate::common;

use actix_gssapi::{KerberosIdentity, Key, ServicePrincipal, SessionCookie, SpnegoAuth};
use actix_web::{web, App};
use common::{alice_token, realm, Exchange};

async fn whoami(id: KerberosIdentity) -> String {
    format!("{} cookie={}", id.principal(), id.is_from_session_cookie())
}

/// A TLS server (h2 and http/1.1 by ALPN) with a session cookie, and its URL.
fn serve() -> String {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .session_cookie(SessionCookie::new(Key::generate()))
        .build()
        .expect("acceptor");
    let addr = common::spawn_tls_server(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(whoami))
    });
    format!("https://localhost:{}/", addr.port())
}

/// curl `--http2` against `url` with `args`.
fn curl_h2(url: &str, args: &[&str]) -> Exchange {
    let (cert, _) = common::tls_cert();
    let mut all = vec!["--http2", "--cacert", cert.to_str().expect("path")];
    all.extend_from_slice(args);
    common::curl_exchange(url, &all)
}

#[test]
fn curl_logs_in_over_http2_and_the_server_proves_itself() {
    let url = serve();
    let res = curl_h2(&url, &["--negotiate", "-u", ":"]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "alice@EXAMPLE.TEST cookie=false"),
        "{}",
        res.head
    );
    let lines = res.status_lines();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.starts_with("HTTP/2 ")),
        "not h2: {lines:?}"
    );
    let mutual = res.last_headers("www-authenticate");
    assert!(
        mutual.len() == 1 && mutual[0].starts_with("Negotiate ") && mutual[0].len() > 20,
        "no mutual-authentication token on h2: {}",
        res.head
    );

    // The cookie that login set identifies the next h2 request, without a ticket.
    let cookie = res.last_headers("set-cookie");
    let pair = cookie
        .first()
        .and_then(|c| c.split(';').next())
        .expect("a session cookie on h2");
    let res = curl_h2(&url, &["-b", pair]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "alice@EXAMPLE.TEST cookie=true"),
        "{}",
        res.head
    );
    assert!(res.status_lines().iter().all(|l| l.starts_with("HTTP/2 ")));
}

#[test]
fn without_a_ticket_h2_gets_the_challenge_and_a_replay_is_refused() {
    let url = serve();
    let res = curl_h2(&url, &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(res.status_lines(), ["HTTP/2 401"]);
    assert_eq!(res.last_headers("www-authenticate"), ["Negotiate"]);

    let header = format!("Authorization: {}", alice_token().header());
    let first = curl_h2(&url, &["-H", &header]);
    assert_eq!(first.code, 200, "{}", first.head);
    let replay = curl_h2(&url, &["-H", &header]);
    assert_eq!(replay.code, 403, "{}", replay.head);
    assert_eq!(replay.status_lines(), ["HTTP/2 403"]);
    assert!(replay.last_headers("www-authenticate").is_empty());
}
