//! Test support for [actix-gssapi]: a throwaway MIT Kerberos realm, a throwaway Active
//! Directory domain (a Samba AD DC), a Negotiate client and a throwaway Redis, to test your
//! own protected handlers against real Kerberos. Add it as a dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! actix-gssapi-testing = "0.1"
//! ```
//!
//! Its API is for tests: it follows its own version, not actix-gssapi's.
//! [`TestRealm::start`] creates a realm in a temporary
//! directory (database, `krb5.conf`, a keytab for `HTTP/localhost`, a user `alice` with a
//! forwardable ticket) and runs its own `krb5kdc` on a free loopback port. It needs MIT
//! Kerberos' server tools on the `PATH` (Debian/Ubuntu: `krb5-kdc krb5-admin-server
//! krb5-user`); setup takes well under a second.
//!
//! GSSAPI reads `KRB5_CONFIG`, `KRB5_KTNAME` and `KRB5CCNAME` from the process environment,
//! once. So a test binary shares one realm, made by [`shared_realm`] before its first GSSAPI
//! call:
//!
//! ```no_run
//! use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
//! use actix_gssapi_testing::{shared_realm, Negotiation};
//! use actix_web::{test, web, App};
//!
//! #[actix_web::test]
//! async fn alice_gets_in() {
//!     let realm = shared_realm(); // exports KRB5_CONFIG, KRB5_KTNAME, KRB5CCNAME, KRB5RCACHEDIR
//!     let auth = SpnegoAuth::builder()
//!         .principal(ServicePrincipal::host("localhost"))
//!         .build()
//!         .unwrap();
//!     let app = test::init_service(
//!         App::new()
//!             .wrap(auth)
//!             .route("/", web::get().to(|id: KerberosIdentity| async move {
//!                 id.principal().to_owned()
//!             })),
//!     )
//!     .await;
//!     // A fresh token per request: the server's replay cache refuses a second use.
//!     let client = Negotiation::start(&realm.alice_ccache(), "HTTP@localhost").unwrap();
//!     let req = test::TestRequest::get()
//!         .uri("/")
//!         .insert_header(("Authorization", client.header()))
//!         .to_request();
//!     let body = test::call_and_read_body(&app, req).await;
//!     assert_eq!(body, format!("alice@{}", realm.realm()));
//! }
//! ```
//!
//! Its `krb5.conf` maps principals to local names (`auth_to_local`) by MIT's default rule
//! (`alice@EXAMPLE.TEST` is `alice`) and one of its own: any `ops/<instance>` principal is
//! `operator`.
//!
//! [`TestRedis`] runs a throwaway `redis-server` (plain or TLS, with a password) for tests of
//! the shared replay store, and [`TestRedisCluster`] a Redis Cluster of three of them.
//! [`TestSlapd`] runs a throwaway OpenLDAP `slapd` with users and (nested) groups, for tests
//! of the LDAP group source.
//! [`TestGssproxy`] runs a throwaway gssproxy daemon that holds a realm's keytab for a server
//! that never reads it.
//!
//! The KDC is stopped and the directory removed when the [`TestRealm`] is dropped, and — for
//! the shared realm, which lives as long as the process — by a watchdog shell that notices the
//! test process has gone. Nothing is left running.
//!
//! [actix-gssapi]: https://docs.rs/actix-gssapi
#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE};

mod ad;
mod ffi;
mod gssproxy;
mod redis;
mod redis_cluster;
mod slapd;

pub use ad::{shared_domain, TestDomain, AD_REALM, AD_USERS, MANY_GROUPS};
pub use gssproxy::TestGssproxy;
pub use redis::TestRedis;
pub use redis_cluster::TestRedisCluster;
pub use slapd::TestSlapd;

/// The realm name of every [`TestRealm`].
pub const REALM: &str = "EXAMPLE.TEST";
/// The password of the user `alice` that [`TestRealm::start`] creates.
pub const ALICE_PASSWORD: &str = "alice-password";

/// The clock skew a test realm tolerates, in seconds (MIT's default is 300). Short, so that a
/// test of an expired ticket does not wait five minutes.
pub const CLOCK_SKEW_SECS: u64 = 5;

