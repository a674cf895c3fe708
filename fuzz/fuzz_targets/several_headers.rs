//! Several `Authorization` header lines: the input split on `\n` into at most 8 values, each
//! appended to a `HeaderMap` when `HeaderValue::from_bytes` takes it.
//!
//! Checks: no valid value gives `Missing`; exactly one gives the same summary as parsing that
//! value alone (which the model in `common` checks in turn); two or more are always refused as
//! "several headers", whatever they contain (one Basic plus one good Negotiate included).
#![no_main]

mod common;

use std::sync::OnceLock;

use actix_gssapi::__fuzz::{parse_authorization, parse_headers};
use libfuzzer_sys::fuzz_target;

/// Which bytes `http::HeaderValue::from_bytes` takes: visible ASCII, SP, HTAB and obs-text.
fn valid_header_value(v: &[u8]) -> bool {
    v.iter().all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

fn missing() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| parse_headers(&[]))
}

fn several() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        let s = parse_headers(&[b"Negotiate YAA=", b"Basic YWI="]);
        assert_ne!(s, missing());
        assert_ne!(s, parse_authorization(b"Negotiate YAA="));
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.splitn(8, |&b| b == b'\n').collect();
    let summary = parse_headers(&values);
    let valid: Vec<&[u8]> = values
        .iter()
        .copied()
        .filter(|v| valid_header_value(v))
        .collect();
    match valid.as_slice() {
        [] => assert_eq!(summary, missing(), "no valid header value"),
        [one] => {
            assert_eq!(summary, parse_authorization(one), "one valid header value");
            common::check_value(one, &summary);
            common::check_no_leak(common::split_value(one).1, &summary);
        }
        _ => assert_eq!(summary, several(), "{} valid header values", valid.len()),
    }
});
