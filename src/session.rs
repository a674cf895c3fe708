//! Opt-in session cookies: after one successful Negotiate, later requests skip GSSAPI.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::http::header::{HeaderMap, COOKIE};

/// Session cookies for [`SpnegoAuth`](crate::SpnegoAuth), like mod_auth_gssapi's
/// `GssapiUseSessions`: after a successful Negotiate exchange the response sets an encrypted
/// cookie, and later requests that carry it are authenticated without GSSAPI (no keytab read,
/// no replay cache, no KDC ticket needed by the client).
///
/// The cookie is encrypted and authenticated with AES-256-GCM by the [`cookie`] crate's private
/// jar (what actix-web and actix-session use), with the cookie's name bound in. It holds the
/// principal and an expiry that is never later than the client's Kerberos ticket. A cookie that
/// was tampered with, has expired, or was made with a key this server does not know is ignored:
/// the request falls back to Negotiate (401 with the challenge when it has no token).
///
/// Delegated credentials are not in the cookie: a request authenticated by its cookie has no
/// [`delegated_credentials`](crate::KerberosIdentity::delegated_credentials). Routes that need
/// them must make the client send a Negotiate token (e.g. do not enable sessions for them, or
/// scope the cookie's [`path`](Self::path) away from them).
///
/// ```
/// use actix_gssapi::{Key, SameSite, SessionCookie, SpnegoAuth};
/// use std::time::Duration;
///
/// // Every node behind the load balancer uses the same key (64 bytes, from your secret store).
/// let key = Key::from(&[7u8; 64]);
/// let auth = SpnegoAuth::new().session_cookie(
///     SessionCookie::new(key)
///         .name("sso")
///         .same_site(SameSite::Strict)
///         .max_age(Duration::from_secs(15 * 60)),
/// );
/// ```
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
    name: Cow<'static, str>,
    path: Cow<'static, str>,
    domain: Option<Cow<'static, str>>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    max_age: Duration,
}

impl fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("keys", &format_args!("<{} keys>", self.keys.len()))
            .field("name", &self.name)
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
    /// A valid session for this principal, until this time.
    Valid {
        principal: String,
        expires_at: SystemTime,
    },
    /// A cookie that does not authenticate; the reason is safe to log.
    Invalid(&'static str),
}

const FORMAT_VERSION: &str = "v1";

impl SessionCookie {
    /// Session cookies encrypted with `key`, with the defaults below.
    ///
    /// `key` must be the same on every server that should accept the cookie. Make one with
    /// `Key::generate()` and keep it in your secret store, or derive one from at least 64 bytes
    /// of secret with `Key::from`.
    pub fn new(key: Key) -> Self {
        Self {
            keys: vec![key],
            name: Cow::Borrowed("gssapi_session"),
            path: Cow::Borrowed("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            max_age: Duration::from_secs(60 * 60),
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

    /// The cookie's name. Defaults to `gssapi_session` (mod_auth_gssapi's default).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
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

    /// The `Set-Cookie` for a fresh Negotiate login, or `None` when the ticket ends too soon
    /// for a session to be worth it.
    pub(crate) fn issue(
        &self,
        principal: &str,
        ticket_end: Option<SystemTime>,
        now: SystemTime,
    ) -> Option<Cookie<'static>> {
        let mut end = now.checked_add(self.max_age)?;
        if let Some(ticket_end) = ticket_end {
            end = end.min(ticket_end);
        }
        let lifetime = end.duration_since(now).ok()?;
        if lifetime < Duration::from_secs(1) {
            return None;
        }
        let end_secs = end.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let value = format!("{FORMAT_VERSION}|{end_secs}|{principal}");
        let mut jar = CookieJar::new();
        jar.private_mut(&self.keys[0])
            .add(Cookie::new(self.name.to_string(), value));
        let mut cookie = jar.get(&self.name)?.clone();
        cookie.set_path(self.path.to_string());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.to_string());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(secs));
        Some(cookie)
    }

