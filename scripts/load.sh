#!/usr/bin/env bash
# Load test of grpc-lambda-proxy with h2load (Debian package nghttp2-client), on 127.0.0.1 only.
# Unary api.Prod/Alive calls, the same h2load settings for every server, in the same run:
#   direct     a tonic server running the handler (examples/load_direct.rs)
#   proxy      the proxy's whole call path (event JSON + base64 out; JSON + base64 + frames back;
#              real HTTP/2 trailers) to a stub Lambda in its process (examples/load_inprocess.rs)
#   proxy+hop  the proxy binary to a stub Lambda Invoke API in another process, over loopback
#              HTTP/2 (examples/load_stub.rs, --lambda-h2c): adds a whole second server's work
# Each is measured ROUNDS times, alternating; the best run of each is reported, with the ratios.
# Then every call through both proxies is checked to have ended with grpc-status 0 (from their
# /metrics), with CONNECTIONS x STREAMS (default 1,000) streams in flight.
#
#   scripts/load.sh                 # N=30000 calls per run, 10 connections x 100 streams
#   N=100000 ROUNDS=5 scripts/load.sh
#
#   scripts/load.sh local           # Lambda Managed Instances: the proxy's embedded runtime with
#                                   # ONE example function process taking 1, then 8 invocations at
#                                   # once (--local-max-concurrency), same h2load settings
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-stubs}"

N="${N:-30000}"
CONNECTIONS="${CONNECTIONS:-10}"
STREAMS="${STREAMS:-100}"
ROUNDS="${ROUNDS:-3}"
RUN_LIMIT="${RUN_LIMIT:-120}"   # seconds, per h2load run

command -v h2load >/dev/null || { echo "h2load missing: scripts/install-test-tools.sh installs nghttp2-client" >&2; exit 1; }
if [ "$MODE" = local ]; then
  cargo build --release --quiet -p grpc-lambda-proxy --bin grpc-lambda-proxy \
    -p grpc-lambda-example-prod --bin prod
  target="${CARGO_TARGET_DIR:-target}/release"
  work="$(mktemp -d)"
  proxy_pid=""
  trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
  printf '\x00\x00\x00\x00\x06\x0a\x04load' > "$work/request.bin"
  port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  for per_process in 1 8; do
    port=$(port_of)
    "$target/grpc-lambda-proxy" --listen "127.0.0.1:$port" --quiet --local-name prod \
      --local-function "exec $target/prod" --local-concurrency 1 \
      --local-max-concurrency "$per_process" & proxy_pid=$!
    for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    h2load -n 2000 -c "$CONNECTIONS" -m "$STREAMS" -t 1 -H 'content-type: application/grpc' \
      -H 'te: trailers' -d "$work/request.bin" "http://127.0.0.1:$port/api.Prod/Alive" >/dev/null
    rates=()
    for _ in $(seq "$ROUNDS"); do
      timeout "$RUN_LIMIT" h2load -n "$N" -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
        -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/request.bin" \
        "http://127.0.0.1:$port/api.Prod/Alive" > "$work/run.txt"
      ok=$(awk '/^requests:/ {print $8}' "$work/run.txt")
      [ "$ok" = "$N" ] || { cat "$work/run.txt" >&2; echo "only $ok of $N calls succeeded" >&2; exit 1; }
      rates+=("$(awk '/^finished in/ {print $4}' "$work/run.txt")")
    done
    kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true; proxy_pid=""
    echo "one function process, $per_process invocation(s) at once: ${rates[*]} req/s (h2load -n $N -c $CONNECTIONS -m $STREAMS, $ROUNDS rounds)"
  done
  exit 0
fi
cargo build --release --quiet -p grpc-lambda-proxy --bin grpc-lambda-proxy \
  --example load_stub --example load_direct --example load_inprocess
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

direct_port=$(free_port); inproc_port=$(free_port); inproc_admin=$(free_port)
stub_port=$(free_port); hop_port=$(free_port); hop_admin=$(free_port)
"$target/examples/load_direct" "127.0.0.1:$direct_port" & pids+=($!)
"$target/examples/load_inprocess" "127.0.0.1:$inproc_port" "127.0.0.1:$inproc_admin" & pids+=($!)
"$target/examples/load_stub" "127.0.0.1:$stub_port" & pids+=($!)
"$target/grpc-lambda-proxy" --listen "127.0.0.1:$hop_port" --admin "127.0.0.1:$hop_admin" --quiet \
  --function stub --lambda-endpoint "http://127.0.0.1:$stub_port" --lambda-h2c & pids+=($!)
for port in "$direct_port" "$inproc_port" "$stub_port" "$hop_port"; do wait_port "$port"; done

# One length-prefixed AliveRequest { message: "load" }.
printf '\x00\x00\x00\x00\x06\x0a\x04load' > "$work/request.bin"

run() { # port calls -> req/s; fails unless every request succeeded
  timeout "$RUN_LIMIT" h2load -n "$2" -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/request.bin" \
    "http://127.0.0.1:$1/api.Prod/Alive" > "$work/run.txt"
  local ok
  ok=$(awk '/^requests:/ {print $8}' "$work/run.txt")
  [ "$ok" = "$2" ] || { cat "$work/run.txt" >&2; echo "only $ok of $2 calls succeeded" >&2; exit 1; }
  awk '/^finished in/ {print $4}' "$work/run.txt"
}
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }

warm=2000
for port in "$direct_port" "$inproc_port" "$hop_port"; do run "$port" "$warm" >/dev/null; done
direct=(); inproc=(); hop=()
for round in $(seq "$ROUNDS"); do
  direct+=("$(run "$direct_port" "$N")")
  inproc+=("$(run "$inproc_port" "$N")")
  hop+=("$(run "$hop_port" "$N")")
  echo "round $round: direct ${direct[-1]}  proxy ${inproc[-1]}  proxy+hop ${hop[-1]} req/s" >&2
done

check_metrics() { # admin port, label
  local metrics ok all expected=$((warm + ROUNDS * N))
  metrics=$(exec 3<>"/dev/tcp/127.0.0.1/$1"; printf 'GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n' >&3; cat <&3)
  ok=$(printf '%s\n' "$metrics" | awk '/^grpc_lambda_proxy_calls_total/ && /code="OK"/ {s+=$2} END {print s+0}')
  all=$(printf '%s\n' "$metrics" | awk '/^grpc_lambda_proxy_calls_total/ {s+=$2} END {print s+0}')
  [ "$ok" = "$expected" ] && [ "$all" = "$expected" ] || { echo "$2: $ok of $all calls OK, expected $expected" >&2; exit 1; }
  echo "$2: all $expected calls ended with grpc-status 0"
}
check_metrics "$inproc_admin" "proxy"
check_metrics "$hop_admin" "proxy+hop"

d=$(best "${direct[@]}"); p=$(best "${inproc[@]}"); h=$(best "${hop[@]}")
echo "h2load -n $N -c $CONNECTIONS -m $STREAMS -t 1 ($((CONNECTIONS * STREAMS)) concurrent streams), best of $ROUNDS, $(nproc) cores"
echo "direct tonic server:            $d req/s"
echo "proxy, stub Lambda in process:  $p req/s  ratio $(python3 -c "print(f'{$p / $d:.2f}')") (goal >= 0.8)"
echo "proxy, stub Lambda over h2c:    $h req/s  ratio $(python3 -c "print(f'{$h / $d:.2f}')")"
