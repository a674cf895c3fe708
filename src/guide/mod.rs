//!
//! Read [`keytab`] first: the service principal must be `HTTP/<the host name in the URL>`,
//! and the keytab must hold its key.
//!
//! - [`keytab`]: the keytab, how the service principal is chosen, exporting keys from MIT and
//!   Active Directory, start-up errors.
//! - [`active_directory`]: PAC groups and [`Require`](crate::Require), constrained
//!   delegation, forwarded credentials, large tickets.
//! - [`groups`]: groups for tickets without a PAC (MIT, FreeIPA), from the host's name
//!   service or an LDAP directory.
//! - [`composition`]: open routes beside a protected scope, optional login, why wrapping a
//!   scope is safe against path tricks, CORS, WebSockets, custom answers, session cookies,
//!   the password fallback.
//! - [`deployment`]: several nodes (session key, Redis replay store), overload, TLS and
//!   channel bindings, logging, metrics.
//! - [`forward_auth`]: Kerberos in front of an application that knows nothing of it, behind
//!   nginx (`auth_request`) or Caddy (`forward_auth`) and [`ForwardAuth`](crate::ForwardAuth).
//! - [`outbound`]: calling back ends as the user, with delegated or constrained-delegation
//!   credentials (awc and reqwest recipes, mutual authentication, channel bindings).
//! - [`security`]: the security model: what is checked, what each answer means, what is left
//!   to you.
//! - [`coming_from`]: mod_auth_gssapi directive by directive, and a side-by-side comparison
//!   with ASGI-GSSAPI.
//!
//! [`keytab`]: crate::guide::keytab
//! [`active_directory`]: crate::guide::active_directory
//! [`groups`]: crate::guide::groups
//! [`composition`]: crate::guide::composition
//! [`deployment`]: crate::guide::deployment
//! [`forward_auth`]: crate::guide::forward_auth
//! [`outbound`]: crate::guide::outbound
//! [`security`]: crate::guide::security
//! [`coming_from`]: crate::guide::coming_from

pub mod keytab {
    #![doc = include_str!("keytab.md")]
}

pub mod active_directory {
    #![doc = include_str!("active_directory.md")]
}

pub mod groups {
    #![doc = include_str!("groups.md")]
}

pub mod composition {
    #![doc = include_str!("composition.md")]
}

pub mod deployment {
    #![doc = include_str!("deployment.md")]
}

pub mod forward_auth {
    #![doc = include_str!("forward_auth.md")]
}

pub mod outbound {
    #![doc = include_str!("outbound.md")]
}

pub mod security {
    #![doc = include_str!("security.md")]
}

pub mod coming_from {
    #![doc = include_str!("coming_from.md")]
}
