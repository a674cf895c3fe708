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
//!
//! `--front` adds the rows of Kerberos in front of an application that knows nothing of it
//! (`harness/bench.rs` with `BENCH_ROLE=upstream`: it greets the `X-Remote-User` it gets, and
//! answers `400` without one, so every row checks the identity that reached it), each in front
//! of the same application process, with the same tokens:
//! - **nginx → `ForwardAuth`**: Debian's nginx with the forward-auth guide's blocks as
//!   written (only their three addresses changed; keep-alive connections to the endpoint and
//!   the application), master and `--nginx-workers N` workers (default: one per core, as
//!   Apache's event MPM also runs several processes), asking `harness/bench.rs` with
//!   `BENCH_ROLE=forward_auth` (the guide's endpoint setup); and its session-cookie path (the
//!   endpoint then issues cookies, which the guide's does not);
//! - **our reverse proxy**, `examples/proxy.rs` (when this checkout has it), and its
//!   session-cookie path;
//! - **Apache httpd + mod_auth_gssapi + mod_proxy**, passing the user on as `X-Remote-User`.
//!
//! It prints the application alone as the ceiling, each front's CPU (nginx's with its
//! endpoint's) and the application's apart, and the ratios of logins/s and p99 latency to
//! Apache's in the same run, with our load generator and (with `--wrk`) wrk. `--no-direct`
//! skips the rows of the servers serving the page themselves, `--store-rounds 0` the replay
//! stores: `scripts/bench.sh --no-direct --store-rounds 0 --front --wrk 8`.

#[path = "../tests/common/guide.rs"]
mod guide;
#[path = "../tests/common/load.rs"]
mod load;

use std::collections::BTreeMap;
use std::error::Error;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
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
    /// The rows of this crate's server and Apache's serving the page themselves.
    direct: bool,
    /// The rows of a proxy in front of an application: nginx → `ForwardAuth`, our reverse
    /// proxy (`examples/proxy.rs`), Apache with mod_proxy.
    front: bool,
    /// nginx's `worker_processes` in the front rows.
    nginx_workers: usize,
}

fn options() -> Result<Options> {
    let mut o = Options {
        requests: 100_000,
        connections: 64,
        apache: true,
        wrk: None,
        store_rounds: 3,
        direct: true,
        front: false,
        nginx_workers: std::thread::available_parallelism().map_or(2, |p| p.get()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--requests" => o.requests = args.next().ok_or("--requests N")?.parse()?,
            "--connections" => o.connections = args.next().ok_or("--connections N")?.parse()?,
            "--no-apache" => o.apache = false,
            "--no-direct" => o.direct = false,
            "--front" => o.front = true,
            "--nginx-workers" => {
                o.nginx_workers = args.next().ok_or("--nginx-workers N")?.parse()?;
            }
            "--wrk" => o.wrk = Some(args.next().ok_or("--wrk SECONDS")?.parse()?),
            "--store-rounds" => {
                o.store_rounds = args.next().ok_or("--store-rounds N")?.parse()?;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

/// Kills and reaps a child process (and, for Apache and nginx, its workers) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stop: Option<Vec<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(cmd) = &self.stop {
            let _ = Command::new(&cmd[0]).args(&cmd[1..]).status();
            // The stop command only signals: give the parent time to stop its workers, which
            // a kill of the parent alone would leave running.
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
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
    start_bench(
        realm,
        &[
            ("BENCH_SESSIONS", if sessions { "1" } else { "0" }),
            ("REPLAY_STORE", replay_store),
        ],
    )
}

/// `harness/bench.rs` with `env` (its `BENCH_*` settings).
fn start_bench(realm: &TestRealm, env: &[(&str, &str)]) -> Result<Server> {
    start_example(realm, "bench", env)
}

/// `target/release/examples/<name>` on a free port, in the realm, with `env`, once it says it
/// is listening; its log (warnings and errors only, as the other servers') in the realm's
/// directory.
fn start_example(realm: &TestRealm, name: &str, env: &[(&str, &str)]) -> Result<Server> {
    let exe = std::env::current_exe()?
        .parent()
        .ok_or("exe dir")?
        .join(name);
    let port = free_port()?;
    let rcache = realm.dir().join(format!("rcache-{name}-{port}"));
    std::fs::create_dir_all(&rcache)?;
    let mut child = Command::new(&exe)
        .arg(format!("127.0.0.1:{port}"))
        .envs(realm.env())
        .env(
            "KRB5_CONFIG",
            realm.krb5_config_with_clock_skew(CLOCK_SKEW)?,
        )
        .env("KRB5RCACHEDIR", &rcache)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(
            realm.dir().join(format!("{name}-{port}.log")),
        )?)
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
        return Err(format!("{name} said {first:?}").into());
    }
    Ok(Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        stop: None,
    })
}

