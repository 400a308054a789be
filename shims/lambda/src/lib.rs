//! Serve gRPC, gRPC-Web, Connect and Twirp from an AWS Lambda function, behind every AWS front
//! door.
//!
//! One line turns a tonic service into a Lambda function that answers through API Gateway (REST
//! and HTTP APIs), a Function URL, an Application Load Balancer, VPC Lattice, or the
//! grpc-lambda proxy:
//!
//! ```no_run
//! # mod api {
//! #     #[derive(Clone)] pub struct ProdServer;
//! #     impl tower_service::Service<http::Request<grpc_lambda::Body>> for ProdServer {
//! #         type Response = http::Response<grpc_lambda::Body>;
//! #         type Error = std::convert::Infallible;
//! #         type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
//! #         fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
//! #         fn call(&mut self, _: http::Request<grpc_lambda::Body>) -> Self::Future { unimplemented!() }
//! #     }
//! # }
//! # use api::ProdServer;
//! // `ProdServer` is what tonic generates for `service Prod`.
//! fn main() -> Result<(), lambda_runtime::Error> {
//!     grpc_lambda::runtime()?.block_on(grpc_lambda::run(ProdServer /* ::new(MyProd) */))
//! }
//! ```
//!
//! [`runtime`] is the tokio runtime Lambda's way of running the function wants: one thread
//! while invocations come one at a time, a worker per CPU under Lambda Managed Instances.
//! `#[tokio::main]` works as well, at some start-up time and memory.
//!
//! The server is served as a `tower::Service`, so tonic's interceptors
//! (`ProdServer::with_interceptor`) and any `tower` layers around it run on every call, as they
//! would on a tonic server of its own.
//!
//! Plain async functions over prost messages work too, with a [`Router`]:
//!
//! ```no_run
//! use grpc_lambda::{Request, Response, Router, Status};
//!
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct AliveRequest { #[prost(string, tag = "1")] message: String }
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct AliveResponse { #[prost(string, tag = "1")] message: String }
//!
//! async fn alive(request: Request<AliveRequest>) -> Result<Response<AliveResponse>, Status> {
//!     let message = format!("Hello, world.{}", request.message().message);
//!     Ok(Response::new(AliveResponse { message }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     grpc_lambda::run(Router::new().unary("/api.Prod/Alive", alive)).await
//! }
//! ```
//!
//! # On the wire
//!
//! ```text
//!  client ──▶ front door ──event JSON──▶ Lambda ──▶ grpc-lambda ──▶ your service
//!              API Gateway v1/v2         body: base64 of           │ event shape detected
//!              Function URL, ALB,        length-prefixed frames    │ body base64-decoded once,
//!              VPC Lattice, proxy                                  │ frames sliced, not copied
//!  client ◀── front door ◀──response JSON── Lambda ◀───────────────┘ frames + trailer frame
//!                               same shape as the event;             (0x80) base64-encoded once
//!                               gRPC-Web: trailers inside the body
//! ```
//!
//! - The event shape is detected from the event itself ([`event::Source`]); the answer goes back
//!   in the same shape (REST API `isBase64Encoded` and headers, ALB `statusDescription`,
//!   multi-value headers when the request had them).
//! - The protocol is read from the request: gRPC, gRPC-Web, Connect (unary POST and GET,
//!   streaming) and Twirp, protobuf or JSON (JSON with the service's descriptors,
//!   `Shim::json`, feature `json`). A Connect or Twirp call is made a gRPC call for the
//!   service and its answer written back in the caller's protocol; gRPC and gRPC-Web with
//!   protobuf never pay for the others.
//! - The answer is in the caller's protocol: gRPC-Web and gRPC-Web-text carry the status in a
//!   trailer frame at the end of the body; native gRPC carries it in the headers when the call
//!   failed before any message (Trailers-Only). A front door cannot send HTTP/2 trailers, so a
//!   native gRPC client needs the grpc-lambda proxy to see a successful call's status.
//! - The method is the one the front door routed, read from the fields it defines: a REST API's
//!   resource and path parameters, an HTTP API's path without its stage, the path itself
//!   elsewhere; a stage or a custom domain's base path needs no configuration. It must be
//!   `/package.Service/Method` exactly: a path with more, empty, `.` or `..` segments or
//!   percent-escapes is answered `UNIMPLEMENTED`, naming it ([`event::path`]).
//! - The handler runs under `min(grpc-timeout, Lambda time left − safety margin)`; past it the
//!   call answers `DEADLINE_EXCEEDED` while Lambda still waits for the answer.
//! - Bad input is a gRPC status naming the problem, never a panic: body not base64 (with the
//!   offset), malformed frames, a message over the limit (`RESOURCE_EXHAUSTED` with the
//!   numbers), an answer too large for the front door (6 MB synchronous Lambda, 1 MB ALB).
//! - Browsers get CORS preflights answered and `grpc-status` / `grpc-message` exposed ([`Cors`]).
//! - Server streaming through Lambda response streaming, opt-in ([`Shim::response_streaming`],
//!   `GRPC_LAMBDA_RESPONSE_STREAMING=1`): each message leaves as the handler yields it, for the
//!   proxy and Function URLs in `RESPONSE_STREAM` mode; the other front doors stay buffered
//!   ([`streaming`]).
//! - Logs through `tracing`, inside the span `lambda_runtime` opens for each invocation (its
//!   request id): a call the function failed (its handler's error or panic, an answer too large)
//!   is a warning; a request the client got wrong is logged at debug only, and a successful call
//!   not at all. Feature `logs` installs `lambda_runtime`'s default subscriber
//!   (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, JSON under `AWS_LAMBDA_LOG_FORMAT=JSON`) when the
//!   function has not installed one.
#![deny(missing_docs)]
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

// The data path, in the order an invocation passes through it: the event, the checks before
// the call, the call, the reply, the response in the event's shape.
mod body;
mod call;
pub mod deadline;
mod entry;
mod error;
pub mod event;
mod invocation;
#[cfg(feature = "json")]
pub mod json;
mod reply;
mod request;
mod router;
mod service;
mod shim;
pub mod streaming;
mod translate;

pub use crate::deadline::DEFAULT_SAFETY_MARGIN;
pub use crate::error::{BoxError, Error};
pub use crate::event::{Event, EventResponse, Source};
pub use crate::invocation::runtime;
pub use crate::router::{Request, Response, Router};
pub use crate::service::{Body, Handler, Trailers};
pub use crate::shim::Shim;
pub use grpc_lambda_core::{Code, Status};
/// CORS for browsers, answered as the proxy answers it (defined in `grpc-lambda-protocol`).
pub use grpc_lambda_protocol::cors::Cors;
pub use lambda_runtime;

/// Runs `handler` as the Lambda function: the one line a `main` needs.
///
/// `handler` is a tonic-generated server (any `tower::Service` over `http` types) or a
/// [`Router`]. Defaults: any CORS origin, 4 MiB messages, a 50 ms deadline safety margin; use
/// [`Shim`] to change them.
///
/// # Errors
///
/// When the Lambda Runtime API cannot be reached (outside Lambda, without a local emulator).
pub async fn run<H: Handler>(handler: H) -> Result<(), lambda_runtime::Error> {
    Shim::new(handler).run().await
}
