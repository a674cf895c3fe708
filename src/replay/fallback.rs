//! A shared store (Redis) that falls back to an in-process one while it cannot answer
//! ([`ReplayProtection::fall_back_to_memory`](crate::ReplayProtection::fall_back_to_memory)).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};

use super::memory::MemoryStore;
use super::{Inserted, Store, StoreError, Tag};

/// Every tag goes into both stores; the shared store's answer counts while it answers, and
/// the in-process store's while it does not. A tag the in-process store has seen is a replay
/// either way, so a token first used while the shared store was down stays refused on this
/// node after it recovers.
pub(crate) struct FallbackStore<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    shared: S,
    memory: Arc<MemoryStore>,
    /// Whether the last answer came from the fallback: switches are logged once each way.
    falling_back: AtomicBool,
}

impl<S: Store> FallbackStore<S> {
    pub(crate) fn new(shared: S, memory: Arc<MemoryStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                memory,
                falling_back: AtomicBool::new(false),
            }),
        }
    }
}

impl<S: Store> Store for FallbackStore<S> {
    fn insert(&self, tag: Tag, ttl: Duration) -> BoxFuture<'static, Result<Inserted, StoreError>> {
        let inner = Arc::clone(&self.inner);
        let local = inner.memory.insert_at(tag, ttl, Instant::now());
        let shared = inner.shared.insert(tag, ttl);
        async move {
            match shared.await {
                Ok(answer) => {
                    if inner.falling_back.swap(false, Ordering::Relaxed) {
                        log::info!(
                            "replay store {} answers again: replays are refused on every node \
                             sharing it again",
                            inner.shared.describe()
                        );
                    }
                    // Seen here (while the shared store was down) is a replay too. The
                    // in-process store being full does not matter while the shared one answers.
                    Ok(match local {
                        Ok(Inserted::Seen) => Inserted::Seen,
                        _ => answer,
                    })
                }
                Err(e) => {
                    if !inner.falling_back.swap(true, Ordering::Relaxed) {
                        log::warn!(
                            "replay store cannot answer ({e}): falling back to the in-process \
                             store, so replays are refused on this node only until it answers \
                             again"
                        );
                    }
                    local
                }
            }
        }
        .boxed()
    }

    fn seen(&self, tag: &Tag) -> bool {
        // Every tag goes into memory too, and one memory has seen is a replay either way.
        self.inner.memory.seen(tag)
    }

    fn describe(&self) -> String {
        format!(
            "{}, falling back to {} while it cannot answer",
            self.inner.shared.describe(),
            self.inner.memory.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future;
    use std::sync::Mutex;

    /// A shared store whose availability the test switches: up, it answers from a set.
    #[derive(Default)]
    struct Switchable {
        down: AtomicBool,
        tags: Mutex<std::collections::HashSet<Tag>>,
    }

    impl Store for Arc<Switchable> {
        fn insert(
            &self,
            tag: Tag,
            _: Duration,
        ) -> BoxFuture<'static, Result<Inserted, StoreError>> {
            let answer = if self.down.load(Ordering::Relaxed) {
                Err(StoreError::new("down"))
            } else if self.tags.lock().unwrap().insert(tag) {
                Ok(Inserted::Fresh)
            } else {
                Ok(Inserted::Seen)
            };
            future::ready(answer).boxed()
        }

        fn describe(&self) -> String {
            "switchable".into()
        }
    }

    fn insert(store: &FallbackStore<Arc<Switchable>>, n: u8) -> Result<Inserted, StoreError> {
        futures_util::FutureExt::now_or_never(store.insert([n; 32], Duration::from_secs(60)))
            .expect("ready at once")
    }

    #[test]
    fn answers_from_memory_while_the_shared_store_is_down_and_remembers_after() {
        let shared = Arc::new(Switchable::default());
        let store = FallbackStore::new(Arc::clone(&shared), Arc::new(MemoryStore::new(1024)));
        assert!(matches!(insert(&store, 1), Ok(Inserted::Fresh)));
        assert!(matches!(insert(&store, 1), Ok(Inserted::Seen)));

        shared.down.store(true, Ordering::Relaxed);
        assert!(matches!(insert(&store, 2), Ok(Inserted::Fresh)), "served");
        assert!(
            matches!(insert(&store, 2), Ok(Inserted::Seen)),
            "replay, down"
        );
        assert!(
            matches!(insert(&store, 1), Ok(Inserted::Seen)),
            "seen before"
        );

        shared.down.store(false, Ordering::Relaxed);
        // Tag 2 never reached the shared store, but this node saw it.
        assert!(
            matches!(insert(&store, 2), Ok(Inserted::Seen)),
            "after recovery"
        );
        assert!(matches!(insert(&store, 3), Ok(Inserted::Fresh)));
        assert!(!store.inner.falling_back.load(Ordering::Relaxed));
    }

    #[test]
    fn a_full_memory_store_does_not_refuse_while_the_shared_store_answers() {
        let shared = Arc::new(Switchable::default());
        let store = FallbackStore::new(Arc::clone(&shared), Arc::new(MemoryStore::new(16)));
        for n in 0..=255 {
            assert!(matches!(insert(&store, n), Ok(Inserted::Fresh)), "{n}");
        }
        shared.down.store(true, Ordering::Relaxed);
        // Down and full: no answer, so the login is refused (503), not let through.
        let refused = (0..=255).filter(|&n| insert(&store, n).is_err()).count();
        assert!(refused > 0);
    }
}
