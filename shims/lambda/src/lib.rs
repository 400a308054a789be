//! Serve gRPC and gRPC-Web from an AWS Lambda function, behind every AWS front door.
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
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     grpc_lambda::run(ProdServer /* ::new(MyProd) */).await
//! }
//! ```
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

mod body;
pub mod cors;
pub mod deadline;
pub mod error;
pub mod event;
mod invocation;
#[cfg(feature = "json")]
pub mod json;
mod router;
mod service;
pub mod streaming;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use grpc_lambda_core::base64::encoded_len;
use grpc_lambda_core::metadata::{format_timeout, parse_timeout};
use grpc_lambda_core::{ContentType, FrameEncoder, Metadata, Protocol, DEFAULT_MAX_MESSAGE_LEN};
use grpc_lambda_protocol::NotACall;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};

pub use crate::cors::Cors;
pub use crate::deadline::{Deadline, DEFAULT_SAFETY_MARGIN};
pub use crate::error::Error;
pub use crate::event::{Event, EventResponse, Source};
pub use crate::router::{Request, Response, Router};
pub use crate::service::{Body, BoxError, Handler, Trailers};
pub use grpc_lambda_core::{Code, Status};
pub use lambda_runtime;

use crate::event::{EventError, HttpRequest, ResponseBody, ResponseJson};
use crate::service::sealed::{Call, Reply};
use crate::streaming::{ChunkStream, Sink};
use lambda_runtime::{FunctionResponse, MetadataPrelude, StreamResponse};

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

/// The shim around a handler, with its settings.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grpc_lambda::{Cors, Router, Shim};
///
/// let shim = Shim::new(Router::new())
///     .cors(Cors::allow_origins(["https://app.example.com"]))
///     .max_message_len(8 * 1024 * 1024)
///     .safety_margin(Duration::from_millis(100));
/// # let _ = shim;
/// ```
#[derive(Debug)]
pub struct Shim<H> {
    handler: H,
    cors: Cors,
    max_message_len: usize,
    safety_margin: Duration,
    response_streaming: bool,
}

impl<H: Handler> Shim<H> {
    /// The shim with default settings.
    pub fn new(handler: H) -> Self {
        Self {
            handler,
            cors: Cors::default(),
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            safety_margin: DEFAULT_SAFETY_MARGIN,
            response_streaming: streaming::enabled_by_env(),
        }
    }

    /// Answers through Lambda response streaming where the caller reads a stream: a Function
    /// URL in `RESPONSE_STREAM` mode and the grpc-lambda proxy. Each message leaves the function
    /// as the handler produces it, the trailer frame last; API Gateway, ALB and VPC Lattice
    /// still get buffered answers. Default: off, or on when the environment variable
    /// [`streaming::RESPONSE_STREAMING_ENV`] (`GRPC_LAMBDA_RESPONSE_STREAMING`) is `1` or `true`.
    ///
    /// Turn it on only for a Function URL whose invoke mode is `RESPONSE_STREAM` (a `BUFFERED`
    /// one would show the stream's prelude to the client). The bytes of the body are the same
    /// either way. See [`streaming`].
    pub fn response_streaming(mut self, on: bool) -> Self {
        self.response_streaming = on;
        self
    }

    /// Which browser origins may call (default: any).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }

