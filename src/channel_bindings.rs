//! TLS channel bindings (RFC 5929 `tls-server-end-point`, "Extended Protection"): a login
//! bound to the server certificate cannot be relayed to another TLS endpoint.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::error::{Error, ErrorKind};

/// Channel bindings for logins over TLS, for [`SpnegoAuthBuilder::channel_bindings`].
///
/// Made from the certificate the server presents: the bindings are
/// `tls-server-end-point:` followed by the certificate's hash (RFC 5929 §4.1: the hash of its
/// signature algorithm, SHA-256 when that is MD5 or SHA-1), which a client that binds puts in
/// its Kerberos authenticator. GSSAPI then checks that both sides saw the same certificate,
/// so a token captured by a TLS endpoint that is not this server (a phishing proxy with its
/// own certificate) is refused here.
///
/// Modes:
/// - **when the client sends them** (the default once bindings are configured): a client that
///   bound to another certificate is refused (`403`); a client that sent none (browsers on
///   Linux and macOS, curl before 8.10, requests-gssapi) still logs in, unbound (MIT ≥ 1.19);
/// - **[`required`](Self::required)**: a login that is not channel-bound is refused (`403`).
///
/// They apply to requests that arrived over TLS (`HttpServer::bind_rustls_0_23` and the
/// like: actix-web's `AppConfig::secure`). Behind a TLS-terminating reverse proxy the
/// client's TLS connection ends at the proxy, so bindings name *the proxy's* certificate:
/// configure that one and call [`behind_tls_proxy`](Self::behind_tls_proxy), or leave
/// bindings off. [`KerberosIdentity::is_channel_bound`] says whether a login was bound.
///
/// ```
/// use actix_gssapi::{ChannelBindings, SpnegoAuth};
///
/// # fn certificate_der() -> Vec<u8> {
/// #     std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/rsa-sha256.der"))
/// #         .unwrap()
/// # }
/// // The DER bytes of the certificate the server presents (the first of its chain).
/// let bindings = ChannelBindings::tls_server_end_point(&certificate_der())?;
/// let builder = SpnegoAuth::builder().channel_bindings(bindings.required());
/// # Ok::<(), actix_gssapi::Error>(())
/// ```
///
/// [`SpnegoAuthBuilder::channel_bindings`]: crate::SpnegoAuthBuilder::channel_bindings
/// [`KerberosIdentity::is_channel_bound`]: crate::KerberosIdentity::is_channel_bound
#[derive(Clone)]
#[must_use]
pub struct ChannelBindings {
    application_data: Arc<[u8]>,
    required: bool,
    behind_proxy: bool,
}

impl ChannelBindings {
    /// The `tls-server-end-point` bindings of a certificate (DER, as in a PEM file's base64),
    /// in the "when the client sends them" mode.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the bytes are not an X.509 certificate, or its signature
    /// algorithm has no hash RFC 5929 can use (Ed25519, Ed448: use channel bindings only
    /// with RSA, ECDSA or DSA certificates).
    pub fn tls_server_end_point(certificate_der: &[u8]) -> Result<Self, Error> {
        let hash = signature_hash(certificate_der).map_err(|why| {
            Error::new(
                ErrorKind::Config,
                format!("no tls-server-end-point channel bindings for this certificate: {why}"),
            )
        })?;
        let digest = hash.digest(certificate_der);
        let mut data = b"tls-server-end-point:".to_vec();
        data.extend_from_slice(&digest);
        Ok(Self {
            application_data: data.into(),
            required: false,
            behind_proxy: false,
        })
    }

    /// Refuse (`403`) every login that is not bound to this certificate: clients that send no
    /// bindings, and requests that did not come over TLS.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Apply the bindings to requests that reached this server over plain HTTP, from a reverse
    /// proxy that terminates TLS with this certificate (the proxy's own).
    pub fn behind_tls_proxy(mut self) -> Self {
        self.behind_proxy = true;
        self
    }

    /// The bytes given to GSSAPI as the bindings' application data:
    /// `tls-server-end-point:<hash>`.
    pub fn application_data(&self) -> &[u8] {
        &self.application_data
    }

    /// Whether unbound logins are refused.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The application data for a request, `None` when the bindings do not apply to it.
    pub(crate) fn for_request(&self, over_tls: bool) -> Option<Arc<[u8]>> {
        (over_tls || self.behind_proxy).then(|| Arc::clone(&self.application_data))
    }
}

impl fmt::Debug for ChannelBindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBindings")
            .field("required", &self.required)
            .field("behind_proxy", &self.behind_proxy)
            .finish_non_exhaustive()
    }
}

/// The hash RFC 5929 §4.1 picks for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha224 => Sha224::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The hash of a hash algorithm's OID (RSASSA-PSS parameters); MD5 and SHA-1 become
    /// SHA-256.
    fn of_digest_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.113549.2.5" | "1.3.14.3.2.26" => Self::Sha256, // MD5, SHA-1
            "2.16.840.1.101.3.4.2.4" => Self::Sha224,
            "2.16.840.1.101.3.4.2.1" => Self::Sha256,
            "2.16.840.1.101.3.4.2.2" => Self::Sha384,
            "2.16.840.1.101.3.4.2.3" => Self::Sha512,
            _ => return None,
        })
    }
}

