//! The password fallback (`Authorization: Basic`): what users configure, what to do with a
//! request before any KDC work (a pure, table-tested [`step`]), the `Basic` challenge on 401
//! answers, and the classification of refused passwords from what MIT reports.
//!
//! The KDC exchanges and the verification against our keytab are in `acceptor.rs`
//! ([`Acceptor::accept_password`](crate::acceptor::Acceptor::accept_password)); the middleware
//! wires the steps in.

use std::fmt;

use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::basic::{self, Basic, BasicCredentials, BasicMalformed};
use crate::error::{Error, ErrorKind};
use crate::failure::GssFailure;
use crate::mit_errors::{MitErrors, BASE};
use crate::negotiate::{Authorization, Malformed};
use crate::service_name::{ServiceName, VerifyTarget};

/// Lets clients that cannot do Kerberos log in with their Kerberos password
/// (`Authorization: Basic`), checked with the KDC and verified against the service's own
/// keytab. Off unless given to
/// [`SpnegoAuthBuilder::password_fallback`](crate::SpnegoAuthBuilder::password_fallback).
///
/// Laptops outside the domain, scripts, and browsers that could not get a ticket (and fell
/// back to NTLM) cannot do Negotiate. With the fallback on, the `401` answer offers both
/// schemes, as two `WWW-Authenticate` headers: `Negotiate`, then
/// `Basic realm="...", charset="UTF-8"`. Browsers try Negotiate first and, without a ticket,
/// ask the user for a name and password; scripts send them directly (`curl --basic -u alice`).
///
/// ```
/// use actix_gssapi::{PasswordFallback, ServicePrincipal, SpnegoAuth};
///
/// let builder = SpnegoAuth::builder()
///     .principal(ServicePrincipal::host("www.example.com"))
///     .password_fallback(PasswordFallback::new().realm("EXAMPLE.COM"));
/// ```
///
/// `examples/password_fallback.rs` is a complete server.
///
/// # What is checked
/// The password gets the user an initial ticket from the KDC (`gss_acquire_cred_with_password`,
/// into a memory credential cache private to that one check); that ticket gets a ticket for
/// this service; and the service accepts it with its own keytab, exactly as it accepts a
/// client's Negotiate token (PAC, [local names](crate::SpnegoAuthBuilder::map_local_names),
/// [`Require`](crate::Require) rules; no replay check: the ticket is made here, for this one
/// check). A KDC that is not the realm's (a spoofed one on the
/// network) can answer "password correct" but cannot encrypt a ticket with the service's key:
/// the login is refused. Nothing is written to the process's credential caches, and the user's
/// tickets are destroyed when the check ends; the password is wiped from this crate's memory
/// (`explicit_bzero`) once checked, and MIT wipes its own copy.
///
/// # Why HTTPS
/// `Basic` sends the password itself, base64-encoded, on every request: over plain HTTP
/// anyone on the path reads it, and with it can get tickets as the user anywhere in the realm.
/// So it is refused on connections that are not TLS: on a plain HTTP connection the `401`
/// offers only `Negotiate`, and a `Basic` header is not even decoded (`401`, and a `warn`
/// line). Whether the connection is TLS comes from the listener, never from request headers
/// (`X-Forwarded-Proto` can be forged): it is true for `HttpServer::bind_rustls_0_23`,
/// `bind_openssl` and the like. Behind a reverse proxy that terminates TLS, the server itself
/// listens on plain HTTP: call [`allow_insecure_http`](Self::allow_insecure_http) there, and
/// make sure only the proxy can reach it.
///
/// # Answers
/// | request | answer |
/// | --- | --- |
/// | no credentials, another scheme | `401` with both challenges |
/// | `Basic` with the right password | the handler runs; [`KerberosIdentity::is_password_login`](crate::KerberosIdentity::is_password_login) is true |
/// | wrong password, unknown user, expired password, disabled or locked account, a ticket the keytab cannot decrypt, malformed `Basic` header | `401` with both challenges (the browser asks again); the reason goes to the `warn` log line and to [`AuthEvent::PasswordRefused`](crate::AuthEvent::PasswordRefused), never to the client |
/// | no KDC reachable | `503` (the [overloaded](crate::Responses::overloaded) answer, `Retry-After: 1`): the password could not be checked, and asking again would only make the user retype it |
/// | an NTLM token under `Negotiate` | `401` with both challenges instead of `403`, so the browser asks for a password, and a `warn` line naming the likely causes |
/// | `Basic` on a plain HTTP connection (without [`allow_insecure_http`](Self::allow_insecure_http)) | `401` with the `Negotiate` challenge only |
///
/// In [`optional`](crate::SpnegoAuth::optional) mode refused passwords are logged and the
/// request goes on anonymously, like refused tokens.
///
/// A password login is never bound to the TLS channel
/// ([`KerberosIdentity::is_channel_bound`](crate::KerberosIdentity::is_channel_bound) is
/// false): [`ChannelBindings::required`](crate::ChannelBindings::required) and the fallback
/// exclude each other, and [`build`](crate::SpnegoAuthBuilder::build) says so.
///
/// # Cost and abuse
/// Each `Basic` request costs two KDC exchanges (initial ticket, service ticket), three when
/// the account needs pre-authentication (as every Active Directory account does), on a
/// GSSAPI thread, where a Negotiate login costs none. Password checks wait in the same
/// bounded [login queue](crate::Capacity::login_queue) as Negotiate logins, served by client address in turn: a client guessing passwords gets
/// `503` past its [share](crate::Capacity::login_queue_per_peer) and delays others' logins
/// by one check at most. Every guess reaches the KDC, so the realm's lockout policy applies.
/// A KDC that does not answer holds a thread for MIT's timeouts (`kdc_timeout` in
/// `krb5.conf`); browsers resend `Basic` on every request: add a
/// [`SessionCookie`](crate::SessionCookie), which works after a password login too, so the
/// password is checked once per session.
#[must_use]
#[derive(Clone, Default)]
pub struct PasswordFallback {
    realm: Option<String>,
    challenge_realm: Option<String>,
    allow_insecure_http: bool,
    service_name: Option<String>,
}

