//! Against a real Active Directory DC (Samba, started by `actix-gssapi-testing`): the groups in
//! an AD ticket's PAC reach handlers through `KerberosIdentity::pac()`, nested groups
//! included, as the DC itself computes them; a user in 400 groups (a ~6 KB token) logs in
//! over a real connection; `Require` admits by group SID; `examples/active_directory` works
//! with curl.

mod common;

use actix_gssapi::{ErrorKind, KerberosIdentity, ServicePrincipal, Sid, SpnegoAuth, Target};
use actix_gssapi_testing::{shared_domain, Negotiation, TestDomain, MANY_GROUPS};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpResponse};

fn domain() -> &'static TestDomain {
    common::capture_logs();
    shared_domain()
}

fn token(user: &str) -> Negotiation {
    let ccache = domain().kinit(user).expect("kinit");
    Negotiation::start(&ccache, "HTTP@localhost").expect("token")
}

/// The principal, then the user's SID, then every group SID, one per line.
async fn groups(id: KerberosIdentity) -> HttpResponse {
    let Some(pac) = id.pac() else {
        return HttpResponse::Ok().body(format!("{}\nno PAC", id.principal()));
    };
    let mut body = format!("{}\n{}\n", id.principal(), pac.user_sid());
    for sid in pac.group_sids() {
        body.push_str(&format!("{sid}\n"));
    }
    HttpResponse::Ok().body(body)
}

fn sid(name: &str) -> String {
    domain().sid(name).expect("sid")
}

#[actix_web::test]
async fn an_ad_ticket_brings_its_groups_nested_ones_included() {
    domain();
    let app = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(groups)),
    )
    .await;
    let client = token("alice");
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "alice@AD.TEST");
    assert_eq!(lines[1], sid("alice"));
    let groups = &lines[2..];
    // g1, g2 and g3 (global), glocal (domain local), guniv (universal), gnest (through g1),
    // and Domain Users (the primary group).
    for group in ["g1", "g2", "g3", "glocal", "guniv", "gnest", "Domain Users"] {
        assert!(
            groups.contains(&sid(group).as_str()),
            "{group} ({}) missing from {groups:?}",
            sid(group)
        );
    }
    // Nothing alice is not in.
    for group in ["mg001", "Domain Admins"] {
        assert!(
            !groups.contains(&sid(group).as_str()),
            "{group} in {groups:?}"
        );
    }
    assert!(groups.iter().all(|g| g.parse::<Sid>().is_ok()));

    // bob is in g3 only.
    let client = token("bob");
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    let body = test::call_and_read_body(&app, req).await;
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.starts_with("bob@AD.TEST\n"), "{body}");
    assert!(body.contains(&sid("g3")));
    assert!(!body.contains(&format!("{}\n", sid("g1"))));
}

/// A user in 400 groups: a ~6 KB token in a real HTTP request, every group decoded.
#[::core::prelude::v1::test]
fn a_user_in_400_groups_logs_in_over_a_real_connection() {
    domain();
    let addr = common::spawn_server(|| {
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(groups))
    });
    let client = token("manygroups");
    assert!(
        client.header().len() > 5_000,
        "token of {} bytes",
        client.header().len()
    );
    let authorization = format!("Authorization: {}", client.header());
    let (status, body) = common::raw_get(addr, "/", &[&authorization]);
    assert_eq!(status, 200, "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "manygroups@AD.TEST");
    assert_eq!(lines[1], sid("manygroups"));
    // Its own groups, Domain Users, and the asserted-identity SID (S-1-18-1).
    assert_eq!(lines.len() - 2, MANY_GROUPS + 2, "{:?}", &lines[..5]);
    for group in ["mg001", "mg200", "mg400"] {
        assert!(lines.contains(&sid(group).as_str()), "{group}");
    }
}

