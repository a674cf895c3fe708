//! Delegated credentials on disk: private, never through a planted symlink, never over
//! another user's cache.

use crate::common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::{Arc, Mutex};

use actix_gssapi::{Credentials, ErrorKind, KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::{ccache_principal, ClientOptions, Negotiation};
use actix_web::http::header;
use actix_web::{test, web, App, HttpResponse};
use common::realm;

/// Alice's delegated credential, as a handler receives it from a real accept.
async fn delegated() -> Credentials {
    let realm = realm();
    let slot: Arc<Mutex<Option<Credentials>>> = Arc::default();
    let handler_slot = Arc::clone(&slot);
    let app = test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::get().to(move |id: KerberosIdentity| {
                    let slot = Arc::clone(&handler_slot);
                    async move {
                        *slot.lock().unwrap() = id.delegated_credentials().cloned();
                        HttpResponse::Ok().finish()
                    }
                }),
            ),
    )
    .await;
    let options = ClientOptions::new().delegate();
    let client = Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options).unwrap();
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::AUTHORIZATION, client.header()))
        .to_request();
    assert!(test::call_service(&app, req).await.status().is_success());
    let creds = slot.lock().unwrap().take().expect("a delegated credential");
    creds
}

fn klist(ccache: &str) -> String {
    let out = realm()
        .command("klist")
        .arg("-c")
        .arg(ccache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = realm().dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[actix_web::test]
async fn file_cache_is_created_0600() {
    let creds = delegated().await;
    let path = scratch("mode").join("alice.cc");
    creds
        .store_into(&format!("FILE:{}", path.display()))
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(klist(&format!("FILE:{}", path.display())).contains("alice@EXAMPLE.TEST"));
    // Overwriting our own cache works, and it stays private.
    creds.store_into(path.to_str().unwrap()).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[actix_web::test]
async fn a_symlink_planted_at_the_target_is_replaced_not_followed() {
    let creds = delegated().await;
    let dir = scratch("symlink");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let target = dir.join("alice.cc");
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    creds
        .store_into(&format!("FILE:{}", target.display()))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert!(meta.file_type().is_file(), "the link itself was replaced");
    assert_eq!(mode(&target), 0o600);
}

#[actix_web::test]
async fn another_users_cache_is_never_overwritten() {
    let creds = delegated().await;
    let target = scratch("other-user").join("bob.cc");
    std::fs::write(&target, "bob's cache").unwrap();
    let nobody = 65534;
    if std::os::unix::fs::chown(&target, Some(nobody), Some(nobody)).is_err() {
        // Only root can give a file away; the CI runs as root.
        assert_ne!(
            std::fs::metadata(&target).unwrap().uid(),
            0,
            "root could chown"
        );
        eprintln!("skipped: cannot chown a file to another user without root");
        return;
    }
    let err = creds
        .store_into(&format!("FILE:{}", target.display()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialStore);
    assert!(err.to_string().contains("another user"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "bob's cache");
    assert_eq!(std::fs::metadata(&target).unwrap().uid(), nobody);
    // No staging directory is left behind.
    let left: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bob.cc")]);
}

#[actix_web::test]
async fn store_private_picks_a_unique_private_path_and_cleans_up() {
    let creds = delegated().await;
    let a = creds.store_private().unwrap();
    let b = creds.store_private().unwrap();
    assert_ne!(a.path(), b.path());
    let dir = a.path().parent().unwrap().to_owned();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(a.path()), 0o600);
    assert!(a.name().starts_with("FILE:"));
    assert!(klist(a.name()).contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"));
    drop(a);
    assert!(
        !dir.exists(),
        "dropping the guard removes the cache and its directory"
    );
}

#[actix_web::test]
async fn memory_caches_work() {
    let creds = delegated().await;
    creds.store_into("MEMORY:actix-gssapi-test").unwrap();
    assert_eq!(creds.principal().as_deref(), Some("alice@EXAMPLE.TEST"));
    assert_eq!(
        ccache_principal("MEMORY:actix-gssapi-test").unwrap(),
        "alice@EXAMPLE.TEST"
    );
}

#[actix_web::test]
async fn store_in_memory_is_unique_and_destroyed_on_drop() {
    let creds = delegated().await;
    let a = creds.store_in_memory().unwrap();
    let b = creds.store_in_memory().unwrap();
    assert_ne!(a.name(), b.name());
    assert!(a.name().starts_with("MEMORY:"), "{}", a.name());
    assert_eq!(ccache_principal(a.name()).unwrap(), "alice@EXAMPLE.TEST");
    let name = a.name().to_owned();
    drop(a);
    assert!(
        ccache_principal(&name).is_err(),
        "the cache is destroyed with its guard"
    );
    assert_eq!(ccache_principal(b.name()).unwrap(), "alice@EXAMPLE.TEST");
}

use common::bob_ccache;

/// Two users delegate at the same time; each handler stores the credential with the pattern
/// the docs teach and, once both have stored theirs, reads back whose it holds. With one
/// fixed `MEMORY:` name (the old advice) the first to store reads the second user's.
#[actix_web::test]
async fn concurrent_users_never_see_each_others_credentials() {
    let realm = realm();
    let stored = Arc::new(tokio::sync::Barrier::new(2));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::from(Arc::clone(&stored)))
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::get().to(
                    |id: KerberosIdentity, stored: web::Data<tokio::sync::Barrier>| async move {
                        let creds = id.delegated_credentials().cloned().expect("delegated");
                        let cache = web::block(move || creds.store_in_memory())
                            .await
                            .unwrap()
                            .unwrap();
                        stored.wait().await;
                        let name = cache.name().to_owned();
                        let holder = web::block(move || ccache_principal(&name))
                            .await
                            .unwrap()
                            .unwrap();
                        HttpResponse::Ok().body(format!("{} {holder}", id.principal()))
                    },
                ),
            ),
    )
    .await;
    let options = || ClientOptions::new().delegate();
    let request = |ccache: &Path| {
        let client = Negotiation::start_with(ccache, "HTTP@localhost", options()).unwrap();
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, client.header()))
            .to_request()
    };
    for _ in 0..5 {
        let (alice, bob) = futures_util::future::join(
            test::call_and_read_body(&app, request(&realm.alice_ccache())),
            test::call_and_read_body(&app, request(&bob_ccache())),
        )
        .await;
        assert_eq!(alice, "alice@EXAMPLE.TEST alice@EXAMPLE.TEST");
        assert_eq!(bob, "bob@EXAMPLE.TEST bob@EXAMPLE.TEST");
    }
}

