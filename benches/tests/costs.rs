//! The costs harness (L1–L4) against a real function process: the example function, built as
//! this package's `prod-function` binary, started against the harness's loopback Runtime API.

use std::path::Path;

use grpc_lambda_benches::costs::{measure, start, Calls, Serves, LARGE_LEN};

const PROD: &str = env!("CARGO_BIN_EXE_prod-function");

#[test]
fn a_start_measures_init_then_the_cold_call_then_the_peak() {
    let calls = Calls::new();
    let start = start(Path::new(PROD), Serves::Prod, &calls).expect("the function answers");
    assert!(!start.init.is_zero());
    assert!(
        start.init < start.cold_call,
        "the first GET ({:?}) comes before the answer ({:?})",
        start.init,
        start.cold_call
    );
    // The 3 MiB call's event (4 MiB of base64) was in the process at once.
    assert!(
        start.peak_rss > LARGE_LEN as u64,
        "peak RSS {} bytes",
        start.peak_rss
    );
}

#[test]
fn rounds_start_every_function_once_each() {
    let functions = [
        (Path::new(PROD), Serves::Prod),
        (Path::new(PROD), Serves::Prod),
    ];
    let starts = measure(&functions, 2).expect("every start answers");
    assert_eq!(starts.len(), 2);
    assert!(starts.iter().all(|starts| starts.len() == 2));
}

#[test]
fn a_function_that_answers_something_else_is_an_error() {
    // The example answers its Prod call, which is not the echo the floor is checked for.
    let err = start(Path::new(PROD), Serves::Echo, &Calls::new()).expect_err("not an echo");
    assert!(err.contains("the echo is not the event"), "{err}");
}

#[test]
fn a_function_that_exits_is_an_error_at_once() {
    let started = std::time::Instant::now();
    let err = start(Path::new("/bin/true"), Serves::Prod, &Calls::new()).expect_err("no answer");
    assert!(err.contains("exited"), "{err}");
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}
