//! P5 through a Runtime API against real function processes: ours, `lambda-grpc-web` and the
//! floor, each this package's `perf-report` binary run as the function, on the local Lambda.
#![cfg(feature = "lambda-grpc-web")]

use std::path::Path;

use bytes::Bytes;
use grpc_lambda_benches::lambda_grpc_web::{check, Function, Functions, FUNCTION_ARG};

const PERF_REPORT: &str = env!("CARGO_BIN_EXE_perf-report");

#[test]
fn every_function_answers_through_the_runtime_api() {
    let functions = Functions::start(Path::new(PERF_REPORT));
    check(1024, &functions);
    // An event neither can read is reported to `invocation/ID/error`, and the function
    // carries on.
    let unreadable = Bytes::from_static(b"{}");
    for (side, function) in [
        ("ours", &functions.ours),
        ("lambda-grpc-web", &functions.anchor),
    ] {
        let failure = function
            .invoke(&unreadable)
            .expect_err("an event from no known source");
        assert!(!failure.error_type.is_empty(), "{side}: {failure:?}");
    }
    check(1024, &functions);
}

#[test]
fn an_unknown_function_name_does_not_start() {
    let err = Function::start(Path::new(PERF_REPORT), "nobody")
        .err()
        .expect("no function of that name");
    assert!(err.contains("function nobody"), "{err}");
    let usage = std::process::Command::new(PERF_REPORT)
        .args([FUNCTION_ARG, "nobody"])
        .output()
        .expect("perf-report runs");
    assert!(!usage.status.success());
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("no function \"nobody\""),
        "{}",
        String::from_utf8_lossy(&usage.stderr)
    );
}
