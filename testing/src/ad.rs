//! A throwaway Active Directory domain: a Samba AD DC on loopback, for what only AD has (PAC
//! group data, constrained delegation).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;

use super::{
    check, export, free_port, kerberos_env, kinit_with_password, make_private_dir, require_tools,
    stop_and_clean, wait_for_address,
};

/// The realm of every [`TestDomain`].
pub const AD_REALM: &str = "AD.TEST";

/// The users a [`TestDomain`] creates, with their passwords:
/// - `alice`: member of the global groups `g1`, `g2`, `g3`, of the domain-local group `glocal`
///   and the universal group `guniv`, and, through `g1`, of `gnest` (a nested group);
/// - `bob`: member of `g3`;
/// - `manygroups`: member of 400 global groups `mg001` to `mg400` (a ~6 KB token).
pub const AD_USERS: [(&str, &str); 3] = [
    ("alice", "Alice!Passw0rd1"),
    ("bob", "Bob!Passw0rd1"),
    ("manygroups", "Many!Passw0rd1"),
];

/// How many groups `manygroups` is in.
pub const MANY_GROUPS: usize = 400;

const ADMIN_PASSWORD: &str = "Adm1n!Passw0rd";

/// A running Samba AD DC (its KDC and LDAP services) on a loopback address of its own
/// ([`address`](Self::address), `127.x.y.z` made of the process id: Samba's LDAP ports, 389
/// and the others, are fixed, so that several domains on one machine need several addresses),
/// the KDC on a free port, its files in a temporary directory.
///
/// It holds a service account `httpsvc` with the SPN `HTTP/localhost` (AES keys, trusted for
/// constrained delegation to `HTTP/backend.ad.test`, whose account is `backendsvc`), the
/// [users and groups](AD_USERS), and a keytab for `HTTP/localhost` and `httpsvc`.
/// Provisioning takes about 5 seconds: share one per test binary ([`shared_domain`]). Needs
/// Debian's `samba samba-ad-provision samba-ad-dc ldb-tools` (and MIT's `krb5-user`).
///
/// Samba reads its standard input, which this process holds: when the process exits, however
/// it exits, Samba sees the end of its input and stops, and its directory is removed.
#[derive(Debug)]
pub struct TestDomain {
    dir: PathBuf,
    address: Ipv4Addr,
    kdc_port: u16,
    /// The shell that runs Samba and cleans up after it.
    samba: Option<Child>,
    /// Held open: Samba stops when it closes.
    _stdin: Option<ChildStdin>,
}

impl TestDomain {
    /// Provisions the domain, creates its objects, exports the keytab and starts the DC.
    ///
    /// # Errors
    /// When Samba's tools are missing (the message says which packages to install), a step
    /// fails (its output is in the error), or the KDC does not listen within 20 seconds.
    pub fn start() -> io::Result<Self> {
        const SAMBA: &str = "samba samba-ad-provision samba-ad-dc ldb-tools krb5-user";
        require_tools(
            &[
                "samba-tool",
                "samba",
                "ldbadd",
                "ldbmodify",
                "ldbsearch",
                "kinit",
            ]
            .map(|t| (t, SAMBA)),
        )?;
        let dir = make_private_dir()?;
        let kdc_port = free_port()?;
        let mut domain = Self {
            dir,
            address: own_address(),
            kdc_port,
            samba: None,
            _stdin: None,
        };
        domain.provision()?;
        domain.start_dc()?;
        Ok(domain)
    }

