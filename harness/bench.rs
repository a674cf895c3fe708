//! The benchmark server: `/` needs Kerberos (the middleware wraps that resource), `/open` does
//! not, service name `HTTP@localhost`.
//!
//! ```sh
//! cargo run --release --example bench -- 127.0.0.1:8080
//! ```
//! `BENCH_ROLE=forward_auth` serves instead the forward-auth endpoint at `/auth` as the
//! forward-auth guide sets it up (`ForwardAuth`, one login queue for the proxy's address), for
//! nginx's `auth_request`; `BENCH_ROLE=upstream` the application behind a proxy, with no
//! Kerberos: every path answers `Hello, <X-Remote-User>`, or `400` without exactly one
//! non-empty `X-Remote-User`. `scripts/bench.sh --front` starts both.
//!
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
    Capacity, ForwardAuth, KerberosIdentity, Key, ReplayProtection, ServicePrincipal,
    SessionCookie, SpnegoAuth,
};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

async fn hello(id: KerberosIdentity) -> String {
    format!("Hello, {}", id.principal())
}

/// The application behind a proxy: greets the user the proxy says.
async fn upstream(req: HttpRequest) -> HttpResponse {
    let mut users = req.headers().get_all("x-remote-user");
    match (users.next().map(|v| v.to_str()), users.next()) {
        (Some(Ok(user)), None) if !user.is_empty() => {
            HttpResponse::Ok().body(format!("Hello, {user}"))
        }
        _ => HttpResponse::BadRequest().body("expected one X-Remote-User"),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let role = std::env::var("BENCH_ROLE").unwrap_or_default();
    let max_connections = std::env::var("BENCH_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    if role == "upstream" {
        let server = HttpServer::new(|| App::new().default_service(web::to(upstream)))
            .max_connections(max_connections)
            .bind(&addr)?;
        println!("listening on http://{}", server.addrs()[0]);
        return server.run().await;
    }
    let forward_auth = match role.as_str() {
        "" => false,
        "forward_auth" => true,
        other => {
            return Err(std::io::Error::other(format!(
                "BENCH_ROLE={other:?}: expected nothing, forward_auth or upstream"
            )))
        }
    };
    let mut capacity = Capacity::new();
    if forward_auth {
        // As the forward-auth guide: every login comes from the proxy's address.
        capacity = capacity.login_queue_per_peer(None);
    }
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
    let mut auth = SpnegoAuth::builder().principal(ServicePrincipal::host("localhost"));
    if std::env::var_os("BENCH_SESSIONS").is_some_and(|v| v == "1") {
        auth = auth.session_cookie(SessionCookie::new(Key::generate()).secure(false));
    }
    auth = auth.replay_protection(replay_store()?);
    let auth = auth
        .capacity(capacity)
        .build()
        .map_err(std::io::Error::other)?;
    let server = HttpServer::new(move || {
        if forward_auth {
            return App::new().service(ForwardAuth::new().service("/auth", auth.clone()));
        }
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
