//! The Redis replay store: one `SET key 1 NX EX ttl` per accepted token, so every node that
//! shares the server refuses a token another node already accepted.
//!
//! The connections live on a thread of the store's own, with a single-threaded tokio
//! runtime: any executor (every actix worker, a test's) can await an insert, and no worker's
//! runtime owns a socket. Each connection is multiplexed (inserts are pipelined on it) and
//! made on first use; one that fails is dropped and made again by the next insert that needs
//! it, so the store recovers by itself when Redis comes back.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, Value};
use futures_util::future::{BoxFuture, FutureExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Inserted, Store, StoreError, Tag};
use crate::error::{Error, ErrorKind};

/// The key prefix unless [`RedisConfig::key_prefix`] sets another.
const DEFAULT_PREFIX: &str = "actix-gssapi:replay:";
/// After a connection attempt failed, inserts fail at once with its error for this long
/// instead of each trying again: a Redis that is down costs one attempt per connection and
/// period, not one per login.
const RETRY_AFTER_FAILURE: Duration = Duration::from_millis(100);

/// Where replay protection keeps the tags of accepted tokens when several nodes (behind a load
/// balancer) must refuse a token any of them has accepted: a Redis server they all use.
/// Needs the `redis` feature.
///
/// Each accepted token costs one `SET <prefix><tag> 1 NX EX <seconds>`: the key is there if
/// and only if some node accepted the token within the TTL (twice the clock skew). Redis
/// answers for every node at once, so of two nodes given the same token at the same moment
/// exactly one lets it in. When Redis cannot answer within the [`timeout`](Self::timeout)
/// (down, unreachable, refusing the password), the login is refused with `503` and
/// `Retry-After`: a token is never let through unchecked. Nothing needs restarting when Redis
/// comes back: connections are made again on the next login.
///
/// ```no_run
/// use actix_gssapi::RedisConfig;
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// // rediss://:PASSWORD@redis.example.com:6380/2: TLS, a password, database 2. The URL
/// // holds the password, so it comes from your secret store, not from the code.
/// let url = std::env::var("REPLAY_REDIS_URL").map_err(std::io::Error::other)?;
/// let redis = RedisConfig::new(url)
///     .key_prefix("intranet:replay:")
///     .timeout(Duration::from_millis(500))
///     .tls_root_certificates(std::fs::read("/etc/ssl/redis-ca.pem")?);
/// # Ok(())
/// # }
/// ```
///
/// Its `Debug` shows neither the password nor the client key.
///
/// The Redis user needs only `SET` (and `PING`, for the start-up check) on the prefix's keys,
/// e.g. `ACL SETUSER replay on >password resetkeys ~actix-gssapi:replay:* -@all +set +ping`
/// (and `+select` with a database other than 0).
#[derive(Clone)]
#[must_use]
pub struct RedisConfig {
    url: String,
    key_prefix: String,
    timeout: Duration,
    connections: usize,
    root_certificates: Option<Vec<u8>>,
    client_certificate: Option<(Vec<u8>, Vec<u8>)>,
}

impl RedisConfig {
    /// A Redis server by URL: `redis://[user:password@]host[:port][/db]`, or `rediss://...`
    /// for TLS (the server's certificate is checked against the system's trust store, or
    /// against [`tls_root_certificates`](Self::tls_root_certificates), and must name `host`).
    /// The port defaults to 6379 and the database to 0; the user and password, if any, are
    /// percent-encoded in the URL (a password alone, `redis://:password@host`, logs in as
    /// Redis' `default` user).
    ///
    /// The URL is checked when the middleware is built, not here. A `#insecure` URL, which
    /// would turn certificate checks off, is refused.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: DEFAULT_PREFIX.to_owned(),
            timeout: Duration::from_secs(1),
            connections: 2,
            root_certificates: None,
            client_certificate: None,
        }
    }

    /// What the keys start with (default `"actix-gssapi:replay:"`); the rest is the tag's
    /// 64 lowercase hex digits. Give services that share a Redis server but not their
    /// logins (different service principals) different prefixes, and the nodes of one service
    /// the same one.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one insert may take, reconnecting included (default 1 second, at least 1
    /// millisecond): past it the login is refused with `503`. A login never waits longer than
    /// this on Redis.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many connections to keep to Redis (default 2, at least 1), used in turn. Each
    /// carries many inserts at once (they are pipelined), so one is enough for thousands of
    /// logins a second; the second keeps logins going while the first is made again after a
    /// failure that broke only it, and spreads the load when a proxy in front of Redis
    /// balances connections.
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) for the
    /// server's certificate, **instead of** the system's trust store: a private CA that
    /// signed the Redis server's certificate. Only with a `rediss://` URL.
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// Logs in to the server with a client certificate too (mutual TLS, Redis'
    /// `tls-auth-clients`): `certificate_pem` is the certificate (and any intermediates),
    /// `key_pem` its private key (PKCS#8, PKCS#1 or SEC1 PEM). Only with a `rediss://` URL.
    pub fn tls_client_certificate(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_certificate = Some((certificate_pem.into(), key_pem.into()));
        self
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redacted_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("connections", &self.connections)
            .field(
                "tls_root_certificates",
                &self.root_certificates.as_ref().map(|_| "<PEM>"),
            )
            .field(
                "tls_client_certificate",
                &self
                    .client_certificate
                    .as_ref()
                    .map(|_| "<PEM, key redacted>"),
            )
            .finish()
    }
}

