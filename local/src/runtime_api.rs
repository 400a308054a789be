//! The Runtime API a function process polls and answers: `next`, `response` (buffered, or
//! streamed to an `InvokeWithResponseStream` caller as it arrives), `error`, `init/error`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::sync::mpsc;

use crate::config::{RESPONSE_PAYLOAD_LIMIT, STREAMED_RESPONSE_LIMIT};
use crate::reply::{accepted, full, function_arn, runtime_error, LocalBody};
use crate::state::{InFlight, Outcome, Pending, Shared, StreamItem};

/// The trace id of an invocation whose caller sent none: a well-formed, unsampled X-Ray header.
const UNTRACED: &str = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0";

/// The largest error document read from a function.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Answers one Runtime API request from process `instance`.
pub(crate) async fn runtime_api(
    shared: Arc<Shared>,
    instance: usize,
    request: Request<Incoming>,
) -> Response<LocalBody> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return runtime_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no Runtime API resource at {path}"),
        );
    };
    match (request.method(), rest) {
        (&Method::GET, "invocation/next") => next_invocation(shared, instance).await,
        (&Method::POST, "init/error") => {
            let (error_type, message) = read_error(request).await;
            let pending: Vec<Pending> = shared.lock().queue.drain(..).collect();
            for pending in pending {
                let _ = pending.reply.send(Outcome::Error {
                    error_type: error_type.clone(),
                    message: format!("init error: {message}"),
                });
            }
            accepted()
        }
        (&Method::POST, rest) => {
            let Some((id, kind)) = rest
                .strip_prefix("invocation/")
                .and_then(|r| r.split_once('/'))
            else {
                return runtime_error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("no Runtime API resource at {path}"),
                );
            };
            let id = id.to_owned();
            let streaming = shared
                .lock()
                .in_flight
                .get(&id)
                .is_some_and(|in_flight| in_flight.streaming);
            if kind == "response" && streaming {
                let (tx, rx) = mpsc::channel(64);
                let in_flight = {
                    let mut state = shared.lock();
                    let in_flight = state.in_flight.remove(&id);
                    if let Some(in_flight) = &in_flight {
                        // The process stays busy until the stream ends (or times out).
                        state
                            .streams
                            .insert(id.clone(), (in_flight.instance, tx.clone()));
                    }
                    in_flight
                };
                let Some(in_flight) = in_flight else {
                    return runtime_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequestID",
                        format!("no invocation {id} in flight"),
                    );
                };
                let _ = in_flight.reply.send(Outcome::Stream(rx));
                pass_on(request, tx).await;
                let mut state = shared.lock();
                state.streams.remove(&id);
                state.release(in_flight.instance, &id);
                return accepted();
            }
            let outcome = match kind {
                "response" => read_response(request).await,
                "error" => {
                    let (error_type, message) = read_error(request).await;
                    Outcome::Error {
                        error_type,
                        message,
                    }
                }
                _ => {
                    return runtime_error(
                        StatusCode::NOT_FOUND,
                        "NotFound",
                        format!("no Runtime API resource at {path}"),
                    )
                }
            };
            let too_large = matches!(&outcome, Outcome::Error { error_type, .. } if error_type == "Function.ResponseSizeTooLarge");
            if !shared.complete(&id, outcome) {
                return runtime_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    format!("no invocation {id} in flight"),
                );
            }
            if too_large {
                return runtime_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "response over the payload limit".to_owned(),
                );
            }
            accepted()
        }
        _ => runtime_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{} {path}", request.method()),
        ),
    }
}

/// The long poll: the next queued invocation for process `instance`, once there is one.
async fn next_invocation(shared: Arc<Shared>, instance: usize) -> Response<LocalBody> {
    if let Some(start) = shared.lock().starts.get_mut(instance) {
        start.first_poll.get_or_insert_with(std::time::Instant::now);
    }
    loop {
        let notified = shared.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let pending = {
            let mut state = shared.lock();
            let mut found = None;
            while let Some(pending) = state.queue.pop_front() {
                // The caller gave up while the call was queued: do not run it.
                if !pending.reply.is_closed() {
                    found = Some(pending);
                    break;
                }
            }
            if let Some(pending) = &found {
                if let Some(held) = state.current.get_mut(instance) {
                    held.push(pending.id.clone());
                }
            }
            found.map(|pending| {
                let Pending {
                    id,
                    payload,
                    reply,
                    streaming,
                    trace_id,
                } = pending;
                state.in_flight.insert(
                    id.clone(),
                    InFlight {
                        reply,
                        instance,
                        streaming,
                    },
                );
                (id, payload, trace_id)
            })
        };
        let Some((id, payload, trace_id)) = pending else {
            notified.await;
            continue;
        };
        let timeout = shared.config.timeout;
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let timer_shared = shared.clone();
        let timer_id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let message = format!(
                "RequestId: {timer_id} Error: Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            );
            let timed_out = timer_shared.complete(
                &timer_id,
                Outcome::Error {
                    error_type: "Sandbox.Timedout".to_owned(),
                    message: message.clone(),
                },
            );
            // A response still streaming at the timeout ends with the timeout, as in Lambda.
            let stream = timer_shared.lock().streams.remove(&timer_id);
            let timed_out = timed_out || stream.is_some();
            if let Some((_, tx)) = stream {
                let _ = tx.send(Err(("Sandbox.Timedout".to_owned(), message))).await;
            }
            if timed_out {
                if let Some(kill) = timer_shared.kill.get(instance) {
                    kill.notify_one();
                }
            }
        });
        let mut response = Response::new(full(payload));
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        };
        set("content-type", "application/json".to_owned());
        set("lambda-runtime-aws-request-id", id);
        set("lambda-runtime-deadline-ms", deadline_ms.to_string());
        set(
            "lambda-runtime-invoked-function-arn",
            function_arn(&shared.config.function),
        );
        headers.insert(
            "lambda-runtime-trace-id",
            trace_id.unwrap_or_else(|| HeaderValue::from_static(UNTRACED)),
        );
        return response;
    }
}

