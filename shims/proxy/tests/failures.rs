//! Every failure row of the README's table, through the embedded Lambda service, with a fake
//! function (`tests/python/fake_function.py`) that fails on demand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::api::{AliveRequest, AliveResponse};
use tonic::{Code, Request, Response, Status};

async fn call(
    addr: SocketAddr,
    path: &'static str,
    message: String,
    metadata: &[(&'static str, &'static str)],
) -> Result<Response<AliveResponse>, Status> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let mut grpc =
        tonic::client::Grpc::with_origin(client, format!("http://{addr}").parse().unwrap())
            .max_decoding_message_size(16 * 1024 * 1024)
            .max_encoding_message_size(16 * 1024 * 1024);
    grpc.ready().await.unwrap();
    let mut request = Request::new(AliveRequest { message });
    for (name, value) in metadata {
        request.metadata_mut().append(*name, value.parse().unwrap());
    }
    let codec: tonic_prost::ProstCodec<AliveRequest, AliveResponse> = Default::default();
    grpc.unary(request, http::uri::PathAndQuery::from_static(path), codec)
        .await
}

async fn fake(extra: &[&str]) -> grpc_lambda_proxy::server::Running {
    let command = support::fake_function();
    let mut flags = vec!["--local-function", command.as_str(), "--local-name", "fake"];
    flags.extend_from_slice(extra);
    support::start(&flags).await
}

