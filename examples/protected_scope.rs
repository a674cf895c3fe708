//! Open routes beside a Kerberos-protected scope, and a route where login is optional.
//!
//! ```sh
//! cargo run --example protected_scope -- 127.0.0.1:8080
//! curl http://$(hostname):8080/                          # 200, open
//! curl http://$(hostname):8080/protected/me              # 401, WWW-Authenticate: Negotiate
//! curl --negotiate -u : http://$(hostname):8080/protected/me    # 200, alice@EXAMPLE.COM
//! curl http://$(hostname):8080/greeting                  # 200, Hello, stranger
//! curl --negotiate -u : http://$(hostname):8080/greeting        # 200, Hello, alice@EXAMPLE.COM
//! ```
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.

use actix_gssapi::{KerberosIdentity, SpnegoAuth};
use actix_web::http::Method;
use actix_web::{web, App, HttpServer};

async fn index() -> &'static str {
    "Open to everyone. Try /protected/me and /greeting.\n"
}

async fn me(id: KerberosIdentity) -> String {
    format!("{}\n", id.principal())
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

    let mut auth = SpnegoAuth::new();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.hostname(hostname);
    }
    let auth = auth
        // Only /protected/... needs a ticket. CORS preflights never carry credentials, so
        // they are let through too.
        .auth_required(|req| {
            req.method() != Method::OPTIONS && req.path().starts_with("/protected")
        })
        .build()
        .map_err(std::io::Error::other)?;

    let server = HttpServer::new(move || {
        App::new()
            // Wrapping the whole app (not only the scope) lets /greeting see identities too.
            .wrap(auth.clone())
            .route("/", web::get().to(index))
            .route("/greeting", web::get().to(greeting))
            .service(web::scope("/protected").route("/me", web::get().to(me)))
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