/// The hash for the certificate's `signatureAlgorithm`.
fn signature_hash(certificate: &[u8]) -> Result<Hash, String> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, ... }
    let (certificate, rest) = der::take(certificate, der::SEQUENCE)?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".into());
    }
    let (_tbs, rest) = der::take(certificate, der::SEQUENCE)?;
    let (algorithm, _) = der::take(rest, der::SEQUENCE)?;
    let (oid, parameters) = der::take(algorithm, der::OID)?;
    let oid = der::oid_text(oid)?;
    let hash = match oid.as_str() {
        // md2, md5, sha1 WithRSAEncryption; ecdsa-with-SHA1; dsa-with-sha1
        "1.2.840.113549.1.1.2"
        | "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.10045.4.1"
        | "1.2.840.10040.4.3" => Hash::Sha256,
        "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" | "2.16.840.1.101.3.4.3.1" => Hash::Sha224,
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" | "2.16.840.1.101.3.4.3.2" => Hash::Sha256,
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => Hash::Sha384,
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => Hash::Sha512,
        // RSASSA-PSS: the hash is in the parameters, SHA-1 (so SHA-256) by default.
        "1.2.840.113549.1.1.10" => pss_hash(parameters)?,
        other => return Err(format!("signature algorithm {other} has no RFC 5929 hash")),
    };
    Ok(hash)
}

/// `RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }`
fn pss_hash(parameters: &[u8]) -> Result<Hash, String> {
    let (params, _) = der::take(parameters, der::SEQUENCE)?;
    let Ok((explicit, _)) = der::take(params, 0xa0) else {
        return Ok(Hash::Sha256);
    };
    let (algorithm, _) = der::take(explicit, der::SEQUENCE)?;
    let (oid, _) = der::take(algorithm, der::OID)?;
    let oid = der::oid_text(oid)?;
    Hash::of_digest_oid(&oid).ok_or_else(|| format!("RSASSA-PSS hash {oid} is not supported"))
}

/// The little DER a certificate's signature algorithm needs.
mod der {
    pub(super) const SEQUENCE: u8 = 0x30;
    pub(super) const OID: u8 = 0x06;

    /// The content of the element with `tag` at the start of `input`, and what follows it.
    pub(super) fn take(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
        let [found, first, rest @ ..] = input else {
            return Err("truncated DER".into());
        };
        if *found != tag {
            return Err(format!("expected DER tag {tag:#04x}, found {found:#04x}"));
        }
        let (len, rest) = match *first {
            short @ 0..=0x7f => (usize::from(short), rest),
            long @ 0x81..=0x84 => {
                let n = usize::from(long & 0x7f);
                if rest.len() < n {
                    return Err("truncated DER length".into());
                }
                let (digits, rest) = rest.split_at(n);
                let len = digits
                    .iter()
                    .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
                (len, rest)
            }
            _ => return Err("unsupported DER length".into()),
        };
        if rest.len() < len {
            return Err("truncated DER element".into());
        }
        Ok(rest.split_at(len))
    }

    /// An OID's dotted text (`1.2.840.113549.1.1.11`).
    pub(super) fn oid_text(oid: &[u8]) -> Result<String, String> {
        let mut arcs: Vec<u64> = Vec::new();
        let mut value: u64 = 0;
        for (i, &b) in oid.iter().enumerate() {
            if value > u64::MAX >> 7 {
                return Err("OID arc too large".into());
            }
            value = (value << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let first = (value / 40).min(2);
                    arcs.push(first);
                    arcs.push(value - first * 40);
                } else {
                    arcs.push(value);
                }
                value = 0;
            } else if i + 1 == oid.len() {
                return Err("truncated OID".into());
            }
        }
        if arcs.is_empty() {
            return Err("empty OID".into());
        }
        Ok(arcs
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls");
        std::fs::read(format!("{dir}/{name}.der")).unwrap()
    }

    /// The certificates in tests/data/tls were made with openssl (see their README), with the
    /// signature algorithms named; the expected hash lengths follow RFC 5929 §4.1.
    #[test]
    fn the_hash_follows_the_signature_algorithm() {
        for (name, hash, len) in [
            ("rsa-sha256", Hash::Sha256, 32),
            ("rsa-sha1", Hash::Sha256, 32),
            ("rsa-sha512", Hash::Sha512, 64),
            ("ecdsa-sha384", Hash::Sha384, 48),
            ("rsa-pss-sha384", Hash::Sha384, 48),
        ] {
            let der = certificate(name);
            assert_eq!(signature_hash(&der), Ok(hash), "{name}");
            let bindings = ChannelBindings::tls_server_end_point(&der).unwrap();
            let data = bindings.application_data();
            assert_eq!(data.len(), "tls-server-end-point:".len() + len, "{name}");
            assert_eq!(&data[21..], &hash.digest(&der)[..], "{name}");
        }
        let ed25519 = certificate("ed25519");
        let e = ChannelBindings::tls_server_end_point(&ed25519).unwrap_err();
        assert!(e.to_string().contains("1.3.101.112"), "{e}");
    }

    #[test]
    fn the_digest_matches_openssl() {
        // `openssl x509 -in rsa-sha256.pem -outform der | openssl dgst -sha256`, recorded in
        // tests/data/tls/rsa-sha256.sha256.
        let der = certificate("rsa-sha256");
        let expected = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/tls/rsa-sha256.sha256"
        ))
        .unwrap();
        let hex: String = Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected.trim());
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let der = certificate("rsa-sha256");
        for end in 0..der.len() {
            assert!(signature_hash(&der[..end]).is_err(), "prefix of {end}");
        }
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
        ] {
            assert!(ChannelBindings::tls_server_end_point(bytes).is_err());
        }
        assert!(der::oid_text(&[0x80]).is_err());
        assert!(der::oid_text(&[0xff; 20]).is_err());
        assert_eq!(
            der::oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]).unwrap(),
            "1.2.840.113549.1.1.11"
        );
    }
}
