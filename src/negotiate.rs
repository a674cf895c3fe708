//! `Authorization: Negotiate` parsing and `WWW-Authenticate` rendering ([RFC 4559 §4]).
//!
//! Everything here is a pure function of the request's header values: no GSSAPI, no I/O. That
//! keeps the part of the crate that reads attacker-controlled bytes small, unit-tested and
//! fuzzable.
//!
//! [RFC 4559 §4]: https://www.rfc-editor.org/rfc/rfc4559#section-4

use std::fmt;

use actix_web::http::header::HeaderMap;
use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// The authentication scheme name, as sent in challenges.
pub(crate) const SCHEME: &str = "Negotiate";

/// The largest `Authorization` value we decode, in bytes of base64.
///
/// Active Directory tickets with large PACs reach 16 KiB of base64 and Windows caps a Kerberos
/// token at 48,000 bytes (`MaxTokenSize`), i.e. 64,000 bytes of base64. Anything longer cannot be
/// a Kerberos token, so it is refused before it is decoded or handed to GSSAPI.
pub(crate) const MAX_HEADER_LEN: usize = 64 * 1024;

/// Standard alphabet, canonical padding (`YQ==`).
const B64_PADDED: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Standard alphabet without padding (`YQ`): some clients strip it.
const B64_UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// What a request's `Authorization` header(s) say, before any GSSAPI work.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Authorization {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header with another scheme (`Basic`, `Bearer`, ...).
    OtherScheme,
    /// A Negotiate header that cannot carry a valid token; the reason is safe to log.
    Malformed(Malformed),
    /// A decoded Negotiate token, to be given to GSSAPI.
    Token(Vec<u8>),
}

// Never print token bytes (httpauth's `Bearer` does the same).
impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("Missing"),
            Self::OtherScheme => f.write_str("OtherScheme"),
            Self::Malformed(why) => write!(f, "Malformed({why})"),
            Self::Token(t) => write!(f, "Negotiate ****** ({} bytes)", t.len()),
        }
    }
}

/// Why a `Negotiate` header was refused before GSSAPI saw it (in
/// [`AuthEvent::Malformed`](crate::AuthEvent::Malformed)); its `Display` is the reason the
/// log line gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// More than one `Authorization` header: refused rather than guessing which one counts.
    SeveralHeaders,
    /// The header value has bytes outside visible ASCII.
    NotAscii,
    /// `Negotiate` with no token after it.
    NoToken,
    /// The header is longer than 64 KiB (no Kerberos token is that long).
    TooLong,
    /// The token is not standard base64.
    BadBase64,
    /// The token is an NTLMSSP message (a client that fell back from Kerberos to NTLM).
    Ntlm,
    /// The token is not a GSS-API initial context token (RFC 2743 §3.1: DER `[APPLICATION 0]`).
    NotInitialToken,
    /// The token's DER length does not match its size: truncated, or with trailing bytes.
    BadFraming,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SeveralHeaders => "several Authorization headers",
            Self::NotAscii => "Authorization header is not visible ASCII",
            Self::NoToken => "Negotiate without a token",
            Self::TooLong => "Negotiate token longer than 64 KiB",
            Self::BadBase64 => "Negotiate token is not valid base64",
            Self::Ntlm => {
                "NTLM token: the client fell back to NTLM, which this server does not accept \
                 (is the client in the realm, and is the host name in its trusted list?)"
            }
            Self::NotInitialToken => "Negotiate token is not a GSS-API initial context token",
            Self::BadFraming => {
                "Negotiate token length does not match its DER header (truncated or trailing data)"
            }
        })
    }
}

/// Reads the `Authorization` header(s) of a request.
pub(crate) fn parse_headers(headers: &HeaderMap) -> Authorization {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(first) = values.next() else {
        return Authorization::Missing;
    };
    if values.next().is_some() {
        // Two headers (e.g. a proxy's `Basic` beside the browser's `Negotiate`): RFC 9110 lets a
        // request carry one set of credentials only; picking one would let the other decide.
        return Authorization::Malformed(Malformed::SeveralHeaders);
    }
    parse_value(first)
}

