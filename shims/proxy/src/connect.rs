//! Answers in Connect's and Twirp's forms, from the function's gRPC-Web answer: framing and
//! status only, the messages as the function wrote them.
//!
//! - Connect unary: HTTP 200, the request's content type, the message as the body, response
//!   metadata as headers and trailers as `trailer-<name>` headers; an error is the HTTP status
//!   of its code and the Connect JSON error (details from `grpc-status-details-bin`).
//! - Connect streaming: HTTP 200, the messages in their envelopes, then one end-stream message
//!   (flag `0x02`) with the error, if any, and the trailers (see `response.rs`, which writes it).
//! - Twirp: HTTP 200 and the message, or the HTTP status of the Twirp code and its JSON error.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::status::{TwirpCode, GRPC_STATUS};
use grpc_lambda_core::{Code, Metadata, Status};
use grpc_lambda_protocol::json::{connect_error_json, twirp_error_json};
use grpc_lambda_protocol::{metadata_from_headers, Protocol};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;

use crate::budget::Budget;
use crate::call::Wire;
use crate::error::{InvokeError, LAMBDA_RESPONSE_LIMIT};
use crate::invoke::UpstreamReply;
use crate::metrics::CallRecord;
use crate::request::Deadline;
use crate::response::{
    drop_grpc_headers, end_stream_frame, error_response, forward_headers, status_of, ProxyBody,
};

/// The content type of Connect unary and Twirp errors.
const JSON: &str = "application/json";

/// The prefix Connect unary gives a trailer sent as a header.
const TRAILER_PREFIX: &str = "trailer-";

/// The answer to a call that failed, in its protocol's form, with `metadata` among the headers.
pub(crate) fn error_answer(
    wire: Wire,
    status: &Status,
    metadata: HeaderMap,
    record: CallRecord,
) -> Response<ProxyBody> {
    let (http_status, content_type, body) = match wire.protocol {
        Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText => {
            let mut response = error_response(wire.response_content_type(), status, record);
            for (name, value) in &metadata {
                response.headers_mut().append(name.clone(), value.clone());
            }
            return response;
        }
        Protocol::ConnectUnary | Protocol::ConnectUnaryGet => (
            status.code().connect_http_status(),
            JSON,
            Bytes::from(connect_error_json(status)),
        ),
        Protocol::ConnectStream => (
            200,
            wire.response_content_type(),
            end_stream_frame(status, &Metadata::new()),
        ),
        Protocol::Twirp => {
            let code = twirp_code(status.code());
            (
                code.http_status(),
                JSON,
                Bytes::from(twirp_error_json(code, status.message(), [])),
            )
        }
    };
    let mut response = Response::new(ProxyBody::bytes(body).with_record(record));
    *response.status_mut() =
        StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    *headers = metadata;
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The Twirp code of a gRPC code: `UNIMPLEMENTED`, which is what a gRPC server answers a
/// method it does not have, is Twirp's `bad_route`.
fn twirp_code(code: Code) -> TwirpCode {
    match code {
        Code::Unimplemented => TwirpCode::BadRoute,
        code => TwirpCode::from(code),
    }
}

/// What the function answered a unary call: its one message, or its status; and its trailers.
struct Unary {
    result: Result<Bytes, Status>,
    trailers: Metadata,
}

/// Turns the function's answer to a Connect unary or Twirp call into the client's response.
/// The answer is read whole (one message), its bytes reserved in `budget`, within the deadline.
pub(crate) async fn respond_unary(
    reply: UpstreamReply,
    wire: Wire,
    deadline: Option<Deadline>,
    budget: &Arc<Budget>,
    mut record: CallRecord,
) -> Response<ProxyBody> {
    if wire.protocol == Protocol::ConnectUnaryGet && !is_grpc_web(&reply.headers) {
        return pass_on(reply, deadline, budget, record).await;
    }
    let UpstreamReply {
        status,
        headers: reply_headers,
        body,
    } = reply;
    let mut metadata = HeaderMap::new();
    forward_headers(&reply_headers, &mut metadata);
    drop_grpc_headers(&mut metadata);
    let unary = if reply_headers.contains_key(GRPC_STATUS) {
        // Trailers-Only: the status is in the function's headers.
        let trailers = metadata_from_headers(&reply_headers);
        Unary {
            result: Err(status_of(&trailers)),
            trailers: Metadata::new(),
        }
    } else if status != StatusCode::OK {
        let err = InvokeError::Upstream {
            status: status.as_u16(),
            error_type: String::new(),
            message: "no grpc-status in the response".to_owned(),
        };
        record.set_error(err.kind());
        Unary {
            result: Err(err.to_status()),
            trailers: Metadata::new(),
        }
    } else {
        let mut held = budget.reservation();
        match within(deadline, read_unary(body, &mut held)).await {
            Ok(unary) => unary,
            Err(err) => {
                record.set_error(err.kind());
                Unary {
                    result: Err(err.to_status()),
                    trailers: Metadata::new(),
                }
            }
        }
    };
    let message = match unary.result {
        Ok(message) => message,
        Err(status) => {
            let mut headers = metadata;
            trailer_headers(wire, &unary.trailers, &mut headers);
            let code = status.code();
            return error_answer(wire, &status, headers, record.finish_with(code));
        }
    };
    trailer_headers(wire, &unary.trailers, &mut metadata);
    let mut response =
        Response::new(ProxyBody::bytes(message).with_record(record.finish_with(Code::Ok)));
    *response.headers_mut() = metadata;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(wire.response_content_type()),
    );
    response
}

