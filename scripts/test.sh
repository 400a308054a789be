#!/usr/bin/env bash
# Every test of the workspace. Installs what the tests need first (idempotent), so it works on a
# fresh machine with only the Rust toolchain and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh

cargo test --workspace --all-features --no-fail-fast
