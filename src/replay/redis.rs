//! The Redis replay store: one `SET key 1 NX EX ttl` per accepted token, so every node that
//! shares the server refuses a token another node already accepted.
//!
//! The connections live on a thread of the store's own, with a single-threaded tokio
//! runtime: any executor (every actix worker, a test's) can await an insert, and no worker's
//! runtime owns a socket. Each connection is multiplexed (inserts are pipelined on it) and
//! made on first use; one that fails is dropped and made again by the next insert that needs
//! it, so the store recovers by itself when Redis comes back.
//!
//! On a Redis Cluster a connection is the redis crate's cluster connection, which sends each
//! command to the master of its key's hash slot. `SET NX` is atomic per key, and a tag is one
//! key, so a cluster decides each token as one server does: replay protection never needs two
//! keys at once (no multi-key command, no transaction, no hash tag to keep keys together).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use ::redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisResult,
    TlsCertificates, Value,
};
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
/// balancer) must refuse a token any of them has accepted: a Redis server they all use
/// ([`new`](Self::new)), or a Redis Cluster ([`cluster`](Self::cluster)). Needs the `redis`
/// feature.
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
    /// One URL for a server; the seed nodes' for a cluster.
    urls: Vec<String>,
    cluster: bool,
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
        Self::with_urls(vec![url.into()], false)
    }

    /// A Redis Cluster, by the URLs of some of its nodes (the seeds; the client learns the
    /// others, and which node holds which keys, from them): each as in [`new`](Self::new),
    /// all with the same scheme (`redis://` or `rediss://`), user and password, and no
    /// database but 0 (the only one a cluster has). Name more than one node, so that the
    /// store can start while one of them is down. The other settings are those of a single
    /// server; [`tls_root_certificates`](Self::tls_root_certificates) and
    /// [`tls_client_certificate`](Self::tls_client_certificate) apply to every node.
    ///
    /// Each accepted token is one `SET <prefix><tag> 1 NX EX <seconds>` on the master that
    /// holds the key's hash slot: keys spread over the masters (unless the
    /// [prefix](Self::key_prefix) holds a `{hash tag}`, which would put them all on one), and
    /// an insert needs only the master of its slot. When that master cannot answer (it died
    /// and no replica has taken over yet), the login is refused with `503` as with a single
    /// server; the store follows the cluster's new layout by itself.
    ///
    /// The URLs are checked when the middleware is built, not here.
    ///
    /// ```no_run
    /// use actix_gssapi::RedisConfig;
    ///
    /// let redis = RedisConfig::cluster([
    ///     "rediss://:PASSWORD@redis-1.example.com:6380",
    ///     "rediss://:PASSWORD@redis-2.example.com:6380",
    ///     "rediss://:PASSWORD@redis-3.example.com:6380",
    /// ]);
    /// ```
    pub fn cluster<U: Into<String>>(urls: impl IntoIterator<Item = U>) -> Self {
        Self::with_urls(urls.into_iter().map(Into::into).collect(), true)
    }

    fn with_urls(urls: Vec<String>, cluster: bool) -> Self {
        Self {
            urls,
            cluster,
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

    /// How many connections to keep to Redis (default 2, at least 1), used in turn; to a
    /// cluster, each is one connection to every master it uses. Each
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
        let mut d = f.debug_struct("RedisConfig");
        if self.cluster {
            let urls: Vec<_> = self.urls.iter().map(|url| redacted_url(url)).collect();
            d.field("cluster", &urls);
        } else {
            let url = self.urls.first().map_or("", String::as_str);
            d.field("url", &redacted_url(url));
        }
        d.field("key_prefix", &self.key_prefix)
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
    backend: Backend,
    /// `Redis at host:port` or `Redis Cluster at host:port, ...`, for messages.
    server: Arc<str>,
    tls: bool,
    db: i64,
    prefix: String,
    timeout: Duration,
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

/// What the store connects to.
// One per store, made once: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Server(Client),
    Cluster(ClusterClient),
}

/// A connection to the server, or to the masters of the cluster (the redis crate's cluster
/// connection: one multiplexed connection per node, routing each key to its slot's master and
/// following the cluster when slots move).
#[derive(Clone)]
enum Connection {
    Server(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Connection {
    async fn query(&mut self, cmd: &::redis::Cmd) -> RedisResult<Value> {
        match self {
            Self::Server(connection) => cmd.query_async(connection).await,
            Self::Cluster(connection) => cmd.query_async(connection).await,
        }
    }
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
    connection: Option<(u64, Connection)>,
    generation: u64,
    /// When the last attempt to connect failed, and why.
    failed: Option<(Instant, String)>,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Option<(u64, Connection)> {
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
        let (backend, server, tls, db) = backend(config)?;
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
            backend,
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
                Ok(()) => log::info!("replay store: {server} answers"),
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
                    format!("{server}: the store is shut down")
                } else {
                    format!("{server}: the store's task failed: {e}")
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
            "{}{}{}, key prefix {:?}",
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
        // Atomic per key, on a server or on the master of the key's slot: of all the SETs of
        // one tag, from every node, exactly one finds the key absent.
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
        let reply = tokio::time::timeout_at(deadline, connection.query(&cmd));
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
    async fn connection(&self, n: usize) -> Result<(u64, Connection), String> {
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
        let result = match &self.backend {
            Backend::Server(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Server)
            }
            // Connects to every seed that answers (one is enough) and asks for the slots.
            Backend::Cluster(client) => {
                client.get_async_connection().await.map(Connection::Cluster)
            }
        };
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
        StoreError::new(format!("{}: {cause}", self.server))
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

/// One node's URL, checked.
struct Node {
    info: ConnectionInfo,
    /// `host:port`, for messages.
    server: String,
    tls: bool,
    db: i64,
    /// The URL with its password hidden, for messages.
    shown: String,
}

fn url_error(shown: &str, why: &str) -> Error {
    config_error(format!("Redis URL {shown}: {why}"))
}

fn node(url: &str) -> Result<Node, Error> {
    let shown = redacted_url(url);
    let bad = |why: &str| url_error(&shown, why);
    let url = ::redis::parse_redis_url(url).ok_or_else(|| {
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
    Ok(Node {
        info,
        server,
        tls,
        db,
        shown,
    })
}

/// The client for `config`; what it connects to, for messages (`Redis at host:port`, `Redis
/// Cluster at host:port, ...`); whether it uses TLS; its database.
fn backend(config: &RedisConfig) -> Result<(Backend, Arc<str>, bool, i64), Error> {
    let mut nodes = config
        .urls
        .iter()
        .map(|url| node(url))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = nodes.first() else {
        return Err(config_error(
            "RedisConfig::cluster: no node URL (name at least one of the cluster's nodes)",
        ));
    };
    let (tls, first_shown) = (first.tls, first.shown.clone());
    if let Some(other) = nodes.iter().find(|node| node.tls != tls) {
        return Err(url_error(
            &other.shown,
            &format!(
                "every node of a cluster uses TLS (rediss://) or none does (redis://), and \
                 {first_shown} does not use what this one does"
            ),
        ));
    }
    let has_certificates =
        config.root_certificates.is_some() || config.client_certificate.is_some();
    if has_certificates && !tls {
        return Err(url_error(
            &first_shown,
            "TLS certificates are configured but the URL is redis:// (no TLS); use rediss://",
        ));
    }
    let certificates = if tls {
        install_crypto_provider();
        tls_certificates(config)?
    } else {
        None
    };
    if !config.cluster {
        let node = nodes.remove(0);
        let client = match certificates {
            None => Client::open(node.info),
            Some(certificates) => Client::build_with_tls(node.info, certificates),
        }
        .map_err(|e| url_error(&node.shown, &e.to_string()))?;
        let server = format!("Redis at {}", node.server);
        return Ok((Backend::Server(client), server.into(), tls, node.db));
    }
    let first = &nodes[0];
    for node in &nodes {
        if node.db != 0 {
            return Err(url_error(
                &node.shown,
                "a Redis Cluster has only database 0; remove the /db from the URL",
            ));
        }
        // The cluster client logs in to every node, the seeds and those it learns of, as the
        // first seed does.
        let settings = |node: &Node| {
            let redis = node.info.redis_settings();
            (
                redis.username().map(str::to_owned),
                redis.password().map(str::to_owned),
            )
        };
        if settings(node) != settings(first) {
            return Err(url_error(
                &node.shown,
                &format!(
                    "every node of a cluster needs the same user and password, and {} has \
                     others",
                    first.shown
                ),
            ));
        }
    }
    let servers: Vec<&str> = nodes.iter().map(|node| node.server.as_str()).collect();
    let server = format!("Redis Cluster at {}", servers.join(", "));
    // The cluster client retries a command whose connection failed (within the timeout, which
    // bounds every insert anyway). A retried `SET NX` that had been applied finds its own key
    // and answers "seen": a first use refused, never a token let in twice.
    let mut builder = ClusterClient::builder(nodes.iter().map(|node| node.info.clone()))
        .connection_timeout(config.timeout)
        .response_timeout(config.timeout);
    if let Some(certificates) = certificates {
        builder = builder.certs(certificates);
    }
    let client = builder
        .build()
        .map_err(|e| config_error(format!("{server}: {e}")))?;
    Ok((Backend::Cluster(client), server.into(), tls, 0))
}

/// The certificates the TLS connections use besides the system's trust store, checked; `None`
/// when none are configured.
fn tls_certificates(config: &RedisConfig) -> Result<Option<TlsCertificates>, Error> {
    if config.root_certificates.is_none() && config.client_certificate.is_none() {
        return Ok(None);
    }
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
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
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
    use actix_gssapi_testing::{TestRedis, TestRedisCluster};
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
        assert_one_of_sixteen_is_fresh(&nodes);
    }

    /// Ten tags, each inserted 16 times at once alternately through `nodes`: each is fresh
    /// exactly once.
    fn assert_one_of_sixteen_is_fresh(nodes: &[Arc<RedisStore>; 2]) {
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

    /// The keys of a cluster store spread over the masters; each tag is fresh once, from any
    /// node; the description names the seeds and hides the password.
    #[test]
    fn a_cluster_shares_tags_and_spreads_them_over_the_masters() {
        let cluster = TestRedisCluster::start().unwrap();
        let nodes = [
            store(RedisConfig::cluster(cluster.urls())),
            store(RedisConfig::cluster(cluster.urls().into_iter().rev())),
        ];
        block_on(nodes[0].ping()).unwrap();
        for n in 0..30 {
            let t = new_tag();
            assert_eq!(insert(&nodes[n % 2], t).unwrap(), Inserted::Fresh);
            assert_eq!(insert(&nodes[(n + 1) % 2], t).unwrap(), Inserted::Seen);
            assert_eq!(insert(&nodes[n % 2], t).unwrap(), Inserted::Seen);
        }
        for n in 0..3 {
            let info = cluster.cluster_info(n).unwrap();
            assert!(info.contains("cluster_state:ok"), "{info}");
            let keys: usize = cluster_cli(&cluster, n, &["DBSIZE"]).parse().unwrap();
            assert!(keys > 0, "master {n} holds none of the 30 keys");
        }
        let described = nodes[0].describe();
        let seeds: Vec<_> = (0..3)
            .map(|n| format!("127.0.0.1:{}", cluster.port(n)))
            .collect();
        assert_eq!(
            described,
            format!(
                "Redis Cluster at {}, key prefix \"actix-gssapi:replay:\"",
                seeds.join(", ")
            )
        );
        assert!(!described.contains(cluster.password()));
    }

    /// What master `n` answers to `command`.
    fn cluster_cli(cluster: &TestRedisCluster, n: usize, command: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &cluster.port(n).to_string(), "--no-auth-warning"])
            .env("REDISCLI_AUTH", cluster.password())
            .args(command)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn concurrent_inserts_on_a_cluster_let_exactly_one_through() {
        let cluster = TestRedisCluster::start().unwrap();
        let nodes = [
            Arc::new(store(RedisConfig::cluster(cluster.urls()))),
            Arc::new(store(RedisConfig::cluster(cluster.urls()).connections(3))),
        ];
        assert_one_of_sixteen_is_fresh(&nodes);
    }

    /// A master killed: inserts fail within the timeout (the cluster refuses writes while a
    /// slot has no master), never answer `Fresh` for a tag inserted before; once it is back
    /// (with its append-only file) they succeed again, with nothing done to the store, and
    /// the tags inserted before are still seen.
    #[test]
    fn a_cluster_store_recovers_by_itself_when_a_master_comes_back() {
        let timeout = Duration::from_millis(500);
        let mut cluster = TestRedisCluster::start().unwrap();
        let store = store(RedisConfig::cluster(cluster.urls()).timeout(timeout));
        let before: Vec<_> = (0..30).map(|_| new_tag()).collect();
        for &t in &before {
            assert_eq!(insert(&store, t).unwrap(), Inserted::Fresh);
        }
        cluster.stop_node(0);
        let start = StdInstant::now();
        let mut errors = 0;
        while start.elapsed() < Duration::from_secs(3) {
            let t0 = StdInstant::now();
            match insert(&store, before[errors % before.len()]) {
                Ok(inserted) => assert_eq!(inserted, Inserted::Seen),
                Err(e) => {
                    assert!(e.to_string().starts_with("Redis Cluster at "), "{e}");
                    assert!(!e.to_string().contains(cluster.password()), "{e}");
                    errors += 1;
                }
            }
            let took = t0.elapsed();
            assert!(took < timeout + Duration::from_millis(200), "{took:?}");
        }
        assert!(errors > 0, "no insert failed with a master down");
        cluster.restart_node(0).unwrap();
        let start = StdInstant::now();
        loop {
            match insert(&store, new_tag()) {
                Ok(inserted) => {
                    assert_eq!(inserted, Inserted::Fresh);
                    break;
                }
                Err(e) => {
                    assert!(start.elapsed() < Duration::from_secs(10), "not back: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        eprintln!("back {:?} after the cluster was ok again", start.elapsed());
        for &t in &before {
            assert_eq!(insert(&store, t).unwrap(), Inserted::Seen);
        }
    }

    #[test]
    fn cluster_configuration_errors() {
        let no_seed: [&str; 0] = [];
        let e = config_error(RedisConfig::cluster(no_seed));
        assert!(e.contains("no node URL"), "{e}");
        let one = "redis://:secret@a:7000";
        for (urls, expected) in [
            (
                vec![one, "rediss://:secret@b:7000"],
                "TLS (rediss://) or none",
            ),
            (vec!["redis://:secret@a:7000/1"], "only database 0"),
            (
                vec![one, "redis://:hunter2@b:7000"],
                "same user and password",
            ),
            (
                vec!["redis://u:secret@a:7000", one],
                "same user and password",
            ),
            (vec![one, "b:7000"], "not a Redis URL"),
        ] {
            let e = config_error(RedisConfig::cluster(urls));
            assert!(e.starts_with("Redis URL ") && e.contains(expected), "{e}");
            assert!(!e.contains("secret") && !e.contains("hunter2"), "{e}");
        }
        let e = config_error(RedisConfig::cluster([one]).tls_root_certificates("x"));
        assert!(e.contains("use rediss://") && !e.contains("secret"), "{e}");
        let config = RedisConfig::cluster(["rediss://:secret@a:7000", "rediss://:secret@b:7001"]);
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(
            debug.contains("cluster: [\"rediss://:******@a:7000\""),
            "{debug}"
        );
        assert_eq!(
            RedisStore::new(&config).unwrap().describe(),
            "Redis Cluster at a:7000, b:7001 (TLS), key prefix \"actix-gssapi:replay:\""
        );
    }

    /// Prints the latency of one insert at a time (p50, p99) and the inserts a second with 64
    /// in flight, on one Redis server and on a cluster of three masters, each without
    /// persistence and with `appendfsync always` (as `TestRedisCluster` runs its nodes), in
    /// the same run (`cargo test --release --features redis --lib
    /// replay::redis::tests::cluster_insert_latency -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn cluster_insert_latency() {
        const INSERTS: usize = 5_000;
        const IN_FLIGHT: usize = 64;
        let redis = TestRedis::start().unwrap();
        let cluster = TestRedisCluster::start().unwrap();
        let fsync = |on: bool| {
            let config: &[&str] = if on {
                &[
                    "CONFIG",
                    "SET",
                    "appendonly",
                    "yes",
                    "appendfsync",
                    "always",
                ]
            } else {
                &["CONFIG", "SET", "appendonly", "no"]
            };
            assert_eq!(redis.command(config).unwrap(), "+OK");
            for n in 0..3 {
                assert_eq!(cluster_cli(&cluster, n, config), "OK");
            }
        };
        let server = || RedisConfig::new(redis.url());
        let three = || RedisConfig::cluster(cluster.urls());
        for (what, config, persist) in [
            ("one Redis server", server(), false),
            ("Redis Cluster, 3 masters", three(), false),
            ("one Redis server, fsync always", server(), true),
            ("Redis Cluster, 3 masters, fsync always", three(), true),
        ] {
            fsync(persist);
            let store = Arc::new(store(config));
            block_on(store.ping()).unwrap();
            let mut took: Vec<Duration> = (0..INSERTS)
                .map(|_| {
                    let start = StdInstant::now();
                    assert_eq!(insert(&store, new_tag()).unwrap(), Inserted::Fresh);
                    start.elapsed()
                })
                .collect();
            took.sort();
            let rate = inserts_per_second(&store, INSERTS, IN_FLIGHT);
            eprintln!(
                "{what}: one at a time p50 {:?} p99 {:?}; {IN_FLIGHT} in flight {rate:.0} a second",
                took[INSERTS / 2],
                took[INSERTS * 99 / 100],
            );
        }
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
            let rate = inserts_per_second(&store, INSERTS, IN_FLIGHT);
            eprintln!(
                "{connections} connection(s): {INSERTS} inserts, {IN_FLIGHT} in flight: \
                 {rate:.0} a second"
            );
        }
    }

    /// Makes `inserts` fresh inserts (rounded down to a multiple of `in_flight`) from
    /// `in_flight` threads at once; returns how many a second.
    fn inserts_per_second(store: &Arc<RedisStore>, inserts: usize, in_flight: usize) -> f64 {
        let start = StdInstant::now();
        let threads: Vec<_> = (0..in_flight)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..inserts / in_flight {
                        assert_eq!(insert(&store, new_tag()).unwrap(), Inserted::Fresh);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        (inserts / in_flight * in_flight) as f64 / start.elapsed().as_secs_f64()
    }
}