const MASTER_PASSWORD: &str = "master-password-for-a-throwaway-realm";

/// A running throwaway realm: a KDC on loopback and its files in a temporary directory.
#[derive(Debug)]
pub struct TestRealm {
    realm: String,
    dir: PathBuf,
    kdc_port: u16,
    watchdog: Option<Child>,
    /// The KDC issues anonymous tickets (anonymous PKINIT).
    anonymous: bool,
}

impl TestRealm {
    /// Creates the realm and starts its KDC.
    ///
    /// The realm has `HTTP/localhost` (and `HTTP/<machine host name>`) in
    /// [`keytab`](Self::keytab), and a user `alice` ([`ALICE_PASSWORD`]) with a forwardable
    /// ticket in [`alice_ccache`](Self::alice_ccache).
    ///
    /// # Errors
    /// When the Kerberos tools are missing (the message says which packages to install) or the
    /// KDC does not come up within 10 seconds.
    pub fn start() -> io::Result<Self> {
        Self::start_named(REALM)
    }

    /// Like [`start`](Self::start), for a realm with another name (e.g. a foreign realm whose
    /// tickets the server must refuse). Its `localhost` maps to that realm.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_named(realm: &str) -> io::Result<Self> {
        Self::start_inner(realm, false)
    }

    /// Like [`start_named`](Self::start_named), and the KDC also issues anonymous tickets
    /// (anonymous PKINIT, `kinit -n`; see [`kinit_anonymous`](Self::kinit_anonymous)), as
    /// realms that armour logins with FAST do. Needs `openssl` and MIT's PKINIT plugin
    /// (Debian/Ubuntu: `apt-get install openssl krb5-pkinit`).
    ///
    /// # Errors
    /// As [`start`](Self::start), and when the KDC certificate cannot be made.
    pub fn start_with_anonymous_pkinit(realm: &str) -> io::Result<Self> {
        Self::start_inner(realm, true)
    }

    fn start_inner(realm: &str, anonymous: bool) -> io::Result<Self> {
        const MIT: &str = "krb5-kdc krb5-admin-server krb5-user";
        let mut tools = vec![
            ("kdb5_util", MIT),
            ("kadmin.local", MIT),
            ("krb5kdc", MIT),
            ("kinit", MIT),
        ];
        if anonymous {
            tools.push(("openssl", "openssl"));
        }
        require_tools(&tools)?;
        let dir = make_private_dir()?;
        let kdc_port = free_port()?;
        let mut realm = Self {
            realm: realm.to_owned(),
            dir,
            kdc_port,
            watchdog: None,
            anonymous,
        };
        if anonymous {
            realm.make_kdc_certificate()?;
        }
        realm.write_config()?;
        realm.run(
            "kdb5_util",
            &["create", "-s", "-r", &realm.realm, "-P", MASTER_PASSWORD],
        )?;
        realm.start_kdc()?;
        if anonymous {
            realm.kadmin("addprinc -randkey WELLKNOWN/ANONYMOUS")?;
        }
        let keytab = realm.keytab();
        realm.add_service("HTTP/localhost", &keytab)?;
        if let Some(host) = ffi::machine_hostname() {
            if host != "localhost" {
                realm.add_service(&format!("HTTP/{host}"), &keytab)?;
            }
        }
        realm.add_user("alice", ALICE_PASSWORD)?;
        realm.kinit("alice", ALICE_PASSWORD, &[])?;
        Ok(realm)
    }

    /// The realm's name ([`REALM`] unless started with [`start_named`](Self::start_named)).
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The directory that holds the realm's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The KDC's port on 127.0.0.1.
    pub fn kdc_port(&self) -> u16 {
        self.kdc_port
    }

    /// The realm's `krb5.conf`.
    pub fn krb5_config(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The keytab with `HTTP/localhost` (and `HTTP/<machine host name>`).
    pub fn keytab(&self) -> PathBuf {
        self.dir.join("http.keytab")
    }

    /// The credential cache that holds alice's forwardable ticket.
    pub fn alice_ccache(&self) -> PathBuf {
        self.ccache("alice")
    }

    /// Where [`kinit`](Self::kinit) puts a user's ticket.
    pub fn ccache(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{}.cc", user.replace('/', "_")))
    }

    /// The environment a Kerberos program needs to use this realm: `KRB5_CONFIG`,
    /// `KRB5_KTNAME` (the HTTP keytab), `KRB5CCNAME` (alice's ticket) and `KRB5RCACHEDIR`
    /// (a replay cache inside the realm's directory).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        kerberos_env(
            &self.krb5_config(),
            &self.keytab(),
            &self.alice_ccache(),
            &self.dir,
        )
    }

    /// Sets [`env`](Self::env) in this process. Call it before the process's first GSSAPI call
    /// (the Kerberos library reads them once), and only while no other thread reads the
    /// environment.
    pub fn export_env(&self) {
        export(self.env());
    }

    /// Runs one `kadmin.local` query, e.g. `addprinc -randkey HTTP/www.example.test`, and
    /// returns its output.
    ///
    /// # Errors
    /// When kadmin.local fails; the error carries its output.
    pub fn kadmin(&self, query: &str) -> io::Result<String> {
        self.run("kadmin.local", &["-r", &self.realm, "-q", query])
    }

    /// Creates a service principal with a random key and adds its key to `keytab`.
    ///
    /// # Errors
    /// When kadmin.local fails.
    pub fn add_service(&self, principal: &str, keytab: &Path) -> io::Result<()> {
        self.kadmin(&format!("addprinc -randkey {principal}"))?;
        self.kadmin(&format!("ktadd -k {} {principal}", keytab.display()))?;
        Ok(())
    }

    /// Gets a service ticket for `principal` into `ccache` now (`kvno`), so that a client run
    /// later (e.g. under `faketime`) builds its authenticator from the cached ticket without
    /// asking the KDC.
    ///
    /// # Errors
    /// When `kvno` fails.
    pub fn fetch_service_ticket(&self, ccache: &Path, principal: &str) -> io::Result<()> {
        let out = self
            .command("kvno")
            .arg("-c")
            .arg(prefixed("FILE:", ccache))
            .arg(principal)
            .output()?;
        check(out, "kvno").map(drop)
    }

    /// Creates a user principal with a password.
    ///
    /// # Errors
    /// When kadmin.local fails.
    pub fn add_user(&self, name: &str, password: &str) -> io::Result<()> {
        self.kadmin(&format!("addprinc -pw {password} {name}"))?;
        Ok(())
    }

    /// Gets a forwardable ticket for `user` into [`ccache`](Self::ccache)`(user)`, with extra
    /// `kinit` arguments (e.g. `["-l", "5s"]` for a short lifetime), and returns the cache.
    ///
    /// # Errors
    /// When kinit fails (wrong password, disabled principal...); the error carries its output.
    pub fn kinit(&self, user: &str, password: &str, extra: &[&str]) -> io::Result<PathBuf> {
        let ccache = self.ccache(user);
        let mut args = vec!["-f"];
        args.extend_from_slice(extra);
        args.push(user);
        kinit_with_password(self.command("kinit").args(&args), password, &ccache)?;
        Ok(ccache)
    }

    /// Gets an anonymous ticket (`kinit -n`: the client is
    /// `WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS`) into [`ccache`](Self::ccache)`("anonymous")`,
    /// and returns the cache. Only in a realm made by
    /// [`start_with_anonymous_pkinit`](Self::start_with_anonymous_pkinit).
    ///
    /// # Errors
    /// When kinit fails (e.g. the PKINIT plugin is missing: install `krb5-pkinit`).
    pub fn kinit_anonymous(&self) -> io::Result<PathBuf> {
        let ccache = self.ccache("anonymous");
        let out = self
            .command("kinit")
            .args(["-n", &format!("@{}", self.realm)])
            .env("KRB5CCNAME", prefixed("FILE:", &ccache))
            // Without PKINIT kinit asks for a password: fail instead of waiting for one.
            .stdin(Stdio::null())
            .output()?;
        check(
            out,
            "kinit -n (anonymous PKINIT; is krb5-pkinit installed?)",
        )?;
        Ok(ccache)
    }

    /// A self-signed KDC certificate for PKINIT: the `id-pkinit-KPKdc` key purpose and the
    /// `krbtgt/REALM@REALM` name as subject alternative name (MIT's PKINIT documentation).
    /// Clients trust it directly (`pkinit_anchors`); anonymous PKINIT needs no client cert.
    fn make_kdc_certificate(&self) -> io::Result<()> {
        let realm = &self.realm;
        let config = self.dir.join("kdc-cert.cnf");
        std::fs::write(
            &config,
            format!(
                "[req]
distinguished_name = dn
prompt = no

[dn]
CN = kdc

[kdc_cert]
basicConstraints = CA:FALSE
keyUsage = digitalSignature,keyEncipherment,keyAgreement
extendedKeyUsage = 1.3.6.1.5.2.3.5
subjectKeyIdentifier = hash
subjectAltName = otherName:1.3.6.1.5.2.2;SEQUENCE:kdc_princ_name

[kdc_princ_name]
realm = EXP:0,GeneralString:{realm}
principal_name = EXP:1,SEQUENCE:kdc_principal_seq

[kdc_principal_seq]
name_type = EXP:0,INTEGER:2
name_string = EXP:1,SEQUENCE:kdc_principals

[kdc_principals]
princ1 = GeneralString:krbtgt
princ2 = GeneralString:{realm}
"
            ),
        )?;
        let key = self.dir.join("kdc-key.pem");
        let cert = self.dir.join("kdc-cert.pem");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .arg("-config")
            .arg(&config)
            .args(["-extensions", "kdc_cert"])
            .stdin(Stdio::null())
            .output()?;
        check(out, "openssl req (PKINIT KDC certificate)")?;
        Ok(())
    }

    /// A [`Command`] for a Kerberos program, with this realm's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env())
            .env("KRB5_KDC_PROFILE", self.dir.join("kdc.conf"));
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> io::Result<String> {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        check(out, program)
    }

    /// Writes a copy of the realm's `krb5.conf` that tolerates `secs` of clock skew, and
    /// returns its path: give it as `KRB5_CONFIG` to a server process that must accept tokens
    /// made long before they are used (a benchmark's pre-generated tokens), since an
    /// authenticator older than the allowance is refused.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn krb5_config_with_clock_skew(&self, secs: u64) -> io::Result<PathBuf> {
        let path = self.dir.join(format!("krb5-skew-{secs}.conf"));
        std::fs::write(&path, self.krb5_conf_text(secs))?;
        Ok(path)
    }

    fn write_config(&self) -> io::Result<()> {
        std::fs::write(
            self.dir.join("krb5.conf"),
            self.krb5_conf_text(CLOCK_SKEW_SECS),
        )?;
        let d = self.dir.display();
        let port = self.kdc_port;
        let realm = &self.realm;
        let pkinit = if self.anonymous {
            let identity = format!("FILE:{d}/kdc-cert.pem,{d}/kdc-key.pem");
            let anchors = format!("FILE:{d}/kdc-cert.pem");
            format!("        pkinit_identity = {identity}\n        pkinit_anchors = {anchors}\n")
        } else {
            String::new()
        };
        std::fs::write(
            self.dir.join("kdc.conf"),
            format!(
                "[kdcdefaults]
    kdc_ports = {port}
    kdc_tcp_ports = {port}

[realms]
    {realm} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        max_life = 10h
        max_renewable_life = 1d
{pkinit}    }}

[logging]
    kdc = FILE:{d}/kdc.log
"
            ),
        )?;
        std::fs::write(self.dir.join("kadm5.acl"), "")?;
        Ok(())
    }

    fn krb5_conf_text(&self, clock_skew: u64) -> String {
        let d = self.dir.display();
        let port = self.kdc_port;
        let realm = &self.realm;
        let mut domain_realm = format!("    localhost = {realm}\n    .localhost = {realm}\n");
        if let Some(host) = ffi::machine_hostname() {
            let _ = writeln!(domain_realm, "    {host} = {realm}");
        }
        let anchors = if self.anonymous {
            format!("        pkinit_anchors = FILE:{d}/kdc-cert.pem\n")
        } else {
            String::new()
        };
        format!(
            "[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    forwardable = true
    udp_preference_limit = 1
    clockskew = {clock_skew}
    default_ccache_name = FILE:{d}/default.cc
    default_keytab_name = FILE:{d}/http.keytab

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
        auth_to_local = RULE:[2:$1/$2](ops/.*)s/^.*$/operator/
        auth_to_local = DEFAULT
{anchors}    }}