/// `url` with its password replaced; a URL that does not parse is shown only if it has no
/// `@` (no credentials to hide).
fn redacted_url(url: &str) -> String {
    match ::redis::parse_redis_url(url) {
        Some(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("******"));
            }
            parsed.to_string()
        }
        None if url.contains('@') => "<not a Redis URL, hidden: it may hold a password>".into(),
        None => url.to_owned(),
    }
}

/// The Redis replay store. See [`RedisConfig`].
pub(crate) struct RedisStore {
    inner: Arc<Inner>,
    handle: Handle,
    /// Dropped (or sent) to stop the thread.
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the insert tasks share.
struct Inner {
    client: Client,
    /// `host:port`, for messages.
    server: Arc<str>,
    tls: bool,
    db: i64,
    prefix: String,
    timeout: Duration,
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

/// One connection, made when first needed and again after it failed.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// Held while connecting: of the inserts that find no connection, one connects and the
    /// others wait for it.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlotState {
    /// The connection and its generation (so that an insert that saw it fail drops that
    /// connection, not a newer one).
    connection: Option<(u64, MultiplexedConnection)>,
    generation: u64,
    /// When the last attempt to connect failed, and why.
    failed: Option<(Instant, String)>,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.state().connection.clone()
    }

    /// Forgets connection `generation` (it failed or did not answer): the next insert makes
    /// a new one.
    fn discard(&self, generation: u64) {
        let mut state = self.state();
        if matches!(state.connection, Some((g, _)) if g == generation) {
            state.connection = None;
        }
    }
}

