#!/usr/bin/env bash
# Runs every test (unit, integration against a real throwaway KDC, doctests), after installing
# the Debian/Ubuntu packages they need. Arguments go to `cargo test`, e.g.
#
#   scripts/test.sh --test auth replayed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_all_packages
cargo test --all-features "$@"