[domain_realm]
{domain_realm}"
        )
    }

    fn start_kdc(&mut self) -> io::Result<()> {
        // `krb5kdc -n` stays in the foreground so that it can be killed and reaped. The shell
        // around it stops it (and removes the realm's directory) when this process exits
        // without dropping the realm, as a `static` shared realm does.
        let script = r#"
            krb5kdc -n -r "$REALM" -P "$DIR/kdc.pid" &
            kdc=$!
            while kill -0 "$OWNER" 2>/dev/null && kill -0 "$kdc" 2>/dev/null; do sleep 0.5; done
            kill "$kdc" 2>/dev/null
            wait "$kdc" 2>/dev/null
            rm -rf "$DIR"
        "#;
        let child = self
            .command("sh")
            .arg("-c")
            .arg(script)
            .env("REALM", &self.realm)
            .env("DIR", &self.dir)
            .env("OWNER", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.watchdog = Some(child);
        let watchdog = self.watchdog.as_mut().expect("just set");
        wait_for_port(
            self.kdc_port,
            watchdog,
            &self.dir.join("kdc.log"),
            "krb5kdc",
            Duration::from_secs(10),
        )
    }
}

/// A shell that kills the process `pid` when this process ends without stopping it (a static
/// fixture, a killed test), and ends when that process does; then it removes `dir`, if given.
pub(crate) fn watchdog(pid: u32, dir: Option<&Path>) -> io::Result<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(
            r#"while kill -0 "$OWNER" 2>/dev/null && kill -0 "$WATCHED" 2>/dev/null; do
                   sleep 0.5
               done
               kill "$WATCHED" 2>/dev/null
               if [ -n "$DIR" ]; then rm -rf "$DIR"; fi"#,
        )
        .env("OWNER", std::process::id().to_string())
        .env("WATCHED", pid.to_string())
        .env("DIR", dir.map(Path::as_os_str).unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Waits until something listens on 127.0.0.1:`port`; fails with `log`'s contents when
/// `child` exits first or `within` passes.
pub(crate) fn wait_for_port(
    port: u16,
    child: &mut Child,
    log: &Path,
    what: &str,
    within: Duration,
) -> io::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_for_address(addr, child, log, what, within)
}

