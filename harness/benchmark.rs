//! Side-by-side benchmark: `harness/bench.rs` (this crate) against Apache httpd +
//! mod_auth_gssapi, in one run, on one throwaway realm, with the same load generator, the same
//! load shape and fresh single-use tokens made beforehand for every authenticated request.
//!
//! ```sh
//! scripts/bench.sh                 # installs apache2 + libapache2-mod-auth-gssapi, builds, runs
//! scripts/bench.sh --requests 200000 --connections 64
//! ```
//!
//! Prints one table: requests/s, p50 and p99 latency, server CPU per request, and the ratios
//! the README quotes; then the peak RSS of our server.
//!
//! `--wrk SECONDS` also measures both authenticated paths with `wrk -t2 -c32` (Debian package
//! `wrk`), fed one fresh token per request by a Lua script, so that the comparison does not
//! rest on our own load generator alone.
//!
//! The headline rows run our server as users get it, with the default (in-process) replay
//! store; Apache's mod_auth_gssapi uses MIT's file cache. `--store-rounds N` (default 3; 0 skips) then compares the replay stores: the
//! authenticated path with MIT's file cache, the in-process store and (built with the `redis`
//! feature) a Redis store on a local `redis-server`, N interleaved rounds of each, each
//! round a fresh server; it prints the median logins/s and CPU per login (for Redis, the
//! server's plus redis-server's) and their ratios to the file cache.

#[path = "../tests/common/load.rs"]
mod load;

