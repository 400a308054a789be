//! The reply: the answer as the handler builds it ([`Reply`]), then encoded in the caller's
//! protocol as the event response (gRPC-Web's trailer frame, gRPC's Trailers-Only), or ended as a
//! stream.

use bytes::Bytes;
use grpc_lambda_core::base64::encoded_len;
use grpc_lambda_core::{Code, ContentType, FrameEncoder, Metadata, Protocol, Status};
use grpc_lambda_protocol::metadata_to_headers;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

use crate::error::Error;
use crate::event::{self, Chunks, EventResponse, ResponseBody, Source};
use crate::streaming::Sink;

/// The answer as it builds up: it outlives the handler's future, so that a call stopped at
/// its deadline keeps what it had sent.
pub struct Reply {
    /// Initial metadata (no `content-type`).
    pub headers: HeaderMap,
    /// Framed response messages, in order.
    pub chunks: Chunks,
    /// Bytes in `chunks`.
    pub len: usize,
    /// The status and trailing metadata, once the handler ended.
    pub trailers: Option<Metadata>,
    /// The most body bytes the front door can take.
    pub max_len: usize,
    /// The front door, for the size error.
    pub source: Source,
    /// Where messages go as they are produced, when the answer is streamed.
    pub sink: Option<Sink>,
}

impl Reply {
    /// An empty answer bounded by `max_len` body bytes.
    pub fn new(source: Source, max_len: usize) -> Self {
        Self {
            headers: HeaderMap::new(),
            chunks: Chunks::new(),
            len: 0,
            trailers: None,
            max_len,
            source,
            sink: None,
        }
    }

    /// Whether any message bytes went out (kept for a buffered answer, or streamed).
    pub fn sent_any(&self) -> bool {
        !self.chunks.is_empty() || self.sink.as_ref().is_some_and(|sink| sink.sent_any())
    }

    /// Appends framed message bytes.
    ///
    /// # Errors
    ///
    /// [`Error::ResponseTooLarge`] once the body cannot fit in the front door's limit.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.len = self.len.saturating_add(chunk.len());
        if self.len > self.max_len {
            return Err(too_large(self.source, self.len));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        match self.sink.as_mut() {
            Some(sink) => sink.send(&self.headers, chunk),
            None => self.chunks.push(chunk),
        }
        Ok(())
    }

    /// Ends a call with an error: its status replaces the trailers; a response too large keeps
    /// none of its messages.
    pub(crate) fn fail(&mut self, err: &Error) {
        // Inside the invocation's span (its request id). The function's own faults are warnings;
        // a request the client got wrong, or its deadline, is the client's to see and is logged
        // only at debug, so a flood of bad requests costs no log volume.
        if err.is_functions() {
            tracing::warn!(code = ?err.code(), error = %err, "call failed");
        } else {
            tracing::debug!(code = ?err.code(), error = %err, "call refused");
        }
        if matches!(err, Error::ResponseTooLarge { .. }) {
            self.chunks.clear();
            self.len = 0;
        }
        self.trailers = Some(err.to_status().to_trailers());
    }

    /// Ends the answer with `status` and trailing metadata.
    pub fn finish(&mut self, status: &Status, extra: Metadata) {
        let mut trailers = status.to_trailers();
        trailers.extend(extra);
        self.trailers = Some(trailers);
    }
}

/// The most body bytes, before base64, a front door's response limit leaves room for, with
/// 2 KiB kept for the JSON envelope and headers.
pub(crate) fn max_body_len(source: Source) -> usize {
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

/// Ends a streamed reply: the trailer frame (gRPC-Web), or the status in the metadata when no
/// message went (native gRPC, Trailers-Only); a native gRPC stream that sent messages cannot
/// carry its status (no front door sends HTTP/2 trailers), as with a buffered answer.
pub(crate) fn finish_stream(content_type: ContentType, mut reply: Reply) {
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
            metadata_to_headers(&trailers, &mut headers);
        }
        sink.finish(&headers, None);
    }
}

/// The reply in the caller's protocol, as the event response.
pub(crate) fn encode(source: Source, content_type: ContentType, mut reply: Reply) -> EventResponse {
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
            metadata_to_headers(&trailers, &mut response.headers);
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

pub(crate) fn extend_headers(into: &mut HeaderMap, from: HeaderMap) {
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