#[actix_web::test]
async fn unwritable_targets_are_clear_errors() {
    let creds = delegated().await;
    let err = creds
        .store_into("FILE:/nonexistent-dir/alice.cc")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialStore);
    assert!(
        err.to_string().contains("/nonexistent-dir/alice.cc"),
        "{err}"
    );
    let err = creds.store_into("NOSUCHTYPE:x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialStore);
}

#[actix_web::test]
async fn dir_collections_others_can_write_or_own_are_refused() {
    let creds = delegated().await;
    let parent = scratch("dir-checks");
    let store = |dir: &Path| creds.store_into(&format!("DIR:{}", dir.display()));

    let shared = parent.join("world-writable");
    std::fs::create_dir(&shared).unwrap();
    for mode in [0o777, 0o1777, 0o770, 0o702] {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = store(&shared).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CredentialStore);
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&shared).unwrap().count(),
        0,
        "nothing written"
    );

    let link = parent.join("link");
    let ours = parent.join("ours");
    std::fs::create_dir(&ours).unwrap();
    std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&ours, &link).unwrap();
    let err = store(&link).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    // The subsidiary-cache form names a file in the directory: the directory is checked.
    let err = creds
        .store_into(&format!("DIR::{}/tktA", shared.display()))
        .unwrap_err();
    assert!(
        err.to_string().contains("writable by group or others"),
        "{err}"
    );

    let missing = parent.join("missing");
    store(&missing).unwrap();
    assert_eq!(
        mode(&missing),
        0o700,
        "a missing collection is created private"
    );

    let foreign = parent.join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o700)).unwrap();
    let nobody = 65534;
    if std::os::unix::fs::chown(&foreign, Some(nobody), Some(nobody)).is_err() {
        assert_ne!(
            std::fs::metadata(&foreign).unwrap().uid(),
            0,
            "root could chown"
        );
        eprintln!("skipped the foreign-owner case: cannot chown without root");
        return;
    }
    let err = store(&foreign).unwrap_err();
    assert!(err.to_string().contains("another user"), "{err}");
    assert_eq!(
        std::fs::read_dir(&foreign).unwrap().count(),
        0,
        "nothing written"
    );
}

#[actix_web::test]
async fn dir_collections_work() {
    let creds = delegated().await;
    let dir = scratch("dir-collection");
    let name = format!("DIR:{}", dir.display());
    creds.store_into(&name).unwrap();
    // A new cache in the collection (not made its primary): list them all.
    let out = realm()
        .command("klist")
        .env("KRB5CCNAME", &name)
        .arg("-A")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("alice@EXAMPLE.TEST"), "{listing}");
}

#[::core::prelude::v1::test]
fn public_types_can_cross_threads() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<Credentials>();
    fn send_sync_guard<T: Send + Sync + 'static>() {}
    send_sync_guard::<actix_gssapi::MemoryCcache>();
    send_sync_guard::<actix_gssapi::PrivateCcache>();
    send_sync::<KerberosIdentity>();
    send_sync::<SpnegoAuth>();
    send_sync::<actix_gssapi::Error>();
}
