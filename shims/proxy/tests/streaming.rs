//! Streaming through the proxy: a tonic client → the proxy → the embedded Lambda service
//! (`InvokeWithResponseStream`) → the example function with response streaming on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use prost::Message;
use support::api::CountRequest;

/// The example function's command, with or without response streaming.
fn function(streaming: bool) -> String {
    let prod = support::prod_binary();
    if streaming {
        format!("GRPC_LAMBDA_RESPONSE_STREAMING=1 exec {}", prod.display())
    } else {
        format!("exec {}", prod.display())
    }
}

async fn proxy(function_streams: bool, route_streams: bool) -> grpc_lambda_proxy::server::Running {
    let command = function(function_streams);
    let mut flags = vec!["--local-function", &command, "--local-name", "prod"];
    if route_streams {
        flags.push("--response-streaming");
    }
    support::start(&flags).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_messages_arrive_as_the_function_writes_them() {
    let running = proxy(true, true).await;
    let mut client = support::client(running.addr).await;
    // A warm-up call: the process start is not what is measured.
    let mut warm = client
        .count(CountRequest { n: 1, delay_ms: 0 })
        .await
        .unwrap()
        .into_inner();
    while warm.message().await.unwrap().is_some() {}
    // Warm streamed calls take a few milliseconds: no ~40 ms Nagle / delayed-ACK stall between
    // the prelude and the first chunk on the Runtime API connection (the minimum of five, so a
    // busy machine does not fail it).
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut warm = client
            .count(CountRequest { n: 1, delay_ms: 0 })
            .await
            .unwrap()
            .into_inner();
        while warm.message().await.unwrap().is_some() {}
        fastest = fastest.min(t.elapsed());
    }
    assert!(
        fastest < Duration::from_millis(30),
        "fastest warm call {fastest:?}"
    );

    let start = Instant::now();
    let mut stream = client
        .count(CountRequest {
            n: 5,
            delay_ms: 200,
        })
        .await
        .expect("Count answers")
        .into_inner();
    let mut arrivals = Vec::new();
    while let Some(item) = stream.message().await.expect("a Count message") {
        arrivals.push((item.n, start.elapsed()));
    }
    // `message()` returned None: the trailers (grpc-status 0) arrived.
    let trailers_at = start.elapsed();
    let trailers = stream.trailers().await.expect("trailers");
    assert!(trailers.is_some() || trailers_at > Duration::ZERO);
    let counts: Vec<i32> = arrivals.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    let first = arrivals[0].1;
    let last = arrivals[4].1;
    eprintln!("first {first:?}, last {last:?}, trailers {trailers_at:?}");
    // The handler sleeps 200 ms before messages 2..5: it finishes ≥ 800 ms after it starts.
    assert!(
        first + Duration::from_millis(600) < trailers_at,
        "the first message came at {first:?}, the end at {trailers_at:?}: buffered, not streamed"
    );
    assert!(last >= Duration::from_millis(800), "last at {last:?}");
    for pair in arrivals.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(150),
            "messages {} and {} came {gap:?} apart",
            pair[0].0,
            pair[1].0
        );
    }
    assert!(trailers_at >= last, "trailers before the last message");
    running.shutdown();
    running.wait().await;
}

/// One Count call over a plain HTTP/2 connection: the response body bytes and the trailers.
async fn raw_count(addr: std::net::SocketAddr, n: i32) -> (Bytes, http::HeaderMap) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<Bytes>>();
    let message = CountRequest { n, delay_ms: 0 }.encode_to_vec();
    let mut body = BytesMut::new();
    body.extend_from_slice(&[0]);
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/api.Prod/Count"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(body.freeze()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    (collected.to_bytes(), trailers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_and_streamed_answers_are_the_same_bytes() {
    let mut answers = Vec::new();
    for (function_streams, route_streams) in
        [(true, true), (true, false), (false, true), (false, false)]
    {
        let running = proxy(function_streams, route_streams).await;
        let answer = raw_count(running.addr, 40).await;
        let empty = raw_count(running.addr, 0).await;
        answers.push(((function_streams, route_streams), answer, empty));
        running.shutdown();
        running.wait().await;
    }
    let (_, reference, reference_empty) = &answers[0];
    assert_eq!(
        reference.0.len(),
        (0..40).map(|i| 5 + CountRequest_len(i + 1)).sum::<usize>()
    );
    assert_eq!(
        reference.1.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    for (mode, answer, empty) in &answers {
        assert_eq!(&answer.0, &reference.0, "body bytes differ for {mode:?}");
        assert_eq!(&answer.1, &reference.1, "trailers differ for {mode:?}");
        assert_eq!(
            empty, reference_empty,
            "an empty stream differs for {mode:?}"
        );
    }
}

