//! A fixed set of threads for blocking work, each with state of its own, and the bounded, fair
//! queue in front of them.
//!
//! - **Own state per thread**: each thread owns one `W` (the engine gives each its own
//!   acceptor credential, since MIT serialises accepts that share one).
//! - **Bounded**: at most `total` jobs wait, and at most `per_key` for one key (a client's
//!   address); past either, [`Pool::try_run`] refuses at once instead of queueing without end.
//! - **Fair**: threads take jobs from the keys in turn (round robin), not in arrival order, so
//!   a client with a thousand queued jobs delays another client's job by one job at most.
//! - **No work for nobody**: a job whose [`Outcome`] was dropped before a thread took it (the
//!   request went away) is skipped.
//!
//! The async side only waits on a one-shot result, so a job stuck on a dead disk holds a pool
//! thread, never an actix worker (`tests/blocking.rs`).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

type Job<W> = Box<dyn FnOnce(&mut W) + Send>;

/// How many jobs may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// All keys together.
    pub(crate) total: usize,
    /// One key; `None`: no limit of its own (and one queue for every key: arrival order).
    pub(crate) per_key: Option<usize>,
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// [`Limits::total`] jobs are waiting.
    Queue,
    /// [`Limits::per_key`] jobs of this key are waiting.
    Key,
}

/// The pool; dropping it lets the threads finish the queued jobs and exit.
pub(crate) struct Pool<K, W> {
    shared: Arc<Shared<K, W>>,
}

struct Shared<K, W> {
    queue: Mutex<Queue<K, W>>,
    ready: Condvar,
    limits: Limits,
    /// Threads that have not yet dropped their state, and the signal when one has.
    alive: Mutex<usize>,
    gone: Condvar,
}

/// How long dropping a [`Pool`] waits for its threads to drop their states.
const DROP_WAIT: Duration = Duration::from_secs(2);

thread_local! {
    /// Whether this thread is a pool thread (dropping a pool from one must not wait for it).
    static POOL_THREAD: Cell<bool> = const { Cell::new(false) };
}

struct Queue<K, W> {
    by_key: HashMap<Option<K>, VecDeque<Job<W>>>,
    /// The keys that have waiting jobs, in the order they are served.
    turns: VecDeque<Option<K>>,
    waiting: usize,
    closed: bool,
}

impl<K, W> Queue<K, W>
where
    K: Hash + Eq + Clone,
{
    fn pop(&mut self) -> Option<Job<W>> {
        let key = self.turns.pop_front()?;
        let jobs = self.by_key.get_mut(&key)?;
        let job = jobs.pop_front();
        if jobs.is_empty() {
            self.by_key.remove(&key);
        } else {
            self.turns.push_back(key);
        }
        self.waiting -= 1;
        job
    }
}

impl<K, W> Pool<K, W>
where
    K: Hash + Eq + Clone + Send + 'static,
    W: Send + 'static,
{
    /// Starts one thread per element of `states` (named `name-N`), each owning its state.
    pub(crate) fn new(states: Vec<W>, limits: Limits, name: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                by_key: HashMap::new(),
                turns: VecDeque::new(),
                waiting: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            limits,
            alive: Mutex::new(0),
            gone: Condvar::new(),
        });
        for (i, state) in states.into_iter().enumerate() {
            let thread_shared = Arc::clone(&shared);
            *lock(&shared.alive) += 1;
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    POOL_THREAD.with(|t| t.set(true));
                    work(&thread_shared, state);
                    *lock(&thread_shared.alive) -= 1;
                    thread_shared.gone.notify_all();
                });
            if let Err(e) = spawned {
                *lock(&shared.alive) -= 1;
                return Err(e);
            }
        }
        Ok(Self { shared })
    }

    /// Queues `f` to run on a pool thread with that thread's state; the future resolves to its
    /// result, or to `None` when `f` panicked or the pool is gone. `key` groups the jobs of
    /// one client for the limits and the turns.
    pub(crate) fn try_run<T, F>(&self, key: Option<K>, f: F) -> Result<Outcome<T>, Full>
    where
        T: Send + 'static,
        F: FnOnce(&mut W) -> T + Send + 'static,
    {
        let slot = Arc::new(Slot {
            value: Mutex::new(None),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
        });
        let sender = SlotSender(Arc::clone(&slot));
        let job: Job<W> = Box::new(move |state: &mut W| {
            let sender = sender;
            if Arc::strong_count(&sender.0) == 1 {
                return; // nobody waits for it any more
            }
            if let Ok(value) = catch_unwind(AssertUnwindSafe(|| f(state))) {
                sender.send(value);
            }
            // On a panic `sender` drops unsent, and the waiting request gets `None`.
        });
        let limits = self.shared.limits;
        let key = if limits.per_key.is_some() { key } else { None };
        let mut guard = lock(&self.shared.queue);
        let queue = &mut *guard;
        if queue.waiting >= limits.total {
            return Err(Full::Queue);
        }
        let jobs = queue.by_key.entry(key.clone()).or_default();
        if limits.per_key.is_some_and(|max| jobs.len() >= max.max(1)) {
            return Err(Full::Key);
        }
        if jobs.is_empty() {
            queue.turns.push_back(key);
        }
        jobs.push_back(job);
        queue.waiting += 1;
        drop(guard);
        self.shared.ready.notify_one();
        Ok(Outcome(slot))
    }

    /// How many jobs wait for a thread now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.shared.queue).waiting
    }
}

