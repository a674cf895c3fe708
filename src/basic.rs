//! `Authorization: Basic` parsing and the `Basic` challenge ([RFC 7617]), for the password
//! fallback ([`PasswordFallback`](crate::PasswordFallback)).
//!
//! Like `negotiate.rs`, a pure function of the header value: no GSSAPI, no I/O, unit-tested
//! and fuzzed (`fuzz/fuzz_targets/basic_credentials.rs`). What it refuses never reaches the
//! KDC: a malformed header costs no round trip.
//!
//! [RFC 7617]: https://www.rfc-editor.org/rfc/rfc7617

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The scheme name, as sent in challenges.
pub(crate) const SCHEME: &str = "Basic";

/// The longest `user:password` accepted, in bytes once decoded. Kerberos principals and
/// passwords are far shorter (Active Directory caps passwords at 256 characters); anything
/// longer is refused before it is decoded or sent to the KDC.
pub(crate) const MAX_CREDENTIALS_LEN: usize = 1024;

/// The longest base64 text that can decode to [`MAX_CREDENTIALS_LEN`] bytes.
const MAX_BASE64_LEN: usize = MAX_CREDENTIALS_LEN.div_ceil(3) * 4;

/// What one `Authorization` value says, read as Basic credentials.
#[derive(Debug)]
pub(crate) enum Basic {
    /// Another scheme (or none).
    OtherScheme,
    /// `Basic` with something that is not a usable `user:password`; the reason is safe to log.
    Malformed(BasicMalformed),
    /// A user and a password to check.
    Credentials(BasicCredentials),
}

/// Why `Basic` credentials were refused before the KDC saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasicMalformed {
    /// `Basic` with nothing after it.
    NoCredentials,
    /// More than [`MAX_CREDENTIALS_LEN`] bytes of credentials.
    TooLong,
    /// Not standard, padded base64 (RFC 7617 §2 uses RFC 4648 base64).
    BadBase64,
    /// The credentials are not UTF-8 (the challenge announces `charset="UTF-8"`).
    NotUtf8,
    /// A control character (NUL, newline, ...), which RFC 7617 §2 forbids in both parts.
    ControlCharacter,
    /// No `:` between the user and the password.
    NoColon,
    /// Nothing before the `:`.
    EmptyUser,
    /// Nothing after the `:`: no Kerberos account has an empty password.
    EmptyPassword,
}

impl fmt::Display for BasicMalformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCredentials => "Basic: no credentials",
            Self::TooLong => "Basic: credentials longer than 1 KiB",
            Self::BadBase64 => "Basic: credentials not in valid, padded base64",
            Self::NotUtf8 => "Basic: credentials not UTF-8",
            Self::ControlCharacter => "Basic: a control character in the credentials",
            Self::NoColon => "Basic: no colon between user and password",
            Self::EmptyUser => "Basic: empty user name",
            Self::EmptyPassword => "Basic: empty password",
        })
    }
}

/// A user name and password from a `Basic` header. The decoded bytes are wiped
/// (`explicit_bzero`) when the value is dropped, and `Debug` shows neither part.
pub(crate) struct BasicCredentials {
    decoded: Secret,
    /// Where the first `:` is: the user is before it, the password after it.
    colon: usize,
}

impl BasicCredentials {
    /// The user name as the client sent it (UTF-8, no control character, not empty).
    pub(crate) fn user(&self) -> &str {
        // Checked to be UTF-8 when parsed; a `:` is one byte, so both parts are UTF-8 too.
        std::str::from_utf8(&self.decoded.0[..self.colon]).unwrap_or_default()
    }

    /// The password (UTF-8, no control character, not empty).
    pub(crate) fn password(&self) -> &[u8] {
        &self.decoded.0[self.colon + 1..]
    }
}

// A user name may be a password typed into the wrong field: show neither.
impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Basic ******")
    }
}

/// Bytes that are wiped when dropped.
struct Secret(Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        // The spare capacity too: it may hold bytes the decoder wrote before truncating.
        let capacity = self.0.capacity();
        self.0.resize(capacity, 0);
        crate::sys::wipe(&mut self.0);
    }
}

/// The scheme and the rest of an `Authorization` value.
fn split_scheme(value: &[u8]) -> (&[u8], &[u8]) {
    let value = trim_ows(value);
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    (scheme, trim_ows(rest))
}

/// Whether an `Authorization` value is of the `Basic` scheme (without decoding it).
pub(crate) fn is_basic(value: &[u8]) -> bool {
    split_scheme(value)
        .0
        .eq_ignore_ascii_case(SCHEME.as_bytes())
}