/// Apache httpd with mod_auth_gssapi on the same keytab, as packaged by Debian, mpm_event, its
/// own directory, serving its own pages.
fn start_apache(realm: &TestRealm) -> Result<Server> {
    let dir = realm.dir().join("apache");
    let docs = dir.join("htdocs");
    std::fs::create_dir_all(docs.join("open"))?;
    std::fs::write(docs.join("index.html"), "Hello")?;
    std::fs::write(docs.join("open/index.html"), "open")?;
    let d = dir.display();
    start_apache_in(
        realm,
        &dir,
        "",
        &format!(
            r#"DocumentRoot {d}/htdocs
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
    )
}

/// Apache as [`start_apache`], in front of the application on `upstream_port` with mod_proxy
/// (connections to it kept alive and reused, mod_proxy_http's default), passing the user on
/// as `X-Remote-User` (set, so a client's own copy is replaced). The value is an `expr=`: with
/// `%{REMOTE_USER}s` (an environment variable) the application got `X-Remote-User: (null)`.
fn start_apache_front(realm: &TestRealm, upstream_port: u16) -> Result<Server> {
    let dir = realm.dir().join("apache-front");
    std::fs::create_dir_all(&dir)?;
    let d = dir.display();
    let modules = "/usr/lib/apache2/modules";
    start_apache_in(
        realm,
        &dir,
        &format!(
            "LoadModule proxy_module {modules}/mod_proxy.so\n\
             LoadModule proxy_http_module {modules}/mod_proxy_http.so\n\
             LoadModule headers_module {modules}/mod_headers.so\n"
        ),
        &format!(
            r#"<Location />
  AuthType GSSAPI
  AuthName "bench"
  GssapiCredStore keytab:{d}/http.keytab
  Require valid-user
  RequestHeader set X-Remote-User "expr=%{{REMOTE_USER}}"
</Location>
ProxyPass / http://127.0.0.1:{upstream_port}/
"#
        ),
    )
}

/// Apache in `dir` with `modules` (`LoadModule` lines) besides the ones every configuration
/// needs, and `site`. Workers run as www-data, so the keytab and krb5.conf are copied where
/// they can read them.
fn start_apache_in(realm: &TestRealm, dir: &Path, modules: &str, site: &str) -> Result<Server> {
    std::fs::copy(realm.keytab(), dir.join("http.keytab"))?;
    std::fs::copy(
        realm.krb5_config_with_clock_skew(CLOCK_SKEW)?,
        dir.join("krb5.conf"),
    )?;
    let port = free_port()?;
    let d = dir.display();
    let lib = "/usr/lib/apache2/modules";
    std::fs::write(
        dir.join("httpd.conf"),
        format!(
            r#"ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/httpd.pid
ErrorLog {d}/error.log
LogLevel warn
LoadModule mpm_event_module {lib}/mod_mpm_event.so
LoadModule authn_core_module {lib}/mod_authn_core.so
LoadModule authz_core_module {lib}/mod_authz_core.so
LoadModule authz_user_module {lib}/mod_authz_user.so
LoadModule auth_gssapi_module {lib}/mod_auth_gssapi.so
LoadModule dir_module {lib}/mod_dir.so
{modules}User www-data
Group www-data
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
{site}"#
        ),
    )?;
    let status = Command::new("chown")
        .args(["-R", "www-data:www-data"])
        .arg(dir)
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
        .env("KRB5RCACHEDIR", dir)
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
    /// The application's CPU behind a proxy (front rows only).
    upstream_cpu_us_per_req: Option<f64>,
}

/// CPU microseconds per request from clock ticks (1/100 s).
fn per_request_us(ticks: u64, requests: usize) -> f64 {
    ticks as f64 * 10_000.0 / requests.max(1) as f64
}

fn measure(
    name: &str,
    server: &Server,
    path: &str,
    connections: usize,
    requests: usize,
    credentials: Credentials,
) -> Row {
    measure_at(
        name,
        server.addr,
        &[server.child.id()],
        path,
        connections,
        requests,
        credentials,
    )
}

/// Load on `addr`, CPU of the processes `pids` (and their children).
fn measure_at(
    name: &str,
    addr: SocketAddr,
    pids: &[u32],
    path: &str,
    connections: usize,
    requests: usize,
    credentials: Credentials,
) -> Row {
    let cpu = || pids.iter().map(|&p| cpu_ticks(p)).sum::<u64>();
    let before = cpu();
    let report = load::run_with(
        addr,
        path,
        connections,
        requests,
        credentials,
        Duration::from_secs(900),
    );
    let cpu_us_per_req = per_request_us(cpu().saturating_sub(before), report.requests);
    eprintln!(
        "  {name}: {:.0} req/s, statuses {:?}",
        report.per_second(),
        report.statuses
    );
    Row {
        name: name.to_owned(),
        report,
        cpu_us_per_req,
        upstream_cpu_us_per_req: None,
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

    let direct = if o.direct {
        Some(direct_rows(&realm, &users, &o)?)
    } else {
        None
    };
    let front = if o.front {
        front_rows(&realm, &users, &o)?
    } else {
        Vec::new()
    };
    let stores = if o.store_rounds > 0 {
        compare_stores(&realm, &users, &o)?
    } else {
        Vec::new()
    };

    if let Some(direct) = &direct {
        print_direct(direct, &o);
    }
    print_front(&front);
    print_stores(&stores);
    Ok(())
}

/// The rows of this crate's server and Apache's serving the page themselves, and our
/// server's memory.
struct Direct {
    rows: Vec<Row>,
    rss_after_auth: u64,
    peak_rss: u64,
}

fn direct_rows(realm: &TestRealm, users: &[load::User], o: &Options) -> Result<Direct> {
    let (n, c) = (o.requests, o.connections);
    let mut rows = Vec::new();
    let ours = start_ours(realm, false)?;
    let pid = ours.child.id();
    // Warm-up (connections, allocator, keytab in the page cache), not measured.
    load::run_with(
        ours.addr,
        "/",
        c,
        2_000,
        Credentials::Tokens(tokens(users, 2_000)?),
        Duration::from_secs(60),
    );
    let auth = measure(
        "ours: authenticated",
        &ours,
        "/",
        c,
        n,
        Credentials::Tokens(tokens(users, n)?),
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

    let sessions = start_ours(realm, true)?;
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
        let apache = start_apache(realm)?;
        load::run_with(
            apache.addr,
            "/",
            c,
            2_000,
            Credentials::Tokens(apache_tokens(users, 2_000)?),
            Duration::from_secs(60),
        );
        let row = measure(
            "apache: authenticated",
            &apache,
            "/",
            c,
            n,
            Credentials::Tokens(apache_tokens(users, n)?),
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
        let ours = start_ours(realm, false)?;
        rows.push(measure_wrk(
            "wrk: ours authenticated",
            &ours,
            users,
            realm,
            secs,
            30_000,
        )?);
        drop(ours);
        if o.apache {
            let apache = start_apache(realm)?;
            rows.push(measure_wrk(
                "wrk: apache authenticated",
                &apache,
                users,
                realm,
                secs,
                12_000,
            )?);
        }
    }

    Ok(Direct {
        rows,
        rss_after_auth,
        peak_rss,
    })
}

fn print_direct(direct: &Direct, o: &Options) {
    let (rows, rss_after_auth, peak_rss) = (&direct.rows, direct.rss_after_auth, direct.peak_rss);
    print_table(rows, "path", "server");
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
            runs.cpu_us
                .push(row.cpu_us_per_req + per_request_us(extra, row.report.requests));
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
    let pids = [server.child.id()];
    measure_wrk_at(name, server.addr, &pids, users, realm, secs, per_second)
}

/// [`measure_wrk`] on `addr`, CPU of the processes `pids` (and their children).
fn measure_wrk_at(
    name: &str,
    addr: SocketAddr,
    pids: &[u32],
    users: &[load::User],
    realm: &TestRealm,
    secs: u64,
    per_second: usize,
) -> Result<Row> {
    let cpu = || pids.iter().map(|&p| cpu_ticks(p)).sum::<u64>();
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
    let before = cpu();
    let out = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", "32", "-d"])
        .arg(format!("{secs}s"))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}/"))
        .arg("--")
        .arg(&file)
        .arg(threads.to_string())
        .output()
        .map_err(|e| format!("wrk: {e} (apt-get install wrk)"))?;
    let ticks = cpu().saturating_sub(before);
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
        cpu_us_per_req: per_request_us(ticks, requests),
        upstream_cpu_us_per_req: None,
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

/// A proxy in front of the application: the process the load goes to and the other processes
/// of its path (nginx's auth endpoint), whose CPU the rows count together.
struct Front {
    entry: Server,
    helpers: Vec<Server>,
}

impl Front {
    fn pids(&self) -> Vec<u32> {
        std::iter::once(&self.entry)
            .chain(&self.helpers)
            .map(|s| s.child.id())
            .collect()
    }
}

/// Debian's nginx (master and `workers` worker processes) with the forward-auth guide's
/// `server` block as written, its three addresses pointed at a free port, `auth_port` and
/// `upstream_port`, as `tests/mit/forward_auth.rs` runs it; no access log (Apache's has none
/// either).
fn start_nginx(
    realm: &TestRealm,
    workers: usize,
    auth_port: u16,
    upstream_port: u16,
) -> Result<Server> {
    let port = free_port()?;
    let dir = realm.dir().join(format!("nginx-{port}"));
    std::fs::create_dir_all(&dir)?;
    let block = guide::point_nginx_block(
        &guide::guide_block("nginx", 0),
        port,
        auth_port,
        upstream_port,
    );
    let d = dir.display();
    // As root, nginx's workers would run as `nobody`, who cannot enter the realm's private
    // directory where the temporary paths are.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) == 0;
    let user = if root { "user root;\n" } else { "" };
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "{user}worker_processes {workers};\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n \
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n \
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{block}\n}}\n"
        ),
    )?;
    let base = |cmd: &mut Command| {
        cmd.arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"));
    };
    let mut start = Command::new("nginx");
    base(&mut start);
    let child = start
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("nginx: {e} (apt-get install nginx-light)"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr)?;
    let mut stop = Command::new("nginx");
    base(&mut stop);
    stop.args(["-s", "stop"]);
    Ok(Server {
        child,
        addr,
        stop: Some(
            std::iter::once(stop.get_program())
                .chain(stop.get_args())
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        ),
    })
}

/// Our reverse proxy, `examples/proxy.rs`, in front of the application on `upstream_port`;
/// `None` when this checkout has no such example.
fn start_proxy(realm: &TestRealm, upstream_port: u16) -> Result<Option<Server>> {
    let exe = std::env::current_exe()?
        .parent()
        .ok_or("exe dir")?
        .join("proxy");
    if !Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/proxy.rs")).exists()
        || !exe.exists()
    {
        eprintln!("  no examples/proxy.rs in this checkout (or not built): no proxy rows");
        return Ok(None);
    }
    let upstream = format!("http://127.0.0.1:{upstream_port}");
    start_example(
        realm,
        "proxy",
        &[("UPSTREAM", &upstream), ("SPNEGO_HOSTNAME", "localhost")],
    )
    .map(Some)
}

/// The load on a front, warmed up first; the application's CPU counted apart.
struct FrontRun<'a> {
    users: &'a [load::User],
    realm: &'a TestRealm,
    upstream: &'a Server,
    o: &'a Options,
}

