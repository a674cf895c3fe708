//! Calling back ends as the user: a fresh `Authorization: Negotiate` value for another service,
//! made from [`Credentials`] (delegated by the client, or obtained through constrained
//! delegation), and the check of the back end's mutual-authentication answer.
//!
//! The GSSAPI work (a ticket from the KDC, the token, the check) runs on a pool of threads of
//! its own, never on actix's async workers.

use std::fmt;
use std::sync::{Arc, OnceLock};

use actix_web::http::header::HeaderValue;

use crate::acceptor::{initiate, Initiator, OutboundName};
use crate::channel_bindings::ChannelBindings;
use crate::credentials::{Credentials, OutboundCache};
use crate::error::{Error, ErrorKind};
use crate::failure::GssFailure;
use crate::mit_errors::{MitErrors, BASE};
use crate::negotiate::{challenge_with_token, token_bytes, Authorization};
use crate::pool::{Full, Limits, Pool};

/// The service a handler calls as the user: the name its tickets are for.
///
/// ```
/// use actix_gssapi::Target;
///
/// // The back end at https://reports.example.com: HTTP/reports.example.com@<its realm>.
/// let reports = Target::http("reports.example.com");
/// // Any host-based service, `service@host`.
/// let ldap = Target::host_based("ldap@dc1.example.com");
/// // An exact principal, realm included.
/// let exact = Target::principal("HTTP/reports.example.com@EXAMPLE.COM");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Target(OutboundName);

impl Target {
    /// `HTTP@host`: the principal `HTTP/host` of the realm the Kerberos library maps `host`
    /// to. `host` is the back end's fully qualified name, as in its URL.
    pub fn http(host: &str) -> Self {
        Self::host_based(&format!("HTTP@{host}"))
    }

    /// A host-based service name, `service@host` (`GSS_C_NT_HOSTBASED_SERVICE`).
    pub fn host_based(service_at_host: &str) -> Self {
        Self(OutboundName::HostBased(service_at_host.to_owned()))
    }

    /// A Kerberos principal name, `service/host@REALM` (`GSS_KRB5_NT_PRINCIPAL_NAME`).
    pub fn principal(principal: &str) -> Self {
        Self(OutboundName::Principal(principal.to_owned()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            OutboundName::HostBased(s) | OutboundName::Principal(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            OutboundName::HostBased(s) => write!(f, "Target::host_based({s:?})"),
            OutboundName::Principal(s) => write!(f, "Target::principal({s:?})"),
        }
    }
}

/// How [`Credentials::negotiate_with`] makes its token. By default: SPNEGO (a bare Kerberos
/// token when the process runs with gssproxy: [the keytab guide](crate::guide::keytab)) with
/// mutual authentication, no channel bindings, the user's credentials not forwarded further.
///
/// ```
/// use actix_gssapi::{ChannelBindings, OutboundOptions};
///
/// # fn peer_certificate_der() -> Vec<u8> { include_bytes!("../tests/data/tls/ecdsa-sha384.der").to_vec() }
/// // Calling over HTTPS: bind the token to the back end's certificate (RFC 5929).
/// let bindings = ChannelBindings::tls_server_end_point(&peer_certificate_der())?;
/// let options = OutboundOptions::new().channel_bindings(bindings);
/// # Ok::<(), actix_gssapi::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OutboundOptions {
    bindings: Option<ChannelBindings>,
    delegate: bool,
}

impl OutboundOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds the token to the TLS connection it is sent over: the `tls-server-end-point`
    /// bindings of the back end's certificate
    /// ([`ChannelBindings::tls_server_end_point`]). A back end that checks bindings refuses
    /// the token over any other connection.
    pub fn channel_bindings(mut self, bindings: ChannelBindings) -> Self {
        self.bindings = Some(bindings);
        self
    }

    /// Forwards the user's credentials to the back end too (`GSS_C_DELEG_FLAG`), so that it
    /// can call the next service as the user. Only a forwardable TGT can be forwarded: a
    /// delegated credential usually is, one obtained through constrained delegation is not.
    pub fn delegate(mut self) -> Self {
        self.delegate = true;
        self
    }
}

