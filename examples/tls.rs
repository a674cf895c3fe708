//! Kerberos over HTTPS (rustls) with TLS channel bindings: a login bound to this server's
//! certificate cannot be relayed to another TLS endpoint. `/` answers the principal and
//! whether the login was channel-bound.
//!
//! ```sh
//! # keys for HTTP/<this host> in /etc/krb5.keytab, or point KRB5_KTNAME at a keytab
//! openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$(hostname)" \
//!     -keyout key.pem -out cert.pem
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example tls -- 127.0.0.1:8443   # default :8080
//! kinit alice && curl --negotiate -u : --cacert cert.pem https://$(hostname):8443/
//! # alice@EXAMPLE.COM channel-bound=false   (Debian 12's curl sends no bindings)
//! ```
//!
//! `TLS_CERT` is the PEM certificate chain (the server's certificate first), `TLS_KEY` its PEM
//! private key. `CHANNEL_BINDINGS` picks the mode: `when-sent` (the default: a client that
//! bound to another certificate is refused, one that sent no bindings gets in), `required`
//! (every login must be bound) or `off`. The bindings are computed from the first certificate
//! of `TLS_CERT`, the one clients see.
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.
//! Logs go to stderr (`RUST_LOG`, default `info`).

use actix_gssapi::{ChannelBindings, KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::{web, App, HttpServer};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

async fn hello(id: KerberosIdentity) -> String {
    format!(
        "{} channel-bound={}\n",
        id.principal(),
        id.is_channel_bound()
    )
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
    let cert_file = std::env::var("TLS_CERT").map_err(|_| "set TLS_CERT to a PEM certificate")?;
    let key_file = std::env::var("TLS_KEY").map_err(|_| "set TLS_KEY to a PEM private key")?;
    let chain = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cert_file}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(&key_file).map_err(|e| format!("{key_file}: {e}"))?;
    let leaf = chain
        .first()
        .ok_or_else(|| format!("{cert_file}: no certificate"))?;

    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        // An empty name fails in build(): it never widens to every key in the keytab.
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let mode = std::env::var("CHANNEL_BINDINGS").unwrap_or_else(|_| "when-sent".to_owned());
    auth = match mode.as_str() {
        "off" => auth,
        "when-sent" => auth.channel_bindings(ChannelBindings::tls_server_end_point(leaf)?),
        "required" => {
            auth.channel_bindings(ChannelBindings::tls_server_end_point(leaf)?.required())
        }
        other => {
            return Err(format!("CHANNEL_BINDINGS={other}: use off, when-sent or required").into())
        }
    };
    let auth = auth.build()?;

    let tls = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(hello))
    })
    .bind_rustls_0_23(&addr, tls)?;
    // Printed once the socket is bound: scripts wait for this line.
    println!("listening on https://{}", server.addrs()[0]);
    server.run().await?;
    Ok(())
}
