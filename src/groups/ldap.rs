//! Groups from an LDAP directory (OpenLDAP, FreeIPA, Active Directory): the user's entry by a
//! filter, then the groups whose `member` is that entry, then the groups whose `member` is one
//! of those, level by level. Through ldap3's async client on a runtime of its own, driven on
//! the GSSAPI thread that asks (so every wait is bounded by one deadline per lookup).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ldap3::asn1::{StructureTag, PL};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchOptions};
use tokio::time::Instant;

use super::{Group, Lookup, LookupError, User};
use crate::pac::Sid;

/// How long a lookup may take, by default: connecting, binding and every search together.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many levels of nesting are followed, by default.
const DEFAULT_MAX_DEPTH: usize = 10;
/// How many groups one user may have, by default.
const DEFAULT_MAX_GROUPS: usize = 1_000;
/// How many DNs go into one `(|(member=...)...)` filter.
const DNS_PER_QUERY: usize = 100;

/// How [`GroupSource::ldap`](super::GroupSource::ldap) finds a user's groups in an LDAP
/// directory: where (the URL, the base DN), as whom (anonymous, an account, or the service's
/// own Kerberos credentials), and which entries are the user and the groups.
///
/// A lookup finds the user's entry with the [user filter](Self::user_filter), then the
/// entries matching the [group filter](Self::group_filter) whose
/// [member attribute](Self::member_attribute) names the user's DN, then those naming one of
/// these groups, and so on: nested groups, level by level (one query per level), each group
/// once however the groups loop, at most [`max_depth`](Self::max_depth) levels and
/// [`max_groups`](Self::max_groups) groups. A group's name is its `cn`; in Active Directory
/// its SID (`objectSid`) is read too, so that SID rules match it.
///
/// OpenLDAP or FreeIPA, bound with the service's keytab:
///
/// ```
/// use actix_gssapi::{GroupSource, LdapGroups};
///
/// let groups = GroupSource::ldap(
///     LdapGroups::new("ldaps://ipa.example.com", "dc=example,dc=com")
///         .user_filter("(krbPrincipalName={principal})")
///         .bind_kerberos("ipa.example.com"),
/// );
/// # let _ = groups;
/// ```
///
/// Active Directory, bound with an account:
///
/// ```
/// use actix_gssapi::{GroupSource, LdapGroups};
///
/// # fn password() -> String { String::new() }
/// let groups = GroupSource::ldap(
///     LdapGroups::active_directory("ldaps://dc1.example.com", "dc=example,dc=com")
///         .bind_simple("cn=web-reader,cn=Users,dc=example,dc=com", password()),
/// );
/// # let _ = groups;
/// ```
#[derive(Clone)]
#[must_use]
pub struct LdapGroups {
    url: String,
    base_dn: String,
    bind: Bind,
    start_tls: bool,
    root_certificates: Option<Vec<u8>>,
    user_filter: String,
    group_filter: String,
    member_attribute: String,
    active_directory: bool,
    timeout: Duration,
    max_depth: usize,
    max_groups: usize,
}

#[derive(Clone)]
enum Bind {
    Anonymous,
    Simple { dn: String, password: String },
    Kerberos { host: String },
}

impl fmt::Debug for LdapGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapGroups")
            .field("url", &self.url)
            .field("base_dn", &self.base_dn)
            .field("bind", &self.bind_text())
            .field("start_tls", &self.start_tls)
            .field("user_filter", &self.user_filter)
            .field("group_filter", &self.group_filter)
            .field("member_attribute", &self.member_attribute)
            .field("active_directory", &self.active_directory)
            .field("timeout", &self.timeout)
            .field("max_depth", &self.max_depth)
            .field("max_groups", &self.max_groups)
            .finish_non_exhaustive()
    }
}

