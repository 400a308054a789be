#!/usr/bin/env bash
# One command: builds the proxy, the example function and its client, then serves api.Prod on
# 127.0.0.1:50051 (gRPC over HTTP/2 cleartext, and gRPC-Web over HTTP/1.1) with the example
# running behind the proxy's embedded Lambda Runtime API, makes one call with `prod-client`
# (Alive, then a streamed Count) and prints the answers. Then it keeps serving until Ctrl-C.
# Metrics and health on 127.0.0.1:9901.
#
#   scripts/serve-local.sh [--once] [proxy arguments...]
#
# --once (or SERVE_LOCAL_ONCE=1): stop the proxy after the call and exit with the client's
# status. SERVE_LOCAL_LISTEN and SERVE_LOCAL_ADMIN change the two addresses (host:port).
# Other arguments go to the proxy (e.g. --local-concurrency 4).
set -euo pipefail
cd "$(dirname "$0")/.."

once="${SERVE_LOCAL_ONCE:-0}"
if [ "${1:-}" = "--once" ]; then
  once=1
  shift
fi
listen="${SERVE_LOCAL_LISTEN:-127.0.0.1:50051}"
admin="${SERVE_LOCAL_ADMIN:-127.0.0.1:9901}"

cargo build --quiet -p grpc-lambda-proxy --bin grpc-lambda-proxy \
  -p grpc-lambda-example-prod --bin prod \
  -p grpc-lambda-example-prod-client --bin prod-client
target="${CARGO_TARGET_DIR:-target}/debug"

host="${listen%:*}"
port="${listen##*:}"
listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if listening; then
  echo "serve-local.sh: something already listens on $listen (another serve-local.sh?);" \
    "set SERVE_LOCAL_LISTEN to another address" >&2
  exit 1
fi

"$target/grpc-lambda-proxy" --listen "$listen" --admin "$admin" \
  --local-function "exec $target/prod" --local-name prod "$@" &
proxy=$!
# The proxy stops with this script: on Ctrl-C, on a failed call under --once, on any error.
trap 'kill -TERM "$proxy" 2>/dev/null || true; wait "$proxy" 2>/dev/null || true' EXIT
# A background job of a script ignores SIGINT: Ctrl-C reaches the script, which stops the proxy.
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait (up to 60 s) until the proxy listens, or stop if it exited.
for _ in $(seq 600); do
  if ! kill -0 "$proxy" 2>/dev/null; then
    proxy_status=0
    wait "$proxy" || proxy_status=$?
    echo "serve-local.sh: the proxy exited (status $proxy_status) before listening on $listen" >&2
    exit 1
  fi
  if listening; then
    break
  fi
  sleep 0.1
done

echo "serving api.Prod on $listen (gRPC, gRPC-Web); metrics and health on $admin"
status=0
"$target/prod-client" --wait-secs 5 "http://$listen" || status=$?
if [ "$once" = 1 ]; then
  exit "$status"
fi
if [ "$status" != 0 ]; then
  echo "the call failed (status $status); still serving, Ctrl-C stops" >&2
else
  echo "the call succeeded; still serving, Ctrl-C stops"
fi
wait "$proxy"
