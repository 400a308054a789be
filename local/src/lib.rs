//! AWS Lambda on loopback: runs a function process behind the Lambda Runtime API and answers the
//! Lambda Invoke API, so a Lambda function can be called where it will run, without AWS.
//!
//! The grpc-lambda proxy runs it for `--local-function`, and tests start it to call a real
//! function binary the way Lambda does.
//!
//! ```
//! # #[cfg(not(feature = "service"))]
//! # fn main() {}
//! # #[cfg(feature = "service")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper_util::rt::TokioIo;
//! use grpc_lambda_local::{LocalConfig, LocalLambda};
//!
//! // A function that answers each event with its bytes upper-cased, speaking the Runtime API.
//! let function = r#"python3 -c '
//! import os, urllib.request
//! api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
//! while True:
//!     with urllib.request.urlopen(api + "next") as next:
//!         id, event = next.headers["Lambda-Runtime-Aws-Request-Id"], next.read()
//!     urllib.request.urlopen(api + id + "/response", data=event.upper()).read()
//! '"#;
//! let lambda = LocalLambda::start(LocalConfig::new(function, "shout")).await?;
//!
//! // Invoke it as AWS SDKs do: POST /2015-03-31/functions/NAME/invocations.
//! let stream = tokio::net::TcpStream::connect(lambda.addr()).await?;
//! let (mut client, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
//! tokio::spawn(connection);
//! let request = http::Request::post("/2015-03-31/functions/shout/invocations")
//!     .header("host", lambda.addr().to_string())
//!     .body(Full::new(Bytes::from_static(b"\"hello\"")))?;
//! let response = client.send_request(request).await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "\"HELLO\"");
//! lambda.stop();
//! # Ok(()) }
//! ```
//!
//! # The wire
//!
//! ```text
//!  caller ──Invoke API (POST /2015-03-31/functions/NAME/invocations)────────▶ LocalLambda
//!         ──InvokeWithResponseStream (POST /2021-11-15/…/response-streaming-invocations)
//!                                                                              │ queue
//!  function process ◀──GET  /2018-06-01/runtime/invocation/next───────────────┤ (one port per process)
//!                   ──POST /2018-06-01/runtime/invocation/ID/response────────▶│ buffered or streaming
//!                   ──POST /2018-06-01/runtime/invocation/ID/error───────────▶│
//!                   ──POST /2018-06-01/runtime/init/error────────────────────▶│
//! ```
//!
//! It behaves as Lambda does where a caller's error handling depends on it: a function name
//! other than its own is `404 ResourceNotFoundException`; an event over 6 MB is
//! `413 RequestTooLargeException`; with every process busy and the queue full, `429
//! TooManyRequestsException`; a function error, a crash (`Runtime.ExitError`), a timeout
//! (`Sandbox.Timedout`, the process is killed and restarted) and a response over 6 MB
//! (`Function.ResponseSizeTooLarge`) are `200` with `X-Amz-Function-Error`.
//!
//! # Features
//!
//! `service` (default): the local Lambda itself. Without it the crate is [`LocalConfig`] and
//! Lambda's limits alone, for a program that reads the settings and may be built without the
//! service (the proxy without its `local` feature reads `[local]` this way and refuses it by
//! name).
//!
//! # Files
//!
//! - `config.rs`: [`LocalConfig`] and the limits.
//! - `service.rs`: `LocalLambda` (start, stop), the loopback HTTP/1.1 servers.
//! - `invoke_api.rs`: the Invoke API, throttling, the event stream answer.
//! - `state.rs`: the queue and the invocations in flight, shared by both APIs.
//! - `runtime_api.rs`: the Runtime API a function process polls and answers.
//! - `supervisor.rs`: the function processes: start, restart on exit, kill on timeout.
//! - `request_id.rs`, `reply.rs`, `quick_ack.rs`: request ids, JSON answers, a socket option.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod config;
#[cfg(feature = "service")]
mod invoke_api;
#[cfg(feature = "service")]
mod quick_ack;
#[cfg(feature = "service")]
mod reply;
#[cfg(feature = "service")]
mod request_id;
#[cfg(feature = "service")]
mod runtime_api;
#[cfg(feature = "service")]
mod service;
#[cfg(feature = "service")]
mod state;
#[cfg(feature = "service")]
mod supervisor;

pub use config::{
    LocalConfig, DEFAULT_MAX_QUEUE, DEFAULT_TIMEOUT, REQUEST_PAYLOAD_LIMIT, RESPONSE_PAYLOAD_LIMIT,
    STREAMED_RESPONSE_LIMIT,
};
#[cfg(feature = "service")]
#[doc(hidden)]
pub use quick_ack::QuickAck;
#[cfg(feature = "service")]
pub use service::{LocalLambda, StartError};
#[cfg(feature = "service")]
#[doc(hidden)]
pub use state::ProcessStart;
