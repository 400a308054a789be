#!/usr/bin/env bash
# What each setting of [profile.function] buys: builds the example function (`prod`) with the
# `function` profile, with each setting in turn put back to release's, and with `release`
# itself; then starts every build in alternating rounds (function-costs) for its size, init
# (L1), cold call (L3) and peak RSS (L4).
#
#   benches/function-profile.sh [STARTS]     # from the workspace root; STARTS defaults to 101
set -euo pipefail
cd "$(dirname "$0")/.."
starts="${1:-101}"
out=target/function-variants
mkdir -p "$out"

# name (setting:value, no "=": function-costs reads NAME=PATH), profile, then the override of
# that profile (CARGO_PROFILE_<NAME>_<KEY>=value).
variants=(
  "function|function|"
  "function,strip:none|function|CARGO_PROFILE_FUNCTION_STRIP=none"
  "function,lto:thin|function|CARGO_PROFILE_FUNCTION_LTO=thin"
  "function,codegen-units:16|function|CARGO_PROFILE_FUNCTION_CODEGEN_UNITS=16"
  "function,opt-level:3|function|CARGO_PROFILE_FUNCTION_OPT_LEVEL=3"
  "function,opt-level:z|function|CARGO_PROFILE_FUNCTION_OPT_LEVEL=z"
  "release|release|"
  "release,strip:symbols|release|CARGO_PROFILE_RELEASE_STRIP=symbols"
)
builds=()
for variant in "${variants[@]}"; do
  IFS='|' read -r name profile override <<<"$variant"
  echo "building $name" >&2
  env ${override:+"$override"} cargo build --quiet --profile "$profile" \
    -p grpc-lambda-example-prod --bin prod
  cp "target/$profile/prod" "$out/$name"
  builds+=("$name=$out/$name")
done
cargo build --quiet --release -p grpc-lambda-benches --bin function-costs
target/release/function-costs --starts "$starts" "${builds[@]}"
