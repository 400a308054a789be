//! A gRPC proxy in front of AWS Lambda: unmodified gRPC clients (Go, Python, Java, tonic…) call a
//! Lambda function and get real HTTP/2 trailers; gRPC-Web, Connect (unary, GET, server
//! streaming) and Twirp clients, protobuf or JSON, call the same function. The Lambda hop is
//! always gRPC-Web, its content type naming the codec: the proxy translates framing and status,
//! and the function's shim reads JSON.
//!
//! ```no_run
//! use clap::Parser;
//! use grpc_lambda_proxy::config::{Args, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Every method of api.Prod to a function; everything else answers UNIMPLEMENTED.
//! let args = Args::parse_from(["grpc-lambda-proxy", "--route", "api.Prod=arn:aws:lambda:eu-west-1:123456789012:function:prod"]);
//! let running = grpc_lambda_proxy::server::start(Config::from_args(args)?).await?;
//! println!("gRPC on {}", running.addr);
//! running.wait().await;
//! # Ok(()) }
//! ```
//!
//! Routing and the error table work without a network:
//!
//! ```
//! use grpc_lambda_core::Code;
//! use grpc_lambda_proxy::error::InvokeError;
//! use grpc_lambda_proxy::route::Pattern;
//!
//! assert_eq!(Pattern::parse("api.Prod"), Pattern::Prefix("/api.Prod/".into()));
//! let throttled = InvokeError::Throttled { reason: "Rate Exceeded.".into() };
//! assert_eq!(throttled.code(), Code::Unavailable);
//! ```
//!
//! # The wire
//!
//! ```text
//!  native gRPC client ──h2 (h2c or TLS)──▶ proxy ──Invoke API: HTTP API 2.0 event, body = base64 gRPC-Web──▶ Lambda
//!    ◀── HEADERS, DATA (messages) ────────┤  FrameDecoder over the decoded body, zero-copy            │ grpc-lambda
//!    ◀── trailers: grpc-status… ──────────┘  trailer frame (0x80) → real HTTP/2 trailers              │ shim
//!  gRPC-Web client ──HTTP/1.1 or h2──▶ proxy (same path; the trailer frame stays in the body)
//! ```
//!
//! # Modules
//!
//! - [`config`]: flags and the TOML file, every limit with its default ([`limits`]).
//! - [`server`]: starts the listeners (h2c, HTTP/1.1, TLS), the admin port and the targets;
//!   graceful shutdown. [`server::start_with_routes`] adds targets of the caller's own.
//! - [`route`]: the patterns routes match.
//! - [`invoke`]: the [`invoke::Upstream`] trait every target implements, and what it takes and
//!   answers.
//! - [`error`]: every failure, the one place each becomes a gRPC status; start-up errors.
//! - [`metrics`]: one log line per call, Prometheus counters.
//!
//! Everything else is the call path inside the proxy (see `ARCHITECTURE.md`).
//!
//! # Features
//!
//! - `tls` (default): HTTPS listener and HTTPS targets (rustls, ring, webpki roots).
//! - `aws` (default): SigV4 and the AWS credential and region chains (`aws-config`) for the
//!   Invoke API.
//! - `local` (default): `--local-function`, a function run on loopback by the
//!   `grpc-lambda-local` crate; without it, a configured local function is a start-up error.
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

mod budget;
mod call;
mod client;
pub mod config;
mod conn;
mod connect;
#[cfg(feature = "aws")]
mod credentials;
pub mod error;
mod grpc;
pub mod invoke;
pub mod limits;
pub mod metrics;
mod request;
mod response;
pub mod route;
pub mod server;
#[cfg(feature = "tls")]
mod tls;
