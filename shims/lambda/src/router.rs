//! Plain async functions over prost messages, routed by `/package.Service/Method`.

use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use grpc_lambda_core::{Code, FrameEncoder, Metadata, Status};
use http::HeaderMap;

use crate::error::Error;
use crate::event::Source;
use crate::service::metadata_from_headers;
use crate::service::sealed::{Call, Reply, Serve};
use crate::service::BoxFuture;

/// A call's request: the decoded message and what came with it.
#[derive(Debug)]
pub struct Request<M> {
    message: M,
    metadata: HeaderMap,
    lambda: Box<lambda_runtime::Context>,
    source: Source,
    deadline: Option<Instant>,
}

impl<M> Request<M> {
    /// The request message.
    pub fn message(&self) -> &M {
        &self.message
    }

    /// The request message, taken.
    pub fn into_message(self) -> M {
        self.message
    }

    /// Request metadata: the HTTP headers, names lowercase, `-bin` values as base64 text.
    pub fn metadata(&self) -> &HeaderMap {
        &self.metadata
    }

    /// The Lambda invocation context (request id, function ARN, deadline).
    pub fn lambda_context(&self) -> &lambda_runtime::Context {
        &self.lambda
    }

    /// The front door the call came through.
    pub fn source(&self) -> Source {
        self.source
    }

    /// When the call must be finished: the shorter of the client's `grpc-timeout` and the
    /// Lambda time left less the safety margin. Past it the call is stopped and answers
    /// `DEADLINE_EXCEEDED`.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The time left before [`Request::deadline`].
    pub fn time_remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// A handler's answer: a message (or a stream of them) with response headers and trailers.
///
/// # Examples
///
/// ```
/// use grpc_lambda::Response;
///
/// let mut response = Response::new("payload");
/// response.headers_mut().insert("x-served-by", "lambda".parse()?);
/// response.trailers_mut().insert("x-cost", "3".parse()?);
/// assert_eq!(*response.message(), "payload");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Response<M> {
    message: M,
    headers: HeaderMap,
    trailers: HeaderMap,
}

impl<M> Response<M> {
    /// A response with no extra headers or trailers.
    pub fn new(message: M) -> Self {
        Self {
            message,
            headers: HeaderMap::new(),
            trailers: HeaderMap::new(),
        }
    }

    /// The message (or stream).
    pub fn message(&self) -> &M {
        &self.message
    }

    /// Response headers (initial metadata), sent before the first message.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Trailing metadata, sent with the status.
    pub fn trailers_mut(&mut self) -> &mut HeaderMap {
        &mut self.trailers
    }
}

impl<M> From<M> for Response<M> {
    fn from(message: M) -> Self {
        Self::new(message)
    }
}

/// Routes `/package.Service/Method` to async functions over prost messages.
///
/// Any other method answers `UNIMPLEMENTED`.
///
/// # Examples
///
/// ```no_run
/// use grpc_lambda::{Request, Response, Router, Status};
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping { #[prost(string, tag = "1")] message: String }
///
/// async fn echo(request: Request<Ping>) -> Result<Response<Ping>, Status> {
///     Ok(Response::new(request.into_message()))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     grpc_lambda::run(Router::new().unary("/demo.Echo/Echo", echo)).await
/// }
/// ```
#[derive(Clone, Default)]
pub struct Router {
    routes: HashMap<String, Arc<dyn Route>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<_> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("Router").field("routes", &paths).finish()
    }
}

impl Router {
    /// A router with no routes: every call answers `UNIMPLEMENTED`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `path` (`/package.Service/Method`) to a unary handler.
    pub fn unary<Req, Resp, F, Fut>(mut self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let route = Unary {
            handler,
            _types: PhantomData,
        };
        self.routes.insert(path.to_owned(), Arc::new(route));
        self
    }

    /// Routes `path` to a server-streaming handler: it answers a stream of messages, sent in
    /// order; a stream item that is an error ends the call with that status.
    pub fn server_streaming<Req, Resp, F, Fut, S>(mut self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    {
        let route = ServerStreaming {
            handler,
            _types: PhantomData,
        };
        self.routes.insert(path.to_owned(), Arc::new(route));
        self
    }
}

impl Serve for Router {
    fn reads_frames(&self) -> bool {
        true
    }

    fn serve<'a>(
        &'a self,
        call: Call,
        reply: &'a mut Reply,
    ) -> impl std::future::Future<Output = Result<(), Error>> + Send + 'a {
        match self.routes.get(call.path.as_str()) {
            Some(route) => route.call(call, reply),
            None => {
                let status = Status::new(
                    Code::Unimplemented,
                    format!("method {} is not implemented", call.path),
                );
                reply.finish(&status, Metadata::new());
                Box::pin(std::future::ready(Ok(())))
            }
        }
    }
}