    /// The largest request message, in bytes, and the largest response message of a
    /// [`Router`]'s prost handlers (default 4 MiB, gRPC's default). A tonic service's responses
    /// are bounded as tonic's server bounds them (by default
    /// not at all), and every answer by the front door's payload limit.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// The time kept back from Lambda's deadline to send the answer (default 50 ms).
    pub fn safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }

    /// Serves Lambda invocations until the process ends.
    ///
    /// # Errors
    ///
    /// When the Lambda Runtime API cannot be reached.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        let shim = Arc::new(self);
        // Answers go to the runtime as written JSON (`ResponseJson`), their frames dropped
        // before the runtime copies it.
        if shim.response_streaming {
            return invocation::run(move |event, context| {
                let shim = Arc::clone(&shim);
                async move {
                    Ok(match shim.handle_streaming(event, context).await? {
                        FunctionResponse::BufferedResponse(response) => {
                            FunctionResponse::BufferedResponse(ResponseJson::from(response))
                        }
                        FunctionResponse::StreamingResponse(stream) => {
                            FunctionResponse::StreamingResponse(stream)
                        }
                    })
                }
            })
            .await;
        }
        invocation::run(move |event, context| {
            let shim = Arc::clone(&shim);
            async move { shim.handle(event, context).await.map(ResponseJson::from) }
        })
        .await
    }

    /// One invocation with response streaming on: a stream (prelude, then messages as they are
    /// produced, then the trailer frame) for the callers that read one, the buffered answer
    /// for the others.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the event is not an HTTP event from a known front door.
    pub async fn handle_streaming(
        self: Arc<Self>,
        event: Event,
        lambda: lambda_runtime::Context,
    ) -> Result<FunctionResponse<EventResponse, ChunkStream>, EventError> {
        let request = event.into_request()?;
        let lambda = Box::new(lambda);
        if !matches!(request.source, Source::FunctionUrl | Source::Proxy) {
            return Ok(FunctionResponse::BufferedResponse(
                self.handle_request(request, lambda).await,
            ));
        }
        let content_type = request.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let content_type = match grpc_lambda_protocol::check_call(&request.method, content_type) {
            Ok(content_type) => content_type,
            // A preflight or a request that is not a gRPC call: the buffered answer, streamed.
            Err(_) => {
                let response = self.handle_request(request, lambda).await;
                let body = response.decoded_body().into_owned();
                return Ok(FunctionResponse::StreamingResponse(StreamResponse {
                    metadata_prelude: MetadataPrelude {
                        status_code: response.status,
                        headers: response.headers,
                        cookies: Vec::new(),
                    },
                    stream: ChunkStream::once(body.into()),
                }));
            }
        };
        let (sink, head, stream) = Sink::new(content_type.protocol().is_text());
        let origin = request.headers.get(http::header::ORIGIN).cloned();
        let source = request.source;
        let shim = Arc::clone(&self);
        tokio::spawn(async move {
            let mut reply = Reply::new(source, streaming::LAMBDA_STREAMING_RESPONSE_LIMIT);
            reply.sink = Some(sink);
            if let Err(err) = shim.call(request, content_type, lambda, &mut reply).await {
                fail(&mut reply, &err);
            }
            finish_stream(content_type, reply);
        });
        // The metadata is known before the first message (or at the end, for an answer without
        // messages): that is when the prelude can go.
        let metadata = head.await.unwrap_or_default();
        let mut headers = HeaderMap::with_capacity(metadata.len() + 3);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(content_type.response_content_type()),
        );
        extend_headers(&mut headers, metadata);
        self.cors.apply(origin.as_ref(), &mut headers);
        Ok(FunctionResponse::StreamingResponse(StreamResponse {
            metadata_prelude: MetadataPrelude {
                status_code: StatusCode::OK,
                headers,
                cookies: Vec::new(),
            },
            stream,
        }))
    }

    /// One invocation, from the event JSON to the response JSON, as the Lambda runtime does it:
    /// the event read from its buffer ([`Event::from_bytes`]), the response serialized as the
    /// runtime serializes it (it copies the written JSON into a buffer of its own).
    ///
    /// # Errors
    ///
    /// A message when the JSON is not an event this crate knows.
    pub async fn invoke(
        &self,
        event_json: impl Into<Bytes>,
        lambda: &lambda_runtime::Context,
    ) -> Result<Vec<u8>, String> {
        let event = Event::from_bytes(&event_json.into()).map_err(|err| err.to_string())?;
        let request = event.into_request().map_err(|err| err.to_string())?;
        // The runtime hands each invocation a context of its own.
        let response = self.handle_request(request, Box::new(lambda.clone())).await;
        serde_json::to_vec(&ResponseJson::from(response)).map_err(|err| err.to_string())
    }

    /// One invocation: the event in, the response in the event's shape out.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the event is not an HTTP event from a known front door; every other
    /// problem is answered to the caller as a gRPC status.
    pub async fn handle(
        &self,
        event: Event,
        lambda: lambda_runtime::Context,
    ) -> Result<EventResponse, EventError> {
        let request = event.into_request()?;
        Ok(self.handle_request(request, Box::new(lambda)).await)
    }

    /// The context is boxed from here on: it is large, and each async step it passes through
    /// would copy it (into the step's future, with the future into its parent's, out again).
    async fn handle_request(
        &self,
        request: HttpRequest,
        lambda: Box<lambda_runtime::Context>,
    ) -> EventResponse {
        let source = request.source;
        if request.method == Method::OPTIONS {
            let (status, headers) = self.cors.preflight(&request.headers);
            let mut response = EventResponse::new(source, status);
            response.headers = headers;
            return response;
        }
        let content_type = request.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let content_type = match grpc_lambda_protocol::check_call(&request.method, content_type) {
            Ok(content_type) => content_type,
            Err(refusal) => return self.not_a_call(&request, &refusal),
        };
        let mut reply = Reply::new(source, max_body_len(source));
        let origin = request.headers.get(http::header::ORIGIN).cloned();
        if let Err(err) = self.call(request, content_type, lambda, &mut reply).await {
            fail(&mut reply, &err);
        }
        let mut response = encode_reply(source, content_type, reply);
        self.cors.apply(origin.as_ref(), &mut response.headers);
        response
    }

    async fn call(
        &self,
        request: HttpRequest,
        content_type: ContentType,
        lambda: Box<lambda_runtime::Context>,
        reply: &mut Reply,
    ) -> Result<(), Error> {
        let HttpRequest {
            source,
            path,
            mut headers,
            body,
            ..
        } = request;
        let web_text = content_type.protocol().is_text();
        let body = body::decode_request(body, web_text)?;
        // A gRPC-Web-text body reaches the handler decoded from its base64: the client's
        // `content-length` counted the text, so it goes rather than describe a body it no longer
        // measures (a length limit in the service would read it as a third larger).
        if web_text {
            headers.remove(CONTENT_LENGTH);
        }
        // Every frame is checked here, whoever decodes the messages. The first is kept (a slice
        // of the body, not a copy) for a handler that reads it, and the others counted: a
        // route takes exactly one, and a body of many small frames costs no memory of its own.
        let mut first_frame = None;
        let mut frames = 0;
        let keep_first = self.handler.reads_frames();
        let encoding = headers.get("grpc-encoding").map(HeaderValue::as_bytes);
        for frame in grpc_lambda_core::decode::frames(&body, self.max_message_len) {
            let frame = frame.map_err(Error::Frame)?;
            if frame.is_trailers() {
                return Err(Error::TrailersInRequest);
            }
            grpc_lambda_protocol::check_compressed_flag(frame.is_compressed(), encoding)
                .map_err(|_| Error::CompressedWithoutEncoding { index: frames })?;
            if keep_first && frames == 0 {
                first_frame = Some(frame.share(&body));
            }
            frames += 1;
        }
        let grpc_timeout = match headers.get(deadline::GRPC_TIMEOUT) {
            Some(value) => Some(parse_timeout(value.as_bytes()).map_err(Error::InvalidTimeout)?),
            None => None,
        };
        let started = SystemTime::now();
        let deadline =
            Deadline::compute(grpc_timeout, lambda.deadline, started, self.safety_margin);
        // The method the front door routed, or a refusal naming the path: never a method taken
        // from further along a path the event's fields do not account for.
        let path = match path {
            Ok(path) => path,
            Err(err) => {
                reply.finish(
                    &Status::new(Code::Unimplemented, err.to_string()),
                    Metadata::new(),
                );
                return Ok(());
            }
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        if let Some(deadline) = deadline {
            if let Ok(value) = HeaderValue::try_from(format_timeout(deadline.budget).as_str()) {
                headers.insert(deadline::GRPC_TIMEOUT, value);
            }
        }
        let call = Call {
            path,
            headers,
            body,
            first_frame,
            frames,
            deadline,
            started,
            lambda,
            source,
            max_message_len: self.max_message_len,
        };
        let mut serve = CatchPanic(std::pin::pin!(self.handler.serve(call, reply)));
        let Some(deadline) = deadline else {
            return serve.await;
        };
        // The budget runs from `started`; the timer is only armed for a call that does not
        // finish in its first poll. Most unary calls do, and creating and dropping the timer,
        // and reading the clock it runs on, is a visible part of a small invocation (P5).
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(
                std::pin::Pin::new(&mut serve),
                cx,
            ))
        })
        .await;
        if let std::task::Poll::Ready(result) = first {
            return result;
        }
        let spent = SystemTime::now()
            .duration_since(started)
            .unwrap_or(Duration::ZERO);
        let left = deadline.budget.saturating_sub(spent);
        let Some(expires) = tokio::time::Instant::now().checked_add(left) else {
            // A budget past what the clock can represent never runs out.
            return serve.await;
        };
        match tokio::time::timeout_at(expires, serve).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::DeadlineExceeded(deadline)),
        }
    }

    /// An answer for a request that is not a gRPC call at all: an HTTP status, the reason as
    /// text, and the status a gRPC client would map it to ([`NotACall::status`], as the proxy
    /// answers it).
    fn not_a_call(&self, request: &HttpRequest, refusal: &NotACall) -> EventResponse {
        let mut response = EventResponse::new(request.source, refusal.http_status());
        response.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        service::headers_from_metadata(&refusal.status().to_trailers(), &mut response.headers);
        response.body = ResponseBody::text_of(&format!("{refusal}\n"));
        self.cors.apply(
            request.headers.get(http::header::ORIGIN),
            &mut response.headers,
        );
        response
    }
}

