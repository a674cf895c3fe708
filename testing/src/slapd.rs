//! A throwaway OpenLDAP server with users and nested groups, for tests of the LDAP group
//! source.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{free_port, make_certificates, make_private_dir, require_tools, run_with_input, Owned};

/// The directory's suffix.
const SUFFIX: &str = "dc=example,dc=test";
const ROOT_DN: &str = "cn=admin,dc=example,dc=test";
const ROOT_PASSWORD: &str = "admin-password";
const READER_DN: &str = "cn=reader,dc=example,dc=test";
const READER_PASSWORD: &str = "reader-password";

/// The test directory: `alice` in `staff`, `staff` in `engineering` (nested), `erin` in
/// `admins` and in `loop-a`, which is a member of `loop-b`, which is a member of `loop-a`
/// (a cycle); `bob` in no group. Groups are `groupOfNames` with `member` DNs.
const DATA: &str = "\
dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: cn=reader,dc=example,dc=test
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: reader-password

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=test
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Alice

dn: uid=bob,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Bob

dn: uid=erin,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: erin
cn: Erin
sn: Erin

dn: cn=staff,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=test

dn: cn=engineering,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: engineering
member: cn=staff,ou=groups,dc=example,dc=test

dn: cn=admins,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: admins
member: uid=erin,ou=people,dc=example,dc=test

dn: cn=loop-a,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: loop-a
member: uid=erin,ou=people,dc=example,dc=test
member: cn=loop-b,ou=groups,dc=example,dc=test

dn: cn=loop-b,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: loop-b
member: cn=loop-a,ou=groups,dc=example,dc=test
";

/// A running OpenLDAP `slapd` on 127.0.0.1, on a free port, its configuration (an old-style
/// `slapd.conf`) and database in a temporary directory, holding a test directory under
/// `dc=example,dc=test`:
///
/// | entry | groups (`groupOfNames`, `member`) |
/// | --- | --- |
/// | `uid=alice,ou=people` | `staff`, and `engineering` through `staff` |
/// | `uid=bob,ou=people` | none |
/// | `uid=erin,ou=people` | `admins`, `loop-a`, `loop-b` (`loop-a` and `loop-b` are members of each other) |
///
/// Groups are `cn=<name>,ou=groups,dc=example,dc=test`. Only a bound client may search
/// (`require authc`): [`reader_dn`](Self::reader_dn) with
/// [`reader_password`](Self::reader_password) reads everything.
///
/// Needs `slapd` and `ldap-utils` (Debian/Ubuntu). Starts in well under a second; stopped,
/// and its directory removed, when dropped; a watchdog shell stops it too when the test
/// process ends without dropping it.
///
/// ```no_run
/// use actix_gssapi_testing::TestSlapd;
///
/// let slapd = TestSlapd::start().unwrap();
/// // ... a `GroupSource::ldap` (the `ldap` feature) for `slapd.url()`, bound as
/// // `slapd.reader_dn()`; `slapd.stop()`, `slapd.restart()`, `slapd.pause()` for outages.
/// slapd
///     .modify("dn: cn=staff,ou=groups,dc=example,dc=test\nchangetype: modify\n\
///              delete: member\nmember: uid=alice,ou=people,dc=example,dc=test\n")
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct TestSlapd {
    dir: PathBuf,
    port: u16,
    /// The `ldaps://` port, for [`start_tls`](Self::start_tls)'s server.
    tls_port: Option<u16>,
    server: Owned,
}

impl TestSlapd {
    /// Writes the configuration, loads the test directory with `slapadd` and starts `slapd`.
    ///
    /// # Errors
    /// When `slapd` or `ldap-utils` is missing (the message says what to install), `slapadd`
    /// fails, or `slapd` does not listen within 10 seconds (the error carries its log).
    pub fn start() -> io::Result<Self> {
        Self::start_inner(false)
    }

    /// Like [`start`](Self::start), with TLS required for every operation (`security
    /// tls=1`): StartTLS on [`url`](Self::url), or LDAPS on [`ldaps_url`](Self::ldaps_url).
    /// Its certificate, for `127.0.0.1` and `localhost`, is signed by a CA made for it
    /// ([`ca_pem`](Self::ca_pem)), which no system trusts.
    ///
    /// # Errors
    /// As [`start`](Self::start), and when `openssl` is missing or fails.
    pub fn start_tls() -> io::Result<Self> {
        Self::start_inner(true)
    }