/// Reads one `Authorization` value as Basic credentials.
pub(crate) fn parse_bytes(value: &[u8]) -> Basic {
    if !is_basic(value) {
        return Basic::OtherScheme;
    }
    let token = split_scheme(value).1;
    if token.is_empty() {
        return Basic::Malformed(BasicMalformed::NoCredentials);
    }
    if token.len() > MAX_BASE64_LEN {
        return Basic::Malformed(BasicMalformed::TooLong);
    }
    // Decoded straight into a buffer that is wiped on drop, with room for the whole result,
    // so that no copy of the password is left behind by a reallocation.
    let mut decoded = Secret(Vec::with_capacity(token.len() / 4 * 3 + 3));
    // STANDARD: the standard alphabet, canonical padding required, no trailing bits.
    if STANDARD.decode_vec(token, &mut decoded.0).is_err() {
        return Basic::Malformed(BasicMalformed::BadBase64);
    }
    match check(&decoded.0) {
        Ok(colon) => Basic::Credentials(BasicCredentials { decoded, colon }),
        Err(why) => Basic::Malformed(why),
    }
}

/// Checks decoded `user:password` bytes; the position of the first `:`.
fn check(decoded: &[u8]) -> Result<usize, BasicMalformed> {
    if decoded.len() > MAX_CREDENTIALS_LEN {
        return Err(BasicMalformed::TooLong);
    }
    if std::str::from_utf8(decoded).is_err() {
        return Err(BasicMalformed::NotUtf8);
    }
    if decoded.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(BasicMalformed::ControlCharacter);
    }
    // RFC 7617 §2: a user-id cannot contain a colon, a password can.
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or(BasicMalformed::NoColon)?;
    if colon == 0 {
        return Err(BasicMalformed::EmptyUser);
    }
    if colon + 1 == decoded.len() {
        return Err(BasicMalformed::EmptyPassword);
    }
    Ok(colon)
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

/// Whether `realm` can go into a challenge: printable ASCII (a header value browsers show).
pub(crate) fn valid_realm(realm: &str) -> bool {
    realm.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `Basic realm="<realm>", charset="UTF-8"` (RFC 7617 §2 and §2.1), the realm as a quoted
/// string. `realm` must be [`valid_realm`].
pub(crate) fn challenge(realm: &str) -> String {
    let mut out = String::with_capacity(realm.len() + 40);
    out.push_str(SCHEME);
    out.push_str(" realm=\"");
    for c in realm.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\", charset=\"UTF-8\"");
    out
}

/// Whether a `WWW-Authenticate` value already offers `Basic` (one challenge or a list).
pub(crate) fn offers_basic(www_authenticate: &[u8]) -> bool {
    // A loose look, good enough for the values an application writes: a `Basic` token at the
    // start or after a comma.
    www_authenticate
        .split(|&b| b == b',')
        .map(trim_ows)
        .any(|part| {
            part.len() >= SCHEME.len()
                && part[..SCHEME.len()].eq_ignore_ascii_case(SCHEME.as_bytes())
                && matches!(part.get(SCHEME.len()), None | Some(b' ' | b'\t'))
        })
}