/// A handler's future whose panic becomes an `INTERNAL` answer instead of a failed invocation
/// (which the front door would turn into an opaque 502).
struct CatchPanic<'a, F>(std::pin::Pin<&'a mut F>);

impl<F: std::future::Future<Output = Result<(), Error>>> std::future::Future for CatchPanic<'_, F> {
    type Output = Result<(), Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                std::task::Poll::Ready(Err(Error::Panic(reason)))
            }
        }
    }
}

/// The most body bytes, before base64, a front door's response limit leaves room for, with
/// 2 KiB kept for the JSON envelope and headers.
fn max_body_len(source: Source) -> usize {
    source.response_limit().saturating_sub(2048) / 4 * 3
}

/// The error for a response of `body_len` bytes before base64.
pub(crate) fn too_large(source: Source, body_len: usize) -> Error {
    Error::ResponseTooLarge {
        len: encoded_len(body_len).saturating_add(2048),
        limit: source.response_limit(),
        source,
    }
}

/// Ends a call with an error: its status replaces the trailers; a response too large keeps none
/// of its messages.
fn fail(reply: &mut Reply, err: &Error) {
    if matches!(err, Error::ResponseTooLarge { .. }) {
        reply.chunks.clear();
        reply.len = 0;
    }
    reply.trailers = Some(err.to_status().to_trailers());
}

