//! Calling a back end as the user: a front server (`SpnegoAuth` for `HTTP/localhost`) takes the
//! credentials curl delegates, makes a fresh token for another service with
//! `KerberosIdentity::negotiate`, calls a back end (`SpnegoAuth` for its own principal, its own
//! keytab) with awc, and checks the back end's mutual-authentication answer. Also: the
//! documented error without delegation and for a target the KDC does not know, each outbound
//! token single-use, alice and bob at once never mixed, and forged, missing or replayed answers
//! refused by `verify`. `examples/backend_call` with curl.

use crate::common;

use std::sync::{Arc, Mutex, OnceLock};

use actix_gssapi::{
    ChannelBindings, KerberosIdentity, OutboundOptions, ServicePrincipal, SpnegoAuth, Target,
};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, App, HttpResponse};
use common::realm;

/// The back end's service: its own principal and keytab.
const BACKEND: &str = "outbound-backend.test";

/// The certificate the bound back end's channel bindings are for (as if it served TLS with it,
/// behind a proxy), and another.
const BOUND_CERT: &[u8] = include_bytes!("../data/tls/ecdsa-sha384.der");
const OTHER_CERT: &[u8] = include_bytes!("../data/tls/rsa-sha256.der");

/// A second back end for the same service that requires tokens bound to [`BOUND_CERT`]
/// (`behind_tls_proxy`, so plain HTTP counts as that TLS channel): `/` answers whether the
/// login was channel-bound.
fn bound_backend() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        backend();
        let bindings = ChannelBindings::tls_server_end_point(BOUND_CERT)
            .expect("bindings")
            .behind_tls_proxy()
            .required();
        let auth = SpnegoAuth::builder()
            .principal(ServicePrincipal::host(BACKEND))
            .keytab(backend_keytab().to_str().expect("path"))
            .channel_bindings(bindings)
            .build()
            .expect("bound back-end acceptor");
        common::spawn_server(move || {
            App::new().wrap(auth.clone()).route(
                "/",
                web::get().to(|id: KerberosIdentity| async move {
                    format!("bound={}", id.is_channel_bound())
                }),
            )
        })
    })
}

fn backend_keytab() -> std::path::PathBuf {
    realm().dir().join("outbound-backend.keytab")
}

/// The back end's address, started once: `/whoami` behind `SpnegoAuth`; `/missing`,
/// `/forged` and `/replayed` open, answering with no, a forged, or an earlier exchange's
/// mutual-authentication token.
fn backend() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let keytab = backend_keytab();
        realm()
            .add_service(&format!("HTTP/{BACKEND}"), &keytab)
            .expect("back-end principal");
        let auth = SpnegoAuth::builder()
            .principal(ServicePrincipal::host(BACKEND))
            .keytab(keytab.to_str().expect("path"))
            .build()
            .expect("back-end acceptor");
        let last_answer: Arc<Mutex<Option<HeaderValue>>> = Arc::default();
        common::spawn_server(move || {
            let keep = Arc::clone(&last_answer);
            let replay = Arc::clone(&last_answer);
            App::new()
                .service(
                    web::resource("/whoami")
                        .wrap(auth.clone())
                        .wrap(actix_web::middleware::from_fn(
                            move |req, next: actix_web::middleware::Next<_>| {
                                let keep = Arc::clone(&keep);
                                async move {
                                    let res = next.call(req).await?;
                                    if let Some(v) = res.headers().get(header::WWW_AUTHENTICATE) {
                                        *keep.lock().unwrap() = Some(v.clone());
                                    }
                                    Ok::<_, actix_web::Error>(res)
                                }
                            },
                        ))
                        .to(|id: KerberosIdentity| async move {
                            format!("backend saw {}", id.principal())
                        }),
                )
                .route(
                    "/missing",
                    web::get().to(|| async { "an answer without a token" }),
                )
                .route(
                    "/forged",
                    web::get().to(|| async {
                        // A SPNEGO NegTokenResp saying accept-completed, with no Kerberos
                        // answer inside: what a server that cannot decrypt anything could send.
                        HttpResponse::Ok()
                            .insert_header((
                                header::WWW_AUTHENTICATE,
                                "Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==",
                            ))
                            .body("forged")
                    }),
                )
                .route(
                    "/replayed",
                    web::get().to(move || {
                        let answer = replay.lock().unwrap().clone();
                        async move {
                            let mut res = HttpResponse::Ok();
                            if let Some(answer) = answer {
                                res.insert_header((header::WWW_AUTHENTICATE, answer));
                            }
                            res.body("an earlier exchange's answer")
                        }
                    }),
                )
        })
    })
}

