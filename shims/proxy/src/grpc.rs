//! The call path: a client's request → an [`UpstreamRequest`] → a target → the response in the
//! client's protocol.
//!
//! ```text
//!  request DATA frames ──collect (limit)──▶ frames checked ──▶ UpstreamRequest ──▶ target
//!  response: gRPC-Web bytes ──FrameDecoder (zero-copy)──┬─ message frame ──▶ DATA
//!                                                       └─ trailer frame ──▶ HTTP/2 trailers
//!                                   (no message before it: Trailers-Only, status in the headers)
//! ```
//!
//! Native gRPC clients get real HTTP/2 trailers; gRPC-Web clients (HTTP/1.1 or HTTP/2, binary or
//! text) get the trailer frame in the body, as the function wrote it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::base64;
use grpc_lambda_core::decode::FrameCounter;
use grpc_lambda_core::metadata::{parse_timeout, GRPC_TIMEOUT};
use grpc_lambda_core::status::GRPC_STATUS;
use grpc_lambda_core::{
    Code, ContentType, DecodeError, FrameDecoder, FrameEncoder, Metadata, Status,
};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame as HttpFrame, SizeHint};
use http_body_util::{BodyExt, Limited};

use crate::config::Limits;
use crate::error::InvokeError;
use crate::invoke::{ReplyBody, Upstream, UpstreamReply, UpstreamRequest};
use crate::metrics::{CallRecord, Metrics};
use crate::route::Router;

/// Messages up to this size are sent in one DATA frame with their header (a copy of the
/// payload); larger ones go out as the 5-byte header and the payload slice, uncopied.
pub const COALESCE_MAX: usize = 16 * 1024;

/// Headers of the client's request that belong to its connection, not to the call's metadata.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "proxy-connection",
    "accept-encoding",
];

/// Headers of the function's response that the proxy writes itself.
const NOT_FORWARDED: [&str; 7] = [
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "date",
    "server",
];

/// The proxy: routes, limits, metrics.
pub struct Proxy {
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    log_calls: bool,
}

impl Proxy {
    /// A proxy over `router`.
    pub fn new(router: Router, limits: Limits, metrics: Arc<Metrics>, log_calls: bool) -> Proxy {
        Proxy {
            router,
            limits,
            metrics,
            log_calls,
        }
    }