/// Waits until something listens on `addr`; fails with `log`'s contents when `child` exits
/// first or `within` passes.
pub(crate) fn wait_for_address(
    addr: SocketAddr,
    child: &mut Child,
    log: &Path,
    what: &str,
    within: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if child.try_wait()?.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(io::Error::other(format!(
                "{what} did not start on {addr}: {log}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server process this process owns (a test Redis, slapd), with a watchdog shell that stops
/// it when this process ends without dropping its owner (a static fixture, a killed test).
#[derive(Debug, Default)]
pub(crate) struct Owned {
    server: Option<Child>,
    watchdog: Option<Child>,
}

impl Owned {
    /// Spawns `command` (after stopping what runs) and its watchdog, then waits up to 10
    /// seconds until it listens on 127.0.0.1:`port`; fails with `log`'s contents when not.
    pub(crate) fn start(
        &mut self,
        command: &mut Command,
        port: u16,
        log: &Path,
        what: &str,
    ) -> io::Result<()> {
        self.stop();
        let mut server = command.stdin(Stdio::null()).stdout(Stdio::null()).spawn()?;
        let watchdog = watchdog(server.id(), None);
        match watchdog {
            Ok(watchdog) => self.watchdog = Some(watchdog),
            Err(e) => {
                let _ = server.kill();
                let _ = server.wait();
                return Err(e);
            }
        }
        let started = wait_for_port(port, &mut server, log, what, Duration::from_secs(10));
        self.server = Some(server);
        if started.is_err() {
            self.stop();
        }
        started
    }

    /// Kills the server and its watchdog and waits for them; nothing when stopped.
    pub(crate) fn stop(&mut self) {
        for mut child in [self.server.take(), self.watchdog.take()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The running server's process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// Sends `signal` (`STOP`, `CONT`...) to the server, which `what` names in the error when
    /// it is not running.
    pub(crate) fn signal(&self, signal: &str, what: &str) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other(format!("{what} is not running")))?;
        let out = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .output()?;
        check(out, "kill").map(drop)
    }
}

/// In `d`: a CA (`ca.pem`), a server certificate for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`) and a client certificate (`client.pem`, `client.key`), both
/// signed by the CA: P-256 keys, valid for two days.
fn make_certificates(d: &Path) -> io::Result<()> {
    let config = d.join("certs.cnf");
    std::fs::write(
        &config,
        "[req]
distinguished_name = dn
prompt = no

[dn]
CN = actix-gssapi test

[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
",
    )?;
    let openssl = |args: &[&str], what: &str| -> io::Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .stdin(Stdio::null())
            .output()?;
        check(out, what).map(drop)
    };
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec![
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-config",
        "certs.cnf",
    ];
    ca.extend(key);
    ca.extend(["-subj", "/CN=actix-gssapi test CA", "-extensions", "ca"]);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca, "openssl req (test CA)")?;
    for (name, cn) in [("server", "localhost"), ("client", "replay-store")] {
        let (key_file, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let subject = format!("/CN={cn}");
        let mut req = vec!["req", "-new", "-nodes", "-config", "certs.cnf"];
        req.extend(key);
        req.extend(["-subj", &subject, "-keyout", &key_file, "-out", &csr]);
        openssl(&req, "openssl req")?;
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "certs.cnf",
                "-extensions",
                name,
                "-out",
                &pem,
            ],
            "openssl x509 (sign)",
        )?;
    }
    Ok(())
}

/// Runs `command` with `input` on its standard input; fails with its output unless it exits 0.
fn run_with_input(command: &mut Command, input: &str, what: &str) -> io::Result<()> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    check(child.wait_with_output()?, what).map(drop)
}

/// Waits up to `within` for the shell that ran a KDC to clean up and exit, then kills it and
/// removes `dir` itself.
pub(crate) fn stop_and_clean(child: Option<Child>, dir: &Path, within: Duration) {
    if let Some(mut child) = child {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(dir);
}

impl Drop for TestRealm {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("kdc.pid")) {
            let _ = Command::new("kill")
                .arg(pid.trim())
                .stderr(Stdio::null())
                .status();
        }
        // The watchdog notices within half a second that the KDC is gone, then cleans up.
        stop_and_clean(self.watchdog.take(), &self.dir, Duration::from_secs(5));
    }
}

