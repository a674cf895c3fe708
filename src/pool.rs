//! A small fixed pool of threads for the blocking GSSAPI step.
//!
//! Why not actix's blocking pool (`web::block`): it grows to a thread per request in flight.
//! With 64 concurrent logins on 2 cores that meant ~90 threads taking turns on MIT's locks and
//! the replay-cache file lock. Two threads per CPU do more with less (examples/benchmark.rs,
//! 100k logins, same machine): 94 instead of 122 µs of server CPU per login, p99 8.9 instead
//! of 16.4 ms, 8.5 instead of 12.1 MiB of RSS. One thread per CPU was slower (116 µs), and so
//! was four per CPU (101 µs).
//!
//! The async side only waits on a one-shot result, so a step stuck on a dead disk holds a pool
//! thread, never an actix worker: other routes keep answering (`tests/blocking.rs`). When
//! every pool thread is stuck, further logins wait in the queue.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs in order of arrival. Dropping the last handle lets the
/// threads finish the queued jobs and exit.
pub(crate) struct Pool {
    jobs: Sender<Job>,
}

impl Pool {
    /// Starts `threads` threads (at least one) named `name-N`.
    pub(crate) fn new(threads: usize, name: &str) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(&rx))?;
        }
        Ok(Self { jobs: tx })
    }

    /// Runs `f` on a pool thread; the future resolves to its result, or to `None` when `f`
    /// panicked or the pool is gone.
    pub(crate) fn run<T, F>(&self, f: F) -> Outcome<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = Arc::new(Slot {
            value: Mutex::new(None),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
        });
        let sender = SlotSender(Arc::clone(&slot));
        let job: Job = Box::new(move || {
            let sender = sender;
            if let Ok(value) = catch_unwind(AssertUnwindSafe(f)) {
                sender.send(value);
            }
            // On a panic `sender` drops unsent, and the waiting request gets `None`.
        });
        // A failed send drops the job, and with it the sender: the outcome resolves to `None`.
        let _ = self.jobs.send(job);
        Outcome(slot)
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, never while running one.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone
        }
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
        if let Ok(mut slot) = self.0.value.lock() {
            *slot = Some(value);
        }
        // `Drop` marks the slot closed and wakes the receiver.
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.waker.wake();
    }
}

/// The result of [`Pool::run`].
pub(crate) struct Outcome<T>(Arc<Slot<T>>);

impl<T> Future for Outcome<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let slot = &self.0;
        slot.waker.register(cx.waker());
        // `closed` is set after the value is stored: seeing it means the value (if any) is in.
        if slot.closed.load(Ordering::Acquire) {
            let value = slot.value.lock().ok().and_then(|mut v| v.take());
            return Poll::Ready(value);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_and_survives_panics() {
        let pool = Pool::new(2, "test-pool").unwrap();
        let rt = actix_web::rt::System::new();
        assert_eq!(rt.block_on(pool.run(|| 6 * 7)), Some(42));
        let panicked: Option<u8> = rt.block_on(pool.run(|| panic!("boom")));
        assert_eq!(panicked, None);
        // The thread that panicked still serves.
        let results: Vec<_> = (0..8).map(|i| pool.run(move || i * 2)).collect();
        let results: Vec<_> = rt.block_on(futures_util::future::join_all(results));
        assert_eq!(results, (0..8).map(|i| Some(i * 2)).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_n_jobs_run_at_once() {
        use std::sync::atomic::AtomicUsize;
        let pool = Pool::new(2, "test-pool").unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let rt = actix_web::rt::System::new();
        rt.block_on(futures_util::future::join_all(jobs));
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