/// One outbound Negotiate exchange: a fresh, single-use `Authorization` value for the target,
/// and the check of the back end's answer ([`verify`](Self::verify)).
///
/// Made by [`Credentials::negotiate`]. Send [`header_value`](Self::header_value) as the
/// request's `Authorization` header, once: the back end's replay cache refuses a second use.
/// Its `Debug` hides the token.
pub struct OutboundNegotiation {
    header: HeaderValue,
    target: Target,
    initiator: Initiator,
    /// The user's credentials' cache, kept while the exchange lives.
    _cache: Arc<OutboundCache>,
}

impl fmt::Debug for OutboundNegotiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundNegotiation")
            .field("target", &self.target)
            .field("header", &"Negotiate ******")
            .finish()
    }
}

impl OutboundNegotiation {
    /// `Negotiate <base64 token>`, for the request's `Authorization` header.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// The service the token is for.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Checks the back end's `WWW-Authenticate` answer (pass the response's header, or `None`
    /// when it had none): `Ok` when it carries a token proving that the back end holds the
    /// target's key and answered this very exchange (mutual authentication). Call it before
    /// trusting the answer's body when it matters who wrote it; a back end that sent nothing
    /// proves nothing.
    ///
    /// Runs on the crate's GSSAPI threads.
    ///
    /// # Errors
    /// [`ErrorKind::MutualAuthentication`] when the answer has no token, an unreadable one,
    /// or one GSSAPI refuses (forged, or from another exchange);
    /// [`ErrorKind::Overloaded`] when the outbound queue is full.
    pub async fn verify(self, www_authenticate: Option<&HeaderValue>) -> Result<(), Error> {
        let target = self.target;
        let fail = |why: String| {
            Error::new(
                ErrorKind::MutualAuthentication,
                format!("the answer of {target} does not authenticate it: {why}"),
            )
        };
        let value =
            www_authenticate.ok_or_else(|| fail("it has no WWW-Authenticate header".to_owned()))?;
        let token = token_bytes(value.as_bytes()).map_err(|what| {
            fail(match what {
                Authorization::OtherScheme => "its WWW-Authenticate is not Negotiate".to_owned(),
                Authorization::Malformed(why) => format!("its Negotiate token is unusable: {why}"),
                Authorization::Missing | Authorization::Token(_) => "no token".to_owned(),
            })
        })?;
        let initiator = self.initiator;
        run(move || initiator.finish(&token))
            .await?
            .map_err(|e| fail(e.to_string()))
    }
}

impl Credentials {
    /// A fresh `Authorization: Negotiate` value for `target`, as this credential's user, with
    /// the [default options](OutboundOptions).
    ///
    /// ```no_run
    /// use actix_gssapi::{KerberosIdentity, Target};
    /// use actix_web::{error, http::header, HttpResponse};
    ///
    /// async fn report(id: KerberosIdentity) -> actix_web::Result<HttpResponse> {
    ///     let creds = id
    ///         .delegated_credentials()
    ///         .ok_or_else(|| error::ErrorForbidden("log in with delegation"))?;
    ///     let call = creds
    ///         .negotiate(&Target::http("reports.example.com"))
    ///         .await
    ///         .map_err(error::ErrorBadGateway)?;
    ///     let mut res = awc::Client::new()
    ///         .get("https://reports.example.com/summary")
    ///         .insert_header((header::AUTHORIZATION, call.header_value().clone()))
    ///         .send()
    ///         .await
    ///         .map_err(error::ErrorBadGateway)?;
    ///     // The answer is the back end's own: it proved it holds its key.
    ///     call.verify(res.headers().get(header::WWW_AUTHENTICATE))
    ///         .await
    ///         .map_err(error::ErrorBadGateway)?;
    ///     let body = res.body().await.map_err(error::ErrorBadGateway)?;
    ///     Ok(HttpResponse::build(res.status()).body(body))
    /// }
    /// ```
    ///
    /// # Errors
    /// As [`negotiate_with`](Self::negotiate_with).
    pub async fn negotiate(&self, target: &Target) -> Result<OutboundNegotiation, Error> {
        self.negotiate_with(target, OutboundOptions::new()).await
    }