impl FrontRun<'_> {
    /// Warm-up (connections, the endpoint's pools, the page cache), not measured.
    fn warm_up(&self, front: &Front) -> Result<()> {
        load::run_with(
            front.entry.addr,
            "/",
            self.o.connections,
            2_000,
            Credentials::Tokens(tokens(self.users, 2_000)?),
            Duration::from_secs(60),
        );
        Ok(())
    }

    /// A row of `measure` on `front`, with the application's CPU per request.
    fn row(&self, measure: impl FnOnce() -> Result<Row>) -> Result<Row> {
        let before = cpu_ticks(self.upstream.child.id());
        let mut row = measure()?;
        let ticks = cpu_ticks(self.upstream.child.id()).saturating_sub(before);
        row.upstream_cpu_us_per_req = Some(per_request_us(ticks, row.report.requests));
        Ok(row)
    }

    /// Our load generator through `front`, every answer a `200` for the right user.
    fn load(&self, name: &str, front: &Front, credentials: Credentials) -> Result<Row> {
        let row = self.row(|| {
            let (addr, pids) = (front.entry.addr, front.pids());
            let (c, n) = (self.o.connections, self.o.requests);
            Ok(measure_at(name, addr, &pids, "/", c, n, credentials))
        })?;
        check(&row, 200)?;
        Ok(row)
    }

    /// Logins with fresh tokens through `front`, with our load generator.
    fn authenticated(&self, name: &str, front: &Front) -> Result<Row> {
        let credentials = Credentials::Tokens(tokens(self.users, self.o.requests)?);
        self.load(name, front, credentials)
    }

    /// Logins with fresh tokens through `front`, with wrk (when asked): `per_second` tokens
    /// for each second, more than the front can use (a request without one fails the row).
    fn authenticated_wrk(
        &self,
        name: &str,
        front: &Front,
        per_second: usize,
    ) -> Result<Option<Row>> {
        let Some(secs) = self.o.wrk else {
            return Ok(None);
        };
        self.row(|| {
            let (addr, pids) = (front.entry.addr, front.pids());
            measure_wrk_at(name, addr, &pids, self.users, self.realm, secs, per_second)
        })
        .map(Some)
    }

    /// Requests with the session cookie of one login through `front`.
    fn cookie(&self, name: &str, front: &Front) -> Result<Row> {
        let login = Negotiation::start(&self.realm.alice_ccache(), "HTTP@localhost")?;
        let cookie = session_cookie(front.entry.addr, login.header())?;
        self.load(
            name,
            front,
            Credentials::Header(format!("Cookie: {cookie}").into()),
        )
    }
}

