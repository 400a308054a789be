//! The shim end to end, in process, with a [`Router`] of prost functions, routes over tonic's
//! types (feature `tonic`) and hand-written `tower::Service`s: bad input, limits, CORS,
//! deadlines, routing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use grpc_lambda::lambda_runtime::Context;
use grpc_lambda::{Body, Code, Cors, Request, Response, Router, Shim, Status};
use grpc_lambda_core::{base64, FrameEncoder, Metadata};
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    message: String,
    /// How long the handler sleeps before answering, in milliseconds.
    #[prost(uint64, tag = "2")]
    sleep_ms: u64,
    /// How many bytes of `x` the answer carries.
    #[prost(uint64, tag = "3")]
    pad: u64,
}

async fn echo(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    let mut echo = request.into_message();
    if echo.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(echo.sleep_ms)).await;
    }
    if echo.pad > 0 {
        echo.message = "x".repeat(echo.pad as usize);
    }
    Ok(Response::new(echo))
}

async fn deadline_seen(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    let left = request.time_remaining().map_or(0, |d| d.as_millis() as u64);
    Ok(Response::new(Echo {
        message: left.to_string(),
        ..Echo::default()
    }))
}

async fn panics(_: Request<Echo>) -> Result<Response<Echo>, Status> {
    panic!("the handler gave up")
}

/// Blocking in place, which only tokio's multi-threaded runtime allows.
async fn blocks_in_place(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    let message = tokio::task::block_in_place(|| request.message().message.clone());
    Ok(Response::new(Echo {
        message,
        ..Echo::default()
    }))
}

/// `n` messages, `delay` apart.
struct Ticks {
    next: u64,
    n: u64,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stream for Ticks {
    type Item = Result<Echo, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        if self.next > self.n {
            return Poll::Ready(None);
        }
        let i = self.next;
        self.next += 1;
        self.sleep = Some(Box::pin(tokio::time::sleep(self.delay)));
        Poll::Ready(Some(Ok(Echo {
            message: i.to_string(),
            ..Echo::default()
        })))
    }
}

use std::future::Future as _;

async fn ticks(request: Request<Echo>) -> Result<Response<Ticks>, Status> {
    let echo = request.into_message();
    Ok(Response::new(Ticks {
        next: 1,
        n: echo.pad,
        delay: Duration::from_millis(echo.sleep_ms),
        sleep: None,
    }))
}

fn router() -> Router {
    Router::new()
        .unary("/test.Echo/Echo", echo)
        .unary("/test.Echo/Deadline", deadline_seen)
        .unary("/test.Echo/Panic", panics)
        .unary("/test.Echo/BlockInPlace", blocks_in_place)
        .server_streaming("/test.Echo/Ticks", ticks)
}

fn shim() -> Shim<Router> {
    Shim::new(router())
}

fn frame(message: &Echo) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_prost(message, &mut out).unwrap();
    out.to_vec()
}

fn b64(bytes: &[u8]) -> String {
    String::from_utf8(base64::encode(bytes).to_vec()).unwrap()
}

/// An HTTP API (2.0) event.
fn http_api(path: &str, headers: Value, body: &str) -> Value {
    json!({
        "version": "2.0",
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": path}, "domainName": "abc.execute-api.us-east-1.amazonaws.com"},
        "body": body,
        "isBase64Encoded": true,
    })
}

fn web(path: &str, body: &[u8]) -> Value {
    http_api(
        path,
        json!({"content-type": "application/grpc-web+proto"}),
        &b64(body),
    )
}

async fn invoke_with<H: grpc_lambda::Handler>(
    shim: &Shim<H>,
    event: &Value,
    context: &Context,
) -> Value {
    let json = serde_json::to_vec(event).unwrap();
    serde_json::from_slice(&shim.invoke(json, context).await.unwrap()).unwrap()
}

async fn invoke<H: grpc_lambda::Handler>(shim: &Shim<H>, event: &Value) -> Value {
    invoke_with(shim, event, &Context::default()).await
}

/// Splits a gRPC-Web body into message payloads and the trailers.
fn read_web(response: &Value) -> (Vec<Bytes>, Metadata) {
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["isBase64Encoded"], true);
    let body = base64::decode(response["body"].as_str().unwrap().as_bytes()).unwrap();
    let frames = grpc_lambda_core::decode::decode_all(body, usize::MAX >> 1).unwrap();
    let (trailers, messages): (Vec<_>, Vec<_>) = frames.into_iter().partition(|f| f.is_trailers());
    assert_eq!(trailers.len(), 1, "exactly one trailer frame");
    let trailers = trailers[0].trailers().unwrap();
    (
        messages.into_iter().map(|f| f.into_payload()).collect(),
        trailers,
    )
}