fn expect(result: Result<Response<AliveResponse>, Status>, code: Code, text: &str) -> Status {
    let status = result.expect_err("the call fails");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(text),
        "{:?} lacks {text:?}",
        status.message()
    );
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_and_crashes() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&[]).await;
    let ok = call(running.addr, "/fake.F/Ok", String::new(), &[]).await;
    assert!(ok.is_ok(), "{ok:?}");
    expect(
        call(running.addr, "/fake.F/Error", String::new(), &[]).await,
        Code::Unknown,
        "function error MyError: it broke",
    );
    expect(
        call(running.addr, "/fake.F/Exit", String::new(), &[]).await,
        Code::Unknown,
        "Runtime.ExitError",
    );
    // The process was restarted.
    let ok = call(running.addr, "/fake.F/Ok", String::new(), &[]).await;
    assert!(ok.is_ok(), "{ok:?}");
    // The streaming response mode, read back through the buffered Invoke API.
    let streamed = call(running.addr, "/fake.F/Stream", String::new(), &[])
        .await
        .unwrap();
    assert_eq!(streamed.get_ref().message, "streamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_failures_through_invoke_with_response_stream() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&["--response-streaming", "--local-timeout", "1"]).await;
    // A buffered answer, read from the event stream.
    let ok = call(running.addr, "/fake.F/Ok", String::new(), &[]).await;
    assert!(ok.is_ok(), "{ok:?}");
    // A streamed answer: the prelude, then the frames.
    let streamed = call(running.addr, "/fake.F/Stream", String::new(), &[])
        .await
        .unwrap();
    assert_eq!(streamed.get_ref().message, "streamed");
    // Function errors arrive in InvokeComplete (ErrorCode, ErrorDetails).
    expect(
        call(running.addr, "/fake.F/Error", String::new(), &[]).await,
        Code::Unknown,
        "function error MyError: it broke",
    );
    expect(
        call(running.addr, "/fake.F/Exit", String::new(), &[]).await,
        Code::Unknown,
        "Runtime.ExitError",
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    expect(
        call(
            running.addr,
            "/fake.F/Sleep",
            String::new(),
            &[("x-sleep-ms", "3000")],
        )
        .await,
        Code::DeadlineExceeded,
        "Task timed out after 1.00 seconds",
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ok = call(running.addr, "/fake.F/Ok", String::new(), &[]).await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_metadata_is_kept_both_ways() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&[]).await;
    let reply = call(
        running.addr,
        "/fake.F/Echo",
        String::new(),
        &[("x-a", "one"), ("x-a", "two, three"), ("x-b", "AAEC")],
    )
    .await
    .unwrap();
    let values: Vec<_> = reply.metadata().get_all("x-a").iter().collect();
    assert_eq!(values, ["one", "two, three"]);
    assert_eq!(reply.metadata().get("x-b").unwrap(), "AAEC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_trace_id_reaches_the_function() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&[]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    // Through the Invoke request's X-Amzn-Trace-Id to the Runtime API's Lambda-Runtime-Trace-Id
    // (Trace answers it back), and among the event's headers (Echo answers them back).
    for (path, answered_in) in [
        ("/fake.F/Trace", "x-runtime-trace-id"),
        ("/fake.F/Echo", "x-amzn-trace-id"),
    ] {
        let reply = call(
            running.addr,
            path,
            String::new(),
            &[("x-amzn-trace-id", trace)],
        )
        .await
        .unwrap();
        assert_eq!(reply.metadata().get(answered_in).unwrap(), trace, "{path}");
    }
    // No trace header from the client: the function gets an unsampled one, never another
    // call's.
    let reply = call(running.addr, "/fake.F/Trace", String::new(), &[])
        .await
        .unwrap();
    assert_eq!(
        reply.metadata().get("x-runtime-trace-id").unwrap(),
        "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_limits() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&[
        "--max-request-bytes",
        "8388608",
        "--max-message-bytes",
        "8388608",
    ])
    .await;
    // 5 MiB of message is about 7 MB of event once base64-encoded.
    expect(
        call(running.addr, "/fake.F/Ok", "x".repeat(5 * 1024 * 1024), &[]).await,
        Code::ResourceExhausted,
        "over Lambda's synchronous payload limit of 6291456 bytes",
    );
    expect(
        call(running.addr, "/fake.F/Big", String::new(), &[]).await,
        Code::ResourceExhausted,
        "exceeded maximum allowed payload size (6291556 bytes)",
    );
    // The proxy's own request limit.
    let small = fake(&["--max-request-bytes", "1000"]).await;
    expect(
        call(small.addr, "/fake.F/Ok", "x".repeat(2000), &[]).await,
        Code::ResourceExhausted,
        "over the proxy's limit of 1000 bytes",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_throttling() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&["--local-timeout", "1", "--local-max-queue", "0"]).await;
    let addr = running.addr;
    let slow = tokio::spawn(async move {
        call(
            addr,
            "/fake.F/Sleep",
            String::new(),
            &[("x-sleep-ms", "3000")],
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The one process is busy and nothing may queue: Lambda-style throttling.
    expect(
        call(running.addr, "/fake.F/Ok", String::new(), &[]).await,
        Code::Unavailable,
        "throttled",
    );
    // The function's own timeout (1 s): the process is killed and restarted.
    expect(
        slow.await.unwrap(),
        Code::DeadlineExceeded,
        "Task timed out after 1.00 seconds",
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ok = call(running.addr, "/fake.F/Ok", String::new(), &[]).await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_and_unreachable() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let port = support::free_port();
    let port_text = port.to_string();
    let endpoint = format!("http://127.0.0.1:{port}");
    let running = fake(&[
        "--local-port",
        &port_text,
        "--lambda-endpoint",
        &endpoint,
        "--route",
        "fake.F=local",
        "--route",
        "missing.M=missing",
    ])
    .await;
    expect(
        call(running.addr, "/missing.M/Call", String::new(), &[]).await,
        Code::Unimplemented,
        "function \"missing\" not found",
    );
    let unreachable = support::start(&[
        "--route",
        "/=fake",
        "--lambda-endpoint",
        &format!("http://127.0.0.1:{}", support::free_port()),
    ])
    .await;
    expect(
        call(unreachable.addr, "/fake.F/Ok", String::new(), &[]).await,
        Code::Unavailable,
        "cannot reach http://127.0.0.1:",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cancels_stops_the_wait() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let running = fake(&[]).await;
    let addr = running.addr;
    // The client gives up after 300 ms (the future is dropped: HTTP/2 RST_STREAM).
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        call(
            addr,
            "/fake.F/Sleep",
            String::new(),
            &[("x-sleep-ms", "3000")],
        ),
    )
    .await;
    assert!(gave_up.is_err(), "the call was still waiting");
    // The proxy stopped waiting at once, long before the function answers.
    let metrics = running.metrics();
    let start = std::time::Instant::now();
    while metrics.in_flight() > 0 && start.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.in_flight(), 0);
    let text = metrics.render();
    let cancelled: f64 = text
        .lines()
        .filter(|line| line.contains("code=\"CANCELLED\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(cancelled, 1.0, "{text}");
}