impl LdapGroups {
    /// A directory of `groupOfNames` groups (OpenLDAP, FreeIPA, 389 DS) at `url`
    /// (`ldap://host`, `ldaps://host`, with a port if not the default), searched under
    /// `base_dn`: the user is `(uid={user})`, the groups `(objectClass=groupOfNames)` with
    /// `member`. Binds anonymously until told otherwise
    /// ([`bind_simple`](Self::bind_simple), [`bind_kerberos`](Self::bind_kerberos)).
    pub fn new(url: impl Into<String>, base_dn: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            base_dn: base_dn.into(),
            bind: Bind::Anonymous,
            start_tls: false,
            root_certificates: None,
            user_filter: "(uid={user})".to_owned(),
            group_filter: "(objectClass=groupOfNames)".to_owned(),
            member_attribute: "member".to_owned(),
            active_directory: false,
            timeout: DEFAULT_TIMEOUT,
            max_depth: DEFAULT_MAX_DEPTH,
            max_groups: DEFAULT_MAX_GROUPS,
        }
    }

    /// An Active Directory domain controller at `url`, searched under `base_dn` (the domain's
    /// `dc=...`): the user is `(sAMAccountName={user})`, the groups `(objectClass=group)` with
    /// `member`, each with its SID (`objectSid`); the user's primary group (`Domain Users`,
    /// which AD gives by `primaryGroupID`, not by `member`) is included. Binds anonymously
    /// until told otherwise, which AD refuses: give it an account or the service's keytab.
    pub fn active_directory(url: impl Into<String>, base_dn: impl Into<String>) -> Self {
        Self {
            user_filter: "(sAMAccountName={user})".to_owned(),
            group_filter: "(objectClass=group)".to_owned(),
            active_directory: true,
            ..Self::new(url, base_dn)
        }
    }

    /// The filter that finds the user's entry: `{user}` stands for the principal's name
    /// without its realm (`alice` for `alice@EXAMPLE.COM`), `{principal}` for the whole
    /// principal, both escaped (RFC 4515), so that a principal holding `*`, `(`, `)` or `\`
    /// matches only itself. `(uid={user})` by default, `(sAMAccountName={user})` for
    /// [`active_directory`](Self::active_directory). A filter with `{user}` finds only
    /// principals of krb5.conf's `default_realm` (read at the first lookup): with cross-realm
    /// trust, `alice@OTHER.REALM` is in no group rather than in `alice`'s; to look up users of
    /// several realms, filter on the whole principal (`(krbPrincipalName={principal})`,
    /// `(userPrincipalName={principal})`).
    ///
    /// No entry is no group (not an error); more than one is an error (the login fails with
    /// `503`).
    pub fn user_filter(mut self, filter: impl Into<String>) -> Self {
        self.user_filter = filter.into();
        self
    }

    /// Which entries are groups: `(objectClass=groupOfNames)` by default,
    /// `(objectClass=group)` for [`active_directory`](Self::active_directory).
    pub fn group_filter(mut self, filter: impl Into<String>) -> Self {
        self.group_filter = filter.into();
        self
    }

    /// The group attribute that holds its members' DNs: `member` by default
    /// (`uniqueMember` for `groupOfUniqueNames`).
    pub fn member_attribute(mut self, attribute: impl Into<String>) -> Self {
        self.member_attribute = attribute.into();
        self
    }

    /// Binds with an account's DN and password (a simple bind). Use it over TLS (`ldaps://`
    /// or [`start_tls`](Self::start_tls)): the password is sent as it is. The password is
    /// never logged, and `Debug` hides it.
    pub fn bind_simple(mut self, dn: impl Into<String>, password: impl Into<String>) -> Self {
        self.bind = Bind::Simple {
            dn: dn.into(),
            password: password.into(),
        };
        self
    }

    /// Binds with the process' own Kerberos credentials (SASL GSSAPI) to the service
    /// `ldap/<host>`: `host` is the directory server's name as its service principal spells
    /// it (`dc1.example.com`). Without TLS, the connection is then encrypted by Kerberos.
    ///
    /// The credentials are the process' default ones: with MIT Kerberos, set
    /// `KRB5_CLIENT_KTNAME` to the service's keytab (the one `KRB5_KTNAME` names for
    /// accepting tickets, `HTTP/<host>`), and the library gets and renews a ticket for the
    /// keytab's first principal itself, into the default ccache (`KRB5CCNAME`; point it at a
    /// file the service owns, or `MEMORY:ldap`). In Active Directory that principal must be
    /// the service account's own name (`httpsvc`), not an SPN. The directory must let it read
    /// users and groups.
    pub fn bind_kerberos(mut self, host: impl Into<String>) -> Self {
        self.bind = Bind::Kerberos { host: host.into() };
        self
    }

    /// Upgrades an `ldap://` connection to TLS (StartTLS) before binding. Off by default.
    pub fn start_tls(mut self) -> Self {
        self.start_tls = true;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) for the
    /// server's certificate, instead of the system's (`ldaps://` and
    /// [`start_tls`](Self::start_tls)). A `pem` that holds no certificate makes every lookup
    /// fail (`503`), saying so.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// How long one lookup may take, connecting, binding and searching together (5 seconds
    /// by default): past it, the login fails with `503`, and so do logins of the next second
    /// without asking (see [`GroupSource`](super::GroupSource)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many levels of nested groups are followed (10 by default; 1 = only the groups the
    /// user is a direct member of). Deeper groups are left out, with a warning in the log.
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = levels;
        self
    }

    /// How many groups one user may have (1,000 by default). Past it, the rest are left out,
    /// with a warning in the log.
    pub fn max_groups(mut self, groups: usize) -> Self {
        self.max_groups = groups;
        self
    }

    fn bind_text(&self) -> String {
        match &self.bind {
            Bind::Anonymous => "anonymous".to_owned(),
            Bind::Simple { dn, .. } => format!("as {dn} (simple bind)"),
            Bind::Kerberos { host } => format!("by Kerberos (SASL GSSAPI) to ldap/{host}"),
        }
    }
}

