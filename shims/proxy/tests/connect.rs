//! Connect and Twirp clients through the proxy, byte for byte: the example function (run by the
//! embedded runtime) answers in gRPC-Web, and the proxy translates framing and status only.
//! JSON clients are checked at the Lambda hop with a recording target: the hop names the codec
//! (`application/grpc-web+json`) and carries the client's bytes untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use prost::Message as _;
use support::api::{AliveRequest, AliveResponse, CountRequest, CountResponse};

/// A proxy whose catch-all route runs the example function.
async fn prod() -> grpc_lambda_proxy::server::Running {
    let command = format!("exec {}", support::prod_binary().display());
    support::start(&["--local-function", &command, "--local-name", "prod"]).await
}

/// `payload` in an envelope with `flags`.
fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn header<'a>(answer: &'a support::RawAnswer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_unary_and_errors() {
    let running = prod().await;
    let request = AliveRequest {
        message: " from connect".into(),
    }
    .encode_to_vec();
    let expected = AliveResponse {
        message: "Hello, world. from connect".into(),
    }
    .encode_to_vec();
    // POST over HTTP/1.1: the message, metadata as headers, trailers as trailer- headers.
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/api.Prod/Alive",
        &[
            ("content-type", "application/proto"),
            ("connect-protocol-version", "1"),
            ("connect-timeout-ms", "10000"),
            ("x-echo", "v1"),
        ],
        request.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(header(&answer, "content-type"), Some("application/proto"));
    assert_eq!(answer.body, expected);
    assert_eq!(header(&answer, "x-echo"), Some("v1"));
    assert_eq!(header(&answer, "trailer-x-echo-trailer"), Some("v1"));
    assert!(answer.headers.get("grpc-status").is_none(), "{answer:?}");

    // An error: the HTTP status of its code and the Connect JSON error.
    let fail = AliveRequest {
        message: "x".into(),
    }
    .encode_to_vec();
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Fail",
        &[("content-type", "application/proto"), ("x-echo", "v2")],
        fail,
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(
        answer.body,
        &br#"{"code":"invalid_argument","message":"bad: x","details":[{"type":"google.rpc.ErrorInfo","value":"CgtCQURfTUVTU0FHRRITZXhhbXBsZS5ncnBjLWxhbWJkYQ"}]}"#[..]
    );
    assert_eq!(header(&answer, "trailer-x-echo-trailer"), Some("v2"));

    // A method the function does not have: unimplemented, 501.
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Nope",
        &[("content-type", "application/proto")],
        Vec::new(),
    )
    .await;
    assert_eq!(answer.status, 501, "{answer:?}");
    assert!(
        answer.body.starts_with(br#"{"code":"unimplemented""#),
        "{answer:?}"
    );

    // A protocol version this side does not speak: invalid_argument, 400, naming the value.
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Alive",
        &[
            ("content-type", "application/proto"),
            ("connect-protocol-version", "2"),
        ],
        request,
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(
        answer.body,
        &br#"{"code":"invalid_argument","message":"connect-protocol-version is \"2\"; this server speaks version \"1\""}"#[..]
    );
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_server_streaming() {
    let running = prod().await;
    let request = envelope(0, &CountRequest { n: 3, delay_ms: 0 }.encode_to_vec());
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/api.Prod/Count",
        &[
            ("content-type", "application/connect+proto"),
            ("connect-protocol-version", "1"),
            ("x-echo", "s"),
        ],
        request,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/connect+proto")
    );
    assert_eq!(header(&answer, "x-echo"), Some("s"));
    let mut expected = Vec::new();
    for n in 1..=3 {
        let message = CountResponse {
            n,
            message: n.to_string(),
        };
        expected.extend(envelope(0, &message.encode_to_vec()));
    }
    expected.extend(envelope(0x02, br#"{"metadata":{"x-echo-trailer":["s"]}}"#));
    assert_eq!(answer.body, expected);

    // A failing stream: the error in the end-stream message, HTTP 200.
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Fail",
        &[("content-type", "application/connect+proto")],
        envelope(
            0,
            &AliveRequest {
                message: "s".into(),
            }
            .encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body,
        envelope(
            0x02,
            br#"{"error":{"code":"invalid_argument","message":"bad: s","details":[{"type":"google.rpc.ErrorInfo","value":"CgtCQURfTUVTU0FHRRITZXhhbXBsZS5ncnBjLWxhbWJkYQ"}]}}"#
        )
    );

    // connect-timeout-ms is the call's deadline: a stream slower than it ends
    // deadline_exceeded in the end-stream message.
    let started = Instant::now();
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Count",
        &[
            ("content-type", "application/connect+proto"),
            ("connect-timeout-ms", "300"),
        ],
        envelope(
            0,
            &CountRequest {
                n: 5,
                delay_ms: 400,
            }
            .encode_to_vec(),
        ),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2), "{answer:?}");
    assert_eq!(answer.status, 200, "{answer:?}");
    let end = envelope(
        0x02,
        br#"{"error":{"code":"deadline_exceeded","message":"the call's deadline (300 ms, the client's grpc-timeout or connect-timeout-ms) expired before the function answered"}}"#,
    );
    assert_eq!(answer.body, end);
    assert!(answer.headers.get("grpc-status").is_none(), "{answer:?}");

    // A request frame with a flag only a response (0x02) or gRPC-Web (0x80) carries is refused
    // by the proxy, in Connect's form, naming it.
    for (flags, named) in [(0x02u8, "end-stream message (flag 0x02)"), (0x80, "0x80")] {
        let answer = support::raw_request(
            running.addr,
            false,
            Method::POST,
            "/api.Prod/Count",
            &[("content-type", "application/connect+proto")],
            envelope(flags, &[]),
        )
        .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body.first(), Some(&0x02), "{answer:?}");
        let error: serde_json::Value = serde_json::from_slice(&answer.body[5..]).unwrap();
        assert_eq!(error["error"]["code"], "internal", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message}");
    }
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twirp_protobuf() {
    let running = prod().await;
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/twirp/api.Prod/Alive",
        &[("content-type", "application/protobuf")],
        AliveRequest {
            message: " twirp".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/protobuf")
    );
    assert_eq!(
        answer.body,
        AliveResponse {
            message: "Hello, world. twirp".into()
        }
        .encode_to_vec()
    );
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/twirp/api.Prod/Fail",
        &[("content-type", "application/protobuf")],
        AliveRequest {
            message: "t".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(
        answer.body,
        &br#"{"code":"invalid_argument","msg":"bad: t","meta":{}}"#[..]
    );
    // An unknown method (the function's UNIMPLEMENTED) is Twirp's bad_route, 404.
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/twirp/api.Prod/Nope",
        &[("content-type", "application/protobuf")],
        Vec::new(),
    )
    .await;
    assert_eq!(answer.status, 404, "{answer:?}");
    assert!(
        answer.body.starts_with(br#"{"code":"bad_route""#),
        "{answer:?}"
    );
    running.shutdown();
}

/// What a recording target was sent.
#[derive(Clone, Debug)]
struct Sent {
    path: String,
    metadata: http::HeaderMap,
    body: Bytes,
    time_left: Option<Duration>,
    event: serde_json::Value,
}

/// A target that records each call and answers `answer` in gRPC-Web: one message, then
/// `grpc-status: 0`.
struct Recorder {
    sent: Mutex<Vec<Sent>>,
    answer: &'static [u8],
}

impl grpc_lambda_proxy::invoke::Upstream for Recorder {
    fn call(
        &self,
        request: grpc_lambda_proxy::invoke::UpstreamRequest,
    ) -> grpc_lambda_proxy::invoke::BoxFuture<
        '_,
        Result<grpc_lambda_proxy::invoke::UpstreamReply, grpc_lambda_proxy::error::InvokeError>,
    > {
        let event = grpc_lambda_proxy::invoke::event::encode_event(&request);
        self.sent.lock().unwrap().push(Sent {
            path: request.path.clone(),
            metadata: request.metadata.clone(),
            body: request.body.clone(),
            time_left: request
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            event: serde_json::from_slice(&event).unwrap(),
        });
        let reply = match &request.connect_get {
            // A Connect GET: the function answers in Connect's own form.
            Some(_) if request.path.ends_with("/Fail") => connect_reply(
                405,
                br#"{"code":"unimplemented","message":"no GET for Fail"}"#,
            ),
            Some(_) => connect_reply(200, self.answer),
            None => support::ok_reply(&envelope(0, self.answer)),
        };
        Box::pin(async move { Ok(reply) })
    }

    fn name(&self) -> &str {
        "recorder"
    }
}

/// A function's own Connect answer: `status`, `application/json`, `body`.
fn connect_reply(status: u16, body: &'static [u8]) -> grpc_lambda_proxy::invoke::UpstreamReply {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("x-from", "function".parse().unwrap());
    if status == 405 {
        headers.insert("allow", "POST".parse().unwrap());
    }
    grpc_lambda_proxy::invoke::UpstreamReply {
        status: http::StatusCode::from_u16(status).unwrap(),
        headers,
        body: http_body_util::BodyExt::boxed(http_body_util::BodyExt::map_err(
            http_body_util::Full::new(Bytes::from_static(body)),
            |never| match never {},
        )),
    }
}

async fn recording(answer: &'static [u8]) -> (grpc_lambda_proxy::server::Running, Arc<Recorder>) {
    let recorder = Arc::new(Recorder {
        sent: Mutex::new(Vec::new()),
        answer,
    });
    let target = recorder.clone() as Arc<dyn grpc_lambda_proxy::invoke::Upstream>;
    let running = support::start_with_targets(&[], vec![("/", target)]).await;
    (running, recorder)
}

impl Recorder {
    /// The last call sent, whose event names `content_type`.
    fn last(&self, content_type: &str) -> Sent {
        let sent = self
            .sent
            .lock()
            .unwrap()
            .pop()
            .expect("a call reached the target");
        assert_eq!(
            sent.event["headers"]["content-type"], content_type,
            "{sent:?}"
        );
        sent
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_clients_reach_the_hop_as_grpc_web_json() {
    const REPLY: &[u8] = br#"{"message":"Hello, world. hi"}"#;
    let (running, recorder) = recording(REPLY).await;
    let request = br#"{"message":" hi"}"#.to_vec();

    // Twirp JSON: the prefix removed, the bytes in one frame, the codec named.
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/twirp/api.Prod/Alive",
        &[("content-type", "application/json")],
        request.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(answer.body, REPLY);
    let sent = recorder.last("application/grpc-web+json");
    assert_eq!(sent.path, "/api.Prod/Alive");
    assert_eq!(sent.body, envelope(0, &request));
    assert_eq!(sent.event["rawPath"], "/api.Prod/Alive");
    assert_eq!(sent.time_left, None);
    // The function is told whose protocol to answer a message it cannot read in.
    assert_eq!(
        sent.metadata.get("grpc-lambda-client-protocol").unwrap(),
        "twirp"
    );

    // Connect JSON, gzip: the message inflated for the hop (the function reads it as it reads
    // it from the client directly); the timeout becomes the call's deadline; Connect's own
    // headers stay behind.
    let gzipped = grpc_lambda_core::gzip::compress(&request);
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Alive",
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
            ("connect-protocol-version", "1"),
            ("connect-timeout-ms", "4000"),
            ("x-user", "u"),
        ],
        gzipped.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, REPLY);
    let sent = recorder.last("application/grpc-web+json");
    assert_eq!(sent.body, envelope(0, &request));
    assert!(sent.metadata.get("grpc-encoding").is_none(), "{sent:?}");
    assert_eq!(sent.metadata.get("x-user").unwrap(), "u");
    assert_eq!(
        sent.metadata.get("grpc-lambda-client-protocol").unwrap(),
        "connect"
    );
    for gone in [
        "content-encoding",
        "grpc-encoding",
        "connect-protocol-version",
        "connect-timeout-ms",
    ] {
        assert!(sent.metadata.get(gone).is_none(), "{gone}: {sent:?}");
    }
    let left = sent.time_left.expect("a deadline");
    assert!(
        left <= Duration::from_millis(4000) && left > Duration::from_millis(3000),
        "{left:?}"
    );
    assert!(
        sent.event["headers"]["grpc-timeout"].is_string(),
        "{:?}",
        sent.event
    );

    // gRPC-Web with JSON: the frames as sent, the codec named both ways.
    let frame = envelope(0, &request);
    let answer = support::raw_request(
        running.addr,
        false,
        Method::POST,
        "/api.Prod/Alive",
        &[("content-type", "application/grpc-web+json")],
        frame.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/grpc-web+json")
    );
    // The trailer frame as the proxy writes every trailer block.
    let mut expected = envelope(0, REPLY);
    expected.extend_from_slice(b"\x80\0\0\0\x10grpc-status: 0\r\n");
    assert_eq!(answer.body, expected);
    let sent = recorder.last("application/grpc-web+json");
    assert_eq!(sent.body, frame);
    // A gRPC-Web client's own: gRPC's codes.
    assert!(sent.metadata.get("grpc-lambda-client-protocol").is_none());

    // Native gRPC with JSON: the same hop; the answer's content type and real trailers.
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Alive",
        &[
            ("content-type", "application/grpc+json"),
            ("te", "trailers"),
        ],
        frame.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/grpc+json")
    );
    assert_eq!(answer.body, envelope(0, REPLY));
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
    assert_eq!(recorder.last("application/grpc-web+json").body, frame);

    // Connect streaming JSON: the envelope passes; the answer ends with the end-stream message.
    let answer = support::raw_request(
        running.addr,
        true,
        Method::POST,
        "/api.Prod/Count",
        &[("content-type", "application/connect+json")],
        frame.clone(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/connect+json")
    );
    let mut expected = envelope(0, REPLY);
    expected.extend(envelope(0x02, b"{}"));
    assert_eq!(answer.body, expected);
    assert_eq!(recorder.last("application/grpc-web+json").body, frame);

    // A Connect GET goes to the function as the GET it is (only the function knows which
    // methods may take one), and its Connect answer comes back as it is.
    let query = "connect=v1&encoding=json&message=%7B%22message%22%3A%22x%22%7D";
    let answer = support::raw_request(
        running.addr,
        false,
        Method::GET,
        &format!("/api.Prod/Alive?{query}"),
        &[("connect-timeout-ms", "5000")],
        Vec::new(),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(header(&answer, "x-from"), Some("function"));
    assert_eq!(answer.body, REPLY);
    let sent = recorder.last("application/grpc-web+json");
    assert_eq!(sent.event["requestContext"]["http"]["method"], "GET");
    assert_eq!(sent.event["rawQueryString"], query);
    assert_eq!(sent.event["body"], "");
    assert_eq!(sent.event["headers"]["connect-timeout-ms"], "5000");
    assert!(sent.time_left.is_some(), "{sent:?}");
    let answer = support::raw_request(
        running.addr,
        false,
        Method::GET,
        &format!("/api.Prod/Fail?{query}"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(answer.status, 405, "{answer:?}");
    assert_eq!(header(&answer, "allow"), Some("POST"));
    assert_eq!(
        answer.body,
        &br#"{"code":"unimplemented","message":"no GET for Fail"}"#[..]
    );
    recorder.last("application/grpc-web+json");

    // The series are counted by route and code, never by the client's path or protocol.
    let metrics = running.metrics().render();
    assert!(
        metrics
            .contains(r#"grpc_lambda_proxy_calls_total{route="/",target="recorder",code="OK"} 6"#),
        "{metrics}"
    );
    assert!(
        !metrics.contains("twirp") && !metrics.contains("Alive"),
        "{metrics}"
    );
    running.shutdown();
}
