//! A decoded token, arbitrary bytes: `inspect_token` (DER framing of the GSS-API
//! InitialContextToken, NTLM detection).
//!
//! Checks: `inspect_token` agrees with a hand-written DER reader; an accepted token starts with
//! `0x60` and its length octets cover exactly the rest; one byte more or one byte less is
//! refused; and the same bytes sent as `Negotiate <base64>` (padded and unpadded, any scheme
//! case, tab separator) give the same verdict through the whole header parser.
#![no_main]

mod common;

use actix_gssapi::__fuzz::{inspect_token, parse_authorization};
use common::Expect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ok = inspect_token(data);
    let expect = common::classify_token(data.to_vec());
    let model_ok = matches!(expect, Expect::Token { .. });
    assert_eq!(
        ok, model_ok,
        "inspect_token says {ok}, the model says {expect:?}"
    );

    if ok {
        // Spelled out again without the model, as the brief of this target states it.
        assert_eq!(data[0], 0x60);
        let (len, header) = match data[1] {
            n @ 0..=0x7f => (u64::from(n), 2),
            n @ 0x81..=0x84 => {
                let k = usize::from(n & 0x7f);
                let len = data[2..2 + k]
                    .iter()
                    .fold(0u64, |a, &d| a << 8 | u64::from(d));
                (len, 2 + k)
            }
            n => panic!("accepted length octet {n:#04x}"),
        };
        assert_eq!(
            len,
            (data.len() - header) as u64,
            "DER length does not match the size"
        );
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(!inspect_token(&longer), "accepted with a trailing byte");
        assert!(
            !inspect_token(&data[..data.len() - 1]),
            "accepted truncated"
        );
    }

    // The same token through the header parser. A token longer than the 64 KiB header limit
    // is refused as TooLong, which the model knows too.
    if !data.is_empty() {
        let b64 = common::b64_encode(data);
        let unpadded = &b64[..b64.len() - b64.iter().rev().take_while(|&&c| c == b'=').count()];
        for (scheme, sep, token) in [
            (&b"Negotiate"[..], &b" "[..], &b64[..]),
            (b"negotiate", b"\t", unpadded),
            (b"NEGOTIATE", b" \t ", &b64[..]),
        ] {
            let mut header = scheme.to_vec();
            header.extend_from_slice(sep);
            header.extend_from_slice(token);
            let summary = parse_authorization(&header);
            let want = common::classify(&header);
            if header.len() <= common::MAX_HEADER_LEN {
                assert_eq!(
                    matches!(want, Expect::Token { .. }),
                    ok,
                    "model: {want:?} for a header made from the token"
                );
            }
            common::check_value(&header, &summary);
        }
    }
});
