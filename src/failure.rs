//! GSSAPI failures: their text for logs, and their class for [`AuthEvent`]s.
//!
//! MIT's mechglue rewrites minor status codes: a code one mechanism already used is handed out
//! again under a made-up number (100000 and up) for the next one. A SPNEGO login's Kerberos
//! error therefore reaches us as a number that depends on what failed before in the process
//! (measured: "Request is a replay" as 100006). The class comes from the Kerberos error code
//! when it arrived unchanged (raw Kerberos tokens), else from the minor status' text, compared
//! with libkrb5's own text for each code and MIT's own message formats, translated as MIT
//! translates them. tests/mit/events.rs checks every class against a real KDC.
//!
//! [`AuthEvent`]: crate::AuthEvent

use std::fmt;

use crate::mit_errors::{MitErrors, BASE};

/// A GSSAPI failure, rendered to text where it happened (`gss_display_status` wants the same
/// thread-local mechglue state that produced the minor code).
#[derive(Debug, Clone)]
pub(crate) struct GssFailure {
    /// Major and minor status text, e.g. `Unspecified GSS failure (Request is a replay)`.
    pub(crate) message: String,
    class: FailureClass,
    /// The minor status, as the mechglue gave it (0 for our own failures).
    minor: u32,
    /// Its text (empty for our own failures).
    minor_text: String,
    /// The major status' routine error (bits 16-23; 0 for our own failures).
    routine: u32,
}

/// Why a token GSSAPI saw was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    Replay,
    ClockSkew,
    TicketExpired,
    WrongServicePrincipal,
    /// The client's channel bindings are not ours (`GSS_S_BAD_BINDINGS`).
    BadBindings,
    /// The replay store could not answer: the token was not checked (answered `503`).
    StoreUnavailable,
    Other,
}

impl GssFailure {
    /// A failure GSSAPI reported: `major_text (minor_text)`, classified by `major`, `minor`
    /// and its text.
    pub(crate) fn from_status(major: u32, major_text: &str, minor: u32, minor_text: &str) -> Self {
        // Routine errors are the major status' bits 16-23 (RFC 2744 §3.9.1).
        let class = if (major >> 16) & 0xff == GSS_S_BAD_BINDINGS {
            FailureClass::BadBindings
        } else {
            TABLE
                .classify(minor, minor_text)
                .unwrap_or(FailureClass::Other)
        };
        Self {
            message: format!("{major_text} ({minor_text})"),
            class,
            minor,
            minor_text: minor_text.to_owned(),
            routine: (major >> 16) & 0xff,
        }
    }

    /// A refusal or failure of our own, not a GSSAPI status.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            class: FailureClass::Other,
            minor: 0,
            minor_text: String::new(),
            routine: 0,
        }
    }

    /// A ticket for another service principal than ours, refused by our own check.
    pub(crate) fn wrong_service(message: String) -> Self {
        Self {
            message,
            class: FailureClass::WrongServicePrincipal,
            minor: 0,
            minor_text: String::new(),
            routine: 0,
        }
    }

    /// A token our replay store had seen: its authenticator was accepted before.
    pub(crate) fn replayed() -> Self {
        Self {
            message: "the token's authenticator was accepted before (replay store): a replay"
                .to_owned(),
            class: FailureClass::Replay,
            minor: 0,
            minor_text: String::new(),
            routine: 0,
        }
    }

    /// The replay store could not say whether the token is a replay.
    pub(crate) fn store_unavailable(cause: &dyn fmt::Display) -> Self {
        Self {
            message: format!("the replay store cannot answer: {cause}"),
            class: FailureClass::StoreUnavailable,
            minor: 0,
            minor_text: String::new(),
            routine: 0,
        }
    }

    /// The minor status and its text, for classifications of their own (password logins).
    pub(crate) fn minor(&self) -> (u32, &str) {
        (self.minor, &self.minor_text)
    }

    /// The major status' routine error (RFC 2744 §3.9.1: 11 is `GSS_S_CREDENTIALS_EXPIRED`);
    /// 0 for our own failures.
    pub(crate) fn routine(&self) -> u32 {
        self.routine
    }

    pub(crate) fn class(&self) -> FailureClass {
        self.class
    }
}

