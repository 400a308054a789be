//! The gRPC interop cases (interop-test-descriptions.md) through the proxy binary → its embedded
//! Lambda Runtime API → the interop function, with a tonic client and with Python's grpcio.
//!
//! Each case asserts what its description asserts, and the exact sizes, codes and messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use grpc_lambda_example_interop::grpc_testing::{
    EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, StreamingInputCallRequest,
    StreamingOutputCallRequest,
};
use support::Proxy;
use tokio_stream::StreamExt as _;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request};

const TEST_SERVICE: &str = "/grpc.testing.TestService/";

/// The message of special_status_message: whitespace, a BMP and a non-BMP character.
const SPECIAL_MESSAGE: &str = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        r#type: 0,
        body: vec![0; len],
    })
}

fn sized(sizes: &[i32]) -> Vec<ResponseParameters> {
    sizes
        .iter()
        .map(|&size| ResponseParameters {
            size,
            ..ResponseParameters::default()
        })
        .collect()
}

fn echo_metadata(metadata: &mut MetadataMap) {
    metadata.insert(
        "x-grpc-test-echo-initial",
        "test_initial_metadata_value".parse().unwrap(),
    );
    metadata.insert_bin(
        "x-grpc-test-echo-trailing-bin",
        MetadataValue::from_bytes(&[0xab, 0xab, 0xab]),
    );
}

fn assert_echoed(initial: &MetadataMap, trailing: &MetadataMap) {
    assert_eq!(
        initial.get("x-grpc-test-echo-initial").unwrap(),
        "test_initial_metadata_value"
    );
    let echoed = trailing
        .get_bin("x-grpc-test-echo-trailing-bin")
        .expect("the trailing echo")
        .to_bytes()
        .unwrap();
    assert_eq!(&echoed[..], [0xab, 0xab, 0xab]);
}

