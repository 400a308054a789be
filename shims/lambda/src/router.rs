//! Plain async functions over prost messages, routed by `/package.Service/Method`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use grpc_lambda_core::{Code, FrameEncoder, Metadata, Status};
use grpc_lambda_protocol::metadata_from_headers;
use http::HeaderMap;

use crate::request::GRPC_ENCODING;

use crate::body::decompress;
use crate::error::Error;
use crate::event::Source;
use crate::reply::Reply;
use crate::request::Call;
use crate::service::sealed::Serve;
use crate::service::BoxFuture;
use crate::service::Handler;

/// A call's request for a [`Router`] handler: the decoded message and what came with it.
///
/// Not `http::Request` nor `tonic::Request`: a prost handler's message, with the call's metadata,
/// Lambda context and deadline. Next to tonic's types, import it under a name of its own
/// (`use grpc_lambda::Request as RouterRequest;`).
#[derive(Debug)]
pub struct Request<M> {
    pub(crate) message: M,
    pub(crate) metadata: HeaderMap,
    pub(crate) lambda: Box<lambda_runtime::Context>,
    pub(crate) source: Source,
    /// The call's time budget, from `started`.
    pub(crate) budget: Option<Duration>,
    /// When the shim took the call; the budget runs from here.
    pub(crate) started: SystemTime,
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
        // Read from the clock when asked, not for every call; a fixed instant, past once the
        // budget is spent.
        let budget = self.budget?;
        Instant::now()
            .checked_sub(self.spent())?
            .checked_add(budget)
    }

    /// The time left before [`Request::deadline`]: zero once it has passed.
    pub fn time_remaining(&self) -> Option<Duration> {
        let budget = self.budget?;
        Some(budget.saturating_sub(self.spent()))
    }

    /// The time since the shim took the call.
    fn spent(&self) -> Duration {
        self.started.elapsed().unwrap_or(Duration::ZERO)
    }
}

/// A [`Router`] handler's answer: a message (or a stream of them) with response headers and
/// trailers.
///
/// Not `http::Response` nor `tonic::Response`; next to tonic's types, import it under a name of
/// its own (`use grpc_lambda::Response as RouterResponse;`).
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
/// Any other method answers `UNIMPLEMENTED`, or goes to the [fallback](Router::fallback) when
/// there is one.
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
    /// Sorted by path: a lookup is a few comparisons, cheaper than hashing the path.
    routes: Vec<(Box<str>, Arc<dyn Route>)>,
    fallback: Option<Arc<dyn Fallback>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<_> = self.routes.iter().map(|(path, _)| path).collect();
        f.debug_struct("Router")
            .field("routes", &paths)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl Router {
    /// A router with no routes: every call answers `UNIMPLEMENTED`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `path` (`/package.Service/Method`) to a unary handler.
    pub fn unary<Req, Resp, F, Fut>(self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        self.route(path, Unary::<F, Req, Resp>::new(handler))
    }

    /// Routes `path` to a server-streaming handler: it answers a stream of messages, sent in
    /// order; a stream item that is an error ends the call with that status.
    pub fn server_streaming<Req, Resp, F, Fut, S>(self, path: &str, handler: F) -> Self
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: prost::Message + Send + 'static,
        F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
        S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    {
        self.route(path, ServerStreaming::<F, Req, Resp, S>::new(handler))
    }

    /// Serves every call whose path no route names with `handler`: a tonic-generated server (any
    /// `tower::Service` the shim serves) or another `Router`.
    ///
    /// The routes then take the methods they name, and the fallback the rest, such as the
    /// client-streaming methods of a tonic service whose other methods are routed; without a
    /// fallback those answer `UNIMPLEMENTED`.
    pub fn fallback<H: Handler>(mut self, handler: H) -> Self {
        self.fallback = Some(Arc::new(handler));
        self
    }

    pub(crate) fn route(mut self, path: &str, route: impl Route + 'static) -> Self {
        let route: Arc<dyn Route> = Arc::new(route);
        match self.find(path) {
            Ok(at) => {
                if let Some(held) = self.routes.get_mut(at) {
                    held.1 = route;
                }
            }
            Err(at) => self.routes.insert(at, (path.into(), route)),
        }
        self
    }

    /// Where `path`'s route is, or would go.
    fn find(&self, path: &str) -> Result<usize, usize> {
        self.routes
            .binary_search_by(|(route, _)| (**route).cmp(path))
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
        if let Some((_, route)) = self
            .find(&call.path)
            .ok()
            .and_then(|at| self.routes.get(at))
        {
            return route.call(call, reply);
        }
        if let Some(fallback) = &self.fallback {
            return fallback.serve_boxed(call, reply);
        }
        let status = Status::new(
            Code::Unimplemented,
            format!("method {} is not implemented", call.path),
        );
        reply.finish(&status, Metadata::new());
        Box::pin(std::future::ready(Ok(())))
    }
}

