#!/usr/bin/env bash
# Runs the end-to-end demo: a throwaway Kerberos realm, the `hello` example server, and a real
# `curl --negotiate` that logs in as alice. Installs the Debian/Ubuntu packages it needs first.
#
#   scripts/demo.sh [ADDRESS]      # default 127.0.0.1:8080; Ctrl-C stops it
#
# DEMO_EXIT_AFTER_REQUEST=1 makes it stop after the first request (exit 0 if alice got in).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_all_packages
cargo build --features testing --examples
exec target/debug/examples/demo "$@"
