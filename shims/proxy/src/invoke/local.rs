//! The embedded Lambda service: runs a function process and serves it the Lambda Runtime API,
//! and serves the proxy the Invoke API, both on loopback.
//!
//! ```text
//!  proxy ──Invoke API (POST /2015-03-31/functions/NAME/invocations)──▶ LocalLambda
//!                                                                       │ queue
//!  function process ◀──GET  /2018-06-01/runtime/invocation/next────────┤ (one port per process)
//!                   ──POST /2018-06-01/runtime/invocation/ID/response─▶│ buffered or streaming
//!                   ──POST /2018-06-01/runtime/invocation/ID/error────▶│
//!                   ──POST /2018-06-01/runtime/init/error─────────────▶│
//! ```
//!
//! It behaves as Lambda does where the proxy's error handling depends on it: a function name
//! other than its own is `404 ResourceNotFoundException`; an event over 6 MB is
//! `413 RequestTooLargeException`; with every process busy and the queue full, `429
//! TooManyRequestsException`; a function error, a crash (`Runtime.ExitError`), a timeout
//! (`Sandbox.Timedout`, the process is killed and restarted) and a response over 6 MB
//! (`Function.ResponseSizeTooLarge`) are `200` with `X-Amz-Function-Error`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::eventstream;
use super::lambda::FunctionRef;
use crate::config::LocalConfig;
use crate::error::{LAMBDA_REQUEST_LIMIT, LAMBDA_RESPONSE_LIMIT};

/// The most bytes passed on from a function's streamed response: "The maximum response
/// payload size for response streaming is 200 MB." (A streamed response to a buffered `Invoke`
/// is held to the 6 MB payload limit.)
const MAX_STREAMED_RESPONSE: usize = 200 * 1024 * 1024;

/// A response body of the embedded service: whole, or an event stream as the function writes.
type LocalBody = BoxBody<Bytes, Infallible>;

fn full(bytes: Bytes) -> LocalBody {
    Full::new(bytes).boxed()
}

/// One piece of a streamed response: the function's bytes, or the error that ended it.
type StreamItem = Result<Bytes, (String, String)>;

/// What became of one invocation.
#[derive(Debug)]
enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    /// The function's response, as it writes it (`InvokeWithResponseStream` only).
    Stream(mpsc::Receiver<StreamItem>),
    /// The function failed.
    Error { error_type: String, message: String },
}

struct Pending {
    id: String,
    payload: Bytes,
    reply: oneshot::Sender<Outcome>,
    streaming: bool,
}

struct InFlight {
    reply: oneshot::Sender<Outcome>,
    instance: usize,
    /// Invoked with `InvokeWithResponseStream`: the response is passed on as it arrives.
    streaming: bool,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, InFlight>,
    /// The invocations each process holds: at most its `max_concurrency`, one per Runtime API
    /// long poll it has open.
    current: Vec<Vec<String>>,
    /// Responses being streamed: the process, and where a timeout is reported.
    streams: HashMap<String, (usize, mpsc::Sender<StreamItem>)>,
}

impl State {
    /// Process `instance` no longer holds invocation `id`.
    fn release(&mut self, instance: usize, id: &str) {
        if let Some(held) = self.current.get_mut(instance) {
            held.retain(|held| held != id);
        }
    }
}

struct Shared {
    config: LocalConfig,
    state: Mutex<State>,
    work: Notify,
    kill: Vec<Notify>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-updated in a way that
        // matters more than stopping: keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn complete(&self, id: &str, outcome: Outcome) -> bool {
        let mut state = self.lock();
        let Some(in_flight) = state.in_flight.remove(id) else {
            return false;
        };
        state.release(in_flight.instance, id);
        drop(state);
        let _ = in_flight.reply.send(outcome);
        true
    }

    /// Ends every invocation process `instance` holds with `outcome` (the process is gone).
    fn fail_instance(&self, instance: usize, outcome: impl Fn() -> Outcome) {
        let ids = self
            .lock()
            .current
            .get(instance)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            self.complete(&id, outcome());
        }
    }
}

