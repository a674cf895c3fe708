//! `Require`: who may enter a scope or resource, decided on the identity an enclosing
//! `SpnegoAuth` established (no second GSSAPI accept).

use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::{ok, ready, LocalBoxFuture, Ready};

use crate::config::Config;
use crate::events::AuthEvent;
use crate::identity::{Handled, KerberosIdentity};
use crate::pac::Sid;

type Predicate = Arc<dyn Fn(&KerberosIdentity) -> bool + Send + Sync>;

/// An authorization rule for a scope or resource, checked on the [`KerberosIdentity`] that an
/// enclosing [`SpnegoAuth`](crate::SpnegoAuth) established.
///
/// - No identity (the request did not log in): `401` with the challenge, the enclosing
///   `SpnegoAuth`'s unauthorized response.
/// - An identity the rule refuses: `403`, the enclosing `SpnegoAuth`'s forbidden response, and
///   a `warn` line naming the principal and the rule (never a token).
/// - An identity from a [`SessionCookie`](crate::SessionCookie) that the rule refuses: `401`
///   with the challenge, logged at `info`. The cookie carries what its login established
///   (groups, flags, local name), but not everything a fresh ticket can bring (delegated
///   credentials, a newer group list): the client's ticket decides, and if the rule refuses
///   that too, the answer is `403`. So a cookie never turns into a `403` what a ticket
///   would have let in.
/// - Otherwise the request goes on; the handler runs only then.
///
/// Wrap it *inside* `SpnegoAuth`: on a scope of an app that `SpnegoAuth` wraps, or on the same
/// scope before it (`.wrap(Require::...).wrap(auth)`: the last `wrap` runs first).
///
/// ```no_run
/// use actix_gssapi::{Require, Sid, SpnegoAuth};
/// use actix_web::{web, App, HttpServer};
///
/// # #[actix_web::main]
/// # async fn main() -> std::io::Result<()> {
/// let auth = SpnegoAuth::builder().build().map_err(std::io::Error::other)?;
/// let admins: Sid = "S-1-5-21-1004336348-1177238915-682003330-512"
///     .parse()
///     .map_err(std::io::Error::other)?;
/// HttpServer::new(move || {
///     App::new()
///         .wrap(auth.clone())
///         .route("/", web::get().to(|| async { "every logged-in user" }))
///         .service(
///             web::scope("/admin")
///                 .wrap(Require::any_group([admins.clone()]))
///                 .route("/", web::get().to(|| async { "domain admins only" })),
///         )
/// })
/// .bind("127.0.0.1:8080")?
/// .run()
/// .await
/// # }
/// ```
///
/// Group rules need Active Directory tickets ([`KerberosIdentity::pac`]); a request without a
/// PAC (an MIT ticket) is in no group, so they refuse it. A session cookie carries its
/// login's PAC groups.
#[derive(Clone)]
#[must_use]
pub struct Require {
    rule: Arc<Rule>,
}