fn status(trailers: &Metadata) -> Status {
    Status::from_metadata(trailers)
        .unwrap()
        .expect("grpc-status")
}

#[tokio::test]
async fn a_unary_call_round_trips() {
    let request = Echo {
        message: "hi".into(),
        ..Echo::default()
    };
    let response = invoke(&shim(), &web("/test.Echo/Echo", &frame(&request))).await;
    let (messages, trailers) = read_web(&response);
    assert_eq!(messages, [Bytes::from(frame(&request)[5..].to_vec())]);
    assert_eq!(
        trailers.iter().collect::<Vec<_>>(),
        [("grpc-status", &b"0"[..])]
    );
    assert_eq!(
        response["headers"]["content-type"],
        "application/grpc-web+proto"
    );
}

#[tokio::test]
async fn a_rest_api_stage_needs_no_configuration() {
    // As the execute-api host sends it: the stage in `requestContext`, not in `path`.
    let event = json!({
        "httpMethod": "POST",
        "resource": "/{proxy+}",
        "path": "/test.Echo/Echo",
        "pathParameters": {"proxy": "test.Echo/Echo"},
        "headers": {"Content-Type": "application/grpc-web"},
        "requestContext": {"stage": "prod", "path": "/prod/test.Echo/Echo", "resourcePath": "/{proxy+}"},
        "body": b64(&frame(&Echo::default())),
        "isBase64Encoded": true,
    });
    let (_, trailers) = read_web(&invoke(&shim(), &event).await);
    assert!(status(&trailers).is_ok());
}

#[tokio::test]
async fn invalid_base64_is_a_status_naming_the_offset() {
    let event = http_api(
        "/test.Echo/Echo",
        json!({"content-type": "application/grpc-web"}),
        "AAAAAAA*",
    );
    let (messages, trailers) = read_web(&invoke(&shim(), &event).await);
    assert!(messages.is_empty());
    let status = status(&trailers);
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "the request body is marked isBase64Encoded but is not base64: base64 has '*' (0x2a) at offset 7, \
         outside the alphabet A-Z a-z 0-9 + / and padding ="
    );
}

#[tokio::test]
async fn invalid_grpc_web_text_names_the_offset() {
    let event = http_api(
        "/test.Echo/Echo",
        json!({"content-type": "application/grpc-web-text"}),
        &b64(b"AA.A"),
    );
    let response = invoke(&shim(), &event).await;
    assert_eq!(response["isBase64Encoded"], false);
    let body = base64::decode(response["body"].as_str().unwrap().as_bytes()).unwrap();
    let frames = grpc_lambda_core::decode::decode_all(body, 1 << 20).unwrap();
    let status = status(&frames[0].trailers().unwrap());
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status
            .message()
            .starts_with("the grpc-web-text request body is not base64"),
        "{status}"
    );
    assert!(status.message().contains("offset 2"), "{status}");
}

#[tokio::test]
async fn a_4_gib_frame_header_is_resource_exhausted_with_the_numbers() {
    let response = invoke(&shim(), &web("/test.Echo/Echo", b"\x00\xff\xff\xff\xff")).await;
    let status = status(&read_web(&response).1);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "request message of 4294967295 bytes (frame at byte 0) is larger than the limit of 4194304 bytes"
    );
}

#[tokio::test]
async fn a_message_over_the_configured_limit_is_resource_exhausted() {
    let shim = shim().max_message_len(16);
    let request = frame(&Echo {
        message: "0123456789abcdef".into(),
        ..Echo::default()
    });
    let status = status(&read_web(&invoke(&shim, &web("/test.Echo/Echo", &request)).await).1);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "request message of 18 bytes (frame at byte 0) is larger than the limit of 16 bytes"
    );
}

#[tokio::test]
async fn a_response_message_over_the_limit_is_resource_exhausted() {
    let shim = shim().max_message_len(64);
    let request = frame(&Echo {
        pad: 100,
        ..Echo::default()
    });
    let status = status(&read_web(&invoke(&shim, &web("/test.Echo/Echo", &request)).await).1);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "response message of 104 bytes is larger than the limit of 64 bytes"
    );
}

