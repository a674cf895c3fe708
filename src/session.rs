//! Opt-in session cookies: after one successful Negotiate, later requests skip GSSAPI.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::http::header::{HeaderMap, COOKIE};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::claims::{self, Claims};
use crate::service_name::ServiceName;

/// Session cookies for [`SpnegoAuth`](crate::SpnegoAuth), like mod_auth_gssapi's
/// `GssapiUseSessions`: after a successful Negotiate exchange the response sets an encrypted
/// cookie, and later requests that carry it are authenticated without GSSAPI (no keytab read,
/// no replay cache, no KDC ticket needed by the client).
///
/// The cookie is encrypted and authenticated with AES-256-GCM by the [`cookie`] crate's private
/// jar (what actix-web and actix-session use), with the cookie's name bound in. It holds the
/// principal, an expiry that is never later than the client's Kerberos ticket, and the
/// cookie's *audience*: the service name the `SpnegoAuth` accepts tickets for (`HTTP@host`,
/// or "any principal") and the optional [`context`](Self::context). A cookie that was
/// tampered with, has expired, was made with a key this server does not know, or was issued
/// for another audience is ignored: the request falls back to Negotiate (401 with the
/// challenge when it has no token). So two services that share a key still do not share
/// logins, unless they accept the same service name and context (several nodes of one service).
///
/// When a request carries more than one cookie of this name (a sibling subdomain can set one
/// for a parent domain), none of them is used: picking one would let the planted one win.
///
/// Delegated credentials are not in the cookie: a request authenticated by its cookie has no
/// [`delegated_credentials`](crate::KerberosIdentity::delegated_credentials). Routes that need
/// them must make the client send a Negotiate token (e.g. do not enable sessions for them, or
/// scope the cookie's [`path`](Self::path) away from them).
///
/// ```no_run
/// use actix_gssapi::{Key, SameSite, SessionCookie, SpnegoAuth};
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// // Every node behind the load balancer uses the same key: at least 64 random bytes from
/// // your secret store (`head -c 64 /dev/urandom`), never a constant in the code.
/// // (`Key::from` panics on a shorter one; `try_from` says so.)
/// let bytes = std::fs::read("/run/secrets/session.key")?;
/// let key = Key::try_from(&bytes[..])
///     .map_err(|e| std::io::Error::other(format!("/run/secrets/session.key: {e}")))?;
/// let auth = SpnegoAuth::builder()
///     .session_cookie(
///         SessionCookie::new(key)
///             .context("payroll")
///             .same_site(SameSite::Strict)
///             .max_age(Duration::from_secs(15 * 60)),
///     )
///     .build()
///     .map_err(std::io::Error::other)?;
/// # Ok(()) }
/// ```
///
/// For a single server, `Key::generate()` at start-up is enough (sessions then end with the
/// process).
///
/// Anyone holding a valid cookie is the user until it expires: serve over HTTPS (the cookie is
/// `Secure` by default) and keep the lifetime short.
///
/// [`cookie`]: https://docs.rs/cookie
#[derive(Clone)]
#[must_use]
pub struct SessionCookie {
    /// `keys[0]` encrypts new cookies; all of them decrypt.
    keys: Vec<Key>,
    /// `None`: [`DEFAULT_NAME`], with the `__Host-` prefix when the attributes allow it.
    name: Option<Cow<'static, str>>,
    context: Cow<'static, str>,
    path: Cow<'static, str>,
    domain: Option<Cow<'static, str>>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    max_age: Duration,
    /// Whether a `Secure` cookie was issued over plain HTTP yet (warned once): shared by the
    /// clones every worker uses.
    issued_over_http: Arc<AtomicBool>,
}

impl fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("keys", &format_args!("<{} keys>", self.keys.len()))
            .field("name", &self.cookie_name())
            .field("context", &self.context)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("same_site", &self.same_site)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// What the request's cookie said.
