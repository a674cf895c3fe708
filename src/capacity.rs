//! How much GSSAPI work runs at once, and how many logins may wait for it.

use std::fmt;

/// How many logins are checked at once and how many may wait, given to
/// [`SpnegoAuthBuilder::capacity`](crate::SpnegoAuthBuilder::capacity). Shared by every worker.
///
/// ```
/// use actix_gssapi::{Capacity, SpnegoAuth};
///
/// // Behind a reverse proxy every login comes from the proxy's address: one queue, no turns.
/// let builder = SpnegoAuth::builder()
///     .capacity(Capacity::new().login_queue(4096).login_queue_per_peer(None));
/// ```
#[must_use]
#[derive(Clone, PartialEq, Eq)]
pub struct Capacity {
    pub(crate) accept_threads: Option<usize>,
    pub(crate) login_queue: usize,
    pub(crate) login_queue_per_peer: Option<usize>,
}

/// [`Capacity::login_queue`]'s default.
const DEFAULT_LOGIN_QUEUE: usize = 1024;
/// [`Capacity::login_queue_per_peer`]'s default.
const DEFAULT_LOGIN_QUEUE_PER_PEER: usize = 64;

impl Default for Capacity {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capacity")
            .field("accept_threads", &self.threads())
            .field("login_queue", &self.login_queue)
            .field("login_queue_per_peer", &self.login_queue_per_peer)
            .finish()
    }
}

impl Capacity {
    /// The defaults: four GSSAPI threads per CPU, 1024 waiting logins, 64 from one address.
    pub fn new() -> Self {
        Self {
            accept_threads: None,
            login_queue: DEFAULT_LOGIN_QUEUE,
            login_queue_per_peer: Some(DEFAULT_LOGIN_QUEUE_PER_PEER),
        }
    }

    /// How many Negotiate tokens are checked at once: the number of threads that run
    /// GSSAPI, shared by all workers, each with its own acceptor credential. More logins than
    /// that wait their turn in the [login queue](Self::login_queue) (other requests do not:
    /// they never wait for GSSAPI). At least 1.
    ///
    /// Defaults to four per CPU. Accepting is CPU work, but MIT takes a global lock for every
    /// krb5 context it creates (several per accept), so a thread often waits; measured with
    /// `scripts/bench.sh` on 2 CPUs: 2 threads 17.0k logins/s, 4: 18.3k, 8: 22.6k, 12: 20.9k.
    pub fn accept_threads(mut self, threads: usize) -> Self {
        self.accept_threads = Some(threads.max(1));
        self
    }

    /// How many logins may wait for a GSSAPI thread, all clients together (at least 1). Past
    /// it, a login is answered at once with the [overloaded](crate::Responses::overloaded)
    /// response (`503`, `Retry-After`) and a warning is logged (at most one line a second), so
    /// memory stays bounded under a flood and clients learn to come back instead of timing out.
    ///
    /// Defaults to 1024 (with ~2 KB tokens, 2 MB; at most 64 KiB each). Waiting logins are
    /// served by client address in turn, not in arrival order, so a client with many waiting
    /// logins delays another client's login by about one accept, not by all of its own. A
    /// login whose client hung up before its turn is skipped.
    pub fn login_queue(mut self, logins: usize) -> Self {
        self.login_queue = logins.max(1);
        self
    }

    /// How many logins from one client address may wait at once (at least 1); `None` lifts
    /// the limit and the turns (one queue, in arrival order). Past it, that client's further
    /// logins get the overloaded response while others still get in.
    ///
    /// Defaults to `Some(64)`: about a millisecond of work for the GSSAPI threads, and plenty
    /// for one client (a browser sends one login at a time). Each waiting login holds its
    /// connection's buffers; under a flood from one address (`tests/flood.rs`: 256
    /// connections replaying a token and hanging up) 64 kept the server's growth to ~15 MiB
    /// where 256 let it reach ~30 MiB.
    ///
    /// **Behind a reverse proxy** every request comes from the proxy's address, so all users
    /// share this limit and one turn: raise it to the whole queue or set `None` there, and let
    /// the proxy limit clients (it knows their addresses).
    pub fn login_queue_per_peer(mut self, logins: Option<usize>) -> Self {
        self.login_queue_per_peer = logins.map(|n| n.max(1));
        self
    }

    /// The number of GSSAPI threads this gives on this machine.
    pub(crate) fn threads(&self) -> usize {
        self.accept_threads
            .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_bounded_and_per_peer() {
        let c = Capacity::new();
        assert_eq!(c.login_queue, 1024);
        assert_eq!(c.login_queue_per_peer, Some(64));
        assert!(c.threads() >= 4);
        let c = Capacity::new()
            .accept_threads(0)
            .login_queue(0)
            .login_queue_per_peer(Some(0));
        assert_eq!(c.threads(), 1);
        assert_eq!(c.login_queue, 1);
        assert_eq!(c.login_queue_per_peer, Some(1));
        assert_eq!(
            Capacity::new()
                .login_queue_per_peer(None)
                .login_queue_per_peer,
            None
        );
    }
}