    /// The metrics this proxy records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves one HTTP request: a gRPC or gRPC-Web call, or a CORS preflight.
    pub async fn handle<B>(&self, request: Request<B>, remote: SocketAddr) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let start = Instant::now();
        if request.method() == Method::OPTIONS {
            return preflight();
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| ContentType::parse_bytes(v.as_bytes()));
        let content_type = match content_type {
            Some(Ok(content_type)) => content_type,
            Some(Err(err)) => return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, err.to_string()),
            None => return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "no content-type: a gRPC call is sent as application/grpc or application/grpc-web"
                    .to_owned(),
            ),
        };
        if request.method() != Method::POST {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("gRPC calls are POST requests, not {}", request.method()),
            );
        }
        let mut record = CallRecord::new(
            self.metrics.clone(),
            request.uri().path().to_owned(),
            content_type,
            start,
            self.log_calls,
        );
        let Some(target) = self.router.route(request.uri().path()) else {
            let err = InvokeError::NoRoute {
                path: request.uri().path().to_owned(),
            };
            return error_response(
                content_type,
                &err.to_status(),
                record.finish_with(err.code()),
            );
        };
        record.set_target(target);
        match self.call(request, content_type, target, remote).await {
            Ok((reply, deadline)) => respond(reply, content_type, deadline, record).await,
            Err(err) => {
                record.set_error(err.kind());
                error_response(
                    content_type,
                    &err.to_status(),
                    record.finish_with(err.code()),
                )
            }
        }
    }

    async fn call<B>(
        &self,
        request: Request<B>,
        content_type: ContentType,
        target: &Arc<dyn Upstream>,
        remote: SocketAddr,
    ) -> Result<(UpstreamReply, Option<Deadline>), InvokeError>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if let Some(refusal) = target.refusal() {
            return Err(refusal);
        }
        let (parts, body) = request.into_parts();
        let timeout = match parts.headers.get(GRPC_TIMEOUT) {
            Some(value) => Some(parse_timeout(value.as_bytes()).map_err(|err| {
                InvokeError::InvalidRequest {
                    code: Code::InvalidArgument,
                    reason: format!("grpc-timeout: {err}"),
                }
            })?),
            None => None,
        };
        let timeout = match (timeout, self.limits.max_timeout) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        };
        let deadline = timeout.map(|timeout| Deadline {
            at: Instant::now() + timeout,
            timeout,
        });
        let work = async {
            let half_close_wait = (!target.half_duplex()
                && !content_type.is_text()
                && !self.limits.half_close_wait.is_zero())
            .then_some(self.limits.half_close_wait);
            let body = self.read_body(body, content_type, half_close_wait).await?;
            let request = UpstreamRequest {
                path: parts.uri.path().to_owned(),
                metadata: forwarded_metadata(parts.headers),
                body,
                deadline: deadline.map(|d| d.at),
                source_ip: remote.ip().to_string(),
            };
            target.call(request).await
        };
        let reply = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.at.into(), work)
                .await
                .map_err(|_| InvokeError::DeadlineExceeded {
                    timeout: deadline.timeout,
                })??,
            None => work.await?,
        };
        Ok((reply, deadline))
    }

    /// The request's messages: collected up to the request limit, gRPC-Web-text decoded, frames
    /// checked against the message limit.
    async fn read_body<B>(
        &self,
        body: B,
        content_type: ContentType,
        half_close_wait: Option<Duration>,
    ) -> Result<Bytes, InvokeError>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let max = self.limits.max_request_bytes;
        let max_wire = if content_type.is_text() {
            base64::encoded_len(max)
        } else {
            max
        };
        let watch =
            half_close_wait.map(|wait| HalfCloseWatch::new(wait, self.limits.max_message_bytes));
        let mut body = read_limited(body, max_wire, watch)
            .await
            .map_err(|err| match err {
                ReadError::WaitingForResponse { messages, wait } => InvokeError::InvalidRequest {
                    code: Code::Unimplemented,
                    reason: format!(
                        "the client sent {messages} message(s), then kept its request stream \
                         open for {} ms without sending more: a bidirectional call that waits \
                         for a response before it half-closes cannot run on Lambda, where one \
                         invocation takes the whole request stream before it answers; a method \
                         whose client sends every request before reading can run on a route \
                         with bidi = \"half-duplex\"",
                        wait.as_millis()
                    ),
                },
                ReadError::TooLarge => InvokeError::InvalidRequest {
                    code: Code::ResourceExhausted,
                    reason: format!(
                    "the request body is over the proxy's limit of {max} bytes (max_request_bytes)"
                ),
                },
                ReadError::Body(err) => InvokeError::InvalidRequest {
                    code: Code::Cancelled,
                    reason: format!("the request body could not be read: {err}"),
                },
            })?;
        if content_type.is_text() {
            body = base64::decode(&body).map_err(|err| InvokeError::InvalidRequest {
                code: Code::InvalidArgument,
                reason: format!("the grpc-web-text body is not base64: {err}"),
            })?;
        }
        // The whole body is here: core's slice reader checks every frame in place.
        let checked = grpc_lambda_core::decode::frames(&body, self.limits.max_message_bytes)
            .try_for_each(|frame| frame.map(drop));
        checked.map_err(|err| InvokeError::InvalidRequest {
            code: match err {
                DecodeError::MessageTooLarge { .. } => Code::ResourceExhausted,
                _ => Code::InvalidArgument,
            },
            reason: format!("request: {err}"),
        })?;
        Ok(body)
    }
}

enum ReadError {
    TooLarge,
    /// Whole messages came, then nothing, and no half-close, for `wait`.
    WaitingForResponse {
        messages: usize,
        wait: Duration,
    },
    Body(Box<dyn std::error::Error + Send + Sync>),
}

