//! Targets: where a call goes once routed, and what comes back.
//!
//! Every target takes an [`UpstreamRequest`] (the path, the metadata, the request's gRPC frames,
//! the deadline) and answers an [`UpstreamReply`]: an HTTP status, headers, and a body of
//! gRPC-Web bytes (messages, then the trailer frame) that arrives as a stream of chunks. A
//! buffered invocation yields one chunk; a streamed one (Lambda response streaming) yields them as
//! the function writes them. The caller decodes frames as chunks arrive, so nothing above this
//! layer assumes the whole body is there.
//!
//! - `lambda.rs`: the Lambda Invoke API (SigV4, the AWS credential chain, an overridable
//!   endpoint); `function.rs` the function a route names; `answer.rs` the Invoke API's answers;
//!   `stream.rs` `InvokeWithResponseStream`'s event stream; `event.rs` the event sent and the
//!   function's answer read.
//! - `https.rs`: an HTTPS front door (API Gateway, a Function URL), spoken to in gRPC-Web.
//! - `local.rs` (feature `local`): the embedded Lambda service (`grpc-lambda-local`) that runs a
//!   function process on loopback.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::combinators::BoxBody;

use crate::error::InvokeError;

mod answer;
#[doc(hidden)]
pub mod event;
pub(crate) mod function;
pub(crate) mod https;
pub(crate) mod lambda;
#[cfg(feature = "local")]
pub(crate) mod local;
mod stream;

/// A body of gRPC-Web bytes from a target, chunk by chunk.
pub type ReplyBody = BoxBody<Bytes, InvokeError>;

/// A boxed future, as targets return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One call, ready to be sent to a target.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    /// `/package.Service/Method` (a Twirp call's, without `/twirp`).
    pub path: String,
    /// The client's metadata, without the headers that belong to the client's connection
    /// (`te`, `host`, `content-length`…) and without `grpc-timeout`, which each target writes
    /// from [`UpstreamRequest::deadline`].
    pub metadata: HeaderMap,
    /// The request's length-prefixed messages, as received (gRPC and gRPC-Web framing are the
    /// same for messages).
    pub body: Bytes,
    /// When the client stops waiting, from its `grpc-timeout`.
    pub deadline: Option<Instant>,
    /// The client's address, for the event's `sourceIp`.
    pub source_ip: String,
    /// The codec of the messages in `body`, which the event's `content-type` names
    /// (`application/grpc-web+json` for JSON).
    pub codec: grpc_lambda_core::content_type::Codec,
    /// A Connect GET's query string. Such a call goes to the function as the GET it is, with
    /// this query and no body: only the function's descriptors say whether a method may take
    /// a GET (`idempotency_level = NO_SIDE_EFFECTS`), so only the function can refuse one, and
    /// it answers in Connect's form, which the proxy passes on.
    pub connect_get: Option<String>,
}

impl UpstreamRequest {
    /// The time left before the deadline, if there is one (zero once it passed).
    pub fn time_left(&self) -> Option<std::time::Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }
}

/// What a target answered: an HTTP response whose body is gRPC-Web.
#[derive(Debug)]
pub struct UpstreamReply {
    /// The HTTP status the function (or front door) answered.
    pub status: StatusCode,
    /// Its headers: response metadata, and `grpc-status` for a Trailers-Only answer.
    pub headers: HeaderMap,
    /// gRPC-Web bytes: messages, then the trailer frame.
    pub body: ReplyBody,
}

/// A place calls can be sent to.
pub trait Upstream: Send + Sync + 'static {
    /// Sends one call and waits for the head of the answer.
    ///
    /// # Errors
    ///
    /// [`InvokeError`] for every failure the proxy can name (see [`crate::error`]).
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>>;

    /// The target as logs and metrics name it (`lambda:prod`, `https://…`).
    fn name(&self) -> &str;

    /// An error to answer every call with before its request is read (a route that refuses
    /// bidirectional streaming); `None` for a target that takes calls.
    fn refusal(&self) -> Option<InvokeError> {
        None
    }

    /// Whether the route runs bidirectional calls half-duplex: the request stream is read to
    /// the client's half-close however long it pauses.
    fn half_duplex(&self) -> bool {
        false
    }

    /// The route's own limit on how long a request body may take to arrive when the client
    /// sets no deadline; `None` for the proxy's `request_body_timeout`.
    fn request_body_timeout(&self) -> Option<std::time::Duration> {
        None
    }
}

/// A target on a route with `bidi = "half-duplex"`.
pub struct HalfDuplex {
    target: std::sync::Arc<dyn Upstream>,
    request_body_timeout: Option<std::time::Duration>,
}

impl HalfDuplex {
    /// Runs the bidirectional calls routed to `target` half-duplex.
    pub fn new(target: std::sync::Arc<dyn Upstream>) -> HalfDuplex {
        HalfDuplex {
            target,
            request_body_timeout: None,
        }
    }

    /// Gives the route its own wait for a request stream without a deadline.
    pub fn with_request_body_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.request_body_timeout = timeout;
        self
    }
}

impl Upstream for HalfDuplex {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        self.target.call(request)
    }

    fn name(&self) -> &str {
        self.target.name()
    }

    fn half_duplex(&self) -> bool {
        true
    }

    fn request_body_timeout(&self) -> Option<std::time::Duration> {
        self.request_body_timeout
    }
}

/// A route whose calls are bidirectional streams, which a Lambda invocation cannot serve
/// (it takes the whole request before it answers): every call is `UNIMPLEMENTED`, with why.
pub(crate) struct BidiUnimplemented {
    name: String,
}

impl BidiUnimplemented {
    /// Refuses the calls routed to `target`.
    pub(crate) fn new(target: &str) -> BidiUnimplemented {
        BidiUnimplemented {
            name: target.to_owned(),
        }
    }
}

impl Upstream for BidiUnimplemented {
    fn call(&self, _: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        Box::pin(async move { Err(self.error()) })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn refusal(&self) -> Option<InvokeError> {
        Some(self.error())
    }
}

impl BidiUnimplemented {
    fn error(&self) -> InvokeError {
        InvokeError::BidiRefused {
            target: self.name.clone(),
        }
    }
}

/// A one-chunk body.
pub(crate) fn full_body(bytes: Bytes) -> ReplyBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes)
        .map_err(|never: std::convert::Infallible| match never {})
        .boxed()
}