impl fmt::Debug for PasswordFallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordFallback")
            .field("realm", &self.realm)
            .field("challenge_realm", &self.challenge_text())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("service_name", &self.service_name)
            .finish()
    }
}

impl PasswordFallback {
    /// The fallback with its defaults: user names as typed, the `Basic` realm `Kerberos`,
    /// TLS connections only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Kerberos realm of users who type a bare name: `alice` logs in as
    /// `alice@<realm>`. A name with an `@` is used as typed (`alice@EXAMPLE.COM`, or a user
    /// of a trusted realm).
    ///
    /// Defaults to none: a bare name gets krb5.conf's `default_realm`. It is also the default
    /// [challenge realm](Self::challenge_realm).
    ///
    /// A name in another realm makes the server ask that realm's KDC, found as krb5.conf says
    /// (`dns_lookup_kdc = false` keeps it to the realms listed there).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The `realm` of the `Basic` challenge: what browsers show in their password prompt. It
    /// says nothing to Kerberos.
    ///
    /// Defaults to the [Kerberos realm](Self::realm) when one is set, else `Kerberos`.
    /// Printable ASCII only.
    pub fn challenge_realm(mut self, realm: impl Into<String>) -> Self {
        self.challenge_realm = Some(realm.into());
        self
    }

    /// Accepts passwords on plain HTTP connections too. **Only behind a reverse proxy that
    /// terminates TLS** and is the only way to reach the server: anywhere else, passwords
    /// cross the network readable by anyone on the path.
    ///
    /// Defaults to off: `Basic` is accepted, and offered, only on TLS connections (see
    /// [Why HTTPS](Self#why-https)).
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// The service the KDC issues the verification ticket for, as a host-based name
    /// (`HTTP@www.example.com`); its key must be in the keytab.
    ///
    /// Defaults to the name [`SpnegoAuth`](crate::SpnegoAuth) accepts tickets for
    /// (`HTTP@<hostname>`, or the account given to
    /// [`constrained_delegation`](crate::ServicePrincipal::ConstrainedDelegation)). Required with
    /// [`any_principal`](crate::ServicePrincipal::AnyInKeytab), which names no service:
    /// [`build`](crate::SpnegoAuthBuilder::build) fails without it.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The realm string of the `Basic` challenge.
    fn challenge_text(&self) -> &str {
        self.challenge_realm
            .as_deref()
            .or(self.realm.as_deref())
            .unwrap_or("Kerberos")
    }

    /// Whether passwords may be used on this connection.
    pub(crate) fn usable(&self, secure: bool) -> bool {
        secure || self.allow_insecure_http
    }

