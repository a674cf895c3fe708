//! One raw `Authorization` value, read as `Basic` credentials (the password fallback).
//!
//! Checks, beyond "never panics": the verdict is exactly what an independent model of
//! RFC 7617 says (scheme and OWS, strict padded base64, at most 1 KiB decoded, UTF-8, no
//! control character, a colon after a non-empty user, a non-empty password); accepted
//! credentials split at the first colon and re-encode to the token; and what the crate would
//! print about the value (its `Debug`) never shows the user or the password.
#![no_main]

mod common;

use actix_gssapi::__fuzz::{basic_summary, parse_basic};
use libfuzzer_sys::fuzz_target;

const MAX_CREDENTIALS_LEN: usize = 1024;

/// What the model expects: `Err(())` for a refusal, the user and password otherwise; `None`
/// for another scheme.
fn model(value: &[u8]) -> Option<Result<(Vec<u8>, Vec<u8>), ()>> {
    let (scheme, token) = common::split_value(value);
    if !scheme.eq_ignore_ascii_case(b"Basic") {
        return None;
    }
    if token.is_empty() || token.len() % 4 != 0 || token.len() > MAX_CREDENTIALS_LEN.div_ceil(3) * 4
    {
        return Some(Err(()));
    }
    let Some(plain) = common::b64_decode(token) else {
        return Some(Err(()));
    };
    if plain.len() > MAX_CREDENTIALS_LEN
        || std::str::from_utf8(&plain).is_err()
        || plain.iter().any(|&b| b < 0x20 || b == 0x7f)
    {
        return Some(Err(()));
    }
    let Some(colon) = plain.iter().position(|&b| b == b':') else {
        return Some(Err(()));
    };
    let (user, password) = (&plain[..colon], &plain[colon + 1..]);
    if user.is_empty() || password.is_empty() {
        return Some(Err(()));
    }
    Some(Ok((user.to_vec(), password.to_vec())))
}

fuzz_target!(|data: &[u8]| {
    let got = parse_basic(data);
    match (model(data), &got) {
        (None, Err(why)) => assert_eq!(why, "not Basic"),
        (Some(Err(())), Err(why)) => assert_ne!(why, "not Basic", "{data:?}"),
        (Some(Ok((user, password))), Ok((u, p))) => {
            assert_eq!((user.as_slice(), password.as_slice()), (u.as_bytes(), &p[..]));
            assert!(!u.contains(':'), "the user ends at the first colon");
            let mut plain = u.as_bytes().to_vec();
            plain.push(b':');
            plain.extend_from_slice(p);
            assert_eq!(common::b64_encode(&plain), common::split_value(data).1);
        }
        (expected, got) => panic!("model {expected:?}, crate {got:?} for {data:?}"),
    }
    let summary = basic_summary(data);
    if let Ok((user, password)) = &got {
        // Short values occur in any text by chance; long ones must not be echoed.
        if user.len() >= 4 {
            assert!(!summary.contains(user.as_str()), "{summary:?} shows the user");
        }
        if password.len() >= 4 {
            let shown = summary.as_bytes().windows(password.len());
            assert!(!shown.into_iter().any(|w| w == &password[..]), "{summary:?}");
        }
        assert_eq!(summary, "Credentials(Basic ******)");
    }
});
