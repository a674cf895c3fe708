//! The replay check as two steps of a login, around GSSAPI's accept: before it, a look at
//! the store (a token whose authenticator the store holds is a replay, answered without a
//! GSSAPI thread); after it, the atomic insert that decides.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::apreq::Unlocatable;
use crate::failure::GssFailure;

use super::{Inserted, Store, StoreError, Tag};

/// The replay store of an engine, and how many logins may wait for it at once.
#[derive(Clone)]
pub(crate) struct ReplayCheck {
    store: Arc<dyn Store>,
    /// Logins waiting for the store now, and at most how many may (the login queue's size):
    /// a slow Redis must not make logins pile up without bound.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// What the look before the accept found.
pub(crate) enum Before {
    /// The store holds the token's authenticator: a replay.
    Replay,
    /// Go on to GSSAPI with the token's tag (or why it has none; refused after the accept,
    /// so that junk gets GSSAPI's own reason in the log).
    Accept(Result<Tag, Unlocatable>),
}

impl ReplayCheck {
    pub(crate) fn new(store: Arc<dyn Store>, max_waiting: usize) -> Self {
        Self {
            store,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: max_waiting.max(1),
        }
    }

    /// What the store is, for the start-up log line.
    pub(crate) fn describe(&self) -> String {
        self.store.describe()
    }

    /// Before GSSAPI, on the worker: locating the authenticator costs a few hundred ns and
    /// no GSSAPI, so a flood of one captured token is shed at the cost of parsing it.
    pub(crate) fn before_accept(&self, token: &[u8]) -> Before {
        let tag = crate::apreq::authenticator_tag(token);
        match &tag {
            Ok(tag) if self.store.seen(tag) => Before::Replay,
            _ => Before::Accept(tag),
        }
    }

    /// After GSSAPI accepted the token: its tag goes into the store for `ttl`, atomically. A
    /// tag that was there is a replay; a token without one, or a store that cannot answer,
    /// refuses the login. Only now does a token reach the store: junk never does.
    pub(crate) async fn after_accept(
        &self,
        tag: Result<Tag, Unlocatable>,
        ttl: Duration,
    ) -> Result<(), GssFailure> {
        let tag = tag.map_err(|why| {
            GssFailure::internal(format!(
                "GSSAPI accepted the token, but its authenticator cannot be located \
                 unambiguously ({why}), so it cannot be checked for a replay: refused"
            ))
        })?;
        let Some(_waiting) = Waiting::enter(self) else {
            return Err(GssFailure::store_unavailable(&StoreError::new(format!(
                "{} logins are already waiting for it (the login queue's size)",
                self.max_waiting
            ))));
        };
        match self.store.insert(tag, ttl).await {
            Ok(Inserted::Fresh) => Ok(()),
            Ok(Inserted::Seen) => Err(GssFailure::replayed()),
            Err(e) => Err(GssFailure::store_unavailable(&e)),
        }
    }
}

/// One login waiting for the replay store, counted until dropped.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    /// Counts one more waiting login, unless the limit is reached.
    fn enter(check: &ReplayCheck) -> Option<Self> {
        check
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < check.max_waiting).then_some(n + 1)
            })
            .ok()?;
        Some(Self(Arc::clone(&check.waiting)))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