/// Per-scope authorization on AD groups: by any of, all of, and through a nested group; no
/// login is 401, a refused login 403, and the handler runs only when allowed.
#[actix_web::test]
async fn require_admits_by_group_sid() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // The domain's environment before the first GSSAPI call, also when this test runs alone.
    domain();
    let g = |name: &str| -> Sid { sid(name).parse().unwrap() };
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |calls: &Arc<AtomicUsize>| common::counting_route(calls, "in");
    let app = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .service(
                web::scope("/g1")
                    .wrap(actix_gssapi::Require::any_group([g("g1"), g("mg001")]))
                    .default_service(counted(&calls)),
            )
            .service(
                web::scope("/both")
                    .wrap(actix_gssapi::Require::all_groups([g("g1"), g("g3")]))
                    .default_service(counted(&calls)),
            )
            .service(
                web::scope("/nested")
                    .wrap(actix_gssapi::Require::any_group([g("gnest")]))
                    .default_service(counted(&calls)),
            ),
    )
    .await;
    let get = |path: &str, user: Option<&str>| {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(user) = user {
            req = req.insert_header((header::AUTHORIZATION, token(user).header().to_owned()));
        }
        req.to_request()
    };
    for (path, user, status) in [
        ("/g1/", Some("alice"), 200),
        ("/g1/", Some("bob"), 403),
        ("/g1/", Some("manygroups"), 200),
        ("/g1/", None, 401),
        ("/both/", Some("alice"), 200),
        ("/both/", Some("bob"), 403),
        ("/nested/", Some("alice"), 200),
        ("/nested/", Some("bob"), 403),
    ] {
        let res = test::call_service(&app, get(path, user)).await;
        assert_eq!(res.status().as_u16(), status, "{path} as {user:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "the handler ran only when allowed"
    );
    assert!(
        common::logged(&["bob@AD.TEST refused by the authorization rule", "member of"]),
        "{:?}",
        common::logs()
    );
}

/// `examples/active_directory` as users run it, with curl as the client.
#[::core::prelude::v1::test]
fn the_active_directory_example_lists_groups_and_guards_admin() {
    let domain = domain();
    let port = common::free_port();
    let mut env = domain.env();
    env.push(("SPNEGO_HOSTNAME", "localhost".into()));
    env.push(("ADMIN_GROUP_SID", sid("g2").into()));
    let _server = common::start_example("active_directory", port, &env);
    let url = |path: &str| format!("http://localhost:{port}{path}");
    let as_user = |user: &str| {
        let mut env = env.clone();
        env.retain(|(k, _)| *k != "KRB5CCNAME");
        let ccache = domain.kinit(user).unwrap();
        env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
        env
    };
    let alice = as_user("alice");
    let (code, body) = common::curl(&["--negotiate", "-u", ":", &url("/")], &alice);
    assert_eq!(code, 200, "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "alice@AD.TEST");
    assert!(lines.contains(&sid("g2").as_str()), "{body}");
    let bob = as_user("bob");
    for path in ["/admin", "/admin/"] {
        let (code, body) = common::curl(&["--negotiate", "-u", ":", &url(path)], &alice);
        assert_eq!(
            (code, body.as_str()),
            (200, "Welcome to the admin area, alice@AD.TEST\n"),
            "{path}"
        );
        let (code, _) = common::curl(&["--negotiate", "-u", ":", &url(path)], &bob);
        assert_eq!(code, 403, "{path}");
        let (code, _) = common::curl(&[&url(path)], &bob);
        assert_eq!(code, 401, "{path}");
    }
}

/// Constrained delegation (S4U2Proxy): alice forwards nothing, yet the handler gets a
/// credential as alice that reaches the back-end AD allows (`HTTP/backend.ad.test`) and no
/// other service; without the option there is none.
#[actix_web::test]
async fn constrained_delegation_reaches_only_the_allowed_back_end() {
    domain();
    let handler = |id: KerberosIdentity| async move {
        let Some(creds) = id.delegated_credentials().cloned() else {
            return HttpResponse::Ok().body(format!("{} no credential", id.principal()));
        };
        let result = web::block(move || {
            let cache = creds.store_in_memory().expect("store");
            let holder = actix_gssapi_testing::ccache_principal(cache.name()).expect("holder");
            let reach = |service: &str| {
                actix_gssapi_testing::Negotiation::start_from_ccache_name(cache.name(), service)
                    .is_ok()
            };
            format!(
                "{holder} backend={} localhost={}",
                reach("HTTP@backend.ad.test"),
                reach("HTTP@localhost")
            )
        })
        .await
        .unwrap();
        HttpResponse::Ok().body(result)
    };
    let with = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .principal(ServicePrincipal::constrained_delegation("httpsvc@AD.TEST"))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(handler)),
    )
    .await;
    let without = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(handler)),
    )
    .await;
    let get = || {
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, token("alice").header().to_owned()))
            .to_request()
    };
    let body = test::call_and_read_body(&with, get()).await;
    assert_eq!(
        body, "alice@AD.TEST backend=true localhost=false",
        "a proxy credential for the allowed back-end only"
    );
    let body = test::call_and_read_body(&without, get()).await;
    assert_eq!(body, "alice@AD.TEST no credential");
}