#[derive(Clone)]
enum Rule {
    Principals(HashSet<String>),
    Realms(HashSet<String>),
    AnyGroup(Vec<Sid>),
    AllGroups(Vec<Sid>),
    AnyGroupNamed(HashSet<String>),
    AllGroupsNamed(HashSet<String>),
    Predicate(&'static str, Predicate),
    Delegated,
    Either(Vec<Rule>),
}

impl Rule {
    fn allows(&self, id: &KerberosIdentity) -> bool {
        match self {
            Self::Principals(p) => p.contains(id.principal()),
            Self::Realms(r) => id.realm().is_some_and(|realm| r.contains(realm)),
            Self::AnyGroup(sids) => sids.iter().any(|s| has_sid(id, s)),
            // An empty list: as before group sources, anyone with a verified PAC.
            Self::AllGroups(sids) if sids.is_empty() => id.pac().is_some(),
            Self::AllGroups(sids) => sids.iter().all(|s| has_sid(id, s)),
            Self::AnyGroupNamed(names) => id.groups().iter().any(|g| names.contains(g.name())),
            // An empty list is a mistake in the configuration: nobody.
            Self::AllGroupsNamed(names) => {
                !names.is_empty() && names.iter().all(|n| id.is_in_group(n))
            }
            Self::Predicate(_, f) => f(id),
            Self::Delegated => id.delegated_credentials().is_some(),
            Self::Either(rules) => rules.iter().any(|r| r.allows(id)),
        }
    }
}

/// Whether the verified PAC, or the group source, puts the identity in the group `sid`.
fn has_sid(id: &KerberosIdentity, sid: &Sid) -> bool {
    id.pac().is_some_and(|pac| pac.is_member_of(sid))
        || id.groups().iter().any(|g| g.sid() == Some(sid))
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: Vec<String>| {
            let mut items = items;
            items.sort();
            f.write_str(&items.join(", "))
        };
        match self {
            Self::Principals(p) => {
                f.write_str("principal one of ")?;
                list(f, p.iter().cloned().collect())
            }
            Self::Realms(r) => {
                f.write_str("realm one of ")?;
                list(f, r.iter().cloned().collect())
            }
            Self::AnyGroup(s) => {
                f.write_str("member of any of ")?;
                list(f, s.iter().map(Sid::to_string).collect())
            }
            Self::AllGroups(s) => {
                f.write_str("member of all of ")?;
                list(f, s.iter().map(Sid::to_string).collect())
            }
            Self::AnyGroupNamed(n) => {
                f.write_str("member of any of the groups named ")?;
                list(f, n.iter().map(|n| format!("{n:?}")).collect())
            }
            Self::AllGroupsNamed(n) => {
                f.write_str("member of all of the groups named ")?;
                list(f, n.iter().map(|n| format!("{n:?}")).collect())
            }
            Self::Predicate(name, _) => write!(f, "{name}"),
            Self::Delegated => f.write_str("delegated credentials"),
            Self::Either(rules) => {
                for (i, r) in rules.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "({r})")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Require({})", self.rule)
    }
}

impl Require {
    fn new(rule: Rule) -> Self {
        Self {
            rule: Arc::new(rule),
        }
    }

    /// Allows exactly these principals (`alice@EXAMPLE.COM`: realm included, compared whole).
    pub fn principals<I, S>(principals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Rule::Principals(
            principals.into_iter().map(Into::into).collect(),
        ))
    }

