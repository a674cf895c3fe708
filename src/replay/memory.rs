//! The in-process replay store: tags in shards, each a set and a queue in expiry order (one
//! TTL for every entry, so the oldest entry is the first to expire), bounded in entries.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{self, BoxFuture, FutureExt};

use super::{Inserted, Store, StoreError, Tag};

/// Shards: logins on different threads rarely wait for one another's lock.
const SHARDS: usize = 16;

/// An in-process replay store, for one node (a process).
pub(crate) struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    /// Entries per shard, at most.
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    tags: HashSet<Tag>,
    /// The same tags, oldest first, with when each expires.
    expiries: VecDeque<(Instant, Tag)>,
}

impl Shard {
    /// Drops the entries that expired by `now` (the oldest are at the front).
    fn expire(&mut self, now: Instant) {
        while let Some(&(expiry, old)) = self.expiries.front() {
            if expiry > now {
                break;
            }
            self.expiries.pop_front();
            self.tags.remove(&old);
        }
    }
}

impl MemoryStore {
    /// A store of at most about `max_entries` unexpired tags (spread over the shards).
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, tag: &Tag) -> MutexGuard<'_, Shard> {
        // The tag is a hash: any of its bytes spreads evenly.
        let shard = &self.shards[usize::from(tag[0]) % SHARDS];
        // A panic while holding the lock cannot leave a shard half-updated in a way that
        // lets a replay through (an entry is in the set before it is in the queue).
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts `tag` unless it is there (see [`Store::insert`]), at `now`.
    pub(crate) fn insert_at(
        &self,
        tag: Tag,
        ttl: Duration,
        now: Instant,
    ) -> Result<Inserted, StoreError> {
        let mut shard = self.shard(&tag);
        shard.expire(now);
        let Shard { tags, expiries } = &mut *shard;
        if tags.contains(&tag) {
            return Ok(Inserted::Seen);
        }
        if tags.len() >= self.per_shard {
            return Err(StoreError::new(format!(
                "the in-process replay store is full ({} unexpired entries; raise \
                 ReplayProtection::max_entries)",
                self.per_shard * SHARDS
            )));
        }
        tags.insert(tag);
        expiries.push_back((now + ttl, tag));
        // The queue only grows at the back and shrinks at the front: give back what a
        // burst left unused, so memory follows the logins of the last TTL.
        if expiries.capacity() > 64 && expiries.len() < expiries.capacity() / 4 {
            expiries.shrink_to(expiries.len() * 2);
        }
        if tags.capacity() > 64 && tags.len() < tags.capacity() / 4 {
            tags.shrink_to(tags.len() * 2);
        }
        Ok(Inserted::Fresh)
    }

    /// Whether `tag` is there and unexpired at `now` (see [`Store::seen`]).
    pub(crate) fn seen_at(&self, tag: &Tag, now: Instant) -> bool {
        let mut shard = self.shard(tag);
        shard.expire(now);
        shard.tags.contains(tag)
    }

    /// Unexpired and expired-but-not-yet-dropped entries.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().tags.len())
            .sum()
    }

    /// The bytes the shards' tables hold (their capacity, not their length).
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.tags.capacity() * (std::mem::size_of::<Tag>() + 1)
                    + s.expiries.capacity() * std::mem::size_of::<(Instant, Tag)>()
            })
            .sum()
    }
}