    fn provision(&self) -> io::Result<()> {
        let d = self.dir.display();
        let port = self.kdc_port;
        run(Command::new("samba-tool").args([
            "domain",
            "provision",
            &format!("--targetdir={d}/dc"),
            &format!("--realm={AD_REALM}"),
            "--domain=AD",
            &format!("--adminpass={ADMIN_PASSWORD}"),
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-name=dc1",
            // Its own address: `/8`, so that Samba finds it on `lo` (which has 127.0.0.1/8).
            &format!("--option=interfaces={}/8", self.address),
            "--option=bind interfaces only=yes",
            // The KDC and LDAP (groups by SASL GSSAPI bind, no TLS: no key to generate at
            // start); no SMB or RPC servers.
            "--option=server services=kdc ldap",
            "--option=tls enabled=no",
            &format!("--option=krb5 port={port}"),
            &format!("--option=kpasswd port={}", free_port()?),
            // Everything under the domain's directory: nothing in /run/samba or
            // /var/log/samba, and several domains can run side by side.
            &format!("--option=pid directory={d}/dc/run"),
            &format!("--option=ncalrpc dir={d}/dc/run/ncalrpc"),
            &format!("--option=winbindd socket directory={d}/dc/run/winbindd"),
            &format!("--option=ntp signd socket directory={d}/dc/run/ntp_signd"),
            &format!("--option=log file={d}/dc/log.%m"),
        ]))?;
        // One batch for every object: a samba-tool call per group takes ~0.3 s.
        let ldif = self.dir.join("objects.ldif");
        std::fs::write(&ldif, objects_ldif())?;
        run(Command::new("ldbadd")
            .arg("-H")
            .arg(self.sam_ldb())
            .arg(&ldif))?;
        // The DC's `ldap/` SPN, which Samba's spnupdate (not run with these services) would
        // add: SASL GSSAPI binds ask for a ticket to it.
        let spn = self.dir.join("spn.ldif");
        std::fs::write(
            &spn,
            "dn: CN=DC1,OU=Domain Controllers,DC=ad,DC=test\nchangetype: modify\n\
             add: servicePrincipalName\nservicePrincipalName: ldap/dc1.ad.test\n",
        )?;
        run(Command::new("ldbmodify")
            .arg("-H")
            .arg(self.sam_ldb())
            .arg(&spn))?;
        for (keytab, principal) in [
            // The account's own name first: a client (the keytab's first principal, which
            // MIT uses with `KRB5_CLIENT_KTNAME`) must be an account, not an SPN.
            (self.keytab(), "httpsvc"),
            (self.keytab(), "HTTP/localhost"),
            (self.backend_keytab(), "HTTP/backend.ad.test"),
        ] {
            run(Command::new("samba-tool")
                .args(["domain", "exportkeytab"])
                .arg(keytab)
                .arg(format!("--principal={principal}"))
                .arg("-s")
                .arg(self.dir.join("dc/etc/smb.conf")))?;
        }
        std::fs::write(self.krb5_config(), self.krb5_conf_text())?;
        Ok(())
    }

    fn start_dc(&mut self) -> io::Result<()> {
        // Samba runs in the foreground and stops at the end of its input, which is a pipe
        // from this process; the shell around it then removes the domain's directory. So
        // both happen however this process ends (a `static` shared domain is never dropped).
        let script = r#"
            samba -s "$DIR/dc/etc/smb.conf" -i -M single --debug-stdout -d1 \
                >"$DIR/samba.log" 2>&1
            rm -rf "$DIR"
        "#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self._stdin = child.stdin.take();
        self.samba = Some(child);
        let samba = self.samba.as_mut().expect("just set");
        for (port, what) in [(self.kdc_port, "samba's KDC"), (389, "samba's LDAP")] {
            wait_for_address(
                SocketAddr::from((self.address, port)),
                samba,
                &self.dir.join("samba.log"),
                what,
                Duration::from_secs(20),
            )?;
        }
        Ok(())
    }

    /// The directory that holds the domain's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The KDC's port on [`address`](Self::address).
    pub fn kdc_port(&self) -> u16 {
        self.kdc_port
    }

    /// The loopback address the DC listens on, `127.x.y.z`.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The DC's LDAP server: `ldap://<address>:389`. It accepts SASL GSSAPI binds (the
    /// service principal is `ldap/dc1.ad.test`), and no simple bind without TLS.
    pub fn ldap_url(&self) -> String {
        format!("ldap://{}:389", self.address)
    }

