//! A small HTTP/1.1 load generator for the soak test and the benchmark
//! (`harness/benchmark.rs` includes this file): keep-alive connections on one thread, with
//! fresh single-use Negotiate tokens made beforehand so that token generation is not measured.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_gssapi_testing::Negotiation;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One pre-made `Authorization` value and the body the server must answer it with.
pub struct Token {
    pub header: String,
    pub expect: String,
}

/// A user whose tickets make tokens: `(principal, ccache)`.
pub type User = (String, PathBuf);

/// Makes `count` fresh tokens for `service`, users interleaved (token i is user i mod n), on
/// `threads` threads.
pub fn make_tokens(
    users: &[User],
    service: &str,
    count: usize,
    threads: usize,
) -> io::Result<Vec<Token>> {
    let threads = threads.max(1);
    let chunks: Vec<_> = (0..threads)
        .map(|t| {
            let users = users.to_vec();
            let service = service.to_owned();
            std::thread::spawn(move || -> io::Result<Vec<(usize, Token)>> {
                let mut out = Vec::new();
                for i in (t..count).step_by(threads) {
                    let (principal, ccache) = &users[i % users.len()];
                    let header = Negotiation::start(ccache, &service)?.header().to_owned();
                    out.push((
                        i,
                        Token {
                            header,
                            expect: format!("Hello, {principal}"),
                        },
                    ));
                }
                Ok(out)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for chunk in chunks {
        all.extend(
            chunk
                .join()
                .map_err(|_| io::Error::other("token thread panicked"))??,
        );
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub requests: usize,
    pub statuses: BTreeMap<u16, usize>,
    /// Responses whose body was not the one expected for their token (identity cross-talk).
    pub mismatched: usize,
    /// Connection errors (reconnected).
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// What each request carries besides the request line and `Host`.
#[derive(Clone)]
pub enum Credentials {
    /// Nothing.
    None,
    /// Request i carries token i, and its body must be the token's `expect`.
    Tokens(Arc<Vec<Token>>),
    /// The same extra header line on every request (e.g. `Cookie: s=...`).
    Header(Arc<str>),
}

/// Sends `requests` GETs of `path` over `connections` keep-alive connections, with `tokens`
/// as the Authorization of request i (when given). Stops early at `deadline`.
pub fn run(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    requests: usize,
    tokens: Option<Arc<Vec<Token>>>,
    deadline: Duration,
) -> Report {
    let credentials = tokens.map_or(Credentials::None, Credentials::Tokens);
    run_with(addr, path, connections, requests, credentials, deadline)
}

/// Like [`run`], with any [`Credentials`].
pub fn run_with(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    requests: usize,
    credentials: Credentials,
    deadline: Duration,
) -> Report {
    // All connections on one thread with non-blocking sockets (tokio, current-thread): the
    // generator shares the machine's cores with the server it measures, and one thread per
    // connection cost it far more CPU in context switches.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let (next, credentials) = (&next, &credentials);
    let workers = (0..connections.max(1)).map(|_| async move {
        let mut mine = Report::default();
        let mut conn: Option<Conn> = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= requests || started.elapsed() > deadline {
                break;
            }
            let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
            let token = match credentials {
                Credentials::Tokens(tokens) => {
                    let t = &tokens[i];
                    request.push_str("Authorization: ");
                    request.push_str(&t.header);
                    request.push_str("\r\n");
                    Some(t)
                }
                Credentials::Header(line) => {
                    request.push_str(line);
                    request.push_str("\r\n");
                    None
                }
                Credentials::None => None,
            };
            request.push_str("\r\n");
            let sent = Instant::now();
            let reused = conn.is_some();
            let mut answer = match conn.take() {
                Some(c) => c.exchange(request.as_bytes()).await,
                None => Conn::exchange_new(addr, request.as_bytes()).await,
            };
            if answer.is_err() && reused {
                // The server closed an idle keep-alive connection before reading the request
                // (Apache's event MPM does under load): send it again, as HTTP clients do. A
                // token the server had consumed would now answer 403.
                answer = Conn::exchange_new(addr, request.as_bytes()).await;
            }
            match answer {
                Ok((c, status, body, keep_alive)) => {
                    // A server that says `Connection: close` gets a fresh connection.
                    conn = keep_alive.then_some(c);
                    mine.latencies_us
                        .push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    mine.requests += 1;
                    *mine.statuses.entry(status).or_default() += 1;
                    if let Some(t) = token {
                        if status == 200 && body != t.expect.as_bytes() {
                            mine.mismatched += 1;
                        }
                    }
                }
                Err(_) => mine.errors += 1,
            }
        }
        mine
    });
    let reports = runtime.block_on(futures_util::future::join_all(workers));
    let mut report = Report::default();
    for mine in reports {
        report.requests += mine.requests;
        report.errors += mine.errors;
        report.mismatched += mine.mismatched;
        for (s, n) in mine.statuses {
            *report.statuses.entry(s).or_default() += n;
        }
        report.latencies_us.extend(mine.latencies_us);
    }
    report.elapsed = started.elapsed();
    report.latencies_us.sort_unstable();
    report
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

type Answer = (Conn, u16, Vec<u8>, bool);

impl Conn {
    async fn exchange_new(addr: SocketAddr, request: &[u8]) -> io::Result<Answer> {
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))??;
        stream.set_nodelay(true)?;
        Self {
            stream,
            buf: Vec::with_capacity(4096),
        }
        .exchange(request)
        .await
    }

    /// Writes one request, reads one response: (the connection, status, body, whether the
    /// connection stays open).
    async fn exchange(mut self, request: &[u8]) -> io::Result<Answer> {
        tokio::time::timeout(Duration::from_secs(30), self.exchange_inner(request))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "response"))?
            .map(|(status, body, keep_alive)| (self, status, body, keep_alive))
    }

    async fn exchange_inner(&mut self, request: &[u8]) -> io::Result<(u16, Vec<u8>, bool)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("bad status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let keep_alive = !head.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
            })
        });
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((status, body, keep_alive))
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