    /// Reads and checks the request's session cookie(s).
    pub(crate) fn read(&self, headers: &HeaderMap, now: SystemTime) -> Session {
        let mut seen = false;
        for header in headers.get_all(COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            for pair in header.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name != self.name {
                    continue;
                }
                seen = true;
                if let Some(session) = self.open(value, now) {
                    return session;
                }
            }
        }
        if seen {
            Session::Invalid(
                "session cookie does not decrypt under any configured key (tampered, or made \
                 with another key)",
            )
        } else {
            Session::Absent
        }
    }

    /// `None` when no key decrypts `value`.
    fn open(&self, value: &str, now: SystemTime) -> Option<Session> {
        let plain = self.keys.iter().find_map(|key| {
            let mut jar = CookieJar::new();
            jar.add_original(Cookie::new(self.name.to_string(), value.to_owned()));
            jar.private(key)
                .get(&self.name)
                .map(|c| c.value().to_owned())
        })?;
        let mut parts = plain.splitn(3, '|');
        let (Some(FORMAT_VERSION), Some(end), Some(principal)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Some(Session::Invalid("session cookie has an unknown format"));
        };
        let Some(expires_at) = end
            .parse::<u64>()
            .ok()
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        else {
            return Some(Session::Invalid("session cookie has an unknown format"));
        };
        if expires_at <= now {
            return Some(Session::Invalid("session cookie has expired"));
        }
        Some(Session::Valid {
            principal: principal.to_owned(),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    fn key(b: u8) -> Key {
        Key::from(&[b; 64])
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let c = SessionCookie::new(key(1));
        assert!(c.secure && c.http_only);
        assert_eq!(c.same_site, SameSite::Lax);
        assert_eq!(c.path, "/");
        assert_eq!(c.name, "gssapi_session");
        assert!(!format!("{c:?}").contains("[1, 1"), "keys are not printed");
    }

    #[test]
    fn round_trip_and_attributes() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let cookie = c.issue("alice@R", None, now).unwrap();
        assert!(
            !cookie.value().contains("alice"),
            "the principal is encrypted"
        );
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.max_age().unwrap().whole_seconds(), 3600);
        let h = headers(&format!("other=1; gssapi_session={}; x=y", cookie.value()));
        match c.read(&h, now) {
            Session::Valid { principal, .. } => assert_eq!(principal, "alice@R"),
            _ => panic!("valid"),
        }
    }

    #[test]
    fn session_never_outlives_the_ticket() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let ticket_end = now + Duration::from_secs(90);
        let cookie = c.issue("alice@R", Some(ticket_end), now).unwrap();
        assert_eq!(cookie.max_age().unwrap().whole_seconds(), 90);
        let h = headers(&format!("gssapi_session={}", cookie.value()));
        assert!(matches!(
            c.read(&h, now + Duration::from_secs(91)),
            Session::Invalid("session cookie has expired")
        ));
        assert!(c.issue("alice@R", Some(now), now).is_none());
    }

    #[test]
    fn tampered_renamed_and_foreign_cookies_are_invalid() {
        let now = SystemTime::now();
        let c = SessionCookie::new(key(1));
        let value = c.issue("alice@R", None, now).unwrap().value().to_owned();
        let mut bytes = value.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            c.read(&headers(&format!("gssapi_session={tampered}")), now),
            Session::Invalid(_)
        ));
        let other = SessionCookie::new(key(2));
        assert!(matches!(
            other.read(&headers(&format!("gssapi_session={value}")), now),
            Session::Invalid(_)
        ));
        let renamed = SessionCookie::new(key(1)).name("other");
        assert!(matches!(
            renamed.read(&headers(&format!("other={value}")), now),
            Session::Invalid(_)
        ));
        assert!(matches!(c.read(&HeaderMap::new(), now), Session::Absent));
        assert!(matches!(c.read(&headers("x=1"), now), Session::Absent));
    }

    #[test]
    fn previous_keys_still_open_old_cookies() {
        let now = SystemTime::now();
        let old = SessionCookie::new(key(1));
        let value = old.issue("alice@R", None, now).unwrap().value().to_owned();
        let rotated = SessionCookie::new(key(2)).previous_keys([key(1)]);
        assert!(matches!(
            rotated.read(&headers(&format!("gssapi_session={value}")), now),
            Session::Valid { .. }
        ));
        let new_value = rotated
            .issue("bob@R", None, now)
            .unwrap()
            .value()
            .to_owned();
        assert!(matches!(
            old.read(&headers(&format!("gssapi_session={new_value}")), now),
            Session::Invalid(_)
        ));
    }
}