    /// The principal to log in as: `user`, with `@realm` added to a bare name.
    pub(crate) fn principal(&self, user: &str) -> String {
        match &self.realm {
            Some(realm) if !user.contains('@') => format!("{user}@{realm}"),
            _ => user.to_owned(),
        }
    }

    /// Checks what needs no GSSAPI, and names the verification service for `service`.
    pub(crate) fn check(&self, service: &ServiceName) -> Result<VerifyTarget, Error> {
        let config = |why: String| Error::new(ErrorKind::Config, why);
        if let Some(realm) = &self.realm {
            if realm.is_empty() || realm.contains(['@', '\0']) || !basic::valid_realm(realm) {
                return Err(config(format!(
                    "PasswordFallback::realm {realm:?} is not a Kerberos realm name"
                )));
            }
        }
        if !basic::valid_realm(self.challenge_text()) {
            return Err(config(
                "PasswordFallback::challenge_realm must be printable ASCII".to_owned(),
            ));
        }
        match (&self.service_name, service) {
            (Some(name), _) => {
                if name.is_empty() || name.contains('\0') {
                    return Err(config(
                        "PasswordFallback::service_name must be a service name such as \
                         HTTP@www.example.com"
                            .to_owned(),
                    ));
                }
                Ok(VerifyTarget::HostBased(name.clone()))
            }
            (None, ServiceName::HostBased(name)) => Ok(VerifyTarget::HostBased(name.clone())),
            (None, ServiceName::Account(account)) => Ok(VerifyTarget::Principal(account.clone())),
            (None, ServiceName::Any) => Err(config(
                "the password fallback needs a service to verify passwords against, and \
                 ServicePrincipal::AnyInKeytab names none: give one with \
                 PasswordFallback::service_name(\"HTTP@<host>\")"
                    .to_owned(),
            )),
        }
    }

    /// Adds the `Basic` challenge to a `401` answer, after the `Negotiate` one, unless the
    /// connection cannot carry passwords or the answer offers `Basic` already.
    pub(crate) fn add_challenge(&self, secure: bool, res: &mut HttpResponse) {
        if res.status() != StatusCode::UNAUTHORIZED || !self.usable(secure) {
            return;
        }
        let headers = res.headers_mut();
        if headers
            .get_all(WWW_AUTHENTICATE)
            .any(|v| basic::offers_basic(v.as_bytes()))
        {
            return;
        }
        if let Ok(value) = HeaderValue::try_from(basic::challenge(self.challenge_text())) {
            headers.append(WWW_AUTHENTICATE, value);
        }
    }
}

/// Why a password login was refused, in
/// [`AuthEvent::PasswordRefused`](crate::AuthEvent::PasswordRefused). Classified from what the
/// KDC and MIT Kerberos report (`tests/mit/password.rs` checks each against a real KDC). The
/// client never learns which: it gets the same `401`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordRefusal {
    /// The `Basic` header does not hold a usable `user:password` (bad base64, no colon,
    /// empty user or password, control characters, not UTF-8, over 1 KiB). No KDC was asked.
    Malformed,
    /// `Basic` on a plain HTTP connection, without
    /// [`allow_insecure_http`](PasswordFallback::allow_insecure_http). Not decoded.
    InsecureTransport,
    /// The KDC refused the password.
    WrongPassword,
    /// The KDC does not know the user (or the name is not a Kerberos name, or its realm is
    /// unknown).
    UnknownUser,
    /// The password is right but has expired: the user must change it first.
    PasswordExpired,
    /// The account is disabled or locked out.
    AccountDisabled,
    /// No KDC of the user's realm answered: answered `503`.
    KdcUnreachable,
    /// The KDC accepted the password, but its ticket for this service does not decrypt with
    /// the service's keytab (or it issued none): a KDC that does not know the service's key
    /// (spoofed), or a keytab out of date.
    NotVerified,
    /// Any other failure (its GSSAPI message is in the log line).
    Other,
}

impl fmt::Display for PasswordRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed credentials (Basic)",
            Self::InsecureTransport => "a password on a plain HTTP connection",
            Self::WrongPassword => "wrong password",
            Self::UnknownUser => "unknown user",
            Self::PasswordExpired => "password expired",
            Self::AccountDisabled => "account disabled or locked",
            Self::KdcUnreachable => "no KDC reachable",
            Self::NotVerified => "the KDC's ticket does not decrypt with the service's keytab",
            Self::Other => "GSSAPI error",
        })
    }
}

