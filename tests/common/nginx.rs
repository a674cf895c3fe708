//! A throwaway nginx and a throwaway Caddy for the forward-auth tests, each configured with
//! the guide's block, and the two servers behind them: the `ForwardAuth` endpoint and an
//! application that shows what reached it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_gssapi::{Capacity, ForwardAuth, Key, ServicePrincipal, SessionCookie, SpnegoAuth};
use actix_web::{web, App, HttpRequest};

use super::{free_port, realm, record_answers, Answers, Reaped};

use super::guide::{guide_block, point_nginx_block};

/// What reached the servers behind the proxy, in order: `/auth <Authorization scheme or -> ->
/// <status>` for each question the proxy asked the endpoint, `<path> user=<X-Remote-User>`
/// (and ` groups=<X-Remote-Groups>` when there are any) for each request of the application.
pub type Seen = Answers;

/// The endpoint (a session cookie without `Secure`: the proxies speak plain HTTP here) and an
/// application that echoes what it got: their ports, and what reached them.
pub fn servers() -> (u16, u16, Seen) {
    servers_with(ForwardAuth::new())
}

/// [`servers`] with `endpoint`'s settings and rules.
pub fn servers_with(endpoint: ForwardAuth) -> (u16, u16, Seen) {
    realm();
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .capacity(Capacity::new().login_queue_per_peer(None))
        .session_cookie(SessionCookie::new(Key::generate()).secure(false))
        .build()
        .expect("acceptor");
    let seen: Seen = Arc::default();
    let asked = Arc::clone(&seen);
    let endpoint = super::spawn_server(move || {
        App::new()
            .wrap_fn(record_answers(&asked, |req| {
                format!("{} {}", req.path(), super::authorization_scheme(req))
            }))
            .service(endpoint.clone().service("/auth", auth.clone()))
    });
    let record = Arc::clone(&seen);
    let upstream = super::spawn_server(move || {
        let record = Arc::clone(&record);
        App::new().default_service(web::to(move |req: HttpRequest| {
            let all = |name: &str| {
                req.headers()
                    .get_all(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect::<Vec<_>>()
                    .join("|")
            };
            let mut line = format!("{} user={}", req.path(), all("x-remote-user"));
            let groups = all("x-remote-groups");
            if !groups.is_empty() {
                line.push_str(&format!(" groups={groups}"));
            }
            record.lock().unwrap().push(line.clone());
            async move { line }
        }))
    });
    (endpoint.port(), upstream.port(), seen)
}

/// The lines of [`Seen`] for requests of `path`.
pub fn reached(seen: &Seen, path: &str) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|l| l.split(' ').next() == Some(path))
        .cloned()
        .collect()
}

/// The nginx configuration of the guide: its first ```nginx block.
pub fn guide_server_block() -> String {
    guide_block("nginx", 0)
}

/// The guide's `server` block with its HTTPS and HTTP/2 `listen` lines (its second ```nginx
/// block) instead of the plain one, on `cert` and `key`.
pub fn guide_tls_server_block(cert: &Path, key: &Path) -> String {
    with_tls_lines(
        guide_server_block(),
        "    listen 127.0.0.1:8080;\n",
        "nginx",
        cert,
        key,
    )
}

/// `config` with its line `plain` replaced by the guide's second block in `language` (its
/// HTTPS lines), the guide's certificate and key paths pointed at `cert` and `key`.
fn with_tls_lines(config: String, plain: &str, language: &str, cert: &Path, key: &Path) -> String {
    let tls = guide_block(language, 1)
        .replace(
            "/etc/ssl/certs/www.example.com.pem",
            &cert.display().to_string(),
        )
        .replace(
            "/etc/ssl/private/www.example.com.key",
            &key.display().to_string(),
        );
    assert!(config.contains(plain), "the guide's {plain:?} line changed");
    config.replacen(plain, &format!("{tls}\n"), 1)
}

