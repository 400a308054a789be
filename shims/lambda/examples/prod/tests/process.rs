//! The example as a real process under a Lambda Runtime API: `cargo lambda watch` builds and runs
//! the `prod` binary, and every sample event shape × protocol × method is sent to its Invoke
//! endpoint (`/2015-03-31/functions/prod/invocations`). Each response must equal, byte for byte,
//! what the same shim answers in process (which `matrix.rs` checks frame by frame), and one is
//! compared with a literal.
//!
//! cargo-lambda comes from `scripts/install-test-tools.sh`. Without it the test is skipped with a
//! message, unless `CI=true` or `GRPC_LAMBDA_REQUIRE_PROCESS_TEST=1` makes that a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use grpc_lambda::{lambda_runtime::Context, Shim};
use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};
use support::matrix;
use support::watch::{cargo_lambda_or_skip, Watch, CALL_TIMEOUT, FIRST_CALL_TIMEOUT};

#[tokio::test(flavor = "multi_thread")]
async fn the_example_answers_through_cargo_lambda_watch_byte_for_byte() {
    let Some(cargo_lambda) = cargo_lambda_or_skip() else {
        return;
    };
    let watch = Watch::start(&cargo_lambda, &[]);
    let shim = Shim::new(ProdServer::new(ProdService));

    // One literal answer, checked by eye once: the proxy's event format, Alive.
    let literal_event = br#"{"grpcLambda":1,"path":"/api.Prod/Alive","headers":[["content-type","application/grpc-web+proto"],["x-echo","hi"]],"body":"AAAAAAYKBHRlc3Q=","isBase64Encoded":true}"#;
    let expected = r#"{"grpcLambda":1,"statusCode":200,"headers":[["content-type","application/grpc-web+proto"],["x-echo","hi"]],"body":"AAAAABMKEUhlbGxvLCB3b3JsZC50ZXN0gAAAACRncnBjLXN0YXR1czogMA0KeC1lY2hvLXRyYWlsZXI6IGhpDQo=","isBase64Encoded":true}"#;

    // The first call waits for the build (a no-op when `cargo test` built the binary) and start.
    let started = Instant::now();
    let first = loop {
        match watch.invoke(literal_event, FIRST_CALL_TIMEOUT) {
            Ok(body) => break body,
            // Not listening yet, or the function is still being built.
            Err(_) if started.elapsed() < FIRST_CALL_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("no answer from cargo lambda watch: {err}\n{}", watch.log()),
        }
    };
    assert_eq!(String::from_utf8_lossy(&first), expected);
    let in_process = shim
        .invoke(&literal_event[..], &Context::default())
        .await
        .unwrap();
    assert_eq!(first, in_process);

    let mut warm = Vec::new();
    for call in matrix() {
        let event = serde_json::to_vec(&call.event).unwrap();
        let sent = Instant::now();
        let answer = watch
            .invoke(&event, CALL_TIMEOUT)
            .unwrap_or_else(|err| panic!("{}: {err}\n{}", call.context, watch.log()));
        warm.push(sent.elapsed());
        let expected = shim
            .invoke(event.clone(), &Context::default())
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&expected),
            "{}",
            call.context
        );
    }

    // Events the shim cannot serve are the invocation's error, named, through the real runtime.
    for (event, error_type, message) in [
        (
            &br#"{"rawPath": 7}"#[..],
            "grpc_lambda::InvalidEvent",
            "event field `rawPath` at byte 12: expected a string or null",
        ),
        (
            br#"{"detail-type": "Scheduled Event"}"#,
            "grpc_lambda::UnknownEvent",
            "is not an HTTP event",
        ),
    ] {
        let answer = match watch.invoke(event, CALL_TIMEOUT) {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(err) => err,
        };
        assert!(
            answer.contains(error_type) && answer.contains(message),
            "{answer}"
        );
    }
    warm.sort();
    eprintln!(
        "{} invocations through cargo lambda watch: median {:?}, max {:?} per call (loopback, debug build)",
        warm.len(),
        warm[warm.len() / 2],
        warm[warm.len() - 1]
    );
}
