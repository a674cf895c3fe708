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

# Only what the demo needs: the build's packages, a KDC with kadmin.local, kinit and curl (the
# test suite's Samba, Redis and browsers are for scripts/test.sh).
ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"
cargo build --example demo --example hello
exec target/debug/examples/demo "$@"
