//! The reply in the caller's protocol, when it is not gRPC or gRPC-Web with protobuf.
//!
//! | caller | success | error |
//! | --- | --- | --- |
//! | Connect unary (POST or GET) | HTTP 200, the message, response metadata as headers, trailers as `trailer-<name>` headers | the code's HTTP status, the Connect JSON error (details included), metadata and `trailer-` trailers as headers |
//! | Connect streaming | HTTP 200, each message enveloped, then the end-stream message (flag `0x02`) with the trailers | the same, the error in the end-stream message |
//! | Twirp | HTTP 200, the message, metadata and trailers as headers | the Twirp code's HTTP status, the Twirp JSON error |
//! | gRPC, gRPC-Web `+json` | as with protobuf, each message written as JSON | as with protobuf |
//!
//! A unary answer of at least [`MIN_COMPRESSED_LEN`](super::messages::MIN_COMPRESSED_LEN)
//! bytes goes gzip-compressed to a client whose `accept-encoding` names gzip (a stream's
//! messages each, under `connect-accept-encoding`).

use bytes::{BufMut, Bytes, BytesMut};
use grpc_lambda_core::content_type::Codec;
use grpc_lambda_core::frame::{FrameHeader, FLAG_COMPRESSED, HEADER_LEN};
use grpc_lambda_core::status::TwirpCode;
use grpc_lambda_core::{Code, ContentType, Envelope, FrameDecoder, Metadata, Status};
use grpc_lambda_protocol::call::Protocol;
use grpc_lambda_protocol::json::{connect_end_stream_json, connect_error_json};
use grpc_lambda_protocol::metadata_to_headers;
use http::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderMap, StatusCode};
use smallvec::SmallVec;

use super::incoming::put_frame;
use super::messages::{compress, Messages};
use super::Caller;
use crate::error::Error;
use crate::event::{EventResponse, ResponseBody, Source};
use crate::reply::{self, Reply};
use crate::streaming::Rewrite;

/// `connect-content-encoding`: the compression of a Connect stream's messages.
pub(super) const CONNECT_CONTENT_ENCODING: HeaderName =
    HeaderName::from_static(grpc_lambda_protocol::connect::CONNECT_CONTENT_ENCODING);

/// The answer to `caller` from `reply`.
pub(crate) fn encode(
    source: Source,
    caller: &Caller,
    messages: &Messages,
    mut reply: Reply,
) -> EventResponse {
    if let Some(content_type) = grpc_content_type(caller.protocol) {
        // gRPC's own framing, the messages in the caller's codec.
        if let Err(err) = transcode_chunks(messages, &mut reply) {
            // No message goes in a codec the caller did not ask for.
            reply.chunks.clear();
            reply.len = 0;
            reply.fail(&err);
        }
        let mut response = reply::encode(source, content_type, reply);
        response.headers.insert(CONTENT_TYPE, caller.content_type());
        return response;
    }
    let (status, trailers) = status_and_trailers(reply.trailers.take());
    let headers = metadata_headers(std::mem::take(&mut reply.headers));
    let payloads = match payloads(&reply.chunks) {
        Ok(payloads) => payloads,
        Err(err) => return error(source, caller, headers, &err),
    };
    let answer = match caller.protocol {
        Protocol::ConnectStream => Ok(stream(caller, messages, payloads, &status, &trailers)),
        _ if !status.is_ok() => {
            return status_answer(source, caller, headers, &status, &trailers, false)
        }
        _ => unary(caller, messages, payloads, &trailers),
    };
    match answer {
        Ok((extra, body)) => {
            let mut response = EventResponse::new(source, StatusCode::OK);
            response.headers = headers;
            response.headers.insert(CONTENT_TYPE, caller.content_type());
            reply::extend_headers(&mut response.headers, extra);
            response.body = body;
            fit(source, caller, response)
        }
        Err(err) => error(source, caller, headers, &err),
    }
}

