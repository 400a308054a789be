#!/usr/bin/env bash
# One command: builds the proxy and the example function, then serves api.Prod on
# 127.0.0.1:50051 (gRPC over HTTP/2 cleartext, and gRPC-Web over HTTP/1.1) with the example
# running behind the proxy's embedded Lambda Runtime API. Metrics and health on 127.0.0.1:9901.
# Extra arguments go to the proxy (e.g. --listen 127.0.0.1:6000). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p grpc-lambda-proxy --bin grpc-lambda-proxy -p grpc-lambda-example-prod --bin prod
target="${CARGO_TARGET_DIR:-target}/debug"
exec "$target/grpc-lambda-proxy" --listen 127.0.0.1:50051 --admin 127.0.0.1:9901 \
  --local-function "exec $target/prod" --local-name prod "$@"
