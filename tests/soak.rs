//! Concurrency soak against `harness/bench.rs` in its own process: alice and bob interleaved over
//! 64 keep-alive connections, every answer checked against the token that asked, an open route
//! probed throughout, the server's RSS watched.
//!
//! CI runs a short form (`SOAK_REQUESTS`, default 20,000). The full soak,
//! `SOAK_REQUESTS=1000000 cargo test --release --all-features --test soak -- --nocapture`,
//! compares RSS after 100k and after 1M requests. It keeps MIT's file replay cache, so that
//! its RSS check is a leak check: the in-process replay store grows with the logins of its
//! window, which the second test measures.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::load::{self, Token};
use common::{realm, rss_kib, start_bench};

/// The number in the environment variable `name`, else `default`: the long forms' sizes.
fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The two soaks load the machine: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn interleaved_users_at_64_connections_never_cross_talk() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let realm = realm();
    let requests = count_from_env("SOAK_REQUESTS", 20_000);
    realm.add_user("bob", "bob-password").ok();
    let bob_cc = realm.kinit("bob", "bob-password", &[]).unwrap();
    let users = vec![
        ("alice@EXAMPLE.TEST".to_owned(), realm.alice_ccache()),
        ("bob@EXAMPLE.TEST".to_owned(), bob_cc),
    ];
    let tokens: Vec<Token> = load::make_tokens(&users, "HTTP@localhost", requests, 2).unwrap();
    let (server, addr) = start_bench(&[]);
    let pid = server.0.id();

    // Probe the open route throughout; any failure or slow answer is recorded.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut probes, mut worst, mut failures) = (0u32, Duration::ZERO, 0u32);
            while !stop.load(Ordering::Relaxed) {
                let r = load::run(addr, "/open", 1, 1, None, Duration::from_secs(10));
                if r.statuses.get(&200) != Some(&1) {
                    failures += 1;
                }
                worst = worst.max(Duration::from_micros(
                    r.latencies_us.first().copied().unwrap_or(u32::MAX).into(),
                ));
                probes += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (probes, worst, failures)
        })
    };

    // Three phases: a warm-up (the blocking pool grows to its working size, the allocator's
    // arenas fill), then up to 100,000 requests, then the rest. RSS is compared between the end
    // of the second and of the third: with SOAK_REQUESTS=1000000, the 100k-to-1M check.
    let warm_up = (requests / 10).min(10_000);
    let middle = (requests / 2).max(warm_up).min(100_000);
    let mut rest = tokens;
    let mut phase = |n: usize| {
        let tail = rest.split_off(n.min(rest.len()));
        Arc::new(std::mem::replace(&mut rest, tail))
    };
    let phases = [phase(warm_up), phase(middle - warm_up), phase(usize::MAX)];
    let deadline = Duration::from_secs(1800);
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut rss = Vec::new();
    for tokens in phases {
        let n = tokens.len();
        reports.push(load::run(addr, "/", 64, n, Some(tokens), deadline));
        rss.push(rss_kib(pid));
    }
    let (rss_after_first, rss_after_second) = (rss[1], rss[2]);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (probes, worst_probe, probe_failures) = prober.join().unwrap();

    let total: usize = reports.iter().map(|r| r.requests).sum();
    let last = reports.last().expect("phases");
    println!(
        "soak: {total} requests in {took:.1?} ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms; RSS after \
         warm-up {} KiB, after {middle} requests {rss_after_first} KiB, at the end \
         {rss_after_second} KiB; {probes} open probes, worst {worst_probe:?}",
        total as f64 / took.as_secs_f64(),
        last.percentile_ms(0.5),
        last.percentile_ms(0.99),
        rss[0],
    );
    for r in &reports {
        assert_eq!(r.errors, 0, "connection errors: {r:?}");
        assert_eq!(r.mismatched, 0, "identity cross-talk");
        assert_eq!(
            r.statuses.keys().copied().collect::<Vec<_>>(),
            vec![200],
            "{:?}",
            r.statuses
        );
    }
    assert_eq!(total, requests, "every request was answered");
    assert_eq!(probe_failures, 0, "the open route failed while under load");
    assert!(probes > 0);
    assert!(
        worst_probe < Duration::from_secs(2),
        "open route stalled {worst_probe:?}"
    );
    assert!(rss_after_first > 0 && rss_after_second > 0);
    // The bar is 10 % between 100k and 1M requests. A short CI run ends while the
    // allocator is still settling (seen: +1.5 MiB on 16 MiB between 10k and 20k), so it only
    // guards against a leak of a request's size or more.
    let allowed_percent = if requests >= 200_000 { 10 } else { 25 };
    assert!(
        rss_after_second * 100 <= rss_after_first * (100 + allowed_percent),
        "RSS grew from {rss_after_first} to {rss_after_second} KiB (more than {allowed_percent} %)"
    );
}