/// The front rows: the application alone, then nginx → `ForwardAuth`, our proxy and Apache +
/// mod_proxy in front of it, each authenticated (fresh token per request), and the session
/// cookie where the front has one.
fn front_rows(realm: &TestRealm, users: &[load::User], o: &Options) -> Result<Vec<Row>> {
    let upstream = start_bench(realm, &[("BENCH_ROLE", "upstream")])?;
    let run = FrontRun {
        users,
        realm,
        upstream: &upstream,
        o,
    };
    let mut rows = Vec::new();
    // The ceiling: the application alone, given the header a proxy would set.
    let mut row = measure(
        "application alone (no proxy)",
        &upstream,
        "/",
        o.connections,
        o.requests,
        Credentials::Header("X-Remote-User: alice@EXAMPLE.TEST".into()),
    );
    check(&row, 200)?;
    // No proxy: the CPU is the application's.
    row.upstream_cpu_us_per_req = Some(row.cpu_us_per_req);
    row.cpu_us_per_req = f64::NAN;
    rows.push(row);

    let nginx = |sessions: &str| -> Result<Front> {
        let endpoint = start_bench(
            realm,
            &[("BENCH_ROLE", "forward_auth"), ("BENCH_SESSIONS", sessions)],
        )?;
        let entry = start_nginx(
            realm,
            o.nginx_workers,
            endpoint.addr.port(),
            upstream.addr.port(),
        )?;
        Ok(Front {
            entry,
            helpers: vec![endpoint],
        })
    };
    // The guide's endpoint issues no session cookie: the logins run without.
    let front = nginx("0")?;
    run.warm_up(&front)?;
    rows.push(run.authenticated(NGINX_AUTH, &front)?);
    rows.extend(run.authenticated_wrk(NGINX_WRK, &front, 30_000)?);
    drop(front);
    let front = nginx("1")?;
    rows.push(run.cookie(NGINX_COOKIE, &front)?);

    if let Some(entry) = start_proxy(realm, upstream.addr.port())? {
        let front = Front {
            entry,
            helpers: Vec::new(),
        };
        run.warm_up(&front)?;
        rows.push(run.authenticated(PROXY_AUTH, &front)?);
        rows.extend(run.authenticated_wrk(PROXY_WRK, &front, 30_000)?);
        rows.push(run.cookie("proxy: session cookie", &front)?);
    }

    let front = Front {
        entry: start_apache_front(realm, upstream.addr.port())?,
        helpers: Vec::new(),
    };
    run.warm_up(&front)?;
    rows.push(run.authenticated(APACHE_AUTH, &front)?);
    rows.extend(run.authenticated_wrk(APACHE_WRK, &front, 12_000)?);
    Ok(rows)
}