/// Every case that passes through the proxy, with tonic.
async fn tonic_suite(proxy: &Proxy) {
    let mut client = proxy.client().await;

    // empty_unary
    let reply = client.empty_call(Empty {}).await.expect("empty_unary");
    assert_eq!(reply.into_inner(), Empty {});

    // large_unary
    let reply = client
        .unary_call(SimpleRequest {
            response_size: 314_159,
            payload: zeros(271_828),
            ..SimpleRequest::default()
        })
        .await
        .expect("large_unary")
        .into_inner();
    assert_eq!(reply.payload, zeros(314_159), "large_unary");

    // server_streaming
    let mut stream = client
        .streaming_output_call(StreamingOutputCallRequest {
            response_parameters: sized(&[31_415, 9, 2_653, 58_979]),
            ..StreamingOutputCallRequest::default()
        })
        .await
        .expect("server_streaming")
        .into_inner();
    let mut payloads = Vec::new();
    while let Some(reply) = stream.message().await.expect("server_streaming message") {
        payloads.push(reply.payload);
    }
    let expected: Vec<_> = [31_415, 9, 2_653, 58_979].map(zeros).into();
    assert_eq!(payloads, expected, "server_streaming");

    // client_streaming: four messages, one invocation.
    let requests = [27_182, 8, 1_828, 45_904].map(|len| StreamingInputCallRequest {
        payload: zeros(len),
        ..StreamingInputCallRequest::default()
    });
    let reply = client
        .streaming_input_call(tokio_stream::iter(requests))
        .await
        .expect("client_streaming")
        .into_inner();
    assert_eq!(reply.aggregated_payload_size, 74_922, "client_streaming");

    // empty_stream: FullDuplexCall, half-closed at once; zero messages both ways.
    let mut stream = client
        .full_duplex_call(tokio_stream::iter(Vec::<StreamingOutputCallRequest>::new()))
        .await
        .expect("empty_stream")
        .into_inner();
    assert!(stream.message().await.expect("empty_stream").is_none());

    // status_code_and_message: UnaryCall, then FullDuplexCall (half-closed after the request).
    let echo = || EchoStatus {
        code: 2,
        message: "test status message".into(),
    };
    let status = client
        .unary_call(SimpleRequest {
            response_status: Some(echo()),
            ..SimpleRequest::default()
        })
        .await
        .expect_err("status_code_and_message (unary)");
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "test status message");
    let request = StreamingOutputCallRequest {
        response_status: Some(echo()),
        ..StreamingOutputCallRequest::default()
    };
    let status = match client.full_duplex_call(tokio_stream::iter([request])).await {
        Err(status) => status,
        Ok(response) => response
            .into_inner()
            .message()
            .await
            .expect_err("status_code_and_message (full duplex)"),
    };
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "test status message");

    // special_status_message
    let status = client
        .unary_call(SimpleRequest {
            response_status: Some(EchoStatus {
                code: 2,
                message: SPECIAL_MESSAGE.into(),
            }),
            ..SimpleRequest::default()
        })
        .await
        .expect_err("special_status_message");
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), SPECIAL_MESSAGE);

    // unimplemented_method
    let status = client
        .unimplemented_call(Empty {})
        .await
        .expect_err("unimplemented_method");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");

    // unimplemented_service
    let status = proxy
        .unimplemented_client()
        .await
        .unimplemented_call(Empty {})
        .await
        .expect_err("unimplemented_service");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");

    // custom_metadata: UnaryCall, then FullDuplexCall (half-closed after the request).
    let mut request = Request::new(SimpleRequest {
        response_size: 314_159,
        payload: zeros(271_828),
        ..SimpleRequest::default()
    });
    echo_metadata(request.metadata_mut());
    let reply = client.unary_call(request).await.expect("custom_metadata");
    // tonic merges a unary call's trailers into the response's metadata.
    assert_echoed(reply.metadata(), reply.metadata());
    assert_eq!(reply.into_inner().payload, zeros(314_159));
    let mut request = Request::new(tokio_stream::iter([StreamingOutputCallRequest {
        response_parameters: sized(&[314_159]),
        payload: zeros(271_828),
        ..StreamingOutputCallRequest::default()
    }]));
    echo_metadata(request.metadata_mut());
    let response = client
        .full_duplex_call(request)
        .await
        .expect("custom_metadata (full duplex)");
    let initial = response.metadata().clone();
    let mut stream = response.into_inner();
    let mut payloads = Vec::new();
    while let Some(reply) = stream.message().await.expect("custom_metadata message") {
        payloads.push(reply.payload);
    }
    assert_eq!(payloads, [zeros(314_159)]);
    let trailing = stream.trailers().await.unwrap().expect("trailers");
    assert_echoed(&initial, &trailing);

    // timeout_on_sleeping_server: FullDuplexCall, one request, never half-closed, 1 ms. tonic's
    // channel times the call out itself and reports CANCELLED ("Timeout expired"), so the call
    // goes through a plain HTTP/2 client: the DEADLINE_EXCEEDED is the server side's.
    let requests = tokio_stream::iter([StreamingOutputCallRequest {
        payload: zeros(27_182),
        ..StreamingOutputCallRequest::default()
    }])
    .chain(tokio_stream::pending());
    let mut request = Request::new(requests);
    request.set_timeout(Duration::from_millis(1));
    let mut plain = proxy.plain_client();
    let call = async {
        match plain.full_duplex_call(request).await {
            Err(status) => status,
            Ok(response) => response
                .into_inner()
                .message()
                .await
                .expect_err("timeout_on_sleeping_server"),
        }
    };
    let status = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("timeout_on_sleeping_server: an answer");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