impl<K, W> Drop for Pool<K, W> {
    /// Lets the threads finish the queued jobs, and waits (at most [`DROP_WAIT`]) until they
    /// have dropped their states. A state holds GSSAPI credentials: released on a thread of
    /// its own while the process exits, they would race libkrb5's exit-time destructors
    /// (MIT aborts on a destroyed mutex, `k5_mutex_lock: Received error 22`).
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_all();
        if POOL_THREAD.with(Cell::get) {
            return;
        }
        let deadline = Instant::now() + DROP_WAIT;
        let mut alive = lock(&self.shared.alive);
        while *alive > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            alive = self
                .shared
                .gone
                .wait_timeout(alive, left)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
    }
}

/// Jobs never panic while holding the lock (they run outside it), so a poisoned lock still
/// holds a consistent queue.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs jobs until the pool is closed and its queue empty; the state is dropped on return.
fn work<K, W>(shared: &Shared<K, W>, mut state: W)
where
    K: Hash + Eq + Clone,
{
    loop {
        let job = {
            let mut queue = lock(&shared.queue);
            loop {
                if let Some(job) = queue.pop() {
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
        };
        job(&mut state);
    }
}

struct Slot<T> {
    value: Mutex<Option<T>>,
    waker: AtomicWaker,
    closed: AtomicBool,
}

struct SlotSender<T>(Arc<Slot<T>>);

impl<T> SlotSender<T> {
    fn send(self, value: T) {
        *lock(&self.0.value) = Some(value);
        // `Drop` marks the slot closed and wakes the receiver.
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.waker.wake();
    }
}

/// The result of [`Pool::try_run`]. Dropping it before a thread takes the job cancels the job.
pub(crate) struct Outcome<T>(Arc<Slot<T>>);

impl<T> Future for Outcome<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let slot = &self.0;
        slot.waker.register(cx.waker());
        // `closed` is set after the value is stored: seeing it means the value (if any) is in.
        if slot.closed.load(Ordering::Acquire) {
            return Poll::Ready(lock(&slot.value).take());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;
    use std::time::Duration;

    const ROOMY: Limits = Limits {
        total: 1000,
        per_key: Some(1000),
    };

    #[test]
    fn dropping_the_pool_waits_for_its_threads_to_drop_their_states() {
        struct Slow(Arc<AtomicUsize>);
        impl Drop for Slow {
            fn drop(&mut self) {
                std::thread::sleep(Duration::from_millis(50));
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let states = (0..3).map(|_| Slow(Arc::clone(&dropped))).collect();
        let pool: Pool<u8, Slow> = Pool::new(states, ROOMY, "test-drop").unwrap();
        let (tx, rx) = mpsc::channel();
        let _ran = pool.try_run(None, move |_| tx.send(7).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(7));
        drop(pool);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "every state was dropped first"
        );
    }

    fn pool(threads: usize, limits: Limits) -> Pool<u8, usize> {
        Pool::new((0..threads).collect(), limits, "test-pool").unwrap()
    }

    /// Occupies every thread of `pool` until the returned sender is dropped or sent to.
    fn block_all(pool: &Pool<u8, usize>, threads: usize) -> Vec<mpsc::Sender<()>> {
        let (started_tx, started_rx) = mpsc::channel();
        let gates: Vec<_> = (0..threads)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<()>();
                let started = started_tx.clone();
                let outcome = pool
                    .try_run(Some(255), move |_| {
                        started.send(()).unwrap();
                        let _ = rx.recv();
                    })
                    .unwrap();
                std::mem::forget(outcome); // keep the job wanted
                tx
            })
            .collect();
        for _ in 0..threads {
            started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        gates
    }

    #[test]
    fn runs_jobs_with_the_threads_own_state_and_survives_panics() {
        let pool = pool(2, ROOMY);
        let rt = actix_web::rt::System::new();
        let id = rt.block_on(pool.try_run(None, |state| *state).unwrap());
        assert!(matches!(id, Some(0 | 1)));
        let panicked: Option<u8> = rt.block_on(pool.try_run(None, |_| panic!("boom")).unwrap());
        assert_eq!(panicked, None);
        let results: Vec<_> = (0..8)
            .map(|i| pool.try_run(None, move |_| i * 2).unwrap())
            .collect();
        let results: Vec<_> = rt.block_on(futures_util::future::join_all(results));
        assert_eq!(results, (0..8).map(|i| Some(i * 2)).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_n_jobs_run_at_once_each_thread_with_its_state() {
        let pool = pool(2, ROOMY);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
                pool.try_run(None, move |state| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    *state
                })
                .unwrap()
            })
            .collect();
        let rt = actix_web::rt::System::new();
        let states = rt.block_on(futures_util::future::join_all(jobs));
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert!(states.iter().all(|s| matches!(s, Some(0 | 1))));
    }

    #[test]
    fn the_queue_is_bounded_in_total_and_per_key() {
        let pool = pool(
            1,
            Limits {
                total: 5,
                per_key: Some(3),
            },
        );
        let gates = block_all(&pool, 1);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.try_run(Some(1), |_| ()).unwrap());
        }
        assert_eq!(pool.try_run(Some(1), |_| ()).err(), Some(Full::Key));
        held.push(pool.try_run(Some(2), |_| ()).unwrap());
        held.push(pool.try_run(None, |_| ()).unwrap());
        assert_eq!(pool.waiting(), 5);
        assert_eq!(pool.try_run(Some(3), |_| ()).err(), Some(Full::Queue));
        drop(gates);
        let rt = actix_web::rt::System::new();
        assert!(rt
            .block_on(futures_util::future::join_all(held))
            .iter()
            .all(Option::is_some));
        assert_eq!(pool.waiting(), 0);
        assert!(pool.try_run(Some(1), |_| ()).is_ok(), "room again");
    }

    #[test]
    fn keys_take_turns() {
        let pool = pool(1, ROOMY);
        let gates = block_all(&pool, 1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut outcomes = Vec::new();
        let mut push = |key: u8| {
            let order = Arc::clone(&order);
            outcomes.push(
                pool.try_run(Some(key), move |_| order.lock().unwrap().push(key))
                    .unwrap(),
            );
        };
        // A flood from 1, then one job from 2: 2's job runs second, not last.
        for _ in 0..10 {
            push(1);
        }
        push(2);
        push(3);
        drop(gates);
        let rt = actix_web::rt::System::new();
        rt.block_on(futures_util::future::join_all(outcomes));
        let order = order.lock().unwrap().clone();
        assert_eq!(&order[..4], &[1, 2, 3, 1], "{order:?}");
        assert_eq!(order.len(), 12);
    }

    #[test]
    fn without_a_per_key_limit_jobs_run_in_arrival_order() {
        let pool = pool(
            1,
            Limits {
                total: 100,
                per_key: None,
            },
        );
        let gates = block_all(&pool, 1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let outcomes: Vec<_> = [1u8, 1, 1, 2]
            .into_iter()
            .map(|key| {
                let order = Arc::clone(&order);
                pool.try_run(Some(key), move |_| order.lock().unwrap().push(key))
                    .unwrap()
            })
            .collect();
        drop(gates);
        let rt = actix_web::rt::System::new();
        rt.block_on(futures_util::future::join_all(outcomes));
        assert_eq!(*order.lock().unwrap(), vec![1, 1, 1, 2]);
    }

    #[test]
    fn a_job_nobody_waits_for_is_skipped() {
        let pool = pool(1, ROOMY);
        let gates = block_all(&pool, 1);
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        let abandoned = pool
            .try_run(None, move |_| counted.fetch_add(1, Ordering::SeqCst))
            .unwrap();
        drop(abandoned);
        let counted = Arc::clone(&ran);
        let wanted = pool
            .try_run(None, move |_| counted.fetch_add(1, Ordering::SeqCst))
            .unwrap();
        drop(gates);
        let rt = actix_web::rt::System::new();
        assert_eq!(rt.block_on(wanted), Some(0), "only the wanted job ran");
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
