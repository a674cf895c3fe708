#!/usr/bin/env bash
# Benchmarks this crate against Apache httpd + mod_auth_gssapi on the same machine, in one run:
# a throwaway realm, fresh single-use tokens for every authenticated request, the same load
# generator and load shape for both. Installs what it needs first. Arguments go to
# harness/benchmark.rs, e.g.
#
#   scripts/bench.sh --requests 200000 --connections 64
#   scripts/bench.sh --no-apache --store-rounds 5     # the replay stores only, more rounds
#   scripts/bench.sh --no-direct --store-rounds 0 --front --wrk 8
#       # in front of an application only: nginx -> ForwardAuth (the forward-auth guide's
#       # block), our reverse proxy (examples/proxy.rs, when present) and Apache + mod_proxy
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
# `redis`: the replay store rows compare MIT's file cache, the in-process store and Redis.
examples=(--example bench --example benchmark)
# The reverse proxy's rows (`--front`) need examples/proxy.rs; without it they are skipped.
if [[ -f examples/proxy.rs ]]; then examples+=(--example proxy); fi
cargo build --release --features redis "${examples[@]}"
exec target/release/examples/benchmark "$@"
