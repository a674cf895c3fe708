//! What the middleware costs around one GSSAPI accept, and with none.
//!
//! `cargo bench --all-features --bench overhead`; the `pac` group needs the PAC decoder's
//! entry point, which exists only in a `--cfg fuzzing` build:
//! `RUSTFLAGS="--cfg fuzzing" cargo bench --all-features --bench overhead -- pac/`.
//!
//! - `accept/gssapi_only`: `gss_accept_sec_context` through libgssapi with a reused acceptor
//!   credential, fresh SPNEGO token each iteration (made outside the timing): the floor.
//! - `accept/gssapi_and_inquiries`: the floor plus the three `gss_inquire_context` calls an
//!   earlier version made (name, flags, lifetime): what doing without them saves.
//! - `accept/middleware`: the same token through `SpnegoAuth` and a handler in an actix test
//!   service: header parse, base64, framing check, the hand-off to the GSSAPI threads (a
//!   parked thread's wake-up here, since each iteration waits for the last), the accept,
//!   identity insert, the mutual-auth header. The difference to the floor is our overhead.
//! - `pac/decode_*`: decoding a captured PAC (7 and 402 groups), as `pac()` does once.
//! - `pac_lookup/*`: an accept with and without the PAC lookup every login makes (MIT ticket,
//!   no PAC to copy): what looking costs a login whose handler never asks.
//! - `groups/*`: a login through the middleware as `daemon@EXAMPLE.TEST` (mapped to the
//!   host's `daemon` account) without a group source (`none`), with
//!   `GroupSource::name_service()` answering from its cache (`name_service_cached`: every
//!   login after the first), and asking the name service on every login
//!   (`name_service_uncached`, `cache_for(ZERO)`: the `auth_to_local` mapping, `getpwnam_r`,
//!   `getgrouplist`, `getgrgid_r` per group, from `/etc/passwd` and `/etc/group` here).
//! - `no_gssapi/*`: the 401 challenge and an open route (predicate false) with the middleware,
//!   and the open route without it.
//! - `outbound/*`: tokens for a back end (`HTTP/outbound-bench.test`) as the user.
//!   `client_baseline`: the testing crate's client, `gss_init_sec_context` from a file ccache
//!   whose service ticket is cached, as curl makes a token: the baseline.
//!   `negotiate_cached_ticket`: `Credentials::negotiate` with one delegated credential again
//!   and again (its memory cache holds the service ticket after the first): the hand-off to
//!   the outbound threads, the acquire from the cache, the token.
//!   `negotiate_fresh_credentials`: a new delegated credential each time (accepted outside the
//!   timing), as each request brings its own: adds the in-memory cache write and the KDC
//!   round trip for the service ticket.

use std::time::Duration;

