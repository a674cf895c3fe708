//! Use the credential a client delegates: write it to a private credential cache and run
//! `klist` on it, as a server would run any Kerberos client on the user's behalf.
//!
//! ```sh
//! cargo run --example delegation -- 127.0.0.1:8080
//! kinit -f alice      # delegation needs a forwardable ticket
//! curl --negotiate --delegation always -u : http://$(hostname):8080/
//! ```
//!
//! Without `--delegation always` the answer explains that nothing was delegated.
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.

use actix_gssapi::{KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_web::error::ErrorInternalServerError;
use actix_web::{web, App, HttpServer};

async fn delegated(id: KerberosIdentity) -> actix_web::Result<String> {
    let Some(creds) = id.delegated_credentials().cloned() else {
        return Ok(format!(
            "Hello, {}. You did not delegate a credential: ask your client to delegate \
             (`curl --negotiate --delegation always -u :`; Firefox: \
             network.negotiate-auth.delegation-uris), with a forwardable ticket (`kinit -f`).\n",
            id.principal()
        ));
    };
    // Writing the cache and running klist block: keep them off the async workers.
    let listing = web::block(move || -> Result<String, String> {
        // A FILE: cache in a fresh 0700 directory with an unpredictable name under the
        // temporary directory; the guard removes both when it goes out of scope.
        let cache = creds.store_private().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("klist")
            .arg("-c")
            .arg(cache.name())
            .output()
            .map_err(|e| format!("cannot run klist: {e}"))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(text)
    })
    .await
    .map_err(ErrorInternalServerError)?
    .map_err(|e| {
        log::error!("delegation example: {e}");
        ErrorInternalServerError("cannot use the delegated credential")
    })?;
    Ok(format!(
        "Hello, {}. This server now holds your delegated credential:\n\n{listing}",
        id.principal()
    ))
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
            .wrap(auth.clone())
            .route("/", web::get().to(delegated))
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
