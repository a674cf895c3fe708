//! Kerberos single sign-on with a password fallback: clients with a ticket log in with
//! Negotiate; the others (a laptop outside the domain, a script, a browser that fell back to
//! NTLM) get a password prompt (`Authorization: Basic`), and the password is checked with the
//! KDC and verified against this service's keytab. `/` answers the principal.
//!
//! ```sh
//! # keys for HTTP/<this host> in /etc/krb5.keytab, or point KRB5_KTNAME at a keytab
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example password_fallback -- 0.0.0.0:8443
//! curl --negotiate -u : https://$(hostname):8443/      # with a ticket (kinit alice)
//! curl --basic -u alice https://$(hostname):8443/      # asks for alice's password
//! ```
//!
//! Passwords are taken over TLS only: give a PEM certificate and key in `TLS_CERT` and
//! `TLS_KEY` to serve HTTPS. Without them the server listens on plain HTTP, where `Basic` is
//! refused unless `ALLOW_INSECURE_BASIC=1` (for a reverse proxy that terminates TLS, or a
//! demo on loopback). The service principal is `HTTP/<machine host name>` unless
//! `SPNEGO_HOSTNAME` says otherwise, as in the `hello` example. Logs go to stderr
//! (`RUST_LOG`, default `info`): every refused password gets a line with the reason (never
//! the password).

use actix_gssapi::{KerberosIdentity, PasswordFallback, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn whoami(id: KerberosIdentity) -> String {
    format!("{}\n", id.principal())
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

    let mut fallback = PasswordFallback::new();
    if std::env::var("ALLOW_INSECURE_BASIC").as_deref() == Ok("1") {
        // Passwords on plain HTTP: only behind a proxy that terminates TLS.
        fallback = fallback.allow_insecure_http();
    }
    let mut auth = SpnegoAuth::builder().password_fallback(fallback);
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build()?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(whoami))
    });
    let (server, scheme) = match (std::env::var("TLS_CERT"), std::env::var("TLS_KEY")) {
        (Ok(cert), Ok(key)) => (server.bind_rustls_0_23(&addr, tls(&cert, &key)?)?, "https"),
        _ => (server.bind(&addr)?, "http"),
    };
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on {scheme}://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}

/// A TLS configuration from a PEM certificate chain and private key.
fn tls(cert: &str, key: &str) -> Result<rustls::ServerConfig, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?)
}
