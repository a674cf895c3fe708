//! A throwaway Redis server, for tests of the shared replay store.

use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{check, free_port, make_private_dir, require_tools, Owned};

/// How the server asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Off,
    /// TLS; a client certificate is checked if sent (`tls-auth-clients optional`).
    Optional,
    /// TLS; a client certificate is required (`tls-auth-clients yes`).
    Required,
}

/// A running `redis-server` on 127.0.0.1, on a free port, its files (log, certificates) in a
/// temporary directory, with a password (`requirepass`) and no persistence.
///
/// Needs `redis-server` on the `PATH` (Debian/Ubuntu: `apt-get install redis-server`), and
/// `openssl` for the TLS variants. Starts in well under a second. The server is stopped and
/// its directory removed when the `TestRedis` is dropped; a watchdog shell stops it too when
/// the test process ends without dropping it.
///
/// ```no_run
/// use actix_gssapi::RedisConfig; // the `redis` feature
/// use actix_gssapi_testing::TestRedis;
///
/// let redis = TestRedis::start_tls().unwrap();
/// let config = RedisConfig::new(redis.url()).tls_root_certificates(redis.ca_pem());
/// // ... build the middleware with `config`; `redis.stop()` and `redis.restart()` test
/// // what it does while Redis is down and after it is back.
/// ```
#[derive(Debug)]
pub struct TestRedis {
    dir: PathBuf,
    port: u16,
    password: String,
    tls: Tls,
    /// More `redis-server` arguments (a cluster node's).
    extra_args: Vec<String>,
    server: Owned,
}

impl TestRedis {
    /// Starts a server without TLS: [`url`](Self::url) is `redis://:<password>@127.0.0.1:<port>`.
    ///
    /// # Errors
    /// When `redis-server` is missing (the message says which package to install) or does not
    /// listen within 10 seconds (the error carries its log).
    pub fn start() -> io::Result<Self> {
        Self::start_inner(Tls::Off)
    }

    /// Starts a server that speaks only TLS (`--port 0 --tls-port <port>`): its certificate,
    /// for `127.0.0.1` and `localhost`, is signed by a CA made for it ([`ca_pem`](Self::ca_pem)),
    /// which no system trusts. A client certificate ([`client_certificate`](Self::client_certificate),
    /// signed by the same CA) is checked if the client sends one, and not required.
    /// [`url`](Self::url) is `rediss://:<password>@127.0.0.1:<port>`.
    ///
    /// # Errors
    /// As [`start`](Self::start), and when `openssl` is missing or fails.
    pub fn start_tls() -> io::Result<Self> {
        Self::start_inner(Tls::Optional)
    }

    /// Like [`start_tls`](Self::start_tls), and the server refuses a client without a
    /// certificate its CA signed (`tls-auth-clients yes`: mutual TLS).
    ///
    /// # Errors
    /// As [`start_tls`](Self::start_tls).
    pub fn start_mutual_tls() -> io::Result<Self> {
        Self::start_inner(Tls::Required)
    }

    /// A server without TLS with `password` and `extra_args` (a cluster node's settings).
    pub(crate) fn start_with(password: &str, extra_args: Vec<String>) -> io::Result<Self> {
        Self::start_inner_with(Tls::Off, Some(password.to_owned()), extra_args)
    }

    fn start_inner(tls: Tls) -> io::Result<Self> {
        Self::start_inner_with(tls, None, Vec::new())
    }

    fn start_inner_with(
        tls: Tls,
        password: Option<String>,
        extra_args: Vec<String>,
    ) -> io::Result<Self> {
        let mut tools = vec![("redis-server", "redis-server")];
        if tls != Tls::Off {
            tools.push(("openssl", "openssl"));
        }
        require_tools(&tools)?;
        let dir = make_private_dir()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut redis = Self {
            port: free_port()?,
            password: password.unwrap_or_else(|| format!("test-{}-{nanos:x}", std::process::id())),
            dir,
            tls,
            extra_args,
            server: Owned::default(),
        };
        if tls != Tls::Off {
            super::make_certificates(&redis.dir)?;
        }
        redis.run_server()?;
        Ok(redis)
    }