/// A running embedded Lambda service.
pub struct LocalLambda {
    invoke_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl LocalLambda {
    /// Binds the Invoke API and one Runtime API port per process on 127.0.0.1, and starts the
    /// function processes.
    ///
    /// # Errors
    ///
    /// A message naming the port that could not be bound.
    pub async fn start(config: LocalConfig) -> Result<LocalLambda, String> {
        let invoke = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|err| {
                format!(
                    "embedded Lambda service on 127.0.0.1:{}: {err}",
                    config.port
                )
            })?;
        let invoke_addr = invoke.local_addr().map_err(|err| err.to_string())?;
        let concurrency = config.concurrency.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: vec![Vec::new(); concurrency],
                ..State::default()
            }),
            work: Notify::new(),
            kill: (0..concurrency).map(|_| Notify::new()).collect(),
            config,
        });
        let (stop, stopped) = watch::channel(false);
        let invoke_shared = shared.clone();
        serve(invoke, stopped.clone(), move |request| {
            invoke_api(invoke_shared.clone(), request)
        });
        for instance in 0..concurrency {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|err| format!("Runtime API port: {err}"))?;
            let runtime_addr = listener.local_addr().map_err(|err| err.to_string())?;
            let runtime_shared = shared.clone();
            serve(listener, stopped.clone(), move |request| {
                runtime_api(runtime_shared.clone(), instance, request)
            });
            tokio::spawn(supervise(
                shared.clone(),
                instance,
                runtime_addr,
                stopped.clone(),
            ));
        }
        Ok(LocalLambda {
            invoke_addr,
            shared,
            stop,
        })
    }

    /// The Invoke API endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.invoke_addr)
    }

    /// The function's name.
    pub fn function(&self) -> &str {
        &self.shared.config.function
    }

    /// Stops the processes and the servers.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves HTTP/1.1 on `listener` until `stopped`.
fn serve<F, Fut>(listener: TcpListener, mut stopped: watch::Receiver<bool>, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<LocalBody>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            let stream = QuickAck(stream);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// A connection that acknowledges what it reads at once.
///
/// The function's Runtime API client (lambda_runtime's hyper client) leaves Nagle's algorithm
/// on, and lambda_runtime writes a streamed response's prelude, its NUL separator and each chunk
/// as separate writes: the second small write waits for the first one's ACK, which a receiver
/// with nothing to answer yet delays by ~40 ms. Re-arming `TCP_QUICKACK` after each read sends
/// that ACK straight away, so streamed chunks arrive as they are written. Public for any other
/// loopback Runtime API (the benches' harness uses it).
#[derive(Debug)]
pub struct QuickAck(pub tokio::net::TcpStream);

impl QuickAck {
    fn ack_now(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}

impl tokio::io::AsyncRead for QuickAck {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.ack_now();
        }
        poll
    }
}