/// The domain's environment with alice's ticket as the client's.
fn alice_env(domain: &TestDomain) -> Vec<(&'static str, std::ffi::OsString)> {
    let mut env = domain.env();
    env.retain(|(k, _)| *k != "KRB5CCNAME");
    let ccache = domain.kinit("alice").expect("kinit");
    env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    env
}

/// Outbound calls with constrained delegation: alice forwards nothing; the front (the service
/// account `httpsvc`) calls the back end AD allows it (`HTTP/backend.ad.test`, a real server
/// with its own keytab) as alice, the back end's answer verified; a back end not on the list
/// (`HTTP/localhost`) is refused by the KDC, with `ErrorKind::TargetRefused`.
#[::core::prelude::v1::test]
fn constrained_delegation_calls_the_allowed_back_end_as_the_user() {
    let domain = domain();
    let backend_auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("backend.ad.test"))
        .keytab(domain.backend_keytab().to_str().expect("path"))
        .build()
        .expect("back-end acceptor");
    let backend = common::spawn_server(move || {
        App::new().wrap(backend_auth.clone()).route(
            "/",
            web::get().to(|id: KerberosIdentity| async move {
                format!("backend saw {}", id.principal())
            }),
        )
    });
    let front_auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::constrained_delegation("httpsvc@AD.TEST"))
        .build()
        .expect("front acceptor");
    let front = common::spawn_server(move || {
        App::new().wrap(front_auth.clone()).route(
            "/",
            web::get().to(move |id: KerberosIdentity| async move {
                let refused = match id.negotiate(&Target::http("localhost")).await {
                    Ok(_) => "localhost allowed".to_owned(),
                    Err(e) => format!("{:?}: {e}", e.kind()),
                };
                let call = match id.negotiate(&Target::http("backend.ad.test")).await {
                    Ok(call) => call,
                    Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
                };
                let mut res = awc::Client::new()
                    .get(format!("http://{backend}/"))
                    .insert_header((header::AUTHORIZATION, call.header_value().clone()))
                    .send()
                    .await
                    .expect("the back end answers");
                let body = res.body().await.expect("body");
                let verified = call
                    .verify(res.headers().get(header::WWW_AUTHENTICATE))
                    .await
                    .map_err(|e| e.kind());
                HttpResponse::Ok().body(format!(
                    "{} {} {verified:?}\n{refused}",
                    res.status().as_u16(),
                    String::from_utf8_lossy(&body)
                ))
            }),
        )
    });
    let (code, body) = common::curl(
        &[
            "--negotiate",
            "-u",
            ":",
            &format!("http://localhost:{}/", front.port()),
        ],
        &alice_env(domain),
    );
    let (call, refused) = body.split_once('\n').unwrap_or((&body, ""));
    assert_eq!(
        (code, call),
        (200, "200 backend saw alice@AD.TEST Ok(())"),
        "{body}"
    );
    assert!(
        refused.starts_with(&format!(
            "{:?}: cannot call HTTP@localhost as alice@AD.TEST: the KDC refuses a ticket for it",
            ErrorKind::TargetRefused
        )),
        "{refused}"
    );
}

