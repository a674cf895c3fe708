//! What happened to a request's credentials, for metrics and audit logs
//! ([`SpnegoAuthBuilder::on_event`](crate::SpnegoAuthBuilder::on_event)).

use std::fmt;
use std::sync::Arc;

use actix_web::HttpRequest;

pub use crate::negotiate::Malformed;
pub use crate::password::PasswordRefusal;

/// The outcome of one authentication decision, given to the hook set with
/// [`SpnegoAuthBuilder::on_event`](crate::SpnegoAuthBuilder::on_event).
///
/// An event says what happened to the credentials. Each request gives at most one event per
/// `SpnegoAuth` that decided it: a `SpnegoAuth` nested in another reuses the outer one's
/// decision and reports nothing, and a [`Require`](crate::Require) that refuses an identity
/// reports [`Refused`](Self::Refused) through the hook of the `SpnegoAuth` that made the
/// identity. With [`optional`](crate::SpnegoAuth::optional) login, a request without
/// credentials reports [`PassedWithoutCredentials`](Self::PassedWithoutCredentials) (the
/// anonymous visits of open routes); when a required `SpnegoAuth` or a `Require` inside then
/// asks it for credentials, that `401` reports [`MissingCredentials`](Self::MissingCredentials)
/// too. So `MissingCredentials` counts the challenges sent for lack of credentials, in either
/// mode (the `KerberosIdentity` extractor's `401` in an optional scope is not reported: an
/// `Option<KerberosIdentity>` runs it too, and its `None` is no challenge).
///
/// GSSAPI failures are classified from GSSAPI's major status and the Kerberos error code MIT
/// reports as the minor status (each class is checked against a real KDC in
/// `tests/mit/events.rs`); [`label`](Self::label) gives a stable name per variant for metrics.
/// Events carry no token bytes and nothing secret: they may be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// The client is authenticated.
    #[non_exhaustive]
    Authenticated {
        /// The client's principal, e.g. `alice@EXAMPLE.COM`.
        principal: String,
        /// How the client proved it.
        mechanism: Mechanism,
        /// Whether the client delegated a credential (or constrained delegation made one).
        delegated: bool,
        /// Whether the login was bound to the TLS channel (channel bindings verified).
        channel_bound: bool,
    },
    /// No `Authorization` header, answered `401` with the challenge (by the `SpnegoAuth`, or
    /// in optional mode by a required `SpnegoAuth` or a `Require` inside it).
    MissingCredentials,
    /// Optional mode: no `Authorization` header, and the request went on without an identity.
    PassedWithoutCredentials,
    /// An `Authorization` header with another scheme (`Basic`, `Bearer`, ...), answered with
    /// the `Negotiate` challenge.
    OtherScheme,
    /// A `Negotiate` header that cannot carry a valid token (never [`Malformed::Ntlm`]: that
    /// is [`NtlmOffered`](Self::NtlmOffered)).
    Malformed(Malformed),
    /// The client sent an NTLM token: it is not in the realm, has no ticket for this
    /// service, or does not trust this host for Negotiate.
    NtlmOffered,
    /// The token was seen before (the [replay store](crate::ReplayProtection)): a replay, or a
    /// client that resent it.
    Replay,
    /// The client's clock is further from the server's than the allowed skew.
    ClockSkew,
    /// The client's service ticket has expired.
    TicketExpired,
    /// The ticket is for another service principal, or encrypted with a key this server's
    /// keytab does not have (a wrong SPN, or a key version the keytab lacks).
    WrongServicePrincipal,
    /// The client bound its token to another TLS certificate than this server's
    /// ([`ChannelBindings`](crate::ChannelBindings)): a relayed token, or a TLS-intercepting
    /// proxy between them.
    ChannelBindingMismatch,
    /// GSSAPI accepted the token, but a rule refused the client: an anonymous ticket, no
    /// local name when one is required, a login that is not channel-bound when
    /// [`ChannelBindings::required`](crate::ChannelBindings::required), or a
    /// [`Require`](crate::Require) rule.
    #[non_exhaustive]
    Refused {
        /// Which rule, in words (e.g. `anonymous ticket`); safe to log.
        rule: String,
    },
    /// The login queue was full: answered `503`.
    Overloaded,
    /// GSSAPI accepted the token, but the [replay store](crate::ReplayProtection) could not
    /// say whether it was used before (Redis down or slow, the in-process store full):
    /// answered `503`, never let through unchecked.
    ReplayStoreUnavailable,
    /// GSSAPI accepted the token, but the [`GroupSource`](crate::GroupSource) could not say
    /// which groups the user is in (the directory down, refusing our bind, or slow): answered
    /// `503`, never let through with no groups or old ones past their time.
    DirectoryUnavailable,
    /// A CORS preflight passed on unauthenticated (see
    /// [`authenticate_preflights`](crate::SpnegoAuthBuilder::authenticate_preflights)).
    CorsPreflight,
    /// A password login ([`PasswordFallback`](crate::PasswordFallback)) was refused: answered
    /// `401` with both challenges (`503` when no KDC answered), or anonymous in optional mode.
    #[non_exhaustive]
    PasswordRefused {
        /// Why.
        reason: PasswordRefusal,
    },
    /// Any other GSSAPI failure, with GSSAPI's message.
    #[non_exhaustive]
    GssError {
        /// GSSAPI's major and minor status messages.
        message: String,
    },
}

