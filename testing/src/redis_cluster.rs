//! A throwaway Redis Cluster of three masters, for tests of the replay store on a cluster.

use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::TestRedis;
use super::{check, free_port, require_tools};

/// How long a node may be unreachable before the others mark it failed. Low, so that tests
/// see a killed master (and its return) within a second or two; Redis' default is 15 s.
const NODE_TIMEOUT_MS: u32 = 1000;

/// A running Redis Cluster on 127.0.0.1: three masters (`redis-server --cluster-enabled yes`,
/// each a [`TestRedis`] on free ports with its files in a directory of its own, all with one
/// password) joined by `redis-cli --cluster create`, holding the 16384 hash slots between them.
/// No replicas: a master that is stopped takes its slots down with it (and, by Redis' default
/// `cluster-require-full-coverage yes`, the cluster refuses every write) until it is back.
/// Each node keeps an append-only file (`appendonly yes`, `appendfsync always`: a write is on
/// disk before it is answered), so a master that is stopped and started again comes back with
/// every key it acknowledged, as a production master with persistence would.
///
/// Needs `redis-server` and `redis-cli` (Debian/Ubuntu: `redis-server redis-tools`). Starts in
/// about a second; every node is stopped and its directory removed on drop.
///
/// ```no_run
/// use actix_gssapi::RedisConfig; // the `redis` feature
/// use actix_gssapi_testing::TestRedisCluster;
///
/// let mut cluster = TestRedisCluster::start().unwrap();
/// let config = RedisConfig::cluster(cluster.urls());
/// // ... build the middleware with `config`; `cluster.stop_node(0)` and
/// // `cluster.restart_node(0)` test what it does while a master is down.
/// ```
#[derive(Debug)]
pub struct TestRedisCluster {
    nodes: Vec<TestRedis>,
    password: String,
}

impl TestRedisCluster {
    /// Starts three masters and makes them a cluster; returns once every node says
    /// `cluster_state:ok`.
    ///
    /// # Errors
    /// When `redis-server` or `redis-cli` is missing, a node does not start, or the cluster is
    /// not ready within 20 seconds.
    pub fn start() -> io::Result<Self> {
        require_tools(&[
            ("redis-server", "redis-server"),
            ("redis-cli", "redis-tools"),
        ])?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let password = format!("cluster-{}-{nanos:x}", std::process::id());
        let mut nodes = Vec::new();
        for _ in 0..3 {
            // The cluster bus port defaults to the client port + 10000, which may be taken or
            // past 65535: a free port of its own.
            let bus_port = free_port()?.to_string();
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus_port,
                "--cluster-node-timeout",
                &NODE_TIMEOUT_MS.to_string(),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--masterauth",
                &password,
            ];
            nodes.push(TestRedis::start_with(
                &password,
                args.iter().map(|&a| a.to_owned()).collect(),
            )?);
        }
        let cluster = Self { nodes, password };
        let mut create = cluster.redis_cli(0);
        create.args(["--cluster", "create"]);
        create.args(
            cluster
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port())),
        );
        create.args(["--cluster-replicas", "0", "--cluster-yes"]);
        check(create.output()?, "redis-cli --cluster create")?;
        cluster.wait_until_ok(Duration::from_secs(20))?;
        Ok(cluster)
    }

    /// The nodes' URLs, `redis://:<password>@127.0.0.1:<port>`, for `RedisConfig::cluster`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(TestRedis::url).collect()
    }

    /// The nodes' password (`requirepass`, for Redis' `default` user).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Node `n`'s port on 127.0.0.1.
    ///
    /// # Panics
    /// When `n` is not 0, 1 or 2.
    pub fn port(&self, n: usize) -> u16 {
        self.nodes[n].port()
    }

    /// Stops master `n` (kills it and waits for it), as in a crash. Its slots cannot be
    /// written until [`restart_node`](Self::restart_node) brings it back.
    ///
    /// # Panics
    /// When `n` is not 0, 1 or 2.
    pub fn stop_node(&mut self, n: usize) {
        self.nodes[n].stop();
    }

    /// Starts master `n` again on its ports, with its cluster configuration and its
    /// append-only file (so with its keys), and waits until every node says
    /// `cluster_state:ok` (at most 20 seconds).
    ///
    /// # Errors
    /// When the node does not start or the cluster is not ready in time.
    ///
    /// # Panics
    /// When `n` is not 0, 1 or 2.
    pub fn restart_node(&mut self, n: usize) -> io::Result<()> {
        self.nodes[n].restart()?;
        self.wait_until_ok(Duration::from_secs(20))
    }

    /// Node `n`'s `CLUSTER INFO`: `cluster_state:ok`, `cluster_known_nodes:3`...
    ///
    /// # Errors
    /// When the node does not answer.
    ///
    /// # Panics
    /// When `n` is not 0, 1 or 2.
    pub fn cluster_info(&self, n: usize) -> io::Result<String> {
        let mut info = self.redis_cli(n);
        info.args(["CLUSTER", "INFO"]);
        check(info.output()?, "redis-cli CLUSTER INFO")
    }

    /// Waits until every running node says `cluster_state:ok` and knows the three.
    ///
    /// # Errors
    /// When that does not happen `within` (the error has the last `CLUSTER INFO`s).
    pub fn wait_until_ok(&self, within: Duration) -> io::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let infos: Vec<_> = (0..self.nodes.len())
                .filter(|&n| self.nodes[n].pid().is_some())
                .map(|n| self.cluster_info(n))
                .collect();
            let ok = |info: &io::Result<String>| {
                info.as_ref().is_ok_and(|info| {
                    info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
                })
            };
            if infos.iter().all(ok) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "the Redis Cluster is not ready after {within:?}: {infos:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis-cli` for node `n`, logged in.
    fn redis_cli(&self, n: usize) -> Command {
        let mut cli = Command::new("redis-cli");
        cli.args(["-h", "127.0.0.1", "-p", &self.nodes[n].port().to_string()])
            .arg("--no-auth-warning")
            .env("REDISCLI_AUTH", &self.password)
            .stdin(Stdio::null());
        cli
    }
}
