//! Your own 401 and 403 answers: other texts under `/text`, JSON under `/api`.
//!
//! ```sh
//! cargo run --example custom_responses -- 127.0.0.1:8080
//! curl -i http://$(hostname):8080/text/                  # 401, "Log in to the realm first"
//! curl -i http://$(hostname):8080/api/                   # 401, {"error":"unauthorized",...}
//! curl -i -H 'Authorization: Negotiate AAAA' http://$(hostname):8080/api/   # 403, JSON
//! curl --negotiate -u : http://$(hostname):8080/api/     # 200, {"principal":"alice@..."}
//! ```
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.

use actix_gssapi::{KerberosIdentity, Responses, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpResponse, HttpServer};

/// Custom texts: still `text/plain; charset=utf-8`, and the 401 still carries
/// `WWW-Authenticate: Negotiate`.
fn text_responses() -> Responses {
    Responses::new()
        .unauthorized("Log in to the realm first (kinit), then retry with Kerberos.\n")
        .forbidden("Your Kerberos ticket was not accepted.\n")
}

/// Whole responses: any status, headers and body. A 401 without `WWW-Authenticate` gets
/// `WWW-Authenticate: Negotiate` added, since browsers only try Kerberos after that challenge.
fn json_responses() -> Responses {
    Responses::new()
        .unauthorized_with(|_req| {
            HttpResponse::Unauthorized()
                .content_type("application/json")
                .body(r#"{"error":"unauthorized","hint":"authenticate with Kerberos (Negotiate)"}"#)
        })
        .forbidden_with(|_req| {
            // The reason is in the server's log, never in the body: the client may be probing.
            HttpResponse::Forbidden()
                .content_type("application/json")
                .body(r#"{"error":"forbidden"}"#)
        })
}

async fn text_me(id: KerberosIdentity) -> String {
    format!("Hello, {}\n", id.principal())
}

async fn json_me(id: KerberosIdentity) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(format!(
            r#"{{"principal":{}}}"#,
            json_string(id.principal())
        ))
}

/// A JSON string literal (no serde in this example): principals may hold any character.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());

    let mut base = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        base = base.principal(ServicePrincipal::host(hostname));
    }
    // Two builds, two sets of GSSAPI threads: responses are part of what is built.
    let text = base
        .clone()
        .responses(text_responses())
        .build()
        .map_err(std::io::Error::other)?;
    let json = base
        .responses(json_responses())
        .build()
        .map_err(std::io::Error::other)?;

    let server = HttpServer::new(move || {
        App::new()
            .service(
                web::scope("/text")
                    .wrap(text.clone())
                    .route("/", web::get().to(text_me)),
            )
            .service(
                web::scope("/api")
                    .wrap(json.clone())
                    .route("/", web::get().to(json_me)),
            )
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