/// Reads one `Authorization` header value.
pub(crate) fn parse_value(value: &HeaderValue) -> Authorization {
    parse_bytes(value.as_bytes())
}

/// Reads one `Authorization` header value, given as raw bytes (obs-text included).
pub(crate) fn parse_bytes(value: &[u8]) -> Authorization {
    match token_bytes(value) {
        Ok(bytes) => match inspect_token(&bytes) {
            Ok(()) => Authorization::Token(bytes),
            Err(why) => Authorization::Malformed(why),
        },
        Err(other) => other,
    }
}

/// The decoded token of a `Negotiate <base64>` value, framing unchecked (a server's answer,
/// a SPNEGO `NegTokenResp`, has no `[APPLICATION 0]` header), or what the value is instead.
pub(crate) fn token_bytes(value: &[u8]) -> Result<Vec<u8>, Authorization> {
    let value = trim_ows(value);
    // The scheme is a token (RFC 9110 §11.1) compared case-insensitively.
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(SCHEME.as_bytes()) {
        return Err(Authorization::OtherScheme);
    }
    if value.len() > MAX_HEADER_LEN {
        return Err(Authorization::Malformed(Malformed::TooLong));
    }
    let token = trim_ows(rest);
    if token.is_empty() {
        return Err(Authorization::Malformed(Malformed::NoToken));
    }
    if !token.iter().all(|b| b.is_ascii_graphic()) {
        // Covers embedded spaces, control bytes (NUL, newline) and obs-text (>= 0x80).
        return Err(Authorization::Malformed(Malformed::NotAscii));
    }
    // Padding is either complete or absent: a partial one (`YQ=`, which the base64 crate's
    // lenient mode takes) would give one token several spellings. Found by fuzzing
    // (fuzz/regressions/authorization_header-partial-padding).
    let engine = if token.ends_with(b"=") {
        &B64_PADDED
    } else {
        &B64_UNPADDED
    };
    match engine.decode(token) {
        Ok(bytes) if bytes.is_empty() => Err(Authorization::Malformed(Malformed::NoToken)),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(Authorization::Malformed(Malformed::BadBase64)),
    }
}

/// Whether a well-framed initial token is SPNEGO's (the OID right after `[APPLICATION 0]`);
/// GSSAPI accepts Kerberos 5 otherwise.
pub(crate) fn is_spnego(token: &[u8]) -> bool {
    const SPNEGO: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    let body = match token {
        [0x60, short, body @ ..] if *short < 0x80 => body,
        [0x60, long, rest @ ..] => rest.get(usize::from(long & 0x7f)..).unwrap_or_default(),
        _ => &[],
    };
    body.starts_with(SPNEGO)
}

/// Checks the framing of a decoded token before GSSAPI sees it.
///
/// Every first-round token of Kerberos or SPNEGO is a GSS-API InitialContextToken (RFC 2743
/// §3.1): DER `[APPLICATION 0]` (`0x60`) whose length covers the whole token. Checking that
/// here refuses truncated, concatenated and padded tokens deterministically (GSSAPI ignores
/// trailing bytes), names NTLM fallbacks, and keeps obvious garbage away from the keytab and
/// the replay cache.
pub(crate) fn inspect_token(token: &[u8]) -> Result<(), Malformed> {
    if token.starts_with(b"NTLMSSP\0") {
        // Browsers send a raw NTLMSSP message under `Negotiate` when they could not get a
        // Kerberos ticket; GSSAPI would only say "An unsupported mechanism was requested".
        return Err(Malformed::Ntlm);
    }
    let [0x60, first_len, rest @ ..] = token else {
        return Err(Malformed::NotInitialToken);
    };
    let (len, body) = match *first_len {
        short @ 0..=0x7f => (usize::from(short), rest),
        long @ 0x81..=0x84 => {
            let n = usize::from(long & 0x7f);
            if rest.len() < n {
                return Err(Malformed::BadFraming);
            }
            let (digits, body) = rest.split_at(n);
            let len = digits
                .iter()
                .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
            (len, body)
        }
        _ => return Err(Malformed::BadFraming),
    };
    if len != body.len() {
        return Err(Malformed::BadFraming);
    }
    Ok(())
}

fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Renders `Negotiate <base64>` for a mutual-authentication token.
pub(crate) fn challenge_with_token(token: &[u8]) -> String {
    let mut out = String::with_capacity(SCHEME.len() + 1 + token.len().div_ceil(3) * 4);
    out.push_str(SCHEME);
    out.push(' ');
    base64::engine::general_purpose::STANDARD.encode_string(token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn parse(s: &str) -> Authorization {
        parse_bytes(s.as_bytes())
    }

    fn token(bytes: &[u8]) -> Authorization {
        Authorization::Token(bytes.to_vec())
    }

    #[test]
    fn scheme_is_case_insensitive_and_spacing_tolerant() {
        let t = STANDARD.encode(b"\x60\x01\x02");
        for header in [
            format!("Negotiate {t}"),
            format!("negotiate {t}"),
            format!("NEGOTIATE {t}"),
            format!("Negotiate  {t}"),
            format!("Negotiate\t{t}"),
            format!("  Negotiate {t}  "),
        ] {
            assert_eq!(parse(&header), token(b"\x60\x01\x02"), "{header:?}");
        }
    }

    #[test]
    fn other_schemes_are_not_negotiate() {
        for header in [
            "Basic YWxpY2U6cGFzcw==",
            "Bearer abc",
            "NegotiateX abc",
            "Negotiat abc",
            "NTLM TlRMTVNTUAABAAAA",
            "",
            "   ",
            "Kerberos abc",
        ] {
            assert_eq!(parse(header), Authorization::OtherScheme, "{header:?}");
        }
    }

    #[test]
    fn negotiate_without_token_is_malformed() {
        for header in ["Negotiate", "Negotiate ", "negotiate\t \t"] {
            assert_eq!(
                parse(header),
                Authorization::Malformed(Malformed::NoToken),
                "{header:?}"
            );
        }
    }

    #[test]
    fn bad_base64_is_malformed() {
        for header in [
            "Negotiate !!!notbase64",
            "Negotiate YW=Jj",
            "Negotiate YWJj=====",
            "Negotiate YWJ-",
            "Negotiate YWJ_",
            "Negotiate Y",
            "Negotiate =",
            "Negotiate YAJhYg=",
            "Negotiate Ag=",
            "Negotiate YQ=",
        ] {
            assert_eq!(
                parse(header),
                Authorization::Malformed(Malformed::BadBase64),
                "{header:?}"
            );
        }
    }

    #[test]
    fn fuzz_regressions_stay_fixed() {
        // fuzz/regressions/authorization_header-partial-padding (inlined: fuzz/ is not packaged).
        let partial_padding = b"Negotiate YAJhYg=";
        assert_eq!(
            parse_bytes(partial_padding),
            Authorization::Malformed(Malformed::BadBase64)
        );
    }

    #[test]
    fn padding_is_optional() {
        assert_eq!(parse("Negotiate YAA="), token(b"\x60\x00"));
        assert_eq!(parse("Negotiate YAA"), token(b"\x60\x00"));
    }

    #[test]
    fn control_and_non_ascii_bytes_are_malformed() {
        for header in [
            &b"Negotiate YW\0Jj"[..],
            b"Negotiate YW\nJj",
            b"Negotiate YWJj \xff",
            b"Negotiate \xc3\xa9\xc3\xa9",
            b"Negotiate YW Jj",
        ] {
            assert_eq!(
                parse_bytes(header),
                Authorization::Malformed(Malformed::NotAscii),
                "{header:?}"
            );
        }
    }

    #[test]
    fn ntlm_messages_are_recognised() {
        let negotiate = STANDARD.encode(b"NTLMSSP\0\x01\x00\x00\x00\x07\x82\x08\xa2");
        assert_eq!(
            parse(&format!("Negotiate {negotiate}")),
            Authorization::Malformed(Malformed::Ntlm)
        );
    }

    #[test]
    fn oversized_header_is_refused_before_decoding() {
        let huge = format!("Negotiate {}", "A".repeat(MAX_HEADER_LEN));
        assert_eq!(parse(&huge), Authorization::Malformed(Malformed::TooLong));
        // A 16 KiB token, the size of an Active Directory ticket with a large PAC, is fine.
        let ad = format!("Negotiate {}", STANDARD.encode(framed(12 * 1024)));
        assert!(matches!(parse(&ad), Authorization::Token(t) if t.len() == 12 * 1024 + 4));
    }

    #[test]
    fn several_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, HeaderValue::from_static("Negotiate YAA="));
        assert_eq!(parse_headers(&headers), token(b"\x60\x00"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Basic YWI="));
        assert_eq!(
            parse_headers(&headers),
            Authorization::Malformed(Malformed::SeveralHeaders)
        );
        assert_eq!(parse_headers(&HeaderMap::new()), Authorization::Missing);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let header = format!("Negotiate {}", STANDARD.encode(b"\x60\x0asecret-tok"));
        let shown = format!("{:?}", parse(&header));
        assert!(!shown.contains(&header[10..]), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown, "Negotiate ****** (12 bytes)");
    }

    /// A well-framed `[APPLICATION 0]` token with a `len`-byte body (long-form length).
    fn framed(len: usize) -> Vec<u8> {
        let mut t = vec![0x60, 0x82, (len >> 8) as u8, len as u8];
        t.resize(len + 4, 0xa5);
        t
    }

    #[test]
    fn the_mechanism_is_read_from_the_token() {
        // Real first tokens from the test realm (the fuzz seeds).
        let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/token_framing/");
        let spnego = std::fs::read(format!("{corpus}seed-real-spnego")).unwrap();
        let krb5 = std::fs::read(format!("{corpus}seed-real-krb5")).unwrap();
        assert_eq!(inspect_token(&spnego), Ok(()));
        assert!(is_spnego(&spnego));
        assert!(!is_spnego(&krb5));
        for short in [&[][..], &[0x60], &[0x60, 0x84], &spnego[..9]] {
            assert!(!is_spnego(short));
        }
    }

    #[test]
    fn token_framing_is_checked() {
        assert_eq!(inspect_token(b"\x60\x00"), Ok(()));
        assert_eq!(inspect_token(b"\x60\x02ab"), Ok(()));
        assert_eq!(inspect_token(&framed(300)), Ok(()));
        let bad: &[&[u8]] = &[
            b"\x60\x03ab",
            b"\x60\x01ab",
            b"\x60\x81",
            b"\x60\x80",
            b"\x60\x85aaaaa",
            b"\x60\x82\x00\x02a",
        ];
        for t in bad {
            assert_eq!(inspect_token(t), Err(Malformed::BadFraming), "{t:?}");
        }
        let mut trailing = framed(100);
        trailing.push(0);
        assert_eq!(inspect_token(&trailing), Err(Malformed::BadFraming));
        let mut concatenated = framed(100);
        concatenated.extend(framed(100));
        assert_eq!(inspect_token(&concatenated), Err(Malformed::BadFraming));
        assert_eq!(
            inspect_token(&framed(100)[..90]),
            Err(Malformed::BadFraming)
        );
        for t in [&b"\x60"[..], b"\xa1\x03abc", b"garbage", b"\x00"] {
            assert_eq!(inspect_token(t), Err(Malformed::NotInitialToken), "{t:?}");
        }
        assert_eq!(
            inspect_token(b"NTLMSSP\0\x03\x00\x00\x00"),
            Err(Malformed::Ntlm)
        );
    }

    #[test]
    fn challenge_renders_base64() {
        assert_eq!(challenge_with_token(b"ab"), "Negotiate YWI=");
    }
}