/// What the password fallback makes of a request, before any KDC work.
#[derive(Debug)]
pub(crate) enum Step {
    /// Not a password matter: the Negotiate path decides.
    NotMine,
    /// Check these credentials with the KDC.
    Verify(BasicCredentials),
    /// `Basic` credentials that cannot be used: refused without asking the KDC.
    Refuse(BasicMalformed),
    /// `Basic` on a connection that must not carry passwords: refused, not decoded.
    Insecure,
    /// An NTLM token: answer with the challenges (a password prompt) instead of `403`.
    OfferAfterNtlm,
    /// An enclosing `SpnegoAuth` already refused these `Basic` credentials: ask again.
    AskAgain,
}

/// What to do with a request's credentials when the fallback is on.
///
/// - `secure`: the connection is TLS.
/// - `optional`: [`SpnegoAuth::optional`](crate::SpnegoAuth::optional) mode (an NTLM token
///   or refused credentials then go on anonymously, as without the fallback).
/// - `refused_earlier`: an enclosing `SpnegoAuth` refused this request's credentials.
/// - `authorization`: what the Negotiate parser made of the headers (a single non-Negotiate
///   header is `OtherScheme`), and `value` that header.
pub(crate) fn step(
    fallback: &PasswordFallback,
    secure: bool,
    optional: bool,
    refused_earlier: bool,
    authorization: &Authorization,
    value: Option<&[u8]>,
) -> Step {
    let usable = fallback.usable(secure);
    match authorization {
        Authorization::OtherScheme => {
            let Some(value) = value.filter(|v| basic::is_basic(v)) else {
                return Step::NotMine;
            };
            if refused_earlier {
                return if optional || !usable {
                    Step::NotMine
                } else {
                    Step::AskAgain
                };
            }
            if !usable {
                return Step::Insecure;
            }
            match basic::parse_bytes(value) {
                Basic::OtherScheme => Step::NotMine,
                Basic::Malformed(why) => Step::Refuse(why),
                Basic::Credentials(credentials) => Step::Verify(credentials),
            }
        }
        Authorization::Malformed(Malformed::Ntlm) if usable && !optional && !refused_earlier => {
            Step::OfferAfterNtlm
        }
        _ => Step::NotMine,
    }
}

/// MIT's krb5 error codes (com_err table `krb5`) that name a [`PasswordRefusal`].
const CODES: &[(i32, PasswordRefusal)] = &[
    (BASE + 6, PasswordRefusal::UnknownUser), // KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN
    (BASE + 12, PasswordRefusal::AccountDisabled), // KRB5KDC_ERR_POLICY
    (BASE + 18, PasswordRefusal::AccountDisabled), // KRB5KDC_ERR_CLIENT_REVOKED
    (BASE + 23, PasswordRefusal::PasswordExpired), // KRB5KDC_ERR_KEY_EXP
    (BASE + 24, PasswordRefusal::WrongPassword), // KRB5KDC_ERR_PREAUTH_FAILED
    (BASE + 31, PasswordRefusal::WrongPassword), // KRB5KRB_AP_ERR_BAD_INTEGRITY
    (BASE + 134, PasswordRefusal::UnknownUser), // KRB5_PARSE_MALFORMED
    (BASE + 154, PasswordRefusal::UnknownUser), // KRB5_REALM_UNKNOWN
    (BASE + 156, PasswordRefusal::KdcUnreachable), // KRB5_KDC_UNREACH
    (BASE + 220, PasswordRefusal::UnknownUser), // KRB5_REALM_CANT_RESOLVE
];

/// The messages libkrb5 gives instead of a code's own text when it knows the principal
/// (`get_in_tkt.c`, `gic_pwd.c`).
const FORMATS: &[(&str, PasswordRefusal)] = &[
    (
        "Client '%s' not found in Kerberos database",
        PasswordRefusal::UnknownUser,
    ),
    (
        "Preauthentication failed while getting initial credentials",
        PasswordRefusal::WrongPassword,
    ),
];

static TABLE: MitErrors<PasswordRefusal> = MitErrors::new(CODES, FORMATS);

/// The class of a failed KDC exchange (see `mit_errors.rs`).
fn classify_kdc(failure: &GssFailure) -> Option<PasswordRefusal> {
    let (minor, text) = failure.minor();
    TABLE.classify(minor, text)
}

