//! [`ReplayProtection`]: which store refuses a token that is used twice.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};

#[cfg(feature = "redis")]
use super::redis::{RedisConfig, RedisStore};
use super::{memory::MemoryStore, Store};
use crate::error::Error;

/// How a token that was accepted once is refused the second time (a *replay*: a token
/// copied from a log, a proxy or the wire and sent again before it expires).
///
/// Kerberos tokens are single-use: each carries an authenticator, encrypted for this service,
/// that the server must see only once within the allowed clock skew. By default the crate
/// checks that itself, in an in-process store; [`redis`](Self::redis) makes the check
/// cluster-wide, so a token used on one node is refused on every other node sharing the
/// Redis. With either store, GSSAPI's own replay cache (MIT's file per machine) is turned off
/// for the acceptor credential, and replay detection works like this:
///
/// 1. GSSAPI accepts the token first, so only tokens that decrypted and verified reach the
///    store: junk cannot fill it.
/// 2. The tag of the token's authenticator (a SHA-256 of its ciphertext, which nobody can
///    change without the accept failing) is inserted into the store **atomically**, to expire
///    after twice krb5.conf's `clockskew` plus 2 s (602 s by default); tokens older than that are
///    refused by GSSAPI anyway. A tag that is already there refuses the login as a replay:
///    `403`, logged, [`AuthEvent::Replay`](crate::AuthEvent::Replay). The same authenticator
///    in other framing (raw Kerberos instead of SPNEGO, other SPNEGO fields) has the same tag.
/// 3. A token whose authenticator cannot be located unambiguously is refused (`403`), never
///    let through unchecked.
/// 4. A store that cannot answer (Redis down or slower than its
///    [timeout](crate::RedisConfig::timeout), the in-process store full) refuses the login
///    with the [overloaded](crate::Responses::overloaded) response, `503` with
///    `Retry-After`, also in [optional](crate::SpnegoAuth::optional) mode, and logs an error
///    (at most a line a second) and the event
///    [`ReplayStoreUnavailable`](crate::AuthEvent::ReplayStoreUnavailable); unless the Redis
///    store [falls back to memory](Self::fall_back_to_memory). At most
///    [`login_queue`](crate::Capacity::login_queue) logins wait for the store at once; the
///    next ones get that answer at once.
///
/// [`mit_file_cache`](Self::mit_file_cache) keeps MIT's own cache instead (per machine, a
/// file lock and a write per login).
///
/// ```no_run
/// use actix_gssapi::{ReplayProtection, SpnegoAuth};
///
/// // The default: in this process, for up to a million logins in the window.
/// let builder = SpnegoAuth::builder().replay_protection(ReplayProtection::in_memory());
/// ```
#[derive(Clone)]
#[must_use]
pub struct ReplayProtection {
    kind: Kind,
    max_entries: usize,
    #[cfg(feature = "redis")]
    fallback: bool,
}

#[derive(Clone)]
enum Kind {
    Memory,
    MitFileCache,
    #[cfg(feature = "redis")]
    Redis(RedisConfig),
}

/// The fewest entries an in-process store may be given.
const MIN_ENTRIES: usize = 1024;
/// The default: a million logins in the window (1,666 a second for 600 s), ~120 MB when full.
const DEFAULT_ENTRIES: usize = 1_000_000;

impl Default for ReplayProtection {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl ReplayProtection {
    /// Replays are refused by a store in this process (the default): the cheapest check, for
    /// one node, or for several nodes whose load balancer keeps each client on one node
    /// (otherwise a captured token can be used once on each *other* node; use
    /// [`redis`](Self::redis)).
    ///
    /// It holds at most [`max_entries`](Self::max_entries) tags (a million by default, about
    /// 120 bytes each): enough for that many logins per window (twice the clock skew: 600 s
    /// with MIT's default). When it is full, logins are refused with `503` until entries
    /// expire: it never forgets a tag early.
    ///
    /// Every `SpnegoAuth` of the process whose store has the same `max_entries` shares one
    /// store, so a token accepted by one (on one scope, or one server of several in the
    /// process) is refused by the others, as MIT's file cache did for the whole machine.
    pub fn in_memory() -> Self {
        Self {
            kind: Kind::Memory,
            max_entries: DEFAULT_ENTRIES,
            #[cfg(feature = "redis")]
            fallback: false,
        }
    }

    /// MIT's own replay cache, as krb5.conf and the environment configure it
    /// (`KRB5RCACHENAME`, `KRB5RCACHETYPE`, `default_rcache_name`; by default a file per
    /// machine and user in `KRB5RCACHEDIR` or `/var/tmp`). This is what the crate did before
    /// it had stores of its own, and what other GSSAPI servers (Apache's mod_auth_gssapi)
    /// do. The file is shared by the processes of one machine that run as one user; each
    /// login takes its lock and writes it.
    pub fn mit_file_cache() -> Self {
        Self {
            kind: Kind::MitFileCache,
            ..Self::in_memory()
        }
    }