const NGINX_AUTH: &str = "nginx → ForwardAuth: authenticated";
const NGINX_WRK: &str = "wrk: nginx → ForwardAuth, authenticated";
const NGINX_COOKIE: &str = "nginx → ForwardAuth: session cookie";
const PROXY_AUTH: &str = "proxy: authenticated";
const PROXY_WRK: &str = "wrk: proxy, authenticated";
const APACHE_AUTH: &str = "apache → mod_proxy: authenticated";
const APACHE_WRK: &str = "wrk: apache → mod_proxy, authenticated";

fn print_front(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    print_table(rows, "in front of the application", "proxy");
    let get = |name: &str| rows.iter().find(|r| r.name == name);
    println!();
    for (ours, apache) in [
        (NGINX_AUTH, APACHE_AUTH),
        (PROXY_AUTH, APACHE_AUTH),
        (NGINX_WRK, APACHE_WRK),
        (PROXY_WRK, APACHE_WRK),
    ] {
        let (Some(a), Some(b)) = (get(ours), get(apache)) else {
            continue;
        };
        println!(
            "{ours} / {apache}: {:.2}x logins/s, p99 {:.2}x",
            a.report.per_second() / b.report.per_second(),
            a.report.percentile_ms(0.99) / b.report.percentile_ms(0.99)
        );
    }
}

/// The rows as a Markdown table, headed `first` and `<whose> CPU µs/req`, with the
/// application's CPU when the rows have it.
fn print_table(rows: &[Row], first: &str, whose: &str) {
    let application = rows.iter().any(|r| r.upstream_cpu_us_per_req.is_some());
    let (app_head, app_rule) = if application {
        (" application CPU µs/req |", " ---: |")
    } else {
        ("", "")
    };
    println!();
    println!(
        "| {first} | req/s | p50 ms | p99 ms | {whose} CPU µs/req |{app_head} connection errors |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |{app_rule} ---: |");
    for r in rows {
        let app = match r.upstream_cpu_us_per_req {
            Some(cpu) if application => format!(" {} |", whole_or_dash(cpu)),
            _ if application => " – |".to_owned(),
            _ => String::new(),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} |{app} {} |",
            r.name,
            r.report.per_second(),
            r.report.percentile_ms(0.5),
            r.report.percentile_ms(0.99),
            whole_or_dash(r.cpu_us_per_req),
            r.report.errors
        );
    }
}

/// `v` rounded, or `–` for no figure.
fn whole_or_dash(v: f64) -> String {
    if v.is_nan() {
        "–".to_owned()
    } else {
        format!("{v:.0}")
    }
}