/// Ends a streamed reply: the trailer frame (gRPC-Web), or the status in the metadata when no
/// message went (native gRPC, Trailers-Only); a native gRPC stream that sent messages cannot
/// carry its status (no front door sends HTTP/2 trailers), as with a buffered answer.
fn finish_stream(content_type: ContentType, mut reply: Reply) {
    let Some(sink) = reply.sink.take() else {
        return;
    };
    let trailers = reply.trailers.take().unwrap_or_else(|| {
        Status::new(
            Code::Unknown,
            "the service ended its response without a grpc-status",
        )
        .to_trailers()
    });
    let mut headers = std::mem::take(&mut reply.headers);
    if content_type.protocol().is_web() {
        sink.finish(&headers, Some(encode_trailer_frame(&trailers)));
    } else {
        if !sink.sent_any() {
            service::headers_from_metadata(&trailers, &mut headers);
        }
        sink.finish(&headers, None);
    }
}

/// The reply in the caller's protocol, as the event response.
fn encode_reply(source: Source, content_type: ContentType, mut reply: Reply) -> EventResponse {
    let mut response = EventResponse::new(source, StatusCode::OK);
    if reply.headers.is_empty() {
        // The service's header map, emptied of its framing headers (tonic allocates one for
        // every answer): the response's headers take its allocation instead of making one.
        response.headers = std::mem::take(&mut reply.headers);
    }
    let trailers = reply.trailers.take().unwrap_or_else(|| {
        Status::new(
            Code::Unknown,
            "the service ended its response without a grpc-status",
        )
        .to_trailers()
    });
    response.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(content_type.response_content_type()),
    );
    let web = content_type.protocol().is_web();
    let mut trailer_frame = if web {
        encode_trailer_frame(&trailers)
    } else {
        Bytes::new()
    };
    let json_len = response
        .envelope_len_bound()
        .saturating_add(event::headers_len_bound(&reply.headers))
        .saturating_add(encoded_len(reply.len.saturating_add(trailer_frame.len())));
    let trailers = if json_len > source.response_limit() {
        // Too large for the front door: no message goes, the status says why.
        reply.chunks.clear();
        let status = Error::ResponseTooLarge {
            len: json_len,
            limit: source.response_limit(),
            source,
        }
        .to_status();
        trailer_frame = if web {
            encode_trailer_frame(&status.to_trailers())
        } else {
            Bytes::new()
        };
        status.to_trailers()
    } else {
        trailers
    };
    extend_headers(&mut response.headers, reply.headers);
    // The frames stay as they came (tonic's buffers, the trailer frame) until the response JSON
    // is written, and are base64-encoded straight into it then.
    let mut chunks = reply.chunks;
    let protocol = content_type.protocol();
    if web {
        chunks.push(trailer_frame);
    }
    response.body = match protocol {
        Protocol::GrpcWeb => ResponseBody::chunks(chunks, true),
        Protocol::GrpcWebText => ResponseBody::chunks(chunks, false),
        Protocol::Grpc if chunks.is_empty() => {
            // Trailers-Only: the status travels in the headers.
            service::headers_from_metadata(&trailers, &mut response.headers);
            ResponseBody::empty()
        }
        // A front door cannot send HTTP/2 trailers: the messages go, the status cannot.
        Protocol::Grpc => ResponseBody::chunks(chunks, true),
    };
    response
}

/// The gRPC-Web trailer frame for `trailers`.
fn encode_trailer_frame(trailers: &Metadata) -> Bytes {
    FrameEncoder::new()
        .trailer_frame(trailers)
        .unwrap_or_else(|_| {
            // A trailer block past 4 GiB cannot be framed; the status alone can.
            let status = Status::new(
                Code::Internal,
                "the response trailers are too large to frame",
            );
            FrameEncoder::new()
                .trailer_frame(&status.to_trailers())
                .unwrap_or_default()
        })
}

fn extend_headers(into: &mut HeaderMap, from: HeaderMap) {
    let mut last = None;
    for (name, value) in from {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last {
            into.append(name.clone(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_room_leaves_space_for_base64() {
        assert!(
            encoded_len(max_body_len(Source::HttpApi)) + 2048 <= event::LAMBDA_SYNC_RESPONSE_LIMIT
        );
        let alb = Source::Alb {
            multi_value_headers: false,
        };
        assert!(encoded_len(max_body_len(alb)) + 2048 <= event::ALB_RESPONSE_LIMIT);
    }
}