#[tokio::test]
async fn malformed_frames_are_named() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"\x00\x00\x00\x00\x05ab",
            "stream ended inside the frame at byte 0: 7 of its 10 bytes arrived",
        ),
        (
            b"\x02\x00\x00\x00\x00",
            "frame at byte 0: frame flags 0x02 set reserved bits 0x02",
        ),
        (
            b"\x80\x00\x00\x00\x00",
            "gRPC-Web trailer frame (flag 0x80), which only responses may carry",
        ),
    ];
    for (body, expected) in cases {
        let status = status(&read_web(&invoke(&shim(), &web("/test.Echo/Echo", body)).await).1);
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().contains(expected), "{status}");
    }
}

#[tokio::test]
async fn a_unary_call_without_a_message_is_refused() {
    let status = status(&read_web(&invoke(&shim(), &web("/test.Echo/Echo", b"")).await).1);
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "/test.Echo/Echo expects exactly one request message, the request has 0"
    );
}

#[tokio::test]
async fn a_message_that_does_not_decode_is_named() {
    let status =
        status(&read_web(&invoke(&shim(), &web("/test.Echo/Echo", b"\0\0\0\0\x01\xff")).await).1);
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status
            .message()
            .starts_with("the request message of /test.Echo/Echo does not decode"),
        "{status}"
    );
}

#[tokio::test]
async fn unknown_methods_are_unimplemented() {
    for path in ["/test.Echo/Nope", "/nope", "/"] {
        let status =
            status(&read_web(&invoke(&shim(), &web(path, &frame(&Echo::default()))).await).1);
        assert_eq!(status.code(), Code::Unimplemented, "{path}");
    }
}

#[tokio::test]
async fn native_grpc_failures_are_trailers_only() {
    let event = http_api(
        "/test.Echo/Nope",
        json!({"content-type": "application/grpc"}),
        &b64(&frame(&Echo::default())),
    );
    let response = invoke(&shim(), &event).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"], "");
    assert_eq!(response["headers"]["content-type"], "application/grpc");
    assert_eq!(response["headers"]["grpc-status"], "12");
    assert_eq!(
        response["headers"]["grpc-message"],
        "method /test.Echo/Nope is not implemented"
    );
}

#[tokio::test]
async fn a_response_over_the_alb_limit_but_under_lambdas_is_refused_only_by_the_alb() {
    let shim = shim().max_message_len(8 << 20);
    let request = frame(&Echo {
        pad: 900 * 1024,
        ..Echo::default()
    });
    let alb = json!({
        "httpMethod": "POST", "path": "/test.Echo/Echo",
        "headers": {"content-type": "application/grpc-web"},
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
        "body": b64(&request), "isBase64Encoded": true,
    });
    let response = invoke(&shim, &alb).await;
    assert_eq!(response["statusDescription"], "200 OK");
    let (messages, trailers) = read_web(&response);
    assert!(messages.is_empty());
    let status = status(&trailers);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .message()
            .contains("over the ALB's limit of 1048576 bytes"),
        "{status}"
    );
    assert!(response.to_string().len() < 2048);

    let (messages, trailers) = read_web(&invoke(&shim, &web("/test.Echo/Echo", &request)).await);
    // The string (1 + 3 + 921600 bytes) and `pad` (1 + 3).
    assert_eq!(messages[0].len(), 900 * 1024 + 8);
    assert!(status_ok(&trailers));
}

fn status_ok(trailers: &Metadata) -> bool {
    status(trailers).is_ok()
}

#[tokio::test]
async fn a_response_over_lambdas_6_mb_is_refused_with_the_numbers() {
    let shim = shim().max_message_len(8 << 20);
    let request = frame(&Echo {
        pad: 5 << 20,
        ..Echo::default()
    });
    let response = invoke(&shim, &web("/test.Echo/Echo", &request)).await;
    let status = status(&read_web(&response).1);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .message()
            .contains("API Gateway HTTP API's limit of 6291556 bytes"),
        "{status}"
    );
    assert!(status.message().contains("would take 699"), "{status}");
}