use actix_gssapi::{
    Credentials, GroupSource, KerberosIdentity, ServicePrincipal, SpnegoAuth, Target,
};
use actix_gssapi_testing::{shared_realm, ClientOptions, Negotiation};
use actix_web::{test, web, App};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use libgssapi::context::{SecurityContext as _, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::GSS_NT_HOSTBASED_SERVICE;

fn token() -> Negotiation {
    Negotiation::start(&shared_realm().alice_ccache(), "HTTP@localhost").expect("token")
}

fn accept(c: &mut Criterion) {
    shared_realm();
    let name = Name::new(b"HTTP@localhost", Some(GSS_NT_HOSTBASED_SERVICE)).unwrap();
    let cred = Cred::acquire(Some(&name), None, CredUsage::Accept, None).unwrap();
    let rt = actix_rt::System::new();
    let app = rt.block_on(test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::get()
                    .to(|id: KerberosIdentity| async move { id.principal().len().to_string() }),
            ),
    ));

    let mut group = c.benchmark_group("accept");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("gssapi_only", |b| {
        b.iter_batched(
            || token().token(),
            |t| {
                let mut ctx = ServerCtx::new(Some(cred.clone()));
                let out = ctx.step(&t, None).expect("accept");
                assert!(ctx.is_complete());
                out
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("gssapi_and_inquiries", |b| {
        b.iter_batched(
            || token().token(),
            |t| {
                let mut ctx = ServerCtx::new(Some(cred.clone()));
                let out = ctx.step(&t, None).expect("accept");
                let name = ctx.source_name().unwrap().display_name().unwrap().to_vec();
                let flags = ctx.flags().unwrap();
                let lifetime = ctx.lifetime().unwrap();
                (out, name, flags, lifetime)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("middleware", |b| {
        b.iter_batched(
            || {
                test::TestRequest::get()
                    .uri("/")
                    .insert_header(("Authorization", token().header()))
                    .to_request()
            },
            |req| {
                let res = rt.block_on(test::call_service(&app, req));
                assert!(res.status().is_success());
                res
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// What a group source adds to a login (see the module docs).
fn groups(c: &mut Criterion) {
    let realm = shared_realm();
    realm.add_user("daemon", "a-password").ok();
    let ccache = realm.kinit("daemon", "a-password", &[]).unwrap();
    let rt = actix_rt::System::new();
    let app = |source: Option<GroupSource>| {
        let mut auth = SpnegoAuth::builder().principal(ServicePrincipal::host("localhost"));
        if let Some(source) = source {
            auth = auth.groups(source);
        }
        rt.block_on(test::init_service(
            App::new().wrap(auth.build().unwrap()).route(
                "/",
                web::get().to(|id: KerberosIdentity| async move { id.groups().len().to_string() }),
            ),
        ))
    };
    let apps = [
        ("none", app(None)),
        (
            "name_service_cached",
            app(Some(GroupSource::name_service())),
        ),
        (
            "name_service_uncached",
            app(Some(GroupSource::name_service().cache_for(Duration::ZERO))),
        ),
    ];
    let mut group = c.benchmark_group("groups");
    group.measurement_time(Duration::from_secs(10));
    for (label, app) in &apps {
        group.bench_function(*label, |b| {
            b.iter_batched(
                || {
                    let token = Negotiation::start(&ccache, "HTTP@localhost").expect("token");
                    test::TestRequest::get()
                        .uri("/")
                        .insert_header(("Authorization", token.header()))
                        .to_request()
                },
                |req| {
                    let res = rt.block_on(test::call_service(app, req));
                    assert!(res.status().is_success());
                    res
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn no_gssapi(c: &mut Criterion) {
    shared_realm();
    let rt = actix_rt::System::new();
    let with = rt.block_on(test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap()
                    .optional(),
            )
            .service(
                web::resource("/")
                    .wrap(
                        SpnegoAuth::builder()
                            .principal(ServicePrincipal::host("localhost"))
                            .build()
                            .unwrap(),
                    )
                    .route(web::get().to(|| async { "hi" })),
            )
            .route("/open", web::get().to(|| async { "open" })),
    ));
    let without = rt.block_on(test::init_service(
        App::new().route("/open", web::get().to(|| async { "open" })),
    ));
    // The same 401 with an event hook that counts (SpnegoAuth::on_event).
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&counted);
    let counting = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .on_event(move |_, _| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let hooked = rt.block_on(test::init_service(
        App::new().wrap(counting.clone().optional()).service(
            web::resource("/")
                .wrap(counting)
                .route(web::get().to(|| async { "hi" })),
        ),
    ));
    let mut group = c.benchmark_group("no_gssapi");
    group.bench_function("challenge_401", |b| {
        b.iter(|| {
            let req = test::TestRequest::get().uri("/").to_request();
            rt.block_on(test::call_service(&with, req))
        })
    });
    group.bench_function("challenge_401_with_event_hook", |b| {
        b.iter(|| {
            let req = test::TestRequest::get().uri("/").to_request();
            rt.block_on(test::call_service(&hooked, req))
        });
        // Here, not after the group: a filter that skips this function must not fail it.
        assert!(counted.load(std::sync::atomic::Ordering::Relaxed) > 0);
    });
    group.bench_function("open_with_middleware", |b| {
        b.iter(|| {
            let req = test::TestRequest::get().uri("/open").to_request();
            rt.block_on(test::call_service(&with, req))
        })
    });
    group.bench_function("open_without_middleware", |b| {
        b.iter(|| {
            let req = test::TestRequest::get().uri("/open").to_request();
            rt.block_on(test::call_service(&without, req))
        })
    });
    group.finish();
}

/// Decoding a PAC's logon and UPN/DNS information, as `KerberosIdentity::pac()` does on its
/// first call: alice (7 groups) and a user in 400 groups, captured from a Samba AD DC.
#[cfg(fuzzing)]
fn pac(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pac");
    let mut group = c.benchmark_group("pac");
    for user in ["alice", "manygroups"] {
        let logon = std::fs::read(format!("{dir}/samba-{user}.logon-info.bin")).unwrap();
        let upn = std::fs::read(format!("{dir}/samba-{user}.upn-dns-info.bin")).unwrap();
        group.bench_function(format!("decode_{user}"), |b| {
            b.iter(|| actix_gssapi::__fuzz::decode_pac(&logon, Some(&upn)))
        });
    }
    group.finish();
}

/// What looking for the PAC costs a login whose handler never asks for it: the accept alone,
/// and the accept followed by the `gss_get_name_attribute("urn:mspac:logon-info")` the
/// acceptor makes (an MIT ticket here, which has none: the failed lookup is the cost).
fn pac_lookup(c: &mut Criterion) {
    shared_realm();
    let acceptor = raw::Acceptor::new();
    let mut group = c.benchmark_group("pac_lookup");
    group.measurement_time(Duration::from_secs(10));
    for (label, lookup) in [("accept_only", false), ("accept_and_lookup", true)] {
        group.bench_function(label, |b| {
            b.iter_batched(
                || token().token(),
                |t| acceptor.accept(&t, lookup),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A bare `gss_accept_sec_context` through the C API, so that the attribute lookup can be
/// added to it or not (libgssapi does not hand out the name handle).
#[allow(unsafe_code)]
mod raw {
    use libgssapi_sys::*;
    use std::ffi::c_void;
    use std::ptr;

    pub struct Acceptor(gss_cred_id_t);

    impl Acceptor {
        pub fn new() -> Self {
            let service = b"HTTP@localhost";
            let mut buf = gss_buffer_desc {
                length: service.len(),
                value: service.as_ptr() as *mut c_void,
            };
            let (mut minor, mut name, mut cred) = (0, ptr::null_mut(), ptr::null_mut());
            // SAFETY: valid buffers and out-pointers; the name is released after use and the
            // credential lives as long as the benchmark process.
            unsafe {
                let major =
                    gss_import_name(&mut minor, &mut buf, GSS_C_NT_HOSTBASED_SERVICE, &mut name);
                assert_eq!(major, 0, "import name");
                let major = gss_acquire_cred(
                    &mut minor,
                    name,
                    _GSS_C_INDEFINITE,
                    ptr::null_mut(),
                    GSS_C_ACCEPT as gss_cred_usage_t,
                    &mut cred,
                    ptr::null_mut(),
                    ptr::null_mut(),
                );
                assert_eq!(major, 0, "acquire");
                gss_release_name(&mut minor, &mut name);
            }
            Self(cred)
        }

        /// Accepts `token`; with `lookup`, also asks for the client's logon-info attribute.
        /// Returns whether the attribute was found.
        pub fn accept(&self, token: &[u8], lookup: bool) -> bool {
            let mut minor = 0;
            let mut ctx: gss_ctx_id_t = ptr::null_mut();
            let mut input = gss_buffer_desc {
                length: token.len(),
                value: token.as_ptr() as *mut c_void,
            };
            let mut client: gss_name_t = ptr::null_mut();
            let mut output = gss_buffer_desc {
                length: 0,
                value: ptr::null_mut(),
            };
            let mut found = false;
            // SAFETY: every pointer is valid for its call; what GSSAPI allocates is released
            // below, once.
            unsafe {
                let major = gss_accept_sec_context(
                    &mut minor,
                    &mut ctx,
                    self.0,
                    &mut input,
                    ptr::null_mut(),
                    &mut client,
                    ptr::null_mut(),
                    &mut output,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                );
                assert_eq!(major, 0, "accept");
                if lookup {
                    let attr = b"urn:mspac:logon-info";
                    let mut attr = gss_buffer_desc {
                        length: attr.len(),
                        value: attr.as_ptr() as *mut c_void,
                    };
                    let (mut authenticated, mut complete, mut more) = (0, 0, -1);
                    let mut value = gss_buffer_desc {
                        length: 0,
                        value: ptr::null_mut(),
                    };
                    let mut display = gss_buffer_desc {
                        length: 0,
                        value: ptr::null_mut(),
                    };
                    let major = gss_get_name_attribute(
                        &mut minor,
                        client,
                        &mut attr,
                        &mut authenticated,
                        &mut complete,
                        &mut value,
                        &mut display,
                        &mut more,
                    );
                    found = major == 0;
                    gss_release_buffer(&mut minor, &mut value);
                    gss_release_buffer(&mut minor, &mut display);
                }
                gss_release_buffer(&mut minor, &mut output);
                gss_release_name(&mut minor, &mut client);
                gss_delete_sec_context(&mut minor, &mut ctx, ptr::null_mut());
            }
            found
        }
    }
}

/// Without `--cfg fuzzing` there is no PAC decoder to call from here: say how to get one.
#[cfg(not(fuzzing))]
fn pac(_: &mut Criterion) {
    eprintln!("pac/*: skipped; run with RUSTFLAGS=\"--cfg fuzzing\" to measure PAC decoding");
}

fn outbound(c: &mut Criterion) {
    let realm = shared_realm();
    let keytab = realm.dir().join("outbound-bench.keytab");
    realm
        .add_service("HTTP/outbound-bench.test", &keytab)
        .expect("back-end principal");
    let rt = actix_rt::System::new();
    let app = rt.block_on(test::init_service(
        App::new()
            .wrap(
                SpnegoAuth::builder()
                    .principal(ServicePrincipal::host("localhost"))
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::get().to(|id: KerberosIdentity| async move {
                    DELEGATED.with(|d| *d.borrow_mut() = id.delegated_credentials().cloned());
                    "ok"
                }),
            ),
    ));
    // A delegated credential of alice's, through the middleware as a request brings one.
    let delegated = || -> Credentials {
        let options = ClientOptions::new().delegate();
        let token =
            Negotiation::start_with(&realm.alice_ccache(), "HTTP@localhost", options).unwrap();
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header(("Authorization", token.header()))
            .to_request();
        assert!(rt
            .block_on(test::call_service(&app, req))
            .status()
            .is_success());
        DELEGATED
            .with(|d| d.borrow_mut().take())
            .expect("delegated")
    };
    let target = Target::http("outbound-bench.test");

    let mut group = c.benchmark_group("outbound");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("client_baseline", |b| {
        b.iter(|| Negotiation::start(&realm.alice_ccache(), "HTTP@outbound-bench.test").unwrap())
    });
    let creds = delegated();
    group.bench_function("negotiate_cached_ticket", |b| {
        b.iter(|| rt.block_on(creds.negotiate(&target)).unwrap())
    });
    group.bench_function("negotiate_fresh_credentials", |b| {
        b.iter_batched(
            delegated,
            |creds| rt.block_on(creds.negotiate(&target)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

thread_local! {
    /// What the handler of `outbound`'s app took from its last request.
    static DELEGATED: std::cell::RefCell<Option<Credentials>> = const { std::cell::RefCell::new(None) };
}

criterion_group!(benches, accept, groups, no_gssapi, pac, pac_lookup, outbound);
criterion_main!(benches);
