//! The response: a target's gRPC-Web bytes turned into the client's protocol.
//!
//! ```text
//!  gRPC-Web bytes ──budget reserves each chunk──▶ FrameDecoder (zero-copy)──┬─ message ──▶ DATA
//!                                                                          └─ trailer frame ──▶ HTTP/2 trailers
//!                                   (no message before it: Trailers-Only, status in the headers)
//! ```
//!
//! Native gRPC clients get real HTTP/2 trailers; gRPC-Web clients (HTTP/1.1 or HTTP/2, binary or
//! text) get the trailer frame in the body, as the function wrote it. The bytes a response holds
//! count against the proxy's memory budget until the client took them or left; a large message
//! is handed to the connection in pieces of at most [`COALESCE_MAX`] bytes, so what the
//! connection holds beyond the budget's count is one piece per stream.

use std::convert::Infallible;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::base64;
use grpc_lambda_core::status::GRPC_STATUS;
use grpc_lambda_core::{Code, FrameDecoder, FrameEncoder, Metadata, Status};
use grpc_lambda_protocol::cors::Cors;
use grpc_lambda_protocol::json::connect_end_stream_json;
use grpc_lambda_protocol::{is_response_metadata, metadata_to_headers, NotACall};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame as HttpFrame, SizeHint};
use http_body_util::{BodyExt, Limited};

use crate::budget::{Budget, Reservation};
use crate::call::Wire;
use crate::error::InvokeError;
use crate::invoke::{ReplyBody, UpstreamReply};
use crate::metrics::CallRecord;
use crate::request::Deadline;

/// Messages up to this size are sent in one DATA frame with their header (a copy of the
/// payload); larger ones go out as the 5-byte header and the payload slice, uncopied.
pub const COALESCE_MAX: usize = 16 * 1024;

fn status_headers(status: &Status) -> HeaderMap {
    let mut headers = HeaderMap::new();
    metadata_to_headers(&status.to_trailers(), &mut headers);
    headers
}