#[tokio::test]
async fn a_3_mib_message_works_both_ways() {
    let request = frame(&Echo {
        message: "y".repeat(3 << 20),
        ..Echo::default()
    });
    let response = invoke(&shim(), &web("/test.Echo/Echo", &request)).await;
    assert!(response.to_string().len() < 6_291_556);
    let (messages, trailers) = read_web(&response);
    assert_eq!(&messages[0][..], &request[5..]);
    assert!(status_ok(&trailers));
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let shim = shim().cors(Cors::allow_origins(["https://app.example"]));
    let mut preflight = web("/test.Echo/Echo", b"");
    preflight["requestContext"]["http"]["method"] = json!("OPTIONS");
    preflight["headers"] = json!({
        "origin": "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent",
    });
    let response = invoke(&shim, &preflight).await;
    assert_eq!(response["statusCode"], 204);
    assert_eq!(response["body"], "");
    let headers = &response["headers"];
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(headers["access-control-allow-methods"], "POST, OPTIONS");
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type,x-grpc-web,x-user-agent"
    );
    assert_eq!(headers["access-control-max-age"], "86400");

    preflight["headers"]["origin"] = json!("https://elsewhere.example");
    let response = invoke(&shim, &preflight).await;
    assert_eq!(response["statusCode"], 403);
    assert!(response["headers"]
        .get("access-control-allow-origin")
        .is_none());

    let mut call = web("/test.Echo/Echo", &frame(&Echo::default()));
    call["headers"]["origin"] = json!("https://app.example");
    let response = invoke(&shim, &call).await;
    assert_eq!(
        response["headers"]["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        response["headers"]["access-control-expose-headers"],
        "grpc-status, grpc-message, grpc-status-details-bin, *"
    );
}

#[tokio::test]
async fn the_client_deadline_stops_a_slow_handler() {
    let mut event = web(
        "/test.Echo/Echo",
        &frame(&Echo {
            sleep_ms: 10_000,
            ..Echo::default()
        }),
    );
    event["headers"]["grpc-timeout"] = json!("100m");
    let started = Instant::now();
    let status = status(&read_web(&invoke(&shim(), &event).await).1);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert_eq!(
        status.message(),
        "deadline exceeded: the call did not finish within the client's timeout (grpc-timeout or connect-timeout-ms) of 100ms"
    );
}

fn lambda_deadline_in(time: Duration) -> Context {
    let mut context = Context::default();
    let at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + time;
    context.deadline = at.as_millis() as u64;
    context
}