/// One realm for the whole process, started on first use, with its environment exported
/// ([`TestRealm::export_env`]). It lives until the process exits.
///
/// # Panics
/// When the realm cannot be started (Kerberos tools missing, KDC not starting): a test
/// fixture has nothing better to do.
pub fn shared_realm() -> &'static TestRealm {
    static REALM_CELL: OnceLock<TestRealm> = OnceLock::new();
    REALM_CELL.get_or_init(|| {
        let realm = TestRealm::start().unwrap_or_else(|e| panic!("test realm: {e}"));
        realm.export_env();
        realm
    })
}

/// The client side of one Negotiate exchange: one fresh token, and the check of the server's
/// mutual-authentication answer.
pub struct Negotiation {
    ctx: ClientCtx,
    header: String,
}

impl std::fmt::Debug for Negotiation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Negotiation { header: \"Negotiate ******\" }")
    }
}

/// Options for [`Negotiation::start_with`]: by default what a browser sends (SPNEGO, mutual
/// authentication, no delegation, no channel bindings).
///
/// ```
/// use actix_gssapi_testing::ClientOptions;
///
/// let options = ClientOptions::new().delegate().raw_krb5();
/// assert!(options.delegate && options.raw_krb5 && options.channel_bindings.is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
#[must_use]
pub struct ClientOptions {
    /// Ask to delegate the user's TGT (`GSS_C_DELEG_FLAG`).
    pub delegate: bool,
    /// Use the raw Kerberos 5 mechanism instead of SPNEGO (what some non-browser clients send).
    pub raw_krb5: bool,
    /// Bind the token to a TLS channel: the channel bindings' application data, e.g.
    /// `tls-server-end-point:<certificate hash>` (RFC 5929), as a client that sends them does.
    pub channel_bindings: Option<Vec<u8>>,
}