    /// Replays are refused by a Redis server that every node shares: a token used on one node
    /// is refused on all of them. Each login is one `SET key NX EX ttl` round trip (pipelined
    /// with the others), from a thread of the crate's own, never from an actix worker.
    ///
    /// **Every node of one service must use the same Redis server** (a replica behind the same
    /// address is fine), or the same Redis Cluster ([`RedisConfig::cluster`]), and the same
    /// [key prefix](RedisConfig::key_prefix); a node with another store accepts what the
    /// others refuse. Size it for logins per second × the window (600 s) keys of ~180 bytes,
    /// and run it with `maxmemory-policy noeviction`: a store that evicts forgets tags before
    /// they expire (as does one that restarts without persistence, `appendonly yes`).
    ///
    /// When Redis cannot answer, logins are refused with `503` (see the type's documentation)
    /// unless [`fall_back_to_memory`](Self::fall_back_to_memory) is set; either way the store
    /// reconnects by itself.
    ///
    /// ```no_run
    /// use actix_gssapi::{RedisConfig, ReplayProtection, ServicePrincipal, SpnegoAuth};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // e.g. rediss://:PASSWORD@redis.example.com:6380/ (TLS, a password): from your secrets.
    /// let url = std::env::var("REPLAY_REDIS_URL")?;
    /// let auth = SpnegoAuth::builder()
    ///     .principal(ServicePrincipal::host("www.example.com"))
    ///     .replay_protection(ReplayProtection::redis(RedisConfig::new(url)))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(config: RedisConfig) -> Self {
        Self {
            kind: Kind::Redis(config),
            ..Self::in_memory()
        }
    }

    /// The most tags the in-process store holds (also the fallback store of
    /// [`fall_back_to_memory`](Self::fall_back_to_memory)); at least 1024. Defaults to a
    /// million. Size it for the most logins this node takes in twice the clock skew (600 s),
    /// at about 120 bytes each.
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(MIN_ENTRIES);
        self
    }

    /// With [`redis`](Self::redis): while Redis cannot answer, check replays in this process
    /// instead of refusing logins, and log that the protection is now per node (a warning
    /// when it switches, an info line when Redis answers again). Every login is also recorded
    /// in the in-process store, so a token first used while Redis was down is still refused
    /// here afterwards; another node, though, accepts it once while Redis is down.
    #[cfg(feature = "redis")]
    pub fn fall_back_to_memory(mut self) -> Self {
        self.fallback = true;
        self
    }

    /// Makes the store, or `None` for MIT's file cache. Connects to nothing yet.
    pub(crate) fn start(&self) -> Result<Option<Arc<dyn Store>>, Error> {
        let memory = || shared_memory_store(self.max_entries);
        Ok(match &self.kind {
            Kind::MitFileCache => None,
            Kind::Memory => Some(memory()),
            #[cfg(feature = "redis")]
            Kind::Redis(config) => {
                let redis = RedisStore::new(config)?;
                if self.fallback {
                    Some(Arc::new(super::fallback::FallbackStore::new(
                        redis,
                        memory(),
                    )))
                } else {
                    Some(Arc::new(redis))
                }
            }
        })
    }
}

/// The process's in-process store of `max_entries` entries: one for every engine that asks
/// for that size while any of them lives.
fn shared_memory_store(max_entries: usize) -> Arc<MemoryStore> {
    static STORES: Mutex<Vec<(usize, Weak<MemoryStore>)>> = Mutex::new(Vec::new());
    let mut stores = STORES.lock().unwrap_or_else(PoisonError::into_inner);
    stores.retain(|(_, store)| store.strong_count() > 0);
    if let Some(store) = stores
        .iter()
        .find(|(size, _)| *size == max_entries)
        .and_then(|(_, store)| store.upgrade())
    {
        return store;
    }
    let store = Arc::new(MemoryStore::new(max_entries));
    stores.push((max_entries, Arc::downgrade(&store)));
    store
}

impl fmt::Debug for ReplayProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReplayProtection");
        match &self.kind {
            Kind::Memory => d.field("store", &"in-process"),
            Kind::MitFileCache => d.field("store", &"MIT file cache"),
            // RedisConfig's Debug never shows a password or a key.
            #[cfg(feature = "redis")]
            Kind::Redis(config) => d.field("store", config),
        };
        d.field("max_entries", &self.max_entries);
        #[cfg(feature = "redis")]
        d.field("fall_back_to_memory", &self.fallback);
        d.finish()
    }
}