pub(crate) enum Session {
    /// No session cookie.
    Absent,
    /// A valid session: what the login that issued it established, until `expires_at`.
    Valid {
        claims: Box<Claims>,
        expires_at: SystemTime,
    },
    /// A cookie that does not authenticate; the reason is safe to log.
    Invalid(&'static str),
}

/// What a cookie's plaintext starts with; then the [`claims`](crate::claims) in base64url.
/// `v1` (`v1|end|principal`) and `v2` (`v2|end|len|audience principal`) cookies carried no
/// more than the principal: they are refused as of unknown format, and the client logs in
/// again.
const FORMAT_PREFIX: &str = "v3.";

/// The longest `Set-Cookie` value browsers keep: RFC 6265 §6.1 asks them to take at least
/// 4096 bytes a cookie (name, value and attributes), and Chromium refuses one whose name and
/// value are longer.
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// Why no cookie was issued for a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotIssued {
    /// The ticket ends in less than a second.
    TooShort,
    /// The cookie would be longer than browsers keep (this many bytes): the client goes on
    /// sending tickets, which is always correct.
    TooBig(usize),
}

/// The cookie name unless [`SessionCookie::name`] sets one (mod_auth_gssapi's default).
const DEFAULT_NAME: &str = "gssapi_session";
/// The default name when the cookie may carry the `__Host-` prefix.
const DEFAULT_HOST_NAME: &str = "__Host-gssapi_session";

