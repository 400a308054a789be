#!/usr/bin/env bash
# Installs what the test suites need, only where it is missing. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

# The no_std build check targets a Cortex-M core.
if have rustup && ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
  rustup target add thumbv7em-none-eabihf
fi

# The Lambda shim's process test runs the example under `cargo lambda watch`. From PyPI; pip puts
# it in the Python user base, where the test also looks (or set CARGO_LAMBDA to its path).
cargo_lambda_bin="$(python3 -m site --user-base)/bin/cargo-lambda"
if ! have cargo-lambda && [ ! -x "$cargo_lambda_bin" ]; then
  python3 -m pip install --user --disable-pip-version-check --no-warn-script-location --quiet \
    "cargo-lambda==${CARGO_LAMBDA_VERSION:-1.9.2}"
fi

# The proxy's end-to-end suite runs again with Python's grpcio (an independent gRPC
# implementation), and its load script uses h2load (Debian package nghttp2-client).
if ! python3 -c "import grpc" >/dev/null 2>&1; then
  python3 -m pip install --user --disable-pip-version-check --no-warn-script-location --quiet \
    "grpcio==${GRPCIO_VERSION:-1.76.0}"
fi
if ! have h2load && have apt-get; then
  sudo_cmd=""
  if [ "$(id -u)" != "0" ] && have sudo; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq nghttp2-client >/dev/null
fi

# The deploy guide's template is checked offline with cfn-lint (PyPI). `cargo lambda build` links
# with zig, which pip installed with cargo-lambda (PyPI package ziglang).
if ! have cfn-lint && [ ! -x "$(python3 -m site --user-base)/bin/cfn-lint" ]; then
  python3 -m pip install --user --disable-pip-version-check --no-warn-script-location --quiet \
    "cfn-lint==${CFN_LINT_VERSION:-1.51.0}"
fi

# The browser test (shims/lambda/examples/prod-client/tests/browser.rs) builds the example web page
# with npm (its own `npm ci`) and loads it in headless Chromium: Debian packages npm and chromium.
# The npm clients' test (tests/npm_clients.rs) runs connect-es and twirp-ts under Node (its own
# `npm ci` in shims/lambda/examples/clients; Debian's Node 18 or later) and curl.
browser_packages=()
have npm || browser_packages+=(npm)
have chromium || have chromium-browser || browser_packages+=(chromium)
have curl || browser_packages+=(curl)
if [ "${#browser_packages[@]}" -gt 0 ] && have apt-get; then
  sudo_cmd=""
  if [ "$(id -u)" != "0" ] && have sudo; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_packages[@]}" >/dev/null
fi