/// The LDAP source: its configuration and the one connection every lookup reuses.
pub(crate) struct LdapLookup {
    config: LdapGroups,
    connection: Mutex<Option<Connection>>,
    /// krb5.conf's default realm, read at the first lookup: `{user}` names its users only.
    default_realm: OnceLock<Result<String, String>>,
}

/// A bound connection and the runtime that drives it (ldap3's connection task runs on it
/// while a lookup waits in `block_on`).
struct Connection {
    runtime: tokio::runtime::Runtime,
    ldap: Ldap,
}

impl Drop for LdapLookup {
    fn drop(&mut self) {
        // The last `GroupSource` may go on an async worker (the server stopping), where a
        // runtime's ordinary drop, which waits for its blocking threads, panics. (Connections
        // dropped after an error go on the GSSAPI thread, where it does not.)
        let slot = self
            .connection
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(Connection { runtime, ldap }) = slot.take() {
            drop(ldap);
            runtime.shutdown_background();
        }
    }
}

impl LdapLookup {
    pub(crate) fn new(config: LdapGroups) -> Self {
        Self {
            config,
            connection: Mutex::new(None),
            default_realm: OnceLock::new(),
        }
    }

    fn error(&self, what: &str, e: impl fmt::Display) -> LookupError {
        LookupError(format!("LDAP {}: {what}: {e}", self.config.url))
    }

    /// Connects and binds, within `deadline`.
    fn connect(&self, deadline: Instant) -> Result<Connection, LookupError> {
        let c = &self.config;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.error("cannot start a runtime", e))?;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(c.timeout)
            .set_starttls(c.start_tls);
        if let Some(pem) = &c.root_certificates {
            settings = settings.set_config(Arc::new(
                tls_config(pem).map_err(|e| self.error("tls_root_certificates", e))?,
            ));
        }
        let ldap = runtime.block_on(async {
            let connected = tokio::time::timeout_at(deadline, async {
                let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &c.url)
                    .await
                    .map_err(|e| self.error("cannot connect", e))?;
                ldap3::drive!(conn);
                let bound = match &c.bind {
                    Bind::Anonymous => return Ok(ldap),
                    Bind::Simple { dn, password } => ldap.simple_bind(dn, password).await,
                    Bind::Kerberos { host } => ldap.sasl_gssapi_bind(host).await,
                };
                bound
                    .and_then(ldap3::LdapResult::success)
                    .map_err(|e| self.error(&format!("bind {} failed", c.bind_text()), e))?;
                Ok(ldap)
            })
            .await;
            connected.unwrap_or_else(|_| {
                Err(self.error(
                    "cannot connect and bind",
                    format_args!("no answer within {:?}", c.timeout),
                ))
            })
        })?;
        Ok(Connection { runtime, ldap })
    }
}

