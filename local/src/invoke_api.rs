//! The Invoke API: `Invoke` (`POST /2015-03-31/functions/NAME/invocations`) and
//! `InvokeWithResponseStream` (`POST /2021-11-15/functions/NAME/response-streaming-invocations`),
//! answered as Lambda answers them; throttling when every process is busy and the queue is full.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_lambda_core::eventstream;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot};

use crate::config::REQUEST_PAYLOAD_LIMIT;
use crate::reply::{api_error, full, function_arn, json_response, LocalBody};
use crate::request_id::request_id;
use crate::state::{Outcome, Pending, Shared};

use grpc_lambda_protocol::TRACE_HEADER;

/// The function name in an Invoke path: a name, `name:qualifier`, or a full or partial ARN
/// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`, `ACCOUNT:function:NAME`).
fn function_name(text: &str) -> &str {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [.., "function", name] | [.., "function", name, _] => name,
        [name, _] | [name] => name,
        _ => text,
    }
}

/// Percent-decoding for the function name in the Invoke path (an ARN's `:` arrives as `%3A`):
/// the same `%XX` rule as `grpc-message`, so core's decoder.
fn percent_decode(text: &str) -> String {
    grpc_lambda_core::status::percent_decode_message(text.as_bytes()).into_owned()
}

/// Answers one Invoke API request.
pub(crate) async fn invoke_api(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Response<LocalBody> {
    let path = request.uri().path().to_owned();
    let invoke = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(|name| (name, false));
    // InvokeWithResponseStream: the same invocation, answered as an event stream.
    let stream = path
        .strip_prefix("/2021-11-15/functions/")
        .and_then(|rest| rest.strip_suffix("/response-streaming-invocations"))
        .map(|name| (name, true));
    let (name, streaming) = match invoke.or(stream) {
        Some((name, streaming)) => (Some(name), streaming),
        None => (None, false),
    };
    let (Some(name), true) = (name, request.method() == Method::POST) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no operation at {} {path}", request.method()),
        );
    };
    let trace_id = request.headers().get(TRACE_HEADER).cloned();
    let decoded = percent_decode(name);
    let function = function_name(&decoded);
    if function != shared.config.function {
        return api_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {}", function_arn(function)),
        );
    }
    let payload = match Limited::new(request.into_body(), REQUEST_PAYLOAD_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                format!(
                    "Request must be smaller than {REQUEST_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
                ),
            )
        }
    };
    let (reply, outcome) = oneshot::channel();
    let id = match request_id() {
        Ok(id) => id,
        Err(err) => {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                format!("no random source for a request id: {err}"),
            )
        }
    };
    {
        let mut state = shared.lock();
        let busy = state.in_flight.len() + state.streams.len() + state.queue.len();
        if busy >= shared.config.capacity() + shared.config.max_queue {
            drop(state);
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": format!(
                        "Rate Exceeded: {busy} invocations in flight or queued for {} processes \
                         of {} invocations each and a queue of {}",
                        shared.config.concurrency,
                        shared.config.max_concurrency,
                        shared.config.max_queue
                    ),
                }),
            );
            response.headers_mut().insert(
                "x-amzn-errortype",
                HeaderValue::from_static("TooManyRequestsException"),
            );
            return response;
        }
        state.queue.push_back(Pending {
            id,
            payload,
            reply,
            streaming,
            trace_id,
        });
    }
    shared.work.notify_waiters();
    shared.work.notify_one();
    let outcome = outcome.await;
    if streaming {
        if let Ok(outcome) = outcome {
            return event_stream(outcome);
        }
    }
    match outcome {
        Ok(Outcome::Stream(_)) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "a streamed response for a buffered invocation".to_owned(),
        ),
        Ok(Outcome::Response(payload)) => {
            let mut response = Response::new(full(payload));
            response.headers_mut().insert(
                "x-amz-executed-version",
                HeaderValue::from_static("$LATEST"),
            );
            response
        }
        Ok(Outcome::Error {
            error_type,
            message,
        }) => {
            let mut response = json_response(
                StatusCode::OK,
                serde_json::json!({"errorType": error_type, "errorMessage": message}),
            );
            response.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            response
        }
        Err(_) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "the embedded Lambda service stopped".to_owned(),
        ),
    }
}

/// The `InvokeWithResponseStream` answer: `200`, an event stream of `PayloadChunk` events as the
/// function writes, then `InvokeComplete` (with the error, if the function failed).
fn event_stream(outcome: Outcome) -> Response<LocalBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        match outcome {
            Outcome::Response(payload) => {
                let _ = tx.send(payload_chunk(&payload)).await;
                let _ = tx.send(invoke_complete(None)).await;
            }
            Outcome::Error {
                error_type,
                message,
            } => {
                let _ = tx
                    .send(invoke_complete(Some((&error_type, &message))))
                    .await;
            }
            Outcome::Stream(mut chunks) => {
                let mut error = None;
                while let Some(item) = chunks.recv().await {
                    match item {
                        Ok(chunk) => {
                            if tx.send(payload_chunk(&chunk)).await.is_err() {
                                return;
                            }
                        }
                        Err(failed) => {
                            error = Some(failed);
                            break;
                        }
                    }
                }
                let error = error
                    .as_ref()
                    .map(|(error_type, message)| (error_type.as_str(), message.as_str()));
                let _ = tx.send(invoke_complete(error)).await;
            }
        }
    });
    let mut response = Response::new(ChannelFrames(rx).boxed());
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    headers.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    response
}

/// A channel's chunks as body frames.
struct ChannelFrames(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelFrames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(http_body::Frame::data(chunk))))
    }
}

/// A `PayloadChunk` event carrying `payload`.
fn payload_chunk(payload: &[u8]) -> Bytes {
    eventstream::encode(
        &[
            (":event-type", "PayloadChunk"),
            (":content-type", "application/octet-stream"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// The `InvokeComplete` event, with the function's error (type, message) if it failed: its type
/// is the `ErrorCode`, and `ErrorDetails` the error document `{"errorType", "errorMessage"}`.
fn invoke_complete(error: Option<(&str, &str)>) -> Bytes {
    let json = match error {
        Some((error_type, message)) => {
            let details =
                serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string();
            serde_json::json!({"ErrorCode": error_type, "ErrorDetails": details, "LogResult": ""})
        }
        None => serde_json::json!({"LogResult": ""}),
    };
    eventstream::encode(
        &[
            (":event-type", "InvokeComplete"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json.to_string().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_are_percent_decoded() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aprod"),
            "arn:aws:lambda:us-east-1:1:function:prod"
        );
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }

    #[test]
    fn function_names_come_from_names_and_arns() {
        for (text, name) in [
            ("prod", "prod"),
            ("prod:live", "prod"),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:prod",
                "prod",
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:prod:7",
                "prod",
            ),
            ("123456789012:function:prod", "prod"),
            ("123456789012:function:prod:live", "prod"),
        ] {
            assert_eq!(function_name(text), name, "{text}");
        }
    }
}