impl tokio::io::AsyncWrite for QuickAck {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<LocalBody> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn api_error(status: StatusCode, error_type: &'static str, message: String) -> Response<LocalBody> {
    let mut response = json_response(
        status,
        serde_json::json!({"Type": "User", "message": message}),
    );
    response.headers_mut().insert(
        "x-amzn-errortype",
        http::HeaderValue::from_static(error_type),
    );
    response
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

/// Percent-decoding for the function name in the Invoke path (an ARN's `:` arrives as `%3A`):
/// the same `%XX` rule as `grpc-message`, so core's decoder.
fn percent_decode(text: &str) -> String {
    grpc_lambda_core::status::percent_decode_message(text.as_bytes()).into_owned()
}

async fn invoke_api(shared: Arc<Shared>, request: Request<Incoming>) -> Response<LocalBody> {
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
    let function = FunctionRef::parse(&percent_decode(name));
    if function.name() != shared.config.function {
        return api_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {}", function_arn(function.name())),
        );
    }
    let payload = match Limited::new(request.into_body(), LAMBDA_REQUEST_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                format!(
                    "Request must be smaller than {LAMBDA_REQUEST_LIMIT} bytes for the InvokeFunction operation"
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
                http::HeaderValue::from_static("TooManyRequestsException"),
            );
            return response;
        }
        state.queue.push_back(Pending {
            id,
            payload,
            reply,
            streaming,
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
                http::HeaderValue::from_static("$LATEST"),
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
                http::HeaderValue::from_static("Unhandled"),
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
                let _ = tx.send(eventstream::payload_chunk(&payload)).await;
                let _ = tx.send(eventstream::invoke_complete(None)).await;
            }
            Outcome::Error {
                error_type,
                message,
            } => {
                let details = serde_json::json!({"errorType": error_type, "errorMessage": message})
                    .to_string();
                let _ = tx
                    .send(eventstream::invoke_complete(Some((&error_type, &details))))
                    .await;
            }
            Outcome::Stream(mut chunks) => {
                let mut error = None;
                while let Some(item) = chunks.recv().await {
                    match item {
                        Ok(chunk) => {
                            if tx.send(eventstream::payload_chunk(&chunk)).await.is_err() {
                                return;
                            }
                        }
                        Err(failed) => {
                            error = Some(failed);
                            break;
                        }
                    }
                }
                let complete = match &error {
                    Some((error_type, message)) => {
                        let details =
                            serde_json::json!({"errorType": error_type, "errorMessage": message})
                                .to_string();
                        eventstream::invoke_complete(Some((error_type, &details)))
                    }
                    None => eventstream::invoke_complete(None),
                };
                let _ = tx.send(complete).await;
            }
        }
    });
    let mut response = Response::new(ChannelFrames(rx).boxed());
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    headers.insert(
        "x-amz-executed-version",
        http::HeaderValue::from_static("$LATEST"),
    );
    response
}

/// A channel's chunks as body frames.
struct ChannelFrames(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelFrames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(http_body::Frame::data(chunk))))
    }
}

async fn runtime_api(
    shared: Arc<Shared>,
    instance: usize,
    request: Request<Incoming>,
) -> Response<LocalBody> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return json_response(
            StatusCode::NOT_FOUND,
            serde_json::json!({"errorType": "NotFound", "errorMessage": format!("no Runtime API resource at {path}")}),
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
                return json_response(
                    StatusCode::NOT_FOUND,
                    serde_json::json!({"errorType": "NotFound", "errorMessage": format!("no Runtime API resource at {path}")}),
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
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {id} in flight")}),
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
                    return json_response(
                        StatusCode::NOT_FOUND,
                        serde_json::json!({"errorType": "NotFound", "errorMessage": format!("no Runtime API resource at {path}")}),
                    )
                }
            };
            let too_large = matches!(&outcome, Outcome::Error { error_type, .. } if error_type == "Function.ResponseSizeTooLarge");
            if !shared.complete(&id, outcome) {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {id} in flight")}),
                );
            }
            if too_large {
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    serde_json::json!({"errorType": "RequestEntityTooLarge", "errorMessage": "response over the payload limit"}),
                );
            }
            accepted()
        }
        _ => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"errorType": "MethodNotAllowed", "errorMessage": format!("{} {path}", request.method())}),
        ),
    }
}