impl Lookup for LdapLookup {
    fn groups(&self, user: &User<'_>) -> Result<Vec<Group>, LookupError> {
        let deadline = Instant::now() + self.config.timeout;
        let filter = if self.config.user_filter.contains("{user}") {
            let realm = self
                .default_realm
                .get_or_init(crate::krb5::default_realm)
                .as_ref()
                .map_err(|e| {
                    self.error(
                        "the user filter's {user} needs krb5.conf's default_realm",
                        e,
                    )
                })?;
            let Some(name) = name_in_realm(user.principal, realm) else {
                log::debug!(
                    "{}: not of the default realm {realm}, so no user for {}: no groups",
                    user.principal,
                    self.config.user_filter
                );
                return Ok(Vec::new());
            };
            user_filter(&self.config.user_filter, user.principal, name)
        } else {
            user_filter(&self.config.user_filter, user.principal, "")
        };
        // One lookup at a time on the one connection; the others wait (bounded by the
        // holder's deadline).
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut reused = slot.take();
        loop {
            let fresh = reused.is_none();
            let mut conn = match reused.take() {
                Some(conn) => conn,
                None => self.connect(deadline)?,
            };
            let Connection { runtime, ldap } = &mut conn;
            let found = runtime.block_on(async {
                tokio::time::timeout_at(deadline, search(&self.config, ldap, user, &filter)).await
            });
            match found {
                Ok(Ok(groups)) => {
                    *slot = Some(conn);
                    return Ok(groups);
                }
                // The server may have closed a connection that idled (or restarted): once
                // more on a new one.
                Ok(Err(Failure::Ldap(_))) if !fresh => {}
                Ok(Err(e)) => return Err(self.error("search failed", e)),
                Err(_) => {
                    return Err(self.error(
                        "search failed",
                        format_args!("no answer within {:?}", self.config.timeout),
                    ))
                }
            }
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "LDAP {}{} under {:?}, bound {}, users {}, groups {} by {}",
            c.url,
            if c.start_tls { " (StartTLS)" } else { "" },
            c.base_dn,
            c.bind_text(),
            c.user_filter,
            c.group_filter,
            c.member_attribute
        )
    }

    fn needs_local_name(&self) -> bool {
        false
    }
}

/// Why a search failed: the connection or the server (worth a new connection), or what the
/// directory holds.
enum Failure {
    Ldap(ldap3::LdapError),
    Directory(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ldap(e) => e.fmt(f),
            Self::Directory(e) => f.write_str(e),
        }
    }
}

impl From<ldap3::LdapError> for Failure {
    fn from(e: ldap3::LdapError) -> Self {
        Self::Ldap(e)
    }
}

/// An entry of a search's answer: its DN and its attributes' values.
struct Entry {
    dn: String,
    attributes: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    fn first(&self, attribute: &str) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .and_then(|(_, values)| values.first())
            .map(Vec::as_slice)
    }
}

/// Runs one search; `Ok(None)` inside when the server stopped at the size limit.
async fn find(
    ldap: &mut Ldap,
    base: &str,
    filter: &str,
    attributes: &[&str],
    size_limit: usize,
) -> Result<(Vec<Entry>, bool), Failure> {
    let limit = i32::try_from(size_limit).unwrap_or(i32::MAX);
    let answer = ldap
        .with_search_options(SearchOptions::new().sizelimit(limit))
        .search(base, Scope::Subtree, filter, attributes.to_vec())
        .await?;
    // 4: sizeLimitExceeded, with the entries up to the limit.
    let truncated = answer.1.rc == 4;
    if !truncated {
        answer.1.clone().success()?;
    }
    let entries = answer
        .0
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(|e| entry(e.0).ok_or_else(|| Failure::Directory("a malformed entry".to_owned())))
        .collect::<Result<_, _>>()?;
    Ok((entries, truncated))
}

