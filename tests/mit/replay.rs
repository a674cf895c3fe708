//! Replay protection (`ReplayProtection`) against a real MIT KDC: our in-process store, MIT's
//! file cache, tokens in other framing, tokens whose authenticator cannot be located, a full
//! store; with the `redis` feature, two servers sharing one real `redis-server` on loopback.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_gssapi::{
    AuthEvent, Capacity, ReplayProtection, ServicePrincipal, SpnegoAuth, SpnegoAuthBuilder,
};
use actix_gssapi_testing::{ClientOptions, Negotiation};
use base64::Engine as _;
use common::{called, logged, logs, raw_get, realm, serve};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The tests that look at MIT's replay cache directory do so one at a time.
static RCACHE_DIR: Mutex<()> = Mutex::new(());

fn localhost() -> SpnegoAuthBuilder {
    SpnegoAuth::builder().principal(ServicePrincipal::host("localhost"))
}

fn spnego() -> Negotiation {
    common::alice_token()
}

fn raw_krb5() -> Negotiation {
    let options = ClientOptions::new().raw_krb5();
    Negotiation::start_with(&realm().alice_ccache(), "HTTP@localhost", options).expect("token")
}

fn header(token: &[u8]) -> String {
    format!("Authorization: Negotiate {}", B64.encode(token))
}

fn auth_header(n: &Negotiation) -> String {
    format!("Authorization: {}", n.header())
}

/// Sends `authorization` to `path` on `addr` and checks it is refused as a replay: 403, the
/// handler not run, and the replay store's reason logged.
fn assert_replay(addr: std::net::SocketAddr, path: &str, authorization: &str) {
    assert_eq!(raw_get(addr, path, &[authorization]).0, 403, "{path}");
    assert!(!called(path), "{path}");
    assert!(
        logged(&[
            &format!("GET {path}:"),
            "accepted before (replay store): a replay"
        ]),
        "{path}: {:#?}",
        logs()
    );
}

/// A DER TLV with a minimal length.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match body.len() {
        n @ 0..=0x7f => v.push(n as u8),
        n @ 0x80..=0xff => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(body);
    v
}

/// The header and body of the DER TLV at the start of `der`.
fn split_tlv(der: &[u8]) -> (&[u8], &[u8]) {
    let (len, at) = match der[1] {
        n @ 0..=0x7f => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
        n => panic!("length octet {n:#x}"),
    };
    (&der[..at], &der[at..at + len])
}

const KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const MS_KRB5_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
];
const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/// A SPNEGO NegTokenInit offering `mechs` with `mech_token` (a raw krb5 GSS token), and
/// optionally reqFlags and a (made-up) mechListMIC: the same AP-REQ in other framing.
fn spnego_wrap(mechs: &[&[u8]], mech_token: &[u8], req_flags: bool, mic: bool) -> Vec<u8> {
    let mut fields = tlv(0xa0, &tlv(0x30, &mechs.concat()));
    if req_flags {
        // As MIT reads it: a two-octet BIT STRING with one unused bit.
        fields.extend(tlv(0xa1, &[0x03, 0x02, 0x01, 0x40]));
    }
    fields.extend(tlv(0xa2, &tlv(0x04, mech_token)));
    if mic {
        fields.extend(tlv(0xa3, &tlv(0x04, &[0u8; 16])));
    }
    let mut inner = SPNEGO_OID.to_vec();
    inner.extend(tlv(0xa0, &tlv(0x30, &fields)));
    tlv(0x60, &inner)
}

/// The mechToken (a raw krb5 GSS token) inside a SPNEGO NegTokenInit as MIT makes it
/// (mechTypes, then mechToken).
fn mech_token_of(spnego: &[u8]) -> Vec<u8> {
    let (_, inner) = split_tlv(spnego);
    let (_, init) = split_tlv(&inner[SPNEGO_OID.len()..]); // [0]
    let (_, fields) = split_tlv(init); // SEQUENCE
    let (mech_types_header, mech_types) = split_tlv(fields); // [0]
    let rest = &fields[mech_types_header.len() + mech_types.len()..];
    assert_eq!(rest[0], 0xa2, "mechToken follows mechTypes");
    let (_, octets) = split_tlv(rest);
    let (_, token) = split_tlv(octets);
    token.to_vec()
}

