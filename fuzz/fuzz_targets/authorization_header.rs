//! One raw `Authorization` value, arbitrary bytes (obs-text, controls, huge lengths included).
//!
//! Checks, beyond "never panics": the summary is exactly what the independent model in
//! `common` expects (scheme, OWS, 64 KiB limit, visible ASCII, strict base64, NTLM, DER
//! framing), a token's summary does not depend on the token's body, and no part of the base64
//! token is ever echoed into the summary (it ends up in logs).
#![no_main]

mod common;

use actix_gssapi::__fuzz::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let summary = parse_authorization(data);

    let (_, token_part) = common::split_value(data);
    if token_part.len() > 16
        && token_part
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    {
        assert!(
            !summary.contains(std::str::from_utf8(token_part).unwrap()),
            "the summary {summary:?} contains the token"
        );
    }
    common::check_no_leak(token_part, &summary);

    common::check_value(data, &summary);
});
