//! The deploy guide's commands (`docs/deploy.md`) that run without an AWS account, run as the
//! guide writes them: the SAM template checked with cfn-lint, the function built with
//! `cargo lambda build --release` (for the host: the aarch64 standard library that `--arm64`
//! needs is not installed by the test tools) and packaged by `cargo lambda deploy --dry`.
//!
//! cfn-lint and cargo-lambda (with zig, which it links with) come from PyPI through
//! `scripts/install-test-tools.sh`; without them the tests are skipped with a message, unless
//! `CI=true` makes that a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use grpc_lambda_test_support::{cargo_lambda, pip_tool, require, target_dir, workspace_dir};

/// The guide, so that a command it shows and the command run here cannot drift apart.
const GUIDE: &str = include_str!("../../../../../docs/deploy.md");
/// The template the guide deploys.
const TEMPLATE: &str = include_str!("../../prod/template.yaml");

fn guide_shows(command: &str) {
    assert!(
        GUIDE.contains(command),
        "docs/deploy.md no longer shows `{command}`, which this test runs: change both together"
    );
}

fn function_dir() -> PathBuf {
    workspace_dir().join("shims/lambda/examples/prod")
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_template_passes_cfn_lint() {
    guide_shows("cfn-lint shims/lambda/examples/prod/template.yaml");
    let cfn_lint = pip_tool("cfn-lint", "CFN_LINT");
    if !require("cfn-lint (PyPI)", cfn_lint.is_some()) {
        return;
    }
    let output = Command::new(cfn_lint.unwrap())
        .arg("shims/lambda/examples/prod/template.yaml")
        .current_dir(workspace_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "cfn-lint: {}", describe(&output));
    assert!(output.stdout.is_empty(), "cfn-lint: {}", describe(&output));

    // What the guide explains is in the template: a second Function URL that streams, its
    // function told to stream, and the proxy's permission.
    for expected in [
        "InvokeMode: BUFFERED",
        "InvokeMode: RESPONSE_STREAM",
        "GRPC_LAMBDA_RESPONSE_STREAMING: \"1\"",
        "Action: lambda:InvokeFunction",
        "- \"*~1*\"",
    ] {
        assert!(
            TEMPLATE.contains(expected),
            "template.yaml has no {expected:?}"
        );
    }
}

#[test]
fn cargo_lambda_builds_and_packages_the_function() {
    guide_shows("cargo lambda build --release --bin prod");
    guide_shows("cargo lambda deploy --enable-function-url prod");
    let cargo_lambda = cargo_lambda();
    if !require("cargo-lambda (PyPI)", cargo_lambda.is_some()) {
        return;
    }
    let cargo_lambda = cargo_lambda.unwrap();
    let output = Command::new(&cargo_lambda)
        .args(["lambda", "build", "--release", "--bin", "prod"])
        .current_dir(function_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo lambda build: {}",
        describe(&output)
    );
    let bootstrap = target_dir().join("lambda/prod/bootstrap");
    let bytes =
        std::fs::read(&bootstrap).unwrap_or_else(|err| panic!("no {}: {err}", bootstrap.display()));
    assert_eq!(bytes.get(..4), Some(&b"\x7fELF"[..]), "not an executable");

    // Packaged and described, not deployed: `--dry` stops before calling AWS.
    let output = Command::new(&cargo_lambda)
        .args(["lambda", "deploy", "--enable-function-url", "prod"])
        .args(["--dry", "--region", "eu-west-1"])
        .current_dir(function_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo lambda deploy --dry: {}",
        describe(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "deployment for function `prod`",
        "lambda/prod/bootstrap.zip",
        "- bootstrap",
        "enable_function_url: true",
        "runtime: \"provided.al2023\"",
    ] {
        assert!(
            stdout.contains(expected),
            "cargo lambda deploy --dry does not say {expected:?}: {}",
            describe(&output)
        );
    }
}
