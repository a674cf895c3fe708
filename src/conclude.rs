//! After the engine answered a login: what its outcome means for the request. One pure
//! function for Negotiate and password logins gives the event to report, the line to log and
//! the answer, so the policy reads (and is tested) in one place; the middleware only carries
//! it out.

use crate::acceptor::Accepted;
use crate::claims::Claims;
use crate::config::{Config, LocalNames};
use crate::events::{AuthEvent, Mechanism, PasswordRefusal};
use crate::failure::{FailureClass, GssFailure};

/// How the client tried to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Login {
    /// A Negotiate token, of this mechanism.
    Token(Mechanism),
    /// A password (the Basic fallback), as this principal.
    Password { user: String },
}

impl Login {
    /// How a successful login of this kind proved itself.
    pub(crate) fn mechanism(&self) -> Mechanism {
        match self {
            Self::Token(mechanism) => *mechanism,
            Self::Password { .. } => Mechanism::Password,
        }
    }
}

/// Why the engine refused a login.
#[derive(Debug, Clone)]
pub(crate) enum Refused {
    Token(GssFailure),
    /// A password login, classified ([`crate::password::classify`]), with GSSAPI's message.
    Password {
        reason: PasswordRefusal,
        message: String,
    },
}

/// What to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Run the application with the identity.
    Identify,
    /// `403`.
    Forbid,
    /// `401` with the challenges: the client may try again (a password typed wrong).
    Challenge,
    /// `503` with `Retry-After`: not the client's fault (no KDC, no replay store).
    Unavailable,
    /// Optional mode: on to the application without an identity, the credentials refused.
    Anonymous,
}

/// A log line, without the request's description (the caller puts it in front).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) level: log::Level,
    pub(crate) text: String,
    /// At most one such line a second (the caller counts the rest).
    pub(crate) rate_limited: bool,
}

/// The event, the log line and the answer for one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conclusion {
    pub(crate) event: AuthEvent,
    pub(crate) log: Option<Line>,
    pub(crate) answer: Answer,
}

/// What the policy after a login looks at: the same for a token GSSAPI accepted, a password
/// login, and the login a session cookie carries.
pub(crate) struct Facts<'a> {
    pub(crate) principal: &'a str,
    pub(crate) anonymous: bool,
    pub(crate) channel_bound: bool,
    pub(crate) has_local_name: bool,
}

impl<'a> From<&'a Claims> for Facts<'a> {
    /// The login a session cookie carries.
    fn from(claims: &'a Claims) -> Self {
        Self {
            principal: &claims.principal,
            anonymous: claims.anonymous,
            channel_bound: claims.channel_bound,
            has_local_name: matches!(claims.local_name, Some(Some(_))),
        }
    }
}

impl<'a> From<&'a Accepted> for Facts<'a> {
    fn from(accepted: &'a Accepted) -> Self {
        Self {
            principal: &accepted.principal,
            anonymous: accepted.anonymous,
            channel_bound: accepted.channel_bound,
            has_local_name: accepted.local_name.is_some(),
        }
    }
}

/// The rules after a login (with our channel bindings applied to the request when `bound`):
/// `Err` with the rule and the reason when it must not become an identity.
pub(crate) fn admit(
    config: &Config,
    facts: Facts<'_>,
    bound: bool,
) -> Result<(), (&'static str, String)> {
    let principal = facts.principal;
    let required = config
        .channel_bindings
        .as_ref()
        .is_some_and(|cb| cb.is_required());
    if required && !(bound && facts.channel_bound) {
        return Err((
            "channel bindings required",
            if bound {
                format!(
                    "{principal} sent no TLS channel bindings, and ChannelBindings::required is \
                     on (the client may be too old to send them)"
                )
            } else {
                format!(
                    "{principal}: the request did not come over TLS, so it cannot be bound to \
                     the certificate, and ChannelBindings::required is on (behind a TLS proxy, \
                     see ChannelBindings::behind_tls_proxy)"
                )
            },
        ));
    }
    if facts.anonymous && !config.allow_anonymous {
        return Err((
            "anonymous ticket",
            format!(
                "anonymous ticket ({principal}) refused: anyone can get one from a realm with \
                 anonymous PKINIT (SpnegoAuthBuilder::allow_anonymous accepts them)"
            ),
        ));
    }
    if config.local_names == LocalNames::Require && !facts.has_local_name {
        return Err((
            "no local name",
            format!(
                "{principal} has no local account name (no auth_to_local rule in krb5.conf maps \
                 it), and SpnegoAuthBuilder::require_local_names is on"
            ),
        ));
    }
    Ok(())
}

