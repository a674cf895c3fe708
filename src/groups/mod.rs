//! Groups from a directory, for tickets that carry none: MIT and FreeIPA realms, and Active
//! Directory tickets whose PAC is absent or stripped.
//!
//! A [`GroupSource`] is asked on the GSSAPI thread that accepted the login, right after the
//! accept (never on an async worker), through a cache shared by every thread. A source that
//! cannot answer fails the login closed, with `503` (not `403`: the user may well be allowed).

#[cfg(feature = "ldap")]
mod ldap;
mod name_service;

#[cfg(feature = "ldap")]
pub use ldap::LdapGroups;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::pac::Sid;

/// A group a [`GroupSource`] says the user is a member of.
///
/// ```
/// use actix_gssapi::KerberosIdentity;
///
/// fn is_operator(id: &KerberosIdentity) -> bool {
///     id.groups().iter().any(|g| g.name() == "operators")
/// }
/// # let _ = is_operator;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    name: String,
    sid: Option<Sid>,
}

impl Group {
    /// A group of this name, and SID when the directory has one (Active Directory).
    pub(crate) fn new(name: String, sid: Option<Sid>) -> Self {
        Self { name, sid }
    }

    /// The group's name as the directory spells it: the host's group name (`getgrgid`), or
    /// the LDAP group entry's `cn`. Rules compare it exactly.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's SID, from an Active Directory's `objectSid`; `None` elsewhere.
    pub fn sid(&self) -> Option<&Sid> {
        self.sid.as_ref()
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Who to look up: what GSSAPI established of the user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct User<'a> {
    /// `alice@EXAMPLE.TEST`, verified by GSSAPI.
    pub(crate) principal: &'a str,
    /// The local account name krb5.conf's `auth_to_local` rules map the principal to.
    pub(crate) local_name: Option<&'a str>,
}

/// Why a source could not answer (the directory is down, refused our bind, timed out): the
/// login fails with `503`. The text is for the log; it never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupError(pub(crate) String);

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A directory that knows users' groups. Called on a GSSAPI thread: it may block (bounded by
/// its own timeouts).
pub(crate) trait Lookup: Send + Sync + 'static {
    /// The groups of `user`, nested groups included; empty when the directory has no such
    /// user (an unknown user is in no group, which is not an error).
    fn groups(&self, user: &User<'_>) -> Result<Vec<Group>, LookupError>;
    /// What it is, for the start-up log line (no secret).
    fn describe(&self) -> String;
    /// Whether it needs the `auth_to_local` name (then every login asks GSSAPI for it).
    fn needs_local_name(&self) -> bool;
}

/// How long a looked-up list is kept, by default.
const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// How many users' lists are kept, by default.
const DEFAULT_CAPACITY: usize = 10_000;
/// After a failed lookup, how long the next ones fail at once, without asking the directory
/// again: a directory that is down must not hold every GSSAPI thread for its timeout.
const DOWN_FOR: Duration = Duration::from_secs(1);

/// Where the groups of a login come from when its ticket carries none: the host's name
/// service, or (feature `ldap`) an LDAP directory. Give it to
/// [`SpnegoAuthBuilder::groups`](crate::SpnegoAuthBuilder::groups); then every login's
/// [`KerberosIdentity::groups`](crate::KerberosIdentity::groups) holds the user's groups,
/// and [`Require::any_group_named`](crate::Require::any_group_named) decides by name.
///
/// - Looked up on the GSSAPI thread after the accept, never on an async worker.
/// - Cached per principal for [`cache_for`](Self::cache_for) (5 minutes by default), at
///   most [`cache_capacity`](Self::cache_capacity) users (10,000), so a group removed in
///   the directory stops counting within that time.
/// - Fails closed: when the directory cannot answer (and the user's list is not cached),
///   the login is refused with `503` and `Retry-After`, logged at `error`; for the second
///   after a failure, logins fail at once without asking again.
/// - A [`SessionCookie`](crate::SessionCookie) carries the groups of the login that issued
///   it, as it does the PAC's.
///
/// ```no_run
/// use std::time::Duration;
/// use actix_gssapi::{GroupSource, Require, SpnegoAuth};
/// use actix_web::{web, App, HttpServer};
///
/// # #[actix_web::main]
/// # async fn main() -> std::io::Result<()> {
/// let auth = SpnegoAuth::builder()
///     .groups(GroupSource::name_service().cache_for(Duration::from_secs(60)))
///     .build()
///     .map_err(std::io::Error::other)?;
/// HttpServer::new(move || {
///     App::new().wrap(auth.clone()).service(
///         web::scope("/ops")
///             .wrap(Require::any_group_named(["operators"]))
///             .route("/", web::get().to(|| async { "operators only" })),
///     )
/// })
/// .bind("127.0.0.1:8080")?
/// .run()
/// .await
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct GroupSource {
    lookup: Arc<dyn Lookup>,
    ttl: Duration,
    capacity: usize,
}

impl fmt::Debug for GroupSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSource")
            .field("source", &self.lookup.describe())
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl GroupSource {
    fn new(lookup: Arc<dyn Lookup>) -> Self {
        Self {
            lookup,
            ttl: DEFAULT_TTL,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The host's name service, as `id` sees it: the groups `getgrouplist` gives for the local
    /// account krb5.conf's `auth_to_local` rules map the principal to (what a machine joined
    /// with SSSD or FreeIPA's client knows), named by `getgrgid`. A principal that maps to no
    /// local name, or to a name the host does not know, is in no group.
    ///
    /// The name service cannot tell "no such user" from "the directory behind it is down"
    /// (SSSD answers the former for both when its cache is empty): with SSSD, keep its cache
    /// on (the default) so that a short outage does not empty every list.
    pub fn name_service() -> Self {
        Self::new(Arc::new(name_service::NameService))
    }

    /// An LDAP directory (feature `ldap`): the user's groups, nested ones included, as
    /// [`LdapGroups`] says where and how to find them (OpenLDAP, FreeIPA, Active Directory).
    /// Each lookup runs on the GSSAPI thread with a deadline
    /// ([`LdapGroups::timeout`], 5 seconds); the source keeps one connection, reused by
    /// every lookup (one at a time) and made again after an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_gssapi::{GroupSource, LdapGroups};
    ///
    /// let groups = GroupSource::ldap(
    ///     LdapGroups::new("ldap://ldap.example.com", "dc=example,dc=com")
    ///         .start_tls()
    ///         .bind_kerberos("ldap.example.com"),
    /// )
    /// .cache_for(Duration::from_secs(120));
    /// # let _ = groups;
    /// ```
    #[cfg(feature = "ldap")]
    pub fn ldap(config: LdapGroups) -> Self {
        Self::new(Arc::new(ldap::LdapLookup::new(config)))
    }

    /// A source of the tests.
    #[cfg(test)]
    pub(crate) fn from_lookup(lookup: Arc<dyn Lookup>) -> Self {
        Self::new(lookup)
    }

    /// How long a user's list is kept before the directory is asked again (5 minutes by
    /// default; zero asks on every login).
    pub fn cache_for(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many users' lists are kept at most (10,000 by default); past it, the oldest go.
    pub fn cache_capacity(mut self, users: usize) -> Self {
        self.capacity = users;
        self
    }

    /// Whether logins must ask GSSAPI for their local name.
    pub(crate) fn needs_local_name(&self) -> bool {
        self.lookup.needs_local_name()
    }

    /// The resolver every GSSAPI thread shares.
    pub(crate) fn resolver(&self) -> Resolver {
        Resolver {
            source: self.clone(),
            state: Arc::new(Mutex::new(State::default())),
        }
    }
}

/// A [`GroupSource`] with its cache; clones share both.
#[derive(Clone)]
pub(crate) struct Resolver {
    source: GroupSource,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    cache: HashMap<String, (Instant, Arc<[Group]>)>,
    /// Until when lookups fail at once, and the error they fail with.
    down: Option<(Instant, LookupError)>,
}

impl Resolver {
    /// Whether the source needs the login's `auth_to_local` name.
    pub(crate) fn needs_local_name(&self) -> bool {
        self.source.needs_local_name()
    }

    /// What it is, for the start-up log line.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}, cached {} s for at most {} users",
            self.source.lookup.describe(),
            self.source.ttl.as_secs(),
            self.source.capacity
        )
    }

    /// The cached list of `principal`, when fresh.
    pub(crate) fn cached(&self, principal: &str) -> Option<Arc<[Group]>> {
        self.cached_at(principal, Instant::now())
    }

    fn cached_at(&self, principal: &str, now: Instant) -> Option<Arc<[Group]>> {
        self.lock().fresh(principal, self.source.ttl, now)
    }

    /// The groups of `user`: from the cache when fresh, else from the directory (and cached).
    pub(crate) fn groups(&self, user: &User<'_>) -> Result<Arc<[Group]>, LookupError> {
        self.groups_at(user, Instant::now())
    }

    fn groups_at(&self, user: &User<'_>, now: Instant) -> Result<Arc<[Group]>, LookupError> {
        let ttl = self.source.ttl;
        {
            let state = self.lock();
            if let Some(groups) = state.fresh(user.principal, ttl, now) {
                return Ok(groups);
            }
            if let Some((until, e)) = &state.down {
                if now < *until {
                    return Err(e.clone());
                }
            }
        }
        // Asked without the lock: another thread may ask for the same user meanwhile, which
        // costs one more query, never a wrong answer.
        match self.source.lookup.groups(user) {
            Ok(groups) => {
                let groups: Arc<[Group]> = groups.into();
                let mut state = self.lock();
                state.down = None;
                if !ttl.is_zero() && self.source.capacity > 0 {
                    state.make_room(self.source.capacity, ttl, now);
                    state
                        .cache
                        .insert(user.principal.to_owned(), (now, Arc::clone(&groups)));
                }
                Ok(groups)
            }
            Err(e) => {
                self.lock().down = Some((now + DOWN_FOR, e.clone()));
                Err(e)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent map (every update is one call).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    /// The list of `principal`, when cached less than `ttl` before `now`.
    fn fresh(&self, principal: &str, ttl: Duration, now: Instant) -> Option<Arc<[Group]>> {
        let (at, groups) = self.cache.get(principal)?;
        (now.saturating_duration_since(*at) < ttl).then(|| Arc::clone(groups))
    }

    /// Drops stale lists, then the oldest ones, until one more fits under `capacity`.
    fn make_room(&mut self, capacity: usize, ttl: Duration, now: Instant) {
        if self.cache.len() < capacity {
            return;
        }
        self.cache
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
        while self.cache.len() >= capacity {
            let Some(oldest) = self
                .cache
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.cache.remove(&oldest);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory for unit tests: `alice` is in `staff`, everyone else in nothing; it counts
    /// the questions and can be switched off.
    #[derive(Default)]
    pub(crate) struct Fake {
        pub(crate) asked: AtomicUsize,
        pub(crate) down: std::sync::atomic::AtomicBool,
    }

    impl Lookup for Fake {
        fn groups(&self, user: &User<'_>) -> Result<Vec<Group>, LookupError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(LookupError("the fake directory is down".to_owned()));
            }
            Ok(if user.principal.starts_with("alice@") {
                vec![Group::new("staff".to_owned(), None)]
            } else {
                Vec::new()
            })
        }
        fn describe(&self) -> String {
            "a fake directory".to_owned()
        }
        fn needs_local_name(&self) -> bool {
            false
        }
    }

    fn user(principal: &str) -> User<'_> {
        User {
            principal,
            local_name: None,
        }
    }

    fn resolver(fake: &Arc<Fake>, ttl: Duration, capacity: usize) -> Resolver {
        GroupSource::from_lookup(Arc::clone(fake) as Arc<dyn Lookup>)
            .cache_for(ttl)
            .cache_capacity(capacity)
            .resolver()
    }

    #[test]
    fn lists_are_cached_for_the_ttl_then_asked_again() {
        let fake = Arc::new(Fake::default());
        let r = resolver(&fake, Duration::from_secs(60), 10);
        let t0 = Instant::now();
        let names = |g: &[Group]| g.iter().map(|g| g.name().to_owned()).collect::<Vec<_>>();
        let alice = user("alice@EXAMPLE.TEST");
        assert_eq!(names(&r.groups_at(&alice, t0).unwrap()), ["staff"]);
        assert_eq!(
            names(&r.groups_at(&alice, t0 + Duration::from_secs(59)).unwrap()),
            ["staff"]
        );
        assert_eq!(fake.asked.load(Ordering::SeqCst), 1);
        r.groups_at(&alice, t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(fake.asked.load(Ordering::SeqCst), 2);
        // An empty list is an answer, cached too.
        let bob = user("bob@EXAMPLE.TEST");
        assert!(r.groups_at(&bob, t0).unwrap().is_empty());
        assert!(r.groups_at(&bob, t0).unwrap().is_empty());
        assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_zero_ttl_asks_every_time() {
        let fake = Arc::new(Fake::default());
        let r = resolver(&fake, Duration::ZERO, 10);
        for _ in 0..3 {
            r.groups(&user("alice@EXAMPLE.TEST")).unwrap();
        }
        assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_failure_fails_closed_and_fast_for_a_second_then_asks_again() {
        let fake = Arc::new(Fake::default());
        let r = resolver(&fake, Duration::from_secs(60), 10);
        let t0 = Instant::now();
        fake.down.store(true, Ordering::SeqCst);
        let alice = user("alice@EXAMPLE.TEST");
        assert!(r.groups_at(&alice, t0).is_err());
        assert!(r.groups_at(&user("bob@EXAMPLE.TEST"), t0).is_err());
        assert_eq!(
            fake.asked.load(Ordering::SeqCst),
            1,
            "failed fast, not asked"
        );
        fake.down.store(false, Ordering::SeqCst);
        assert!(r
            .groups_at(&alice, t0 + Duration::from_millis(999))
            .is_err());
        assert_eq!(r.groups_at(&alice, t0 + DOWN_FOR).unwrap().len(), 1);
        assert_eq!(fake.asked.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_cached_list_outlives_an_outage_only_until_its_ttl() {
        let fake = Arc::new(Fake::default());
        let r = resolver(&fake, Duration::from_secs(60), 10);
        let t0 = Instant::now();
        let alice = user("alice@EXAMPLE.TEST");
        r.groups_at(&alice, t0).unwrap();
        fake.down.store(true, Ordering::SeqCst);
        assert!(r.groups_at(&alice, t0 + Duration::from_secs(30)).is_ok());
        assert!(r.groups_at(&alice, t0 + Duration::from_secs(61)).is_err());
    }

    #[test]
    fn the_cache_is_bounded_and_drops_the_oldest() {
        let fake = Arc::new(Fake::default());
        let r = resolver(&fake, Duration::from_secs(60), 3);
        let t0 = Instant::now();
        let names: Vec<String> = (0..10).map(|i| format!("user{i}@EXAMPLE.TEST")).collect();
        for (i, n) in names.iter().enumerate() {
            r.groups_at(&user(n), t0 + Duration::from_millis(i as u64))
                .unwrap();
            assert!(r.lock().cache.len() <= 3);
        }
        let cached: Vec<String> = r.lock().cache.keys().cloned().collect();
        for n in &names[7..] {
            assert!(cached.contains(n), "{n} is among the newest: {cached:?}");
        }
    }
}