trait Route: Send + Sync {
    fn call<'a>(&'a self, call: Call, reply: &'a mut Reply) -> BoxFuture<'a, Result<(), Error>>;
}

struct Unary<F, Req, Resp> {
    handler: F,
    _types: PhantomData<fn(Req) -> Resp>,
}

struct ServerStreaming<F, Req, Resp, S> {
    handler: F,
    _types: PhantomData<fn(Req) -> (Resp, S)>,
}

/// The one request message of a unary or server-streaming call, decoded.
fn request<M: prost::Message + Default>(call: Call) -> Result<Request<M>, Status> {
    let count = call.frames.len();
    let mut frames = call.frames.into_iter();
    let (Some(frame), None) = (frames.next(), frames.next()) else {
        return Err(Status::new(
            Code::Internal,
            format!(
                "{} expects exactly one request message, the request has {count}",
                call.path
            ),
        ));
    };
    let payload = if frame.is_compressed() {
        decompress(&call.headers, frame.into_payload(), call.max_message_len)
            .map_err(|err| err.to_status())?
    } else {
        frame.into_payload()
    };
    let message = M::decode(payload).map_err(|err| {
        Status::new(
            Code::Internal,
            format!(
                "the request message of {} does not decode: {err}",
                call.path
            ),
        )
    })?;
    let deadline = call.deadline.map(|d| Instant::now() + d.budget);
    Ok(Request {
        message,
        metadata: call.headers,
        lambda: call.lambda,
        source: call.source,
        deadline,
    })
}

#[cfg(feature = "gzip")]
fn decompress(headers: &HeaderMap, payload: Bytes, max: usize) -> Result<Bytes, Error> {
    match headers.get("grpc-encoding").map(|v| v.as_bytes()) {
        Some(b"gzip") => grpc_lambda_core::gzip::decompress(&payload, max)
            .map(Bytes::from)
            .map_err(|err| Error::Decompress(err.to_string())),
        other => Err(unsupported_encoding(other)),
    }
}

#[cfg(not(feature = "gzip"))]
fn decompress(headers: &HeaderMap, _payload: Bytes, _max: usize) -> Result<Bytes, Error> {
    Err(unsupported_encoding(
        headers.get("grpc-encoding").map(|v| v.as_bytes()),
    ))
}

fn unsupported_encoding(encoding: Option<&[u8]>) -> Error {
    Error::UnsupportedEncoding {
        encoding: encoding.map_or_else(
            || "identity".to_owned(),
            |e| String::from_utf8_lossy(e).into_owned(),
        ),
    }
}

fn encode<M: prost::Message>(message: &M, max: usize, buf: &mut BytesMut) -> Result<Bytes, Error> {
    FrameEncoder::with_max_message_len(max)
        .encode_prost(message, buf)
        .map_err(Error::Encode)?;
    Ok(buf.split().freeze())
}

/// Ends a call the handler failed: the status alone, as Trailers-Only when nothing was sent.
fn fail(reply: &mut Reply, status: &Status) {
    reply.finish(status, Metadata::new());
}

impl<F, Req, Resp, Fut> Route for Unary<F, Req, Resp>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
{
    fn call<'a>(&'a self, call: Call, reply: &'a mut Reply) -> BoxFuture<'a, Result<(), Error>> {
        let max = call.max_message_len;
        let request = request::<Req>(call);
        Box::pin(async move {
            let request = match request {
                Ok(request) => request,
                Err(status) => {
                    fail(reply, &status);
                    return Ok(());
                }
            };
            match (self.handler)(request).await {
                Ok(response) => {
                    reply.headers = response.headers;
                    let mut buf = BytesMut::new();
                    reply.push(encode(&response.message, max, &mut buf)?)?;
                    reply.finish(&Status::ok(), metadata_from_headers(&response.trailers));
                }
                Err(status) => fail(reply, &status),
            }
            Ok(())
        })
    }
}

impl<F, Req, Resp, Fut, S> Route for ServerStreaming<F, Req, Resp, S>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
{
    fn call<'a>(&'a self, call: Call, reply: &'a mut Reply) -> BoxFuture<'a, Result<(), Error>> {
        let max = call.max_message_len;
        let request = request::<Req>(call);
        Box::pin(async move {
            let request = match request {
                Ok(request) => request,
                Err(status) => {
                    fail(reply, &status);
                    return Ok(());
                }
            };
            let response = match (self.handler)(request).await {
                Ok(response) => response,
                Err(status) => {
                    fail(reply, &status);
                    return Ok(());
                }
            };
            reply.headers = response.headers;
            let mut stream = pin!(response.message);
            let mut buf = BytesMut::new();
            while let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                match item {
                    Ok(message) => reply.push(encode(&message, max, &mut buf)?)?,
                    Err(status) => {
                        fail(reply, &status);
                        return Ok(());
                    }
                }
            }
            reply.finish(&Status::ok(), metadata_from_headers(&response.trailers));
            Ok(())
        })
    }
}