/// The answer to `caller` for a call that failed with `err` before or around the service.
pub(crate) fn error(
    source: Source,
    caller: &Caller,
    headers: HeaderMap,
    err: &Error,
) -> EventResponse {
    if let Some(content_type) = grpc_content_type(caller.protocol) {
        let mut reply = Reply::new(source, 0);
        if caller.for_connect_client && err.is_malformed_message() {
            reply.finish(&err.to_connect_status(), Metadata::new());
        } else {
            reply.fail(err);
        }
        let mut response = reply::encode(source, content_type, reply);
        response.headers.insert(CONTENT_TYPE, caller.content_type());
        return response;
    }
    let mut response = status_answer(
        source,
        caller,
        headers,
        &err.to_connect_status(),
        &Metadata::new(),
        err.is_malformed_message(),
    );
    if matches!(err, Error::GetWithSideEffects { .. }) {
        // Connect: a GET of a method with side effects is the wrong HTTP method for it.
        response.status = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// gRPC's content type for a gRPC-family caller (with `+json`): its framing is gRPC's.
fn grpc_content_type(protocol: Protocol) -> Option<ContentType> {
    match protocol {
        Protocol::Grpc => Some(ContentType::Grpc),
        Protocol::GrpcWeb => Some(ContentType::GrpcWeb),
        Protocol::GrpcWebText => Some(ContentType::GrpcWebText),
        _ => None,
    }
}

/// The reply's messages written in the caller's codec, framed as they were.
fn transcode_chunks(messages: &Messages, reply: &mut Reply) -> Result<(), Error> {
    if messages.codec() == Codec::Proto || reply.chunks.is_empty() {
        return Ok(());
    }
    let payloads = payloads(&reply.chunks)?;
    let mut out = BytesMut::new();
    for payload in payloads {
        let message = messages.response_from_proto(payload)?;
        out.reserve(HEADER_LEN + message.len());
        put_frame(&mut out, &message);
    }
    let out = out.freeze();
    reply.len = out.len();
    reply.chunks.clear();
    reply.chunks.push(out);
    Ok(())
}

/// An answer's message payloads: a unary answer's one needs no allocation of its own.
type Payloads = SmallVec<[Bytes; 1]>;

/// The messages of the service's answer: its frames, read back (the service wrote them, and
/// was asked for no compression).
fn payloads(chunks: &[Bytes]) -> Result<Payloads, Error> {
    let body = match chunks {
        [] => return Ok(Payloads::new()),
        [one] => one.clone(),
        many => Bytes::from(many.concat()),
    };
    let mut payloads = Payloads::new();
    for frame in grpc_lambda_core::decode::frames_in(&body, usize::MAX, Envelope::Grpc) {
        let frame = frame.map_err(Error::Frame)?;
        if frame.is_compressed() {
            return Err(Error::CompressedResponse);
        }
        payloads.push(frame.share(&body).into_payload());
    }
    Ok(payloads)
}

/// The status the service ended with and its other trailers.
fn status_and_trailers(trailers: Option<Metadata>) -> (Status, Metadata) {
    let Some(trailers) = trailers else {
        return (
            Status::new(
                Code::Unknown,
                "the service ended its response without a grpc-status",
            ),
            Metadata::new(),
        );
    };
    let status = match Status::from_metadata(&trailers) {
        Ok(Some(status)) => status,
        Ok(None) => Status::new(
            Code::Unknown,
            "the service ended its response without a grpc-status",
        ),
        Err(err) => Status::new(
            Code::Internal,
            format!("the service's status cannot be read: {err}"),
        ),
    };
    let mut rest = Metadata::with_capacity(trailers.len());
    for (name, value) in trailers.iter_bytes() {
        if !matches!(
            &name[..],
            b"grpc-status" | b"grpc-message" | b"grpc-status-details-bin"
        ) {
            let _ = rest.append_bytes(name.clone(), value.clone());
        }
    }
    (status, rest)
}

/// The service's response headers as a Connect or Twirp client's: gRPC's own (`grpc-*`) are
/// the framing of the hop to the service, not metadata.
pub(super) fn metadata_headers(mut headers: HeaderMap) -> HeaderMap {
    let grpc: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("grpc-"))
        .cloned()
        .collect();
    for name in &grpc {
        headers.remove(name);
    }
    headers
}

/// Trailers as a unary answer carries them: `trailer-<name>` headers (Connect), or headers as
/// they are (Twirp, which has no trailers).
fn trailer_headers(protocol: Protocol, trailers: &Metadata) -> HeaderMap {
    let mut plain = HeaderMap::new();
    metadata_to_headers(trailers, &mut plain);
    if protocol == Protocol::Twirp {
        return plain;
    }
    let mut prefixed = HeaderMap::with_capacity(plain.len());
    let mut last: Option<HeaderName> = None;
    for (name, value) in plain {
        if let Some(name) = name {
            last = HeaderName::from_bytes(format!("trailer-{name}").as_bytes()).ok();
        }
        if let Some(name) = &last {
            prefixed.append(name.clone(), value);
        }
    }
    prefixed
}

/// A unary success: the one message, compressed when the client accepts it.
fn unary(
    caller: &Caller,
    messages: &Messages,
    payloads: Payloads,
    trailers: &Metadata,
) -> Result<(HeaderMap, ResponseBody), Error> {
    // Exactly one message, or the answer is not a unary one.
    let [message] = payloads
        .into_inner()
        .map_err(|payloads| Error::UnaryAnswer {
            messages: payloads.len(),
        })?;
    let message = messages.response_from_proto(message)?;
    let mut headers = trailer_headers(caller.protocol, trailers);
    if let Some(compressed) = compress(
        caller.accept_encoding.as_ref().map(HeaderValue::as_bytes),
        &message,
    ) {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        // A cache (the reason for Connect GET) must not hand this to a client that did not ask
        // for gzip.
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
        return Ok((headers, ResponseBody::binary(compressed)));
    }
    Ok((headers, body_of(messages.codec(), message)))
}

/// A Connect stream: each message enveloped (compressed when the client accepts it), then the
/// end-stream message with the status and trailers.
fn stream(
    caller: &Caller,
    messages: &Messages,
    payloads: Payloads,
    status: &Status,
    trailers: &Metadata,
) -> (HeaderMap, ResponseBody) {
    let mut headers = HeaderMap::new();
    let accepts = caller.accept_encoding.as_ref().map(HeaderValue::as_bytes);
    let mut out = BytesMut::new();
    let mut status = status.clone();
    for payload in payloads {
        let message = match messages.response_from_proto(payload) {
            Ok(message) => message,
            Err(err) => {
                status = err.to_status();
                break;
            }
        };
        match compress(accepts, &message) {
            Some(compressed) => {
                headers.insert(CONNECT_CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                let len = u32::try_from(compressed.len()).unwrap_or(u32::MAX);
                out.reserve(HEADER_LEN + compressed.len());
                out.put_slice(
                    &FrameHeader::new(FLAG_COMPRESSED, len)
                        .map(FrameHeader::to_bytes)
                        .unwrap_or_default(),
                );
                out.put_slice(&compressed);
            }
            None => {
                out.reserve(HEADER_LEN + message.len());
                put_frame(&mut out, &message);
            }
        }
    }
    out.put_slice(&end_stream(&connect_end_stream_json(&status, trailers)));
    (headers, ResponseBody::binary(out.freeze()))
}

/// A Connect end-stream message (flag `0x02`) carrying `json`.
pub(super) fn end_stream(json: &[u8]) -> Bytes {
    let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
    let mut frame = BytesMut::with_capacity(HEADER_LEN + json.len());
    frame.put_slice(&FrameHeader::end_stream(len).to_bytes());
    frame.put_slice(json);
    frame.freeze()
}

/// A message as the body: JSON as text, protobuf as binary.
fn body_of(codec: Codec, message: Bytes) -> ResponseBody {
    match (codec, std::str::from_utf8(&message)) {
        (Codec::Json, Ok(text)) => ResponseBody::text_of(text),
        _ => ResponseBody::binary(message),
    }
}

/// A unary call's error (or a Connect stream's, in its end-stream message) with `status`.
fn status_answer(
    source: Source,
    caller: &Caller,
    headers: HeaderMap,
    status: &Status,
    trailers: &Metadata,
    malformed: bool,
) -> EventResponse {
    if caller.protocol == Protocol::ConnectStream {
        let mut response = EventResponse::new(source, StatusCode::OK);
        response.headers = headers;
        response.headers.insert(CONTENT_TYPE, caller.content_type());
        response.body =
            ResponseBody::binary(end_stream(&connect_end_stream_json(status, trailers)));
        return response;
    }
    let (http_status, body) = if caller.protocol == Protocol::Twirp {
        let code = match status.code() {
            _ if malformed => TwirpCode::Malformed,
            // What a gRPC service answers for a method it does not have is, to a Twirp
            // client, a route the server does not know.
            Code::Unimplemented => TwirpCode::BadRoute,
            code => TwirpCode::from(code),
        };
        let body = grpc_lambda_protocol::json::twirp_error_json(code, status.message(), []);
        (code.http_status(), body)
    } else {
        (
            status.code().connect_http_status(),
            connect_error_json(status),
        )
    };
    let mut response = EventResponse::new(
        source,
        StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    response.headers = headers;
    response.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(grpc_lambda_protocol::json::ERROR_CONTENT_TYPE),
    );
    reply::extend_headers(
        &mut response.headers,
        trailer_headers(caller.protocol, trailers),
    );
    response.body = body_of(Codec::Json, Bytes::from(body));
    response
}

/// `response`, or the protocol's error when it does not fit in what the front door accepts.
fn fit(source: Source, caller: &Caller, response: EventResponse) -> EventResponse {
    let len = response
        .envelope_len_bound()
        .saturating_add(response.body.json_len());
    if len <= source.response_limit() {
        return response;
    }
    let err = Error::ResponseTooLarge {
        len,
        limit: source.response_limit(),
        source,
    };
    error(source, caller, HeaderMap::new(), &err)
}

/// The rewrite of a Connect stream's chunks under response streaming: the service's gRPC frames
/// (whole or cut anywhere) in, each message in the caller's codec enveloped for Connect out.
pub(super) fn stream_rewrite(messages: Messages) -> Rewrite {
    let mut decoder = FrameDecoder::with_max_message_len(usize::MAX).with_envelope(Envelope::Grpc);
    Rewrite(Box::new(move |chunk| {
        decoder.push(chunk);
        let mut out = BytesMut::new();
        while let Some(frame) = decoder.decode().map_err(Error::Frame)? {
            if frame.is_compressed() {
                return Err(Error::CompressedResponse);
            }
            let message = messages.response_from_proto(frame.into_payload())?;
            out.reserve(HEADER_LEN + message.len());
            put_frame(&mut out, &message);
        }
        Ok(out.freeze())
    }))
}

/// Ends a Connect stream sent under response streaming: the end-stream message with the status
/// (or the error that stopped the stream's rewrite) and the trailers.
pub(super) fn finish_stream(mut reply: Reply) {
    let Some(mut sink) = reply.sink.take() else {
        return;
    };
    let (mut status, trailers) = status_and_trailers(reply.trailers.take());
    if let Some(err) = sink.take_failure() {
        status = err.to_status();
    }
    let frame = end_stream(&connect_end_stream_json(&status, &trailers));
    sink.finish(
        &metadata_headers(std::mem::take(&mut reply.headers)),
        Some(frame),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_caller() -> Caller {
        Caller {
            protocol: Protocol::ConnectUnary,
            media_type: None,
            codec: Codec::Proto,
            path: "/a.B/C".into(),
            accept_encoding: None,
            for_connect_client: false,
        }
    }

    #[test]
    fn a_unary_answer_is_exactly_one_message() {
        let messages = Messages::proto();
        for n in [0, 2, 3] {
            let payloads: Payloads = (0..n).map(|_| Bytes::from_static(b"\x08\x01")).collect();
            let err = unary(&connect_caller(), &messages, payloads, &Metadata::new()).unwrap_err();
            assert!(
                matches!(err, Error::UnaryAnswer { messages } if messages == n),
                "{err}"
            );
        }
        let one: Payloads = [Bytes::from_static(b"\x08\x01")].into_iter().collect();
        let (_, body) = unary(&connect_caller(), &messages, one, &Metadata::new()).unwrap();
        assert_eq!(&body.content()[..], b"\x08\x01");
    }

    #[test]
    fn payloads_are_the_frames_read_back() {
        let mut frames = BytesMut::new();
        put_frame(&mut frames, b"ab");
        put_frame(&mut frames, b"c");
        let frames = frames.freeze();
        let (first, second) = frames.split_at(4);
        let chunks = [
            Bytes::copy_from_slice(first),
            Bytes::copy_from_slice(second),
        ];
        let read = payloads(&chunks).unwrap();
        assert_eq!(read.as_slice(), [&b"ab"[..], &b"c"[..]]);
        assert!(read.spilled(), "two messages are more than the inline one");
        assert!(payloads(&[]).unwrap().is_empty());
    }
}
