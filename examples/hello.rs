//! Every request needs Kerberos; the answer is `Hello, <principal>`.
//!
//! ```sh
//! # keys for HTTP/<this host> in /etc/krb5.keytab, or point KRB5_KTNAME at a keytab
//! cargo run --example hello -- 127.0.0.1:8080
//! kinit alice && curl --negotiate -u : http://$(hostname):8080/
//! ```
//!
//! The service principal is `HTTP/<machine host name>` unless `SPNEGO_HOSTNAME` says
//! otherwise: `SPNEGO_HOSTNAME=localhost` for `HTTP/localhost` (an empty value is refused at
//! start-up). Logs go to stderr (`RUST_LOG`, default `info`).

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn hello(id: KerberosIdentity) -> String {
    format!("Hello, {}", id.principal())
}

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
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());

    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        // An empty name fails in build(): it never widens to every key in the keytab.
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    // Acquire the acceptor credential now, so that a missing keytab or key stops the server
    // here with a message naming both, instead of failing each request.
    let auth = auth.build()?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(hello))
    })
    .bind(&addr)?;
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