/// Whether an answer is gRPC-Web (rather than the function's own Connect answer to a GET).
fn is_grpc_web(headers: &HeaderMap) -> bool {
    headers.contains_key(GRPC_STATUS)
        || headers
            .get(CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web"))
}

/// The function's own answer to a Connect GET, passed on: its status, content type, metadata
/// and body (read whole within the budget and the deadline); counted under the code its
/// Connect error names, or its HTTP status's.
async fn pass_on(
    reply: UpstreamReply,
    deadline: Option<Deadline>,
    budget: &Arc<Budget>,
    mut record: CallRecord,
) -> Response<ProxyBody> {
    let UpstreamReply {
        status,
        headers: reply_headers,
        body,
    } = reply;
    let mut held = budget.reservation();
    let body = match within(deadline, read_whole(body, &mut held)).await {
        Ok(body) => body,
        Err(err) => {
            record.set_error(err.kind());
            let wire = Wire::refused(Protocol::ConnectUnaryGet, None);
            let code = err.code();
            return error_answer(
                wire,
                &err.to_status(),
                HeaderMap::new(),
                record.finish_with(code),
            );
        }
    };
    let code = if status == StatusCode::OK {
        Code::Ok
    } else {
        grpc_lambda_protocol::json::read_connect_error(&body)
            .map(|status| status.code())
            .unwrap_or_else(|_| Code::from_http_status(status.as_u16()))
    };
    let mut headers = HeaderMap::new();
    forward_headers(&reply_headers, &mut headers);
    drop_grpc_headers(&mut headers);
    for name in [CONTENT_TYPE, http::header::ALLOW] {
        if let Some(value) = reply_headers.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    let mut response = Response::new(ProxyBody::bytes(body).with_record(record.finish_with(code)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Connect unary sends trailers as `trailer-<name>` headers; Twirp has no trailers.
fn trailer_headers(wire: Wire, trailers: &Metadata, headers: &mut HeaderMap) {
    if wire.protocol == Protocol::Twirp {
        return;
    }
    for (name, value) in trailers.iter() {
        if name.starts_with("grpc-") {
            continue;
        }
        let name = HeaderName::try_from(format!("{TRAILER_PREFIX}{name}"));
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
}

/// `read`, ended with [`InvokeError::DeadlineExceeded`] at the deadline.
async fn within<T>(
    deadline: Option<Deadline>,
    read: impl std::future::Future<Output = Result<T, InvokeError>>,
) -> Result<T, InvokeError> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.at.into(), read)
            .await
            .unwrap_or_else(|_| {
                Err(InvokeError::DeadlineExceeded {
                    timeout: deadline.timeout,
                })
            }),
        None => read.await,
    }
}

/// A target's body, read whole, every byte reserved in `held`.
async fn read_whole(
    mut body: crate::invoke::ReplyBody,
    held: &mut crate::budget::Reservation,
) -> Result<Bytes, InvokeError> {
    let mut bytes = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            held.grow(data.len())?;
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes.freeze())
}

/// Reads a unary answer whole: one message, then the trailer frame.
async fn read_unary(
    body: crate::invoke::ReplyBody,
    held: &mut crate::budget::Reservation,
) -> Result<Unary, InvokeError> {
    let bytes = read_whole(body, held).await?;
    let mut messages = Vec::new();
    let mut trailers = None;
    for frame in grpc_lambda_core::decode::frames(&bytes, LAMBDA_RESPONSE_LIMIT) {
        let frame = frame.map_err(|err| InvokeError::InvalidResponse {
            reason: format!("the function's response is not gRPC-Web: {err}"),
        })?;
        if frame.is_trailers() {
            trailers = Some(
                frame
                    .trailers()
                    .map_err(|err| InvokeError::InvalidResponse {
                        reason: format!("the function's trailer frame cannot be read: {err}"),
                    })?,
            );
            break;
        }
        if frame.is_compressed() {
            return Err(InvokeError::InvalidResponse {
                reason: "the function compressed a message the client did not ask compressed"
                    .to_owned(),
            });
        }
        messages.push(frame.share(&bytes).into_payload());
    }
    let Some(trailers) = trailers else {
        return Err(InvokeError::InvalidResponse {
            reason: "the function's response ended without a trailer frame (grpc-status)"
                .to_owned(),
        });
    };
    let status = status_of(&trailers);
    let result = match (status.is_ok(), messages.len()) {
        (false, _) => Err(status),
        (true, 1) => Ok(messages.pop().unwrap_or_default()),
        (true, count) => Err(InvokeError::NotOneMessage { messages: count }.to_status()),
    };
    Ok(Unary { result, trailers })
}