/// Waits (at most 10 s) until `what` listens on `port`; fails with its `log` otherwise.
fn wait_for_listening(what: &str, port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running nginx (Debian's), one process, killed on drop.
pub struct Nginx {
    _process: Reaped,
    pub port: u16,
}

impl Nginx {
    /// nginx in a directory under `base` with `block` (a `server` block, as the guide's) in
    /// its `http` block, the guide's three addresses pointed at `port` (nginx's own, from
    /// [`free_port`]), `auth_port` (the endpoint) and `upstream_port` (the application).
    pub fn start(base: &Path, block: &str, auth_port: u16, upstream_port: u16) -> Self {
        let port = free_port();
        let dir = base.join(format!("nginx-{port}"));
        std::fs::create_dir_all(&dir).expect("nginx directory");
        let block = point_nginx_block(block, port, auth_port, upstream_port);
        let d = dir.display();
        // As root, nginx's workers would run as `nobody`, who cannot enter the realm's private
        // directory where the temporary paths are.
        let user = if is_root() { "user root;\n" } else { "" };
        // One process (no master and workers): killing it on drop leaves nothing behind.
        let conf = format!(
            "{user}master_process off;\nerror_log {d}/error.log info;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n \
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n \
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{block}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let nginx = nginx_binary();
        let process = Reaped(
            Command::new(&nginx)
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .args(["-g", "daemon off;"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("{}: {e} (apt-get install nginx-light)", nginx.display())
                }),
        );
        wait_for_listening("nginx", port, &dir.join("error.log"));
        Self {
            _process: process,
            port,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// [`url`](Self::url) over HTTPS, for a block that listens with `ssl`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(|uid| uid == "0"))
        .unwrap_or(false)
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

/// The Caddy site of the guide: its one ```caddyfile block.
pub fn guide_caddy_site() -> String {
    guide_block("caddyfile", 0)
}

/// The guide's Caddy site with its HTTPS lines (its second ```caddyfile block) instead of the
/// plain first line, on `cert` and `key`.
pub fn guide_tls_caddy_site(cert: &Path, key: &Path) -> String {
    with_tls_lines(
        guide_caddy_site(),
        "http://:8080 {\n",
        "caddyfile",
        cert,
        key,
    )
}

/// A running Caddy (Debian's), killed on drop.
pub struct Caddy {
    _process: Reaped,
    pub port: u16,
}

impl Caddy {
    /// Caddy in a directory under `base` with `site` (as the guide's), its addresses pointed
    /// at a free port, `auth_port` and `upstream_port`; no admin endpoint, no HTTPS.
    pub fn start(base: &Path, site: &str, auth_port: u16, upstream_port: u16) -> Self {
        let port = free_port();
        let dir = base.join(format!("caddy-{port}"));
        std::fs::create_dir_all(&dir).expect("caddy directory");
        let site = site
            .replace(":8080", &format!(":{port}"))
            .replace("127.0.0.1:8081", &format!("127.0.0.1:{auth_port}"))
            .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream_port}"));
        let conf = format!("{{\n\tadmin off\n\tauto_https off\n}}\n\n{site}\n");
        std::fs::write(dir.join("Caddyfile"), conf).expect("Caddyfile");
        let process = Reaped(
            Command::new("caddy")
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(dir.join("Caddyfile"))
                .env("HOME", &dir)
                .env("XDG_DATA_HOME", &dir)
                .env("XDG_CONFIG_HOME", &dir)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(
                    std::fs::File::create(dir.join("caddy.log"))
                        .map(std::process::Stdio::from)
                        .unwrap_or_else(|_| std::process::Stdio::null()),
                )
                .spawn()
                .unwrap_or_else(|e| panic!("caddy: {e} (apt-get install caddy)")),
        );
        wait_for_listening("caddy", port, &dir.join("caddy.log"));
        Self {
            _process: process,
            port,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// [`url`](Self::url) over HTTPS, for a site with `tls`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}