/// Watches a request stream for a client that waits for a response before it half-closes.
struct HalfCloseWatch {
    wait: Duration,
    /// The request's frames, counted from their headers (payloads are not held).
    frames: FrameCounter,
}

impl HalfCloseWatch {
    fn new(wait: Duration, max_message_len: usize) -> Self {
        Self {
            wait,
            frames: FrameCounter::with_max_message_len(max_message_len),
        }
    }

    /// Whole messages so far.
    fn messages(&self) -> usize {
        self.frames.frames()
    }

    /// Whether the bytes so far end on a message boundary after at least one message.
    fn between_messages(&self) -> bool {
        self.messages() > 0 && self.frames.at_boundary()
    }

    /// Follows `data`; `false` once the stream is not frames (the request check reports that),
    /// which ends the watch.
    fn push(&mut self, data: &[u8]) -> bool {
        self.frames.push(data).is_ok()
    }
}

/// A whole body, up to `max` bytes. A body that arrives as one DATA frame (the usual unary
/// request) is returned as that frame's bytes, uncopied; several are joined once. With a
/// `watch`, a client that sent whole messages and then holds the stream open, silent, for the
/// watch's wait is a bidirectional client waiting for a response.
async fn read_limited<B>(
    mut body: B,
    max: usize,
    mut watch: Option<HalfCloseWatch>,
) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    loop {
        let waiting = watch
            .as_ref()
            .filter(|watch| watch.between_messages() && !body.is_end_stream());
        let frame = match waiting {
            Some(watch) => match tokio::time::timeout(watch.wait, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => {
                    return Err(ReadError::WaitingForResponse {
                        messages: watch.messages(),
                        wait: watch.wait,
                    })
                }
            },
            None => body.frame().await,
        };
        let Some(frame) = frame else {
            break;
        };
        let frame = frame.map_err(|err| ReadError::Body(err.into()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Some(active) = watch.as_mut() {
            if !active.push(&data) {
                watch = None;
            }
        }
        len = len.saturating_add(data.len());
        if len > max {
            return Err(ReadError::TooLarge);
        }
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut buffer = BytesMut::with_capacity(len);
                buffer.extend_from_slice(&earlier);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// The client's deadline.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Instant,
    timeout: Duration,
}

/// The client's headers that travel to the function as metadata: all but the connection's own,
/// `content-type` and `grpc-timeout` (each target writes those itself).
fn forwarded_metadata(mut headers: HeaderMap) -> HeaderMap {
    // One pass to find what to drop (usually `content-type` and `te`), then removal by name
    // without parsing the names again.
    let mut dropped: Vec<HeaderName> = Vec::new();
    for name in headers.keys() {
        let text = name.as_str();
        if HOP_BY_HOP.contains(&text) || text == GRPC_TIMEOUT || text == "content-type" {
            dropped.push(name.clone());
        }
    }
    for name in &dropped {
        headers.remove(name);
    }
    headers
}

fn metadata_to_headers(metadata: &Metadata, headers: &mut HeaderMap) {
    for (name, value) in metadata.iter_bytes() {
        // The status names are in every trailer block: static names, no allocation.
        let name = match &name[..] {
            b"grpc-status" => Ok(HeaderName::from_static("grpc-status")),
            b"grpc-message" => Ok(HeaderName::from_static("grpc-message")),
            b"grpc-status-details-bin" => Ok(HeaderName::from_static("grpc-status-details-bin")),
            other => HeaderName::from_bytes(other),
        };
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_maybe_shared(value.clone())) {
            headers.append(name, value);
        }
    }
}

fn status_headers(status: &Status) -> HeaderMap {
    let mut headers = HeaderMap::new();
    metadata_to_headers(&status.to_trailers(), &mut headers);
    headers
}

fn cors(headers: &mut HeaderMap, content_type: ContentType) {
    if content_type.is_web() {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("grpc-status, grpc-message, grpc-status-details-bin, *"),
        );
    }
}

