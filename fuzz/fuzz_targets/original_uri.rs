//! A forward-auth request's original URI (`X-Forwarded-Uri`, `src/original_request.rs`): what
//! the per-route rules of `ForwardAuth` are matched on. A client chooses it (the proxy copies
//! the request target), so it is attacker-controlled.
//!
//! Checks, beyond "never panics": whatever reads as a path renders (as log lines show it) to a
//! path that reads back to the same segments.
#![no_main]

use actix_gssapi::__fuzz::original_uri_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(same) = original_uri_round_trip(data) {
        assert!(same, "the rendering of a path read differently");
    }
});