    /// [`negotiate`](Self::negotiate) with options: channel bindings, forwarding.
    ///
    /// Runs on the crate's GSSAPI threads (the Kerberos library may ask the KDC for a ticket:
    /// a network round trip, and seconds when the KDC does not answer).
    ///
    /// # Errors
    /// Each with a message naming the user and the target, never a token:
    /// - [`ErrorKind::TargetRefused`]: the KDC will not issue a ticket for the target as
    ///   this user: an unknown service, or one the service account may not delegate to
    ///   (Active Directory's constrained delegation list), or a policy;
    /// - [`ErrorKind::CredentialsExpired`]: the user's credentials have expired;
    /// - [`ErrorKind::KdcUnreachable`]: no KDC answered;
    /// - [`ErrorKind::Overloaded`]: the outbound queue is full;
    /// - [`ErrorKind::Outbound`]: any other GSSAPI failure (its text).
    pub async fn negotiate_with(
        &self,
        target: &Target,
        options: OutboundOptions,
    ) -> Result<OutboundNegotiation, Error> {
        self.negotiate_as(None, target, options).await
    }

    /// [`negotiate_with`](Self::negotiate_with), naming the user `user` in errors when given
    /// (an expired credential no longer tells its name).
    pub(crate) async fn negotiate_as(
        &self,
        user: Option<String>,
        target: &Target,
        options: OutboundOptions,
    ) -> Result<OutboundNegotiation, Error> {
        let creds = self.clone();
        let name = target.0.clone();
        let bindings = options.bindings.map(|b| b.application_data().to_vec());
        let delegate = options.delegate;
        let shown = target.clone();
        run(move || {
            let user = user
                .or_else(|| creds.principal())
                .unwrap_or_else(|| "the user".to_owned());
            let expired = || {
                Error::new(
                    ErrorKind::CredentialsExpired,
                    format!("cannot call {shown} as {user}: the user's credentials have expired"),
                )
            };
            if creds.lifetime().is_none_or(|left| left.is_zero()) {
                return Err(expired());
            }
            // The credentials' own cache: see `acceptor::initiate` for why a cache.
            let cache = creds.outbound_cache().map_err(|e| {
                if creds.lifetime().is_none_or(|left| left.is_zero()) {
                    // They expired since the check above.
                    return expired();
                }
                Error::new(
                    ErrorKind::Outbound,
                    format!("cannot call {shown} as {user}: {e}"),
                )
            })?;
            let (initiator, token) = initiate(cache.name(), &name, bindings, delegate)
                .map_err(|failure| outbound_error(&user, &shown, &failure))?;
            Ok(OutboundNegotiation {
                header: HeaderValue::from_str(&challenge_with_token(&token))
                    .expect("base64 is a header value"),
                target: shown,
                initiator,
                _cache: cache,
            })
        })
        .await?
    }
}

/// The error for a failure to make a token for `target` as `user`.
fn outbound_error(user: &str, target: &Target, failure: &GssFailure) -> Error {
    let (minor, text) = failure.minor();
    let kind = if failure.routine() == GSS_S_CREDENTIALS_EXPIRED {
        ErrorKind::CredentialsExpired
    } else {
        TABLE.classify(minor, text).unwrap_or(ErrorKind::Outbound)
    };
    let what = match kind {
        ErrorKind::TargetRefused => "the KDC refuses a ticket for it",
        ErrorKind::CredentialsExpired => "the user's credentials have expired",
        ErrorKind::KdcUnreachable => "no KDC answered",
        _ => "GSSAPI failed",
    };
    Error::new(
        kind,
        format!("cannot call {target} as {user}: {what}: {failure}"),
    )
}

/// `GSS_S_CREDENTIALS_EXPIRED`, as a routine error number.
const GSS_S_CREDENTIALS_EXPIRED: u32 = 11;