fn preflight() -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("*"),
    );
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

fn plain(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::bytes(Bytes::from(text + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A Trailers-Only answer: HTTP 200, the status in the headers, no body.
fn error_response(
    content_type: ContentType,
    status: &Status,
    record: CallRecord,
) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::empty().with_record(record));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(content_type.response_content_type()),
    );
    cors(headers, content_type);
    headers.extend(status_headers(status));
    response
}

/// Turns the target's reply into the client's response.
async fn respond(
    reply: UpstreamReply,
    content_type: ContentType,
    deadline: Option<Deadline>,
    mut record: CallRecord,
) -> Response<ProxyBody> {
    let UpstreamReply {
        status,
        headers: reply_headers,
        body,
    } = reply;
    let mut headers = HeaderMap::with_capacity(reply_headers.len() + 3);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(content_type.response_content_type()),
    );
    cors(&mut headers, content_type);
    // A Trailers-Only answer from the function: the status is in its headers.
    if let Some(code) = reply_headers.get(GRPC_STATUS) {
        let code = Code::parse(code.as_bytes()).unwrap_or(Code::Unknown);
        forward_headers(&reply_headers, &mut headers);
        let mut response = Response::new(ProxyBody::empty().with_record(record.finish_with(code)));
        *response.headers_mut() = headers;
        return response;
    }
    if status != StatusCode::OK {
        let text = Limited::new(body, 512)
            .collect()
            .await
            .map(|c| crate::invoke::event::snippet(&c.to_bytes()))
            .unwrap_or_default();
        let err = InvokeError::Upstream {
            status: status.as_u16(),
            error_type: String::new(),
            message: format!("no grpc-status in the response: {text}"),
        };
        record.set_error(err.kind());
        return error_response(
            content_type,
            &err.to_status(),
            record.finish_with(err.code()),
        );
    }
    forward_headers(&reply_headers, &mut headers);
    let mut stream = FrameStream::new(body, content_type, deadline);
    let first = std::future::poll_fn(|cx| stream.poll_item(cx)).await;
    match first {
        Some(Item::Trailers(trailers, code)) if !content_type.is_web() => {
            // No message came before the trailers: Trailers-Only.
            headers.extend(trailers);
            let mut response =
                Response::new(ProxyBody::empty().with_record(record.finish_with(code)));
            *response.headers_mut() = headers;
            response
        }
        first => {
            stream.first = first;
            let mut response = Response::new(ProxyBody {
                inner: Inner::Grpc(Box::new(stream)),
                record: Some(record),
            });
            *response.headers_mut() = headers;
            response
        }
    }
}

fn forward_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !NOT_FORWARDED.contains(&name.as_str()) && !name.as_str().starts_with("access-control-")
        {
            to.append(name.clone(), value.clone());
        }
    }
}

/// One piece of the response for the client.
enum Item {
    /// Body bytes.
    Data(Bytes),
    /// HTTP/2 trailers (native clients), and the code they carry.
    Trailers(HeaderMap, Code),
}

/// The target's gRPC-Web bytes, cut into frames and turned into the client's protocol.
struct FrameStream {
    decoder: FrameDecoder,
    upstream: Option<ReplyBody>,
    web: bool,
    text: Option<base64::Encoder>,
    pending: Option<Bytes>,
    first: Option<Item>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
    code: Option<Code>,
    done: bool,
}