/// The answer to a CORS preflight.
pub(crate) fn preflight(cors: &Cors, request: &HeaderMap) -> Response<ProxyBody> {
    let (status, headers) = cors.preflight(request);
    let mut response = Response::new(ProxyBody::empty());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The answer to a request that is not a gRPC call: its HTTP status, the reason as text, and
/// the gRPC status a client would map the HTTP status to.
pub(crate) fn not_a_call(refusal: &NotACall) -> Response<ProxyBody> {
    let mut response = plain(refusal.http_status(), refusal.to_string());
    response
        .headers_mut()
        .extend(status_headers(&refusal.status()));
    response
}

/// A plain-text answer, for requests that are not gRPC calls.
pub(crate) fn plain(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::bytes(Bytes::from(text + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A Trailers-Only answer: HTTP 200, the status in the headers, no body.
pub(crate) fn error_response(
    content_type: &'static str,
    status: &Status,
    record: CallRecord,
) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::empty().with_record(record));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.extend(status_headers(status));
    response
}

/// The Connect end-stream message (flag `0x02`) for `status` and `trailers`.
pub(crate) fn end_stream_frame(status: &Status, trailers: &Metadata) -> Bytes {
    end_stream_message(Bytes::from(connect_end_stream_json(status, trailers)))
}

/// `json` in an end-stream envelope.
pub(crate) fn end_stream_message(json: Bytes) -> Bytes {
    let frame = grpc_lambda_core::Frame::end_stream(json);
    let mut out = BytesMut::with_capacity(frame.encoded_len());
    frame.header().encode(&mut out);
    out.extend_from_slice(frame.payload());
    out.freeze()
}

/// The status a block of trailers carries (`UNKNOWN` with the reason when it carries none that
/// can be read).
pub(crate) fn status_of(trailers: &Metadata) -> Status {
    match Status::from_metadata(trailers) {
        Ok(Some(status)) => status,
        Ok(None) => Status::new(
            Code::Unknown,
            "the function's answer carries no grpc-status",
        ),
        Err(err) => Status::new(
            Code::Unknown,
            format!("the function's grpc-status cannot be read: {err}"),
        ),
    }
}

/// Turns the target's reply into the client's response (gRPC, gRPC-Web, Connect streaming);
/// its bytes are reserved in `budget`.
pub(crate) async fn respond(
    reply: UpstreamReply,
    wire: Wire,
    deadline: Option<Deadline>,
    budget: &Arc<Budget>,
    mut record: CallRecord,
) -> Response<ProxyBody> {
    let content_type = wire.response_content_type();
    let UpstreamReply {
        status,
        headers: reply_headers,
        body,
    } = reply;
    let mut headers = HeaderMap::with_capacity(reply_headers.len() + 3);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A Trailers-Only answer from the function: the status is in its headers.
    if reply_headers.contains_key(GRPC_STATUS) && !wire.is_native() && !wire.is_web() {
        // Connect streaming: the status goes in the end-stream message.
        forward_headers(&reply_headers, &mut headers);
        drop_grpc_headers(&mut headers);
        let status = status_of(&grpc_lambda_protocol::metadata_from_headers(&reply_headers));
        let code = status.code();
        let body = end_stream_frame(&status, &Metadata::new());
        let mut response =
            Response::new(ProxyBody::bytes(body).with_record(record.finish_with(code)));
        *response.headers_mut() = headers;
        return response;
    }
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
        let record = record.finish_with(err.code());
        if wire.is_native() || wire.is_web() {
            return error_response(content_type, &err.to_status(), record);
        }
        let body = end_stream_frame(&err.to_status(), &Metadata::new());
        let mut response = Response::new(ProxyBody::bytes(body).with_record(record));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        return response;
    }
    forward_headers(&reply_headers, &mut headers);
    if !wire.is_native() && !wire.is_web() {
        drop_grpc_headers(&mut headers);
    }
    let mut stream = FrameStream::new(body, wire, deadline, budget.reservation());
    let first = std::future::poll_fn(|cx| stream.poll_item(cx)).await;
    match first {
        Some(Item::Trailers(trailers, code)) => {
            // No message came before the trailers: Trailers-Only.
            headers.extend(trailers);
            let mut response =
                Response::new(ProxyBody::empty().with_record(record.finish_with(code)));
            *response.headers_mut() = headers;
            response
        }
        first => {
            // Not handed to the connection yet: its bytes stay counted until it is.
            stream.handed = 0;
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

/// gRPC's own headers (`grpc-status` of a Trailers-Only answer, `grpc-encoding`,
/// `grpc-accept-encoding`…): the framing of the hop to the function, which Connect and Twirp
/// clients get in their own form or not at all, as the shim answers them.
pub(crate) fn drop_grpc_headers(headers: &mut HeaderMap) {
    let grpc: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("grpc-"))
        .cloned()
        .collect();
    for name in &grpc {
        headers.remove(name);
    }
}

/// The function's response metadata among `from`, appended to `to`.
pub(crate) fn forward_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if is_response_metadata(name.as_str()) {
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

/// How a stream's status reaches the client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// HTTP/2 trailers (native gRPC).
    Http2Trailers,
    /// The gRPC-Web trailer frame (`0x80`).
    TrailerFrame,
    /// Connect's end-stream message (`0x02`).
    ConnectEndStream,
}

/// The target's gRPC-Web bytes, cut into frames and turned into the client's protocol.
struct FrameStream {
    decoder: FrameDecoder,
    upstream: Option<ReplyBody>,
    close: Close,
    text: Option<base64::Encoder>,
    pending: Option<Bytes>,
    first: Option<Item>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
    code: Option<Code>,
    done: bool,
    /// The response bytes received from the target and not yet taken by the client.
    held: Reservation,
    /// The bytes of the item handed to the connection last, given back at the next poll. The
    /// connection may ask for more before the client's window took all of the last item; items
    /// are at most [`COALESCE_MAX`] bytes (plus a message header), which bounds what is held
    /// uncounted.
    handed: usize,
}

impl FrameStream {
    fn new(
        body: ReplyBody,
        wire: Wire,
        deadline: Option<Deadline>,
        held: Reservation,
    ) -> FrameStream {
        FrameStream {
            // The function's messages are held to the 4 MiB default only by the function; the
            // proxy passes on what Lambda accepted (up to its 6 MB payload limit).
            decoder: FrameDecoder::with_max_message_len(crate::error::LAMBDA_RESPONSE_LIMIT),
            upstream: Some(body),
            close: if wire.is_native() {
                Close::Http2Trailers
            } else if wire.is_web() {
                Close::TrailerFrame
            } else {
                Close::ConnectEndStream
            },
            text: wire.is_text().then(base64::Encoder::new),
            pending: None,
            first: None,
            sleep: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.at.into()))),
            timeout: deadline.map(|d| d.timeout).unwrap_or_default(),
            code: None,
            done: false,
            held,
            handed: 0,
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
        match self.close {
            Close::TrailerFrame => {
                let mut frame = BytesMut::new();
                // Encoding into a growable buffer only fails past u32::MAX bytes of metadata.
                let _ = FrameEncoder::new().encode_trailers(&trailers, &mut frame);
                Item::Data(frame.freeze())
            }
            Close::ConnectEndStream => {
                let status = status_of(&trailers);
                Item::Data(end_stream_frame(&status, &trailers))
            }
            Close::Http2Trailers => {
                let mut headers = HeaderMap::with_capacity(trailers.len());
                metadata_to_headers(&trailers, &mut headers);
                Item::Trailers(headers, code)
            }
        }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.held.shrink(std::mem::take(&mut self.handed));
        let item = self.next_item(cx);
        if let Poll::Ready(Some(Item::Data(bytes))) = &item {
            self.handed = bytes.len();
        }
        item
    }

    fn next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if let Some(item) = self.first.take() {
            return Poll::Ready(Some(item));
        }
        if let Some(mut bytes) = self.pending.take() {
            // A large message leaves in pieces: slices of it, not copies.
            if bytes.len() > COALESCE_MAX {
                let piece = bytes.split_to(COALESCE_MAX);
                self.pending = Some(bytes);
                return Poll::Ready(Some(Item::Data(piece)));
            }
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
                        if let Err(err) = self.held.grow(data.len()) {
                            return Poll::Ready(Some(self.fail(&err.to_status())));
                        }
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

    pub(crate) fn with_record(mut self, record: CallRecord) -> ProxyBody {
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

    fn frame_stream(body: ReplyBody, content_type: &str, budget: &Arc<Budget>) -> FrameStream {
        let call = grpc_lambda_protocol::read_call(
            &http::Method::POST,
            "/a.B/C",
            Some(content_type.as_bytes()),
            None,
        )
        .unwrap();
        FrameStream::new(body, Wire::of(&call), None, budget.reservation())
    }

    fn trailer_frame(text: &str) -> Vec<u8> {
        let mut out = vec![0x80];
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    async fn drain(stream: &mut FrameStream) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| stream.poll_item(cx)).await {
            items.push(item);
        }
        items
    }

    #[tokio::test]
    async fn messages_become_data_and_the_trailer_frame_trailers() {
        let body = reply_body(&[
            b"\x00\x00\x00\x00\x02hi",
            &trailer_frame("grpc-status: 0\r\nx-echo-trailer: a\r\nx-echo-trailer: b\r\n"),
        ]);
        let mut stream = frame_stream(body, "application/grpc", &Budget::new(1 << 20));
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
        let mut stream = frame_stream(
            full_body(body.clone()),
            "application/grpc",
            &Budget::new(1 << 20),
        );
        let items = drain(&mut stream).await;
        // The header, then the payload in two pieces of at most COALESCE_MAX bytes, each a slice
        // of the decoded body (same memory), then the trailers.
        let [Item::Data(header), Item::Data(first), Item::Data(rest), Item::Trailers(..)] =
            &items[..]
        else {
            panic!("header, two pieces, trailers")
        };
        assert_eq!(&header[..], &[0, 0, 0, 0x40, 0x01]);
        assert_eq!(first.len(), COALESCE_MAX);
        assert_eq!(first.as_ptr(), body[5..].as_ptr());
        assert_eq!(rest.len(), 1);
        assert_eq!(rest.as_ptr(), body[5 + COALESCE_MAX..].as_ptr());
    }

    #[tokio::test]
    async fn a_response_without_trailers_is_internal() {
        let body = reply_body(&[b"\x00\x00\x00\x00\x02hi"]);
        let mut stream = frame_stream(body, "application/grpc", &Budget::new(1 << 20));
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
        let mut stream = frame_stream(body, "application/grpc", &Budget::new(1 << 20));
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
        let mut stream = frame_stream(body, "application/grpc-web", &Budget::new(1 << 20));
        let items = drain(&mut stream).await;
        let Item::Data(last) = &items[1] else {
            panic!("data")
        };
        assert_eq!(&last[..], &trailer[..]);
    }

    #[tokio::test]
    async fn a_response_past_the_budget_ends_resource_exhausted_and_gives_its_bytes_back() {
        let budget = Budget::new(64);
        let body = reply_body(&[
            b"\x00\x00\x00\x00\x64",
            &[1u8; 100],
            &trailer_frame("grpc-status: 0\r\n"),
        ]);
        let mut stream = frame_stream(body, "application/grpc", &budget);
        let items = drain(&mut stream).await;
        let [Item::Trailers(trailers, code)] = &items[..] else {
            panic!("one item: the trailers")
        };
        assert_eq!(*code, Code::ResourceExhausted);
        let message = trailers["grpc-message"].to_str().unwrap();
        assert!(
            message.contains("64 bytes (max_bytes_in_flight)"),
            "{message}"
        );
        drop(stream);
        assert_eq!(budget.in_use(), 0);
        let fits = reply_body(&[
            b"\x00\x00\x00\x00\x01a",
            &trailer_frame("grpc-status: 0\r\n"),
        ]);
        let mut stream = frame_stream(fits, "application/grpc", &budget);
        let items = drain(&mut stream).await;
        assert_eq!(items.len(), 2);
        // The message was taken (its bytes given back at the next poll); the trailer frame's
        // bytes are held until the stream is dropped.
        assert_eq!(budget.in_use(), trailer_frame("grpc-status: 0\r\n").len());
        drop(stream);
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn a_stream_longer_than_the_budget_passes_when_the_client_takes_each_message() {
        use http_body_util::{BodyExt as _, StreamBody};
        let budget = Budget::new(64);
        let mut chunks: Vec<Result<HttpFrame<Bytes>, InvokeError>> = (0..10)
            .map(|_| Ok(HttpFrame::data(Bytes::from(frame_of(&[9u8; 15])))))
            .collect();
        chunks.push(Ok(HttpFrame::data(Bytes::from(trailer_frame(
            "grpc-status: 0\r\n",
        )))));
        let body = StreamBody::new(tokio_stream::iter(chunks)).boxed();
        let mut stream = frame_stream(body, "application/grpc", &budget);
        let items = drain(&mut stream).await;
        // 10 messages of 20 bytes and the trailers: 218 bytes through a 64-byte budget.
        assert_eq!(items.len(), 11);
        assert!(matches!(items[10], Item::Trailers(_, Code::Ok)));
    }

    fn frame_of(payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }
}