/// Session cookies on AD: the cookie carries the verified PAC's groups (a 400-group user's
/// fits in a browser's 4 KB), so a group rule gives the cookie the ticket's answer; a cookie
/// whose groups do not meet the rule asks for a ticket (401), and the ticket decides; a ticket
/// beside another user's cookie brings its own groups.
#[actix_web::test]
async fn session_cookies_carry_the_groups_a_rule_asks_for() {
    use actix_gssapi::{Key, Require, SessionCookie};
    domain();
    let g1: Sid = sid("g1").parse().unwrap();
    let app = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .session_cookie(SessionCookie::new(Key::from(&[42; 64])).secure(false))
                    .build()
                    .unwrap(),
            )
            .route("/", web::get().to(groups))
            .service(
                web::scope("/g1")
                    .wrap(Require::any_group([g1]))
                    .route("", web::get().to(groups)),
            ),
    )
    .await;
    let login_at = |path: &str, user: &str, cookie: Option<&str>| {
        let mut req = test::TestRequest::get()
            .uri(path)
            .insert_header((header::AUTHORIZATION, token(user).header().to_owned()));
        if let Some(cookie) = cookie {
            req = req.insert_header((header::COOKIE, cookie.to_owned()));
        }
        req.to_request()
    };
    let login = |user: &str, cookie: Option<&str>| login_at("/", user, cookie);
    let with_cookie = |path: &str, cookie: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header((header::COOKIE, cookie.to_owned()))
            .to_request()
    };

    let res = test::call_service(&app, login("alice", None)).await;
    let (alice, _) = common::session_cookie(&res);
    let by_ticket = test::read_body(res).await;
    // The cookie alone: the same groups, and the g1 route lets alice in.
    let by_cookie = test::call_and_read_body(&app, with_cookie("/", &alice)).await;
    assert_eq!(by_cookie, by_ticket);
    let res = test::call_service(&app, with_cookie("/g1", &alice)).await;
    assert_eq!(res.status(), StatusCode::OK);

    // bob is not in g1: his cookie gets 401 (the ticket decides), his ticket 403.
    let res = test::call_service(&app, login("bob", None)).await;
    let (bob, _) = common::session_cookie(&res);
    let res = test::call_service(&app, with_cookie("/g1", &bob)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        test::call_service(&app, login_at("/g1", "bob", Some(&bob)))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // alice's ticket beside bob's cookie: alice, with her groups.
    let res = test::call_service(&app, login_at("/g1", "alice", Some(&bob))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::SET_COOKIE).is_some());

    // 400 groups: the cookie fits what browsers keep and brings every group.
    let res = test::call_service(&app, login("manygroups", None)).await;
    let (many, len) = common::session_cookie(&res);
    assert!(len <= 4096, "{len} bytes");
    let by_ticket = test::read_body(res).await;
    let by_cookie = test::call_and_read_body(&app, with_cookie("/", &many)).await;
    assert_eq!(by_cookie, by_ticket);
    println!("400-group session cookie: {len} bytes");
}

