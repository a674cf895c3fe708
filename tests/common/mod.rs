//! Shared by the real-KDC tests: one realm per test binary, and a logger that records every
//! line the crate logs so tests can check what was (and was not) said.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

use actix_gssapi::testing::{shared_realm, Negotiation, TestRealm};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("actix_gssapi") {
            let line = format!("{} {}", record.level(), record.args());
            if let Ok(mut lines) = LINES.lock() {
                lines.push(line);
            }
        }
    }
    fn flush(&self) {}
}

/// The shared realm, with log capture installed first.
pub fn realm() -> &'static TestRealm {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = log::set_logger(&Capture);
        log::set_max_level(log::LevelFilter::Trace);
    });
    shared_realm()
}

/// Every line logged so far by this crate.
pub fn logs() -> Vec<String> {
    LINES.lock().map(|l| l.clone()).unwrap_or_default()
}

/// Whether some logged line contains all of `parts`.
pub fn logged(parts: &[&str]) -> bool {
    logs().iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// A fresh SPNEGO token for `HTTP@localhost` from alice's ticket.
pub fn alice_token() -> Negotiation {
    Negotiation::start(&realm().alice_ccache(), "HTTP@localhost").expect("alice's token")
}