impl FrameStream {
    fn new(body: ReplyBody, content_type: ContentType, deadline: Option<Deadline>) -> FrameStream {
        FrameStream {
            // The function's messages are held to the 4 MiB default only by the function; the
            // proxy passes on what Lambda accepted (up to its 6 MB payload limit).
            decoder: FrameDecoder::with_max_message_len(crate::error::LAMBDA_RESPONSE_LIMIT),
            upstream: Some(body),
            web: content_type.is_web(),
            text: content_type.is_text().then(base64::Encoder::new),
            pending: None,
            first: None,
            sleep: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.at.into()))),
            timeout: deadline.map(|d| d.timeout).unwrap_or_default(),
            code: None,
            done: false,
        }
    }

    /// The end of the stream with `status`.
    fn fail(&mut self, status: &Status) -> Item {
        self.upstream = None;
        self.end(status.code(), status.to_trailers())
    }

    fn end(&mut self, code: Code, trailers: Metadata) -> Item {
        self.done = true;
        self.code = Some(code);
        if self.web {
            let mut frame = BytesMut::new();
            // Encoding into a growable buffer only fails past u32::MAX bytes of metadata.
            let _ = FrameEncoder::new().encode_trailers(&trailers, &mut frame);
            Item::Data(frame.freeze())
        } else {
            let mut headers = HeaderMap::with_capacity(trailers.len());
            metadata_to_headers(&trailers, &mut headers);
            Item::Trailers(headers, code)
        }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if let Some(item) = self.first.take() {
            return Poll::Ready(Some(item));
        }
        if let Some(bytes) = self.pending.take() {
            return Poll::Ready(Some(Item::Data(bytes)));
        }
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match self.decoder.decode() {
                Ok(Some(frame)) if frame.is_trailers() => {
                    return Poll::Ready(Some(match frame.trailers() {
                        Ok(trailers) => {
                            let code = trailers
                                .get(GRPC_STATUS)
                                .and_then(Code::parse)
                                .unwrap_or(Code::Unknown);
                            self.upstream = None;
                            self.end(code, trailers)
                        }
                        Err(err) => self.fail(&Status::new(
                            Code::Internal,
                            format!("the function's trailer frame cannot be read: {err}"),
                        )),
                    }));
                }
                Ok(Some(frame)) => {
                    let header = frame.header().to_bytes();
                    let payload = frame.into_payload();
                    if payload.len() <= COALESCE_MAX {
                        // A copy of a small message, to send it as one DATA frame.
                        let mut data = BytesMut::with_capacity(header.len() + payload.len());
                        data.extend_from_slice(&header);
                        data.extend_from_slice(&payload);
                        return Poll::Ready(Some(Item::Data(data.freeze())));
                    }
                    self.pending = Some(payload);
                    return Poll::Ready(Some(Item::Data(Bytes::copy_from_slice(&header))));
                }
                Ok(None) => {}
                Err(err) => {
                    return Poll::Ready(Some(self.fail(&Status::new(
                        Code::Internal,
                        format!("the function's response is not gRPC-Web: {err}"),
                    ))))
                }
            }
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_ready() {
                    let err = InvokeError::DeadlineExceeded {
                        timeout: self.timeout,
                    };
                    return Poll::Ready(Some(self.fail(&err.to_status())));
                }
            }
            let Some(upstream) = self.upstream.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(data);
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    return Poll::Ready(Some(self.fail(&err.to_status())));
                }
                Poll::Ready(None) => {
                    let status = match self.decoder.finish() {
                        Err(err) => Status::new(
                            Code::Internal,
                            format!("the function's response is not gRPC-Web: {err}"),
                        ),
                        Ok(()) => Status::new(
                            Code::Internal,
                            "the function's response ended without a trailer frame (grpc-status)",
                        ),
                    };
                    return Poll::Ready(Some(self.fail(&status)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Wraps an item for gRPC-Web-text: base64, carried across items.
    fn encode_text(&mut self, item: Item) -> Item {
        let Some(encoder) = self.text.as_mut() else {
            return item;
        };
        match item {
            Item::Data(bytes) => {
                let mut out = BytesMut::new();
                encoder.encode_chunk(&bytes, &mut out);
                if self.done {
                    encoder.finish(&mut out);
                }
                Item::Data(out.freeze())
            }
            other => other,
        }
    }
}

use std::future::Future as _;

/// The response body the proxy sends: nothing (Trailers-Only), some text, or a call's frames.
pub struct ProxyBody {
    inner: Inner,
    record: Option<CallRecord>,
}

enum Inner {
    Empty,
    Bytes(Option<Bytes>),
    Grpc(Box<FrameStream>),
}

impl ProxyBody {
    /// An empty body.
    pub fn empty() -> ProxyBody {
        ProxyBody {
            inner: Inner::Empty,
            record: None,
        }
    }

    /// A body of one chunk.
    pub fn bytes(bytes: Bytes) -> ProxyBody {
        ProxyBody {
            inner: Inner::Bytes(Some(bytes)),
            record: None,
        }
    }

    fn with_record(mut self, record: CallRecord) -> ProxyBody {
        self.record = Some(record);
        self
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<HttpFrame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Empty => Poll::Ready(None),
            Inner::Bytes(bytes) => Poll::Ready(bytes.take().map(|b| Ok(HttpFrame::data(b)))),
            Inner::Grpc(stream) => match stream.poll_item(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => {
                    if let (Some(record), Some(code)) = (this.record.as_mut(), stream.code) {
                        record.set_code(code);
                    }
                    Poll::Ready(None)
                }
                Poll::Ready(Some(item)) => {
                    if let (Some(record), Some(code)) = (this.record.as_mut(), stream.code) {
                        record.set_code(code);
                    }
                    match stream.encode_text(item) {
                        Item::Data(bytes) => Poll::Ready(Some(Ok(HttpFrame::data(bytes)))),
                        Item::Trailers(trailers, _) => {
                            Poll::Ready(Some(Ok(HttpFrame::trailers(trailers))))
                        }
                    }
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Empty => true,
            Inner::Bytes(bytes) => bytes.is_none(),
            Inner::Grpc(stream) => {
                stream.done && stream.pending.is_none() && stream.first.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Empty => SizeHint::with_exact(0),
            Inner::Bytes(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Inner::Bytes(None) => SizeHint::with_exact(0),
            Inner::Grpc(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoke::full_body;

    fn reply_body(parts: &[&[u8]]) -> ReplyBody {
        full_body(Bytes::from(parts.concat()))
    }

    fn trailer_frame(text: &str) -> Vec<u8> {
        let mut out = vec![0x80];
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn the_half_close_watch_counts_frames_from_their_headers_in_any_chunking() {
        // Two messages (3 bytes, then empty) and a 4-byte one: 5 + 3 + 5 + 0 + 5 + 4 bytes.
        let stream = [
            &b"\0\0\0\0\x03abc"[..],
            b"\0\0\0\0\0",
            b"\x01\0\0\0\x04wxyz",
        ]
        .concat();
        let boundaries = [8, 13, 22];
        for cut in 0..=stream.len() {
            for step in 1..=stream.len() {
                let mut watch = HalfCloseWatch::new(Duration::from_secs(1), 16);
                let (head, tail) = stream.split_at(cut);
                for chunk in head.chunks(step).chain(tail.chunks(step)) {
                    assert!(watch.push(chunk));
                }
                assert_eq!(watch.messages(), 3);
                assert!(watch.between_messages());
            }
            let mut watch = HalfCloseWatch::new(Duration::from_secs(1), 16);
            assert!(watch.push(&stream[..cut]));
            let whole = boundaries.iter().filter(|&&end| end <= cut).count();
            assert_eq!(watch.messages(), whole, "cut at {cut}");
            assert_eq!(
                watch.between_messages(),
                boundaries.contains(&cut),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_half_close_watch_ends_on_what_is_not_frames() {
        let mut watch = HalfCloseWatch::new(Duration::from_secs(1), 16);
        assert!(!watch.push(b"\0\0\0\0\x11"), "over the message limit");
        let mut watch = HalfCloseWatch::new(Duration::from_secs(1), 16);
        assert!(!watch.push(b"\x02\0\0\0\x01"), "a reserved flag");
    }

    async fn drain(stream: &mut FrameStream) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| stream.poll_item(cx)).await {
            items.push(item);
        }
        items
    }

    /// A request body arriving in the chunks given.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<HttpFrame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(HttpFrame::data(b))))
        }
    }

    #[tokio::test]
    async fn request_bodies_are_read_whole_within_the_limit() {
        let one = Bytes::from_static(b"abcdef");
        let read = read_limited(Chunks([one.clone()].into()), 6, None)
            .await
            .ok()
            .unwrap();
        // One DATA frame: the same memory, not a copy.
        assert_eq!(read.as_ptr(), one.as_ptr());
        let parts = [&b"ab"[..], b"cd", b"ef"].map(Bytes::from_static);
        let read = read_limited(Chunks(parts.clone().into()), 6, None)
            .await
            .ok()
            .unwrap();
        assert_eq!(&read[..], b"abcdef");
        assert!(matches!(
            read_limited(Chunks(parts.into()), 5, None).await,
            Err(ReadError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn messages_become_data_and_the_trailer_frame_trailers() {
        let body = reply_body(&[
            b"\x00\x00\x00\x00\x02hi",
            &trailer_frame("grpc-status: 0\r\nx-echo-trailer: a\r\nx-echo-trailer: b\r\n"),
        ]);
        let mut stream =
            FrameStream::new(body, ContentType::parse("application/grpc").unwrap(), None);
        let items = drain(&mut stream).await;
        assert_eq!(items.len(), 2);
        let Item::Data(data) = &items[0] else {
            panic!("data first")
        };
        assert_eq!(&data[..], b"\x00\x00\x00\x00\x02hi");
        let Item::Trailers(trailers, code) = &items[1] else {
            panic!("trailers")
        };
        assert_eq!(*code, Code::Ok);
        assert_eq!(trailers.get_all("x-echo-trailer").iter().count(), 2);
    }

    #[tokio::test]
    async fn a_large_message_is_not_copied() {
        let payload = Bytes::from(vec![7u8; COALESCE_MAX + 1]);
        let mut body = Vec::new();
        body.extend_from_slice(&[0, 0, 0, 0x40, 0x01]);
        body.extend_from_slice(&payload);
        body.extend_from_slice(&trailer_frame("grpc-status: 0\r\n"));
        let body = Bytes::from(body);
        let mut stream = FrameStream::new(
            full_body(body.clone()),
            ContentType::parse("application/grpc").unwrap(),
            None,
        );
        let items = drain(&mut stream).await;
        let Item::Data(payload_out) = &items[1] else {
            panic!("payload")
        };
        assert_eq!(payload_out.len(), COALESCE_MAX + 1);
        // The payload is a slice of the decoded body: same memory.
        assert_eq!(payload_out.as_ptr(), body[5..].as_ptr());
    }

    #[tokio::test]
    async fn a_response_without_trailers_is_internal() {
        let body = reply_body(&[b"\x00\x00\x00\x00\x02hi"]);
        let mut stream =
            FrameStream::new(body, ContentType::parse("application/grpc").unwrap(), None);
        let items = drain(&mut stream).await;
        let Item::Trailers(trailers, code) = &items[1] else {
            panic!("trailers")
        };
        assert_eq!(*code, Code::Internal);
        assert!(trailers["grpc-message"]
            .to_str()
            .unwrap()
            .contains("without a trailer frame"));
        let body = reply_body(&[b"\x00\x00\x00\x00\x09hi"]);
        let mut stream =
            FrameStream::new(body, ContentType::parse("application/grpc").unwrap(), None);
        let items = drain(&mut stream).await;
        let Item::Trailers(trailers, _) = &items[0] else {
            panic!("trailers")
        };
        assert!(trailers["grpc-message"]
            .to_str()
            .unwrap()
            .contains("7 of its 14 bytes"));
    }

    #[tokio::test]
    async fn web_clients_get_the_trailer_frame_in_the_body() {
        let trailer = trailer_frame("grpc-status: 0\r\n");
        let body = reply_body(&[b"\x00\x00\x00\x00\x02hi", &trailer]);
        let mut stream = FrameStream::new(
            body,
            ContentType::parse("application/grpc-web").unwrap(),
            None,
        );
        let items = drain(&mut stream).await;
        let Item::Data(last) = &items[1] else {
            panic!("data")
        };
        assert_eq!(&last[..], &trailer[..]);
    }
}
