//! A session cookie's plaintext payload (`src/claims.rs`): what the cookie holds after its
//! AES-GCM layer. Only a server with the key can make one, so this is defence in depth.
//!
//! Checks, beyond "never panics" and no allocation larger than the input: whatever decodes
//! encodes again to claims that decode to the same value (group SIDs sorted and deduplicated
//! on the way in, so a second round changes nothing).
#![no_main]

use actix_gssapi::__fuzz::session_claims_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(same) = session_claims_round_trip(data) {
        assert!(same, "claims changed on a round trip");
    }
});
