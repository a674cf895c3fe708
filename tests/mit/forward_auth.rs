//! `ForwardAuth` behind a real nginx (Debian's, `auth_request`), configured with the `server`
//! block of the forward-auth guide as written, curl `--negotiate` in front and an application
//! behind that shows what reached it: a login passes with the user nginx set, no ticket gets
//! the `401` challenge through nginx, a refused or replayed token `403`, a spoofed
//! `X-Remote-User` never reaches the application, and the session cookie and the server's
//! mutual-authentication token get back to the client. The guide's Caddy site the same way
//! (`forward_auth`). And `examples/forward_auth`'s contract.

use crate::common;

use common::nginx::{guide_caddy_site, guide_server_block, reached, servers, Caddy, Nginx, Seen};
use common::{alice_token, free_port, realm};

/// [`servers`] with nginx in front, configured with the guide's block.
fn setup() -> (Nginx, Seen) {
    let (endpoint, upstream, seen) = servers();
    let nginx = Nginx::start(realm().dir(), &guide_server_block(), endpoint, upstream);
    (nginx, seen)
}

fn curl(url: &str, args: &[&str]) -> common::Exchange {
    common::curl_exchange(url, args)
}

#[test]
fn a_login_through_nginx_reaches_the_application_as_alice_and_the_cookie_comes_back() {
    let (nginx, seen) = setup();
    let res = curl(&nginx.url("/app/page"), &["--negotiate", "-u", ":"]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/page user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    // The server's mutual-authentication token and the session cookie reached the client.
    let mutual = res.last_headers("www-authenticate");
    assert!(
        mutual.len() == 1 && mutual[0].starts_with("Negotiate ") && mutual[0].len() > 20,
        "{}",
        res.head
    );
    let cookie = res.last_headers("set-cookie");
    let pair = cookie
        .first()
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie through nginx: {}", res.head))
        .to_owned();
    // The cookie alone gets the next request in, as alice.
    let res = curl(&nginx.url("/app/again"), &["-b", &pair]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/again user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    // One X-Remote-User each time: nginx's, not a copy beside the client's.
    assert_eq!(
        reached(&seen, "/app/again"),
        ["/app/again user=alice@EXAMPLE.TEST"]
    );
}

#[test]
fn without_a_ticket_nginx_passes_the_challenge_and_the_application_sees_nothing() {
    let (nginx, seen) = setup();
    let res = curl(&nginx.url("/app/private"), &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(
        res.last_headers("www-authenticate"),
        ["Negotiate"],
        "{}",
        res.head
    );
    // Spoofing the identity header without a ticket gets nowhere either.
    let res = curl(
        &nginx.url("/app/spoof-alone"),
        &["-H", "X-Remote-User: admin@EXAMPLE.TEST"],
    );
    assert_eq!(res.code, 401);
    // A refused token, and a replayed one.
    let res = curl(
        &nginx.url("/app/garbage"),
        &["-H", "Authorization: Negotiate AAAAAAAAAAAAAAAA"],
    );
    assert_eq!(res.code, 403, "{}", res.head);
    let header = format!("Authorization: {}", alice_token().header());
    assert_eq!(curl(&nginx.url("/app/first"), &["-H", &header]).code, 200);
    let res = curl(&nginx.url("/app/replayed"), &["-H", &header]);
    assert_eq!(res.code, 403, "{}", res.head);
    for path in [
        "/app/private",
        "/app/spoof-alone",
        "/app/garbage",
        "/app/replayed",
    ] {
        assert!(
            reached(&seen, path).is_empty(),
            "{path} reached the application"
        );
    }
    assert_eq!(
        reached(&seen, "/app/first"),
        ["/app/first user=alice@EXAMPLE.TEST"]
    );
}

#[test]
fn a_spoofed_identity_header_is_replaced_by_nginx() {
    let (nginx, seen) = setup();
    let res = curl(
        &nginx.url("/app/spoofed"),
        &[
            "--negotiate",
            "-u",
            ":",
            "-H",
            "X-Remote-User: admin@EXAMPLE.TEST",
        ],
    );
    assert_eq!(res.code, 200, "{}", res.head);
    assert_eq!(
        reached(&seen, "/app/spoofed"),
        ["/app/spoofed user=alice@EXAMPLE.TEST"],
        "the client's X-Remote-User went through"
    );
}

/// `examples/forward_auth ADDR` with `SPNEGO_HOSTNAME`: `GET /auth` answers `200` with
/// `X-Remote-User`, or the `401` challenge.
#[test]
fn the_example_answers_the_documented_contract() {
    let port = free_port();
    let _server = common::start_example("forward_auth", port, &common::env_for_localhost());
    let url = format!("http://localhost:{port}/auth");
    let res = curl(&url, &["--negotiate", "-u", ":"]);
    assert_eq!(res.code, 200, "{}", res.head);
    assert_eq!(res.last_headers("x-remote-user"), ["alice@EXAMPLE.TEST"]);
    assert_eq!(res.last_headers("x-remote-realm"), ["EXAMPLE.TEST"]);
    let res = curl(&url, &["-X", "POST"]);
    assert_eq!(res.code, 401);
    assert_eq!(res.last_headers("www-authenticate"), ["Negotiate"]);
}

/// The guide's Caddy site in front of the same endpoint: a login passes as alice, no ticket
/// gets the challenge through Caddy, a refused token `403`, and spoofed identity headers
/// (`X-Remote-Groups` too, which the endpoint does not send without a PAC) never reach the
/// application.
#[test]
fn behind_caddy_a_login_passes_and_spoofed_headers_are_dropped() {
    let (endpoint, upstream, seen) = servers();
    let caddy = Caddy::start(realm().dir(), &guide_caddy_site(), endpoint, upstream);
    let res = curl(&caddy.url("/app/caddy"), &["--negotiate", "-u", ":"]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/caddy user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    let res = curl(&caddy.url("/app/caddy-private"), &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(
        res.last_headers("www-authenticate"),
        ["Negotiate"],
        "{}",
        res.head
    );
    let res = curl(
        &caddy.url("/app/caddy-garbage"),
        &["-H", "Authorization: Negotiate AAAAAAAAAAAAAAAA"],
    );
    assert_eq!(res.code, 403, "{}", res.head);
    let res = curl(
        &caddy.url("/app/caddy-spoofed"),
        &[
            "--negotiate",
            "-u",
            ":",
            "-H",
            "X-Remote-User: admin@EXAMPLE.TEST",
            "-H",
            "X-Remote-Groups: S-1-5-21-1-2-3-512",
        ],
    );
    assert_eq!(res.code, 200, "{}", res.head);
    assert_eq!(
        reached(&seen, "/app/caddy-spoofed"),
        ["/app/caddy-spoofed user=alice@EXAMPLE.TEST"],
        "a client's identity header went through Caddy"
    );
    for path in ["/app/caddy-private", "/app/caddy-garbage"] {
        assert!(
            reached(&seen, path).is_empty(),
            "{path} reached the application"
        );
    }
}