    /// Allows every principal of these realms (`EXAMPLE.COM`; compared exactly, as Kerberos
    /// writes realms).
    pub fn realms<I, S>(realms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Rule::Realms(realms.into_iter().map(Into::into).collect()))
    }

    /// Allows members of at least one of these groups, by SID: in the verified PAC
    /// ([`KerberosIdentity::pac`]), or with that SID among the groups of a
    /// [`GroupSource`](crate::GroupSource) (an Active Directory's LDAP).
    pub fn any_group(groups: impl IntoIterator<Item = Sid>) -> Self {
        Self::new(Rule::AnyGroup(groups.into_iter().collect()))
    }

    /// Allows members of every one of these groups, by SID (as [`any_group`](Self::any_group)
    /// finds them). An empty list allows anyone whose ticket has a verified PAC.
    pub fn all_groups(groups: impl IntoIterator<Item = Sid>) -> Self {
        Self::new(Rule::AllGroups(groups.into_iter().collect()))
    }

    /// Allows members of at least one of these groups, by name, as the
    /// [`GroupSource`](crate::GroupSource) of
    /// [`SpnegoAuthBuilder::groups`](crate::SpnegoAuthBuilder::groups) names them
    /// ([`KerberosIdentity::groups`]): compared exactly. Without a group source nobody is in
    /// a named group, so this refuses everyone. When the directory cannot answer, the login
    /// itself fails with `503` before any rule.
    ///
    /// ```
    /// use actix_gssapi::Require;
    ///
    /// let ops = Require::any_group_named(["operators", "sre"]);
    /// ```
    pub fn any_group_named<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Rule::AnyGroupNamed(
            names.into_iter().map(Into::into).collect(),
        ))
    }

    /// Allows members of every one of these groups, by name (see
    /// [`any_group_named`](Self::any_group_named)). An empty list allows nobody.
    pub fn all_groups_named<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Rule::AllGroupsNamed(
            names.into_iter().map(Into::into).collect(),
        ))
    }

    /// Allows whom `predicate` allows; `name` describes the rule in log lines.
    ///
    /// ```
    /// use actix_gssapi::Require;
    ///
    /// let services_only = Require::predicate("a service principal", |id| {
    ///     id.principal().starts_with("HTTP/")
    /// });
    /// ```
    pub fn predicate<F>(name: &'static str, predicate: F) -> Self
    where
        F: Fn(&KerberosIdentity) -> bool + Send + Sync + 'static,
    {
        Self::new(Rule::Predicate(name, Arc::new(predicate)))
    }

    /// Allows requests that carry delegated credentials
    /// ([`KerberosIdentity::delegated_credentials`]): for routes whose handler calls another
    /// service as the user. A request authenticated by its session cookie has none, so it
    /// gets `401 Negotiate` and the browser sends a ticket (a delegated one where the client
    /// delegates: Firefox `network.negotiate-auth.delegation-uris`, Chrome
    /// `AuthNegotiateDelegateAllowlist`, `curl --delegation always`); a ticket without
    /// delegation gets `403`.
    ///
    /// ```
    /// use actix_gssapi::{KerberosIdentity, Require};
    /// use actix_web::{web, HttpResponse};
    ///
    /// async fn export(id: KerberosIdentity) -> HttpResponse {
    ///     // Inside Require::delegated_credentials(), always Some.
    ///     match id.delegated_credentials() {
    ///         Some(_creds) => HttpResponse::Ok().body("calling the back end as the user"),
    ///         None => HttpResponse::Forbidden().finish(),
    ///     }
    /// }
    ///
    /// let scope = web::scope("/export")
    ///     .wrap(Require::delegated_credentials())
    ///     .route("", web::get().to(export));
    /// ```
    pub fn delegated_credentials() -> Self {
        Self::new(Rule::Delegated)
    }

    /// Allows whom this rule or `other` allows.
    ///
    /// ```
    /// use actix_gssapi::{Require, Sid};
    ///
    /// let admins: Sid = "S-1-5-21-1-2-3-512".parse().unwrap();
    /// let rule = Require::any_group([admins]).or(Require::principals(["root@EXAMPLE.COM"]));
    /// ```
    pub fn or(self, other: Require) -> Self {
        let take = |r: Require| Arc::try_unwrap(r.rule).unwrap_or_else(|arc| (*arc).clone());
        let mut rules = match take(self) {
            Rule::Either(rules) => rules,
            rule => vec![rule],
        };
        match take(other) {
            Rule::Either(more) => rules.extend(more),
            rule => rules.push(rule),
        }
        Self::new(Rule::Either(rules))
    }
}

impl Require {
    /// The answer when this rule refuses `id`, or `None` when it allows it: `401` (logged at
    /// `info`) for a session cookie's identity, so that a ticket decides; `403` otherwise,
    /// logged and reported as an event. `on` says more of the request for the log line (empty,
    /// or e.g. ` on /admin`). Shared by this middleware and `ForwardAuth`'s route rules.
    pub(crate) fn refusal(
        &self,
        req: &HttpRequest,
        id: &KerberosIdentity,
        config: &Config,
        on: &str,
    ) -> Option<HttpResponse> {
        self.rule.refusal(req, id, config, on)
    }

    /// The rule in words, for `Debug`.
    pub(crate) fn describe(&self) -> String {
        self.rule.to_string()
    }
}