impl ClientOptions {
    /// What a browser sends.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delegate the user's TGT (`curl --negotiate --delegation always`).
    pub fn delegate(mut self) -> Self {
        self.delegate = true;
        self
    }

    /// Use the raw Kerberos 5 mechanism instead of SPNEGO.
    pub fn raw_krb5(mut self) -> Self {
        self.raw_krb5 = true;
        self
    }

    /// Bind the token to a TLS channel with this application data.
    pub fn channel_bindings(mut self, application_data: impl Into<Vec<u8>>) -> Self {
        self.channel_bindings = Some(application_data.into());
        self
    }
}

impl Negotiation {
    /// Makes a SPNEGO token (mutual authentication, no delegation) for `service` (e.g.
    /// `HTTP@localhost`) with the ticket in `ccache`, as a browser or `curl --negotiate` would.
    ///
    /// # Errors
    /// When GSSAPI cannot make the token (no ticket, unknown service, KDC unreachable).
    pub fn start(ccache: &Path, service: &str) -> io::Result<Self> {
        Self::start_with(ccache, service, ClientOptions::default())
    }

    /// Like [`start`](Self::start), with [`ClientOptions`].
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with(ccache: &Path, service: &str, options: ClientOptions) -> io::Result<Self> {
        let ccache = prefixed("FILE:", ccache);
        Self::start_named(&ccache.to_string_lossy(), service, options)
    }

