//! The example under `cargo lambda watch`, called as a browser calls a Function URL: plain HTTP
//! to `http://127.0.0.1:<port>/lambda-url/prod/<method>`, gRPC-Web binary and gRPC-Web-text,
//! unary and server streaming, from another origin. cargo-lambda turns each request into a
//! payload 2.0 event and reads the buffered answer back into an HTTP response, which it only
//! does when the answer carries `cookies`.
//!
//! Run as a user runs it (`cargo lambda watch`), cargo-lambda answers CORS preflights itself;
//! with `--disable-cors` the function answers them, as behind a Function URL with no CORS
//! configuration of its own. Both are checked.
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

use grpc_lambda_core::{base64, decode::decode_all};
use grpc_lambda_example_prod::api::{AliveResponse, CountResponse};
use prost::Message;
use support::watch::{cargo_lambda_or_skip, HttpResponse, Watch, CALL_TIMEOUT};
use support::{call_headers, cases, trailer_frame, Case, Protocol};

/// The page's origin: another one than the function's.
const ORIGIN: &str = "http://localhost:5173";

/// The function's address under cargo-lambda's Function URL emulation.
fn url(method_path: &str) -> String {
    format!("/lambda-url/prod{method_path}")
}

/// A call as a gRPC-Web client in a page sends it: the case's request in `protocol`, the echo
/// metadata, the headers gRPC-Web clients add, and the page's origin.
fn call(watch: &Watch, case: &Case, protocol: Protocol, first: bool) -> HttpResponse {
    let mut headers = call_headers(protocol);
    headers.extend([
        ("x-grpc-web", "1"),
        ("x-user-agent", "grpc-web-javascript/0.1"),
        ("origin", ORIGIN),
    ]);
    let body = match protocol {
        Protocol::GrpcWebText => base64::encode(&case.request).to_vec(),
        _ => case.request.clone(),
    };
    if first {
        return watch.first_request("POST", &url(case.path), &headers, &body);
    }
    watch
        .request("POST", &url(case.path), &headers, &body, CALL_TIMEOUT)
        .unwrap_or_else(|err| panic!("{} {protocol:?}: {err}\n{}", case.name, watch.log()))
}

/// The answer to `case` is the service's, byte for byte: status, content type, metadata in the
/// headers, the message frames and the trailer frame; each message and trailer decoded too.
fn assert_answer(response: &HttpResponse, case: &Case, protocol: Protocol) {
    let context = format!("{} {protocol:?}: {response:?}", case.name);
    assert_eq!(response.status, 200, "{context}");
    assert_eq!(
        response.header("content-type"),
        Some(protocol.content_type()),
        "{context}"
    );
    for (name, value) in &case.headers {
        assert_eq!(response.header(name), Some(*value), "{context}");
    }
    // The page may read the answer, and the status in it: one allowed origin (a browser refuses
    // two), the gRPC headers exposed.
    let allowed: Vec<&str> = response
        .headers
        .iter()
        .filter(|(n, _)| n == "access-control-allow-origin")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(allowed, [ORIGIN], "{context}");
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("grpc-status, grpc-message, grpc-status-details-bin, *"),
        "{context}"
    );
    let frames = match protocol {
        Protocol::GrpcWebText => base64::decode(&response.body).unwrap().to_vec(),
        _ => response.body.clone(),
    };
    let trailers: Vec<(&str, &str)> = case
        .trailers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let mut expected = case.messages.clone();
    expected.extend(trailer_frame(&trailers));
    assert_eq!(frames, expected, "{context}");

    let mut frames = decode_all(frames.into(), 1 << 20).unwrap();
    let trailer_block = frames.pop().unwrap().trailers().unwrap();
    let status = trailer_block.get_str("grpc-status").unwrap();
    let messages: Vec<String> = frames
        .iter()
        .map(|frame| match case.name {
            "Alive" => {
                AliveResponse::decode(frame.payload().clone())
                    .unwrap()
                    .message
            }
            "Count" => {
                let response = CountResponse::decode(frame.payload().clone()).unwrap();
                format!("{} {}", response.n, response.message)
            }
            other => panic!("{other} answers no message"),
        })
        .collect();
    let (want_status, want_messages): (&str, &[&str]) = match case.name {
        "Alive" => ("0", &["Hello, world.matrix"]),
        "Count" => ("0", &["1 1", "2 2", "3 3"]),
        "Fail" => ("3", &[]),
        _ => ("12", &[]),
    };
    assert_eq!(status, want_status, "{context}");
    assert_eq!(messages, want_messages, "{context}");
}

/// A browser's preflight for a gRPC-Web call from the page's origin.
fn preflight(watch: &Watch) -> HttpResponse {
    let headers = [
        ("origin", ORIGIN),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent,x-echo,x-echo-bin",
        ),
    ];
    watch
        .request(
            "OPTIONS",
            &url("/api.Prod/Alive"),
            &headers,
            b"",
            CALL_TIMEOUT,
        )
        .unwrap_or_else(|err| panic!("preflight: {err}\n{}", watch.log()))
}

/// What a browser needs from a preflight to send the call.
fn assert_preflight_allows_the_call(response: &HttpResponse) {
    assert!((200..300).contains(&response.status), "{response:?}");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{response:?}"
    );
    let methods = response.header("access-control-allow-methods").unwrap();
    assert!(
        methods.split(',').any(|m| m.trim() == "POST"),
        "{response:?}"
    );
    let headers = response.header("access-control-allow-headers").unwrap();
    for name in [
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "x-echo",
        "x-echo-bin",
    ] {
        assert!(
            headers
                .split(',')
                .any(|h| h.trim().eq_ignore_ascii_case(name)),
            "{name} not allowed: {response:?}"
        );
    }
}

#[test]
fn a_page_calls_the_example_through_cargo_lambda_watch_function_urls() {
    let Some(cargo_lambda) = cargo_lambda_or_skip() else {
        return;
    };
    let cases = cases();
    {
        // As the README runs it.
        let watch = Watch::start(&cargo_lambda, &[]);
        let mut first = true;
        for protocol in [Protocol::GrpcWeb, Protocol::GrpcWebText] {
            for case in &cases {
                let response = call(&watch, case, protocol, first);
                first = false;
                assert_answer(&response, case, protocol);
            }
        }
        assert_preflight_allows_the_call(&preflight(&watch));
    }
    // The function answers the preflight itself.
    let watch = Watch::start(&cargo_lambda, &["--disable-cors"]);
    let alive = &cases[0];
    let response = call(&watch, alive, Protocol::GrpcWeb, true);
    assert_answer(&response, alive, Protocol::GrpcWeb);
    assert_eq!(
        response.header("access-control-allow-credentials"),
        None,
        "only the function's CORS headers: {response:?}"
    );
    let response = preflight(&watch);
    assert_eq!(response.status, 204, "{response:?}");
    assert_preflight_allows_the_call(&response);
    assert_eq!(response.header("access-control-max-age"), Some("86400"));
    assert_eq!(response.header("x-echo"), None);
}