impl AuthEvent {
    /// A stable `snake_case` name per variant, for metric labels: `authenticated`,
    /// `missing_credentials`, `passed_without_credentials`, `other_scheme`, `malformed`, `ntlm_offered`, `replay`,
    /// `clock_skew`, `ticket_expired`, `wrong_service_principal`, `channel_binding_mismatch`,
    /// `refused`, `overloaded`, `replay_store_unavailable`, `directory_unavailable`, `cors_preflight`,
    /// `password_refused`, `gss_error`.
    ///
    /// ```
    /// use actix_gssapi::AuthEvent;
    ///
    /// assert_eq!(AuthEvent::Replay.label(), "replay");
    /// ```
    pub fn label(&self) -> &'static str {
        match self {
            Self::Authenticated { .. } => "authenticated",
            Self::MissingCredentials => "missing_credentials",
            Self::PassedWithoutCredentials => "passed_without_credentials",
            Self::OtherScheme => "other_scheme",
            Self::Malformed(_) => "malformed",
            Self::NtlmOffered => "ntlm_offered",
            Self::Replay => "replay",
            Self::ClockSkew => "clock_skew",
            Self::TicketExpired => "ticket_expired",
            Self::WrongServicePrincipal => "wrong_service_principal",
            Self::ChannelBindingMismatch => "channel_binding_mismatch",
            Self::Refused { .. } => "refused",
            Self::Overloaded => "overloaded",
            Self::ReplayStoreUnavailable => "replay_store_unavailable",
            Self::DirectoryUnavailable => "directory_unavailable",
            Self::CorsPreflight => "cors_preflight",
            Self::PasswordRefused { .. } => "password_refused",
            Self::GssError { .. } => "gss_error",
        }
    }

    /// Whether the client is authenticated.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Self::Authenticated { .. })
    }
}

impl fmt::Display for AuthEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authenticated {
                principal,
                mechanism,
                ..
            } => write!(f, "authenticated {principal} ({mechanism})"),
            Self::Malformed(why) => write!(f, "malformed: {why}"),
            Self::Refused { rule } => write!(f, "refused: {rule}"),
            Self::PasswordRefused { reason } => write!(f, "password refused: {reason}"),
            Self::GssError { message } => write!(f, "GSSAPI error: {message}"),
            other => f.write_str(&other.label().replace('_', " ")),
        }
    }
}

/// How an authenticated client proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// A Kerberos token wrapped in SPNEGO (what browsers and most clients send).
    Spnego,
    /// A raw Kerberos 5 token (RFC 4121), as some clients send under `Negotiate`.
    Kerberos,
    /// A session cookie from an earlier login ([`SessionCookie`](crate::SessionCookie)).
    SessionCookie,
    /// A user name and password (`Authorization: Basic`), checked with the KDC and verified
    /// against the keytab ([`PasswordFallback`](crate::PasswordFallback)).
    Password,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Spnego => "SPNEGO",
            Self::Kerberos => "Kerberos",
            Self::SessionCookie => "session cookie",
            Self::Password => "password",
        })
    }
}

/// The hook, shared by every worker.
pub(crate) type EventHook = Arc<dyn Fn(&HttpRequest, &AuthEvent) + Send + Sync>;
