#!/usr/bin/env bash
# Benchmarks this crate against Apache httpd + mod_auth_gssapi on the same machine, in one run:
# a throwaway realm, fresh single-use tokens for every authenticated request, the same load
# generator and load shape for both. Installs what it needs first. Arguments go to
# harness/benchmark.rs, e.g.
#
#   scripts/bench.sh --requests 200000 --connections 64
#   scripts/bench.sh --no-apache --store-rounds 5     # the replay stores only, more rounds
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
# `redis`: the replay store rows compare MIT's file cache, the in-process store and Redis.
cargo build --release --features redis --example bench --example benchmark
exec target/release/examples/benchmark "$@"