/// timeout_on_sleeping_server once more, with a client that does not enforce the deadline
/// itself, so the status comes from the proxy: a request stream that never half-closes, and a
/// server that sleeps (a 5 s `interval_us`) with the half-closed variant.
async fn timeout_from_the_server_side(proxy: &Proxy) {
    let mut plain = proxy.plain_client();
    for half_closed in [false, true] {
        let first = StreamingOutputCallRequest {
            response_parameters: vec![ResponseParameters {
                size: 1,
                interval_us: 5_000_000,
                ..ResponseParameters::default()
            }],
            payload: zeros(27_182),
            ..StreamingOutputCallRequest::default()
        };
        let requests = tokio_stream::iter([first]);
        let requests: std::pin::Pin<
            Box<dyn tokio_stream::Stream<Item = StreamingOutputCallRequest> + Send>,
        > = if half_closed {
            Box::pin(requests)
        } else {
            Box::pin(requests.chain(tokio_stream::pending()))
        };
        let mut request = Request::new(requests);
        request.set_timeout(Duration::from_millis(300));
        let start = Instant::now();
        let call = async {
            match plain.full_duplex_call(request).await {
                Err(status) => status,
                Ok(response) => {
                    let mut stream = response.into_inner();
                    loop {
                        match stream.message().await {
                            Err(status) => break status,
                            Ok(None) => panic!("the deadline passed without an error"),
                            Ok(Some(_)) => {}
                        }
                    }
                }
            }
        };
        let status = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap_or_else(|_| {
                panic!("no answer 10 s after a 300 ms deadline (half-closed: {half_closed})")
            });
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "took {:?} (half-closed: {half_closed})",
            start.elapsed()
        );
    }
}

/// cancel_after_begin with tonic: the call starts (headers sent, no message) and the client
/// drops it, which resets the HTTP/2 stream. tonic has no status for a call it dropped itself,
/// so the assertion is the proxy's: the call is logged `CANCELLED` and nothing was invoked.
async fn cancel_after_begin(proxy: &Proxy) {
    let mut client = proxy.client().await;
    let call = tokio::spawn(async move {
        client
            .streaming_input_call(tokio_stream::pending::<StreamingInputCallRequest>())
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !call.is_finished(),
        "the call ended before it was cancelled"
    );
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_cases_with_tonic() {
    let proxy = Proxy::start(&[]);
    tonic_suite(&proxy).await;
    timeout_from_the_server_side(&proxy).await;
    cancel_after_begin(&proxy).await;
    let method = format!("{TEST_SERVICE}StreamingInputCall");
    proxy.wait_for_calls(&method, "CANCELLED", 1, Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_cases_with_grpcio() {
    if !support::require("grpcio (Python)", support::python_has("grpc")) {
        return;
    }
    let proxy = Proxy::start(&[]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/interop.py");
    let addr = proxy.addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        support::python(&script)
            .arg(addr)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "grpcio interop failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("all grpcio interop cases passed"),
        "{stdout}"
    );
    // grpcio's cancel_after_begin ended the call on the proxy's side too.
    let method = format!("{TEST_SERVICE}StreamingInputCall");
    proxy.wait_for_calls(&method, "CANCELLED", 1, Duration::from_secs(5));
}

/// ping_pong, the bidi-only case: each request is sent only after the previous response came
/// back, which one buffered invocation cannot serve. The documented answer through the proxy,
/// for a route that has not opted into half-duplex, is `UNIMPLEMENTED` at once with the reason
/// in `grpc-message` (not a call left waiting for a half-close that never comes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong_is_unimplemented_without_a_half_duplex_route() {
    let proxy = Proxy::start(&[]);
    let mut client = proxy.client().await;
    let (requests, outgoing) = tokio::sync::mpsc::channel(1);
    requests
        .send(StreamingOutputCallRequest {
            response_parameters: sized(&[31_415]),
            payload: zeros(27_182),
            ..StreamingOutputCallRequest::default()
        })
        .await
        .unwrap();
    let start = Instant::now();
    let outgoing = tokio_stream::wrappers::ReceiverStream::new(outgoing);
    let call = async {
        match client.full_duplex_call(outgoing).await {
            Err(status) => status,
            Ok(response) => response
                .into_inner()
                .message()
                .await
                .expect_err("ping_pong through a buffering proxy"),
        }
    };
    let status = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("ping_pong: an answer");
    drop(requests);
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("bidirectional call")
            && status.message().contains("bidi = \"half-duplex\""),
        "the reason and the remedy are named: {:?}",
        status.message()
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    if support::require("grpcio (Python)", support::python_has("grpc")) {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/interop.py");
        let addr = proxy.addr.to_string();
        let output = tokio::task::spawn_blocking(move || {
            support::python(&script)
                .args([addr.as_str(), "ping_pong"])
                .output()
                .expect("python3 runs")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "grpcio ping_pong:\n{stdout}");
    }
}
