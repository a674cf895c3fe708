//! `TrustedProxy`: whose word [`ForwardAuth`](crate::ForwardAuth) takes for which request it is
//! asked about.

use std::fmt;
use std::net::IpAddr;

use actix_web::http::header::HeaderName;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

/// Who may tell a [`ForwardAuth`](crate::ForwardAuth) endpoint which request it is asked about
/// (the original method and URI, in `X-Forwarded-Method` and `X-Forwarded-Uri`), for its
/// per-route rules. A request from anyone else is judged as if it could be for any route:
/// every rule applies to it.
///
/// Two checks, each optional, both required when both are set:
/// - **the peer address** (the TCP connection's, not `X-Forwarded-For`): loopback by default,
///   for a proxy on the same host;
/// - **a shared secret** in a header the proxy sets on its sub-request (nginx:
///   `proxy_set_header X-Forward-Auth-Secret "…";` in the `internal` location), for a proxy
///   on another host, or other local users who could reach the endpoint.
///
/// Either way the proxy must *set* the two headers (nginx `proxy_set_header`, which replaces a
/// client's copy; Caddy and Traefik set theirs): a client's own `X-Forwarded-Uri` beside the
/// proxy's makes two values, and the endpoint then applies every rule.
///
/// ```
/// use actix_gssapi::{ForwardAuth, Require, TrustedProxy};
/// use actix_web::http::header::HeaderName;
///
/// let secret = std::env::var("FORWARD_AUTH_SECRET").unwrap_or_default();
/// let endpoint = ForwardAuth::new()
///     .trusted_proxy(
///         TrustedProxy::peers(["10.0.0.5".parse().unwrap()])
///             .secret_header(HeaderName::from_static("x-forward-auth-secret"), secret),
///     )
///     .require("/admin", Require::principals(["root@EXAMPLE.COM"]));
/// ```
#[must_use]
#[derive(Clone)]
pub struct TrustedProxy {
    peers: Peers,
    /// The header and the SHA-256 of the secret: compared in constant time, and the secret
    /// itself is not kept.
    secret: Option<(HeaderName, [u8; 32])>,
}

#[derive(Clone, Debug)]
enum Peers {
    Loopback,
    Listed(Vec<IpAddr>),
    Any,
}

impl Default for TrustedProxy {
    fn default() -> Self {
        Self::loopback()
    }
}

impl fmt::Debug for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxy")
            .field("peers", &self.peers)
            .field("secret_header", &self.secret.as_ref().map(|(name, _)| name))
            .finish()
    }
}

impl TrustedProxy {
    /// A proxy connecting from a loopback address (`127.0.0.0/8`, `::1`). The default.
    pub fn loopback() -> Self {
        Self {
            peers: Peers::Loopback,
            secret: None,
        }
    }

    /// A proxy connecting from one of these addresses.
    pub fn peers(addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        Self {
            peers: Peers::Listed(addresses.into_iter().map(canonical).collect()),
            secret: None,
        }
    }

    /// A proxy connecting from anywhere that sends `secret` in `header`: the secret alone
    /// decides.
    pub fn secret_only(header: HeaderName, secret: impl AsRef<[u8]>) -> Self {
        Self {
            peers: Peers::Any,
            secret: None,
        }
        .secret_header(header, secret)
    }

    /// Also requires `secret` in `header`. An empty secret is never matched: nothing is
    /// trusted, every rule applies to every request.
    pub fn secret_header(mut self, header: HeaderName, secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        let digest = if secret.is_empty() {
            // No header value hashes to all zeroes (or finding one breaks SHA-256).
            [0; 32]
        } else {
            Sha256::digest(secret).into()
        };
        self.secret = Some((header, digest));
        self
    }

