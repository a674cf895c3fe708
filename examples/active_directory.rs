//! Active Directory groups: `/` answers the principal on the first line, then the user's group
//! SIDs, one per line; `/admin` admits only members of the group whose SID is in
//! `ADMIN_GROUP_SID` (403 otherwise).
//!
//! ```sh
//! # keys for HTTP/<this host> exported from AD (see src/guide/keytab.md)
//! ADMIN_GROUP_SID=S-1-5-21-...-512 cargo run --example active_directory -- 127.0.0.1:8080
//! kinit alice@AD.EXAMPLE.COM && curl --negotiate -u : http://$(hostname):8080/
//! curl --negotiate -u : http://$(hostname):8080/admin
//! ```
//!
//! `SPNEGO_HOSTNAME` overrides the service principal's host name, as in the `hello` example.

use actix_gssapi::{KerberosIdentity, Require, ServicePrincipal, Sid, SpnegoAuth};
use actix_web::{web, App, HttpServer};

async fn groups(id: KerberosIdentity) -> String {
    let mut body = format!("{}\n", id.principal());
    // Only a verified PAC is decoded; an MIT ticket has none.
    if let Some(pac) = id.pac() {
        for sid in pac.group_sids() {
            body.push_str(&format!("{sid}\n"));
        }
    }
    body
}

async fn admin(id: KerberosIdentity) -> String {
    format!("Welcome to the admin area, {}\n", id.principal())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    // Authorize on SIDs: group names change, SIDs do not.
    let admins: Sid = std::env::var("ADMIN_GROUP_SID")
        .map_err(|_| std::io::Error::other("set ADMIN_GROUP_SID to the admin group's SID"))?
        .parse()
        .map_err(std::io::Error::other)?;

    let mut auth = SpnegoAuth::builder();
    if let Ok(hostname) = std::env::var("SPNEGO_HOSTNAME") {
        auth = auth.principal(ServicePrincipal::host(hostname));
    }
    let auth = auth.build().map_err(std::io::Error::other)?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/", web::get().to(groups))
            .service(
                web::scope("/admin")
                    // Inside SpnegoAuth: it decides on the identity SpnegoAuth established.
                    .wrap(Require::any_group([admins.clone()]))
                    // `/admin` and `/admin/`.
                    .route("", web::get().to(admin))
                    .route("/", web::get().to(admin)),
            )
    })
    .bind(&addr)?;
    println!("listening on http://{}", server.addrs()[0]);
    server.run().await
}
