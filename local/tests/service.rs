//! The service as a caller sees it: a real function process (`tests/function.py`) behind the
//! Runtime API, invoked over loopback through the Invoke API, answers compared byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use grpc_lambda_core::eventstream::{Message, MessageDecoder};
use grpc_lambda_local::{LocalConfig, LocalLambda, REQUEST_PAYLOAD_LIMIT};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// The longest any one invocation of these tests may take.
const CALL_LIMIT: Duration = Duration::from_secs(30);

/// The function, or `None` (the test is skipped) where python3 is missing outside CI.
async fn start(function: &str, configure: impl FnOnce(&mut LocalConfig)) -> Option<LocalLambda> {
    let usable = grpc_lambda_test_support::python_usable();
    if !grpc_lambda_test_support::require("python3", usable) {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/function.py");
    let mut config = LocalConfig::new(format!("exec python3 {script}"), function);
    configure(&mut config);
    Some(LocalLambda::start(config).await.unwrap())
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn post(addr: SocketAddr, path: &str, body: impl Into<Bytes>) -> Answer {
    let call = async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut client, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = http::Request::post(path)
            .header("host", addr.to_string())
            .body(Full::new(body.into()))
            .unwrap();
        let response = client.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    };
    tokio::time::timeout(CALL_LIMIT, call)
        .await
        .expect("the invocation is answered in time")
}

async fn invoke(lambda: &LocalLambda, event: &str) -> Answer {
    let path = format!("/2015-03-31/functions/{}/invocations", lambda.function());
    post(lambda.addr(), &path, event.to_owned()).await
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

fn decode_events(body: &[u8]) -> Vec<Message> {
    let mut decoder = MessageDecoder::new();
    decoder.push(body);
    let mut messages = Vec::new();
    while let Some(message) = decoder.decode().unwrap() {
        messages.push(message);
    }
    decoder.finish().unwrap();
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_invocations_answer_the_functions_bytes() {
    let Some(lambda) = start("echo", |_| {}).await else {
        return;
    };
    let event = r#"{"op": "echo", "text": "h\u00e9llo", "n": [1, 2]}"#;
    let answer = invoke(&lambda, event).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, event.as_bytes());
    assert_eq!(header(&answer, "x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(header(&answer, "x-amz-function-error"), None);

    // A full ARN, percent-encoded as SDKs send it, names the same function.
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho";
    let path = format!("/2015-03-31/functions/{arn}/invocations");
    let answer = post(lambda.addr(), &path, event.to_owned()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, event.as_bytes());
    assert_eq!(lambda.endpoint(), format!("http://{}", lambda.addr()));
    lambda.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_sees_lambdas_context() {
    let Some(lambda) = start("ctx", |config| config.max_concurrency = 3).await else {
        return;
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = invoke(&lambda, r#"{"op": "context"}"#).await;
        assert_eq!(answer.status, StatusCode::OK);
        let seen: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(
            seen["arn"],
            "arn:aws:lambda:us-east-1:000000000000:function:ctx"
        );
        assert_eq!(seen["function_name"], "ctx");
        assert_eq!(seen["max_concurrency"], "3");
        // The default timeout: the deadline is about 30 s ahead.
        let ahead = seen["deadline_ms"].as_i64().unwrap() - seen["now_ms"].as_i64().unwrap();
        assert!((20_000..=30_000).contains(&ahead), "{ahead} ms");
        let id = seen["request_id"].as_str().unwrap().to_owned();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_functions_unknown_paths_and_oversized_events_are_refused() {
    let Some(lambda) = start("known", |_| {}).await else {
        return;
    };
    let answer = post(
        lambda.addr(),
        "/2015-03-31/functions/other/invocations",
        "{}",
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        header(&answer, "x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        answer.body,
        r#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:other"}"#
    );

    let answer = post(lambda.addr(), "/2015-03-31/functions", "{}").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        header(&answer, "x-amzn-errortype"),
        Some("UnknownOperationException")
    );

    let event = vec![b' '; REQUEST_PAYLOAD_LIMIT + 1];
    let path = "/2015-03-31/functions/known/invocations";
    let answer = post(lambda.addr(), path, event).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        header(&answer, "x-amzn-errortype"),
        Some("RequestTooLargeException")
    );
    // One byte less is an event (of spaces, which the function cannot parse: it crashes).
    let event = vec![b' '; REQUEST_PAYLOAD_LIMIT];
    let answer = post(lambda.addr(), path, event).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(header(&answer, "x-amz-function-error"), Some("Unhandled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_crashes_and_timeouts_are_function_errors_and_the_process_comes_back() {
    let Some(lambda) = start("failing", |config| {
        config.timeout = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let answer = invoke(&lambda, r#"{"op": "error"}"#).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(header(&answer, "x-amz-function-error"), Some("Unhandled"));
    assert_eq!(
        answer.body,
        r#"{"errorMessage":"it broke","errorType":"MyError"}"#
    );

    let answer = invoke(&lambda, r#"{"op": "exit"}"#).await;
    assert_eq!(header(&answer, "x-amz-function-error"), Some("Unhandled"));
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(error["errorType"], "Runtime.ExitError");
    assert_eq!(
        invoke(&lambda, r#"{"op": "echo"}"#).await.body,
        r#"{"op": "echo"}"#
    );

    let answer = invoke(&lambda, r#"{"op": "sleep", "ms": 20000}"#).await;
    assert_eq!(header(&answer, "x-amz-function-error"), Some("Unhandled"));
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.ends_with("Error: Task timed out after 1.00 seconds"),
        "{message}"
    );
    // The timed-out process was killed; its replacement answers.
    assert_eq!(
        invoke(&lambda, r#"{"op": "echo"}"#).await.body,
        r#"{"op": "echo"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_invocations_answer_an_event_stream() {
    let Some(lambda) = start("streamer", |_| {}).await else {
        return;
    };
    let path = "/2021-11-15/functions/streamer/response-streaming-invocations";
    let answer = post(lambda.addr(), path, r#"{"op": "chunks"}"#).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let messages = decode_events(&answer.body);
    let (complete, chunks) = messages.split_last().unwrap();
    let mut payload = Vec::new();
    for chunk in chunks {
        assert_eq!(chunk.header(":event-type"), Some("PayloadChunk"));
        assert_eq!(chunk.header(":message-type"), Some("event"));
        payload.extend_from_slice(&chunk.payload);
    }
    assert_eq!(payload, b"onetwothree");
    assert_eq!(complete.header(":event-type"), Some("InvokeComplete"));
    assert_eq!(complete.payload, r#"{"LogResult":""}"#);

    let answer = post(lambda.addr(), path, r#"{"op": "error"}"#).await;
    let messages = decode_events(&answer.body);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].header(":event-type"), Some("InvokeComplete"));
    let complete: serde_json::Value = serde_json::from_slice(&messages[0].payload).unwrap();
    assert_eq!(complete["ErrorCode"], "MyError");
    assert_eq!(
        complete["ErrorDetails"],
        r#"{"errorMessage":"it broke","errorType":"MyError"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_the_processes_and_the_queue_are_throttled() {
    let Some(lambda) = start("busy", |config| config.max_queue = 0).await else {
        return;
    };
    let addr = lambda.addr();
    let path = "/2015-03-31/functions/busy/invocations";
    let slow =
        tokio::spawn(async move { post(addr, path, r#"{"op": "sleep", "ms": 1500}"#).await });
    // The slow call holds the one process (or waits for it to start): either way it counts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = invoke(&lambda, r#"{"op": "echo"}"#).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&answer, "x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        body["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    assert_eq!(slow.await.unwrap().body, "slept");
    // Once it is free, the process takes the next call.
    assert_eq!(
        invoke(&lambda, r#"{"op": "echo"}"#).await.status,
        StatusCode::OK
    );
}
