//! The checks before a call, and the [`Call`] they build: the body out of its encodings, every
//! frame checked against the message limit, the client's timeout read into the deadline, the
//! method path the front door routed, and the headers the service receives.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use grpc_lambda_core::metadata::{format_timeout, parse_timeout};
use grpc_lambda_core::{ContentType, Frame};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use crate::body;
use crate::deadline::{self, Deadline};
use crate::error::Error;
use crate::event::{HttpRequest, Source};

/// `grpc-encoding`, named once: a header looked up by a `&str` is parsed as a name first.
pub(crate) const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");

/// The call as the shim hands it to a handler.
pub struct Call {
    /// `/package.Service/Method`.
    pub path: String,
    /// Request metadata: the client's headers without the connection's own; `content-type` is
    /// `application/grpc`, `grpc-timeout` the deadline's budget.
    pub headers: HeaderMap,
    /// The decoded body: the frames back to back.
    pub body: Bytes,
    /// The body's first message frame, a slice of `body`, when the handler
    /// [reads frames](crate::service::sealed::Serve::reads_frames): a unary or server-streaming
    /// call's one message.
    pub first_frame: Option<Frame>,
    /// How many message frames the body holds.
    pub frames: usize,
    /// The deadline the call runs under.
    pub deadline: Option<Deadline>,
    /// When the shim took the call: the deadline's budget runs from here.
    pub started: SystemTime,
    /// The invocation's Lambda context (boxed: it is large, and moves with the call).
    pub lambda: Box<lambda_runtime::Context>,
    /// The front door.
    pub source: Source,
    /// The message limit, for handlers that decode or encode messages themselves.
    pub max_message_len: usize,
}

/// What the checks take from the shim's settings and its handler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checks {
    /// The largest request message.
    pub max_message_len: usize,
    /// The time kept back from Lambda's deadline.
    pub safety_margin: Duration,
    /// The handler reads the first frame ([`Call::first_frame`]).
    pub keep_first_frame: bool,
}

/// The call `request` carries, once every check passed.
///
/// # Errors
///
/// The body that is not base64, a malformed frame or one over the limit, a trailer frame, a
/// compressed frame without `grpc-encoding`, an unreadable `grpc-timeout`, a path that names no
/// method: each an [`Error`] the caller answers with its status.
pub(crate) fn check(
    request: HttpRequest,
    content_type: ContentType,
    lambda: Box<lambda_runtime::Context>,
    checks: Checks,
) -> Result<Call, Error> {
    let HttpRequest {
        source,
        path,
        mut headers,
        body,
        ..
    } = request;
    let body = body::decode_request(body, content_type.protocol().is_text())?;
    // Every frame is checked here, whoever decodes the messages. The first is kept (a slice of
    // the body, not a copy) for a handler that reads it, and the others counted: a route takes
    // exactly one, and a body of many small frames costs no memory of its own.
    let mut first_frame = None;
    let mut frames = 0;
    let encoding = headers.get(GRPC_ENCODING).map(HeaderValue::as_bytes);
    for frame in grpc_lambda_core::decode::frames(&body, checks.max_message_len) {
        let frame = frame.map_err(Error::Frame)?;
        if frame.is_trailers() {
            return Err(Error::TrailersInRequest);
        }
        grpc_lambda_protocol::check_compressed_flag(frame.is_compressed(), encoding)
            .map_err(|_| Error::CompressedWithoutEncoding { index: frames })?;
        if checks.keep_first_frame && frames == 0 {
            first_frame = Some(frame.share(&body));
        }
        frames += 1;
    }
    let grpc_timeout = match headers.get(deadline::GRPC_TIMEOUT) {
        Some(value) => Some(parse_timeout(value.as_bytes()).map_err(Error::InvalidTimeout)?),
        None => None,
    };
    let started = SystemTime::now();
    let deadline = Deadline::compute(grpc_timeout, lambda.deadline, started, checks.safety_margin);
    // The method the front door routed, or a refusal naming the path: never a method taken from
    // further along a path the event's fields do not account for.
    let path = path
        .and_then(crate::event::path::grpc_method)
        .map_err(Error::Path)?;
    service_headers(&mut headers, deadline);
    Ok(Call {
        path,
        headers,
        body,
        first_frame,
        frames,
        deadline,
        started,
        lambda,
        source,
        max_message_len: checks.max_message_len,
    })
}

/// The client's headers as the service receives them, as the proxy hands them on
/// (`grpc_lambda_protocol::request_metadata`): the connection's own headers dropped
/// (`host`, `content-length`, `te`…: a gRPC-Web-text body reaches the service decoded, and its
/// length would describe a body the service never sees), the content type of the shim's
/// framing, and the deadline's budget as `grpc-timeout`.
fn service_headers(headers: &mut HeaderMap, deadline: Option<Deadline>) {
    // Found in one pass, removed by name: no allocation for the usual few.
    let mut dropped = smallvec::SmallVec::<[HeaderName; 4]>::new();
    for name in headers.keys() {
        if grpc_lambda_protocol::is_connection_header(name.as_str()) {
            dropped.push(name.clone());
        }
    }
    for name in &dropped {
        headers.remove(name);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    if let Some(deadline) = deadline {
        if let Ok(value) = HeaderValue::try_from(format_timeout(deadline.budget).as_str()) {
            headers.insert(deadline::GRPC_TIMEOUT, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_gets_what_the_proxy_hands_on() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "abc.lambda-url.us-east-1.on.aws"),
            ("content-length", "12"),
            ("te", "trailers"),
            ("accept-encoding", "gzip"),
            ("content-type", "application/grpc-web-text"),
            ("x-user", "a"),
            ("authorization", "Bearer t"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        let proxy = grpc_lambda_protocol::request_metadata(headers.clone());
        service_headers(&mut headers, None);
        assert_eq!(headers["content-type"], "application/grpc");
        headers.remove(CONTENT_TYPE);
        assert_eq!(headers, proxy);
        assert_eq!(headers.len(), 2);
    }
}
