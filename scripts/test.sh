#!/usr/bin/env bash
# Runs every test (unit, integration against a real throwaway KDC, doctests), after installing
# the Debian/Ubuntu packages they need, then scans what the crate logged during the suite for
# secrets (scripts/check-logs.sh). Arguments go to `cargo test` (and skip the log scan), e.g.
#
#   scripts/test.sh --test auth replayed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_all_packages
rm -rf target/tmp/test-logs
cargo test --all-features "$@"
if (($# == 0)); then
    scripts/check-logs.sh
fi
