//! The engine under the middleware: one acceptor credential per GSSAPI thread, the threads,
//! and the bounded, fair queue in front of them. Built once by `SpnegoAuthBuilder::build` (or, for
//! `SpnegoAuth::new()`, the first worker) and shared by every worker.
//!
//! Why one credential per thread: MIT's `kg_accept_krb5` (krb5
//! `src/lib/gssapi/krb5/accept_sec_context.c`) locks the acceptor credential's mutex for the
//! whole accept, so threads sharing one credential accept one at a time, whatever their number.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::acceptor::{Accepted, Acceptor, AcquireFailure, Keys, Rcache};
use crate::basic::BasicCredentials;
use crate::error::{Error, ErrorKind};
use crate::failure::GssFailure;
use crate::groups::{Group, GroupSource, Resolver, User};
use crate::gssproxy::Gssproxy;
use crate::password::PasswordFailure;
use crate::pool::{Full, Limits, Outcome, Pool};
use crate::replay::check::ReplayCheck;
use crate::replay::ReplayProtection;
use crate::service_name::{ServiceName, VerifyTarget};

/// What the engine is made from: the part of the configuration that names keys and threads.
pub(crate) struct Settings<'a> {
    pub(crate) service: ServiceName,
    pub(crate) keytab: Option<&'a str>,
    pub(crate) threads: usize,
    pub(crate) limits: Limits,
    pub(crate) replay: &'a ReplayProtection,
    pub(crate) groups: Option<&'a GroupSource>,
}

/// The shared engine; clones share it.
#[derive(Clone)]
pub(crate) struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool<IpAddr, Acceptor>,
    service: ServiceName,
    overloads: RateLimitedLog,
    /// Our replay store, or `None` when MIT's replay cache does that job.
    replay: Option<ReplayCheck>,
    outages: RateLimitedLog,
    /// Where groups come from when tickets carry none, with its cache.
    groups: Option<Resolver>,
}

/// What an accept on the engine resolves to: the login and how long its replay tag must be
/// kept; `None` when the job died with its thread (a panic) or the engine is gone.
pub(crate) type Pending = Outcome<Result<(Accepted, Duration), GssFailure>>;

/// What a password check on the engine resolves to (see [`Pending`]).
pub(crate) type PendingPassword = Outcome<Result<Accepted, PasswordFailure>>;

