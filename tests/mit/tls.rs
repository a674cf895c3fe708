//! TLS channel bindings (RFC 5929 `tls-server-end-point`) against the real KDC: over real
//! HTTPS (`examples/tls`, rustls) with curl as the TLS client, and in process.
//!
//! The bindings a client sends are computed here with openssl (`x509 -outform der | dgst`),
//! not with the crate's code, and put in the token by `testing::Negotiation` (libgssapi's
//! `gss_init_sec_context` with channel bindings, as curl ≥ 8.10 and python-gssapi do). Debian
//! 12's curl 7.88 sends none: it is the "client without bindings".

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use actix_gssapi::{AuthEvent, ChannelBindings, KerberosIdentity, ServicePrincipal, SpnegoAuth};
use actix_gssapi_testing::{ClientOptions, Negotiation};
use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, web, App, HttpResponse};
use common::{logged, logs, realm};

/// A self-signed certificate for `localhost` and its key, made with openssl in the realm's
/// directory; `name` keeps several apart.
struct Certificate {
    cert: PathBuf,
    key: PathBuf,
}

impl Certificate {
    fn make(name: &str, key_options: &[&str]) -> Self {
        let (cert, key) = common::make_tls_cert(&format!("tls-{name}"), key_options);
        Self { cert, key }
    }

    /// The certificate in DER.
    fn der(&self) -> Vec<u8> {
        openssl(&["x509", "-outform", "der", "-in"], &self.cert, None)
    }

    /// `tls-server-end-point:` + the hash openssl computes (`digest`, e.g. `-sha256`).
    fn end_point(&self, digest: &str) -> Vec<u8> {
        let hash = openssl(
            &["dgst", digest, "-binary"],
            Path::new("/dev/stdin"),
            Some(self.der()),
        );
        let mut data = b"tls-server-end-point:".to_vec();
        data.extend_from_slice(&hash);
        data
    }
}

fn openssl(args: &[&str], file: &Path, stdin: Option<Vec<u8>>) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("openssl")
        .args(args)
        .arg(file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(&bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn rsa() -> &'static Certificate {
    static CERT: std::sync::OnceLock<Certificate> = std::sync::OnceLock::new();
    CERT.get_or_init(|| Certificate::make("rsa", &["-newkey", "rsa:2048", "-sha256"]))
}

/// A token from alice for `HTTP@localhost`, bound to `bindings` (or not).
fn token(bindings: Option<Vec<u8>>, raw_krb5: bool) -> Negotiation {
    let mut options = ClientOptions::new();
    if let Some(data) = bindings {
        options = options.channel_bindings(data);
    }
    if raw_krb5 {
        options = options.raw_krb5();
    }
    Negotiation::start_with(&realm().alice_ccache(), "HTTP@localhost", options).unwrap()
}

/// `examples/tls` with `cert`, in channel-bindings `mode`.
fn start_tls_example(cert: &Certificate, mode: &str) -> (common::Reaped, u16) {
    let port = common::free_port();
    let mut env = common::env_for_localhost();
    env.push(("TLS_CERT", cert.cert.clone().into()));
    env.push(("TLS_KEY", cert.key.clone().into()));
    env.push(("CHANNEL_BINDINGS", mode.into()));
    (common::start_example("tls", port, &env), port)
}

/// `curl` over HTTPS to the example (trusting `cert`), with `args`; returns the status, the
/// response's `WWW-Authenticate` and the body.
fn https(port: u16, cert: &Certificate, args: &[&str]) -> (u16, Option<String>, String) {
    let headers = realm().dir().join(format!("tls-headers-{port}"));
    let url = format!("https://localhost:{port}/");
    let mut all = vec![
        "--cacert".to_owned(),
        cert.cert.display().to_string(),
        "-D".to_owned(),
        headers.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.push(url);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let (status, body) = common::curl(&all, &realm().env());
    let head = std::fs::read_to_string(&headers).unwrap_or_default();
    let challenge = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim().to_owned())
        .next_back();
    (status, challenge, body)
}

fn with_token(
    port: u16,
    cert: &Certificate,
    client: &Negotiation,
) -> (u16, Option<String>, String) {
    let authorization = format!("Authorization: {}", client.header());
    https(port, cert, &["-H", &authorization])
}

#[test]
fn a_client_bound_to_the_certificate_logs_in_channel_bound_over_https() {
    let cert = rsa();
    let (_server, port) = start_tls_example(cert, "when-sent");
    for raw_krb5 in [false, true] {
        let client = token(Some(cert.end_point("-sha256")), raw_krb5);
        let (status, challenge, body) = with_token(port, cert, &client);
        assert_eq!(
            (status, body.as_str()),
            (200, "alice@EXAMPLE.TEST channel-bound=true\n"),
            "raw krb5: {raw_krb5}"
        );
        client
            .verify_mutual(&challenge.expect("a mutual-auth token"))
            .unwrap();
    }
}

#[test]
fn a_client_bound_to_another_certificate_is_forbidden() {
    let cert = rsa();
    let other = Certificate::make("other", &["-newkey", "rsa:2048", "-sha256"]);
    let (_server, port) = start_tls_example(cert, "when-sent");
    let client = token(Some(other.end_point("-sha256")), false);
    let (status, _, _) = with_token(port, cert, &client);
    assert_eq!(status, 403);
    // The hash of the right certificate with the wrong algorithm is another certificate too.
    let client = token(Some(cert.end_point("-sha512")), false);
    let (status, _, _) = with_token(port, cert, &client);
    assert_eq!(status, 403);
}

#[test]
fn debian_curl_sends_no_bindings_in_when_sent_mode_gets_in_and_in_required_mode_does_not() {
    let cert = rsa();
    let negotiate: [&str; 3] = ["--negotiate", "-u", ":"];
    let (when_sent, port) = start_tls_example(cert, "when-sent");
    let (status, challenge, body) = https(port, cert, &negotiate);
    assert_eq!(
        (status, body.as_str()),
        (200, "alice@EXAMPLE.TEST channel-bound=false\n")
    );
    assert!(challenge.is_some_and(|c| c.starts_with("Negotiate ")));
    drop(when_sent);

    let (_required, port) = start_tls_example(cert, "required");
    let (status, _, _) = https(port, cert, &negotiate);
    assert_eq!(status, 403);
    let (status, _, _) = with_token(port, cert, &token(None, false));
    assert_eq!(status, 403);
    let client = token(Some(cert.end_point("-sha256")), false);
    let (status, _, body) = with_token(port, cert, &client);
    assert_eq!(
        (status, body.as_str()),
        (200, "alice@EXAMPLE.TEST channel-bound=true\n")
    );
}

#[test]
fn off_mode_ignores_bindings_and_ecdsa_certificates_use_their_hash() {
    let cert = rsa();
    let (_off, port) = start_tls_example(cert, "off");
    let other = Certificate::make("other-off", &["-newkey", "rsa:2048", "-sha256"]);
    // Without server bindings MIT accepts any the client sent, unbound.
    let client = token(Some(other.end_point("-sha256")), false);
    let (status, _, body) = with_token(port, cert, &client);
    assert_eq!(
        (status, body.as_str()),
        (200, "alice@EXAMPLE.TEST channel-bound=false\n")
    );

    // An ECDSA P-384 certificate signed with SHA-384: the bindings hash is SHA-384.
    let ecdsa = Certificate::make(
        "ecdsa",
        &[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-sha384",
        ],
    );
    let (_ecdsa, port) = start_tls_example(&ecdsa, "required");
    let client = token(Some(ecdsa.end_point("-sha384")), false);
    let (status, _, body) = with_token(port, &ecdsa, &client);
    assert_eq!(
        (status, body.as_str()),
        (200, "alice@EXAMPLE.TEST channel-bound=true\n")
    );
    let client = token(Some(ecdsa.end_point("-sha256")), false);
    assert_eq!(with_token(port, &ecdsa, &client).0, 403);
}

#[test]
fn the_example_refuses_an_unknown_mode() {
    let cert = rsa();
    let out = Command::new(common::example("tls"))
        .arg(format!("127.0.0.1:{}", common::free_port()))
        .envs(common::env_for_localhost())
        .env("TLS_CERT", &cert.cert)
        .env("TLS_KEY", &cert.key)
        .env("CHANNEL_BINDINGS", "sometimes")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("off, when-sent or required"), "{stderr}");
}