/// The conclusion for `login`, whose outcome the engine gave (`bound`: our channel bindings
/// applied to the request).
pub(crate) fn conclude(
    config: &Config,
    login: &Login,
    outcome: Result<&Accepted, &Refused>,
    bound: bool,
) -> Conclusion {
    let refused = |event: AuthEvent, level: log::Level, text: String, answer: Answer| Conclusion {
        event,
        log: Some(Line {
            level,
            text,
            rate_limited: false,
        }),
        answer,
    };
    let anonymous_or = |answer: Answer| {
        if config.optional {
            Answer::Anonymous
        } else {
            answer
        }
    };
    let token_refused = |why: &str| {
        if config.optional {
            format!("Negotiate token refused, continuing anonymously: {why}")
        } else {
            format!("Negotiate token refused: {why}")
        }
    };
    let accepted = match outcome {
        Ok(accepted) => accepted,
        Err(Refused::Token(failure)) if failure.class() == FailureClass::StoreUnavailable => {
            // Not the client's fault, and not known to be a replay: 503, in optional mode too
            // (going on anonymously would log a valid user out).
            return Conclusion {
                event: AuthEvent::ReplayStoreUnavailable,
                log: Some(Line {
                    level: log::Level::Error,
                    text: format!(
                        "login refused with 503: {failure}; tokens are never let through \
                         unchecked"
                    ),
                    rate_limited: true,
                }),
                answer: Answer::Unavailable,
            };
        }
        Err(Refused::Token(failure)) => {
            let event = match failure.class() {
                FailureClass::Replay => AuthEvent::Replay,
                FailureClass::ClockSkew => AuthEvent::ClockSkew,
                FailureClass::TicketExpired => AuthEvent::TicketExpired,
                FailureClass::WrongServicePrincipal => AuthEvent::WrongServicePrincipal,
                FailureClass::BadBindings => AuthEvent::ChannelBindingMismatch,
                FailureClass::Other | FailureClass::StoreUnavailable => AuthEvent::GssError {
                    message: failure.message.clone(),
                },
            };
            return refused(
                event,
                log::Level::Warn,
                token_refused(&failure.to_string()),
                anonymous_or(Answer::Forbid),
            );
        }
        Err(Refused::Password { reason, message }) => {
            let user = match login {
                Login::Password { user } => user.as_str(),
                Login::Token(_) => "",
            };
            let text = match reason {
                // The name may be a password typed into the wrong field: never logged.
                PasswordRefusal::UnknownUser => format!(
                    "password login refused: {reason} (the name is not logged: it may be a \
                     mistyped password)"
                ),
                PasswordRefusal::NotVerified => format!(
                    "password login as {user} refused: the KDC accepted the password, but its \
                     ticket was not accepted with this service's keytab, so the KDC may not be \
                     the realm's (spoofed) or the keytab is out of date: {message}"
                ),
                _ => format!("password login as {user} refused: {reason} ({message})"),
            };
            let answer = match reason {
                PasswordRefusal::KdcUnreachable => Answer::Unavailable,
                _ => Answer::Challenge,
            };
            return refused(
                AuthEvent::PasswordRefused { reason: *reason },
                log::Level::Warn,
                text,
                anonymous_or(answer),
            );
        }
    };
    if let Some(Err(e)) = &accepted.groups {
        // Not the client's fault, and the user may well be allowed: 503, in optional mode too
        // (going on anonymously would log a valid user out), never on with no groups.
        return Conclusion {
            event: AuthEvent::DirectoryUnavailable,
            log: Some(Line {
                level: log::Level::Error,
                text: format!(
                    "login of {} refused with 503: the group source cannot answer: {e}",
                    accepted.principal
                ),
                rate_limited: true,
            }),
            answer: Answer::Unavailable,
        };
    }
    let mechanism = login.mechanism();
    // A password check is not bound to the request's channel.
    let bound = bound && mechanism != Mechanism::Password;
    match admit(config, Facts::from(accepted), bound) {
        Ok(()) => Conclusion {
            event: AuthEvent::Authenticated {
                principal: accepted.principal.clone(),
                mechanism,
                delegated: accepted.delegated.is_some(),
                channel_bound: accepted.channel_bound && mechanism != Mechanism::Password,
            },
            log: None,
            answer: Answer::Identify,
        },
        Err((rule, why)) => {
            let text = match login {
                Login::Token(_) => token_refused(&why),
                // The password was right; a rule refuses the account, as it would its ticket.
                Login::Password { .. } => format!("password login refused: {why}"),
            };
            refused(
                AuthEvent::Refused {
                    rule: rule.to_owned(),
                },
                log::Level::Warn,
                text,
                anonymous_or(Answer::Forbid),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::StoreError;
    use crate::SpnegoAuth;

    fn accepted(anonymous: bool, channel_bound: bool) -> Accepted {
        Accepted {
            principal: "alice@EXAMPLE.TEST".to_owned(),
            output_token: None,
            delegated: None,
            lifetime: None,
            anonymous,
            pac: None,
            local_name: None,
            channel_bound,
            by_password: false,
            groups: None,
        }
    }

    fn config(auth: SpnegoAuth) -> Config {
        (*auth.config).clone()
    }

    /// The answer and the event's label, and whether a line is logged at which level.
    fn brief(c: &Conclusion) -> (Answer, &'static str, Option<log::Level>) {
        (c.answer, c.event.label(), c.log.as_ref().map(|l| l.level))
    }

    #[test]
    fn every_outcome_in_both_modes() {
        use log::Level::{Error, Warn};
        use Answer::*;
        let spnego = Login::Token(Mechanism::Spnego);
        let password = Login::Password {
            user: "alice@EXAMPLE.TEST".to_owned(),
        };
        let replay = Refused::Token(GssFailure::replayed());
        let store = Refused::Token(GssFailure::store_unavailable(&StoreError::new("down")));
        let other = Refused::Token(GssFailure::internal("Invalid token was supplied"));
        let wrong = |reason| Refused::Password {
            reason,
            message: "Preauthentication failed".to_owned(),
        };
        let alice = accepted(false, false);
        let anonymous = accepted(true, false);
        let mut no_directory = accepted(false, false);
        no_directory.groups = Some(Err(crate::groups::LookupError("down".to_owned())));
        let mut with_groups = accepted(false, false);
        with_groups.groups = Some(Ok(Vec::new().into()));
        let wrong_password = wrong(PasswordRefusal::WrongPassword);
        let no_kdc = wrong(PasswordRefusal::KdcUnreachable);
        // (login, outcome, required mode, optional mode)
        let table: Vec<(&Login, Result<&Accepted, &Refused>, _, _)> = vec![
            (
                &spnego,
                Ok(&alice),
                (Identify, "authenticated", None),
                (Identify, "authenticated", None),
            ),
            (
                &spnego,
                Ok(&anonymous),
                (Forbid, "refused", Some(Warn)),
                (Anonymous, "refused", Some(Warn)),
            ),
            (
                &spnego,
                Err(&replay),
                (Forbid, "replay", Some(Warn)),
                (Anonymous, "replay", Some(Warn)),
            ),
            (
                &spnego,
                Err(&other),
                (Forbid, "gss_error", Some(Warn)),
                (Anonymous, "gss_error", Some(Warn)),
            ),
            (
                &spnego,
                Err(&store),
                (Unavailable, "replay_store_unavailable", Some(Error)),
                (Unavailable, "replay_store_unavailable", Some(Error)),
            ),
            (
                &spnego,
                Ok(&no_directory),
                (Unavailable, "directory_unavailable", Some(Error)),
                (Unavailable, "directory_unavailable", Some(Error)),
            ),
            (
                &spnego,
                Ok(&with_groups),
                (Identify, "authenticated", None),
                (Identify, "authenticated", None),
            ),
            (
                &password,
                Ok(&no_directory),
                (Unavailable, "directory_unavailable", Some(Error)),
                (Unavailable, "directory_unavailable", Some(Error)),
            ),
            (
                &password,
                Ok(&alice),
                (Identify, "authenticated", None),
                (Identify, "authenticated", None),
            ),
            (
                &password,
                Ok(&anonymous),
                (Forbid, "refused", Some(Warn)),
                (Anonymous, "refused", Some(Warn)),
            ),
            (
                &password,
                Err(&wrong_password),
                (Challenge, "password_refused", Some(Warn)),
                (Anonymous, "password_refused", Some(Warn)),
            ),
            (
                &password,
                Err(&no_kdc),
                (Unavailable, "password_refused", Some(Warn)),
                (Anonymous, "password_refused", Some(Warn)),
            ),
        ];
        for (login, outcome, required, optional) in table {
            let plain = config(SpnegoAuth::new());
            let lenient = config(SpnegoAuth::new().optional());
            assert_eq!(
                brief(&conclude(&plain, login, outcome, false)),
                required,
                "{login:?} {:?}",
                outcome.map(|a| a.anonymous)
            );
            assert_eq!(
                brief(&conclude(&lenient, login, outcome, false)),
                optional,
                "optional: {login:?}"
            );
        }
    }

    #[test]
    fn only_the_store_and_directory_lines_are_rate_limited() {
        let plain = config(SpnegoAuth::new());
        let spnego = Login::Token(Mechanism::Spnego);
        let store = Refused::Token(GssFailure::store_unavailable(&StoreError::new("down")));
        let c = conclude(&plain, &spnego, Err(&store), false);
        assert!(c.log.unwrap().rate_limited);
        let mut no_directory = accepted(false, false);
        no_directory.groups = Some(Err(crate::groups::LookupError("down".to_owned())));
        let c = conclude(&plain, &spnego, Ok(&no_directory), false);
        assert!(c.log.unwrap().rate_limited);
        let c = conclude(
            &plain,
            &spnego,
            Err(&Refused::Token(GssFailure::replayed())),
            false,
        );
        assert!(!c.log.unwrap().rate_limited);
    }

    #[test]
    fn unknown_user_names_are_never_logged() {
        let plain = config(SpnegoAuth::new());
        let login = Login::Password {
            user: "hunter2-typed-as-a-name".to_owned(),
        };
        for reason in [
            PasswordRefusal::UnknownUser,
            PasswordRefusal::WrongPassword,
            PasswordRefusal::NotVerified,
        ] {
            let refused = Refused::Password {
                reason,
                message: "x".to_owned(),
            };
            let line = conclude(&plain, &login, Err(&refused), false).log.unwrap();
            assert_eq!(
                line.text.contains("hunter2"),
                reason != PasswordRefusal::UnknownUser,
                "{reason:?}: {}",
                line.text
            );
        }
    }

    #[test]
    fn anonymous_tickets_are_refused_unless_allowed() {
        let plain = config(SpnegoAuth::new());
        let (alice, anonymous) = (accepted(false, false), accepted(true, false));
        assert_eq!(admit(&plain, Facts::from(&alice), false), Ok(()));
        let (rule, why) = admit(&plain, Facts::from(&anonymous), false).unwrap_err();
        assert_eq!(rule, "anonymous ticket");
        assert!(why.contains("anonymous ticket"), "{why}");
        let allowing = Config {
            allow_anonymous: true,
            ..Config::default()
        };
        assert_eq!(admit(&allowing, Facts::from(&anonymous), false), Ok(()));
    }

    #[test]
    fn a_password_login_is_never_channel_bound() {
        let plain = config(SpnegoAuth::new());
        let c = conclude(
            &plain,
            &Login::Password {
                user: "alice@EXAMPLE.TEST".to_owned(),
            },
            Ok(&accepted(false, true)),
            true,
        );
        assert!(matches!(
            c.event,
            AuthEvent::Authenticated {
                mechanism: Mechanism::Password,
                channel_bound: false,
                ..
            }
        ));
    }
}
