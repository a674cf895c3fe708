//! `ForwardAuth` behind a real nginx (Debian's, `auth_request`), configured with the `server`
//! block of the forward-auth guide as written, curl `--negotiate` in front and an application
//! behind that shows what reached it: a login passes with the user nginx set, no ticket gets
//! the `401` challenge through nginx, a refused or replayed token `403`, a spoofed
//! `X-Remote-User` never reaches the application, and the session cookie and the server's
//! mutual-authentication token get back to the client. The guide's Caddy site the same way
//! (`forward_auth`). And `examples/forward_auth`'s contract.

use crate::common;

use actix_gssapi::{ForwardAuth, Require};
use actix_gssapi_testing::Negotiation;
use common::nginx::{
    guide_caddy_site, guide_server_block, guide_tls_caddy_site, guide_tls_server_block, reached,
    servers, servers_with, Caddy, Nginx, Seen,
};
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

/// Checks a login's answer through a proxy: `200` with `body`, the server's
/// mutual-authentication token, and a session cookie, whose `name=value` it returns.
fn logged_in(res: &common::Exchange, body: &str) -> String {
    assert_eq!((res.code, res.body.as_str()), (200, body), "{}", res.head);
    let mutual = res.last_headers("www-authenticate");
    assert!(
        mutual.len() == 1 && mutual[0].starts_with("Negotiate ") && mutual[0].len() > 20,
        "no mutual-authentication token: {}",
        res.head
    );
    res.last_headers("set-cookie")
        .first()
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {}", res.head))
        .to_owned()
}