    /// The URL to give `RedisConfig::new` (the `redis` feature), with the password:
    /// `redis://:<password>@127.0.0.1:<port>`, or `rediss://...` for TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls == Tls::Off {
            "redis"
        } else {
            "rediss"
        };
        format!("{scheme}://:{}@127.0.0.1:{}", self.password, self.port)
    }

    /// The server's password (`requirepass`, for Redis' `default` user).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The server's port on 127.0.0.1 (its TLS port for the TLS variants).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The running server's process id (`None` while stopped): e.g. to measure its CPU time.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// The directory that holds the server's files (`redis.log`, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PEM certificate of the CA that signed the server's certificate and the client's
    /// (TLS variants only; empty without TLS).
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap_or_default()
    }

    /// A client certificate the server accepts, and its private key, both PEM (TLS variants
    /// only; empty without TLS).
    pub fn client_certificate(&self) -> (Vec<u8>, Vec<u8>) {
        (
            std::fs::read(self.dir.join("client.pem")).unwrap_or_default(),
            std::fs::read(self.dir.join("client.key")).unwrap_or_default(),
        )
    }

    /// Stops the server (kills it and waits for it). Clients see it gone, as after a crash;
    /// [`restart`](Self::restart) brings it back. Stopping a stopped server does nothing.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Freezes the server (`SIGSTOP`): connections stay open and nothing answers, as with
    /// a server that hangs or a network that drops packets. [`resume`](Self::resume) thaws it.
    ///
    /// # Errors
    /// When the server is not running or the signal cannot be sent.
    pub fn pause(&self) -> io::Result<()> {
        self.signal("STOP")
    }

    /// Thaws a server frozen by [`pause`](Self::pause) (`SIGCONT`).
    ///
    /// # Errors
    /// When the server is not running or the signal cannot be sent.
    pub fn resume(&self) -> io::Result<()> {
        self.signal("CONT")
    }

    fn signal(&self, signal: &str) -> io::Result<()> {
        self.server.signal(signal, "redis-server")
    }

    /// Starts the server again, on the same port with the same password and certificates
    /// (stopping it first if it runs). It comes back empty: nothing is persisted.
    ///
    /// # Errors
    /// When the server does not listen within 10 seconds.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.run_server()
    }

    /// Deletes every key (`FLUSHALL`).
    ///
    /// # Errors
    /// When the server does not answer `+OK` (it is stopped...); for the TLS variants, also
    /// when `redis-cli` (Debian/Ubuntu: `redis-tools`) is missing.
    pub fn flushall(&self) -> io::Result<()> {
        if self.tls == Tls::Off {
            let answer = self.command(&["FLUSHALL"])?;
            return if answer.starts_with("+OK") {
                Ok(())
            } else {
                Err(io::Error::other(format!("FLUSHALL: {answer}")))
            };
        }
        require_tools(&[("redis-cli", "redis-tools")])?;
        let d = &self.dir;
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("--tls")
            .arg("--cacert")
            .arg(d.join("ca.pem"))
            .arg("--cert")
            .arg(d.join("client.pem"))
            .arg("--key")
            .arg(d.join("client.key"))
            .arg("--no-auth-warning")
            .env("REDISCLI_AUTH", &self.password)
            .arg("FLUSHALL")
            .stdin(Stdio::null())
            .output()?;
        let text = check(out, "redis-cli FLUSHALL")?;
        if text.trim() == "OK" {
            Ok(())
        } else {
            Err(io::Error::other(format!("FLUSHALL: {text}")))
        }
    }

    /// Sends one command, logged in as `default` with the password, and returns the first
    /// line of the answer as Redis sent it (RESP: `+OK`, `-ERR ...`, `:1`...), e.g.
    /// `command(&["ACL", "SETUSER", "replay", "on", ">pw", "~replay:*", "+set"])`. Only for
    /// a server without TLS ([`start`](Self::start)).
    ///
    /// # Errors
    /// When the server is a TLS one, stopped, or refuses the password.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        if self.tls != Tls::Off {
            return Err(io::Error::other(
                "TestRedis::command speaks plain RESP, and this server speaks only TLS",
            ));
        }
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(&resp(&["AUTH", &self.password]))?;
        stream.write_all(&resp(args))?;
        let mut answer = Vec::new();
        let mut buf = [0; 1024];
        // Two answers, each one line (`+OK`, `-ERR ...`): read until both are in.
        while answer.iter().filter(|&&b| b == b'\n').count() < 2 {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let mut lines = answer.lines();
        match lines.next() {
            Some(auth) if auth.starts_with("+OK") => Ok(lines.next().unwrap_or("").to_owned()),
            auth => Err(io::Error::other(format!("AUTH: {}", auth.unwrap_or("")))),
        }
    }

    fn run_server(&mut self) -> io::Result<()> {
        let d = &self.dir;
        let mut args: Vec<String> = vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--daemonize".into(),
            "no".into(),
            "--dir".into(),
            d.display().to_string(),
            "--logfile".into(),
            d.join("redis.log").display().to_string(),
            "--requirepass".into(),
            self.password.clone(),
        ];
        args.extend(self.extra_args.iter().cloned());
        let port = self.port.to_string();
        match self.tls {
            Tls::Off => args.extend(["--port".into(), port]),
            Tls::Optional | Tls::Required => {
                let file = |name: &str| d.join(name).display().to_string();
                args.extend([
                    "--port".into(),
                    "0".into(),
                    "--tls-port".into(),
                    port,
                    "--tls-cert-file".into(),
                    file("server.pem"),
                    "--tls-key-file".into(),
                    file("server.key"),
                    "--tls-ca-cert-file".into(),
                    file("ca.pem"),
                    "--tls-auth-clients".into(),
                    if self.tls == Tls::Required {
                        "yes"
                    } else {
                        "optional"
                    }
                    .into(),
                ]);
            }
        }
        self.server.start(
            Command::new("redis-server")
                .args(&args)
                .stderr(Stdio::null()),
            self.port,
            &self.dir.join("redis.log"),
            "redis-server",
        )?;
        if self.tls == Tls::Off {
            // Listening is not quite ready: wait until it answers.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match self.command(&["PING"]) {
                    Ok(answer) if answer.starts_with("+PONG") => break,
                    result if Instant::now() > deadline => {
                        self.stop();
                        return Err(io::Error::other(format!(
                            "redis-server on 127.0.0.1:{} does not answer PING: {result:?}",
                            self.port
                        )));
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        Ok(())
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One command in RESP (an array of bulk strings).
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}