/// What the front does for `/call/{path}`: a token for `target`, the back end's `path` with
/// it, the answer verified; the body, or `502` with the error's kind and message.
async fn call(id: &KerberosIdentity, target: &Target, path: &str) -> Result<String, String> {
    let negotiation = id
        .negotiate(target)
        .await
        .map_err(|e| format!("{:?}: {e}", e.kind()))?;
    let url = format!("http://{}{path}", backend());
    let mut res = awc::Client::new()
        .get(&url)
        .insert_header((header::AUTHORIZATION, negotiation.header_value().clone()))
        .send()
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = res.status();
    let body = res.body().await.map_err(|e| format!("HTTP: {e}"))?;
    negotiation
        .verify(res.headers().get(header::WWW_AUTHENTICATE))
        .await
        .map_err(|e| format!("{:?} ({status}): {e}", e.kind()))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The front server's address: `/call/{path}` calls the back end's `/{path}` as the user
/// (`/call-unknown/...` with a target the KDC does not know), `/twice` sends one outbound
/// token twice, `/pair` waits for a second request before calling.
fn front() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        backend();
        let auth = SpnegoAuth::builder()
            .principal(ServicePrincipal::host("localhost"))
            .build()
            .expect("front acceptor");
        let pair = Arc::new(tokio::sync::Barrier::new(2));
        common::spawn_server(move || {
            let pair = Arc::clone(&pair);
            App::new()
                .wrap(auth.clone())
                .route(
                    "/call/{path}",
                    web::get().to(|id: KerberosIdentity, path: web::Path<String>| async move {
                        answer(call(&id, &Target::http(BACKEND), &format!("/{path}")).await)
                    }),
                )
                .route(
                    "/call-unknown",
                    web::get().to(|id: KerberosIdentity| async move {
                        answer(call(&id, &Target::http("nobody.test"), "/whoami").await)
                    }),
                )
                .route("/twice", web::get().to(twice))
                .route("/after-expiry", web::get().to(after_expiry))
                .route("/bound/{cert}", web::get().to(bound))
                .route(
                    "/pair",
                    web::get().to(move |id: KerberosIdentity| {
                        let pair = Arc::clone(&pair);
                        async move {
                            // Both users' credentials are live before either calls.
                            tokio::time::timeout(std::time::Duration::from_secs(10), pair.wait())
                                .await
                                .expect("the other request of the pair");
                            answer(call(&id, &Target::http(BACKEND), "/whoami").await)
                        }
                    }),
                )
        })
    })
}

fn answer(result: Result<String, String>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().body(body),
        Err(why) => HttpResponse::BadGateway().body(why),
    }
}

/// A token bound to the certificate `cert` (`bound`, `other`, `none`) for the bound back end:
/// its status and body.
async fn bound(id: KerberosIdentity, cert: web::Path<String>) -> HttpResponse {
    let options = match cert.as_str() {
        "bound" => OutboundOptions::new()
            .channel_bindings(ChannelBindings::tls_server_end_point(BOUND_CERT).unwrap()),
        "other" => OutboundOptions::new()
            .channel_bindings(ChannelBindings::tls_server_end_point(OTHER_CERT).unwrap()),
        _ => OutboundOptions::new(),
    };
    let creds = id.delegated_credentials().expect("delegated");
    let negotiation = match creds.negotiate_with(&Target::http(BACKEND), options).await {
        Ok(n) => n,
        Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
    };
    let res = awc::Client::new()
        .get(format!("http://{}/", bound_backend()))
        .insert_header((header::AUTHORIZATION, negotiation.header_value().clone()))
        .send()
        .await;
    match res {
        Ok(mut res) => {
            let body = res.body().await.unwrap_or_default();
            let verified = negotiation
                .verify(res.headers().get(header::WWW_AUTHENTICATE))
                .await
                .is_ok();
            HttpResponse::Ok().body(format!(
                "{} {} verified={verified}",
                res.status().as_u16(),
                String::from_utf8_lossy(&body)
            ))
        }
        Err(e) => HttpResponse::BadGateway().body(e.to_string()),
    }
}

