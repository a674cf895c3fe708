//! Authentication metrics for Prometheus: every outcome `SpnegoAuth` reports
//! ([`SpnegoAuthBuilder::on_event`]) counted in `actix_gssapi_auth_total{outcome="..."}`, served at
//! `/metrics` in the Prometheus text format. `/` needs Kerberos and answers the principal;
//! `/metrics` is open, as scrapers expect.
//!
//! ```sh
//! # keys for HTTP/<this host> in /etc/krb5.keytab, or point KRB5_KTNAME at a keytab
//! cargo run --example metrics -- 127.0.0.1:8080
//! kinit alice && curl --negotiate -u : http://$(hostname):8080/   # alice@EXAMPLE.COM
//! curl http://127.0.0.1:8080/metrics
//! # actix_gssapi_auth_total{outcome="authenticated"} 1
//! # actix_gssapi_auth_total{outcome="missing_credentials"} 0
//! # ...
//! ```
//!
//! The labels are [`AuthEvent::label`]s. Every known outcome is exported from the start, at
//! 0, so that rates and alerts work before the first failure of a kind.
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.
//! Logs go to stderr (`RUST_LOG`, default `info`).

use actix_gssapi::{AuthEvent, KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpResponse, HttpServer};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The label set of `actix_gssapi_auth_total`.
type Outcome = Vec<(&'static str, &'static str)>;

/// The outcomes exported at 0 from the start (`AuthEvent` may gain more: those appear when
/// they first happen).
const OUTCOMES: &[&str] = &[
    "authenticated",
    "missing_credentials",
    "passed_without_credentials",
    "other_scheme",
    "malformed",
    "ntlm_offered",
    "replay",
    "clock_skew",
    "ticket_expired",
    "wrong_service_principal",
    "channel_binding_mismatch",
    "refused",
    "overloaded",
    "replay_store_unavailable",
    "cors_preflight",
    "password_refused",
    "gss_error",
];

async fn hello(id: KerberosIdentity) -> String {
    format!("{}\n", id.principal())
}

async fn metrics(registry: web::Data<Registry>) -> HttpResponse {
    let mut text = String::new();
    match encode(&mut text, &registry) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
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

    let outcomes = Family::<Outcome, Counter>::default();
    for outcome in OUTCOMES {
        let _ = outcomes.get_or_create(&vec![("outcome", *outcome)]);
    }
    let mut registry = Registry::default();
    // prometheus-client adds the `_total` suffix of a counter.
    registry.register(
        "actix_gssapi_auth",
        "Authentication outcomes of SpnegoAuth, by outcome",
        outcomes.clone(),
    );
    let registry = web::Data::new(registry);

    let mut auth = SpnegoAuth::builder().on_event(move |_req, event: &AuthEvent| {
        outcomes
            .get_or_create(&vec![("outcome", event.label())])
            .inc();
    });
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        // An empty name fails in build(): it never widens to every key in the keytab.
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build()?;

    let server = HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .route("/metrics", web::get().to(metrics))
            // Only `/` needs a login: wrap the resource, not the app.
            .service(web::resource("/").wrap(auth.clone()).get(hello))
    })
    .bind(&addr)?;
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
