//! What the grpc-lambda proxy and the grpc-lambda shim agree on, written once: the version of
//! the event the proxy sends, Lambda's payload limits, which headers travel as metadata, the
//! CORS answer, which requests are calls at all and in which protocol ([`read_call`]: gRPC,
//! gRPC-Web, Connect, Twirp), the one method-path check ([`method_path`]), Connect's headers
//! and GET query ([`connect`]), the Connect and Twirp JSON error bodies ([`json`]), and the
//! status each malformed request gets.
//!
//! ```
//! use grpc_lambda_core::{Code, DecodeError};
//! use grpc_lambda_protocol::{check_call, Malformed, EVENT_VERSION, LAMBDA_REQUEST_LIMIT};
//!
//! assert_eq!(EVENT_VERSION, 1);
//! assert_eq!(LAMBDA_REQUEST_LIMIT, 6_291_456);
//!
//! // A POST with a gRPC content type is a call; anything else gets an HTTP status.
//! let call = check_call(&http::Method::POST, Some(b"application/grpc-web-text"))?;
//! assert!(call.is_text());
//! let refused = check_call(&http::Method::GET, Some(b"application/grpc")).unwrap_err();
//! assert_eq!(refused.http_status(), http::StatusCode::METHOD_NOT_ALLOWED);
//!
//! // Every protocol, read from the request: a JSON POST under /twirp/ is Twirp's.
//! let call = grpc_lambda_protocol::read_call(
//!     &http::Method::POST,
//!     "/twirp/api.Prod/Alive",
//!     Some(b"application/json"),
//!     None,
//! )
//! .expect("a Twirp call");
//! assert_eq!(call.protocol, grpc_lambda_protocol::Protocol::Twirp);
//! assert_eq!(call.path.canonical(), "/api.Prod/Alive");
//!
//! // A body the library cannot parse is INTERNAL on both sides; a message over the limit is
//! // RESOURCE_EXHAUSTED.
//! let truncated = DecodeError::Truncated { expected: 9, received: 3, offset: 0 };
//! assert_eq!(Malformed::from(&truncated).code(), Code::Internal);
//! assert_eq!(Malformed::WebTextBase64.code(), Code::Internal);
//! # Ok::<(), grpc_lambda_protocol::NotACall>(())
//! ```
//!
//! ```text
//!  client ──▶ proxy ──(event, grpcLambda: EVENT_VERSION)──▶ Lambda ──▶ shim
//!              │ check_call, request_metadata,                         │ check_call,
//!              │ Malformed::code, cors                                 │ Malformed::code, cors
//! ```
//!
//! # Why a crate of its own
//!
//! These facts need `http` (methods, header maps, status codes), JSON and `std`;
//! `grpc-lambda-core` stays `no_std` and free of `http` and JSON, so they cannot live there. A crate both shims depend on
//! keeps one definition without pulling JSON or async into either: it holds constants, small
//! functions and one table, and nothing that runs on its own.

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

pub mod call;
pub mod connect;
pub mod cors;
mod headers;
pub mod json;
mod malformed;
pub mod path;
mod protocols;

pub use call::{read_call, Call, ErrorForm, Protocol, Refusal};
pub use headers::{
    is_connection_header, is_response_metadata, metadata_from_headers, metadata_to_headers,
    request_metadata, CONNECTION_HEADERS,
};
pub use malformed::{check_call, check_compressed_flag, Malformed, NotACall, ACCEPTED_ENCODINGS};
pub use path::{method_path, MethodPath, PathError};

/// The value of `grpcLambda` in the proxy's events: the version of the fields the proxy adds to
/// an API Gateway HTTP API (payload format 2.0) event for the shim. The shim answers an event of
/// this version in the proxy's response shape.
pub const EVENT_VERSION: u32 = 1;

/// Lambda's synchronous invocation payload limit for a request, in bytes: "6 MB", which the
/// Invoke API enforces as "Request must be smaller than 6291456 bytes for the InvokeFunction
/// operation" (AWS Lambda quotas, "Invocation payload (request and response)").
pub const LAMBDA_REQUEST_LIMIT: usize = 6_291_456;

/// Lambda's synchronous invocation payload limit for a response, in bytes: "Response payload
/// size (…) exceeded maximum allowed payload size (6291556 bytes)", the figure Lambda reports
/// when it refuses one.
pub const LAMBDA_RESPONSE_LIMIT: usize = 6_291_556;

/// Lambda's limit for a streamed response, in bytes: "The maximum response payload size for
/// response streaming is 200 MB" (AWS Lambda developer guide, "Response streaming").
pub const LAMBDA_STREAMED_RESPONSE_LIMIT: usize = 200 * 1024 * 1024;

/// The header on the proxy's gRPC-Web hop naming the protocol the proxy's client speaks when it
/// is not gRPC's (`connect` or `twirp`), so that the function answers a request message it cannot
/// read with the code that client's protocol gives it (`INVALID_ARGUMENT`, as it answers that
/// client directly) rather than gRPC's `INTERNAL`. The function reads it only from the proxy's
/// events and hands it to no service.
pub const CLIENT_PROTOCOL_HEADER: &str = "grpc-lambda-client-protocol";

/// The X-Ray trace header. The proxy passes a client's value on as the Invoke request's header,
/// so the invocation joins the client's trace; Lambda (and the local Lambda) hand it to the
/// function as `Lambda-Runtime-Trace-Id`.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";

/// An Application Load Balancer's limit on a Lambda target's response JSON, in bytes: "The
/// maximum size of the response JSON that the Lambda function can send is 1 MB" (Elastic Load
/// Balancing, "Lambda functions as targets").
pub const ALB_RESPONSE_LIMIT: usize = 1_048_576;