/// Where a password login stopped.
#[derive(Debug, Clone)]
pub(crate) enum PasswordFailure {
    /// The user name is not a Kerberos principal name.
    Name(GssFailure),
    /// The KDC gave no initial ticket for the password (wrong password, unknown user,
    /// expired password, disabled account, no KDC reachable...).
    Credentials(GssFailure),
    /// The KDC gave no ticket for our service (it does not know the service name).
    ServiceTicket(GssFailure),
    /// Our acceptor credential refused the ticket the KDC issued: it is not encrypted with a
    /// key of our keytab (a KDC that does not know our key, or a keytab out of date).
    Verification(GssFailure),
}

/// Why a password login failed.
pub(crate) fn classify(failure: &PasswordFailure) -> PasswordRefusal {
    match failure {
        PasswordFailure::Name(_) => PasswordRefusal::UnknownUser,
        PasswordFailure::Credentials(f) => classify_kdc(f).unwrap_or(PasswordRefusal::Other),
        PasswordFailure::ServiceTicket(f) => match classify_kdc(f) {
            Some(PasswordRefusal::KdcUnreachable) => PasswordRefusal::KdcUnreachable,
            // The KDC that took the password does not know this service.
            _ => PasswordRefusal::NotVerified,
        },
        PasswordFailure::Verification(_) => PasswordRefusal::NotVerified,
    }
}