/// Waits until the delegated credentials have expired (at most 15 s), then calls.
async fn after_expiry(id: KerberosIdentity) -> HttpResponse {
    let left = id
        .delegated_credentials()
        .and_then(|c| c.lifetime())
        .unwrap_or_default();
    if left > std::time::Duration::from_secs(15) {
        return HttpResponse::BadRequest().body(format!("a ticket for {left:?}"));
    }
    tokio::time::sleep(left + std::time::Duration::from_secs(1)).await;
    answer(call(&id, &Target::http(BACKEND), "/whoami").await)
}

/// One outbound token sent to the back end twice: the statuses.
async fn twice(id: KerberosIdentity) -> HttpResponse {
    let negotiation = match id.negotiate(&Target::http(BACKEND)).await {
        Ok(n) => n,
        Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
    };
    let url = format!("http://{}/whoami", backend());
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let res = awc::Client::new()
            .get(&url)
            .insert_header((header::AUTHORIZATION, negotiation.header_value().clone()))
            .send()
            .await;
        statuses.push(res.map_or(0, |r| r.status().as_u16()).to_string());
    }
    HttpResponse::Ok().body(statuses.join(" "))
}

/// curl `--negotiate` against the front's `path` as the user of `ccache`, delegating or not.
fn curl_front(path: &str, ccache: Option<&std::path::Path>, delegate: bool) -> (u16, String) {
    let url = format!("http://localhost:{}{path}", front().port());
    let mut args = vec!["--negotiate", "-u", ":"];
    if delegate {
        args.extend(["--delegation", "always"]);
    }
    args.push(&url);
    let mut env = realm().env();
    if let Some(ccache) = ccache {
        env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    }
    common::curl(&args, &env)
}

#[test]
fn a_delegated_login_calls_the_back_end_as_the_user_with_mutual_authentication() {
    let (status, body) = curl_front("/call/whoami", None, true);
    assert_eq!(
        (status, body.as_str()),
        (200, "backend saw alice@EXAMPLE.TEST")
    );
}

#[test]
fn without_delegation_the_call_fails_saying_so() {
    let (status, body) = curl_front("/call/whoami", None, false);
    assert_eq!(status, 502, "{body}");
    assert!(
        body.starts_with(
            "NoDelegatedCredentials: cannot call HTTP@outbound-backend.test as \
             alice@EXAMPLE.TEST: the client delegated none"
        ),
        "{body}"
    );
}

#[test]
fn a_target_the_kdc_does_not_know_is_refused_naming_it() {
    let (status, body) = curl_front("/call-unknown", None, true);
    assert_eq!(status, 502, "{body}");
    assert!(
        body.starts_with(
            "TargetRefused: cannot call HTTP@nobody.test as alice@EXAMPLE.TEST: the KDC \
             refuses a ticket for it"
        ),
        "{body}"
    );
    assert!(!body.contains("Negotiate "), "no token in an error: {body}");
}

#[test]
fn an_outbound_token_is_single_use() {
    let (status, body) = curl_front("/twice", None, true);
    assert_eq!((status, body.as_str()), (200, "200 403"));
}

#[test]
fn answers_that_do_not_prove_the_back_end_are_refused() {
    // A real exchange first, so that /replayed has an answer of another exchange to send.
    assert_eq!(curl_front("/call/whoami", None, true).0, 200);
    for (path, why) in [
        ("/call/missing", "it has no WWW-Authenticate header"),
        ("/call/forged", ""),
        ("/call/replayed", ""),
    ] {
        let (status, body) = curl_front(path, None, true);
        assert_eq!(status, 502, "{path}: {body}");
        assert!(
            body.starts_with(
                "MutualAuthentication (200 OK): the answer of HTTP@outbound-backend.test does \
                 not authenticate it: "
            ) && body.contains(why),
            "{path}: {body}"
        );
    }
}

