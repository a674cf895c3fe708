//! The forward-auth endpoint alone: `GET /auth` (any method) answers a proxy's sub-request
//! with `200` and `X-Remote-User: alice@EXAMPLE.COM`, `401 Negotiate`, or `403`.
//!
//! ```sh
//! SPNEGO_HOSTNAME=www.example.com cargo run --example forward_auth -- 127.0.0.1:8081
//! ```
//!
//! The service principal is `HTTP/<SPNEGO_HOSTNAME>` (the host name in the users' URL, which
//! is the proxy's), else the machine's host name. Keys from `KRB5_KTNAME` or
//! `/etc/krb5.keytab`. The nginx configuration is in the forward-auth guide
//! (`src/guide/forward_auth.md`). Logs go to stderr (`RUST_LOG`, default `info`).

use actix_gssapi::{Capacity, ForwardAuth, ServicePrincipal, SpnegoAuth};
use actix_web::{App, HttpServer};

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    // Every login comes from the proxy's address: one queue, no per-client turns.
    let mut auth = SpnegoAuth::builder().capacity(Capacity::new().login_queue_per_peer(None));
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build()?;
    let server = HttpServer::new(move || {
        App::new().service(ForwardAuth::new().service("/auth", auth.clone()))
    })
    .bind(&addr)?;
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