    /// Like [`start`](Self::start), with the credential cache given by name, of any type
    /// (`MEMORY:...`, `DIR:...`): e.g. to check, in a test, that a delegated credential a
    /// handler stored reaches a back-end.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_from_ccache_name(ccache: &str, service: &str) -> io::Result<Self> {
        Self::start_named(ccache, service, ClientOptions::default())
    }

    fn start_named(ccache: &str, service: &str, options: ClientOptions) -> io::Result<Self> {
        let gss = |what: &str, e: libgssapi::error::Error| {
            io::Error::other(format!("{what}: {}", e.to_string().trim_end()))
        };
        let cred = ffi::initiator_from_ccache(ccache)
            .map_err(|e| io::Error::other(format!("client credential: {e}")))?;
        let target = Name::new(service.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| gss("service name", e))?;
        let mut flags = CtxFlags::GSS_C_MUTUAL_FLAG;
        if options.delegate {
            flags |= CtxFlags::GSS_C_DELEG_FLAG;
        }
        let mech = if options.raw_krb5 {
            GSS_MECH_KRB5
        } else {
            GSS_MECH_SPNEGO
        };
        let mut ctx = ClientCtx::new(Some(cred), target, flags, Some(mech));
        let token = ctx
            .step(None, options.channel_bindings.as_deref())
            .map_err(|e| gss("gss_init_sec_context", e))?
            .ok_or_else(|| io::Error::other("gss_init_sec_context produced no token"))?;
        let header = format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&*token)
        );
        Ok(Self { ctx, header })
    }

    /// The `Authorization` header value: `Negotiate <base64 token>`.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The raw token bytes.
    pub fn token(&self) -> Vec<u8> {
        let b64 = self.header.trim_start_matches("Negotiate ");
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default()
    }

    /// Checks the server's `WWW-Authenticate: Negotiate <token>` answer: Ok when the server
    /// proved it holds the service key (mutual authentication).
    ///
    /// # Errors
    /// When the header is not a Negotiate token or GSSAPI rejects it.
    pub fn verify_mutual(mut self, www_authenticate: &str) -> io::Result<()> {
        let b64 = www_authenticate
            .strip_prefix("Negotiate ")
            .ok_or_else(|| io::Error::other("not a Negotiate challenge with a token"))?;
        let token = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| io::Error::other(format!("server token is not base64: {e}")))?;
        let out = self
            .ctx
            .step(Some(&token), None)
            .map_err(|e| io::Error::other(format!("mutual auth: {}", e.to_string().trim_end())))?;
        if out.is_some() || !self.ctx.is_complete() {
            return Err(io::Error::other(
                "the context is not complete after the server's token",
            ));
        }
        Ok(())
    }
}

