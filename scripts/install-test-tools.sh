#!/usr/bin/env bash
# Installs what the test suites need, only where it is missing. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

# The no_std build check targets a Cortex-M core.
if have rustup && ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
  rustup target add thumbv7em-none-eabihf
fi