impl Engine {
    /// Acquires one acceptor credential per thread and starts the threads.
    pub(crate) fn start(settings: &Settings<'_>) -> Result<Self, Error> {
        let threads = settings.threads.max(1);
        let replay = settings
            .replay
            .start()?
            .map(|store| ReplayCheck::new(store, settings.limits.total));
        let rcache = if replay.is_some() {
            Rcache::Off
        } else {
            Rcache::Mit
        };
        // Read at start-up, as the interposer reads it (once, when MIT loads it).
        let gssproxy = Gssproxy::from_env();
        let keys = match (&gssproxy, settings.keytab) {
            (None, keytab) => Keys::Keytab(keytab),
            (Some(proxy), None) => Keys::Gssproxy(proxy),
            (Some(proxy), Some(keytab)) => {
                // The interposer forwards the acquisition to gssproxy whatever cred store we
                // name (unless GSSPROXY_BEHAVIOR says local first).
                log::warn!(
                    "gssproxy in use ({proxy}): the configured keytab {keytab} is not used; \
                     gssproxy's cred_store names the keys"
                );
                Keys::Gssproxy(proxy)
            }
        };
        let acceptors = (0..threads)
            .map(|_| Acceptor::acquire(&settings.service, keys, rcache))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|f| acquire_error(f, keys))?;
        let pool = Pool::new(acceptors, settings.limits, "actix-gssapi").map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot start {threads} GSSAPI threads: {e}"),
            )
        })?;
        if let Keys::Gssproxy(proxy) = keys {
            log::info!(
                "gssproxy in use ({proxy}): the acceptor credentials and every accept go \
                 through gssproxy, which holds the keytab; this process reads no keys and \
                 reloads none"
            );
        }
        log::info!(
            "SPNEGO acceptor ready for {}, keytab {}, {threads} accept threads (one credential \
             each), at most {} logins waiting{}",
            settings.service,
            match keys {
                Keys::Keytab(keytab) => describe_keytab(keytab),
                Keys::Gssproxy(_) => "held by gssproxy".to_owned(),
            },
            settings.limits.total,
            match settings.limits.per_key {
                Some(n) => format!(", {n} per client address"),
                None => String::new(),
            }
        );
        match &replay {
            Some(r) => log::info!(
                "replays are refused by the replay store: {}; a token's tag is kept {} s \
                 (twice krb5.conf's clockskew, plus {} s; clockskew is read again every {} s)",
                r.describe(),
                tag_ttl(crate::krb5::clock_skew()).as_secs(),
                TTL_MARGIN.as_secs(),
                SKEW_REREAD.as_secs()
            ),
            None => log::info!(
                "replays are refused by MIT's replay cache (krb5.conf / KRB5RCACHENAME; by \
                 default a file per machine)"
            ),
        }
        let groups = settings.groups.map(GroupSource::resolver);
        if let Some(groups) = &groups {
            log::info!("groups come from {}", groups.describe());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                service: settings.service.clone(),
                overloads: RateLimitedLog::default(),
                replay,
                outages: RateLimitedLog::default(),
                groups,
            }),
        })
    }

    /// The name the credentials accept tickets for.
    pub(crate) fn service(&self) -> &ServiceName {
        &self.inner.service
    }

    /// The replay check of our own, or `None` when MIT's replay cache does that job.
    pub(crate) fn replay_check(&self) -> Option<ReplayCheck> {
        self.inner.replay.clone()
    }

    /// Queues the accept of `token` for the client at `peer`; the job also says how long the
    /// token's replay tag must be kept (krb5.conf's skew, read on the GSSAPI thread). Dropping
    /// the returned future before a thread takes the job cancels it.
    pub(crate) fn accept(
        &self,
        peer: Option<IpAddr>,
        token: Vec<u8>,
        want_local_name: bool,
        channel_bindings: Option<Arc<[u8]>>,
    ) -> Result<Pending, Full> {
        let groups = self.inner.groups.clone();
        self.inner
            .pool
            .try_run(peer, move |acceptor: &mut Acceptor| {
                let mut lookup = GroupLookup::new(groups.as_ref(), want_local_name);
                let mut accepted = acceptor.accept(
                    &token,
                    |principal| lookup.wants_local_name(principal),
                    channel_bindings.as_deref(),
                )?;
                lookup.finish(&mut accepted);
                Ok((accepted, current_ttl()))
            })
    }

    /// Whether to log a replay store or group source failure now (at most one line a second),
    /// and how many went unlogged since the last line.
    pub(crate) fn outage_to_log(&self) -> Option<u64> {
        self.inner.outages.hit()
    }

    /// Queues the check of a password (the Basic fallback) for the client at `peer`, in the
    /// same queue and turns as the Negotiate logins: each one holds a GSSAPI thread for two or
    /// three KDC exchanges. `user` is the principal to log in as; the credentials are wiped when
    /// the job is done or dropped.
    pub(crate) fn verify_password(
        &self,
        peer: Option<IpAddr>,
        user: String,
        credentials: BasicCredentials,
        target: VerifyTarget,
        want_local_name: bool,
    ) -> Result<PendingPassword, Full> {
        let groups = self.inner.groups.clone();
        self.inner
            .pool
            .try_run(peer, move |acceptor: &mut Acceptor| {
                let mut lookup = GroupLookup::new(groups.as_ref(), want_local_name);
                let mut accepted = acceptor.accept_password(
                    &user,
                    credentials.password(),
                    &target,
                    |principal| lookup.wants_local_name(principal),
                )?;
                lookup.finish(&mut accepted);
                Ok(accepted)
            })
    }

    /// Whether to log an overload now (at most one line a second), and how many overloads
    /// went unlogged since the last line.
    pub(crate) fn overload_to_log(&self) -> Option<u64> {
        self.inner.overloads.hit()
    }
}

