//! Every integration test that runs against this process's one throwaway MIT realm
//! (`actix_gssapi_testing::shared_realm`): one binary, so the realm, its KDC and the build's
//! link are made once. A module per subject; `cargo test --test mit sessions::` runs one.
//!
//! Beside it, a binary of its own for each other kind of realm (`anonymous`: PKINIT,
//! `kdc_down`: a realm whose KDC is stopped, `active_directory`: a Samba DC, `composition` and
//! `readme`: none) and for the tests that measure time or memory and want the machine to
//! themselves (`blocking`, `soak`, `flood`).

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod credentials;
mod events;
mod examples;
mod forward_auth;
mod groups;
mod hostile;
mod http2;
mod outbound;
mod password;
mod paths;
mod proxy;
mod real_clients;
mod replay;
mod sessions;
mod tickets;
mod tls;
mod websocket;
mod wire;