/// The groups of the host's account `user` as `id -Gn` lists them (the name service's view),
/// sorted.
///
/// # Errors
/// When `id` cannot run or does not know `user`.
pub fn id_groups(user: &str) -> io::Result<Vec<String>> {
    let out = Command::new("id").args(["-Gn", user]).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("id -Gn {user} failed")));
    }
    let mut groups: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    groups.sort();
    Ok(groups)
}

/// The principal whose credentials the credential cache `ccache` (any type: `FILE:/path`,
/// `MEMORY:name`, `DIR:/dir`) holds, read through GSSAPI as a client would: e.g. to check, in a
/// test, that a handler stored the right user's delegated credential.
///
/// # Errors
/// When GSSAPI finds no usable credential in the cache (missing, destroyed or expired).
pub fn ccache_principal(ccache: &str) -> io::Result<String> {
    let cred = ffi::initiator_from_ccache(ccache)
        .map_err(|e| io::Error::other(format!("credential in {ccache}: {e}")))?;
    let name = cred
        .name()
        .map_err(|e| io::Error::other(format!("credential name: {e}")))?;
    Ok(name.to_string())
}

/// What a Kerberos program needs to use a realm: its `krb5.conf`, the HTTP keytab, a ticket
/// cache and a replay-cache directory.
fn kerberos_env(
    krb5_config: &Path,
    keytab: &Path,
    ccache: &Path,
    rcache_dir: &Path,
) -> Vec<(&'static str, OsString)> {
    vec![
        ("KRB5_CONFIG", krb5_config.into()),
        ("KRB5_KTNAME", prefixed("FILE:", keytab)),
        ("KRB5CCNAME", prefixed("FILE:", ccache)),
        ("KRB5RCACHEDIR", rcache_dir.into()),
    ]
}

/// Sets `env` in this process (before its first GSSAPI call).
fn export(env: Vec<(&'static str, OsString)>) {
    for (key, value) in env {
        std::env::set_var(key, value);
    }
}

/// Runs `kinit` (its arguments already given) with `password` on its standard input, its
/// ticket going to `ccache`; the error carries kinit's output.
fn kinit_with_password(cmd: &mut Command, password: &str, ccache: &Path) -> io::Result<()> {
    let mut child = cmd
        .env("KRB5CCNAME", prefixed("FILE:", ccache))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    check(child.wait_with_output()?, "kinit").map(|_| ())
}

fn prefixed(prefix: &str, path: &Path) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(path);
    s
}

fn check(out: std::process::Output, program: &str) -> io::Result<String> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(io::Error::other(format!(
            "{program} failed ({}): {text}",
            out.status
        )))
    }
}

/// Fails with what to install when one of `tools` (a program and the Debian/Ubuntu packages
/// that have it) is missing.
fn require_tools(tools: &[(&str, &str)]) -> io::Result<()> {
    match tools.iter().find(|(tool, _)| which(tool).is_none()) {
        Some((tool, packages)) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{tool} not found: install it (Debian/Ubuntu: apt-get install {packages})"),
        )),
        None => Ok(()),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn make_private_dir() -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "actix-gssapi-realm-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