    /// The DC's host name, as its `ldap/` service principal spells it: `dc1.ad.test`.
    pub fn dc_host(&self) -> &'static str {
        "dc1.ad.test"
    }

    /// The domain's base DN: `DC=ad,DC=test`.
    pub fn base_dn(&self) -> &'static str {
        "DC=ad,DC=test"
    }

    /// The clients' `krb5.conf` for the domain.
    pub fn krb5_config(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The keytab with `httpsvc` (the service account's own name, which constrained
    /// delegation needs, first: the principal MIT's `KRB5_CLIENT_KTNAME` uses) and
    /// `HTTP/localhost`.
    pub fn keytab(&self) -> PathBuf {
        self.dir.join("http.keytab")
    }

    /// The keytab of the back end `httpsvc` may delegate to: `HTTP/backend.ad.test`.
    pub fn backend_keytab(&self) -> PathBuf {
        self.dir.join("backend.keytab")
    }

    fn sam_ldb(&self) -> PathBuf {
        self.dir.join("dc/private/sam.ldb")
    }

    /// Where [`kinit`](Self::kinit) puts a user's ticket.
    pub fn ccache(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.cc"))
    }

    /// The environment a Kerberos program needs to use this domain: `KRB5_CONFIG`,
    /// `KRB5_KTNAME` (the HTTP keytab), `KRB5CCNAME` (alice's ticket, once
    /// [`kinit`](Self::kinit) made it) and `KRB5RCACHEDIR`.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        kerberos_env(
            &self.krb5_config(),
            &self.keytab(),
            &self.ccache("alice"),
            &self.dir,
        )
    }

    /// Sets [`env`](Self::env) in this process, before its first GSSAPI call.
    pub fn export_env(&self) {
        export(self.env());
    }

    /// Gets a forwardable ticket for one of the [users](AD_USERS) into
    /// [`ccache`](Self::ccache)`(user)` and returns the cache.
    ///
    /// # Errors
    /// When `user` is not one of them, or kinit fails.
    pub fn kinit(&self, user: &str) -> io::Result<PathBuf> {
        let (_, password) = AD_USERS
            .iter()
            .find(|(u, _)| *u == user)
            .ok_or_else(|| io::Error::other(format!("{user} is not a test domain user")))?;
        let ccache = self.ccache(user);
        kinit_with_password(
            Command::new("kinit")
                .args(["-f", &format!("{user}@{AD_REALM}")])
                .env("KRB5_CONFIG", self.krb5_config()),
            password,
            &ccache,
        )?;
        Ok(ccache)
    }

    /// The SID of an account or group (`alice`, `g1`, `Domain Users`...), as the directory
    /// holds it, in its `S-1-5-21-...` text form.
    ///
    /// # Errors
    /// When the directory has no such account.
    pub fn sid(&self, account: &str) -> io::Result<String> {
        let out = check(
            Command::new("ldbsearch")
                .arg("-H")
                .arg(self.sam_ldb())
                .arg(format!("(sAMAccountName={account})"))
                .arg("objectSid")
                .stdin(Stdio::null())
                .output()?,
            "ldbsearch",
        )?;
        out.lines()
            .find_map(|l| l.strip_prefix("objectSid: "))
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| io::Error::other(format!("no objectSid for {account}: {out}")))
    }

    fn krb5_conf_text(&self) -> String {
        format!(
            "[libdefaults]
    default_realm = {AD_REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    forwardable = true
    udp_preference_limit = 1

[realms]
    {AD_REALM} = {{
        kdc = {}:{}
    }}

[domain_realm]
    localhost = {AD_REALM}
    .ad.test = {AD_REALM}
    ad.test = {AD_REALM}
",
            self.address, self.kdc_port
        )
    }
}

/// `127.x.y.z` from this process' id (22 bits on Linux), so that no two live processes share
/// one.
fn own_address() -> Ipv4Addr {
    let pid = std::process::id();
    Ipv4Addr::new(
        127,
        64 + ((pid >> 16) & 63) as u8,
        (pid >> 8) as u8,
        pid as u8,
    )
}

impl Drop for TestDomain {
    fn drop(&mut self) {
        // Closing its input stops Samba, and the shell then removes the directory.
        self._stdin.take();
        stop_and_clean(self.samba.take(), &self.dir, Duration::from_secs(10));
    }
}