/// The group lookup of one login, around its accept: the cache is asked first, with the
/// principal, so that a login whose groups are cached does not pay for its local name.
struct GroupLookup<'a> {
    groups: Option<&'a Resolver>,
    /// The configuration maps local names.
    want_local_name: bool,
    /// What the cache held when the accept asked.
    cached: Option<Arc<[Group]>>,
}

impl<'a> GroupLookup<'a> {
    fn new(groups: Option<&'a Resolver>, want_local_name: bool) -> Self {
        Self {
            groups,
            want_local_name,
            cached: None,
        }
    }

    /// Whether the accept must look up the local name of `principal`.
    fn wants_local_name(&mut self, principal: &str) -> bool {
        self.cached = self.groups.and_then(|g| g.cached(principal));
        self.want_local_name
            || (self.cached.is_none() && self.groups.is_some_and(Resolver::needs_local_name))
    }

    /// Adds the groups (from the cache, or asked now), then forgets the local name if only
    /// the lookup wanted it.
    fn finish(self, accepted: &mut Accepted) {
        if let Some(groups) = self.groups {
            accepted.groups = Some(if accepted.anonymous {
                // Anonymous tickets name nobody: no directory has groups for them.
                Ok(Arc::from(Vec::new()))
            } else if let Some(cached) = self.cached {
                Ok(cached)
            } else {
                groups.groups(&User {
                    principal: &accepted.principal,
                    local_name: accepted.local_name.as_deref(),
                })
            });
        }
        if !self.want_local_name {
            accepted.local_name = None;
        }
    }
}

/// Added to twice the clock skew: MIT compares whole seconds and allows a difference of
/// exactly `clockskew` (`krb5_rd_req` refuses only `|ctime - now| > clockskew`), so an
/// authenticator stamped `clockskew` ahead of the first accept stays good for up to
/// 2 × clockskew + 1 s of wall time; one more second covers the stores' whole-second TTLs.
const TTL_MARGIN: Duration = Duration::from_secs(2);

/// MIT reads krb5.conf again for every accept (a new krb5 context each time); each GSSAPI
/// thread reads `clockskew` again this often, so a raised skew reaches the TTL soon.
const SKEW_REREAD: Duration = Duration::from_secs(10);

/// How long a tag must be kept for an allowed clock skew of `skew` seconds.
fn tag_ttl(skew: u32) -> Duration {
    Duration::from_secs(2 * u64::from(skew)) + TTL_MARGIN
}

/// [`tag_ttl`] for the skew krb5.conf allows now, read on this (GSSAPI) thread at most every
/// [`SKEW_REREAD`].
fn current_ttl() -> Duration {
    use std::cell::Cell;
    use std::time::Instant;
    thread_local! {
        static SKEW: Cell<Option<(Instant, u32)>> = const { Cell::new(None) };
    }
    SKEW.with(|cell| {
        let skew = match cell.get() {
            Some((read, skew)) if read.elapsed() < SKEW_REREAD => skew,
            _ => {
                let skew = crate::krb5::clock_skew();
                cell.set(Some((Instant::now(), skew)));
                skew
            }
        };
        tag_ttl(skew)
    })
}