/// alice and bob call through the front at the same moment (each request waits for the
/// other before calling), four times: the back end sees each as themselves.
#[test]
fn concurrent_users_never_see_each_other_at_the_back_end() {
    let bob = common::bob_ccache();
    for round in 0..4 {
        let bob = bob.clone();
        let alice = std::thread::spawn(|| curl_front("/pair", None, true));
        let bob = std::thread::spawn(move || curl_front("/pair", Some(&bob), true));
        let (alice, bob) = (alice.join().unwrap(), bob.join().unwrap());
        assert_eq!(
            (alice.0, alice.1.as_str()),
            (200, "backend saw alice@EXAMPLE.TEST"),
            "round {round}"
        );
        assert_eq!(
            (bob.0, bob.1.as_str()),
            (200, "backend saw bob@EXAMPLE.TEST"),
            "round {round}"
        );
    }
}

/// The test process's default credentials (`KRB5CCNAME`) are alice's: bob's call must still go
/// out as bob. (It did not, at first: MIT's SPNEGO took the process's default credentials
/// instead of a delegated handle's, `acceptor::initiate`.)
#[test]
fn the_call_goes_out_as_the_delegating_user_not_the_process_default() {
    let (status, body) = curl_front("/call/whoami", Some(&common::bob_ccache()), true);
    assert_eq!(
        (status, body.as_str()),
        (200, "backend saw bob@EXAMPLE.TEST")
    );
}

/// `examples/backend_call ADDR` with `BACKEND_URL` and `BACKEND_SERVICE`: curl delegating gets
/// the back end's answer as alice; without delegation `403`, without a ticket `401`; a back
/// end whose answer proves nothing `502`.
#[test]
fn the_example_calls_the_back_end_as_the_user() {
    let start = |path: &str| {
        let port = common::free_port();
        let mut env = common::env_for_localhost();
        env.push(("BACKEND_URL", format!("http://{}{path}", backend()).into()));
        env.push(("BACKEND_SERVICE", format!("HTTP@{BACKEND}").into()));
        (common::start_example("backend_call", port, &env), port)
    };
    let env = realm().env();
    let delegating = |url: &str| {
        let args = ["--negotiate", "-u", ":", "--delegation", "always", url];
        common::curl(&args, &env)
    };
    let (_example, port) = start("/whoami");
    let url = format!("http://localhost:{port}/");
    assert_eq!(
        delegating(&url),
        (200, "backend saw alice@EXAMPLE.TEST".to_owned())
    );
    assert_eq!(common::curl(&["--negotiate", "-u", ":", &url], &env).0, 403);
    assert_eq!(common::curl(&[url.as_str()], &env).0, 401);

    let (_forged, port) = start("/forged");
    assert_eq!(
        delegating(&format!("http://localhost:{port}/")),
        (502, "the back end did not prove who it is\n".to_owned())
    );
}

/// Outbound tokens bound to the back end's certificate (RFC 5929): the back end that requires
/// bindings sees a channel-bound login; bound to another certificate, or unbound, `403`.
#[test]
fn channel_bindings_bind_the_outbound_token_to_the_back_end_s_certificate() {
    let (status, body) = curl_front("/bound/bound", None, true);
    assert_eq!(
        (status, body.as_str()),
        (200, "200 bound=true verified=true")
    );
    for cert in ["other", "none"] {
        let (status, body) = curl_front(&format!("/bound/{cert}"), None, true);
        assert_eq!(
            (status, body.as_str()),
            (200, "403 Forbidden verified=false"),
            "{cert}"
        );
    }
}

/// carol's ticket lives 4 s: a call made after her delegated credentials expired fails with
/// `CredentialsExpired`, naming her.
#[test]
fn expired_credentials_fail_saying_so() {
    realm().add_user("carol", "carol-password").expect("carol");
    let ccache = realm()
        .kinit("carol", "carol-password", &["-l", "4s"])
        .expect("carol's short ticket");
    let (status, body) = curl_front("/after-expiry", Some(&ccache), true);
    assert_eq!(status, 502, "{body}");
    assert!(
        body.starts_with(
            "CredentialsExpired: cannot call HTTP@outbound-backend.test as carol@EXAMPLE.TEST"
        ),
        "{body}"
    );
}