/// One domain for the whole process, started on first use, with its environment exported and
/// alice's ticket made. It lives until the process exits (Samba stops with it).
///
/// # Panics
/// When the domain cannot be started: a test fixture has nothing better to do.
pub fn shared_domain() -> &'static TestDomain {
    static DOMAIN: OnceLock<TestDomain> = OnceLock::new();
    DOMAIN.get_or_init(|| {
        let domain = TestDomain::start().unwrap_or_else(|e| panic!("test AD domain: {e}"));
        domain.export_env();
        domain
            .kinit("alice")
            .unwrap_or_else(|e| panic!("alice's ticket: {e}"));
        domain
    })
}

/// The users, groups and service accounts, as one LDIF for `ldbadd`.
fn objects_ldif() -> String {
    const USERS_DN: &str = "CN=Users,DC=ad,DC=test";
    // userAccountControl: NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD; the HTTP service account
    // also TRUSTED_TO_AUTH_FOR_DELEGATION (protocol transition).
    const UAC: u32 = 0x0001_0200;
    const UAC_DELEGATION: u32 = 0x0101_0200;
    // groupType: security groups, global / domain local / universal.
    const GLOBAL: i32 = -2_147_483_646;
    const DOMAIN_LOCAL: i32 = -2_147_483_644;
    const UNIVERSAL: i32 = -2_147_483_640;
    let mut ldif = String::new();
    let mut user = |name: &str, password: &str, uac: u32, extra: &[String]| {
        // unicodePwd: the password in double quotes, UTF-16LE, base64.
        let quoted: Vec<u8> = format!("\"{password}\"")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let _ = writeln!(
            ldif,
            "dn: CN={name},{USERS_DN}\nobjectClass: user\nsAMAccountName: {name}\n\
             userAccountControl: {uac}\nunicodePwd:: {}",
            base64::engine::general_purpose::STANDARD.encode(quoted)
        );
        for line in extra {
            let _ = writeln!(ldif, "{line}");
        }
        ldif.push('\n');
    };
    for (name, password) in AD_USERS {
        user(
            name,
            password,
            UAC,
            &[format!("userPrincipalName: {name}@ad.test")],
        );
    }
    // msDS-SupportedEncryptionTypes 24 (AES): without it service tickets are RC4.
    user(
        "httpsvc",
        "Http!Svc!Passw0rd1",
        UAC_DELEGATION,
        &[
            "msDS-SupportedEncryptionTypes: 24".to_owned(),
            "servicePrincipalName: HTTP/localhost".to_owned(),
            "msDS-AllowedToDelegateTo: HTTP/backend.ad.test".to_owned(),
        ],
    );
    user(
        "backendsvc",
        "Backend!Svc!Passw0rd1",
        UAC,
        &[
            "msDS-SupportedEncryptionTypes: 24".to_owned(),
            "servicePrincipalName: HTTP/backend.ad.test".to_owned(),
        ],
    );
    let mut group = |name: &str, group_type: i32, members: &[&str]| {
        let _ = writeln!(
            ldif,
            "dn: CN={name},{USERS_DN}\nobjectClass: group\nsAMAccountName: {name}\n\
             groupType: {group_type}"
        );
        for m in members {
            let _ = writeln!(ldif, "member: CN={m},{USERS_DN}");
        }
        ldif.push('\n');
    };
    group("g1", GLOBAL, &["alice"]);
    group("g2", GLOBAL, &["alice"]);
    group("g3", GLOBAL, &["alice", "bob"]);
    group("gnest", GLOBAL, &["g1"]);
    group("glocal", DOMAIN_LOCAL, &["alice"]);
    group("guniv", UNIVERSAL, &["alice"]);
    for i in 1..=MANY_GROUPS {
        group(&format!("mg{i:03}"), GLOBAL, &["manygroups"]);
    }
    ldif
}

/// Runs a setup step; its output becomes the error when it fails.
fn run(cmd: &mut Command) -> io::Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    check(cmd.stdin(Stdio::null()).output()?, &program)
}
