//! Open routes beside a Kerberos-protected scope, and a route where login is optional.
//!
//! ```sh
//! cargo run --example protected_scope -- 127.0.0.1:8080
//! curl http://$(hostname):8080/                               # 200, open
//! curl http://$(hostname):8080/protected/me                   # 401, WWW-Authenticate: Negotiate
//! curl --negotiate -u : http://$(hostname):8080/protected/me  # 200, alice@EXAMPLE.COM
//! curl http://$(hostname):8080/protected/report               # 401, however the path is spelled
//! curl http://$(hostname):8080/greeting                       # 200, Hello, stranger
//! curl --negotiate -u : http://$(hostname):8080/greeting      # 200, Hello, alice@EXAMPLE.COM
//! ```
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn index() -> &'static str {
    "Open to everyone. Try /protected/me and /greeting.\n"
}

async fn me(id: KerberosIdentity) -> String {
    format!("{}\n", id.principal())
}

/// Takes no identity at all, like a static file: only the scope's `SpnegoAuth` protects it.
async fn report() -> &'static str {
    "Quarterly report: for logged-in users only.\n"
}

/// Optional authentication: `curl` without `--negotiate` is never challenged here, but one
/// that sends a token is identified.
async fn greeting(id: Option<KerberosIdentity>) -> String {
    match id {
        Some(id) => format!("Hello, {}\n", id.principal()),
        None => "Hello, stranger\n".to_owned(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());

    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build().map_err(std::io::Error::other)?;

    let server = HttpServer::new(move || {
        App::new()
            // Outside the scope, login is optional: /greeting sees who is calling, if anyone.
            .wrap(auth.clone().optional())
            .route("/", web::get().to(index))
            .route("/greeting", web::get().to(greeting))
            // The scope's own SpnegoAuth runs after routing: whatever spelling of the path
            // reached this scope (`/%70rotected`, `//`), it needs a login. It uses the
            // identity the outer one established; a token is never accepted twice.
            .service(
                web::scope("/protected")
                    .wrap(auth.clone())
                    .route("/me", web::get().to(me))
                    .route("/report", web::get().to(report)),
            )
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
