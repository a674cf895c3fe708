//! Active Directory through gssproxy: a Samba DC of this binary's own, gssproxy holding the
//! DC's keytab with the keytab guide's constrained-delegation section, the example servers
//! run as `nobody` (to whom the keytab is unreadable) with `GSS_USE_PROXY=yes`. A login names
//! alice but brings no PAC (gssproxy's interposer returns no name attributes); a service
//! account calls the back end AD allows it, as alice (S4U2Proxy through gssproxy), with the
//! domain's keytab listing the account's own name first.

mod common;

use std::ffi::OsString;
use std::sync::OnceLock;

use actix_gssapi_testing::{TestDomain, TestGssproxy};
use common::gssproxy::{assert_answer, guide_config, lines, serve_with};

fn domain() -> &'static TestDomain {
    static DOMAIN: OnceLock<TestDomain> = OnceLock::new();
    DOMAIN.get_or_init(|| TestDomain::start().expect("Samba DC"))
}

/// One gssproxy, configured with the guide's section for constrained delegation.
fn proxy() -> &'static TestGssproxy {
    static PROXY: OnceLock<TestGssproxy> = OnceLock::new();
    PROXY.get_or_init(|| {
        let domain = domain();
        TestGssproxy::start_for_domain(domain, |socket| {
            guide_config("allow_constrained_delegation", socket, &domain.keytab())
        })
        .expect("gssproxy")
    })
}

/// The domain's environment with alice's ticket as the client's.
fn alice() -> Vec<(&'static str, OsString)> {
    let domain = domain();
    let mut env = domain.env();
    env.retain(|(k, _)| *k != "KRB5CCNAME");
    let ccache = domain.kinit("alice").expect("kinit");
    env.push(("KRB5CCNAME", format!("FILE:{}", ccache.display()).into()));
    env
}

fn url(port: u16, path: &str) -> String {
    format!("http://localhost:{port}{path}")
}

fn sid(name: &str) -> String {
    domain().sid(name).expect("sid")
}

#[test]
fn an_ad_login_through_gssproxy_names_alice_and_brings_no_pac() {
    let admins = ("ADMIN_GROUP_SID", sid("g2"));
    // The same example reading the keytab itself, as root: alice's ticket has a PAC, g2 in it.
    let direct_port = common::free_port();
    let mut env = domain().env();
    env.push(("SPNEGO_HOSTNAME", "localhost".into()));
    env.push((admins.0, admins.1.clone().into()));
    let _direct = common::start_example("active_directory", direct_port, &env);
    let (code, body) = common::curl(
        &["--negotiate", "-u", ":", &url(direct_port, "/")],
        &alice(),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.lines().any(|l| l == sid("g2")), "{body}");

    // Through gssproxy: alice, and no group (`pac()` is None), so the SID rule refuses her.
    let (_server, stderr, port) =
        serve_with("active_directory", proxy(), &domain().keytab(), &[admins]);
    let got = common::curl(&["--negotiate", "-u", ":", &url(port, "/")], &alice());
    assert_answer(got, (200, "alice@AD.TEST\n"), &stderr, proxy());
    let (code, _) = common::curl(&["--negotiate", "-u", ":", &url(port, "/admin")], &alice());
    assert_eq!(code, 403, "{:?}", lines(&stderr));
}

#[test]
fn constrained_delegation_through_gssproxy_calls_the_back_end_as_alice() {
    // The back end `HTTP/backend.ad.test`, reading its own keytab.
    let backend_port = common::free_port();
    let mut env = domain().env();
    env.retain(|(k, _)| *k != "KRB5_KTNAME");
    env.push(("KRB5_KTNAME", domain().backend_keytab().into()));
    env.push(("SPNEGO_HOSTNAME", "backend.ad.test".into()));
    let _backend = common::start_example("hello", backend_port, &env);

    // The front, the service account `httpsvc`, as nobody through gssproxy; alice forwards
    // nothing. gssproxy rebuilds the acceptor credential for each call without the principal
    // it was pinned to, and names the evidence ticket after the first keytab entry with the
    // ticket's key: the domain's keytab lists `httpsvc` first, so the S4U2Proxy step finds
    // `alice -> httpsvc` (with `HTTP/localhost` first it found nothing: "Matching credential
    // not found"; the keytab guide says why).
    let first = keytab_principals(&domain().keytab());
    assert_eq!(
        first.first().map(String::as_str),
        Some("httpsvc@AD.TEST"),
        "{first:?}"
    );
    let (_front, stderr, port) = serve_with(
        "backend_call",
        proxy(),
        &domain().keytab(),
        &[
            ("SPNEGO_DELEGATION_ACCOUNT", "httpsvc@AD.TEST".to_owned()),
            ("BACKEND_URL", url(backend_port, "/")),
            ("BACKEND_SERVICE", "HTTP@backend.ad.test".to_owned()),
        ],
    );
    let got = common::curl(&["--negotiate", "-u", ":", &url(port, "/")], &alice());
    assert_answer(got, (200, "Hello, alice@AD.TEST"), &stderr, proxy());
}

/// The principals of `keytab`, in its order, as `klist -k` lists them.
fn keytab_principals(keytab: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("klist")
        .arg("-k")
        .arg(keytab)
        .output()
        .expect("klist -k");
    let mut principals: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "   2 httpsvc@AD.TEST": the key version, then the principal.
        let mut words = line.split_whitespace();
        let (Some(kvno), Some(principal)) = (words.next(), words.next()) else {
            continue;
        };
        if kvno.parse::<u32>().is_ok() && !principals.iter().any(|p| p == principal) {
            principals.push(principal.to_owned());
        }
    }
    principals
}
