//! Groups for tickets that carry none (MIT tickets have no PAC), from a `GroupSource`: the
//! host's name service here, end to end through a real login, a group rule and a session
//! cookie.

use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;

use actix_gssapi::{
    GroupSource, KerberosIdentity, Key, Require, ServicePrincipal, SessionCookie, SpnegoAuth,
};
use actix_gssapi_testing::{id_groups, Negotiation};
use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, web, App};
use common::{alice_token, realm};

/// The host's own account `daemon` (every Debian machine has it) as a principal of the test
/// realm: MIT's default `auth_to_local` rule maps `daemon@EXAMPLE.TEST` to `daemon`.
fn daemon_ccache() -> &'static PathBuf {
    static CCACHE: OnceLock<PathBuf> = OnceLock::new();
    CCACHE.get_or_init(|| {
        let realm = realm();
        realm.add_user("daemon", "a-password").ok();
        realm.kinit("daemon", "a-password", &[]).unwrap()
    })
}

fn daemon_token() -> String {
    Negotiation::start(daemon_ccache(), "HTTP@localhost")
        .unwrap()
        .header()
        .to_owned()
}

async fn list(id: KerberosIdentity) -> String {
    let mut names: Vec<&str> = id.groups().iter().map(|g| g.name()).collect();
    names.sort_unstable();
    format!(
        "{} session={} local={:?} groups={}",
        id.principal(),
        id.is_from_session_cookie(),
        id.local_name(),
        names.join(",")
    )
}

fn request(path: &str, header: (header::HeaderName, &str)) -> actix_http::Request {
    atest::TestRequest::get()
        .uri(path)
        .insert_header(header)
        .to_request()
}