/// The in-process replay store (`REPLAY_STORE=memory`) under real logins: with krb5.conf's
/// `clockskew = 2`, tags expire after 4 s, so the server's memory follows the logins of the
/// last 4 s, not all the logins so far. Tokens are made in small batches just before they
/// are sent (the skew refuses older ones). RSS is compared between the first sample after
/// two TTLs (the store near its working size) and the end: the growth must stay well under
/// what keeping every tag since would cost (~120 bytes each). Some growth remains: a shard's
/// table doubles when the logins of one window outgrow it, and keeps that size.
///
/// CI: at least 60,000 logins and 32 s. The long form:
/// `REPLAY_SOAK_LOGINS=1000000 cargo test --release --all-features --test soak in_process -- --nocapture`.
#[test]
fn the_in_process_replay_store_stays_flat_under_real_logins() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let realm = realm();
    let logins = count_from_env("REPLAY_SOAK_LOGINS", 60_000);
    let ttl = Duration::from_secs(4);
    let conf = realm.krb5_config_with_clock_skew(2).unwrap();
    let (server, addr) = start_bench(&[
        ("REPLAY_STORE", "memory".into()),
        ("KRB5_CONFIG", conf.into()),
    ]);
    let pid = server.0.id();
    let users = vec![("alice@EXAMPLE.TEST".to_owned(), realm.alice_ccache())];
    let started = Instant::now();
    let (mut done, mut samples) = (0, Vec::new());
    while done < logins || started.elapsed() < ttl * 8 {
        // Small batches: each token must reach the server within the 2 s clock skew of its
        // making, also on a loaded machine (with 2,000, a run beside a parallel build got
        // 32 refusals in a batch; the server's reasons were not kept).
        let n = 500;
        let tokens = load::make_tokens(&users, "HTTP@localhost", n, 2).unwrap();
        let report = load::run(
            addr,
            "/",
            32,
            n,
            Some(Arc::new(tokens)),
            Duration::from_secs(60),
        );
        assert_eq!(report.errors, 0, "connection errors: {report:?}");
        assert_eq!(report.mismatched, 0, "identity cross-talk");
        assert_eq!(
            report.statuses.keys().copied().collect::<Vec<_>>(),
            vec![200],
            "after {done} logins: {:?}",
            report.statuses
        );
        done += n;
        samples.push((started.elapsed(), done, rss_kib(pid)));
    }
    let took = started.elapsed();
    let &(at, after, working) = samples
        .iter()
        .find(|(elapsed, _, _)| *elapsed >= ttl * 2)
        .expect("a sample after two TTLs");
    let &(_, _, end) = samples.last().expect("samples");
    println!(
        "in-process replay store: {done} logins in {took:.1?} ({:.0}/s); RSS {working} KiB \
         after {after} logins ({at:.1?}), {end} KiB at the end; samples {:?}",
        done as f64 / took.as_secs_f64(),
        samples.iter().map(|s| s.2).collect::<Vec<_>>()
    );
    assert!(working > 0 && end > 0);
    // Kept forever, the tags of the logins since would take this much (KiB).
    let kept_all = (done - after) as u64 * 120 / 1024;
    assert!(
        end.saturating_sub(working) * 4 <= kept_all,
        "RSS grew from {working} to {end} KiB over {} logins: tags do not seem to expire",
        done - after
    );
}