#[test]
fn the_default_store_refuses_a_replay_without_mit_s_file_cache() {
    let _dir = RCACHE_DIR.lock().unwrap_or_else(|e| e.into_inner());
    let addr = serve(localhost());
    let rcache_files = || {
        let dir = realm()
            .env()
            .into_iter()
            .find(|(k, _)| *k == "KRB5RCACHEDIR")
            .map(|(_, v)| v)
            .expect("the test realm sets KRB5RCACHEDIR");
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| {
                    let e = e.ok()?;
                    Some((e.file_name(), e.metadata().ok()?.modified().ok()?))
                })
                .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let before = rcache_files();
    let token = spnego();
    let first = raw_get(addr, "/default-first", &[&auth_header(&token)]);
    assert_eq!(first, (200, "Hello, alice@EXAMPLE.TEST".to_owned()));
    assert_replay(addr, "/default-replay", &auth_header(&token));
    // The test realm's krb5.conf allows a clock skew of 5 s: tags are kept twice that.
    assert!(logged(&["in-process", "kept 12 s"]), "{:#?}", logs());
    assert_eq!(
        rcache_files(),
        before,
        "MIT's replay cache was written with our store on"
    );
}

#[test]
fn separately_built_spnego_auths_in_one_process_share_the_in_process_store() {
    // Two servers of one process, each with its own `SpnegoAuth` (and engine), as two scopes
    // protected by separately built ones would be.
    let (a, b) = (serve(localhost()), serve(localhost()));
    let token = auth_header(&spnego());
    assert_eq!(raw_get(a, "/process-a", &[&token]).0, 200);
    assert_replay(b, "/process-b", &token);
}

#[test]
fn mit_s_file_cache_can_still_be_chosen() {
    let _dir = RCACHE_DIR.lock().unwrap_or_else(|e| e.into_inner());
    let addr = serve(localhost().replay_protection(ReplayProtection::mit_file_cache()));
    let token = spnego();
    assert_eq!(raw_get(addr, "/mit-first", &[&auth_header(&token)]).0, 200);
    assert_eq!(raw_get(addr, "/mit-replay", &[&auth_header(&token)]).0, 403);
    assert!(!called("/mit-replay"));
    assert!(
        logged(&["GET /mit-replay", "Request is a replay"]),
        "{:#?}",
        logs()
    );
    assert!(logged(&["MIT's replay cache"]), "{:#?}", logs());
}

#[test]
fn the_same_authenticator_in_other_framing_is_still_a_replay() {
    let addr = serve(localhost());
    // Raw Kerberos first, then the same AP-REQ wrapped in SPNEGO, in three ways.
    let raw = raw_krb5().token();
    assert_eq!(raw_get(addr, "/rewrap-raw", &[&header(&raw)]).0, 200);
    for (case, wrapped) in [
        ("plain", spnego_wrap(&[KRB5_OID], &raw, false, false)),
        // (A mechListMIC cannot be made up: GSSAPI refuses a wrong one itself.)
        ("flags", spnego_wrap(&[KRB5_OID], &raw, true, false)),
        (
            "two-mechs",
            spnego_wrap(&[MS_KRB5_OID, KRB5_OID], &raw, false, false),
        ),
    ] {
        assert_replay(addr, &format!("/rewrap-{case}"), &header(&wrapped));
    }

    // A fresh raw token wrapped by us is accepted (the framing is valid), and the raw token
    // itself is then a replay: the other way round.
    let raw = raw_krb5().token();
    let wrapped = spnego_wrap(&[KRB5_OID], &raw, true, false);
    assert_eq!(
        raw_get(addr, "/rewrap-fresh", &[&header(&wrapped)]).0,
        200,
        "a hand-made NegTokenInit around a fresh AP-REQ"
    );
    assert_replay(addr, "/rewrap-unwrapped", &header(&raw));

    // A made-up mechListMIC around a fresh AP-REQ: GSSAPI refuses it (403) before any store.
    let forged = spnego_wrap(&[KRB5_OID], &raw_krb5().token(), true, true);
    assert_eq!(
        raw_get(addr, "/rewrap-forged-mic", &[&header(&forged)]).0,
        403
    );
    assert!(!called("/rewrap-forged-mic"));

    // A SPNEGO token from GSSAPI, then its krb5 token alone.
    let spnego = spnego().token();
    assert_eq!(raw_get(addr, "/rewrap-spnego", &[&header(&spnego)]).0, 200);
    let inner = mech_token_of(&spnego);
    assert_replay(addr, "/rewrap-inner", &header(&inner));
}