fn accepted() -> Response<LocalBody> {
    json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

async fn next_invocation(shared: Arc<Shared>, instance: usize) -> Response<LocalBody> {
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
                } = pending;
                state.in_flight.insert(
                    id.clone(),
                    InFlight {
                        reply,
                        instance,
                        streaming,
                    },
                );
                (id, payload)
            })
        };
        let Some((id, payload)) = pending else {
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
            if let Ok(value) = http::HeaderValue::try_from(value) {
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
        set(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".to_owned(),
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
    let body = Limited::new(request.into_body(), 1024 * 1024)
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
    let limit = LAMBDA_RESPONSE_LIMIT;
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
    if let Some(trailers) = trailers {
        if let Some(error_type) = trailers.get("lambda-runtime-function-error-type") {
            let message = trailers
                .get("lambda-runtime-function-error-body")
                .and_then(|v| grpc_lambda_core::base64::decode(v.as_bytes()).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            return Outcome::Error {
                error_type: String::from_utf8_lossy(error_type.as_bytes()).into_owned(),
                message,
            };
        }
    }
    if total > LAMBDA_RESPONSE_LIMIT {
        return Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".to_owned(),
            message: format!(
                "Response payload size ({total} bytes) exceeded maximum allowed payload size ({LAMBDA_RESPONSE_LIMIT} bytes)."
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
                if total > MAX_STREAMED_RESPONSE && open {
                    let _ = tx
                        .send(Err((
                            "Function.ResponseSizeTooLarge".to_owned(),
                            format!("the streamed response is over {MAX_STREAMED_RESPONSE} bytes"),
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
                if let Some(error_type) = trailers.get("lambda-runtime-function-error-type") {
                    let message = trailers
                        .get("lambda-runtime-function-error-body")
                        .and_then(|v| grpc_lambda_core::base64::decode(v.as_bytes()).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let error_type = String::from_utf8_lossy(error_type.as_bytes()).into_owned();
                    let _ = tx.send(Err((error_type, message))).await;
                    return;
                }
            }
        }
    }
}

/// Runs process `instance`, restarting it when it exits or is killed.
async fn supervise(
    shared: Arc<Shared>,
    instance: usize,
    runtime_addr: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) {
    let config = &shared.config;
    loop {
        if *stopped.borrow() {
            return;
        }
        let started = Instant::now();
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(&config.command)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &config.function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", config.function),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{instance}"))
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            // Lambda Managed Instances: invocations one process takes at once (a runtime that
            // honours it opens that many long polls on `next`).
            .env(
                "AWS_LAMBDA_MAX_CONCURRENCY",
                config.max_concurrency.max(1).to_string(),
            )
            .env("_HANDLER", "bootstrap")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if std::env::var_os("AWS_REGION").is_none() {
            command.env("AWS_REGION", "us-east-1");
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                eprintln!(
                    "{}",
                    serde_json::json!({"msg": "local function did not start", "command": config.command, "error": err.to_string()})
                );
                shared.fail_instance(instance, || Outcome::Error {
                    error_type: "Runtime.InvalidEntrypoint".to_owned(),
                    message: err.to_string(),
                });
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let kill = match shared.kill.get(instance) {
            Some(kill) => kill,
            None => return,
        };
        let status = tokio::select! {
            status = child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            _ = kill.notified() => {
                let _ = child.kill().await;
                "killed after the function timeout".to_owned()
            }
            _ = stopped.changed() => {
                let _ = child.kill().await;
                return;
            }
        };
        shared.fail_instance(instance, || Outcome::Error {
            error_type: "Runtime.ExitError".to_owned(),
            message: format!("RequestId: the function process exited: {status}"),
        });
        // A process that dies at once would otherwise restart in a tight loop.
        if started.elapsed() < Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A request id as Lambda gives them (a UUID, version 4) from the operating system's random
/// source: the Runtime API answers to whoever names an id, so an id must not be guessable.
///
/// # Errors
///
/// When the operating system gives no random bytes.
fn request_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut value = u128::from_be_bytes(bytes);
    // RFC 9562: version 4 in bits 48..52, variant 0b10 in bits 64..66.
    value = (value & !(0xf << 76)) | (0x4 << 76);
    value = (value & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{value:032x}");
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_random_version_4_uuids() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| request_id().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
    }

    use super::*;

    #[test]
    fn invoke_paths_are_percent_decoded() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aprod"),
            "arn:aws:lambda:us-east-1:1:function:prod"
        );
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}