impl Rule {
    /// See [`Require::refusal`].
    fn refusal(
        &self,
        req: &HttpRequest,
        id: &KerberosIdentity,
        config: &Config,
        on: &str,
    ) -> Option<HttpResponse> {
        let principal = id.principal();
        match verdict(self, Some(id)) {
            Verdict::Allow => None,
            Verdict::AskForTicket => {
                log::info!(
                    "{} {}: the session cookie of {principal} does not meet the authorization \
                     rule ({}){on}: answering 401 so that a ticket decides",
                    req.method(),
                    req.path(),
                    self
                );
                Some(config.unauthorized_response(req))
            }
            Verdict::Refuse | Verdict::Challenge => {
                log::warn!(
                    "{} {}: {principal} refused by the authorization rule{on}: {}",
                    req.method(),
                    req.path(),
                    self
                );
                config.emit(req, || AuthEvent::Refused {
                    rule: self.to_string(),
                });
                Some(config.forbidden_response(req))
            }
        }
    }
}

/// What to do with a request, from what the enclosing `SpnegoAuth` left.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Allow,
    /// No identity: 401.
    Challenge,
    /// A session cookie's identity the rule refuses: 401, so the ticket decides.
    AskForTicket,
    /// An identity the rule refuses: 403.
    Refuse,
}

fn verdict(rule: &Rule, identity: Option<&KerberosIdentity>) -> Verdict {
    match identity {
        None => Verdict::Challenge,
        Some(id) if rule.allows(id) => Verdict::Allow,
        Some(id) if id.is_from_session_cookie() => Verdict::AskForTicket,
        Some(_) => Verdict::Refuse,
    }
}

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ok(RequireMiddleware {
            service: Rc::new(service),
            rule: Arc::clone(&self.rule),
        })
    }
}

/// The per-worker service built by [`Require`]; not used directly.
#[doc(hidden)]
pub struct RequireMiddleware<S> {
    service: Rc<S>,
    rule: Arc<Rule>,
}