impl RedisStore {
    /// Checks `config` and starts the store's thread; connects in the background (Redis need
    /// not be up).
    ///
    /// # Errors
    /// [`ErrorKind::ReplayStore`] when the URL or the TLS settings are wrong (see
    /// [`RedisConfig`]), or the thread cannot be started.
    pub(crate) fn new(config: &RedisConfig) -> Result<Self, Error> {
        let (client, server, tls, db) = client(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config_error(format!("cannot start the Redis store's runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("actix-gssapi-redis".into())
            .spawn(move || {
                // Drives every connection and insert until the store is dropped.
                runtime.block_on(async move {
                    let _ = stop.await;
                });
                // Whatever is still running (a connection attempt) is dropped, not waited for.
                runtime.shutdown_background();
            })
            .map_err(|e| config_error(format!("cannot start the Redis store's thread: {e}")))?;
        let inner = Arc::new(Inner {
            client,
            server,
            tls,
            db,
            prefix: config.key_prefix.clone(),
            timeout: config.timeout,
            slots: (0..config.connections).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        });
        // Connect now, in the background, so the first login does not wait for it.
        for n in 0..inner.slots.len() {
            let inner = inner.clone();
            handle.spawn(async move {
                let _ = tokio::time::timeout(inner.timeout, inner.connection(n)).await;
            });
        }
        let store = Self {
            inner,
            handle,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        // Says at start-up whether Redis answers, before the first login finds out.
        let ping = store.ping();
        let server = store.inner.server.clone();
        store.handle.spawn(async move {
            match ping.await {
                Ok(()) => log::info!("replay store: Redis at {server} answers"),
                Err(e) => log::warn!(
                    "replay store: {e}; logins cannot be checked against it until it answers"
                ),
            }
        });
        Ok(store)
    }

    /// Sends `PING`: Ok when Redis answers within the timeout (for the start-up log line).
    pub(crate) fn ping(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.spawn(|inner| async move {
            let reply = inner.query(::redis::cmd("PING")).await?;
            match reply {
                Value::SimpleString(s) if s == "PONG" => Ok(()),
                other => Err(inner.error(format!("unexpected answer to PING: {other:?}"))),
            }
        })
    }

    /// Runs `task` on the store's runtime; the future resolves on any executor.
    fn spawn<F, Fut, T>(&self, task: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let server = self.inner.server.clone();
        let join = self.handle.spawn(task(self.inner.clone()));
        async move {
            join.await.unwrap_or_else(|e| {
                Err(StoreError::new(if e.is_cancelled() {
                    format!("Redis at {server}: the store is shut down")
                } else {
                    format!("Redis at {server}: the store's task failed: {e}")
                }))
            })
        }
        .boxed()
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Store for RedisStore {
    fn insert(&self, tag: Tag, ttl: Duration) -> BoxFuture<'static, Result<Inserted, StoreError>> {
        self.spawn(move |inner| async move { inner.insert(tag, ttl).await })
    }

    fn describe(&self) -> String {
        let inner = &self.inner;
        format!(
            "Redis at {}{}{}, key prefix {:?}",
            inner.server,
            if inner.db != 0 {
                format!(" (database {})", inner.db)
            } else {
                String::new()
            },
            if inner.tls { " (TLS)" } else { "" },
            inner.prefix
        )
    }
}

impl Inner {
    async fn insert(&self, tag: Tag, ttl: Duration) -> Result<Inserted, StoreError> {
        let mut key = String::with_capacity(self.prefix.len() + 64);
        key.push_str(&self.prefix);
        for byte in tag {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        let mut set = ::redis::cmd("SET");
        set.arg(key).arg(1).arg("NX").arg("EX").arg(ttl_secs(ttl));
        match self.query(set).await? {
            Value::Okay => Ok(Inserted::Fresh),
            Value::SimpleString(s) if s == "OK" => Ok(Inserted::Fresh),
            Value::Nil => Ok(Inserted::Seen),
            other => Err(self.error(format!("unexpected answer to SET NX: {other:?}"))),
        }
    }

    /// Sends `cmd` on the next connection (making it if needed), all within the timeout.
    async fn query(&self, cmd: ::redis::Cmd) -> Result<Value, StoreError> {
        let deadline = Instant::now() + self.timeout;
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let (generation, mut connection) =
            match tokio::time::timeout_at(deadline, self.connection(n)).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(cause)) => return Err(self.error(cause)),
                Err(_) => {
                    return Err(self.error(format!(
                        "could not connect within {} ms",
                        self.timeout.as_millis()
                    )))
                }
            };
        let reply = tokio::time::timeout_at(deadline, cmd.query_async::<Value>(&mut connection));
        match reply.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                // Whatever went wrong (connection lost, a replica that became read-only after
                // a fail-over), a new connection is the way to recover.
                self.slots[n].discard(generation);
                Err(self.error(if e.is_timeout() {
                    format!("no answer within {} ms", self.timeout.as_millis())
                } else {
                    e.to_string()
                }))
            }
            Err(_) => {
                self.slots[n].discard(generation);
                Err(self.error(format!("no answer within {} ms", self.timeout.as_millis())))
            }
        }
    }

    /// Connection `n`, made now if there is none; the error says why it could not be made.
    async fn connection(&self, n: usize) -> Result<(u64, MultiplexedConnection), String> {
        let slot = &self.slots[n];
        if let Some(connection) = slot.current() {
            return Ok(connection);
        }
        let _connecting = slot.connecting.lock().await;
        {
            let state = slot.state();
            if let Some(connection) = &state.connection {
                return Ok(connection.clone());
            }
            if let Some((at, cause)) = &state.failed {
                if at.elapsed() < RETRY_AFTER_FAILURE {
                    return Err(cause.clone());
                }
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let result = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await;
        let mut state = slot.state();
        match result {
            Ok(connection) => {
                state.generation += 1;
                state.connection = Some((state.generation, connection.clone()));
                state.failed = None;
                Ok((state.generation, connection))
            }
            Err(e) => {
                let cause = if e.is_timeout() {
                    format!("could not connect within {} ms", self.timeout.as_millis())
                } else {
                    format!("cannot connect: {e}")
                };
                state.failed = Some((Instant::now(), cause.clone()));
                Err(cause)
            }
        }
    }

    fn error(&self, cause: impl fmt::Display) -> StoreError {
        StoreError::new(format!("Redis at {}: {cause}", self.server))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `ttl` in whole seconds, rounded up (an entry never expires early), at least 1.
fn ttl_secs(ttl: Duration) -> u64 {
    (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1)
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::ReplayStore, message)
}

/// The client for `config`, and the server's `host:port`, whether it uses TLS, its database.
fn client(config: &RedisConfig) -> Result<(Client, Arc<str>, bool, i64), Error> {
    let shown = redacted_url(&config.url);
    let bad = |why: &str| config_error(format!("Redis URL {shown}: {why}"));
    let url = ::redis::parse_redis_url(&config.url).ok_or_else(|| {
        bad("not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)")
    })?;
    match url.scheme() {
        "redis" | "rediss" => {}
        _ => return Err(bad("only redis:// and rediss:// (TLS) URLs are supported")),
    }
    match url.fragment() {
        None => {}
        Some("insecure") => {
            return Err(bad(
                "#insecure would turn off the check of the server's certificate; trust its CA \
                 with RedisConfig::tls_root_certificates instead",
            ))
        }
        Some(_) => return Err(bad("a Redis URL has no #fragment")),
    }
    let info = url
        .into_connection_info()
        .map_err(|e| bad(&e.to_string()))?;
    let db = info.redis_settings().db();
    let (server, tls) = match info.addr() {
        ConnectionAddr::Tcp(host, port) => (host_port(host, *port), false),
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure,
            ..
        } => {
            if *insecure {
                return Err(bad("certificate checks are turned off"));
            }
            (host_port(host, *port), true)
        }
        _ => return Err(bad("only redis:// and rediss:// (TLS) URLs are supported")),
    };
    let has_certificates =
        config.root_certificates.is_some() || config.client_certificate.is_some();
    let client = if !tls {
        if has_certificates {
            return Err(bad(
                "TLS certificates are configured but the URL is redis:// (no TLS); use rediss://",
            ));
        }
        Client::open(info)
    } else {
        install_crypto_provider();
        if !has_certificates {
            Client::open(info)
        } else {
            let root_cert = match &config.root_certificates {
                Some(pem) => {
                    check_certificates(pem, "tls_root_certificates")?;
                    let mut roots = rustls::RootCertStore::empty();
                    for cert in CertificateDer::pem_slice_iter(pem).flatten() {
                        roots.add(cert).map_err(|e| {
                            config_error(format!("tls_root_certificates: not a usable CA: {e}"))
                        })?;
                    }
                    Some(pem.clone())
                }
                None => None,
            };
            let client_tls = match &config.client_certificate {
                Some((cert, key)) => {
                    check_certificates(cert, "tls_client_certificate")?;
                    PrivateKeyDer::from_pem_slice(key).map_err(|e| {
                        config_error(format!(
                            "tls_client_certificate: no private key in the key PEM: {e}"
                        ))
                    })?;
                    Some(::redis::ClientTlsConfig {
                        client_cert: cert.clone(),
                        client_key: key.clone(),
                    })
                }
                None => None,
            };
            Client::build_with_tls(
                info,
                ::redis::TlsCertificates {
                    client_tls,
                    root_cert,
                },
            )
        }
    }
    .map_err(|e| bad(&e.to_string()))?;
    Ok((client, server.into(), tls, db))
}

/// Fails unless `pem` holds at least one certificate and nothing that does not parse.
fn check_certificates(pem: &[u8], what: &str) -> Result<(), Error> {
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| config_error(format!("{what}: a certificate does not parse: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(config_error(format!(
            "{what}: no PEM certificate (-----BEGIN CERTIFICATE-----) found"
        )));
    }
    Ok(())
}

/// The redis crate builds its TLS settings with rustls' process-wide crypto provider. When
/// the application has not chosen one, this crate's (ring) becomes it, as rustls itself does
/// when ring is the only provider compiled in; an application that installs its own must do
/// so before building the store.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err: another thread installed one meanwhile, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_gssapi_testing::TestRedis;
    use std::future::Future;
    use std::sync::{Barrier, Condvar};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Instant as StdInstant;

    /// Runs `future` on this thread, with no runtime at all: the store's futures resolve on
    /// any executor.
    fn block_on<F: Future>(future: F) -> F::Output {
        #[derive(Default)]
        struct Signal(Mutex<bool>, Condvar);
        impl Wake for Signal {
            fn wake(self: Arc<Self>) {
                *self.0.lock().unwrap() = true;
                self.1.notify_one();
            }
        }
        let signal = Arc::new(Signal::default());
        let waker = Waker::from(signal.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            let mut woken = signal.0.lock().unwrap();
            while !*woken {
                woken = signal.1.wait(woken).unwrap();
            }
            *woken = false;
        }
    }

    fn tag(n: u64) -> Tag {
        use sha2::{Digest, Sha256};
        Sha256::digest(n.to_le_bytes()).into()
    }

    /// A tag no other test (or earlier run) used.
    fn new_tag() -> Tag {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        tag(nanos ^ (NEXT.fetch_add(1, Ordering::Relaxed) as u64) << 48)
    }

    const TTL: Duration = Duration::from_secs(60);

    fn store(config: RedisConfig) -> RedisStore {
        RedisStore::new(&config).unwrap()
    }

    fn insert(store: &RedisStore, tag: Tag) -> Result<Inserted, StoreError> {
        block_on(store.insert(tag, TTL))
    }

    fn config_error(config: RedisConfig) -> String {
        match RedisStore::new(&config) {
            Ok(_) => panic!("{config:?} accepted"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ReplayStore);
                e.to_string()
            }
        }
    }