    /// Why `req` is not from the trusted proxy, or `None` when it is.
    pub(crate) fn distrust(&self, req: &HttpRequest) -> Option<String> {
        let peer = req.peer_addr().map(|a| canonical(a.ip()));
        let peer_ok = match (&self.peers, peer) {
            (Peers::Any, _) => true,
            (Peers::Loopback, Some(ip)) => ip.is_loopback(),
            (Peers::Listed(list), Some(ip)) => list.contains(&ip),
            (_, None) => false,
        };
        if !peer_ok {
            return Some(match peer {
                Some(ip) => format!("it came from {ip}, which is not a trusted proxy"),
                None => "its peer address is unknown".to_owned(),
            });
        }
        if let Some((name, expected)) = &self.secret {
            let mut values = req.headers().get_all(name);
            let matches = match (values.next(), values.next()) {
                (Some(value), None) => {
                    let got: [u8; 32] = Sha256::digest(value.as_bytes()).into();
                    // Constant time: no early exit on the first differing byte.
                    got.iter()
                        .zip(expected)
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
                }
                _ => false,
            };
            if !matches {
                return Some(format!("its {name} is missing or wrong"));
            }
        }
        None
    }
}

/// `::ffff:127.0.0.1` is `127.0.0.1`: dual-stack sockets report IPv4 peers that way.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn from(peer: &str, secret: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(secret) = secret {
            req = req.insert_header(("x-secret", secret));
        }
        req.to_http_request()
    }

    #[test]
    fn loopback_by_default() {
        let trust = TrustedProxy::default();
        assert_eq!(trust.distrust(&from("127.0.0.1:1", None)), None);
        assert_eq!(trust.distrust(&from("127.8.9.10:1", None)), None);
        assert_eq!(trust.distrust(&from("[::1]:1", None)), None);
        assert_eq!(trust.distrust(&from("[::ffff:127.0.0.1]:1", None)), None);
        assert_eq!(
            trust.distrust(&from("10.0.0.5:1", None)).as_deref(),
            Some("it came from 10.0.0.5, which is not a trusted proxy")
        );
        assert!(trust
            .distrust(&TestRequest::default().to_http_request())
            .is_some());
    }

    #[test]
    fn listed_peers_and_secrets() {
        let name = HeaderName::from_static("x-secret");
        let trust = TrustedProxy::peers(["10.0.0.5".parse().unwrap()]);
        assert_eq!(trust.distrust(&from("10.0.0.5:1", None)), None);
        assert_eq!(trust.distrust(&from("[::ffff:10.0.0.5]:1", None)), None);
        assert!(trust.distrust(&from("127.0.0.1:1", None)).is_some());

        let both = trust.secret_header(name.clone(), "s3cret");
        assert_eq!(both.distrust(&from("10.0.0.5:1", Some("s3cret"))), None);
        let wrong = both.distrust(&from("10.0.0.5:1", Some("s3cret!"))).unwrap();
        assert_eq!(wrong, "its x-secret is missing or wrong");
        assert!(!wrong.contains("s3cret"), "the secret is never in a reason");
        assert!(both.distrust(&from("10.0.0.5:1", None)).is_some());
        assert!(both.distrust(&from("10.0.0.6:1", Some("s3cret"))).is_some());
        let two = TestRequest::default()
            .peer_addr("10.0.0.5:1".parse().unwrap())
            .append_header(("x-secret", "s3cret"))
            .append_header(("x-secret", "s3cret"))
            .to_http_request();
        assert!(both.distrust(&two).is_some(), "two copies are refused");

        let anywhere = TrustedProxy::secret_only(name.clone(), "s3cret");
        assert_eq!(
            anywhere.distrust(&from("192.0.2.1:1", Some("s3cret"))),
            None
        );
        assert!(anywhere.distrust(&from("127.0.0.1:1", None)).is_some());
        let empty = TrustedProxy::secret_only(name, "");
        assert!(empty.distrust(&from("127.0.0.1:1", Some(""))).is_some());
        assert!(!format!("{both:?}").contains("s3cret"));
    }
}