#[test]
fn a_token_whose_authenticator_cannot_be_located_is_refused() {
    let addr = serve(localhost());
    // A fresh raw token with its outer length in a longer form than DER allows: GSSAPI's
    // token reader takes it, our locator does not, and the login is refused, not let through.
    let raw = raw_krb5().token();
    let (outer, body) = split_tlv(&raw);
    assert!(outer.len() <= 4 && body.len() <= 0xffff);
    let mut odd = vec![0x60, 0x83, 0x00, (body.len() >> 8) as u8, body.len() as u8];
    odd.extend_from_slice(body);
    let (status, _) = raw_get(addr, "/unlocatable", &[&header(&odd)]);
    assert_eq!(status, 403);
    assert!(!called("/unlocatable"));
    assert!(logged(&["GET /unlocatable", "refused"]), "{:#?}", logs());
}

#[test]
fn sixteen_concurrent_copies_on_one_node_let_exactly_one_through() {
    let addr = serve(localhost());
    let statuses = send_copies(&auth_header(&spnego()), |i| (addr, format!("/copies-{i}")));
    assert_exactly_one_in(&statuses, "");
}

/// Sends 16 copies of one `Authorization` header at once, copy `i` to `target(i)`, and
/// returns the statuses.
fn send_copies(token: &str, target: impl Fn(usize) -> (std::net::SocketAddr, String)) -> Vec<u16> {
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let sent: Vec<_> = (0..16)
        .map(|i| {
            let (token, barrier) = (token.to_owned(), Arc::clone(&barrier));
            let (addr, path) = target(i);
            std::thread::spawn(move || {
                barrier.wait();
                raw_get(addr, &path, &[&token]).0
            })
        })
        .collect();
    sent.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Exactly one of `statuses` is 200 and the others 403.
fn assert_exactly_one_in(statuses: &[u16], case: &str) {
    let count = |want: u16| statuses.iter().filter(|&&s| s == want).count();
    assert_eq!(
        (count(200), count(403)),
        (1, statuses.len() - 1),
        "{case}{statuses:?}"
    );
}

#[test]
fn a_full_in_process_store_refuses_logins_with_503() {
    let unavailable = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&unavailable);
    let auth = localhost()
        .replay_protection(ReplayProtection::in_memory().max_entries(0))
        .on_event(move |_, event| {
            if *event == AuthEvent::ReplayStoreUnavailable {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
    let addr = serve(auth);
    // At least 1024 entries (64 in each of 16 shards): the store is full once a shard is.
    for n in 0..4000 {
        let path = format!("/full-{n}");
        let token = auth_header(&spnego());
        let response = common::raw_exchange(addr, "GET", &path, &[&token]);
        if response.starts_with("HTTP/1.1 503") {
            assert!(
                response
                    .to_ascii_lowercase()
                    .contains("\r\nretry-after: 1\r\n"),
                "{response}"
            );
            assert!(n >= 64, "refused after {n} logins");
            assert!(!called(&path));
            assert_eq!(unavailable.load(Ordering::Relaxed), 1);
            assert!(
                logged(&[
                    &format!("GET {path}"),
                    "login refused with 503",
                    "max_entries"
                ]),
                "{:#?}",
                logs()
            );
            return;
        }
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "login {n}: {response}"
        );
    }
    panic!("the store never filled up");
}

/// Two servers sharing one real `redis-server` on loopback: what a cluster behind a load
/// balancer gets.
/// The TTL's boundary, with a real client clock: curl under `faketime` stamps its
/// authenticator `clockskew` (5 s here) ahead, which MIT accepts (a difference of exactly the
/// skew is allowed, in whole seconds), and goes on accepting until the server's second is
/// the stamp's + skew: 10.9 s after the login here. A tag kept exactly twice the skew (10 s)
/// is gone by then and the copy gets in; ours is kept 12 s. Past that, MIT refuses it.
#[test]
fn a_copy_sent_at_the_last_second_mit_accepts_is_still_a_replay() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let realm = realm();
    let addr = serve(localhost());
    realm
        .fetch_service_ticket(&realm.alice_ccache(), "HTTP/localhost@EXAMPLE.TEST")
        .unwrap();
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let (header, second) = (0..5)
        .find_map(|_| {
            // Start just after a second begins, so that the login stays within it.
            let frac = now().subsec_millis();
            std::thread::sleep(Duration::from_millis(u64::from((1020 - frac) % 1000)));
            let before = now();
            let out = std::process::Command::new("faketime")
                .args(["-f", "+5s", "curl", "-sS", "-v", "--max-time", "5"])
                .args(["--negotiate", "-u", ":"])
                .arg(format!("http://localhost:{}/edge-login", addr.port()))
                .envs(realm.env())
                .output()
                .expect("faketime curl");
            let after = now();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "Hello, alice@EXAMPLE.TEST",
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let header = String::from_utf8_lossy(&out.stderr)
                .lines()
                .find_map(|l| l.strip_prefix("> Authorization: Negotiate "))
                .map(|token| format!("Authorization: Negotiate {}", token.trim()))
                .expect("curl sent a token");
            (before.as_secs() == after.as_secs() && after.subsec_millis() < 800)
                .then_some((header, before.as_secs()))
        })
        .expect("a login within one second");
    // The last moment MIT still takes the authenticator: the stamp's second + 5 s, late in
    // that second.
    let at = |secs: u64, millis: u64| {
        let target = Duration::from_secs(secs) + Duration::from_millis(millis);
        std::thread::sleep(target.saturating_sub(now()));
    };
    at(second + 10, 900);
    assert_replay(addr, "/edge-copy", &header);
    // Past the allowed skew MIT refuses it on its own.
    at(second + 12, 200);
    assert_eq!(raw_get(addr, "/edge-late", &[&header]).0, 403);
    assert!(!called("/edge-late"));
}

#[cfg(feature = "redis")]
mod redis {
    use std::time::{Duration, Instant};

    use actix_gssapi::{RedisConfig, ReplayProtection};
    use actix_gssapi_testing::TestRedis;

    use super::*;

    pub(super) fn node(config: RedisConfig) -> std::net::SocketAddr {
        serve(localhost().replay_protection(ReplayProtection::redis(config)))
    }

    #[test]
    fn a_token_used_on_one_node_is_refused_on_the_other() {
        let redis = TestRedis::start().expect("redis-server");
        let a = node(RedisConfig::new(redis.url()));
        let b = node(RedisConfig::new(redis.url()));
        let token = auth_header(&spnego());
        assert_eq!(raw_get(a, "/nodes-a", &[&token]).0, 200);
        assert_replay(b, "/nodes-b", &token);
        assert_replay(a, "/nodes-a-again", &token);
        // The other way round, and re-wrapped on the way.
        let raw = raw_krb5().token();
        assert_eq!(raw_get(b, "/nodes-raw-b", &[&header(&raw)]).0, 200);
        let wrapped = spnego_wrap(&[KRB5_OID], &raw, false, false);
        assert_replay(a, "/nodes-wrapped-a", &header(&wrapped));
        assert!(logged(&["Redis", "replay store"]), "{:#?}", logs());
    }

    #[test]
    fn curl_logs_in_on_both_nodes_and_its_captured_header_is_refused_on_the_other() {
        let redis = TestRedis::start().expect("redis-server");
        let a = node(RedisConfig::new(redis.url()));
        let b = node(RedisConfig::new(redis.url()));
        // A real client makes a fresh token per request: both nodes let it in, again and again.
        let mut last_header = None;
        for (addr, round) in [(a, 1), (b, 1), (a, 2), (b, 2)] {
            let url = format!(
                "http://localhost:{}/curl-{}-{round}",
                addr.port(),
                addr.port()
            );
            let out = std::process::Command::new("curl")
                .args([
                    "-sS",
                    "-v",
                    "--max-time",
                    "20",
                    "--negotiate",
                    "-u",
                    ":",
                    &url,
                ])
                .envs(realm().env())
                .output()
                .expect("curl");
            let body = String::from_utf8_lossy(&out.stdout);
            assert_eq!(body, "Hello, alice@EXAMPLE.TEST", "{url}");
            // `-v` shows each request header curl sent on one line: the token it made.
            last_header = String::from_utf8_lossy(&out.stderr)
                .lines()
                .find_map(|l| l.strip_prefix("> Authorization: Negotiate "))
                .map(|token| format!("Authorization: Negotiate {}", token.trim()));
            assert!(last_header.is_some(), "{url}: curl sent no token");
        }
        // The header curl sent to b last, captured and sent to a.
        let header = last_header.expect("a captured header");
        assert_replay(a, "/curl-captured", &header);
    }

    #[test]
    fn sixteen_copies_over_two_nodes_let_exactly_one_through() {
        let redis = TestRedis::start().expect("redis-server");
        let nodes = [
            node(RedisConfig::new(redis.url())),
            node(RedisConfig::new(redis.url())),
        ];
        for round in 0..3 {
            let statuses = send_copies(&auth_header(&spnego()), |i| {
                (nodes[i % 2], format!("/spread-{round}-{i}"))
            });
            assert_exactly_one_in(&statuses, &format!("round {round}: "));
        }
    }

    /// Sends fresh tokens to `addr` until one gets `want`, for at most `within`.
    pub(super) fn until(
        addr: std::net::SocketAddr,
        path: &str,
        want: u16,
        within: Duration,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let token = auth_header(&spnego());
            let response = common::raw_exchange(addr, "GET", path, &[&token]);
            if response.starts_with(&format!("HTTP/1.1 {want}")) {
                return response;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: no {want} within {within:?}; last: {response}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Two nodes on `redis` with `timeout`: one that fails closed (the default) and one that
    /// falls back to memory.
    fn closed_and_fallback_nodes(
        redis: &TestRedis,
        timeout: Duration,
    ) -> (std::net::SocketAddr, std::net::SocketAddr) {
        let config = || RedisConfig::new(redis.url()).timeout(timeout);
        let closed = node(config());
        let fallback = serve(
            localhost().replay_protection(ReplayProtection::redis(config()).fall_back_to_memory()),
        );
        (closed, fallback)
    }

    #[test]
    fn redis_down_fails_closed_or_falls_back_and_both_recover() {
        let mut redis = TestRedis::start().expect("redis-server");
        let (closed, fallback) = closed_and_fallback_nodes(&redis, Duration::from_millis(500));
        assert_eq!(
            raw_get(closed, "/down-warmup-closed", &[&auth_header(&spnego())]).0,
            200
        );
        assert_eq!(
            raw_get(
                fallback,
                "/down-warmup-fallback",
                &[&auth_header(&spnego())]
            )
            .0,
            200
        );

        redis.stop();
        // Fail closed: 503 with Retry-After, the handler never runs, an error is logged.
        let started = Instant::now();
        let response =
            common::raw_exchange(closed, "GET", "/down-closed", &[&auth_header(&spnego())]);
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains("\r\nretry-after: 1\r\n"),
            "{response}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!called("/down-closed"));
        assert!(
            logged(&[
                "ERROR",
                "GET /down-closed",
                "login refused with 503",
                "replay store"
            ]),
            "{:#?}",
            logs()
        );
        // Fall back: served, replays still refused on this node, and the switch is logged.
        let token = auth_header(&spnego());
        assert_eq!(raw_get(fallback, "/down-fallback", &[&token]).0, 200);
        assert_replay(fallback, "/down-fallback-replay", &token);
        assert!(
            logged(&["WARN", "falling back to the in-process store"]),
            "{:#?}",
            logs()
        );

        redis.restart().expect("redis-server again");
        // Both recover by themselves.
        until(closed, "/up-closed", 200, Duration::from_secs(15));
        // The fallback node serves throughout: its logins say Redis is back only once one of
        // them found its connection re-made (a replay it answers from memory tries none).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !logged(&["INFO", "answers again"]) {
            assert!(Instant::now() < deadline, "{:#?}", logs());
            assert_eq!(
                raw_get(fallback, "/up-fallback", &[&auth_header(&spnego())]).0,
                200
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // What the fallback node saw while Redis was down is still a replay there.
        assert_replay(fallback, "/up-fallback-replay", &token);
        // And a token used after recovery is refused on the other node.
        let token = auth_header(&spnego());
        assert_eq!(raw_get(fallback, "/up-shared", &[&token]).0, 200);
        assert_replay(closed, "/up-shared-replay", &token);
    }

    #[test]
    fn redis_killed_under_load_never_lets_a_replay_through() {
        let mut redis = TestRedis::start().expect("redis-server");
        let (closed, fallback) = closed_and_fallback_nodes(&redis, Duration::from_millis(300));
        under_load(closed, fallback, || {
            redis.stop();
            std::thread::sleep(Duration::from_millis(1500));
            redis.restart().expect("redis-server again");
        });
    }

    /// Clients send fresh tokens to `closed` (a node that fails closed) and `fallback` (one
    /// that falls back to memory), each token twice; `break_and_heal` runs meanwhile (takes
    /// the store down and brings it back), then the clients go on for 1.5 s. No token may get
    /// in twice; `closed` refused some with 503 and lets tokens in again by the end;
    /// `fallback` let every first use in and refused every copy.
    pub(super) fn under_load(
        closed: std::net::SocketAddr,
        fallback: std::net::SocketAddr,
        break_and_heal: impl FnOnce(),
    ) {
        use std::sync::atomic::AtomicBool;

        let stop = Arc::new(AtomicBool::new(false));
        // Each client sends fresh tokens, each one twice: never may both get in.
        let clients: Vec<_> = [closed, closed, fallback, fallback]
            .into_iter()
            .enumerate()
            .map(|(i, addr)| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut answers = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let token = auth_header(&spnego());
                        let first = raw_get(addr, &format!("/load-{i}-{n}"), &[&token]).0;
                        let again = raw_get(addr, &format!("/load-{i}-{n}-again"), &[&token]).0;
                        answers.push((first, again));
                        n += 1;
                    }
                    (addr, answers)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        break_and_heal();
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::Relaxed);

        for client in clients {
            let (addr, answers) = client.join().expect("client");
            let mut pairs = std::collections::BTreeMap::<(u16, u16), usize>::new();
            for &pair in &answers {
                *pairs.entry(pair).or_default() += 1;
            }
            assert!(answers.len() >= 10, "{addr}: {pairs:?}");
            // A token gets in at most once. (A first use refused with 503 was never let in:
            // its copy may then be the one use that gets in.)
            assert!(
                !pairs.contains_key(&(200, 200)),
                "{addr}: a copy got in: {pairs:?}"
            );
            if addr == closed {
                assert!(
                    pairs.keys().all(|&(first, again)| matches!(
                        (first, again),
                        (200, 403 | 503) | (503, 200 | 403 | 503)
                    )),
                    "{addr}: {pairs:?}"
                );
                assert!(
                    pairs.keys().any(|&(first, _)| first == 503),
                    "{addr}: {pairs:?}"
                );
                assert_eq!(answers.last(), Some(&(200, 403)), "{addr}: recovered");
            } else {
                assert_eq!(pairs.keys().collect::<Vec<_>>(), [&(200, 403)], "{addr}");
            }
        }
    }

    #[test]
    fn logins_waiting_for_a_stalled_redis_are_bounded() {
        let redis = TestRedis::start().expect("redis-server");
        let addr = serve(
            localhost()
                .capacity(Capacity::new().login_queue(4))
                .replay_protection(ReplayProtection::redis(
                    RedisConfig::new(redis.url()).timeout(Duration::from_secs(3)),
                )),
        );
        assert_eq!(
            raw_get(addr, "/stall-warmup", &[&auth_header(&spnego())]).0,
            200
        );
        redis.pause().expect("SIGSTOP");
        // Four logins wait for Redis (up to its 3 s timeout)...
        let waiting: Vec<_> = (0..4)
            .map(|i| {
                let token = auth_header(&spnego());
                std::thread::spawn(move || raw_get(addr, &format!("/stall-{i}"), &[&token]).0)
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        // ...and the next ones are turned away at once instead of piling up.
        for i in 0..4 {
            let started = Instant::now();
            let path = format!("/stall-more-{i}");
            let response = common::raw_exchange(addr, "GET", &path, &[&auth_header(&spnego())]);
            assert!(response.starts_with("HTTP/1.1 503"), "{response}");
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{:?}",
                started.elapsed()
            );
        }
        assert!(
            logged(&["4 logins are already waiting for it"]),
            "{:#?}",
            logs()
        );
        redis.resume().expect("SIGCONT");
        // The four that waited get their answer from Redis once it is back (or 503 if its
        // answer came too late): never in without it.
        for h in waiting {
            let status = h.join().unwrap();
            assert!(matches!(status, 200 | 503), "{status}");
        }
        until(addr, "/stall-after", 200, Duration::from_secs(10));
    }

    #[test]
    fn optional_mode_also_answers_503_when_redis_cannot_answer() {
        let mut redis = TestRedis::start().expect("redis-server");
        redis.stop();
        let addr = common::serve_with(
            localhost().replay_protection(ReplayProtection::redis(
                RedisConfig::new(redis.url()).timeout(Duration::from_millis(300)),
            )),
            SpnegoAuth::optional,
        );
        // Going on anonymously would log a valid user out: the client is asked to come back.
        let response =
            common::raw_exchange(addr, "GET", "/optional-down", &[&auth_header(&spnego())]);
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        assert!(!called("/optional-down"));
        // Without a token the request goes on anonymously as ever: no store is asked.
        assert_eq!(
            raw_get(addr, "/optional-anonymous", &[]),
            (200, "Hello, anonymous".to_owned())
        );
    }

    #[test]
    fn a_redis_configuration_that_cannot_work_fails_the_build() {
        use actix_gssapi::ErrorKind;
        realm();
        for (url, why) in [
            ("http://127.0.0.1:6379/", "another scheme"),
            (
                "rediss://:hunter2-secret@127.0.0.1:6379/#insecure",
                "no certificate check",
            ),
            ("not a url at all", "not a URL"),
        ] {
            let err = localhost()
                .replay_protection(ReplayProtection::redis(RedisConfig::new(url)))
                .build()
                .expect_err(why);
            assert_eq!(err.kind(), ErrorKind::ReplayStore, "{why}: {err}");
            assert!(!err.to_string().contains("hunter2"), "{why}: {err}");
        }
        let err = localhost()
            .replay_protection(ReplayProtection::redis(
                RedisConfig::new("redis://127.0.0.1:6379/").tls_root_certificates(b"x".to_vec()),
            ))
            .build()
            .expect_err("certificates on redis://");
        assert_eq!(err.kind(), ErrorKind::ReplayStore, "{err}");
    }

    #[test]
    fn two_nodes_over_tls_with_a_password() {
        let redis = TestRedis::start_mutual_tls().expect("redis-server with TLS");
        let config = || {
            let (cert, key) = redis.client_certificate();
            RedisConfig::new(redis.url())
                .tls_root_certificates(redis.ca_pem())
                .tls_client_certificate(cert, key)
        };
        let a = node(config());
        let b = node(config());
        let token = auth_header(&spnego());
        assert_eq!(raw_get(a, "/tls-a", &[&token]).0, 200);
        assert_replay(b, "/tls-b", &token);
        assert!(logged(&["TLS"]), "{:#?}", logs());
        assert!(
            !logs().iter().any(|l| l.contains(redis.password())),
            "the Redis password was logged"
        );
    }
}

/// Two servers sharing a real Redis Cluster of three masters on loopback.
#[cfg(feature = "redis")]
mod redis_cluster {
    use std::time::Duration;

    use actix_gssapi::{RedisConfig, ReplayProtection};
    use actix_gssapi_testing::TestRedisCluster;

    use super::redis::{node, under_load};
    use super::*;

    #[test]
    fn a_token_used_on_one_node_is_refused_on_the_other_through_a_cluster() {
        let cluster = TestRedisCluster::start().expect("redis cluster");
        let a = node(RedisConfig::cluster(cluster.urls()));
        let b = node(RedisConfig::cluster(cluster.urls()));
        // Tokens whose tags land on different masters' slots.
        for i in 0..6 {
            let token = auth_header(&spnego());
            assert_eq!(raw_get(a, &format!("/cluster-a-{i}"), &[&token]).0, 200);
            assert_replay(b, &format!("/cluster-b-{i}"), &token);
            assert_replay(a, &format!("/cluster-a-again-{i}"), &token);
        }
        assert!(logged(&["Redis Cluster at 127.0.0.1:"]), "{:#?}", logs());
        assert!(
            !logs().iter().any(|l| l.contains(cluster.password())),
            "the Redis password was logged"
        );
    }

    #[test]
    fn sixteen_copies_over_two_nodes_through_a_cluster_let_exactly_one_through() {
        let cluster = TestRedisCluster::start().expect("redis cluster");
        let nodes = [
            node(RedisConfig::cluster(cluster.urls())),
            node(RedisConfig::cluster(cluster.urls()).connections(1)),
        ];
        for round in 0..6 {
            let statuses = send_copies(&auth_header(&spnego()), |i| {
                (nodes[i % 2], format!("/cluster-spread-{round}-{i}"))
            });
            assert_exactly_one_in(&statuses, &format!("round {round}: "));
        }
    }

    /// A master killed (SIGKILL) while clients send every fresh token twice, and started again
    /// 1.5 s later with its append-only file: no token gets in twice; the node that fails
    /// closed answers 503 while the cluster refuses writes, and both nodes let logins in
    /// again by themselves.
    #[test]
    fn a_cluster_master_killed_under_load_never_lets_a_replay_through() {
        let mut cluster = TestRedisCluster::start().expect("redis cluster");
        let config = || RedisConfig::cluster(cluster.urls()).timeout(Duration::from_millis(300));
        let closed = node(config());
        let fallback = serve(
            localhost().replay_protection(ReplayProtection::redis(config()).fall_back_to_memory()),
        );
        under_load(closed, fallback, || {
            cluster.stop_node(1);
            std::thread::sleep(Duration::from_millis(1500));
            cluster.restart_node(1).expect("the master again");
        });
    }
}