/// A summary of what a value parses to that shows no credential bytes, for the fuzz targets.
#[cfg(fuzzing)]
pub(crate) fn fuzz_parse(value: &[u8]) -> Result<(String, Vec<u8>), String> {
    match parse_bytes(value) {
        Basic::OtherScheme => Err("not Basic".to_owned()),
        Basic::Malformed(why) => Err(why.to_string()),
        Basic::Credentials(c) => Ok((c.user().to_owned(), c.password().to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Basic {
        parse_bytes(s.as_bytes())
    }

    fn creds(s: &str) -> (String, String) {
        match parse(s) {
            Basic::Credentials(c) => (
                c.user().to_owned(),
                String::from_utf8(c.password().to_vec()).unwrap(),
            ),
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn malformed(s: &str) -> BasicMalformed {
        match parse(s) {
            Basic::Malformed(why) => why,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn b64(s: &[u8]) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn user_and_password_split_at_the_first_colon() {
        let pairs = [
            ("alice:secret", ("alice", "secret")),
            ("alice@EXAMPLE.TEST:pw", ("alice@EXAMPLE.TEST", "pw")),
            ("alice:pass:word:", ("alice", "pass:word:")),
            ("alice: spaces ", ("alice", " spaces ")),
            ("jürgen:pässwörd", ("jürgen", "pässwörd")),
            ("ops/admin:x", ("ops/admin", "x")),
        ];
        for (plain, (user, password)) in pairs {
            for header in [
                format!("Basic {}", b64(plain.as_bytes())),
                format!("basic {}", b64(plain.as_bytes())),
                format!("  BASIC\t{}  ", b64(plain.as_bytes())),
            ] {
                assert_eq!(
                    creds(&header),
                    (user.to_owned(), password.to_owned()),
                    "{header}"
                );
            }
        }
    }

    #[test]
    fn other_schemes_are_not_basic() {
        for header in [
            "Negotiate YIIB",
            "Bearer abc",
            "Basically abc",
            "Basi YWxpY2U6cHc=",
            "",
            "  ",
        ] {
            assert!(matches!(parse(header), Basic::OtherScheme), "{header:?}");
        }
    }

    #[test]
    fn malformed_credentials_are_named() {
        let cases: Vec<(String, BasicMalformed)> = vec![
            ("Basic".into(), BasicMalformed::NoCredentials),
            ("Basic  \t".into(), BasicMalformed::NoCredentials),
            ("Basic !!!!".into(), BasicMalformed::BadBase64),
            // Unpadded, partially padded, URL-safe alphabet, embedded space, trailing bits.
            ("Basic YWxpY2U6cHc".into(), BasicMalformed::BadBase64),
            ("Basic YWxpY2U6cHc=x".into(), BasicMalformed::BadBase64),
            ("Basic YW xpY2U6cHc=".into(), BasicMalformed::BadBase64),
            (
                format!("Basic {}", b64(b"a:\xfb\xff")),
                BasicMalformed::NotUtf8,
            ),
            ("Basic YWxpY2U6cHd=".into(), BasicMalformed::BadBase64),
            (format!("Basic {}", b64(b"alice")), BasicMalformed::NoColon),
            (format!("Basic {}", b64(b":pw")), BasicMalformed::EmptyUser),
            (
                format!("Basic {}", b64(b"alice:")),
                BasicMalformed::EmptyPassword,
            ),
            (
                format!("Basic {}", b64(b"al\0ice:pw")),
                BasicMalformed::ControlCharacter,
            ),
            (
                format!("Basic {}", b64(b"alice:p\0w")),
                BasicMalformed::ControlCharacter,
            ),
            (
                format!("Basic {}", b64(b"alice:p\nw")),
                BasicMalformed::ControlCharacter,
            ),
            (
                format!("Basic {}", b64(b"alice:p\x7fw")),
                BasicMalformed::ControlCharacter,
            ),
            (
                format!("Basic {}", b64(b"\xff\xfe:pw")),
                BasicMalformed::NotUtf8,
            ),
        ];
        for (header, why) in cases {
            assert_eq!(malformed(&header), why, "{header:?}");
        }
    }

    #[test]
    fn length_is_bounded_before_decoding() {
        let at_limit = format!("alice:{}", "x".repeat(MAX_CREDENTIALS_LEN - 6));
        assert_eq!(at_limit.len(), MAX_CREDENTIALS_LEN);
        assert_eq!(
            creds(&format!("Basic {}", b64(at_limit.as_bytes()))).0,
            "alice"
        );
        let over = format!("{at_limit}x");
        assert_eq!(
            malformed(&format!("Basic {}", b64(over.as_bytes()))),
            BasicMalformed::TooLong
        );
        let huge = format!("Basic {}", "A".repeat(64 * 1024));
        assert_eq!(malformed(&huge), BasicMalformed::TooLong);
    }

    #[test]
    fn debug_shows_no_credential() {
        let header = format!("Basic {}", b64(b"alice:hunter2"));
        let shown = format!("{:?}", parse(&header));
        assert!(!shown.contains("alice"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "Credentials(Basic ******)");
    }

    #[test]
    fn challenges_quote_the_realm() {
        assert_eq!(
            challenge("EXAMPLE.COM"),
            r#"Basic realm="EXAMPLE.COM", charset="UTF-8""#
        );
        assert_eq!(
            challenge(r#"say "hi" \o/"#),
            r#"Basic realm="say \"hi\" \\o/", charset="UTF-8""#
        );
        assert!(valid_realm("Example Intranet (Kerberos)"));
        for bad in ["a\nb", "a\0b", "é"] {
            assert!(!valid_realm(bad), "{bad:?}");
        }
    }

    #[test]
    fn basic_offers_are_recognised() {
        for yes in [
            &b"Basic realm=\"x\""[..],
            b"basic",
            b"Negotiate, Basic realm=\"x\"",
            b"Negotiate,basic realm=x",
        ] {
            assert!(offers_basic(yes), "{yes:?}");
        }
        for no in [&b"Negotiate"[..], b"Basically", b"Bearer realm=\"Basic\""] {
            assert!(!offers_basic(no), "{no:?}");
        }
    }
}
