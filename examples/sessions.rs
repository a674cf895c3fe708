//! Session cookies: one Negotiate login, then an encrypted cookie authenticates the requests
//! that follow, without GSSAPI. Every node that shares the key accepts the cookie.
//!
//! ```sh
//! head -c 64 /dev/urandom > session.key     # the same file on every node
//! SESSION_KEY_FILE=session.key cargo run --example sessions -- 127.0.0.1:8080
//! curl --negotiate -u : -c jar http://www.example.com:8080/   # logs in, stores the cookie
//! curl -b jar http://www.example.com:8080/                    # the cookie alone is enough
//! ```
//!
//! The cookie is `Secure` by default, so browsers only send it back over HTTPS.

use std::time::Duration;

use actix_gssapi::{KerberosIdentity, Key, ServicePrincipal, SessionCookie, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn hello(id: KerberosIdentity) -> String {
    let how = if id.is_from_session_cookie() {
        "session cookie"
    } else {
        "Kerberos ticket"
    };
    format!("Hello, {} (by {how})\n", id.principal())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let key = match std::env::var_os("SESSION_KEY_FILE") {
        Some(path) => {
            let bytes = std::fs::read(&path)?;
            // Key::from panics on fewer than 64 bytes; try_from says so.
            Key::try_from(&bytes[..]).map_err(|e| {
                std::io::Error::other(format!("session key {}: {e}", path.to_string_lossy()))
            })?
        }
        None => {
            eprintln!("SESSION_KEY_FILE not set: using a random key, valid until restart");
            Key::generate()
        }
    };
    let host = std::env::var("SPNEGO_HOSTNAME").unwrap_or_else(|_| "www.example.com".to_owned());
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host(host))
        .session_cookie(
            SessionCookie::new(key) // 64 bytes or more from your secret store
                .max_age(Duration::from_secs(15 * 60)),
        )
        .build()
        .map_err(std::io::Error::other)?;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(hello))
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
