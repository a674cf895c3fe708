//! Replay protection of our own: after GSSAPI accepted a token, the tag of its authenticator
//! ([`crate::apreq::authenticator_tag`]) goes into a store, atomically, for twice the clock
//! skew plus 2 s; a tag already there is a replay. Before GSSAPI, a store that can tell at
//! once (the in-process one) is asked whether it holds the tag already. Both steps are in
//! [`check`]; the middleware runs them around the accept.
//!
//! The stores: [`memory::MemoryStore`] (in-process, the default) and, with the `redis`
//! feature, `redis::RedisStore` (shared by every node).

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;

pub(crate) mod check;
#[cfg(any(feature = "redis", test))]
mod fallback;
pub(crate) mod memory;
mod protection;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use protection::ReplayProtection;

pub(crate) use crate::apreq::Tag;

/// What an insert found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// The tag was not there: it is now, for the TTL. The login may go on.
    Fresh,
    /// The tag was there and has not expired: a replay.
    Seen,
}

/// Why a store could not answer (Redis down or slow, the in-process store full). The login
/// is refused with 503: a store that cannot answer never lets a token through.
#[derive(Debug, Clone)]
pub(crate) struct StoreError {
    message: String,
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A replay store. Implementations are cheap to share (`Arc`) and safe to call from any
/// thread and any executor.
pub(crate) trait Store: Send + Sync + 'static {
    /// Inserts `tag` unless it is there, atomically (of two concurrent inserts of one tag,
    /// on any node sharing the store, exactly one sees [`Inserted::Fresh`]); the entry
    /// expires after `ttl`. The future is bounded in time: a store that does not answer
    /// resolves to an error.
    fn insert(&self, tag: Tag, ttl: Duration) -> BoxFuture<'static, Result<Inserted, StoreError>>;

    /// Whether `tag` is known, here and now, to be in the store and unexpired: a quick,
    /// local look before GSSAPI runs, so that a flood of one replayed token costs no accept.
    /// `false` means "not known here", never "fresh": the insert after the accept decides.
    /// Only accepted tokens' tags are ever inserted, so a tag found here is a replay.
    fn seen(&self, _tag: &Tag) -> bool {
        false
    }

    /// What the store is, for the start-up log line (never a password).
    fn describe(&self) -> String;
}
