//! Arbitrary bytes as a PAC's logon information (`KERB_VALIDATION_INFO`, NDR) and UPN/DNS
//! information: the decoder must refuse or decode, never panic, loop or allocate without bound.
//! The first two input bytes (little endian) give the logon information's length; the rest
//! after it is the UPN/DNS information. Seeds: real buffers from a Samba AD DC
//! (`corpus/pac_logon_info/seed-samba-*`, made from `tests/data/pac/`) and the MS-PAC
//! specification's sample (`seed-ms-pac-spec-sample`).
#![no_main]

use actix_gssapi::__fuzz::decode_pac;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let at = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
    let (logon, upn) = rest.split_at(at);
    let summary = decode_pac(logon, (!upn.is_empty()).then_some(upn));
    // A summary is short whatever the input: no buffer is echoed into it.
    assert!(summary.len() < 256, "{summary}");
});