    #[test]
    fn a_second_insert_is_seen() {
        let redis = TestRedis::start().unwrap();
        let store = store(RedisConfig::new(redis.url()));
        block_on(store.ping()).unwrap();
        let (a, b) = (new_tag(), new_tag());
        assert_eq!(insert(&store, a).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&store, a).unwrap(), Inserted::Seen);
        assert_eq!(insert(&store, b).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&store, b).unwrap(), Inserted::Seen);
        let described = store.describe();
        assert_eq!(
            described,
            format!(
                "Redis at 127.0.0.1:{}, key prefix \"actix-gssapi:replay:\"",
                redis.port()
            )
        );
        assert!(!described.contains(redis.password()));
        redis.flushall().unwrap();
        assert_eq!(insert(&store, a).unwrap(), Inserted::Fresh, "flushed");
    }

    #[test]
    fn nodes_sharing_a_prefix_share_tags_and_other_prefixes_do_not() {
        let redis = TestRedis::start().unwrap();
        let node_a = store(RedisConfig::new(redis.url()).key_prefix("svc1:"));
        let node_b = store(RedisConfig::new(redis.url()).key_prefix("svc1:"));
        let other = store(RedisConfig::new(redis.url()).key_prefix("svc2:"));
        let t = new_tag();
        assert_eq!(insert(&node_a, t).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&node_b, t).unwrap(), Inserted::Seen, "same prefix");
        assert_eq!(insert(&other, t).unwrap(), Inserted::Fresh, "other prefix");
        assert_eq!(insert(&other, t).unwrap(), Inserted::Seen);
    }

    #[test]
    fn ttl_is_whole_seconds_rounded_up() {
        assert_eq!(ttl_secs(Duration::ZERO), 1);
        assert_eq!(ttl_secs(Duration::from_millis(1)), 1);
        assert_eq!(ttl_secs(Duration::from_secs(1)), 1);
        assert_eq!(ttl_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(600)), 600);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let redis = TestRedis::start().unwrap();
        let store = store(RedisConfig::new(redis.url()));
        let t = new_tag();
        let ttl = Duration::from_secs(1);
        assert_eq!(block_on(store.insert(t, ttl)).unwrap(), Inserted::Fresh);
        assert_eq!(block_on(store.insert(t, ttl)).unwrap(), Inserted::Seen);
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(block_on(store.insert(t, ttl)).unwrap(), Inserted::Fresh);
    }

    #[test]
    fn concurrent_inserts_from_two_nodes_let_exactly_one_through() {
        let redis = TestRedis::start().unwrap();
        let nodes = [
            Arc::new(store(RedisConfig::new(redis.url()))),
            Arc::new(store(RedisConfig::new(redis.url()).connections(3))),
        ];
        for _ in 0..10 {
            let t = new_tag();
            let barrier = Arc::new(Barrier::new(16));
            let fresh: usize = (0..16)
                .map(|i| {
                    let (node, barrier) = (nodes[i % 2].clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        block_on(node.insert(t, TTL)).unwrap() == Inserted::Fresh
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum();
            assert_eq!(fresh, 1);
        }
    }

    #[test]
    fn a_wrong_password_is_an_error() {
        let redis = TestRedis::start().unwrap();
        let url = redis.url().replace(redis.password(), "wrong-password");
        let store = store(RedisConfig::new(url));
        for _ in 0..2 {
            let e = insert(&store, new_tag()).unwrap_err().to_string();
            assert!(
                e.contains(&format!("Redis at 127.0.0.1:{}", redis.port())),
                "{e}"
            );
            assert!(!e.contains("wrong-password"), "{e}");
            eprintln!("wrong password: {e}");
        }
        assert!(block_on(store.ping()).is_err());
        // No password at all.
        let url = format!("redis://127.0.0.1:{}", redis.port());
        assert!(insert(&store_of(&url), new_tag()).is_err());
    }

    /// A Redis user allowed only `SET` and `PING` on the prefix's keys is enough.
    #[test]
    fn a_user_with_least_privileges() {
        let redis = TestRedis::start().unwrap();
        let acl = [
            "ACL",
            "SETUSER",
            "replay",
            "on",
            ">replay-pw",
            "resetkeys",
            "~svc:*",
            "-@all",
            "+set",
            "+ping",
        ];
        assert_eq!(redis.command(&acl).unwrap(), "+OK");
        let url = format!("redis://replay:replay-pw@127.0.0.1:{}", redis.port());
        let node = store(RedisConfig::new(&url).key_prefix("svc:"));
        block_on(node.ping()).unwrap();
        let t = new_tag();
        assert_eq!(insert(&node, t).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&node, t).unwrap(), Inserted::Seen);
        // Keys outside its prefix: refused, as an error.
        let other = store(RedisConfig::new(&url).key_prefix("other:"));
        let e = insert(&other, t).unwrap_err();
        eprintln!("outside the ACL's keys: {e}");
    }

    fn store_of(url: &str) -> RedisStore {
        store(RedisConfig::new(url))
    }

    /// While Redis is down inserts fail within the timeout; they succeed again once it is
    /// back, with nothing done to the store; the store can be built while Redis is down.
    #[test]
    fn recovers_by_itself_when_redis_comes_back() {
        let timeout = Duration::from_millis(500);
        let mut redis = TestRedis::start().unwrap();
        redis.stop();
        let store = store(RedisConfig::new(redis.url()).timeout(timeout));
        let (port, password) = (redis.port(), redis.password().to_owned());
        let down = |store: &RedisStore| {
            for _ in 0..5 {
                let start = StdInstant::now();
                let e = insert(store, new_tag()).unwrap_err().to_string();
                let took = start.elapsed();
                assert!(took < timeout + Duration::from_millis(200), "{took:?}");
                assert!(
                    e.starts_with(&format!("Redis at 127.0.0.1:{port}: ")),
                    "{e}"
                );
                assert!(!e.contains(&password), "{e}");
            }
        };
        let back = |store: &RedisStore| {
            let start = StdInstant::now();
            loop {
                match insert(store, new_tag()) {
                    Ok(inserted) => {
                        assert_eq!(inserted, Inserted::Fresh);
                        break start.elapsed();
                    }
                    Err(e) => {
                        assert!(start.elapsed() < Duration::from_secs(5), "not back: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        };
        down(&store);
        redis.restart().unwrap();
        let first = back(&store);
        // Every connection works again, not just one.
        for _ in 0..4 {
            insert(&store, new_tag()).unwrap();
        }
        // Connections that worked, broken.
        redis.stop();
        down(&store);
        redis.restart().unwrap();
        let second = back(&store);
        eprintln!("back after {first:?} and {second:?}");
    }

    /// A server that takes connections and never answers: the insert still ends within the
    /// timeout.
    #[test]
    fn a_silent_server_is_an_error_within_the_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let accepted = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                accepted.lock().unwrap().push(stream);
            }
        });
        let timeout = Duration::from_millis(300);
        let store = store(RedisConfig::new(format!("redis://127.0.0.1:{port}")).timeout(timeout));
        for _ in 0..3 {
            let start = StdInstant::now();
            let e = insert(&store, new_tag()).unwrap_err().to_string();
            let took = start.elapsed();
            assert!(took < timeout + Duration::from_millis(200), "{took:?}: {e}");
            assert!(e.contains("within 300 ms"), "{e}");
            std::thread::sleep(RETRY_AFTER_FAILURE);
        }
    }

    /// A server that stops answering on connections that worked (paused with SIGSTOP): the
    /// inserts end within the timeout, and succeed again once it answers.
    #[test]
    fn a_server_that_stops_answering_is_an_error_within_the_timeout() {
        let redis = TestRedis::start().unwrap();
        let timeout = Duration::from_millis(300);
        let store = store(RedisConfig::new(redis.url()).timeout(timeout));
        for _ in 0..4 {
            insert(&store, new_tag()).unwrap();
        }
        redis.pause().unwrap();
        let start = StdInstant::now();
        let errors: Vec<_> = (0..8)
            .map(|_| {
                let insert = store.insert(new_tag(), TTL);
                std::thread::spawn(move || block_on(insert))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap().unwrap_err().to_string())
            .collect();
        let took = start.elapsed();
        assert!(took < timeout + Duration::from_millis(200), "{took:?}");
        assert!(errors[0].contains("no answer within 300 ms"), "{errors:?}");
        redis.resume().unwrap();
        let start = StdInstant::now();
        while insert(&store, new_tag()).is_err() {
            assert!(start.elapsed() < Duration::from_secs(5), "not back");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Dropping the store ends its thread at once (the drop joins it), even while an insert
    /// waits on a server that does not answer; that insert resolves to an error.
    #[test]
    fn dropping_the_store_stops_its_thread() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("redis://127.0.0.1:{port}");
        let store = store(RedisConfig::new(url).timeout(Duration::from_secs(30)));
        let pending = store.insert(new_tag(), TTL);
        let waiting = std::thread::spawn(move || block_on(pending));
        std::thread::sleep(Duration::from_millis(100));
        let start = StdInstant::now();
        drop(store);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        let e = waiting.join().unwrap().unwrap_err().to_string();
        assert!(e.ends_with(": the store is shut down"), "{e}");
        drop(listener);
    }

    #[test]
    fn tls_with_the_servers_ca() {
        let redis = TestRedis::start_tls().unwrap();
        let node = store(store_config_tls(&redis));
        block_on(node.ping()).unwrap();
        let t = new_tag();
        assert_eq!(insert(&node, t).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&node, t).unwrap(), Inserted::Seen);
        assert!(node.describe().contains(" (TLS), "), "{}", node.describe());
        // With a client certificate the server checks but does not require.
        let (cert, key) = redis.client_certificate();
        let with_cert = store_config_tls(&redis).tls_client_certificate(cert, key);
        assert_eq!(insert(&store(with_cert), t).unwrap(), Inserted::Seen);
        redis.flushall().unwrap();
        assert_eq!(insert(&node, t).unwrap(), Inserted::Fresh);
    }

    fn store_config_tls(redis: &TestRedis) -> RedisConfig {
        RedisConfig::new(redis.url()).tls_root_certificates(redis.ca_pem())
    }

    #[test]
    fn tls_refuses_a_server_whose_ca_is_not_trusted() {
        let redis = TestRedis::start_tls().unwrap();
        let other = TestRedis::start_mutual_tls().unwrap();
        // The system's trust store, which does not have the test CA.
        let system = store(RedisConfig::new(redis.url()));
        let e = insert(&system, new_tag()).unwrap_err().to_string();
        assert!(e.contains(&format!("127.0.0.1:{}", redis.port())), "{e}");
        eprintln!("untrusted CA: {e}");
        // Another CA.
        let wrong = store(RedisConfig::new(redis.url()).tls_root_certificates(other.ca_pem()));
        assert!(insert(&wrong, new_tag()).is_err());
        assert!(block_on(wrong.ping()).is_err());
        // Plain Redis protocol to a TLS port.
        let plain = store_of(&redis.url().replace("rediss://", "redis://"));
        assert!(insert(&plain, new_tag()).is_err());
    }

    #[test]
    fn mutual_tls_needs_the_client_certificate() {
        let redis = TestRedis::start_mutual_tls().unwrap();
        let without = store(store_config_tls(&redis).timeout(Duration::from_millis(500)));
        let e = insert(&without, new_tag()).unwrap_err();
        eprintln!("without a client certificate: {e}");
        let (cert, key) = redis.client_certificate();
        let with = store(store_config_tls(&redis).tls_client_certificate(cert, key));
        let t = new_tag();
        assert_eq!(insert(&with, t).unwrap(), Inserted::Fresh);
        assert_eq!(insert(&with, t).unwrap(), Inserted::Seen);
    }

    #[test]
    fn configuration_errors() {
        let pem = TestRedis::start_tls().unwrap();
        let (ca, (cert, key)) = (pem.ca_pem(), pem.client_certificate());
        for url in [
            "",
            "localhost:6379",
            "http://localhost:6379",
            "redis+unix:///tmp/redis.sock",
            "redis://:secret@localhost:6379/not-a-number",
        ] {
            let e = config_error(RedisConfig::new(url));
            assert!(e.starts_with("Redis URL "), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        let e = config_error(RedisConfig::new("rediss://:secret@localhost/#insecure"));
        assert!(e.contains("#insecure"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e =
            config_error(RedisConfig::new("redis://localhost").tls_root_certificates(ca.clone()));
        assert!(e.contains("use rediss://"), "{e}");
        let e = config_error(
            RedisConfig::new("redis://localhost").tls_client_certificate(cert.clone(), key.clone()),
        );
        assert!(e.contains("use rediss://"), "{e}");
        let tls = || RedisConfig::new("rediss://localhost");
        let e = config_error(tls().tls_root_certificates("not PEM"));
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = config_error(tls().tls_root_certificates(
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        ));
        assert!(e.contains("tls_root_certificates"), "{e}");
        let e = config_error(tls().tls_client_certificate(cert.clone(), "no key"));
        assert!(e.contains("private key"), "{e}");
        let e = config_error(tls().tls_client_certificate(key.clone(), key.clone()));
        assert!(e.contains("tls_client_certificate"), "{e}");
        // The right ones.
        RedisStore::new(
            &tls()
                .tls_root_certificates(ca)
                .tls_client_certificate(cert, key),
        )
        .unwrap();
        RedisStore::new(&RedisConfig::new("redis://user:pw@localhost:1/3")).unwrap();

        // Debug hides the password and the key.
        let config = RedisConfig::new("rediss://user:secret@localhost:6380/2")
            .tls_client_certificate("CERT", "KEY");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("KEY"),
            "{debug}"
        );
        assert!(
            debug.contains("rediss://user:******@localhost:6380/2"),
            "{debug}"
        );
        let debug = format!("{:?}", RedisConfig::new("not a url :secret@x"));
        assert!(!debug.contains("secret"), "{debug}");
        let remote =
            RedisStore::new(&RedisConfig::new("rediss://:secret@localhost:6380/2")).unwrap();
        assert_eq!(
            remote.describe(),
            "Redis at localhost:6380 (database 2) (TLS), key prefix \"actix-gssapi:replay:\""
        );
    }

    /// Prints how many inserts a second one store gets through (`cargo test --release
    /// --features redis --lib replay::redis -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn throughput() {
        const INSERTS: usize = 20_000;
        const IN_FLIGHT: usize = 64;
        let redis = TestRedis::start().unwrap();
        for connections in [1, 2, 4] {
            let store = Arc::new(store(
                RedisConfig::new(redis.url()).connections(connections),
            ));
            block_on(store.ping()).unwrap();
            let start = StdInstant::now();
            let threads: Vec<_> = (0..IN_FLIGHT)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        for _ in 0..INSERTS / IN_FLIGHT {
                            assert_eq!(insert(&store, new_tag()).unwrap(), Inserted::Fresh);
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let took = start.elapsed();
            let done = INSERTS / IN_FLIGHT * IN_FLIGHT;
            eprintln!(
                "{connections} connection(s): {done} inserts, {IN_FLIGHT} in flight, in {took:?}: \
                 {:.0} a second",
                done as f64 / took.as_secs_f64()
            );
        }
    }
}