/// The encoded length of `CountResponse { n, message: n.to_string() }`.
#[allow(non_snake_case)]
fn CountRequest_len(n: i32) -> usize {
    support::api::CountResponse {
        n,
        message: n.to_string(),
    }
    .encoded_len()
}

/// A target that records what it is sent and answers one message and `grpc-status: 0`.
struct Recorder(std::sync::Mutex<Vec<Bytes>>);

impl grpc_lambda_proxy::invoke::Upstream for Recorder {
    fn call(
        &self,
        request: grpc_lambda_proxy::invoke::UpstreamRequest,
    ) -> grpc_lambda_proxy::invoke::BoxFuture<
        '_,
        Result<grpc_lambda_proxy::invoke::UpstreamReply, grpc_lambda_proxy::error::InvokeError>,
    > {
        self.0.lock().unwrap().push(request.body.clone());
        let reply = support::ok_reply(&request.body);
        Box::pin(async move { Ok(reply) })
    }

    fn name(&self) -> &str {
        "recorder"
    }
}

/// A request body sent as separate DATA frames, `gap` apart.
struct Slow {
    frames: std::collections::VecDeque<Bytes>,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    gap: Duration,
}

impl http_body::Body for Slow {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            std::task::ready!(sleep.as_mut().poll(cx));
        }
        let gap = self.gap;
        self.sleep = Some(Box::pin(tokio::time::sleep(gap)));
        std::task::Poll::Ready(
            self.frames
                .pop_front()
                .map(|f| Ok(http_body::Frame::data(f))),
        )
    }
}