/// GSSAPI's message for a failure, for the log line.
pub(crate) fn message(failure: &PasswordFailure) -> &str {
    match failure {
        PasswordFailure::Name(f)
        | PasswordFailure::Credentials(f)
        | PasswordFailure::ServiceTicket(f)
        | PasswordFailure::Verification(f) => &f.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn basic(plain: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(plain)
        )
        .into_bytes()
    }

    fn name(step: &Step) -> &'static str {
        match step {
            Step::NotMine => "not mine",
            Step::Verify(_) => "verify",
            Step::Refuse(_) => "refuse",
            Step::Insecure => "insecure",
            Step::OfferAfterNtlm => "offer after NTLM",
            Step::AskAgain => "ask again",
        }
    }

    #[test]
    fn steps_before_the_kdc() {
        let on = PasswordFallback::new();
        let behind_proxy = PasswordFallback::new().allow_insecure_http();
        let good = basic("alice:pw");
        let bad = basic("alice");
        let other = Authorization::OtherScheme;
        let ntlm = Authorization::Malformed(Malformed::Ntlm);
        // fallback, secure, optional, refused earlier, parsed, header: step
        type Row<'a> = (
            &'a PasswordFallback,
            bool,
            bool,
            bool,
            &'a Authorization,
            Option<&'a [u8]>,
            &'a str,
        );
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            (&on, true, false, false, &other, Some(&good), "verify"),
            (&on, true, true, false, &other, Some(&good), "verify"),
            (&on, true, false, false, &other, Some(&bad), "refuse"),
            (&on, true, false, false, &other, Some(b"Bearer x"), "not mine"),
            (&on, false, false, false, &other, Some(&good), "insecure"),
            (&on, false, false, false, &other, Some(b"Basic !!"), "insecure"),
            (&behind_proxy, false, false, false, &other, Some(&good), "verify"),
            (&on, true, false, false, &ntlm, None, "offer after NTLM"),
            (&on, false, false, false, &ntlm, None, "not mine"),
            (&behind_proxy, false, false, false, &ntlm, None, "offer after NTLM"),
            (&on, true, true, false, &ntlm, None, "not mine"),
            (&on, true, false, true, &other, Some(&good), "ask again"),
            (&on, true, true, true, &other, Some(&good), "not mine"),
            (&on, false, false, true, &other, Some(&good), "not mine"),
            (&on, true, false, true, &ntlm, None, "not mine"),
            (&on, true, false, false, &Authorization::Missing, None, "not mine"),
            (&on, true, false, false, &Authorization::Token(vec![0x60, 0]), None, "not mine"),
            (&on, true, false, false, &Authorization::Malformed(Malformed::BadBase64), None, "not mine"),
        ];
        for (i, (fallback, secure, optional, earlier, auth, value, expected)) in
            table.iter().enumerate()
        {
            let got = step(fallback, *secure, *optional, *earlier, auth, *value);
            assert_eq!(name(&got), *expected, "row {i}");
        }
    }

    #[test]
    fn bare_names_get_the_realm() {
        let f = PasswordFallback::new().realm("EXAMPLE.COM");
        assert_eq!(f.principal("alice"), "alice@EXAMPLE.COM");
        assert_eq!(f.principal("alice@OTHER.ORG"), "alice@OTHER.ORG");
        assert_eq!(f.principal("ops/admin"), "ops/admin@EXAMPLE.COM");
        assert_eq!(PasswordFallback::new().principal("alice"), "alice");
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let f = PasswordFallback::new();
        assert!(!f.allow_insecure_http);
        assert!(!f.usable(false));
        assert!(f.usable(true));
        assert_eq!(f.challenge_text(), "Kerberos");
        assert_eq!(
            PasswordFallback::new().realm("R.TEST").challenge_text(),
            "R.TEST"
        );
    }

    #[test]
    fn configuration_is_checked() {
        let host = ServiceName::HostBased("HTTP@www.example.test".into());
        assert_eq!(
            PasswordFallback::new().check(&host).unwrap(),
            VerifyTarget::HostBased("HTTP@www.example.test".into())
        );
        let account = ServiceName::Account("svc@AD.TEST".into());
        assert_eq!(
            PasswordFallback::new().check(&account).unwrap(),
            VerifyTarget::Principal("svc@AD.TEST".into())
        );
        let err = PasswordFallback::new()
            .check(&ServiceName::Any)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("service_name"), "{err}");
        assert_eq!(
            PasswordFallback::new()
                .service_name("HTTP@a.test")
                .check(&ServiceName::Any)
                .unwrap(),
            VerifyTarget::HostBased("HTTP@a.test".into())
        );
        for bad in [
            PasswordFallback::new().realm(""),
            PasswordFallback::new().realm("A@B"),
            PasswordFallback::new().challenge_realm("two\nlines"),
            PasswordFallback::new().service_name(""),
        ] {
            assert_eq!(bad.check(&host).unwrap_err().kind(), ErrorKind::Config);
        }
    }

    #[test]
    fn the_basic_challenge_follows_negotiate_on_401s_only() {
        let f = PasswordFallback::new().challenge_realm("Intranet");
        let challenges = |res: &HttpResponse| -> Vec<String> {
            res.headers()
                .get_all(WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        let mut res = HttpResponse::Unauthorized()
            .insert_header((WWW_AUTHENTICATE, "Negotiate"))
            .finish();
        f.add_challenge(true, &mut res);
        assert_eq!(
            challenges(&res),
            ["Negotiate", r#"Basic realm="Intranet", charset="UTF-8""#]
        );
        f.add_challenge(true, &mut res);
        assert_eq!(challenges(&res).len(), 2, "added once");
        let mut plain = HttpResponse::Unauthorized()
            .insert_header((WWW_AUTHENTICATE, "Negotiate"))
            .finish();
        f.add_challenge(false, &mut plain);
        assert_eq!(challenges(&plain), ["Negotiate"], "not on plain HTTP");
        let mut forbidden = HttpResponse::Forbidden().finish();
        f.add_challenge(true, &mut forbidden);
        assert!(challenges(&forbidden).is_empty());
    }

    #[test]
    fn kdc_errors_are_classified_by_code_and_text() {
        let fail = |minor: u32, text: &str| {
            // GSS_S_NO_CRED, as gss_acquire_cred_with_password reports a KDC's refusal.
            PasswordFailure::Credentials(GssFailure::from_status(
                0x0007_0000,
                "No credentials were supplied",
                minor,
                text,
            ))
        };
        let unreachable = crate::krb5::error_text(BASE + 156).unwrap();
        assert_eq!(
            classify(&fail(100_001, &unreachable)),
            PasswordRefusal::KdcUnreachable
        );
        assert_eq!(
            classify(&fail((BASE + 24) as u32, "whatever")),
            PasswordRefusal::WrongPassword
        );
        assert_eq!(
            classify(&fail(
                100_002,
                "Client 'bob@EXAMPLE.TEST' not found in Kerberos database"
            )),
            PasswordRefusal::UnknownUser
        );
        assert_eq!(
            classify(&fail(100_003, "Something new")),
            PasswordRefusal::Other
        );
        let verification = PasswordFailure::Verification(GssFailure::internal("x"));
        assert_eq!(classify(&verification), PasswordRefusal::NotVerified);
    }
}