/// Counts events and lets one log line through per second.
#[derive(Default)]
struct RateLimitedLog {
    last_second: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    fn hit(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Ordering::Relaxed);
        if now != last
            && self
                .last_second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

pub(crate) fn describe_keytab(keytab: Option<&str>) -> String {
    match keytab {
        Some(k) => k.to_owned(),
        None => match std::env::var("KRB5_KTNAME") {
            Ok(k) => format!("{k} (from KRB5_KTNAME)"),
            Err(_) => "the default keytab (krb5.conf default_keytab_name, usually \
                       /etc/krb5.keytab)"
                .to_owned(),
        },
    }
}

fn acquire_error(f: AcquireFailure, keys: Keys<'_>) -> Error {
    let from = match keys {
        Keys::Gssproxy(proxy) => format!(
            "through gssproxy ({proxy}; is gssproxy running, with a section for this \
             process's uid and a key for the service in its cred_store, and is the default \
             ccache (KRB5CCNAME) writable, where the interposer keeps gssproxy's handle?)"
        ),
        Keys::Keytab(_) => format!("from keytab {}", describe_keytab(f.keytab.as_deref())),
    };
    Error::new(
        ErrorKind::AcceptorCredential,
        format!(
            "cannot acquire the acceptor credential for {} {from}: {}",
            f.service, f.cause
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{Lookup, LookupError};
    use std::sync::Mutex;

    /// A name-service-like source: needs the local name, records the ones it was given.
    #[derive(Default)]
    struct ByLocalName(Mutex<Vec<Option<String>>>);

    impl Lookup for ByLocalName {
        fn groups(&self, user: &User<'_>) -> Result<Vec<Group>, LookupError> {
            self.0
                .lock()
                .unwrap()
                .push(user.local_name.map(str::to_owned));
            Ok(user
                .local_name
                .map(|n| vec![Group::new(format!("{n}-group"), None)])
                .unwrap_or_default())
        }
        fn describe(&self) -> String {
            "by local name".to_owned()
        }
        fn needs_local_name(&self) -> bool {
            true
        }
    }

    /// One login through [`GroupLookup`], the accept played by hand: whether it asked for the
    /// local name, and the groups it got.
    fn login(groups: &Resolver, want_local_name: bool) -> (bool, Accepted) {
        let mut lookup = GroupLookup::new(Some(groups), want_local_name);
        let asked = lookup.wants_local_name("alice@EXAMPLE.TEST");
        let mut accepted = Accepted {
            principal: "alice@EXAMPLE.TEST".to_owned(),
            output_token: None,
            delegated: None,
            lifetime: None,
            anonymous: false,
            pac: None,
            local_name: asked.then(|| "alice".to_owned()),
            channel_bound: false,
            by_password: false,
            groups: None,
        };
        lookup.finish(&mut accepted);
        (asked, accepted)
    }

    #[test]
    fn a_cached_login_skips_the_local_name_and_the_directory() {
        let source = Arc::new(ByLocalName::default());
        let resolver = GroupSource::from_lookup(Arc::clone(&source) as Arc<dyn Lookup>).resolver();
        let names = |a: &Accepted| {
            let groups = a.groups.as_ref().unwrap().as_ref().unwrap();
            groups
                .iter()
                .map(|g| g.name().to_owned())
                .collect::<Vec<_>>()
        };
        // First login: the local name is looked up for the directory, then forgotten (names
        // are not mapped).
        let (asked, first) = login(&resolver, false);
        assert!(asked);
        assert_eq!(names(&first), ["alice-group"]);
        assert_eq!(first.local_name, None);
        // Second: cached, so neither the local name nor the directory is asked.
        let (asked, second) = login(&resolver, false);
        assert!(!asked);
        assert_eq!(names(&second), ["alice-group"]);
        // With names mapped, the name is asked for and kept, the groups still cached.
        let (asked, third) = login(&resolver, true);
        assert!(asked);
        assert_eq!(third.local_name.as_deref(), Some("alice"));
        assert_eq!(*source.0.lock().unwrap(), [Some("alice".to_owned())]);
    }

    #[test]
    fn tags_outlive_the_last_second_mit_accepts() {
        // ctime = t0 + skew (whole seconds) is accepted until now = ctime + skew inclusive,
        // i.e. before t0 + 2 × skew + 1 s.
        for skew in [0, 5, 300] {
            assert!(tag_ttl(skew) > Duration::from_secs(2 * u64::from(skew) + 1));
        }
        assert_eq!(tag_ttl(300), Duration::from_secs(602));
    }

    #[test]
    fn overload_lines_are_rate_limited() {
        let log = RateLimitedLog::default();
        assert_eq!(log.hit(), Some(0), "the first one is logged");
        let logged = (0..100).filter_map(|_| log.hit()).count();
        // Unless the second changed during the loop, nothing more was logged.
        assert!(logged <= 1, "{logged}");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let suppressed = log.hit().expect("a new second logs again");
        assert!(suppressed >= 99, "{suppressed}");
    }
}