#[actix_web::test]
async fn the_name_service_gives_groups_that_rules_and_cookies_use() {
    realm();
    let expected = id_groups("daemon").unwrap();
    assert!(!expected.is_empty());
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .groups(GroupSource::name_service())
        .session_cookie(SessionCookie::new(Key::from(&[9; 64])).secure(false))
        .build()
        .unwrap();
    let app = atest::init_service(
        App::new()
            .wrap(auth)
            .route("/", web::get().to(list))
            .service(
                web::scope("/ops")
                    .wrap(Require::any_group_named([expected[0].as_str()]))
                    .route("/", web::get().to(list)),
            ),
    )
    .await;

    // daemon: the host's groups, as `id` lists them; the local name was asked for the lookup
    // only (map_local_names is off), so the identity does not show it.
    let res = atest::call_service(
        &app,
        request("/ops/", (header::AUTHORIZATION, &daemon_token())),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (cookie, _) = common::session_cookie(&res);
    let body = atest::read_body(res).await;
    assert_eq!(
        body,
        format!(
            "daemon@EXAMPLE.TEST session=false local=None groups={}",
            expected.join(",")
        )
    );

    // The cookie carries them: the group rule admits the cookie alone.
    let res = atest::call_service(&app, request("/ops/", (header::COOKIE, &cookie))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        atest::read_body(res).await,
        format!(
            "daemon@EXAMPLE.TEST session=true local=None groups={}",
            expected.join(",")
        )
    );

    // alice has no account on this host: no groups, refused by the rule with 403, let in
    // where no rule asks.
    let alice = alice_token();
    let res =
        atest::call_service(&app, request("/", (header::AUTHORIZATION, alice.header()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (alice_cookie, _) = common::session_cookie(&res);
    assert_eq!(
        atest::read_body(res).await,
        "alice@EXAMPLE.TEST session=false local=None groups="
    );
    let res = atest::call_service(
        &app,
        request("/ops/", (header::AUTHORIZATION, alice_token().header())),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        common::logged(&["alice@EXAMPLE.TEST", "member of any of the groups named"]),
        "{:?}",
        common::logs()
    );
    // Her cookie refused by the rule: 401, so that a ticket decides.
    let res = atest::call_service(&app, request("/ops/", (header::COOKIE, &alice_cookie))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// With `map_local_names` on, the identity shows the name the lookup used.
#[actix_web::test]
async fn the_local_name_shows_when_names_are_mapped() {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .groups(GroupSource::name_service())
        .map_local_names()
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route("/", web::get().to(list))).await;
    let res =
        atest::call_service(&app, request("/", (header::AUTHORIZATION, &daemon_token()))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        atest::read_body(res).await,
        format!(
            "daemon@EXAMPLE.TEST session=false local=Some(\"daemon\") groups={}",
            id_groups("daemon").unwrap().join(",")
        )
    );
}

/// The LDAP source against a real OpenLDAP (`TestSlapd`): nested groups, rules by name, the
/// session cookie, outages, the cache's TTL.
#[cfg(feature = "ldap")]
mod ldap {
    use super::*;

    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use actix_gssapi::LdapGroups;
    use actix_gssapi_testing::TestSlapd;

    type Body = actix_web::body::EitherBody<actix_web::body::BoxBody>;

    /// `user`'s ticket (created with its password once per process), and a fresh token.
    fn token(user: &str) -> String {
        static CCACHES: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
        let ccache = {
            let mut made = CCACHES.lock().unwrap();
            match made.iter().find(|(u, _)| u == user) {
                Some((_, c)) => c.clone(),
                None => {
                    let realm = realm();
                    let c = match user {
                        "alice" => realm.alice_ccache(),
                        "bob" => common::bob_ccache(),
                        _ => {
                            let password = format!("{user}-password");
                            realm.add_user(user, &password).unwrap();
                            realm.kinit(user, &password, &[]).unwrap()
                        }
                    };
                    made.push((user.to_owned(), c.clone()));
                    c
                }
            }
        };
        Negotiation::start(&ccache, "HTTP@localhost")
            .unwrap()
            .header()
            .to_owned()
    }

    fn config(slapd: &TestSlapd) -> LdapGroups {
        LdapGroups::new(slapd.url(), slapd.base_dn())
            .bind_simple(slapd.reader_dn(), slapd.reader_password())
    }

    /// A server with `groups`, where `/` lists the identity's groups and `/eng/` asks for the
    /// group `engineering`.
    async fn app(
        groups: GroupSource,
    ) -> impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<Body>,
        Error = actix_web::Error,
    > {
        let auth = SpnegoAuth::builder()
            .principal(ServicePrincipal::host("localhost"))
            .groups(groups)
            .session_cookie(SessionCookie::new(Key::from(&[9; 64])).secure(false))
            .build()
            .unwrap();
        atest::init_service(
            App::new()
                .wrap(auth)
                .route("/", web::get().to(list))
                .service(
                    web::scope("/eng")
                        .wrap(Require::any_group_named(["engineering"]))
                        .route("/", web::get().to(list)),
                ),
        )
        .await
    }

    async fn get(
        app: &impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<Body>,
            Error = actix_web::Error,
        >,
        path: &str,
        user: &str,
    ) -> (StatusCode, String) {
        let res =
            atest::call_service(app, request(path, (header::AUTHORIZATION, &token(user)))).await;
        let status = res.status();
        (
            status,
            String::from_utf8_lossy(&atest::read_body(res).await).into_owned(),
        )
    }

    #[actix_web::test]
    async fn ldap_groups_are_nested_ruled_by_name_and_carried_by_the_cookie() {
        realm();
        let slapd = TestSlapd::start().unwrap();
        let app = app(GroupSource::ldap(config(&slapd))).await;

        // alice: staff, and engineering through staff.
        let res = atest::call_service(
            &app,
            request("/eng/", (header::AUTHORIZATION, &token("alice"))),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let (cookie, _) = common::session_cookie(&res);
        assert_eq!(
            atest::read_body(res).await,
            "alice@EXAMPLE.TEST session=false local=None groups=engineering,staff"
        );
        // The cookie alone carries them past the rule.
        let res = atest::call_service(&app, request("/eng/", (header::COOKIE, &cookie))).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            atest::read_body(res).await,
            "alice@EXAMPLE.TEST session=true local=None groups=engineering,staff"
        );

        // bob: in no group, refused by the rule.
        assert_eq!(get(&app, "/eng/", "bob").await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, "/", "bob").await,
            (
                StatusCode::OK,
                "bob@EXAMPLE.TEST session=false local=None groups=".to_owned()
            )
        );
        // erin: admins, and two groups members of each other, each once.
        assert_eq!(
            get(&app, "/", "erin").await.1,
            "erin@EXAMPLE.TEST session=false local=None groups=admins,loop-a,loop-b"
        );
        // A principal whose name is a filter pattern matches only itself: `al*` is not alice.
        assert_eq!(
            get(&app, "/", "al*").await,
            (
                StatusCode::OK,
                "al*@EXAMPLE.TEST session=false local=None groups=".to_owned()
            )
        );
    }

    #[actix_web::test]
    async fn ldap_down_or_hung_is_503_and_logins_come_back_without_a_restart() {
        realm();
        let mut slapd = TestSlapd::start().unwrap();
        let timeout = Duration::from_secs(1);
        let app =
            app(GroupSource::ldap(config(&slapd).timeout(timeout)).cache_for(Duration::ZERO)).await;
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);

        slapd.stop();
        let (status, body) = get(&app, "/eng/", "alice").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            common::logged(&[
                "login of alice@EXAMPLE.TEST refused with 503: the group source cannot answer",
                &slapd.url(),
            ]),
            "{:?}",
            common::logs()
        );
        slapd.restart().unwrap();
        // Past the second in which lookups fail at once.
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);
        // A restart between two lookups: the connection the server closed is made again
        // within the lookup, no 503.
        slapd.restart().unwrap();
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);

        // Frozen: no answer at all. 503 within the timeout, not a hang.
        slapd.pause().unwrap();
        let started = Instant::now();
        let status = get(&app, "/eng/", "alice").await.0;
        let took = started.elapsed();
        slapd.resume().unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            took >= timeout && took < timeout * 3,
            "answered in {took:?}, timeout {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);
    }

    #[actix_web::test]
    async fn ldap_bind_refused_is_503_and_the_password_is_not_logged() {
        realm();
        let slapd = TestSlapd::start().unwrap();
        let app = app(GroupSource::ldap(
            config(&slapd).bind_simple(slapd.reader_dn(), "a-wrong-password"),
        ))
        .await;
        assert_eq!(
            get(&app, "/", "alice").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            common::logged(&["refused with 503", "bind as cn=reader", "rc=49"]),
            "{:?}",
            common::logs()
        );
        assert!(!common::logs()
            .iter()
            .any(|l| l.contains("a-wrong-password")));
    }

    #[actix_web::test]
    async fn a_group_removed_in_ldap_counts_until_the_ttl_then_not() {
        realm();
        let slapd = TestSlapd::start().unwrap();
        let ttl = Duration::from_secs(2);
        let app = app(GroupSource::ldap(config(&slapd)).cache_for(ttl)).await;
        let looked_up = Instant::now();
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);
        slapd
            .modify(
                "dn: cn=staff,ou=groups,dc=example,dc=test\nchangetype: modify\n\
                 delete: member\nmember: uid=alice,ou=people,dc=example,dc=test\n\
                 -\nadd: member\nmember: uid=erin,ou=people,dc=example,dc=test\n",
            )
            .unwrap();
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::OK);
        assert!(
            looked_up.elapsed() < ttl,
            "the test was too slow to see the cache"
        );
        // The list was cached a little after `looked_up`: a margin past the TTL.
        std::thread::sleep((ttl + Duration::from_millis(200)).saturating_sub(looked_up.elapsed()));
        assert_eq!(get(&app, "/eng/", "alice").await.0, StatusCode::FORBIDDEN);
    }

    /// TLS through rustls: LDAPS and StartTLS with the test CA find alice's groups from a
    /// slapd that requires TLS; without StartTLS the bind is refused, and trusting only the
    /// system's CAs the handshake fails: both `503`.
    #[actix_web::test]
    async fn ldap_over_ldaps_and_starttls_with_a_private_ca() {
        realm();
        let slapd = TestSlapd::start_tls().unwrap();
        let ldaps = slapd.ldaps_url().unwrap();
        let with = |config: LdapGroups| {
            GroupSource::ldap(
                config
                    .bind_simple(slapd.reader_dn(), slapd.reader_password())
                    .timeout(Duration::from_secs(2)),
            )
        };
        for (what, source, want) in [
            (
                "ldaps, test CA",
                with(
                    LdapGroups::new(&ldaps, slapd.base_dn()).tls_root_certificates(slapd.ca_pem()),
                ),
                StatusCode::OK,
            ),
            (
                "StartTLS, test CA",
                with(
                    LdapGroups::new(slapd.url(), slapd.base_dn())
                        .start_tls()
                        .tls_root_certificates(slapd.ca_pem()),
                ),
                StatusCode::OK,
            ),
            (
                "plain",
                with(LdapGroups::new(slapd.url(), slapd.base_dn())),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                "ldaps, system CAs",
                with(LdapGroups::new(&ldaps, slapd.base_dn())),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ] {
            let app = app(source).await;
            assert_eq!(get(&app, "/eng/", "alice").await.0, want, "{what}");
        }
    }
}