/// A user in 400 groups through nginx in front of `ForwardAuth`, with the forward-auth guide's
/// `server` block: the 6 KB token and the long `X-Remote-Groups` answer get through with the
/// guide's buffer sizes, and do not with nginx's defaults (the block without them).
#[actix_web::test]
async fn a_user_in_400_groups_gets_through_nginx_with_the_guides_buffers() {
    use actix_gssapi::{Capacity, ForwardAuth};
    use common::nginx::{guide_server_block, Nginx};

    domain();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .capacity(Capacity::new().login_queue_per_peer(None))
        .build()
        .unwrap();
    let endpoint = common::spawn_server(move || {
        App::new().service(ForwardAuth::new().service("/auth", auth.clone()))
    });
    let upstream = common::spawn_server(|| {
        App::new().default_service(web::to(|req: actix_web::HttpRequest| async move {
            let user = req
                .headers()
                .get("x-remote-user")
                .map(|v| v.as_bytes().to_vec());
            let groups = req
                .headers()
                .get("x-remote-groups")
                .map_or(0, |v| v.as_bytes().split(|b| *b == b',').count());
            format!(
                "{} groups={groups}",
                String::from_utf8_lossy(&user.unwrap_or_default())
            )
        }))
    });
    let get = |nginx: &Nginx, user: &str| {
        let authorization = format!("Authorization: {}", token(user).header());
        common::curl(&["-H", &authorization, &nginx.url("/app")], &domain().env())
    };
    let block = guide_server_block();
    let nginx = Nginx::start(domain().dir(), &block, endpoint.port(), upstream.port());
    // alice (a few groups) and the 400-group user, with the guide's settings.
    let (code, body) = get(&nginx, "alice");
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("alice@AD.TEST groups="), "{body}");
    let (code, body) = get(&nginx, "manygroups");
    assert_eq!(
        (code, body.as_str()),
        (
            200,
            format!("manygroups@AD.TEST groups={}", MANY_GROUPS + 2).as_str()
        )
    );
    // nginx's defaults: the same block without the buffer settings.
    let defaults: String = block
        .lines()
        .filter(|l| !l.contains("buffer"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(defaults, block, "the guide's block sets no buffer size");
    let nginx = Nginx::start(domain().dir(), &defaults, endpoint.port(), upstream.port());
    let (code, _) = get(&nginx, "alice");
    assert_eq!(code, 200, "alice needs no larger buffers");
    let (code, body) = get(&nginx, "manygroups");
    eprintln!("manygroups through nginx's default buffers: {code}");
    assert_ne!(code, 200, "{body}");
}

/// `SpnegoAuth` for `HTTP/localhost` with the test domain's LDAP at `url` as its group source,
/// bound by SASL GSSAPI with the process' credentials.
#[cfg(feature = "ldap")]
fn ldap_auth(url: String) -> SpnegoAuth {
    use actix_gssapi::{GroupSource, LdapGroups};
    let source = GroupSource::ldap(
        LdapGroups::active_directory(url, "DC=ad,DC=test").bind_kerberos("dc1.ad.test"),
    );
    SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .groups(source)
        .build()
        .unwrap()
}

/// The LDAP group source against the DC's own LDAP, bound by SASL GSSAPI with the process'
/// Kerberos credentials (in this binary, alice's ticket in `KRB5CCNAME`, which the domain's
/// environment exports: credentials are process-wide, so the test cannot switch them to the
/// keytab with `KRB5_CLIENT_KTNAME` beside the other tests). The groups it finds, with their
/// SIDs, agree with the ticket's PAC; rules by name use them.
#[cfg(feature = "ldap")]
#[actix_web::test]
async fn ldap_groups_agree_with_the_pac_and_rules_match_them_by_name() {
    use actix_gssapi::Require;
    use std::collections::BTreeSet;

    /// The PAC's group SIDs, then `--`, then the source's groups as `name sid`, one per line.
    async fn both(id: KerberosIdentity) -> HttpResponse {
        let mut body = String::new();
        for sid in id.pac().map(|p| p.group_sids()).unwrap_or_default() {
            body.push_str(&format!("{sid}\n"));
        }
        body.push_str("--\n");
        for g in id.groups() {
            let sid = g.sid().map(ToString::to_string).unwrap_or_default();
            body.push_str(&format!("{} {sid}\n", g.name()));
        }
        HttpResponse::Ok().body(body)
    }

    let domain = domain();
    let app = test::init_service(
        App::new()
            .wrap(ldap_auth(domain.ldap_url()))
            .route("/", web::get().to(both))
            .service(
                web::scope("/nest")
                    .wrap(Require::any_group_named(["gnest"]))
                    .route("/", web::get().to(both)),
            )
            .service(
                web::scope("/users")
                    .wrap(Require::any_group_named(["Domain Users"]))
                    .route("/", web::get().to(both)),
            ),
    )
    .await;
    let get = |path: &str, user: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header((header::AUTHORIZATION, token(user).header()))
            .to_request()
    };

    let res = test::call_service(&app, get("/", "alice")).await;
    assert_eq!(res.status(), StatusCode::OK, "{:?}", common::logs());
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    let (pac, ldap) = body.split_once("--\n").unwrap();
    let pac: BTreeSet<&str> = pac.lines().collect();
    let ldap: Vec<(&str, &str)> = ldap.lines().filter_map(|l| l.rsplit_once(' ')).collect();
    // Each group by name, with the SID the directory gives it.
    for name in ["g1", "g2", "g3", "glocal", "guniv", "gnest", "Domain Users"] {
        assert!(
            ldap.contains(&(name, sid(name).as_str())),
            "{name} missing from {ldap:?}"
        );
    }
    let ldap_sids: BTreeSet<&str> = ldap.iter().map(|(_, sid)| *sid).collect();
    // What `a` has and `b` has not, but for the SIDs starting with `except`.
    let apart = |a: &BTreeSet<&str>, b: &BTreeSet<&str>, except: &str| -> Vec<String> {
        a.difference(b)
            .filter(|s| !s.starts_with(except))
            .map(|s| s.to_string())
            .collect()
    };
    // The PAC has what LDAP has, but for the builtin groups (S-1-5-32-..., which a PAC never
    // carries: the server that builds a token adds them) ...
    let only_ldap = apart(&ldap_sids, &pac, "S-1-5-32-");
    assert!(
        only_ldap.is_empty(),
        "in LDAP only: {only_ldap:?}, PAC {pac:?}"
    );
    // ... and LDAP has what the PAC has, but for what the KDC asserts about the login itself
    // (S-1-18-1, "authentication authority asserted identity"), which no directory holds.
    let only_pac = apart(&pac, &ldap_sids, "S-1-18-");
    assert!(
        only_pac.is_empty(),
        "in the PAC only: {only_pac:?}, LDAP {ldap_sids:?}"
    );
    eprintln!("alice: PAC {pac:?}; LDAP {ldap:?}");

    // Rules by name: gnest (through g1) lets alice in, not bob (in g3 only); both are
    // Domain Users (their primary group, which AD gives by primaryGroupID, not by member).
    let status = |res: actix_web::dev::ServiceResponse<_>| res.status();
    assert_eq!(
        status(test::call_service(&app, get("/nest/", "alice")).await),
        StatusCode::OK
    );
    assert_eq!(
        status(test::call_service(&app, get("/nest/", "bob")).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(test::call_service(&app, get("/users/", "bob")).await),
        StatusCode::OK
    );
}

/// The guide's keytab bind as written: `KRB5_CLIENT_KTNAME` at the service's keytab (whose
/// first entry is the account `httpsvc`) and `KRB5CCNAME` at an empty memory cache, in a
/// process of its own (this binary again, running [`ldap_keytab_child`]), since Kerberos
/// credentials are process-wide. The child logs alice in and finds her nested group by LDAP,
/// bound as the service.
#[cfg(feature = "ldap")]
#[::core::prelude::v1::test]
fn ldap_binds_with_the_service_keytab_through_krb5_client_ktname() {
    use std::time::{Duration, Instant};
    let domain = domain();
    let alice = domain.kinit("alice").unwrap();
    let out = domain.dir().join("ldap-child.out");
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ldap_keytab_child", "--ignored", "--nocapture"])
        .envs(domain.env())
        .env("KRB5CCNAME", "MEMORY:ldap")
        .env("KRB5_CLIENT_KTNAME", domain.keytab())
        .env("LDAP_CHILD_URL", domain.ldap_url())
        .env("LDAP_CHILD_ALICE", &alice)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = common::Reaped(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the child did not finish in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "{output}");
    assert!(output.contains("ldap child: gnest found"), "{output}");
}

/// [`ldap_binds_with_the_service_keytab_through_krb5_client_ktname`]'s child: does nothing
/// unless that test started it.
#[cfg(feature = "ldap")]
#[actix_web::test]
#[ignore = "run by ldap_binds_with_the_service_keytab_through_krb5_client_ktname"]
async fn ldap_keytab_child() {
    let (Ok(url), Ok(alice)) = (
        std::env::var("LDAP_CHILD_URL"),
        std::env::var("LDAP_CHILD_ALICE"),
    ) else {
        return;
    };
    let app = test::init_service(App::new().wrap(ldap_auth(url)).route(
        "/",
        web::get().to(|id: KerberosIdentity| async move {
            let names: Vec<String> = id.groups().iter().map(|g| g.name().to_owned()).collect();
            names.join(",")
        }),
    ))
    .await;
    let client = Negotiation::start(std::path::Path::new(&alice), "HTTP@localhost").unwrap();
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(body.split(',').any(|g| g == "gnest"), "{body}");
    println!("ldap child: gnest found in {body}");
}