/// One routed method: decodes the call's request, runs the handler, writes the reply.
pub(crate) trait Route: Send + Sync {
    fn call<'a>(&'a self, call: Call, reply: &'a mut Reply) -> BoxFuture<'a, Result<(), Error>>;
}

/// A [`Handler`] behind a pointer: the router's fallback.
trait Fallback: Send + Sync {
    fn serve_boxed<'a>(
        &'a self,
        call: Call,
        reply: &'a mut Reply,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

impl<H: Handler> Fallback for H {
    fn serve_boxed<'a>(
        &'a self,
        call: Call,
        reply: &'a mut Reply,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.serve(call, reply))
    }
}

/// A route's message types, as a function pointer: the route is `Send + Sync` whatever they
/// are.
type Types<Req, Resp> = PhantomData<fn(Req) -> Resp>;

pub(crate) struct Unary<F, Req, Resp> {
    handler: F,
    _types: Types<Req, Resp>,
}

impl<F, Req, Resp> Unary<F, Req, Resp> {
    pub(crate) fn new(handler: F) -> Self {
        Self {
            handler,
            _types: PhantomData,
        }
    }
}

pub(crate) struct ServerStreaming<F, Req, Resp, S> {
    handler: F,
    _types: Types<Req, (Resp, S)>,
}

impl<F, Req, Resp, S> ServerStreaming<F, Req, Resp, S> {
    pub(crate) fn new(handler: F) -> Self {
        Self {
            handler,
            _types: PhantomData,
        }
    }
}

/// The one request message of a unary or server-streaming call, decoded.
fn request<M: prost::Message + Default>(call: Call) -> Result<Request<M>, Status> {
    let (Some(frame), 1) = (call.first_frame, call.frames) else {
        return Err(Status::new(
            Code::Internal,
            format!(
                "{} expects exactly one request message, the request has {}",
                call.path, call.frames
            ),
        ));
    };
    let payload = if frame.is_compressed() {
        let encoding = call.headers.get(GRPC_ENCODING).map(|v| v.as_bytes());
        grpc_lambda_protocol::check_compressed_flag(true, encoding)
            .map_err(|_| Error::CompressedWithoutEncoding { index: 0 }.to_status())?;
        decompress(encoding, frame.into_payload(), call.max_message_len)
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
    Ok(Request {
        message,
        metadata: call.headers,
        lambda: call.lambda,
        source: call.source,
        budget: call.deadline.map(|d| d.budget),
        started: call.started,
    })
}

fn encode<M: prost::Message>(message: &M, max: usize, buf: &mut BytesMut) -> Result<Bytes, Error> {
    FrameEncoder::with_max_message_len(max)
        .encode_prost(message, buf)
        .map_err(Error::Encode)?;
    Ok(buf.split().freeze())
}

/// Ends a call the handler failed: the status alone, as Trailers-Only when nothing was sent.
pub(crate) fn fail(reply: &mut Reply, status: &Status) {
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
        Box::pin(async move {
            // Decoded in the future, where a panicking message type is caught like a handler.
            let max = call.max_message_len;
            let request = match request::<Req>(call) {
                Ok(request) => request,
                Err(status) => {
                    fail(reply, &status);
                    return Ok(());
                }
            };
            match (self.handler)(request).await {
                Ok(response) => {
                    let (message, trailers) = respond(response, reply);
                    let mut buf = BytesMut::new();
                    reply.push(encode(&message, max, &mut buf)?)?;
                    reply.finish(&Status::ok(), trailers);
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
        Box::pin(async move {
            // Decoded in the future, where a panicking message type is caught like a handler.
            let max = call.max_message_len;
            let request = match request::<Req>(call) {
                Ok(request) => request,
                Err(status) => {
                    fail(reply, &status);
                    return Ok(());
                }
            };
            let outcome = match (self.handler)(request).await {
                Ok(response) => stream(respond(response, reply), max, reply).await?,
                Err(status) => Err(status),
            };
            if let Err(status) = outcome {
                fail(reply, &status);
            }
            Ok(())
        })
    }
}

/// Takes the response's headers into `reply`; the message, and the trailing metadata that
/// follows the status.
fn respond<M>(response: Response<M>, reply: &mut Reply) -> (M, Metadata) {
    reply.headers = response.headers;
    (response.message, metadata_from_headers(&response.trailers))
}

/// Sends every message of `stream`, then `OK` with `trailers`; or stops at the first item that
/// is an error, and returns its status.
async fn stream<Resp, E, S>(
    (stream, trailers): (S, Metadata),
    max: usize,
    reply: &mut Reply,
) -> Result<Result<(), E>, Error>
where
    Resp: prost::Message,
    S: Stream<Item = Result<Resp, E>>,
{
    let mut stream = pin!(stream);
    let mut buf = BytesMut::new();
    while let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        match item {
            Ok(message) => reply.push(encode(&message, max, &mut buf)?)?,
            Err(status) => return Ok(Err(status)),
        }
    }
    reply.finish(&Status::ok(), trailers);
    Ok(Ok(()))
}
