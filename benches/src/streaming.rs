//! P6: server-streaming throughput through the proxy, in messages per second.
//!
//! ```text
//!  hyper h2 client ──▶ grpc-lambda-proxy (in process, route with response streaming)
//!                        │ InvokeWithResponseStream, event stream decoded, frames re-emitted
//!                        ▼
//!                      embedded Lambda service ◀── Runtime API (streaming response mode)
//!                        ▲
//!  this binary, run as the function (`--stream-function`): grpc-lambda with response streaming,
//!  a Router handler answering `count` messages of 1 KiB
//! ```
//!
//! One call of [`MESSAGES`] messages is timed from the request to the trailers; the line is the
//! median rate over a few calls. Goal: at least 100,000 messages of 1 KiB per second.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use grpc_lambda::{Request, Response, Router, Shim, Status};
use http_body_util::BodyExt;
use prost::Message;

use crate::{median, Line, Settings};

/// The argument that makes the `perf-report` binary run as the streaming function.
pub const FUNCTION_ARG: &str = "--stream-function";

/// The method the function serves.
pub const METHOD: &str = "/bench.Stream/Messages";

/// Messages per timed call.
pub const MESSAGES: u32 = 100_000;

/// Encoded size of each message: 1 KiB.
pub const MESSAGE_LEN: usize = 1024;

/// How many messages of what size.
#[derive(Clone, PartialEq, Message)]
pub struct StreamRequest {
    /// Messages to send.
    #[prost(uint32, tag = "1")]
    pub count: u32,
}

/// One message: a payload that makes the encoded message [`MESSAGE_LEN`] bytes.
#[derive(Clone, PartialEq, Message)]
pub struct StreamReply {
    /// Filler bytes.
    #[prost(bytes = "bytes", tag = "1")]
    pub payload: Bytes,
}

/// The payload for a [`MESSAGE_LEN`]-byte message: tag (1) + length varint (2) + payload.
fn payload() -> Bytes {
    Bytes::from(vec![b'x'; MESSAGE_LEN - 3])
}

/// `left` copies of one reply.
struct Repeat {
    left: u32,
    reply: StreamReply,
}

impl futures_core::Stream for Repeat {
    type Item = Result<StreamReply, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(self.reply.clone())))
    }
}

async fn messages(request: Request<StreamRequest>) -> Result<Response<Repeat>, Status> {
    Ok(Response::new(Repeat {
        left: request.message().count,
        reply: StreamReply { payload: payload() },
    }))
}

/// Runs this process as the Lambda function (under the proxy's embedded Runtime API).
pub fn run_function() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let router = Router::new().server_streaming(METHOD, messages);
    if let Err(err) = runtime.block_on(Shim::new(router).response_streaming(true).run()) {
        eprintln!("stream function: {err}");
        std::process::exit(1);
    }
}

/// One timed call: the messages received and the time from request to trailers.
async fn call(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<Bytes>,
    >,
    addr: std::net::SocketAddr,
    count: u32,
) -> Result<(u64, Duration), String> {
    let mut body = BytesMut::new();
    grpc_lambda_core::FrameEncoder::new()
        .encode_prost(&StreamRequest { count }, &mut body)
        .map_err(|err| format!("the request does not frame: {err}"))?;
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{METHOD}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(body.freeze()))
        .map_err(|err| err.to_string())?;
    let start = Instant::now();
    let response = client
        .request(request)
        .await
        .map_err(|err| err.to_string())?;
    let mut body = response.into_body();
    let mut bytes = 0u64;
    let mut status = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| err.to_string())?;
        match frame.into_data() {
            Ok(data) => bytes += data.len() as u64,
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    status = trailers.get("grpc-status").cloned();
                }
            }
        }
    }
    let elapsed = start.elapsed();
    if status.as_ref().map(|s| s.as_bytes()) != Some(b"0") {
        return Err(format!("the call ended with grpc-status {status:?}"));
    }
    let per_message = (5 + MESSAGE_LEN) as u64;
    if bytes != u64::from(count) * per_message {
        return Err(format!(
            "{bytes} bytes for {count} messages of {per_message} bytes"
        ));
    }
    Ok((bytes / per_message, elapsed))
}

/// Messages per second over `rounds` calls of [`MESSAGES`] messages (the median).
///
/// # Errors
///
/// A message when the proxy or the function does not start, or a call fails.
pub fn measure(rounds: usize) -> Result<(f64, Vec<String>), String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let command = format!("exec {} {FUNCTION_ARG}", exe.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async move {
        use clap::Parser as _;
        let argv = [
            "grpc-lambda-proxy",
            "--listen",
            "127.0.0.1:0",
            "--quiet",
            "--local-function",
            command.as_str(),
            "--local-name",
            "stream",
            "--response-streaming",
        ];
        let config = grpc_lambda_proxy::config::Config::from_args(
            grpc_lambda_proxy::config::Args::parse_from(argv),
        )?;
        let running = grpc_lambda_proxy::server::start(config).await?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .http2_initial_stream_window_size(8 * 1024 * 1024)
                .http2_initial_connection_window_size(16 * 1024 * 1024)
                .build_http::<http_body_util::Full<Bytes>>();
        // Warm up: the process starts, the connections open.
        call(&client, running.addr, 1000).await?;
        let mut rates = Vec::with_capacity(rounds);
        let mut details = Vec::new();
        for _ in 0..rounds {
            let (messages, elapsed) = call(&client, running.addr, MESSAGES).await?;
            let rate = messages as f64 / elapsed.as_secs_f64();
            details.push(format!(
                "{messages} messages in {:.1} ms: {rate:.0} msg/s, {:.0} MB/s",
                elapsed.as_secs_f64() * 1e3,
                rate * (5 + MESSAGE_LEN) as f64 / 1e6
            ));
            rates.push(rate);
        }
        running.shutdown();
        running.wait().await;
        Ok((median(&mut rates), details))
    })
}

/// P6.
pub fn report(settings: &Settings) -> Vec<Line> {
    let rounds = if settings.rounds > 50 { 7 } else { 3 };
    let what =
        format!("server-streaming throughput through the proxy, {MESSAGE_LEN}-byte messages/s");
    match measure(rounds) {
        Ok((rate, details)) => vec![Line {
            id: "P6",
            what,
            ratio: rate,
            goal: 100_000.0,
            at_least: true,
            details,
            missed_because: None,
        }],
        Err(err) => vec![Line {
            id: "P6",
            what,
            ratio: 0.0,
            goal: 100_000.0,
            at_least: true,
            details: vec![format!("not measured: {err}")],
            missed_because: None,
        }],
    }
}