use std::future::Future as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stream_is_buffered_into_one_invocation() {
    let recorder = std::sync::Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
    let running = support::start_with_targets(
        &["--max-request-bytes", "1000"],
        vec![(
            "/",
            recorder.clone() as std::sync::Arc<dyn grpc_lambda_proxy::invoke::Upstream>,
        )],
    )
    .await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Slow>();
    let frame = |payload: &[u8]| {
        let mut out = vec![0, 0, 0, 0, payload.len() as u8];
        out.extend_from_slice(payload);
        Bytes::from(out)
    };
    let send = |frames: Vec<Bytes>| {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/x.Svc/Up", running.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Slow {
                frames: frames.into(),
                sleep: None,
                gap: Duration::from_millis(50),
            })
            .unwrap();
        client.request(request)
    };
    // Three messages in three DATA frames, 50 ms apart: one invocation with all three.
    let messages = vec![frame(b"one"), frame(b"two"), frame(b"three")];
    let response = send(messages.clone()).await.unwrap();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    assert_eq!(trailers.get("grpc-status").unwrap(), "0");
    assert_eq!(collected.to_bytes(), messages.concat());
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [Bytes::from(messages.concat())]
    );
    // Over the request limit: RESOURCE_EXHAUSTED, and no invocation.
    let big = vec![frame(&[b'x'; 200]); 6];
    let response = send(big).await.unwrap();
    assert_eq!(response.headers().get("grpc-status").unwrap(), "8");
    assert_eq!(recorder.0.lock().unwrap().len(), 1);
    running.shutdown();
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_refuses_bidi_answers_unimplemented_at_once() {
    // Nothing listens at the endpoint: the answer must come without an invocation.
    let running = support::start(&[
        "--route",
        "/x.Chat/PingPong=chat",
        "--lambda-endpoint",
        "http://127.0.0.1:9",
        "--bidi",
        "unimplemented",
    ])
    .await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Slow>();
    // A ping-pong client: one message, then it waits (the body never ends on its own).
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}/x.Chat/PingPong", running.addr))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Slow {
            frames: vec![Bytes::from_static(b"\0\0\0\0\x01a"); 2].into(),
            sleep: None,
            gap: Duration::from_secs(60),
        })
        .unwrap();
    let start = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .expect("an answer before the client half-closes")
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(response.headers().get("grpc-status").unwrap(), "12");
    let message = response
        .headers()
        .get("grpc-message")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(message.contains("bidirectional"), "{message}");
    assert!(message.contains("half-duplex"), "{message}");
    running.shutdown();
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_function_deadline_ends_deadline_exceeded() {
    let command = function(true);
    let running = support::start(&[
        "--local-function",
        &command,
        "--local-name",
        "prod",
        "--local-timeout",
        "1",
        "--response-streaming",
    ])
    .await;
    let mut client = support::client(running.addr).await;
    let mut stream = client
        .count(CountRequest {
            n: 50,
            delay_ms: 100,
        })
        .await
        .expect("Count answers")
        .into_inner();
    let mut received = 0;
    let status = loop {
        match stream.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the stream ended OK after {received} messages"),
            Err(status) => break status,
        }
    };
    // The messages written before the deadline arrived; then the deadline, named: the shim
    // stops the handler just before the function's timeout and ends the stream with the status
    // (were it not to, the embedded runtime ends the stream with `Sandbox.Timedout`).
    assert!((3..50).contains(&received), "{received} messages");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("deadline") || status.message().contains("timed out"),
        "{status:?}"
    );
    // The next call is served.
    let mut stream = client
        .count(CountRequest { n: 2, delay_ms: 0 })
        .await
        .expect("Count answers after the restart")
        .into_inner();
    let mut after = 0;
    while stream.message().await.expect("a Count message").is_some() {
        after += 1;
    }
    assert_eq!(after, 2);
    running.shutdown();
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_waiting_before_it_half_closes_is_unimplemented_unless_half_duplex() {
    let recorder = std::sync::Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
    let half_duplex: std::sync::Arc<dyn grpc_lambda_proxy::invoke::Upstream> =
        std::sync::Arc::new(grpc_lambda_proxy::invoke::HalfDuplex::new(recorder.clone()));
    let running = support::start_with_targets(
        &[],
        vec![
            ("/x.Chat/HalfDuplex", half_duplex),
            (
                "/",
                recorder.clone() as std::sync::Arc<dyn grpc_lambda_proxy::invoke::Upstream>,
            ),
        ],
    )
    .await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Slow>();
    let send = |path: &str, gap: Duration| {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", running.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Slow {
                frames: vec![Bytes::from_static(b"\0\0\0\0\x01a"); 2].into(),
                sleep: None,
                gap,
            })
            .unwrap();
        client.request(request)
    };
    // Ping-pong: one message, then the client waits for an answer (3 s before its next one).
    let start = Instant::now();
    let response = send("/x.Chat/PingPong", Duration::from_secs(3))
        .await
        .unwrap();
    let waited = start.elapsed();
    assert_eq!(response.headers().get("grpc-status").unwrap(), "12");
    let message = response
        .headers()
        .get("grpc-message")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(message.contains("half-duplex"), "{message}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
        "answered after {waited:?}"
    );
    assert!(recorder.0.lock().unwrap().is_empty(), "no invocation");
    // Half-duplex: the pause is waited out; both messages go in one invocation.
    let response = send("/x.Chat/HalfDuplex", Duration::from_millis(1500))
        .await
        .unwrap();
    let collected = response.into_body().collect().await.unwrap();
    assert_eq!(
        collected.trailers().unwrap().get("grpc-status").unwrap(),
        "0"
    );
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [Bytes::from_static(b"\0\0\0\0\x01a\0\0\0\0\x01a")]
    );
    running.shutdown();
    running.wait().await;
}
