//! The benchmark server: `/` needs Kerberos, `/open` does not (through the auth-required
//! predicate), service name `HTTP@localhost`.
//!
//! ```sh
//! cargo run --release --example bench -- 127.0.0.1:8080
//! ```
//! Used by `tests/soak.rs` and `scripts/bench.sh`.

use actix_gssapi::{KerberosIdentity, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn hello(id: KerberosIdentity) -> String {
    format!("Hello, {}", id.principal())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let auth = SpnegoAuth::new()
        .hostname("localhost")
        .auth_required(|req| req.path() != "/open")
        .build()
        .map_err(std::io::Error::other)?;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(hello))
            .route("/open", web::get().to(|| async { "open" }))
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