#[tokio::test]
async fn the_lambda_deadline_answers_before_lambda_kills_the_process() {
    let event = web(
        "/test.Echo/Echo",
        &frame(&Echo {
            sleep_ms: 10_000,
            ..Echo::default()
        }),
    );
    let context = lambda_deadline_in(Duration::from_millis(400));
    let started = Instant::now();
    let status = status(&read_web(&invoke_with(&shim(), &event, &context).await).1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(
        status.message().contains("the Lambda invocation had"),
        "{status}"
    );
    assert!(
        status
            .message()
            .contains("stopped 50ms before the function's timeout"),
        "{status}"
    );
}

#[tokio::test]
async fn the_handler_sees_the_shorter_deadline() {
    let mut event = web("/test.Echo/Deadline", &frame(&Echo::default()));
    event["headers"]["grpc-timeout"] = json!("20S");
    let context = lambda_deadline_in(Duration::from_secs(3));
    let (messages, _) = read_web(&invoke_with(&shim(), &event, &context).await);
    let echo: Echo = prost::Message::decode(messages[0].clone()).unwrap();
    let left: u64 = echo.message.parse().unwrap();
    assert!((2_500..=2_950).contains(&left), "{left}");
}

/// `Request::deadline` is one instant, however often it is asked, and in the past once the
/// budget is spent (a handler that blocks its first poll is not stopped by the shim's timer).
#[tokio::test]
async fn the_deadline_is_a_fixed_instant_that_passes() {
    async fn blocks_past_its_deadline(request: Request<Echo>) -> Result<Response<Echo>, Status> {
        let before = request.deadline().expect("a deadline");
        std::thread::sleep(Duration::from_millis(40));
        let after = request.deadline().expect("a deadline");
        let drift = before.max(after) - before.min(after);
        let message = format!(
            "drift {}us, passed {}, left {:?}",
            drift.as_micros(),
            after <= Instant::now(),
            request.time_remaining()
        );
        Ok(Response::new(Echo {
            message,
            ..Echo::default()
        }))
    }
    let shim = Shim::new(Router::new().unary("/test.Echo/Block", blocks_past_its_deadline));
    let mut event = web("/test.Echo/Block", &frame(&Echo::default()));
    event["headers"]["grpc-timeout"] = json!("10m");
    let (messages, _) = read_web(&invoke(&shim, &event).await);
    let echo: Echo = prost::Message::decode(messages[0].clone()).unwrap();
    let (drift, rest) = echo.message.split_once("us, ").unwrap();
    let drift: u64 = drift.trim_start_matches("drift ").parse().unwrap();
    assert!(drift < 1_000, "{}", echo.message);
    assert_eq!(rest, "passed true, left Some(0ns)");
}

#[tokio::test]
async fn a_stream_past_its_deadline_keeps_what_it_sent() {
    let mut event = web(
        "/test.Echo/Ticks",
        &frame(&Echo {
            pad: 100,
            sleep_ms: 40,
            ..Echo::default()
        }),
    );
    event["headers"]["grpc-timeout"] = json!("150m");
    let (messages, trailers) = read_web(&invoke(&shim(), &event).await);
    assert!((2..=5).contains(&messages.len()), "{}", messages.len());
    let first: Echo = prost::Message::decode(messages[0].clone()).unwrap();
    assert_eq!(first.message, "1");
    assert_eq!(status(&trailers).code(), Code::DeadlineExceeded);
}

#[tokio::test]
async fn a_stream_sends_every_message_then_ok() {
    let event = web(
        "/test.Echo/Ticks",
        &frame(&Echo {
            pad: 3,
            ..Echo::default()
        }),
    );
    let (messages, trailers) = read_web(&invoke(&shim(), &event).await);
    let got: Vec<String> = messages
        .into_iter()
        .map(|m| <Echo as prost::Message>::decode(m).unwrap().message)
        .collect();
    assert_eq!(got, ["1", "2", "3"]);
    assert!(status_ok(&trailers));
}

#[tokio::test]
async fn a_malformed_grpc_timeout_is_named() {
    let mut event = web("/test.Echo/Echo", &frame(&Echo::default()));
    event["headers"]["grpc-timeout"] = json!("soon");
    let status = status(&read_web(&invoke(&shim(), &event).await).1);
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().starts_with("malformed grpc-timeout: "),
        "{status}"
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_internal() {
    let status = status(
        &read_web(&invoke(&shim(), &web("/test.Echo/Panic", &frame(&Echo::default()))).await).1,
    );
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "the handler panicked: the handler gave up"
    );
}

/// `grpc_lambda::runtime()` is tokio's current-thread runtime for classic Lambda (as
/// `#[tokio::test]` is): a handler that blocks in place panics there, and the call is `INTERNAL`
/// naming tokio's reason, as the runtime's documentation says.
#[tokio::test]
async fn blocking_in_place_on_one_thread_answers_internal() {
    let event = web("/test.Echo/BlockInPlace", &frame(&Echo::default()));
    let status = status(&read_web(&invoke(&shim(), &event).await).1);
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().starts_with("the handler panicked: ")
            && status.message().contains("multi-threaded runtime"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_in_place_on_a_worker_per_cpu_answers() {
    let echo = Echo {
        message: "in place".into(),
        ..Echo::default()
    };
    let event = web("/test.Echo/BlockInPlace", &frame(&echo));
    let (messages, trailers) = read_web(&invoke(&shim(), &event).await);
    assert_eq!(status(&trailers).code(), Code::Ok);
    let echo: Echo = prost::Message::decode(messages[0].clone()).unwrap();
    assert_eq!(echo.message, "in place");
}

#[tokio::test]
async fn requests_that_are_not_grpc_get_http_answers() {
    let event = http_api("/test.Echo/Echo", json!({"content-type": "text/html"}), "");
    let response = invoke(&shim(), &event).await;
    assert_eq!(response["statusCode"], 415);
    assert_eq!(response["isBase64Encoded"], false);
    assert!(
        response["body"].as_str().unwrap().contains("text/html"),
        "{response}"
    );

    // JSON to a method path is a Connect call: without the service's descriptors it is
    // refused in Connect's form, naming why.
    let event = http_api(
        "/test.Echo/Echo",
        json!({"content-type": "application/json"}),
        "{}",
    );
    let response = invoke(&shim(), &event).await;
    assert_eq!(response["statusCode"], 501);
    assert_eq!(response["headers"]["content-type"], "application/json");
    let error: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(error["code"], "unimplemented");
    assert!(
        error["message"].as_str().unwrap().contains("Shim::json"),
        "{error}"
    );

    let mut event = web("/test.Echo/Echo", b"");
    event["requestContext"]["http"]["method"] = json!("GET");
    let response = invoke(&shim(), &event).await;
    assert_eq!(response["statusCode"], 405);
}

#[tokio::test]
async fn an_event_from_no_front_door_is_an_invocation_error() {
    let err = shim()
        .invoke(
            &br#"{"detail-type": "Scheduled Event"}"#[..],
            &Context::default(),
        )
        .await
        .unwrap_err();
    assert!(err.contains("not an HTTP event"), "{err}");
}

/// A `tower::Service` written by hand, as any non-tonic HTTP service would be.
#[derive(Clone)]
struct Failing;

impl tower_service::Service<http::Request<Body>> for Failing {
    type Response = http::Response<Body>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() == "/x.Y/NotFound" {
            let mut response = http::Response::new(Body::default());
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            return std::future::ready(Ok(response));
        }
        std::future::ready(Err(std::io::Error::other("backend unreachable")))
    }
}

#[tokio::test]
async fn tower_service_failures_become_statuses() {
    let shim = Shim::new(Failing);
    let invoke = |path: &str| {
        let json = serde_json::to_vec(&web(path, &frame(&Echo::default()))).unwrap();
        let shim = &shim;
        async move {
            serde_json::from_slice::<Value>(&shim.invoke(json, &Context::default()).await.unwrap())
                .unwrap()
        }
    };
    let status_of = |response: Value| status(&read_web(&response).1);
    let failed = status_of(invoke("/x.Y/Z").await);
    assert_eq!(failed.code(), Code::Unknown);
    assert_eq!(failed.message(), "the service failed: backend unreachable");
    let not_found = status_of(invoke("/x.Y/NotFound").await);
    assert_eq!(not_found.code(), Code::Unimplemented);
    assert_eq!(
        not_found.message(),
        "the service answered HTTP 404 without a grpc-status"
    );
}

/// A `tower::Service` that answers `OK` with headers telling what it found in its request
/// (which the shim sends as trailers: the answer has no message).
#[derive(Clone)]
struct Probe(fn(&http::Request<Body>, &mut http::HeaderMap));

impl tower_service::Service<http::Request<Body>> for Probe {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let mut response = http::Response::new(Body::default());
        let headers = response.headers_mut();
        headers.insert("grpc-status", http::HeaderValue::from_static("0"));
        (self.0)(&request, headers);
        std::future::ready(Ok(response))
    }
}

/// The Lambda request id, the trailers handle and the source in the request's extensions.
fn extensions_seen(request: &http::Request<Body>, headers: &mut http::HeaderMap) {
    let id = request
        .extensions()
        .get::<Context>()
        .map_or_else(|| "none".to_owned(), |context| context.request_id.clone());
    let has_trailers = request
        .extensions()
        .get::<grpc_lambda::Trailers>()
        .is_some();
    let source = request
        .extensions()
        .get::<grpc_lambda::Source>()
        .map_or("none", |source| source.name());
    headers.insert("x-request-id", id.parse().unwrap());
    headers.insert(
        "x-has-trailers",
        http::HeaderValue::from_static(if has_trailers { "yes" } else { "no" }),
    );
    headers.insert("x-source", http::HeaderValue::from_static(source));
}

#[tokio::test]
async fn tower_services_find_the_lambda_context_source_and_trailers_in_the_extensions() {
    let mut context = Context::default();
    context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned();
    let json = serde_json::to_vec(&web("/x.Y/Z", &frame(&Echo::default()))).unwrap();
    let response: Value = serde_json::from_slice(
        &Shim::new(Probe(extensions_seen))
            .invoke(json, &context)
            .await
            .unwrap(),
    )
    .unwrap();
    let (_, trailers) = read_web(&response);
    assert_eq!(
        trailers.get_str("x-request-id"),
        Some("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
        "{response}"
    );
    assert_eq!(trailers.get_str("x-has-trailers"), Some("yes"));
    assert_eq!(trailers.get_str("x-source"), Some("API Gateway HTTP API"));
}

/// Routes are found by path whatever order they were added in; a path routed twice keeps the
/// later handler.
#[tokio::test]
async fn routes_are_found_by_path_and_the_later_of_two_wins() {
    async fn first(_: Request<Echo>) -> Result<Response<Echo>, Status> {
        Err(Status::new(Code::Aborted, "the first"))
    }
    let shim = Shim::new(
        Router::new()
            .unary("/z.Last/Echo", echo)
            .unary("/test.Echo/Echo", first)
            .unary("/a.First/Echo", echo)
            .unary("/test.Echo/Echo", echo),
    );
    let sent = Echo {
        message: "kept".into(),
        ..Echo::default()
    };
    for path in ["/a.First/Echo", "/test.Echo/Echo", "/z.Last/Echo"] {
        let (messages, trailers) = read_web(&invoke(&shim, &web(path, &frame(&sent))).await);
        assert_eq!(
            messages,
            [Bytes::from(frame(&sent)[5..].to_vec())],
            "{path}"
        );
        assert_eq!(trailers.get_str("grpc-status"), Some("0"), "{path}");
    }
    let (_, trailers) = read_web(&invoke(&shim, &web("/m.Middle/Echo", &frame(&sent))).await);
    assert_eq!(status(&trailers).code(), Code::Unimplemented);
}

#[tokio::test]
async fn a_router_sends_what_no_route_names_to_its_fallback() {
    let shim = Shim::new(
        Router::new()
            .unary("/test.Echo/Echo", echo)
            .fallback(Probe(extensions_seen)),
    );
    let sent = Echo {
        message: "routed".into(),
        ..Echo::default()
    };
    let (messages, trailers) =
        read_web(&invoke(&shim, &web("/test.Echo/Echo", &frame(&sent))).await);
    assert_eq!(messages, [Bytes::from(frame(&sent)[5..].to_vec())]);
    assert_eq!(trailers.get_str("x-source"), None, "the route answered");
    let (messages, trailers) =
        read_web(&invoke(&shim, &web("/test.Echo/Other", &frame(&sent))).await);
    assert!(messages.is_empty());
    assert_eq!(trailers.get_str("grpc-status"), Some("0"));
    assert_eq!(trailers.get_str("x-source"), Some("API Gateway HTTP API"));
    assert_eq!(trailers.get_str("x-has-trailers"), Some("yes"));
}

/// The request's `content-length` and `host`, or `none`.
fn connection_headers_seen(request: &http::Request<Body>, headers: &mut http::HeaderMap) {
    for (name, seen) in [("content-length", "x-content-length"), ("host", "x-host")] {
        let value = request
            .headers()
            .get(name)
            .cloned()
            .unwrap_or(http::HeaderValue::from_static("none"));
        headers.insert(seen, value);
    }
}

#[tokio::test]
async fn the_service_sees_the_headers_the_proxy_hands_on() {
    let frames = frame(&Echo {
        message: "measured".into(),
        ..Echo::default()
    });
    let seen = |event: Value| async move {
        let json = serde_json::to_vec(&event).unwrap();
        let response = Shim::new(Probe(connection_headers_seen))
            .invoke(json, &Context::default())
            .await
            .unwrap();
        let response: Value = serde_json::from_slice(&response).unwrap();
        // Binary: the front door's base64; text: the answer's own (sent as text).
        let body = base64::decode(response["body"].as_str().unwrap().as_bytes()).unwrap();
        let frames = grpc_lambda_core::decode::decode_all(body, 1 << 20).unwrap();
        let trailers = frames[0].trailers().unwrap();
        [
            trailers.get_str("x-content-length").unwrap().to_owned(),
            trailers.get_str("x-host").unwrap().to_owned(),
        ]
    };
    // The connection's own headers (`host`, `content-length`…) are not the call's metadata: the
    // proxy drops them (`grpc_lambda_protocol::request_metadata`), and so does the shim, so a
    // service sees the same metadata whichever way the call came.
    let mut binary = web("/x.Y/Z", &frames);
    binary["headers"]["content-length"] = json!(frames.len().to_string());
    binary["headers"]["host"] = json!("abc.execute-api.us-east-1.amazonaws.com");
    assert_eq!(seen(binary).await, ["none", "none"]);
    // gRPC-Web-text: the client counted its base64 text, which the service never sees either.
    let text = b64(&frames);
    let mut web_text = http_api(
        "/x.Y/Z",
        json!({"content-type": "application/grpc-web-text+proto"}),
        &b64(text.as_bytes()),
    );
    web_text["headers"]["content-length"] = json!(text.len().to_string());
    assert_eq!(seen(web_text).await, ["none", "none"]);
}

#[cfg(feature = "gzip")]
#[tokio::test]
async fn gzip_request_messages_are_decompressed() {
    let message = frame(&Echo {
        message: "squeezed".into(),
        ..Echo::default()
    });
    let compressed = grpc_lambda_core::gzip::compress(&message[5..]);
    let mut body = BytesMut::new();
    FrameEncoder::new()
        .encode_compressed(&compressed, &mut body)
        .unwrap();
    let mut event = web("/test.Echo/Echo", &body);
    event["headers"]["grpc-encoding"] = json!("gzip");
    let (messages, trailers) = read_web(&invoke(&shim(), &event).await);
    assert!(status_ok(&trailers));
    assert_eq!(&messages[0][..], &message[5..]);
}

#[tokio::test]
async fn an_unknown_encoding_is_unimplemented() {
    let mut event = web("/test.Echo/Echo", b"\x01\x00\x00\x00\x01x");
    event["headers"]["grpc-encoding"] = json!("snappy");
    let status = status(&read_web(&invoke(&shim(), &event).await).1);
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(status.message().contains("\"snappy\""), "{status}");
}

/// Every chunk of a streamed answer, joined.
async fn collect_stream(mut stream: grpc_lambda::streaming::ChunkStream) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(chunk) =
        std::future::poll_fn(|cx| Stream::poll_next(Pin::new(&mut stream), cx)).await
    {
        all.extend_from_slice(&chunk.unwrap());
    }
    all
}

#[tokio::test]
async fn response_streaming_streams_to_the_proxy_and_buffers_for_api_gateway() {
    use grpc_lambda::lambda_runtime::FunctionResponse;
    let request = frame(&Echo {
        pad: 3,
        ..Echo::default()
    });
    let mut proxy_event = web("/test.Echo/Ticks", &request);
    proxy_event["grpcLambda"] = json!(1);
    proxy_event["path"] = json!("/test.Echo/Ticks");
    // The buffered answer's body bytes.
    let buffered = invoke(&shim(), &proxy_event).await;
    let buffered_body = base64::decode(buffered["body"].as_str().unwrap().as_bytes()).unwrap();
    let (messages, trailers) = read_web(&buffered);
    assert_eq!(
        status(&trailers).code(),
        Code::Ok,
        "{:?}",
        status(&trailers)
    );
    assert_eq!(messages.len(), 3);

    let streaming = std::sync::Arc::new(Shim::new(router()).response_streaming(true));
    let event: grpc_lambda::Event = serde_json::from_value(proxy_event).unwrap();
    let answer = streaming
        .clone()
        .handle_streaming(event, Context::default())
        .await
        .unwrap();
    let FunctionResponse::StreamingResponse(response) = answer else {
        panic!("the proxy gets a stream");
    };
    assert_eq!(response.metadata_prelude.status_code, 200);
    assert_eq!(
        response.metadata_prelude.headers["content-type"],
        "application/grpc-web+proto"
    );
    // The same bytes as the buffered answer: messages, then the trailer frame.
    assert_eq!(
        collect_stream(response.stream).await,
        buffered_body.to_vec()
    );

    // A failure before any message: the trailer frame alone, in the stream.
    let mut failing = web("/test.Echo/Nope", &request);
    failing["grpcLambda"] = json!(1);
    failing["path"] = json!("/test.Echo/Nope");
    let buffered = invoke(&shim(), &failing).await;
    let buffered_body = base64::decode(buffered["body"].as_str().unwrap().as_bytes()).unwrap();
    let event: grpc_lambda::Event = serde_json::from_value(failing).unwrap();
    let FunctionResponse::StreamingResponse(response) = streaming
        .clone()
        .handle_streaming(event, Context::default())
        .await
        .unwrap()
    else {
        panic!("the proxy gets a stream");
    };
    assert_eq!(
        collect_stream(response.stream).await,
        buffered_body.to_vec()
    );

    // API Gateway cannot read a stream: the buffered JSON answer, as without streaming.
    let event: grpc_lambda::Event =
        serde_json::from_value(web("/test.Echo/Ticks", &request)).unwrap();
    let answer = streaming
        .handle_streaming(event, Context::default())
        .await
        .unwrap();
    let FunctionResponse::BufferedResponse(response) = answer else {
        panic!("API Gateway gets a buffered answer");
    };
    assert_eq!(
        response.decoded_body().into_owned(),
        buffered_body_of_ticks(&request).await
    );
}

async fn buffered_body_of_ticks(request: &[u8]) -> Vec<u8> {
    let buffered = invoke(&shim(), &web("/test.Echo/Ticks", request)).await;
    base64::decode(buffered["body"].as_str().unwrap().as_bytes())
        .unwrap()
        .to_vec()
}