#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default, rename = "errorMessage")]
    error_message: Option<String>,
}

async fn read_error(request: Request<Incoming>) -> (String, String) {
    let header_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(request.into_body(), MAX_ERROR_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let error_type = parsed
        .error_type
        .or(header_type)
        .unwrap_or_else(|| "Unhandled".to_owned());
    let message = parsed
        .error_message
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    (error_type, message)
}

async fn read_response(request: Request<Incoming>) -> Outcome {
    // A buffered invocation's answer, streamed by the function or not, is held to the payload
    // limit: past it the answer is an error, and nothing more is kept.
    let limit = RESPONSE_PAYLOAD_LIMIT;
    let mut body = request.into_body();
    let mut payload = bytes::BytesMut::new();
    let mut trailers = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                return Outcome::Error {
                    error_type: "Runtime.TruncatedResponse".to_owned(),
                    message: format!("the function's response was cut: {err}"),
                }
            }
        };
        match frame.into_data() {
            Ok(data) => {
                total = total.saturating_add(data.len());
                if total <= limit {
                    payload.extend_from_slice(&data);
                }
            }
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    if let Some((error_type, message)) = trailers.as_ref().and_then(trailer_error) {
        return Outcome::Error {
            error_type,
            message,
        };
    }
    if total > RESPONSE_PAYLOAD_LIMIT {
        return Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".to_owned(),
            message: format!(
                "Response payload size ({total} bytes) exceeded maximum allowed payload size ({RESPONSE_PAYLOAD_LIMIT} bytes)."
            ),
        };
    }
    Outcome::Response(payload.freeze())
}

/// Passes a function's response on as it arrives, for an `InvokeWithResponseStream`
/// invocation: each chunk the function writes, then its error trailers, if any.
async fn pass_on(request: Request<Incoming>, tx: mpsc::Sender<StreamItem>) {
    let mut body = request.into_body();
    let mut total = 0usize;
    let mut open = true;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                let _ = tx
                    .send(Err((
                        "Runtime.TruncatedResponse".to_owned(),
                        format!("the function's response was cut: {err}"),
                    )))
                    .await;
                return;
            }
        };
        match frame.into_data() {
            Ok(data) => {
                total = total.saturating_add(data.len());
                if total > STREAMED_RESPONSE_LIMIT && open {
                    let _ = tx
                        .send(Err((
                            "Function.ResponseSizeTooLarge".to_owned(),
                            format!(
                                "the streamed response is over {STREAMED_RESPONSE_LIMIT} bytes"
                            ),
                        )))
                        .await;
                    open = false;
                }
                // A caller that went away: the rest is read and dropped, so the function's
                // write completes.
                if open && tx.send(Ok(data)).await.is_err() {
                    open = false;
                }
            }
            Err(frame) => {
                let Ok(trailers) = frame.into_trailers() else {
                    continue;
                };
                if let Some(error) = trailer_error(&trailers) {
                    let _ = tx.send(Err(error)).await;
                    return;
                }
            }
        }
    }
}

/// The error a function reported in its streamed response's trailers, as lambda_runtime writes
/// them: `Lambda-Runtime-Function-Error-Type`, and the base64 error document in
/// `Lambda-Runtime-Function-Error-Body`.
fn trailer_error(trailers: &http::HeaderMap) -> Option<(String, String)> {
    let error_type = trailers.get("lambda-runtime-function-error-type")?;
    let message = trailers
        .get("lambda-runtime-function-error-body")
        .and_then(|v| grpc_lambda_core::base64::decode(v.as_bytes()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Some((
        String::from_utf8_lossy(error_type.as_bytes()).into_owned(),
        message,
    ))
}