impl Store for MemoryStore {
    fn insert(&self, tag: Tag, ttl: Duration) -> BoxFuture<'static, Result<Inserted, StoreError>> {
        future::ready(self.insert_at(tag, ttl, Instant::now())).boxed()
    }

    fn seen(&self, tag: &Tag) -> bool {
        self.seen_at(tag, Instant::now())
    }

    fn describe(&self) -> String {
        format!(
            "in-process (this node only, at most {} entries)",
            self.per_shard * SHARDS
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u64) -> Tag {
        use sha2::{Digest, Sha256};
        Sha256::digest(n.to_le_bytes()).into()
    }

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn a_second_insert_is_seen_until_it_expires() {
        let store = MemoryStore::new(1024);
        let t0 = Instant::now();
        assert_eq!(store.insert_at(tag(1), TTL, t0).unwrap(), Inserted::Fresh);
        assert_eq!(store.insert_at(tag(2), TTL, t0).unwrap(), Inserted::Fresh);
        assert_eq!(
            store.insert_at(tag(1), TTL, t0 + TTL / 2).unwrap(),
            Inserted::Seen
        );
        assert_eq!(
            store
                .insert_at(tag(1), TTL, t0 + TTL - Duration::from_millis(1))
                .unwrap(),
            Inserted::Seen,
            "still there just before the TTL"
        );
        assert_eq!(
            store.insert_at(tag(1), TTL, t0 + TTL).unwrap(),
            Inserted::Fresh,
            "gone at the TTL"
        );
    }

    #[test]
    fn seen_answers_for_unexpired_tags_only() {
        let store = MemoryStore::new(1024);
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        assert!(!store.seen_at(&[1; 32], t0), "never inserted");
        assert_eq!(store.insert_at([1; 32], ttl, t0).unwrap(), Inserted::Fresh);
        assert!(store.seen_at(&[1; 32], t0 + Duration::from_secs(9)));
        assert!(!store.seen_at(&[2; 32], t0), "another tag");
        assert!(!store.seen_at(&[1; 32], t0 + ttl), "expired");
        // Looking dropped the expired entry: the tag is fresh again, as an insert would say.
        assert_eq!(
            store.insert_at([1; 32], ttl, t0 + ttl).unwrap(),
            Inserted::Fresh
        );
    }

    #[test]
    fn a_full_store_refuses_instead_of_forgetting() {
        let store = MemoryStore::new(SHARDS * 4);
        let t0 = Instant::now();
        let mut refused = 0;
        for n in 0..10_000 {
            match store.insert_at(tag(n), TTL, t0) {
                Ok(Inserted::Fresh) => {}
                Ok(Inserted::Seen) => panic!("tag {n} seen"),
                Err(e) => {
                    assert!(e.to_string().contains("max_entries"), "{e}");
                    refused += 1;
                }
            }
        }
        assert_eq!(store.len(), SHARDS * 4);
        assert_eq!(refused, 10_000 - SHARDS * 4);
        // Every tag it took is still refused as a replay: being full forgot nothing.
        let taken: Vec<u64> = (0..10_000)
            .filter(|&n| matches!(store.insert_at(tag(n), TTL, t0), Ok(Inserted::Seen)))
            .collect();
        assert_eq!(taken.len(), SHARDS * 4);
        // Once they expire there is room again.
        assert_eq!(
            store.insert_at(tag(99_999), TTL, t0 + TTL).unwrap(),
            Inserted::Fresh
        );
    }

    #[test]
    fn memory_stays_flat_over_a_million_logins() {
        // 1M logins, 1,000 a second of simulated time, with a 10 s TTL: at most ~10,000
        // entries are alive at once, whatever the count so far.
        let store = MemoryStore::new(1_000_000);
        let t0 = Instant::now();
        let mut heap_at_half = 0;
        for n in 0..1_000_000u64 {
            let now = t0 + Duration::from_millis(n);
            assert_eq!(store.insert_at(tag(n), TTL, now).unwrap(), Inserted::Fresh);
            if n == 500_000 {
                heap_at_half = store.heap_bytes();
            }
        }
        let heap = store.heap_bytes();
        assert!(store.len() <= 10_000 + SHARDS, "{}", store.len());
        assert!(
            heap <= heap_at_half,
            "{heap} bytes at the end, {heap_at_half} at half"
        );
        assert!(heap < 4 << 20, "{heap} bytes for ~10,000 live entries");
    }

    #[test]
    fn a_full_default_store_takes_about_120_bytes_an_entry() {
        // What `ReplayProtection` documents: a million entries, ~120 bytes each.
        let store = MemoryStore::new(1_000_000);
        let t0 = Instant::now();
        // Enough for every shard to fill up; the rest is refused.
        for n in 0..1_100_000 {
            let _ = store.insert_at(tag(n), TTL, t0);
        }
        assert_eq!(store.len(), 1_000_000);
        let per_entry = store.heap_bytes() as f64 / store.len() as f64;
        assert!(
            (100.0..=130.0).contains(&per_entry),
            "{per_entry:.0} bytes an entry"
        );
    }

    /// `cargo test --release --lib replay::memory::tests::cost -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check"]
    fn cost() {
        let store = MemoryStore::new(1_000_000);
        let tags: Vec<Tag> = (0..500_000).map(tag).collect();
        let started = Instant::now();
        for t in &tags {
            let _ = std::hint::black_box(store.insert_at(*t, TTL, started));
        }
        let per = started.elapsed() / tags.len() as u32;
        println!("{per:?} per insert into a store of up to 500,000 entries");
    }

    #[test]
    fn concurrent_inserts_of_one_tag_let_exactly_one_through() {
        let store = std::sync::Arc::new(MemoryStore::new(1024));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let fresh: usize = (0..16)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store.insert_at(tag(7), TTL, Instant::now()).unwrap() == Inserted::Fresh
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(fresh, 1);
    }
}