    fn start_inner(tls: bool) -> io::Result<Self> {
        let mut tools = vec![
            ("slapd", "slapd"),
            ("slapadd", "slapd"),
            ("ldapmodify", "ldap-utils"),
        ];
        if tls {
            tools.push(("openssl", "openssl"));
        }
        require_tools(&tools)?;
        let dir = make_private_dir()?;
        let mut slapd = Self {
            port: free_port()?,
            tls_port: if tls { Some(free_port()?) } else { None },
            dir,
            server: Owned::default(),
        };
        if tls {
            make_certificates(&slapd.dir)?;
        }
        slapd.configure()?;
        slapd.run_server()?;
        Ok(slapd)
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:<port>` for a server made by [`start_tls`](Self::start_tls); `None`
    /// for one without TLS.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_port.map(|p| format!("ldaps://127.0.0.1:{p}"))
    }

    /// The PEM certificate of the CA that signed the server's certificate
    /// ([`start_tls`](Self::start_tls) only; empty without TLS).
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap_or_default()
    }

    /// The directory's suffix, `dc=example,dc=test`: the base DN of every search.
    pub fn base_dn(&self) -> &'static str {
        SUFFIX
    }

    /// An account that may read the directory: `cn=reader,dc=example,dc=test`.
    pub fn reader_dn(&self) -> &'static str {
        READER_DN
    }

    /// The [`reader_dn`](Self::reader_dn)'s password.
    pub fn reader_password(&self) -> &'static str {
        READER_PASSWORD
    }

    /// The directory that holds the server's files (`slapd.conf`, `slapd.log`, the database).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies an LDIF change (`changetype: modify`, `add`, `delete`) as the directory's
    /// administrator, with `ldapmodify`.
    ///
    /// # Errors
    /// When `ldapmodify` fails (its output is in the error).
    pub fn modify(&self, ldif: &str) -> io::Result<()> {
        let url = self.ldaps_url().unwrap_or_else(|| self.url());
        run_with_input(
            Command::new("ldapmodify")
                .args(["-x", "-H", &url, "-D", ROOT_DN, "-w", ROOT_PASSWORD])
                .args(["-o", "nettimeout=5"])
                .env("LDAPTLS_CACERT", self.dir.join("ca.pem")),
            ldif,
            "ldapmodify",
        )
    }

    /// Stops the server (kills it and waits for it): clients see it gone, as after a crash.
    /// [`restart`](Self::restart) brings it back with its data. Stopping a stopped server
    /// does nothing.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Starts the server again on the same port, with the data it had (stopping it first if
    /// it runs).
    ///
    /// # Errors
    /// When the server does not listen within 10 seconds.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.run_server()
    }

    /// Freezes the server (`SIGSTOP`): connections stay open and nothing answers, as with a
    /// server that hangs. [`resume`](Self::resume) thaws it.
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
        self.server.signal(signal, "slapd")
    }

    fn configure(&self) -> io::Result<()> {
        let d = &self.dir;
        std::fs::create_dir(d.join("db"))?;
        let tls = if self.tls_port.is_some() {
            format!(
                "TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
security tls=1
",
                dir = d.display()
            )
        } else {
            String::new()
        };
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
require authc
{tls}database mdb
maxsize 16777216
suffix \"{SUFFIX}\"
rootdn \"{ROOT_DN}\"
rootpw {ROOT_PASSWORD}
directory {dir}/db
index objectClass eq
index member eq
index uid eq
",
            dir = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf)?;
        run_with_input(
            Command::new("slapadd").arg("-f").arg(d.join("slapd.conf")),
            DATA,
            "slapadd",
        )
    }

    fn run_server(&mut self) -> io::Result<()> {
        let d = &self.dir;
        let log = d.join("slapd.log");
        // `-d 0`: in the foreground (so that this process owns it), logging nothing but
        // errors (to `slapd.log`, through stderr).
        self.server.start(
            Command::new("slapd")
                .arg("-d")
                .arg("0")
                .arg("-h")
                .arg(match self.ldaps_url() {
                    Some(ldaps) => format!("{}/ {ldaps}/", self.url()),
                    None => format!("{}/", self.url()),
                })
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .stderr(std::fs::File::create(&log)?),
            self.port,
            &log,
            "slapd",
        )
    }
}

impl Drop for TestSlapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