impl SessionCookie {
    /// Session cookies encrypted with `key`, with the defaults below.
    ///
    /// `key` must be the same on every server that should accept the cookie. Make one with
    /// `Key::generate()` and keep it in your secret store, or make one from at least 64 bytes
    /// of secret with `Key::try_from(&bytes[..])` (`Key::from` panics on fewer).
    pub fn new(key: Key) -> Self {
        Self {
            keys: vec![key],
            name: None,
            context: Cow::Borrowed(""),
            path: Cow::Borrowed("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            max_age: Duration::from_secs(60 * 60),
            issued_over_http: Arc::default(),
        }
    }

    /// Also accept cookies made with these older keys (new cookies use the key given to
    /// [`new`](Self::new)). For key rotation: deploy the new key with the old one here, then
    /// drop the old one after the longest [`max_age`](Self::max_age).
    pub fn previous_keys(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.keys.truncate(1);
        self.keys.extend(keys);
        self
    }

    /// The cookie's name.
    ///
    /// Defaults to `__Host-gssapi_session` when the cookie is [`Secure`](Self::secure), has
    /// [`Path`](Self::path) `/` and no [`Domain`](Self::domain) (the defaults), else
    /// `gssapi_session` (mod_auth_gssapi's name). Browsers accept a `__Host-` cookie only from
    /// the exact host over HTTPS and never let a sibling subdomain set one, so another host
    /// cannot plant its own session on your users. A name you choose that starts with
    /// `__Host-` or `__Secure-` must meet those rules too, or [`SpnegoAuthBuilder::build`] fails.
    ///
    /// [`SpnegoAuthBuilder::build`]: crate::SpnegoAuthBuilder::build
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A string that binds cookies to this application, beside the service name.
    ///
    /// Defaults to empty. Cookies are only accepted by a `SpnegoAuth` with the same key,
    /// service name *and* context: give each application that shares a key and a service name
    /// with another (two apps on one host, `HTTP/www.example.com`) its own context, e.g.
    /// `"payroll"`, so a login to one is not a login to the other. Nodes of one application
    /// use the same context.
    pub fn context(mut self, context: impl Into<Cow<'static, str>>) -> Self {
        self.context = context.into();
        self
    }

    /// The cookie's `Path`. Defaults to `/`.
    pub fn path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie's `Domain`. Defaults to none (the exact host that set it).
    pub fn domain(mut self, domain: impl Into<Cow<'static, str>>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Whether the cookie is `Secure` (sent over HTTPS only). Defaults to `true`. Turning it
    /// off sends a bearer credential in clear text on every request: only for plain-HTTP test
    /// setups.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Whether the cookie is `HttpOnly` (hidden from scripts). Defaults to `true`.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The cookie's `SameSite`. Defaults to `Lax`.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// How long a session lasts. Defaults to one hour. A session never outlives the Kerberos
    /// ticket that opened it: the cookie's expiry is the earlier of the two.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Whether cookies are `Secure`.
    pub(crate) fn is_secure(&self) -> bool {
        self.secure
    }

    /// `true` the first time it is called (for a warning logged once).
    pub(crate) fn first_plain_http_answer(&self) -> bool {
        !self.issued_over_http.swap(true, Ordering::Relaxed)
    }

    /// The name cookies are set and read under.
    pub(crate) fn cookie_name(&self) -> &str {
        match &self.name {
            Some(name) => name,
            None if self.host_prefix_allowed() => DEFAULT_HOST_NAME,
            None => DEFAULT_NAME,
        }
    }

    /// Whether browsers accept a `__Host-` cookie with these attributes.
    fn host_prefix_allowed(&self) -> bool {
        self.secure && self.path == "/" && self.domain.is_none()
    }

    /// Checks what browsers would silently refuse: a cookie they never store means a
    /// Negotiate exchange on every request.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name = self.cookie_name();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(format!(
                "session cookie name {name:?} is not a valid cookie name"
            ));
        }
        if name.starts_with("__Host-") && !self.host_prefix_allowed() {
            return Err(format!(
                "session cookie {name}: a __Host- cookie must be Secure, with Path=/ and no \
                 Domain, or browsers drop it"
            ));
        }
        if name.starts_with("__Secure-") && !self.secure {
            return Err(format!(
                "session cookie {name}: a __Secure- cookie must be Secure, or browsers drop it"
            ));
        }
        Ok(())
    }

    /// The audience cookies of a `SpnegoAuth` accepting `service` are bound to. A service
    /// name cannot contain NUL (checked when the credential is acquired), so the first NUL
    /// separates it from the context unambiguously.
    pub(crate) fn audience(&self, service: &ServiceName) -> String {
        let service = match service {
            ServiceName::HostBased(name) => name.as_str(),
            ServiceName::Any => "*",
            ServiceName::Account(name) => name.as_str(),
        };
        format!("{service}\0{}", self.context)
    }

    /// The `Set-Cookie` for a fresh login (`claims.end_secs` is ignored: the session ends
    /// after [`max_age`](Self::max_age), or when the ticket does if that is earlier).
    pub(crate) fn issue(
        &self,
        claims: &Claims,
        ticket_end: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Cookie<'static>, NotIssued> {
        let mut end = now.checked_add(self.max_age).ok_or(NotIssued::TooShort)?;
        if let Some(ticket_end) = ticket_end {
            end = end.min(ticket_end);
        }
        let lifetime = end.duration_since(now).map_err(|_| NotIssued::TooShort)?;
        if lifetime < Duration::from_secs(1) {
            return Err(NotIssued::TooShort);
        }
        let end_secs = end
            .duration_since(UNIX_EPOCH)
            .map_err(|_| NotIssued::TooShort)?
            .as_secs();
        let bytes = claims::encode(&Claims {
            end_secs,
            ..claims.clone()
        });
        let value = format!("{FORMAT_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let name = self.cookie_name().to_owned();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.keys[0])
            .add(Cookie::new(name.clone(), value));
        let mut cookie = jar.get(&name).ok_or(NotIssued::TooShort)?.clone();
        cookie.set_path(self.path.to_string());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.to_string());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(secs));
        let len = cookie.to_string().len();
        if len > MAX_COOKIE_BYTES {
            return Err(NotIssued::TooBig(len));
        }
        Ok(cookie)
    }

    /// Reads and checks the request's session cookie.
    pub(crate) fn read(&self, audience: &str, headers: &HeaderMap, now: SystemTime) -> Session {
        let name = self.cookie_name();
        let mut found = None;
        for header in headers.get_all(COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            for pair in header.split(';') {
                let Some((n, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if n != name {
                    continue;
                }
                if found.is_some() {
                    return Session::Invalid(
                        "several session cookies of this name (one may have been set by \
                         another host); using none",
                    );
                }
                found = Some(value);
            }
        }
        let Some(value) = found else {
            return Session::Absent;
        };
        self.open(audience, value, now).unwrap_or(Session::Invalid(
            "session cookie does not decrypt under any configured key (tampered, or made with \
             another key)",
        ))
    }

    /// `None` when no key decrypts `value`.
    fn open(&self, audience: &str, value: &str, now: SystemTime) -> Option<Session> {
        let name = self.cookie_name();
        let plain = self.keys.iter().find_map(|key| {
            let mut jar = CookieJar::new();
            jar.add_original(Cookie::new(name.to_owned(), value.to_owned()));
            jar.private(key).get(name).map(|c| c.value().to_owned())
        })?;
        let unknown = Some(Session::Invalid("session cookie has an unknown format"));
        let Some(claims) = plain
            .strip_prefix(FORMAT_PREFIX)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
            .and_then(|bytes| claims::decode(&bytes))
        else {
            return unknown;
        };
        let Some(expires_at) = UNIX_EPOCH.checked_add(Duration::from_secs(claims.end_secs)) else {
            return unknown;
        };
        if claims.audience != audience {
            return Some(Session::Invalid(
                "session cookie was issued for another service name or context",
            ));
        }
        if expires_at <= now {
            return Some(Session::Invalid("session cookie has expired"));
        }
        Some(Session::Valid {
            claims: Box::new(claims),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    const AUD: &str = "HTTP@localhost\0";

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    fn key(b: u8) -> Key {
        Key::from(&[b; 64])
    }

    /// What a plain SPNEGO login of `principal` would put in a cookie for `audience`.
    fn login(audience: &str, principal: &str) -> Claims {
        Claims {
            end_secs: 0,
            audience: audience.to_owned(),
            principal: principal.to_owned(),
            mechanism: crate::events::Mechanism::Spnego,
            anonymous: false,
            channel_bound: false,
            local_name: None,
            pac: None,
            groups: Vec::new(),
        }
    }

    fn valid(session: Session) -> String {
        match session {
            Session::Valid { claims, .. } => claims.principal,
            Session::Invalid(why) => panic!("invalid: {why}"),
            Session::Absent => panic!("absent"),
        }
    }

    fn invalid(session: Session) -> &'static str {
        match session {
            Session::Invalid(why) => why,
            Session::Valid { claims, .. } => panic!("valid for {}", claims.principal),
            Session::Absent => panic!("absent"),
        }
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let c = SessionCookie::new(key(1));
        assert!(c.secure && c.http_only);
        assert_eq!(c.same_site, SameSite::Lax);
        assert_eq!(c.path, "/");
        assert_eq!(c.cookie_name(), "__Host-gssapi_session");
        assert_eq!(c.validate(), Ok(()));
        assert!(!format!("{c:?}").contains("[1, 1"), "keys are not printed");
    }

    #[test]
    fn host_prefix_only_where_browsers_accept_it() {
        let plain = |c: SessionCookie| c.cookie_name().to_owned();
        assert_eq!(
            plain(SessionCookie::new(key(1)).secure(false)),
            "gssapi_session"
        );
        assert_eq!(
            plain(SessionCookie::new(key(1)).path("/app")),
            "gssapi_session"
        );
        assert_eq!(
            plain(SessionCookie::new(key(1)).domain("example.com")),
            "gssapi_session"
        );
        assert_eq!(plain(SessionCookie::new(key(1)).name("sso")), "sso");
        let bad = [
            SessionCookie::new(key(1)).name("__Host-x").path("/app"),
            SessionCookie::new(key(1))
                .name("__Host-x")
                .domain("example.com"),
            SessionCookie::new(key(1)).name("__Host-x").secure(false),
            SessionCookie::new(key(1)).name("__Secure-x").secure(false),
            SessionCookie::new(key(1)).name("a=b"),
            SessionCookie::new(key(1)).name("a b"),
            SessionCookie::new(key(1)).name(""),
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert_eq!(
            SessionCookie::new(key(1)).name("__Secure-x").validate(),
            Ok(())
        );
    }

    #[test]
    fn round_trip_and_attributes() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let cookie = c.issue(&login(AUD, "alice@R"), None, now).unwrap();
        assert_eq!(cookie.name(), "__Host-gssapi_session");
        assert!(
            !cookie.value().contains("alice"),
            "the principal is encrypted"
        );
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);
        assert_eq!(cookie.max_age().unwrap().whole_seconds(), 3600);
        let h = headers(&format!(
            "other=1; __Host-gssapi_session={}; x=y",
            cookie.value()
        ));
        assert_eq!(valid(c.read(AUD, &h, now)), "alice@R");
    }

    #[test]
    fn principals_with_separators_round_trip() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1)).context("a|b");
        let aud = c.audience(&ServiceName::HostBased("HTTP@h".into()));
        for principal in ["a|b@R", "|@R", "x\0y@R", ""] {
            let value = c
                .issue(&login(&aud, principal), None, now)
                .unwrap()
                .value()
                .to_owned();
            let h = headers(&format!("__Host-gssapi_session={value}"));
            assert_eq!(valid(c.read(&aud, &h, now)), principal);
        }
    }

    #[test]
    fn cookies_are_bound_to_their_audience() {
        let now = SystemTime::now();
        let a = SessionCookie::new(key(1));
        let a_aud = a.audience(&ServiceName::HostBased("HTTP@localhost".into()));
        let value = a
            .issue(&login(&a_aud, "alice@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let h = headers(&format!("__Host-gssapi_session={value}"));
        assert_eq!(valid(a.read(&a_aud, &h, now)), "alice@R");

        let other_service = a.audience(&ServiceName::HostBased("HTTP@other.example".into()));
        let any = a.audience(&ServiceName::Any);
        let with_context = a.clone().context("payroll");
        let other_context = with_context.audience(&ServiceName::HostBased("HTTP@localhost".into()));
        for aud in [other_service, any, other_context] {
            assert_eq!(
                invalid(a.read(&aud, &h, now)),
                "session cookie was issued for another service name or context"
            );
        }
    }

    #[test]
    fn several_cookies_of_our_name_are_all_ignored() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let alice = c
            .issue(&login(AUD, "alice@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let mallory = c
            .issue(&login(AUD, "mallory@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let n = "__Host-gssapi_session";
        for h in [
            headers(&format!("{n}={mallory}; {n}={alice}")),
            headers(&format!("{n}={alice}; {n}=garbage")),
            {
                let mut h = headers(&format!("{n}={mallory}"));
                h.append(
                    COOKIE,
                    HeaderValue::from_str(&format!("{n}={alice}")).unwrap(),
                );
                h
            },
        ] {
            assert!(invalid(c.read(AUD, &h, now)).contains("several session cookies"));
        }
        // Cookies of other names do not count.
        let h = headers(&format!("gssapi_session={mallory}; {n}={alice}"));
        assert_eq!(valid(c.read(AUD, &h, now)), "alice@R");
    }

    #[test]
    fn session_never_outlives_the_ticket() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let ticket_end = now + Duration::from_secs(90);
        let cookie = c
            .issue(&login(AUD, "alice@R"), Some(ticket_end), now)
            .unwrap();
        assert_eq!(cookie.max_age().unwrap().whole_seconds(), 90);
        let h = headers(&format!("__Host-gssapi_session={}", cookie.value()));
        assert_eq!(
            invalid(c.read(AUD, &h, now + Duration::from_secs(91))),
            "session cookie has expired"
        );
        assert!(matches!(
            c.issue(&login(AUD, "alice@R"), Some(now), now),
            Err(NotIssued::TooShort)
        ));
    }

    #[test]
    fn tampered_renamed_and_foreign_cookies_are_invalid() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1)).name("gssapi_session");
        let value = c
            .issue(&login(AUD, "alice@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let mut bytes = value.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        invalid(c.read(AUD, &headers(&format!("gssapi_session={tampered}")), now));
        let other = SessionCookie::new(key(2)).name("gssapi_session");
        invalid(other.read(AUD, &headers(&format!("gssapi_session={value}")), now));
        let renamed = SessionCookie::new(key(1)).name("other");
        invalid(renamed.read(AUD, &headers(&format!("other={value}")), now));
        assert!(matches!(
            c.read(AUD, &HeaderMap::new(), now),
            Session::Absent
        ));
        assert!(matches!(c.read(AUD, &headers("x=1"), now), Session::Absent));
    }

    #[test]
    fn old_format_cookies_are_refused() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1)).name("s");
        let end = (now + Duration::from_secs(60))
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // v1 and v2 carried only the principal: a rule could not ask them what it asks a
        // ticket.
        for old in [
            format!("v1|{end}|alice@R"),
            format!("v2|{end}|{}|{AUD}alice@R", AUD.len()),
            "v3.!!!".to_owned(),
            format!("v3.{}", URL_SAFE_NO_PAD.encode([3, 0, 0])),
        ] {
            let mut jar = CookieJar::new();
            jar.private_mut(&key(1)).add(Cookie::new("s", old));
            let value = jar.get("s").unwrap().value().to_owned();
            assert_eq!(
                invalid(c.read(AUD, &headers(&format!("s={value}")), now)),
                "session cookie has an unknown format"
            );
        }
    }

    #[test]
    fn what_the_login_established_comes_back_whole() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let login = Claims {
            mechanism: crate::events::Mechanism::Password,
            anonymous: true,
            channel_bound: true,
            local_name: Some(Some("alice".to_owned())),
            pac: Some(crate::claims::tests::pac_with(400)),
            ..login(AUD, "alice@AD.TEST")
        };
        let cookie = c.issue(&login, None, now).unwrap();
        // A 400-group user fits in what browsers keep, with room to spare.
        let len = cookie.to_string().len();
        assert!(len < 3000, "{len} bytes");
        let h = headers(&format!("__Host-gssapi_session={}", cookie.value()));
        let Session::Valid { claims, .. } = c.read(AUD, &h, now) else {
            panic!("not valid");
        };
        assert_eq!(
            Claims {
                end_secs: 0,
                ..*claims
            },
            login
        );
    }

    #[test]
    fn a_cookie_browsers_would_drop_is_not_issued() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let login = Claims {
            pac: Some(crate::claims::tests::pac_with(2000)),
            ..login(AUD, "alice@AD.TEST")
        };
        match c.issue(&login, None, now) {
            Err(NotIssued::TooBig(len)) => assert!(len > MAX_COOKIE_BYTES, "{len}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn previous_keys_still_open_old_cookies() {
        let now = SystemTime::now();
        let old = SessionCookie::new(key(1));
        let value = old
            .issue(&login(AUD, "alice@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let rotated = SessionCookie::new(key(2)).previous_keys([key(1)]);
        let h = headers(&format!("__Host-gssapi_session={value}"));
        assert_eq!(valid(rotated.read(AUD, &h, now)), "alice@R");
        let new_value = rotated
            .issue(&login(AUD, "bob@R"), None, now)
            .unwrap()
            .value()
            .to_owned();
        let h = headers(&format!("__Host-gssapi_session={new_value}"));
        invalid(old.read(AUD, &h, now));
    }
}