impl fmt::Display for GssFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `GSS_S_BAD_BINDINGS`, as a routine error number.
const GSS_S_BAD_BINDINGS: u32 = 4;

/// MIT's krb5 error codes that name a class.
const CODES: &[(i32, FailureClass)] = &[
    (BASE + 31, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_BAD_INTEGRITY
    (BASE + 32, FailureClass::TicketExpired),         // KRB5KRB_AP_ERR_TKT_EXPIRED
    (BASE + 34, FailureClass::Replay),                // KRB5KRB_AP_ERR_REPEAT
    (BASE + 35, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_NOT_US
    (BASE + 37, FailureClass::ClockSkew),             // KRB5KRB_AP_ERR_SKEW
    (BASE + 44, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_ERR_BADKEYVER
    (BASE + 144, FailureClass::WrongServicePrincipal), // KRB5KRB_AP_WRONG_PRINC
    (BASE + 163, FailureClass::Replay),               // KRB5_RC_REPLAY
];

/// The messages MIT's `krb5_rd_req` sets instead of a code's own text when the ticket's server
/// or key is not the acceptor's (`rd_req_dec.c`).
const FORMATS: &[(&str, FailureClass)] = &[
    ("Cannot find key for %s kvno %d in keytab", WRONG),
    (
        "Cannot find key for %s kvno %d in keytab (request ticket server %s)",
        WRONG,
    ),
    (
        "Cannot decrypt ticket for %s using keytab key for %s",
        WRONG,
    ),
    (
        "Server principal %s does not match request ticket server %s",
        WRONG,
    ),
    (
        "Request ticket server %s found in keytab but does not match server principal %s",
        WRONG,
    ),
    (
        "Request ticket server %s not found in keytab (ticket kvno %d)",
        WRONG,
    ),
    (
        "Request ticket server %s kvno %d not found in keytab; ticket is likely out of date",
        WRONG,
    ),
    (
        "Request ticket server %s kvno %d not found in keytab; keytab is likely out of date",
        WRONG,
    ),
    (
        "Request ticket server %s kvno %d found in keytab but not with enctype %s",
        WRONG,
    ),
    (
        "Request ticket server %s kvno %d enctype %s found in keytab but cannot decrypt ticket",
        WRONG,
    ),
];

const WRONG: FailureClass = FailureClass::WrongServicePrincipal;

static TABLE: MitErrors<FailureClass> = MitErrors::new(CODES, FORMATS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acceptor_s_failures_are_classified_by_code_and_text() {
        let class = |minor: u32, text: &str| GssFailure::from_status(0, "x", minor, text).class;
        assert_eq!(
            class((BASE + 37) as u32, "whatever"),
            FailureClass::ClockSkew
        );
        assert_eq!(class((BASE + 163) as u32, "whatever"), FailureClass::Replay);
        // Renumbered codes: the text decides (the suite runs in an English locale).
        assert_eq!(class(100_006, "Request is a replay"), FailureClass::Replay);
        for text in [
            "Request ticket server HTTP/x@R not found in keytab (ticket kvno 1)",
            "Request ticket server HTTP/x@R kvno 3 not found in keytab; keytab is likely out of \
             date",
            "Cannot decrypt ticket for HTTP/x@R using keytab key for HTTP/y@R",
        ] {
            assert_eq!(
                class(7, text),
                FailureClass::WrongServicePrincipal,
                "{text}"
            );
        }
        for text in ["Request is a replay!", "No keys in keytab", ""] {
            assert_eq!(class(1, text), FailureClass::Other, "{text}");
        }
        let bindings = GssFailure::from_status(GSS_S_BAD_BINDINGS << 16, "x", 0, "y");
        assert_eq!(bindings.class, FailureClass::BadBindings);
    }
}
