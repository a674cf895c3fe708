//! A throwaway gssproxy daemon, for tests of servers that never read their keytab.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{require_tools, watchdog, TestDomain, TestRealm};

/// A running `gssproxy -i` (in the foreground, owned by the test) with its own configuration
/// file, configuration directory and socket in a temporary directory that every user can
/// enter, so that a server run as an unprivileged user reaches the socket and
/// [`krb5_config`](Self::krb5_config) (the realm's own directory is private: its keytab stays
/// unreadable to that user).
///
/// Needs `gssproxy` (Debian/Ubuntu: `apt-get install gssproxy`) and root: gssproxy reads the
/// keytab and tells its clients apart by their uid. gssproxy also writes its pid to
/// `/var/run/gssproxy.pid` (compiled in). It is killed, and its directory removed, when the
/// `TestGssproxy` is dropped; a watchdog shell does both when the test process ends first.
///
/// ```no_run
/// use actix_gssapi_testing::{TestGssproxy, TestRealm};
///
/// let realm = TestRealm::start().unwrap();
/// let proxy = TestGssproxy::start(&realm, |socket| format!(
///     "[service/web]\n  mechs = krb5\n  socket = {}\n  cred_store = keytab:{}\n  euid = 65534\n",
///     socket.display(),
///     realm.keytab().display(),
/// )).unwrap();
/// // Run the server as uid 65534 with GSS_USE_PROXY=yes, GSSPROXY_SOCKET=proxy.socket()
/// // and KRB5_CONFIG=proxy.krb5_config().
/// ```
#[derive(Debug)]
pub struct TestGssproxy {
    dir: PathBuf,
    daemon: Option<Child>,
    watchdog: Option<Child>,
}

impl TestGssproxy {
    /// Starts gssproxy for `realm` with the configuration `config` makes for the socket path
    /// it is given (the path [`socket`](Self::socket) returns): gssproxy.conf(5) sections,
    /// which should give that path as `socket`. gssproxy gets the realm's `KRB5_CONFIG` and
    /// keeps its replay cache in the realm's directory. Returns once the socket exists.
    ///
    /// # Errors
    /// When gssproxy is missing (the message says which package to install), or exits or
    /// makes no socket within 10 seconds (the error carries what it wrote).
    pub fn start(realm: &TestRealm, config: impl FnOnce(&Path) -> String) -> io::Result<Self> {
        Self::spawn(&realm.krb5_config(), realm.dir(), config)
    }

    /// [`start`](Self::start) for an Active Directory domain's KDC: gssproxy gets the
    /// domain's `krb5.conf` and keeps its replay cache in the domain's directory.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_for_domain(
        domain: &TestDomain,
        config: impl FnOnce(&Path) -> String,
    ) -> io::Result<Self> {
        Self::spawn(&domain.krb5_config(), domain.dir(), config)
    }

    fn spawn(
        krb5_config: &Path,
        rcache_dir: &Path,
        config: impl FnOnce(&Path) -> String,
    ) -> io::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        require_tools(&[("gssproxy", "gssproxy")])?;
        let dir = super::make_private_dir()?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let mut proxy = Self {
            dir,
            daemon: None,
            watchdog: None,
        };
        let conf_dir = proxy.dir.join("conf.d");
        std::fs::create_dir(&conf_dir)?;
        std::fs::copy(krb5_config, proxy.krb5_config())?;
        std::fs::set_permissions(proxy.krb5_config(), std::fs::Permissions::from_mode(0o644))?;
        let conf = proxy.dir.join("gssproxy.conf");
        std::fs::write(&conf, config(&proxy.socket()))?;
        let log = proxy.dir.join("gssproxy.log");
        let daemon = Command::new("gssproxy")
            .arg("-i")
            .arg("-c")
            .arg(&conf)
            .arg("-C")
            .arg(&conf_dir)
            .arg("-s")
            .arg(proxy.socket())
            .env("KRB5_CONFIG", krb5_config)
            .env("KRB5RCACHEDIR", rcache_dir)
            .env_remove("GSS_USE_PROXY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let pid = daemon.id();
        proxy.daemon = Some(daemon);
        // Kills gssproxy and removes the directory when this process ends without dropping
        // the fixture (a static one).
        proxy.watchdog = Some(watchdog(pid, Some(&proxy.dir))?);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !proxy.socket().exists() {
            let exited = match proxy.daemon.as_mut() {
                Some(d) => d.try_wait()?.is_some(),
                None => true,
            };
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "gssproxy made no socket at {}: {log}",
                    proxy.socket().display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(proxy)
    }

    /// The socket clients give as `GSSPROXY_SOCKET`.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("gssproxy.sock")
    }

    /// A copy of the realm's `krb5.conf` that every user can read.
    pub fn krb5_config(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The directory that holds the socket, the configuration and gssproxy's output, open to
    /// every user: a place for other files a server run as another user must read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What gssproxy wrote to its standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gssproxy.log")).unwrap_or_default()
    }

    /// Stops gssproxy (kills it and waits for it): its clients find no one on the socket, as
    /// after a crash. Stopping a stopped daemon does nothing.
    pub fn stop(&mut self) {
        for mut child in [self.daemon.take(), self.watchdog.take()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestGssproxy {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