/// MIT's krb5 error codes of a ticket request for a back end, by what they mean to the caller.
const CODES: &[(i32, ErrorKind)] = &[
    (BASE + 7, ErrorKind::TargetRefused), // KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN
    (BASE + 12, ErrorKind::TargetRefused), // KRB5KDC_ERR_POLICY
    (BASE + 13, ErrorKind::TargetRefused), // KRB5KDC_ERR_BADOPTION (not in the delegation list)
    (BASE + 15, ErrorKind::TargetRefused), // KRB5KDC_ERR_SUMTYPE_NOSUPP
    (BASE + 18, ErrorKind::CredentialsExpired), // KRB5KDC_ERR_CLIENT_REVOKED
    (BASE + 20, ErrorKind::CredentialsExpired), // KRB5KDC_ERR_TGT_REVOKED
    (BASE + 32, ErrorKind::CredentialsExpired), // KRB5KRB_AP_ERR_TKT_EXPIRED
    (BASE + 154, ErrorKind::TargetRefused), // KRB5_REALM_UNKNOWN
    (BASE + 156, ErrorKind::KdcUnreachable), // KRB5_KDC_UNREACH
    (BASE + 220, ErrorKind::TargetRefused), // KRB5_REALM_CANT_RESOLVE
];

/// MIT's messages that replace a code's text on this path.
const FORMATS: &[(&str, ErrorKind)] = &[
    (
        "Server %s not found in Kerberos database",
        ErrorKind::TargetRefused,
    ),
    (
        "Cannot contact any KDC for realm '%s'",
        ErrorKind::KdcUnreachable,
    ),
];

static TABLE: MitErrors<ErrorKind> = MitErrors::new(CODES, FORMATS);

/// The outbound threads: blocking GSSAPI work, off the async workers. Started on first use.
fn pool() -> &'static Pool<(), ()> {
    static POOL: OnceLock<Pool<(), ()>> = OnceLock::new();
    POOL.get_or_init(|| {
        // Mostly waiting on the KDC: more threads than cores.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 4;
        Pool::new(
            vec![(); threads],
            Limits {
                total: OUTBOUND_QUEUE,
                per_key: None,
            },
            "actix-gssapi-out",
        )
        .expect("cannot start the outbound GSSAPI threads")
    })
}

/// How many outbound jobs may wait for a thread; past it, [`ErrorKind::Overloaded`].
const OUTBOUND_QUEUE: usize = 4096;

/// Runs `f` on an outbound thread.
async fn run<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match pool().try_run(None, move |_: &mut ()| f()) {
        Ok(outcome) => outcome.await.ok_or_else(|| {
            Error::new(
                ErrorKind::Outbound,
                "the outbound GSSAPI call failed unexpectedly (a panic: see the log)",
            )
        }),
        Err(Full::Queue | Full::Key) => Err(Error::new(
            ErrorKind::Overloaded,
            format!("{OUTBOUND_QUEUE} outbound GSSAPI calls are waiting already"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_themselves() {
        assert_eq!(Target::http("b.example").to_string(), "HTTP@b.example");
        assert_eq!(
            format!("{:?}", Target::principal("HTTP/b@R")),
            "Target::principal(\"HTTP/b@R\")"
        );
    }

    #[test]
    fn failures_are_classified_by_code_and_text() {
        let target = Target::http("backend.test");
        let kind = |minor: u32, text: &str| {
            outbound_error(
                "alice@R",
                &target,
                &GssFailure::from_status(0, "x", minor, text),
            )
            .kind()
        };
        assert_eq!(kind((BASE + 13) as u32, "x"), ErrorKind::TargetRefused);
        assert_eq!(kind((BASE + 156) as u32, "x"), ErrorKind::KdcUnreachable);
        assert_eq!(kind((BASE + 32) as u32, "x"), ErrorKind::CredentialsExpired);
        // Renumbered codes: the text decides (the suite runs in an English locale).
        assert_eq!(
            kind(100_003, "Server HTTP/x@R not found in Kerberos database"),
            ErrorKind::TargetRefused
        );
        assert_eq!(
            kind(100_004, "Cannot contact any KDC for realm 'R'"),
            ErrorKind::KdcUnreachable
        );
        assert_eq!(
            kind(100_005, "KDC can't fulfill requested option"),
            ErrorKind::TargetRefused
        );
        assert_eq!(kind(1, "something else"), ErrorKind::Outbound);
        let expired = GssFailure::from_status(GSS_S_CREDENTIALS_EXPIRED << 16, "x", 0, "y");
        let e = outbound_error("alice@R", &target, &expired);
        assert_eq!(e.kind(), ErrorKind::CredentialsExpired);
        assert!(e
            .to_string()
            .starts_with("cannot call HTTP@backend.test as alice@R: "));
    }
}