/// A `SearchResultEntry` (RFC 4511 §4.5.2) without ldap3's `SearchEntry::construct`, which
/// panics on a malformed one.
fn entry(tag: StructureTag) -> Option<Entry> {
    let PL::C(mut parts) = tag.payload else {
        return None;
    };
    if parts.len() != 2 {
        return None;
    }
    let attributes = parts.pop()?;
    let PL::P(dn) = parts.pop()?.payload else {
        return None;
    };
    let PL::C(attributes) = attributes.payload else {
        return None;
    };
    let attributes = attributes
        .into_iter()
        .map(|a| {
            let PL::C(mut a) = a.payload else {
                return None;
            };
            if a.len() != 2 {
                return None;
            }
            let PL::C(values) = a.pop()?.payload else {
                return None;
            };
            let PL::P(name) = a.pop()?.payload else {
                return None;
            };
            let values = values
                .into_iter()
                .map(|v| match v.payload {
                    PL::P(v) => Some(v),
                    PL::C(_) => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((String::from_utf8(name).ok()?, values))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Entry {
        dn: String::from_utf8(dn).ok()?,
        attributes,
    })
}

/// The user's groups, nested ones included.
async fn search(
    config: &LdapGroups,
    ldap: &mut Ldap,
    user: &User<'_>,
    filter: &str,
) -> Result<Vec<Group>, Failure> {
    let ad = config.active_directory;
    let user_attributes: &[&str] = if ad {
        &["objectSid", "primaryGroupID"]
    } else {
        &["1.1"]
    };
    let (mut users, _) = find(ldap, &config.base_dn, filter, user_attributes, 2).await?;
    let me = match users.len() {
        0 => {
            log::debug!("{}: no entry matches {filter}: no groups", user.principal);
            return Ok(Vec::new());
        }
        1 => users.remove(0),
        _ => {
            return Err(Failure::Directory(format!(
                "more than one entry matches {filter}"
            )))
        }
    };
    let group_attributes: &[&str] = if ad { &["cn", "objectSid"] } else { &["cn"] };
    let mut groups = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([me.dn.to_ascii_lowercase()]);
    let mut level: Vec<Entry> = Vec::new();
    if ad {
        if let Some(primary) = primary_group_sid(&me) {
            let filter = format!(
                "(&{}(objectSid={}))",
                config.group_filter,
                escape_bytes(&primary.to_binary())
            );
            let (found, _) = find(ldap, &config.base_dn, &filter, group_attributes, 1).await?;
            level.extend(found);
        }
    }
    let mut members = vec![me.dn];
    let mut truncated = false;
    for depth in 0..config.max_depth {
        for chunk in members.chunks(DNS_PER_QUERY) {
            let room = config.max_groups.saturating_sub(groups.len() + level.len());
            if room == 0 {
                truncated = true;
                break;
            }
            let any_member: String = chunk
                .iter()
                .map(|dn| format!("({}={})", config.member_attribute, ldap3::ldap_escape(dn)))
                .collect();
            let filter = format!("(&{}(|{any_member}))", config.group_filter);
            let (found, over) =
                find(ldap, &config.base_dn, &filter, group_attributes, room).await?;
            truncated |= over;
            level.extend(found);
        }
        members = Vec::new();
        for group in level.drain(..) {
            if !seen.insert(group.dn.to_ascii_lowercase()) {
                continue;
            }
            if groups.len() >= config.max_groups {
                truncated = true;
                break;
            }
            let name = group
                .first("cn")
                .and_then(|cn| std::str::from_utf8(cn).ok())
                .unwrap_or(&group.dn)
                .to_owned();
            let sid = group.first("objectSid").and_then(Sid::from_binary);
            groups.push(Group::new(name, sid));
            members.push(group.dn);
        }
        if members.is_empty() || truncated {
            break;
        }
        if depth + 1 == config.max_depth {
            log::warn!(
                "{}: groups nested deeper than {} levels are left out (LdapGroups::max_depth)",
                user.principal,
                config.max_depth
            );
        }
    }
    if truncated {
        log::warn!(
            "{}: more than {} groups, the rest are left out (LdapGroups::max_groups)",
            user.principal,
            config.max_groups
        );
    }
    Ok(groups)
}

/// The SID of an AD user's primary group: the user's domain SID with the `primaryGroupID`
/// as its RID.
fn primary_group_sid(user: &Entry) -> Option<Sid> {
    let user_sid = Sid::from_binary(user.first("objectSid")?)?;
    let rid: u32 = std::str::from_utf8(user.first("primaryGroupID")?)
        .ok()?
        .parse()
        .ok()?;
    user_sid.with_last_rid(rid)
}

/// Every byte as `\xx`: a binary value in a filter (RFC 4515 §3).
fn escape_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The principal's name without its realm, when its realm is `realm`.
fn name_in_realm<'a>(principal: &'a str, realm: &str) -> Option<&'a str> {
    let (name, of) = principal.rsplit_once('@')?;
    (of == realm).then_some(name)
}

/// `template` with `{user}` and `{principal}` replaced by `name` (the principal without its
/// realm) and the whole principal, escaped (RFC 4515), in one pass (a principal that holds
/// `{user}` is not substituted again).
fn user_filter(template: &str, principal: &str, name: &str) -> String {
    let mut out = String::with_capacity(template.len() + principal.len() * 3);
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{user}") {
            out.push_str(&ldap3::ldap_escape(name));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{principal}") {
            out.push_str(&ldap3::ldap_escape(principal));
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A client configuration that trusts only the certificates in `pem`.
fn tls_config(pem: &[u8]) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("not a usable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM".to_owned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::ASNTag as _;

    /// The value an equality filter `(attr=value)` asserts, as the server will read it;
    /// `None` when the filter is anything else.
    fn asserted_value(filter: &str) -> Option<Vec<u8>> {
        let tag = ldap3::parse_filter(filter).ok()?.into_structure();
        // equalityMatch: [3] { attributeDesc, assertionValue }
        if tag.id != 3 {
            return None;
        }
        let PL::C(mut parts) = tag.payload else {
            return None;
        };
        match parts.pop()?.payload {
            PL::P(value) if parts.len() == 1 => Some(value),
            _ => None,
        }
    }

    #[test]
    fn the_principal_cannot_change_the_filter() {
        for (principal, name) in [
            ("alice@EXAMPLE.TEST", "alice"),
            ("*@EXAMPLE.TEST", "*"),
            ("al*@EXAMPLE.TEST", "al*"),
            ("a)(uid=*@EXAMPLE.TEST", "a)(uid=*"),
            ("a\\2a@EXAMPLE.TEST", "a\\2a"),
            ("a\0b@EXAMPLE.TEST", "a\0b"),
            ("{principal}@EXAMPLE.TEST", "{principal}"),
        ] {
            let filter = user_filter("(uid={user})", principal, name);
            assert_eq!(
                asserted_value(&filter).as_deref(),
                Some(name.as_bytes()),
                "{principal:?} -> {filter}"
            );
            let filter = user_filter("(krbPrincipalName={principal})", principal, name);
            assert_eq!(
                asserted_value(&filter).as_deref(),
                Some(principal.as_bytes()),
                "{principal:?} -> {filter}"
            );
        }
        assert_eq!(
            user_filter("(&(a={user})(b={principal}){x})", "a*@R", "a*"),
            "(&(a=a\\2a)(b=a\\2a@R){x})"
        );
    }

    #[test]
    fn user_is_only_for_principals_of_the_default_realm() {
        let realm = "EXAMPLE.TEST";
        assert_eq!(name_in_realm("alice@EXAMPLE.TEST", realm), Some("alice"));
        assert_eq!(name_in_realm("a@b@EXAMPLE.TEST", realm), Some("a@b"));
        assert_eq!(name_in_realm("alice@OTHER.TEST", realm), None);
        assert_eq!(name_in_realm("alice@example.test", realm), None);
        assert_eq!(name_in_realm("alice@EXAMPLE.TEST.EVIL", realm), None);
        assert_eq!(name_in_realm("alice", realm), None);
    }

    /// Random principals of the characters that matter (and others): each one's filter asserts
    /// exactly that principal, and is one equality filter.
    #[test]
    fn fuzz_the_principal_cannot_change_the_filter() {
        const ALPHABET: &[char] = &[
            '*',
            '(',
            ')',
            '\\',
            '\0',
            '@',
            '{',
            '}',
            '=',
            '&',
            '|',
            '!',
            'a',
            'Z',
            '0',
            ' ',
            'é',
            '\u{1F600}',
            '\n',
        ];
        // xorshift64: reproducible without a dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let name: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .filter(|c| *c != '@')
                .collect();
            let principal = format!("{name}@EXAMPLE.TEST");
            for (template, want) in [
                ("(uid={user})", name.as_str()),
                ("(krbPrincipalName={principal})", principal.as_str()),
            ] {
                let filter = user_filter(template, &principal, &name);
                if want.is_empty() {
                    // `(uid=)` is an equality filter with an empty value: fine, and rare.
                    continue;
                }
                assert_eq!(
                    asserted_value(&filter).as_deref(),
                    Some(want.as_bytes()),
                    "{principal:?} -> {filter}"
                );
            }
        }
    }

    #[test]
    fn debug_and_describe_hide_the_password() {
        let config = LdapGroups::new("ldap://127.0.0.1:389", "dc=example,dc=test")
            .bind_simple("cn=reader,dc=example,dc=test", "s3cret-pw");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
        assert!(debug.contains("cn=reader"), "{debug}");
        let describe = LdapLookup::new(config).describe();
        assert!(!describe.contains("s3cret-pw"), "{describe}");
    }

    #[test]
    fn the_primary_group_is_the_domain_with_its_rid() {
        let user: Sid = "S-1-5-21-1-2-3-1104".parse().unwrap();
        let entry = Entry {
            dn: "CN=alice,CN=Users,DC=x".to_owned(),
            attributes: vec![
                ("objectSid".to_owned(), vec![user.to_binary()]),
                ("primaryGroupID".to_owned(), vec![b"513".to_vec()]),
            ],
        };
        assert_eq!(
            primary_group_sid(&entry).unwrap().to_string(),
            "S-1-5-21-1-2-3-513"
        );
        assert_eq!(Sid::from_binary(&user.to_binary()), Some(user));
        assert_eq!(escape_bytes(&[0x01, 0x2a, 0xff]), "\\01\\2a\\ff");
    }

    #[test]
    fn a_malformed_entry_is_none_not_a_panic() {
        let p = |v: &[u8]| StructureTag {
            class: ldap3::asn1::TagClass::Universal,
            id: 4,
            payload: PL::P(v.to_vec()),
        };
        let c = |v: Vec<StructureTag>| StructureTag {
            class: ldap3::asn1::TagClass::Universal,
            id: 16,
            payload: PL::C(v),
        };
        assert!(entry(p(b"x")).is_none());
        assert!(entry(c(vec![p(b"dn")])).is_none());
        assert!(entry(c(vec![p(b"dn"), p(b"x")])).is_none());
        assert!(entry(c(vec![p(b"dn"), c(vec![c(vec![p(b"cn")])])])).is_none());
        assert!(entry(c(vec![p(&[0xff]), c(vec![])])).is_none());
        let good = entry(c(vec![
            p(b"cn=staff"),
            c(vec![c(vec![p(b"cn"), c(vec![p(b"staff")])])]),
        ]))
        .unwrap();
        assert_eq!(good.dn, "cn=staff");
        assert_eq!(good.first("CN"), Some(&b"staff"[..]));
    }

    /// Prints what looking up `principal` costs: uncached on one connection (p50, p99), the
    /// first lookup (connecting and binding too), and cached.
    fn measure(config: LdapGroups, principal: &str) {
        use std::time::Instant;
        let user = User {
            principal,
            local_name: None,
        };
        let lookup = LdapLookup::new(config.clone());
        let groups = lookup.groups(&user).unwrap();
        // A lookup that finds nothing would measure nothing.
        assert!(!groups.is_empty(), "no groups for {principal}");
        let mut times: Vec<Duration> = (0..1000)
            .map(|_| {
                let t = Instant::now();
                lookup.groups(&user).unwrap();
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{principal} ({} groups), uncached on one connection: p50 {:?}, p99 {:?}",
            groups.len(),
            times[500],
            times[990]
        );
        let t = Instant::now();
        LdapLookup::new(config.clone()).groups(&user).unwrap();
        println!("first lookup (connect, bind, search): {:?}", t.elapsed());
        let resolver = super::super::GroupSource::ldap(config).resolver();
        resolver.groups(&user).unwrap();
        let n: u32 = 1_000_000;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(resolver.groups(std::hint::black_box(&user)).unwrap());
        }
        println!("cached: {:?} per lookup", t.elapsed() / n);
    }

    /// What a lookup costs against a real slapd (alice: the user, then three levels, the last
    /// empty): `cargo test --release --all-features --lib lookup_cost_slapd -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn lookup_cost_slapd() {
        // `{user}` is for principals of the default realm: the test realm's krb5.conf.
        actix_gssapi_testing::shared_realm();
        let slapd = actix_gssapi_testing::TestSlapd::start().unwrap();
        measure(
            LdapGroups::new(slapd.url(), slapd.base_dn())
                .bind_simple(slapd.reader_dn(), slapd.reader_password()),
            "alice@EXAMPLE.TEST",
        );
    }

    /// The same against a Samba AD DC, bound by SASL GSSAPI (Kerberos-encrypted traffic).
    /// Alone: it exports the domain's Kerberos environment into the process.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn lookup_cost_samba() {
        let domain = actix_gssapi_testing::shared_domain();
        measure(
            LdapGroups::active_directory(domain.ldap_url(), domain.base_dn())
                .bind_kerberos(domain.dc_host()),
            "alice@AD.TEST",
        );
    }

    #[test]
    fn root_certificates_must_hold_a_certificate() {
        assert!(tls_config(b"").is_err());
        assert!(tls_config(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
        )
        .is_err());
    }
}
