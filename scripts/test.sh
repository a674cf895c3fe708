#!/usr/bin/env bash
# Runs every test (unit, integration against a real throwaway KDC, doctests), after installing
# the Debian/Ubuntu packages they need, then the flood test against a release build, then scans
# what the crate logged during the suite for secrets (scripts/check-logs.sh). Arguments go to
# `cargo test` (and skip the release flood and the log scan), e.g.
#
#   scripts/test.sh --test mit auth::replayed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_all_packages
rm -rf target/tmp/test-logs
cargo test --workspace --all-features "$@"
if (($# == 0)); then
    # The flood test measures the release build (tests/flood.rs says why); the debug run above
    # lists it as ignored.
    cargo build --release --example bench
    cargo test --release --all-features --test flood -- --nocapture
    scripts/check-logs.sh
fi