type Events = Arc<Mutex<Vec<AuthEvent>>>;

/// In process, with `behind_tls_proxy()` (bindings applied to plain HTTP, as behind a proxy
/// that terminates TLS with this certificate): what each case gives the handler, the client
/// and the event hook, and what is logged.
#[actix_web::test]
async fn behind_a_tls_proxy_each_case_and_its_event() {
    let cert = rsa();
    let events: Events = Arc::default();
    let recorder = Arc::clone(&events);
    let bindings = ChannelBindings::tls_server_end_point(&cert.der()).unwrap();
    assert_eq!(bindings.application_data(), cert.end_point("-sha256"));
    let auth = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .channel_bindings(bindings.clone().behind_tls_proxy())
        .on_event(move |_, e| recorder.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let app = atest::init_service(App::new().wrap(auth).route(
        "/",
        web::get().to(|id: KerberosIdentity| async move {
            HttpResponse::Ok().body(format!("{}", id.is_channel_bound()))
        }),
    ))
    .await;
    let call = |client: Negotiation| {
        let req = atest::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, client.header().to_owned()))
            .to_request();
        atest::call_service(&app, req)
    };
    let res = call(token(Some(cert.end_point("-sha256")), false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(atest::read_body(res).await, "true");
    let res = call(token(None, false)).await;
    assert_eq!(atest::read_body(res).await, "false");
    let wrong = Certificate::make("wrong", &["-newkey", "rsa:2048", "-sha256"]);
    let res = call(token(Some(wrong.end_point("-sha256")), false)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        logged(&["GET /", "refused", "channel binding"]),
        "{:?}",
        logs()
    );
    let labels: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            AuthEvent::Authenticated { channel_bound, .. } => format!("bound={channel_bound}"),
            other => other.label().to_owned(),
        })
        .collect();
    assert_eq!(
        labels,
        ["bound=true", "bound=false", "channel_binding_mismatch"]
    );

    // Required, on plain HTTP without behind_tls_proxy: nothing can be bound.
    let required = SpnegoAuth::builder()
        .principal(ServicePrincipal::host("localhost"))
        .channel_bindings(bindings.required())
        .build()
        .unwrap();
    let app = atest::init_service(
        App::new()
            .wrap(required)
            .route("/plain", web::get().to(|| async { "unreachable" })),
    )
    .await;
    let client = token(Some(cert.end_point("-sha256")), false);
    let req = atest::TestRequest::get()
        .uri("/plain")
        .insert_header((header::AUTHORIZATION, client.header().to_owned()))
        .to_request();
    let res = atest::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        logged(&["GET /plain", "did not come over TLS"]),
        "{:?}",
        logs()
    );
}