#[test]
fn a_login_through_nginx_reaches_the_application_as_alice_and_the_cookie_comes_back() {
    let (nginx, seen) = setup();
    let res = curl(&nginx.url("/app/page"), &["--negotiate", "-u", ":"]);
    let pair = logged_in(&res, "/app/page user=alice@EXAMPLE.TEST");
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

/// An endpoint whose `/app/admin` is bob's only.
fn bobs_admin_pages() -> ForwardAuth {
    ForwardAuth::new().require("/app/admin", Require::principals(["bob@EXAMPLE.TEST"]))
}

/// `Authorization: Negotiate …` with a fresh token of bob's.
fn bob_header() -> String {
    let token = Negotiation::start(&common::bob_ccache(), "HTTP@localhost").expect("bob's token");
    format!("Authorization: {}", token.header())
}

/// Route rules behind `proxy_url` (nginx's or Caddy's): alice is refused every spelling of
/// `/app/admin`, also when she sends her own `X-Forwarded-Uri`, and gets elsewhere; bob gets
/// in; nothing refused reaches the application.
fn route_rules_hold_behind(proxy_url: impl Fn(&str) -> String, seen: &Seen) {
    let alice = ["--negotiate", "-u", ":", "--path-as-is"];
    for path in [
        "/app/admin",
        "/app/admin/users?x=1",
        "/app/ADMIN",
        "/app/%61dmin",
        "/app/x/../admin",
        "/app//admin",
        "/app/admin;x=1",
    ] {
        let res = curl(&proxy_url(path), &alice);
        assert_eq!(res.code, 403, "{path}: {}", res.head);
    }
    // A client's own X-Forwarded-Uri is replaced by the proxy's.
    let mut spoofing = alice.to_vec();
    spoofing.extend(["-H", "X-Forwarded-Uri: /app/public"]);
    let res = curl(&proxy_url("/app/admin/spoofed"), &spoofing);
    assert_eq!(res.code, 403, "{}", res.head);
    let res = curl(&proxy_url("/app/public"), &alice);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/public user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    let res = curl(&proxy_url("/app/admin/page"), &["-H", &bob_header()]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/admin/page user=bob@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    let reached_admin: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.to_ascii_lowercase().contains("admin"))
        .cloned()
        .collect();
    assert_eq!(reached_admin, ["/app/admin/page user=bob@EXAMPLE.TEST"]);
}

#[test]
fn route_rules_apply_to_the_original_request_behind_nginx() {
    let (endpoint, upstream, seen) = servers_with(bobs_admin_pages());
    let nginx = Nginx::start(realm().dir(), &guide_server_block(), endpoint, upstream);
    route_rules_hold_behind(|path| nginx.url(path), &seen);
}

#[test]
fn route_rules_apply_to_the_original_request_behind_caddy() {
    let (endpoint, upstream, seen) = servers_with(bobs_admin_pages());
    let caddy = Caddy::start(realm().dir(), &guide_caddy_site(), endpoint, upstream);
    route_rules_hold_behind(|path| caddy.url(path), &seen);
}

/// The guide's block with its HTTPS and HTTP/2 `listen` lines: curl `--http2 --negotiate`
/// logs in over h2 through nginx, with the mutual-authentication token and the session cookie
/// coming back on h2, the cookie alone getting in, and the challenge without a ticket.
#[test]
fn through_nginx_over_http2_a_login_the_cookie_and_the_challenge_work() {
    let (endpoint, upstream, seen) = servers();
    let (cert, key) = common::tls_cert();
    let block = guide_tls_server_block(&cert, &key);
    let nginx = Nginx::start(realm().dir(), &block, endpoint, upstream);
    let h2 = |path: &str, args: &[&str]| curl_h2(&nginx.https_url(path), args);
    let res = h2("/app/h2", &["--negotiate", "-u", ":"]);
    let pair = logged_in(&res, "/app/h2 user=alice@EXAMPLE.TEST");
    let res = h2("/app/h2-cookie", &["-b", &pair]);
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/h2-cookie user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    let res = h2("/app/h2-private", &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(res.last_headers("www-authenticate"), ["Negotiate"]);
    assert!(reached(&seen, "/app/h2-private").is_empty());
}

/// curl `--http2` with the test certificate trusted; every response must be h2.
fn curl_h2(url: &str, args: &[&str]) -> common::Exchange {
    let (cert, _) = common::tls_cert();
    let mut all = vec!["--http2", "--cacert", cert.to_str().expect("path")];
    all.extend_from_slice(args);
    let res = curl(url, &all);
    let lines = res.status_lines();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.starts_with("HTTP/2 ")),
        "{url}: not h2: {lines:?}"
    );
    res
}

/// The guide's Caddy site with its HTTPS lines: curl `--http2 --negotiate` logs in over h2
/// through Caddy; the challenge and a refused token come back on h2.
#[test]
fn through_caddy_over_http2_a_login_passes_and_refusals_come_back() {
    let (endpoint, upstream, seen) = servers();
    let (cert, key) = common::tls_cert();
    let site = guide_tls_caddy_site(&cert, &key);
    let caddy = Caddy::start(realm().dir(), &site, endpoint, upstream);
    let res = curl_h2(
        &caddy.https_url("/app/caddy-h2"),
        &["--negotiate", "-u", ":"],
    );
    assert_eq!(
        (res.code, res.body.as_str()),
        (200, "/app/caddy-h2 user=alice@EXAMPLE.TEST"),
        "{}",
        res.head
    );
    let res = curl_h2(&caddy.https_url("/app/caddy-h2-private"), &[]);
    assert_eq!(res.code, 401, "{}", res.head);
    assert_eq!(res.last_headers("www-authenticate"), ["Negotiate"]);
    let res = curl_h2(
        &caddy.https_url("/app/caddy-h2-garbage"),
        &["-H", "Authorization: Negotiate AAAAAAAAAAAAAAAA"],
    );
    assert_eq!(res.code, 403, "{}", res.head);
    for path in ["/app/caddy-h2-private", "/app/caddy-h2-garbage"] {
        assert!(
            reached(&seen, path).is_empty(),
            "{path} reached the application"
        );
    }
}
