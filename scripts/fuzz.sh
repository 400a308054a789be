#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after the other, and prints a line per
# target with its execution count. Fails if any target fails.
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_RUNS=10000000 scripts/fuzz.sh     # a fixed number of executions per target instead
#   FUZZ_MAX_LEN=1024 scripts/fuzz.sh 60   # shorter inputs (libFuzzer's default is 4096 bytes)
#   FUZZ_TARGETS="frame_decoder trailers" scripts/fuzz.sh 30
#   FUZZ_SANITIZER=address scripts/fuzz.sh 60
#
# Built with optimisations, debug assertions and, by default, no sanitizer: bounds checks already
# turn an out-of-bounds access in safe code into a panic, a counting allocator in every target
# checks the allocation bounds, and every byte the base64 engines write into uninitialised buffer
# space is compared with the `base64` crate's output. Without ASan a target runs several times
# faster and the build takes a minute or two; FUZZ_SANITIZER=address covers the few `unsafe` spots
# (base64 output buffers) when there is time for it. New corpus entries go to
# fuzz/corpus/<target>/ (only the seed-* files are kept in git); a failing input goes to
# fuzz/artifacts/<target>/: `cargo +nightly fuzz fmt <target> <file>` prints it as Rust.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
toolchain="${FUZZ_TOOLCHAIN:-+nightly}"

if ! cargo "$toolchain" fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo "$toolchain" fuzz list)}"
flags=(--release --debug-assertions --sanitizer "$sanitizer")

# One target named: build only it.
build_only=()
if [ "$(wc -w <<<"$targets")" -eq 1 ]; then
  build_only=($targets)
fi
cargo "$toolchain" fuzz build "${flags[@]}" "${build_only[@]}"
# Run the binaries just built rather than `cargo fuzz run`, which would rebuild before each
# target: every target then runs the code the build above saw.
host="$(rustc "$toolchain" -vV | sed -n 's/^host: //p')"
bin_dir="${CARGO_TARGET_DIR:-target}/$host/release"

if [ -n "${FUZZ_RUNS:-}" ]; then
  limit=(-runs="$FUZZ_RUNS")
else
  limit=(-max_total_time="$seconds")
fi
# Longest input libFuzzer generates (its default is 4096 bytes).
if [ -n "${FUZZ_MAX_LEN:-}" ]; then
  limit+=(-max_len="$FUZZ_MAX_LEN")
fi

failed=()
summary=()
for target in $targets; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="$(mktemp)"
  start=$SECONDS
  if "$bin_dir/$target" -artifact_prefix="artifacts/$target/" "${limit[@]}" \
    -print_final_stats=1 "corpus/$target" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [ -z "$executions" ]; then
    executions="$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$log" | tail -n 1)"
  fi
  rm -f "$log"
  line="$(printf '%-18s %-6s %12s executions in %ss' "$target" "$status" "${executions:-?}" "$((SECONDS - start))")"
  summary+=("$line")
  echo "$line"
done

echo
if [ -n "${FUZZ_RUNS:-}" ]; then
  budget="$FUZZ_RUNS runs"
else
  budget="$seconds s"
fi
echo "fuzz summary ($budget per target, sanitizer $sanitizer${FUZZ_MAX_LEN:+, max_len $FUZZ_MAX_LEN}):"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