impl<S, B> Service<ServiceRequest> for RequireMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let (identity, handled) = {
            let ext = req.extensions();
            (
                ext.get::<KerberosIdentity>().cloned(),
                ext.get::<Handled>().cloned(),
            )
        };
        if let (None, Some(handled)) = (&identity, &handled) {
            handled.report_challenge(req.request());
        }
        let by = handled.map(|h| h.config);
        let res = match &identity {
            None => {
                let config = by.unwrap_or_else(|| {
                    log::warn!(
                        "Require on {} {}, which no SpnegoAuth covers: wrap the app or scope \
                         with SpnegoAuth outside Require",
                        req.method(),
                        req.path()
                    );
                    Arc::new(Config::default())
                });
                config.unauthorized_response(req.request())
            }
            Some(id) => {
                let config = by.unwrap_or_else(|| Arc::new(Config::default()));
                match self.rule.refusal(req.request(), id, &config, "") {
                    Some(res) => res,
                    None => {
                        let fut = self.service.call(req);
                        return Box::pin(async move { Ok(fut.await?.map_into_left_body()) });
                    }
                }
            }
        };
        Box::pin(ready(Ok(req.into_response(res).map_into_right_body())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> KerberosIdentity {
        KerberosIdentity::for_tests("alice@EXAMPLE.TEST", None)
    }

    #[test]
    fn verdicts() {
        let rule = Rule::Principals(["alice@EXAMPLE.TEST".to_owned()].into());
        assert_eq!(verdict(&rule, None), Verdict::Challenge);
        assert_eq!(verdict(&rule, Some(&alice())), Verdict::Allow);
        let bob = KerberosIdentity::for_tests("bob@EXAMPLE.TEST", None);
        assert_eq!(verdict(&rule, Some(&bob)), Verdict::Refuse);
        // Realm included: the same name in another realm is someone else.
        let evil = KerberosIdentity::for_tests("alice@EVIL.TEST", None);
        assert_eq!(verdict(&rule, Some(&evil)), Verdict::Refuse);
    }

    #[test]
    fn rules() {
        let realm = Rule::Realms(["EXAMPLE.TEST".to_owned()].into());
        assert!(realm.allows(&alice()));
        assert!(!realm.allows(&KerberosIdentity::for_tests("a@EXAMPLE.TEST.EVIL", None)));
        assert!(!realm.allows(&KerberosIdentity::for_tests("no-realm", None)));
        // Group rules refuse an identity without a PAC.
        let g: Sid = "S-1-5-21-1-2-3-1106".parse().unwrap();
        assert!(!Rule::AnyGroup(vec![g.clone()]).allows(&alice()));
        assert!(!Rule::AllGroups(vec![]).allows(&alice()));
        let either =
            Require::realms(["OTHER.TEST"]).or(Require::principals(["alice@EXAMPLE.TEST"]));
        assert!(either.rule.allows(&alice()));
        assert_eq!(
            either.rule.to_string(),
            "(realm one of OTHER.TEST) or (principal one of alice@EXAMPLE.TEST)"
        );
        let p = Require::predicate("a short name", |id| id.principal().len() < 5);
        assert!(!p.rule.allows(&alice()));
        assert_eq!(p.rule.to_string(), "a short name");
    }

    #[test]
    fn group_rules_by_name_and_by_the_sources_sids() {
        use crate::groups::Group;
        let admins: Sid = "S-1-5-21-1-2-3-512".parse().unwrap();
        let ops = Group::new("operators".to_owned(), None);
        let domain_admins = Group::new("Domain Admins".to_owned(), Some(admins.clone()));
        let with = |groups: Vec<Group>| alice().with_groups(groups.into());
        let none = with(vec![]);
        let op = with(vec![ops.clone()]);
        let both = with(vec![ops, domain_admins]);
        let any = Require::any_group_named(["operators", "sre"]);
        let all = Require::all_groups_named(["operators", "Domain Admins"]);
        assert_eq!(
            (
                any.rule.allows(&none),
                any.rule.allows(&op),
                any.rule.allows(&both)
            ),
            (false, true, true)
        );
        assert_eq!(
            (
                all.rule.allows(&none),
                all.rule.allows(&op),
                all.rule.allows(&both)
            ),
            (false, false, true)
        );
        // Exact names: no case folding, no prefixes, no trimming.
        for near in ["Operators", "operator", "operators ", ""] {
            assert!(!with(vec![Group::new(near.to_owned(), None)]).is_in_group("operators"));
            assert!(!any
                .rule
                .allows(&with(vec![Group::new(near.to_owned(), None)])));
        }
        assert!(!Require::all_groups_named(Vec::<String>::new())
            .rule
            .allows(&both));
        // A SID rule finds the group source's SIDs too; a name rule never matches a SID.
        assert!(Rule::AnyGroup(vec![admins.clone()]).allows(&both));
        assert!(Rule::AllGroups(vec![admins.clone()]).allows(&both));
        assert!(!Rule::AnyGroup(vec![admins.clone()]).allows(&op));
        assert!(!Require::any_group_named([admins.to_string()])
            .rule
            .allows(&both));
        assert_eq!(
            all.rule.to_string(),
            "member of all of the groups named \"Domain Admins\", \"operators\""
        );
    }

    #[test]
    fn group_rules_with_a_pac() {
        let pac = crate::pac::tests::Builder::alice().bytes();
        let id = KerberosIdentity::for_tests("alice@AD.TEST", Some(pac));
        let member: Sid = "S-1-5-21-1-2-3-1106".parse().unwrap();
        let other: Sid = "S-1-5-21-1-2-3-1999".parse().unwrap();
        assert!(Rule::AnyGroup(vec![other.clone(), member.clone()]).allows(&id));
        assert!(!Rule::AllGroups(vec![other.clone(), member.clone()]).allows(&id));
        assert!(Rule::AllGroups(vec![member]).allows(&id));
        assert!(!Rule::AnyGroup(vec![other]).allows(&id));
    }
}
