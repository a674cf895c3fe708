//! The benchmark server: `/` needs Kerberos (the middleware wraps that resource), `/open` does
//! not, service name `HTTP@localhost`.
//!
//! ```sh
//! cargo run --release --example bench -- 127.0.0.1:8080
//! ```
//! `BENCH_ACCEPT_THREADS=N` sets [`Capacity::accept_threads`],
//! `BENCH_LOGIN_QUEUE_PER_PEER=N` [`Capacity::login_queue_per_peer`],
//! `BENCH_MAX_CONNECTIONS=N` actix-web's `HttpServer::max_connections` (per worker; default
//! actix-web's 25,000). With `BENCH_SESSIONS=1` it
//! also issues session cookies (a key generated at start-up, and no `Secure` flag, since the
//! load generator speaks plain HTTP: for measuring only). `REPLAY_STORE` picks the
//! [`ReplayProtection`]: unset or `memory` for the in-process store (the crate's default),
//! `mit` for MIT's file cache (what Apache's mod_auth_gssapi uses), `redis://HOST:PORT/` or
//! `rediss://...` (needs the `redis` feature). Used by
//! `tests/soak.rs` and `harness/benchmark.rs`.

use actix_gssapi::{
    Capacity, KerberosIdentity, Key, ReplayProtection, ServicePrincipal, SessionCookie, SpnegoAuth,
};
use actix_web::{web, App, HttpServer};

async fn hello(id: KerberosIdentity) -> String {
    format!("Hello, {}", id.principal())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let mut capacity = Capacity::new();
    if let Some(n) = std::env::var("BENCH_ACCEPT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        capacity = capacity.accept_threads(n);
    }
    if let Some(n) = std::env::var("BENCH_LOGIN_QUEUE_PER_PEER")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        capacity = capacity.login_queue_per_peer(Some(n));
    }
    let mut auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .capacity(capacity);
    if std::env::var_os("BENCH_SESSIONS").is_some_and(|v| v == "1") {
        auth = auth.session_cookie(SessionCookie::new(Key::generate()).secure(false));
    }
    auth = auth.replay_protection(replay_store()?);
    let auth = auth.build().map_err(std::io::Error::other)?;
    let max_connections = std::env::var("BENCH_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    let server = HttpServer::new(move || {
        App::new()
            .service(
                web::resource("/")
                    .wrap(auth.clone())
                    .route(web::get().to(hello)),
            )
            .route("/open", web::get().to(|| async { "open" }))
    })
    .max_connections(max_connections)
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}

/// The replay store `REPLAY_STORE` names.
fn replay_store() -> std::io::Result<ReplayProtection> {
    let store = std::env::var("REPLAY_STORE").unwrap_or_default();
    match store.as_str() {
        // The crate's default, as users get it.
        "" | "memory" => Ok(ReplayProtection::in_memory()),
        "mit" => Ok(ReplayProtection::mit_file_cache()),
        #[cfg(feature = "redis")]
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Ok(ReplayProtection::redis(actix_gssapi::RedisConfig::new(url)))
        }
        other => Err(std::io::Error::other(format!(
            "REPLAY_STORE={other:?}: expected nothing or memory (the in-process default), mit \
             (MIT's file cache), or a redis:// or rediss:// URL (with the redis feature)"
        ))),
    }
}