use std::collections::BTreeMap;
use std::error::Error;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_gssapi_testing::{Negotiation, TestRealm};
use load::{Credentials, Report, Token};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Both servers accept authenticators this old (MIT's default is 300 s): every token is made
/// before the run that uses it, up to a few minutes before.
const CLOCK_SKEW: u64 = 300;

struct Options {
    requests: usize,
    connections: usize,
    apache: bool,
    /// Also measure the authenticated path with wrk for this many seconds.
    wrk: Option<u64>,
    /// Interleaved rounds of the replay store comparison.
    store_rounds: usize,
}

fn options() -> Result<Options> {
    let mut o = Options {
        requests: 100_000,
        connections: 64,
        apache: true,
        wrk: None,
        store_rounds: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--requests" => o.requests = args.next().ok_or("--requests N")?.parse()?,
            "--connections" => o.connections = args.next().ok_or("--connections N")?.parse()?,
            "--no-apache" => o.apache = false,
            "--wrk" => o.wrk = Some(args.next().ok_or("--wrk SECONDS")?.parse()?),
            "--store-rounds" => {
                o.store_rounds = args.next().ok_or("--store-rounds N")?.parse()?;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

/// Kills and reaps a child process (and, for Apache, its workers) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stop: Option<Vec<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(cmd) = &self.stop {
            let _ = Command::new(&cmd[0]).args(&cmd[1..]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listening on {addr}").into())
}

fn start_ours(realm: &TestRealm, sessions: bool) -> Result<Server> {
    start_ours_with(realm, sessions, "")
}

/// Our server with `REPLAY_STORE=replay_store` (empty: the default, in-process; `mit`: MIT's
/// file cache).
fn start_ours_with(realm: &TestRealm, sessions: bool, replay_store: &str) -> Result<Server> {
    let exe = std::env::current_exe()?
        .parent()
        .ok_or("exe dir")?
        .join("bench");
    let port = free_port()?;
    let rcache = realm.dir().join(format!("rcache-ours-{sessions}"));
    std::fs::create_dir_all(&rcache)?;
    let mut child = Command::new(&exe)
        .arg(format!("127.0.0.1:{port}"))
        .envs(realm.env())
        .env(
            "KRB5_CONFIG",
            realm.krb5_config_with_clock_skew(CLOCK_SKEW)?,
        )
        .env("KRB5RCACHEDIR", &rcache)
        .env("BENCH_SESSIONS", if sessions { "1" } else { "0" })
        .env("REPLAY_STORE", replay_store)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build --release --examples)",
                exe.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    if !first.contains("listening on") {
        return Err(format!("bench server said {first:?}").into());
    }
    Ok(Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        stop: None,
    })
}

/// Apache httpd with mod_auth_gssapi on the same keytab, as packaged by Debian, mpm_event, its
/// own directory. Workers run as www-data, so the keytab and krb5.conf are copied where they
/// can read them.
fn start_apache(realm: &TestRealm) -> Result<Server> {
    let dir = realm.dir().join("apache");
    let docs = dir.join("htdocs");
    std::fs::create_dir_all(docs.join("open"))?;
    std::fs::write(docs.join("index.html"), "Hello")?;
    std::fs::write(docs.join("open/index.html"), "open")?;
    std::fs::copy(realm.keytab(), dir.join("http.keytab"))?;
    std::fs::copy(
        realm.krb5_config_with_clock_skew(CLOCK_SKEW)?,
        dir.join("krb5.conf"),
    )?;
    let port = free_port()?;
    let d = dir.display();
    let modules = "/usr/lib/apache2/modules";
    std::fs::write(
        dir.join("httpd.conf"),
        format!(
            r#"ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/httpd.pid
ErrorLog {d}/error.log
LogLevel warn
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule auth_gssapi_module {modules}/mod_auth_gssapi.so
LoadModule dir_module {modules}/mod_dir.so
User www-data
Group www-data
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
DocumentRoot {d}/htdocs
DirectoryIndex index.html
<Location />
  AuthType GSSAPI
  AuthName "bench"
  GssapiCredStore keytab:{d}/http.keytab
  Require valid-user
</Location>
<Location /open>
  Require all granted
</Location>
"#
        ),
    )?;
    let status = Command::new("chown")
        .args(["-R", "www-data:www-data"])
        .arg(&dir)
        .status()?;
    if !status.success() {
        return Err("chown www-data".into());
    }
    // www-data must reach its directory through the realm's private one.
    std::fs::set_permissions(
        realm.dir(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )?;
    let child = Command::new("apache2")
        .args(["-f"])
        .arg(dir.join("httpd.conf"))
        .arg("-DFOREGROUND")
        .env("KRB5_CONFIG", dir.join("krb5.conf"))
        .env("KRB5RCACHEDIR", &dir)
        .env_remove("KRB5_KTNAME")
        .spawn()
        .map_err(|e| {
            format!("apache2: {e} (apt-get install apache2 libapache2-mod-auth-gssapi)")
        })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr)?;
    Ok(Server {
        child,
        addr,
        stop: Some(vec![
            "apache2".into(),
            "-f".into(),
            dir.join("httpd.conf").display().to_string(),
            "-k".into(),
            "stop".into(),
        ]),
    })
}

/// utime + stime of `root` and its children, in clock ticks (1/100 s on Linux).
fn cpu_ticks(root: u32) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the `(comm)`: state ppid ... utime(14) stime(15), counted from pid.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let pid: u32 = head
            .split(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ppid: u32 = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if pid == root || ppid == root {
            let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
            let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            total += utime + stime;
        }
    }
    total
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Row {
    name: String,
    report: Report,
    cpu_us_per_req: f64,
}

fn measure(
    name: &str,
    server: &Server,
    path: &str,
    connections: usize,
    requests: usize,
    credentials: Credentials,
) -> Row {
    let before = cpu_ticks(server.child.id());
    let report = load::run_with(
        server.addr,
        path,
        connections,
        requests,
        credentials,
        Duration::from_secs(900),
    );
    let ticks = cpu_ticks(server.child.id()).saturating_sub(before);
    let cpu_us_per_req = ticks as f64 * 10_000.0 / report.requests.max(1) as f64;
    eprintln!(
        "  {name}: {:.0} req/s, statuses {:?}",
        report.per_second(),
        report.statuses
    );
    Row {
        name: name.to_owned(),
        report,
        cpu_us_per_req,
    }
}

fn tokens(users: &[load::User], n: usize) -> Result<Arc<Vec<Token>>> {
    let started = Instant::now();
    let t = load::make_tokens(users, "HTTP@localhost", n, 2)?;
    eprintln!("  made {n} tokens in {:.1?}", started.elapsed());
    Ok(Arc::new(t))
}

/// Every answer has the expected status and identity; connection errors (a server closing a
/// keep-alive connection) are reported in the table, and fail the run above 0.1 %.
fn check(row: &Row, want: u16) -> Result<()> {
    let statuses: BTreeMap<u16, usize> = row.report.statuses.clone();
    let too_many_errors = row.report.errors * 1000 > row.report.requests;
    if statuses.keys().ne([want].iter()) || row.report.mismatched > 0 || too_many_errors {
        return Err(format!(
            "{}: expected only {want}, got {statuses:?}, {} mismatched, {} errors",
            row.name, row.report.mismatched, row.report.errors
        )
        .into());
    }
    Ok(())
}

fn main() -> Result<()> {
    let o = options()?;
    let realm = TestRealm::start()?;
    realm.export_env();
    realm.add_user("bob", "bob-password")?;
    let bob = realm.kinit("bob", "bob-password", &[])?;
    let users: Vec<load::User> = vec![
        ("alice@EXAMPLE.TEST".into(), realm.alice_ccache()),
        ("bob@EXAMPLE.TEST".into(), bob),
    ];
    let (n, c) = (o.requests, o.connections);
    eprintln!(
        "benchmark: {n} requests per row, {c} connections, {} cores",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );

    let mut rows = Vec::new();
    let ours = start_ours(&realm, false)?;
    let pid = ours.child.id();
    // Warm-up (connections, allocator, keytab in the page cache), not measured.
    load::run_with(
        ours.addr,
        "/",
        c,
        2_000,
        Credentials::Tokens(tokens(&users, 2_000)?),
        Duration::from_secs(60),
    );
    let auth = measure(
        "ours: authenticated",
        &ours,
        "/",
        c,
        n,
        Credentials::Tokens(tokens(&users, n)?),
    );
    check(&auth, 200)?;
    let rss_after_auth = status_kib(pid, "VmRSS:");
    rows.push(auth);
    let row = measure("ours: 401 challenge", &ours, "/", c, n, Credentials::None);
    check(&row, 401)?;
    rows.push(row);
    let row = measure("ours: open route", &ours, "/open", c, n, Credentials::None);
    check(&row, 200)?;
    rows.push(row);
    let peak_rss = status_kib(pid, "VmHWM:");
    drop(ours);

    let sessions = start_ours(&realm, true)?;
    let login = Negotiation::start(&realm.alice_ccache(), "HTTP@localhost")?;
    let cookie = session_cookie(sessions.addr, login.header())?;
    let row = measure(
        "ours: session cookie",
        &sessions,
        "/",
        c,
        n,
        Credentials::Header(format!("Cookie: {cookie}").into()),
    );
    check(&row, 200)?;
    rows.push(row);
    drop(sessions);

    if o.apache {
        let apache = start_apache(&realm)?;
        load::run_with(
            apache.addr,
            "/",
            c,
            2_000,
            Credentials::Tokens(apache_tokens(&users, 2_000)?),
            Duration::from_secs(60),
        );
        let row = measure(
            "apache: authenticated",
            &apache,
            "/",
            c,
            n,
            Credentials::Tokens(apache_tokens(&users, n)?),
        );
        check(&row, 200)?;
        rows.push(row);
        let row = measure(
            "apache: 401 challenge",
            &apache,
            "/",
            c,
            n,
            Credentials::None,
        );
        check(&row, 401)?;
        rows.push(row);
        let row = measure(
            "apache: open route",
            &apache,
            "/open/",
            c,
            n,
            Credentials::None,
        );
        check(&row, 200)?;
        rows.push(row);
    }

    if let Some(secs) = o.wrk {
        let ours = start_ours(&realm, false)?;
        rows.push(measure_wrk(
            "wrk: ours authenticated",
            &ours,
            &users,
            &realm,
            secs,
            30_000,
        )?);
        drop(ours);
        if o.apache {
            let apache = start_apache(&realm)?;
            rows.push(measure_wrk(
                "wrk: apache authenticated",
                &apache,
                &users,
                &realm,
                secs,
                12_000,
            )?);
        }
    }

    let stores = if o.store_rounds > 0 {
        compare_stores(&realm, &users, &o)?
    } else {
        Vec::new()
    };

    println!();
    println!("| path | req/s | p50 ms | p99 ms | server CPU µs/req | connection errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {} |",
            r.name,
            r.report.per_second(),
            r.report.percentile_ms(0.5),
            r.report.percentile_ms(0.99),
            r.cpu_us_per_req,
            r.report.errors
        );
    }
    let get = |name: &str| rows.iter().find(|r| r.name == name);
    let rps = |name: &str| get(name).map_or(f64::NAN, |r| r.report.per_second());
    println!();
    println!(
        "ours authenticated / apache authenticated: {:.2}x req/s, p99 {:.2}x",
        rps("ours: authenticated") / rps("apache: authenticated"),
        get("ours: authenticated").map_or(f64::NAN, |r| r.report.percentile_ms(0.99))
            / get("apache: authenticated").map_or(f64::NAN, |r| r.report.percentile_ms(0.99))
    );
    println!(
        "ours 401 / ours open: {:.2}x; session cookie / open: {:.2}x",
        rps("ours: 401 challenge") / rps("ours: open route"),
        rps("ours: session cookie") / rps("ours: open route")
    );
    if o.wrk.is_some() {
        println!(
            "with wrk: ours / apache authenticated {:.2}x req/s, p99 {:.2}x",
            rps("wrk: ours authenticated") / rps("wrk: apache authenticated"),
            get("wrk: ours authenticated").map_or(f64::NAN, |r| r.report.percentile_ms(0.99))
                / get("wrk: apache authenticated")
                    .map_or(f64::NAN, |r| r.report.percentile_ms(0.99))
        );
    }
    println!(
        "our server RSS after the authenticated run {rss_after_auth} KiB, peak {peak_rss} KiB"
    );
    print_stores(&stores);
    Ok(())
}

/// One replay store's rounds: logins/s and CPU µs per login.
struct StoreRuns {
    name: &'static str,
    per_second: Vec<f64>,
    cpu_us: Vec<f64>,
}

impl StoreRuns {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            per_second: Vec::new(),
            cpu_us: Vec::new(),
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The authenticated path with each replay store, in interleaved rounds (file cache, memory,
/// Redis, file cache, ...) so that drift in the machine's speed spreads over all of them.
fn compare_stores(realm: &TestRealm, users: &[load::User], o: &Options) -> Result<Vec<StoreRuns>> {
    let n = o.requests / 2;
    #[cfg(feature = "redis")]
    let redis = actix_gssapi_testing::TestRedis::start()?;
    let mut stores: Vec<(StoreRuns, String, Option<u32>)> = vec![
        (StoreRuns::new("MIT file cache"), "mit".to_owned(), None),
        (
            StoreRuns::new("in-process store"),
            "memory".to_owned(),
            None,
        ),
    ];
    #[cfg(feature = "redis")]
    stores.push((StoreRuns::new("Redis store"), redis.url(), redis.pid()));
    for round in 1..=o.store_rounds {
        for (runs, store, extra_pid) in &mut stores {
            #[cfg(feature = "redis")]
            redis.flushall()?;
            let server = start_ours_with(realm, false, store)?;
            load::run_with(
                server.addr,
                "/",
                o.connections,
                2_000,
                Credentials::Tokens(tokens(users, 2_000)?),
                Duration::from_secs(60),
            );
            let extra_before = extra_pid.map_or(0, cpu_ticks);
            let row = measure(
                &format!("store round {round}: {}", runs.name),
                &server,
                "/",
                o.connections,
                n,
                Credentials::Tokens(tokens(users, n)?),
            );
            check(&row, 200)?;
            let extra = extra_pid.map_or(0, cpu_ticks).saturating_sub(extra_before);
            runs.per_second.push(row.report.per_second());
            runs.cpu_us.push(
                row.cpu_us_per_req + extra as f64 * 10_000.0 / row.report.requests.max(1) as f64,
            );
        }
    }
    Ok(stores.into_iter().map(|(runs, _, _)| runs).collect())
}

fn print_stores(stores: &[StoreRuns]) {
    let Some(file) = stores.first() else {
        return;
    };
    let (base_rps, base_cpu) = (median(&file.per_second), median(&file.cpu_us));
    println!();
    println!(
        "replay stores, authenticated path, median of {} interleaved rounds:",
        file.per_second.len()
    );
    println!(
        "| store | logins/s | CPU µs/login | logins/s vs file cache | CPU vs file cache | \
         logins/s vs file cache, median of the rounds' ratios |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for s in stores {
        let (rps, cpu) = (median(&s.per_second), median(&s.cpu_us));
        // Each round measured every store back to back: its ratio is a paired comparison.
        let paired: Vec<f64> = s
            .per_second
            .iter()
            .zip(&file.per_second)
            .map(|(a, b)| a / b)
            .collect();
        println!(
            "| {} | {rps:.0} | {cpu:.0} | {:.2}x | {:.2}x | {:.2}x |",
            s.name,
            rps / base_rps,
            cpu / base_cpu,
            median(&paired)
        );
    }
}

/// Feeds wrk one token per request, each thread its own share of the file.
const WRK_SCRIPT: &str = r#"
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
end
function init(args)
  local threads = tonumber(args[2])
  tokens = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % threads == id then tokens[#tokens + 1] = line end
    i = i + 1
  end
  nxt = 1
end
function request()
  local t = tokens[nxt]
  nxt = nxt + 1
  if t == nil then
    -- Out of tokens: a request without one is answered 401, counted as non-2xx.
    return wrk.format("GET", "/")
  end
  return wrk.format("GET", "/", { ["Authorization"] = t })
end
"#;

/// The authenticated path under `wrk -t2 -c32 -d<secs>s --latency`, with `per_second × secs`
/// fresh tokens (more than the server can use). Fails when any answer was not 2xx.
fn measure_wrk(
    name: &str,
    server: &Server,
    users: &[load::User],
    realm: &TestRealm,
    secs: u64,
    per_second: usize,
) -> Result<Row> {
    let threads = 2;
    let n = per_second * secs as usize;
    let started = Instant::now();
    let made = load::make_tokens(users, "HTTP@localhost", n, 2)?;
    eprintln!("  made {n} tokens for wrk in {:.1?}", started.elapsed());
    let file = realm.dir().join("wrk-tokens.txt");
    let lines: Vec<&str> = made.iter().map(|t| t.header.as_str()).collect();
    std::fs::write(&file, lines.join("\n") + "\n")?;
    let script = realm.dir().join("wrk-tokens.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let before = cpu_ticks(server.child.id());
    let out = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", "32", "-d"])
        .arg(format!("{secs}s"))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{}/", server.addr))
        .arg("--")
        .arg(&file)
        .arg(threads.to_string())
        .output()
        .map_err(|e| format!("wrk: {e} (apt-get install wrk)"))?;
    let ticks = cpu_ticks(server.child.id()).saturating_sub(before);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    if text.contains("Non-2xx") {
        return Err(format!("{name}: wrk saw non-2xx answers (out of tokens?):\n{text}").into());
    }
    let field = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let latency_ms = |prefix: &str| -> f64 {
        let raw = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
            .unwrap_or("");
        let (num, unit) = raw.split_at(raw.find(|c: char| c.is_alphabetic()).unwrap_or(raw.len()));
        let v: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => v / 1000.0,
            "ms" => v,
            "s" => v * 1000.0,
            _ => f64::NAN,
        }
    };
    let rps = field("Requests/sec:").ok_or_else(|| format!("no Requests/sec in {text}"))?;
    let requests = (rps * secs as f64).round() as usize;
    let (p50, p99) = (latency_ms("50%"), latency_ms("99%"));
    eprintln!("  {name}: {rps:.0} req/s (wrk), p50 {p50:.2} ms, p99 {p99:.2} ms");
    let elapsed = Duration::from_secs(secs);
    Ok(Row {
        name: name.to_owned(),
        report: Report {
            requests,
            statuses: BTreeMap::from([(200, requests)]),
            mismatched: 0,
            errors: 0,
            elapsed,
            // Two points are enough for the table's p50 and p99.
            latencies_us: {
                let mut v = vec![(p50 * 1000.0) as u32; 98];
                v.push((p99 * 1000.0) as u32);
                v.push((p99 * 1000.0) as u32);
                v
            },
        },
        cpu_us_per_req: ticks as f64 * 10_000.0 / requests.max(1) as f64,
    })
}

/// Tokens for Apache: the same service, the same users; the body check is Apache's page.
fn apache_tokens(users: &[load::User], n: usize) -> Result<Arc<Vec<Token>>> {
    let t = tokens(users, n)?;
    let t = Arc::try_unwrap(t).map_err(|_| "tokens shared")?;
    Ok(Arc::new(
        t.into_iter()
            .map(|t| Token {
                header: t.header,
                expect: "Hello".to_owned(),
            })
            .collect(),
    ))
}

/// Logs in once with `authorization` and returns the `name=value` of the session cookie.
fn session_cookie(addr: SocketAddr, authorization: &str) -> Result<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    response
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no session cookie in {response:?}").into())
}
