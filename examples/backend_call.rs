//! Call a back end as the logged-in user: for `GET /`, a fresh Negotiate token for the back
//! end's service, made from the credentials the client delegated (or, with
//! `ServicePrincipal::ConstrainedDelegation`, obtained from Active Directory), the back end's
//! `BACKEND_URL` fetched with it, its mutual-authentication answer checked, and its answer
//! returned.
//!
//! ```sh
//! BACKEND_URL=http://backend.example.com:8081/ BACKEND_SERVICE=HTTP@backend.example.com \
//!     cargo run --example backend_call -- 127.0.0.1:8080
//! kinit -f alice      # delegation needs a forwardable ticket
//! curl --negotiate --delegation always -u : http://$(hostname):8080/
//! ```
//!
//! Answers:
//! - the back end's status and body (`Content-Type` kept), when its answer proves who sent it;
//! - `401` with the challenge for a request without a ticket, or whose session cookie (none
//!   here) or ticket carries no delegated credentials and could (`Require::delegated_credentials`);
//! - `403` for a ticket without delegated credentials, with the reason in the log;
//! - `502` when the KDC refuses the ticket for the back end, the back end cannot be reached,
//!   or its answer does not prove it is the back end; `503` when the outbound queue is full.
//!   The body says which; the log says why (never a token).
//!
//! `BACKEND_SERVICE` is `service@host` or, with a `/`, a principal (`HTTP/host@REALM`);
//! `SPNEGO_HOSTNAME` overrides this server's service principal host name, as in `hello`;
//! `SPNEGO_DELEGATION_ACCOUNT` (`httpsvc@AD.EXAMPLE.COM`) accepts as that service account and
//! calls the back end through constrained delegation (`ServicePrincipal::constrained_delegation`),
//! with no delegation from the client.

use actix_gssapi::{ErrorKind, KerberosIdentity, Require, ServicePrincipal, SpnegoAuth, Target};
use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};

struct Backend {
    url: String,
    target: Target,
    client: awc::Client,
}

async fn call_backend(id: KerberosIdentity, backend: web::Data<Backend>) -> HttpResponse {
    let fail = |status: fn() -> actix_web::HttpResponseBuilder, what: &str, why: String| {
        log::warn!("GET {} as {}: {what}: {why}", backend.url, id.principal());
        status().body(format!("{what}\n"))
    };
    let negotiation = match id.negotiate(&backend.target).await {
        Ok(negotiation) => negotiation,
        Err(e) if e.kind() == ErrorKind::Overloaded => {
            return fail(HttpResponse::ServiceUnavailable, "busy", e.to_string())
        }
        Err(e) => {
            return fail(
                HttpResponse::BadGateway,
                "no ticket for the back end",
                e.to_string(),
            )
        }
    };
    let mut res = match backend
        .client
        .get(&backend.url)
        .insert_header((header::AUTHORIZATION, negotiation.header_value().clone()))
        .send()
        .await
    {
        Ok(res) => res,
        Err(e) => {
            return fail(
                HttpResponse::BadGateway,
                "the back end cannot be reached",
                e.to_string(),
            )
        }
    };
    let body = match res.body().await {
        Ok(body) => body,
        Err(e) => {
            return fail(
                HttpResponse::BadGateway,
                "the back end's answer broke off",
                e.to_string(),
            )
        }
    };
    if let Err(e) = negotiation
        .verify(res.headers().get(header::WWW_AUTHENTICATE))
        .await
    {
        return fail(
            HttpResponse::BadGateway,
            "the back end did not prove who it is",
            e.to_string(),
        );
    }
    let mut answer = HttpResponse::build(res.status());
    if let Some(kind) = res.headers().get(header::CONTENT_TYPE) {
        answer.insert_header((header::CONTENT_TYPE, kind.clone()));
    }
    answer.body(body)
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
    let url =
        std::env::var("BACKEND_URL").map_err(|_| "set BACKEND_URL (http://host:port/path)")?;
    let service = std::env::var("BACKEND_SERVICE")
        .map_err(|_| "set BACKEND_SERVICE (HTTP@backend.example.com)")?;
    let target = if service.contains('/') {
        Target::principal(&service)
    } else {
        Target::host_based(&service)
    };
    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    if let Ok(account) = std::env::var("SPNEGO_DELEGATION_ACCOUNT") {
        auth = auth.principal(ServicePrincipal::constrained_delegation(account));
    }
    let auth = auth.build()?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Backend {
                url: url.clone(),
                target: target.clone(),
                client: awc::Client::new(),
            }))
            .service(
                web::resource("/")
                    // Only requests that can call as the user reach the handler.
                    .wrap(Require::delegated_credentials())
                    .wrap(auth.clone())
                    .route(web::get().to(call_backend)),
            )
    })
    .bind(&addr)?;
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
