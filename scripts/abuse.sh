#!/usr/bin/env bash
# A bounded abuse run against the real grpc-lambda-proxy binary, on 127.0.0.1 only. Builds the
# proxy and the example function, starts the proxy (embedded Lambda Runtime API, an exact route
# /api.Prod/Fail with bidi = "unimplemented", a prefix route api.Prod), then, one at a time:
#   1. route bypass: paths with extra, empty, dot and percent-escaped segments ending in /api.Prod/Fail
#   2. 20,000 calls to distinct 4 KB paths under /api.Prod/ (RSS and /metrics size)
#   3. 300 streams on one connection, each an unfinished 4.7 MB message; window-0 clients reading 3 MiB
#   4. 200 silent TCP connections and 200 HTTP/2 connections with a HEADERS-only stream
#   5. native gRPC (application/grpc) over HTTP/1.1
#   6. rapid reset, PING, SETTINGS, DATA and CONTINUATION floods
# For each it prints what came back, the proxy's peak and current RSS (/proc/<pid>/status) and
# open fds, and whether a normal call (grpcio, api.Prod/Alive, a new connection each time) kept
# succeeding during and after; then one `attack=... result=...` line per attack. A measurement,
# not a test: it exits non-zero only if the run itself failed. About 1.5 minutes on 2 cores (a
# release build; a debug proxy answers fewer of the 20,000 calls in the time allowed).
#
#   scripts/abuse.sh                          # release build (PROFILE=debug: the debug one)
#   scripts/abuse.sh --only route_bypass,http11_native
# Attack names for --only: route_bypass distinct_paths held_streams window_zero silent_connections
# http11_native floods.
# When the binary's --help has them, the run passes a first-bytes timeout of 5 s, an idle timeout
# of 10 s and a connection cap of 256 (ABUSE_MAX_CONNECTIONS=N to change it), and waits for the
# silent connections accordingly; without them it waits 40 s.
set -euo pipefail
cd "$(dirname "$0")/.."

# The raw HTTP/2 client decodes the proxy's headers with hpack, which comes with the h2 package;
# the normal call is grpcio.
if ! python3 -c "import hpack" >/dev/null 2>&1; then
  python3 -m pip install --user --disable-pip-version-check --no-warn-script-location --quiet \
    "h2==${H2_VERSION:-4.3.0}"
fi
if ! python3 -c "import grpc" >/dev/null 2>&1; then
  python3 -m pip install --user --disable-pip-version-check --no-warn-script-location --quiet \
    "grpcio==${GRPCIO_VERSION:-1.76.0}"
fi

profile="${PROFILE:-release}"
release=()
if [ "$profile" = "release" ]; then release=(--release); fi
cargo build "${release[@]}" --quiet -p grpc-lambda-proxy --bin grpc-lambda-proxy \
  -p grpc-lambda-example-prod --bin prod
target="${CARGO_TARGET_DIR:-target}/$profile"

exec python3 -B scripts/abuse/abuse.py --proxy "$target/grpc-lambda-proxy" --function "$target/prod" "$@"
