//! P5 through a Lambda Runtime API: one whole invocation of the example service (`api.Prod/Alive`,
//! gRPC-Web) at 1 KiB and 1 MiB messages, ours against the `lambda-grpc-web` crate, each running
//! under `lambda_runtime` as in Lambda and fed the same event bytes.
//!
//! ```text
//!  bench thread: invoke(event) ─▶ RuntimeApi (loopback hyper server, run by the bench thread)
//!                                   │ GET  /2018-06-01/runtime/invocation/next ◀── function
//!                                   │ POST /2018-06-01/runtime/invocation/ID/response  (its own
//!                                   │      (buffered, or streamed: prelude, 8 NULs, body)  thread)
//!                                   │ POST /2018-06-01/runtime/invocation/ID/error
//!  bench thread ◀─ whole response ──┘
//! ```
//!
//! `lambda-grpc-web` keeps its service stack private and only runs under `lambda_runtime`
//! (`serve_apigw_http`, with `lambda_http::run_with_streaming_response`), so it can only be timed
//! through a Runtime API. Each function gets its own [`RuntimeApi`] on its own port, and its own
//! thread and tokio runtime; one invocation is timed from the event being queued to the whole
//! response having arrived. The floor, a function answering a fixed small streamed response
//! without looking at the event, is what the Runtime API round trip alone costs.
//!
//! Every function runs on a current-thread tokio runtime (both crates' examples use
//! `#[tokio::main]`, a multi-threaded one; each side gets the same here), and every thread of the
//! comparison, the caller's included, stays on one CPU (see [`affinity`]).
//!
//! The event is the HTTP API event of [`crate::lambda::event`] as a Lambda Function URL sends it
//! (`domainName` under `.lambda-url.`): the deployment `lambda-grpc-web`'s streamed answer is
//! made for (invoke mode `RESPONSE_STREAM`), and the one where ours streams too, so both sides
//! answer in the same streamed form.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use grpc_lambda::lambda_runtime::{self, LambdaEvent, MetadataPrelude, StreamResponse};
use grpc_lambda::Shim;
use grpc_lambda_core::{base64, FrameEncoder};
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::ProdService;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

use crate::lambda::{expected_reply, SIZES};
use crate::{compare, consume, Line, Op, Settings};

/// How long an invocation may take before the harness gives up on the function.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a function may take to ask for its first invocation.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The floor's answer: a gRPC-Web trailer frame saying OK, and nothing else.
const FLOOR_BODY: &[u8] = b"\x80\x00\x00\x00\x0fgrpc-status:0\r\n";

/// The header lambda_runtime writes before a streamed response's body
/// ("Lambda-Runtime-Function-Response-Mode: streaming").
const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";

/// How a streamed HTTP-integration response separates its JSON prelude from the body.
const PRELUDE_END: [u8; 8] = [0; 8];

/// The function's ARN, as `Lambda-Runtime-Invoked-Function-Arn` names it.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:grpc-lambda-prod";

/// The X-Ray trace header, as `Lambda-Runtime-Trace-Id` carries it.
const TRACE_ID: &str = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";

/// `crate::lambda::event(len)` as a Lambda Function URL sends it: the same HTTP API (payload 2.0)
/// event, with the Function URL's domain in `requestContext.domainName` and `host`.
pub fn event(len: usize) -> Bytes {
    let mut event: serde_json::Value =
        serde_json::from_slice(&crate::lambda::event(len)).expect("an HTTP API event");
    let domain = serde_json::Value::from("abcdef1234.lambda-url.us-east-1.on.aws");
    event["requestContext"]["domainName"] = domain.clone();
    event["headers"]["host"] = domain;
    serde_json::to_vec(&event).expect("JSON").into()
}

/// What a function answered an invocation with.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The response came with `Lambda-Runtime-Function-Response-Mode: streaming`.
    pub streamed: bool,
    /// The whole response payload: the response JSON, or for a streamed HTTP-integration
    /// response the JSON prelude, 8 NUL bytes and the body.
    pub payload: Bytes,
}

impl Answer {
    /// The HTTP status and body the caller would see, whichever form the function answered in.
    ///
    /// # Errors
    ///
    /// A message when the payload is not a response of either form.
    pub fn http(&self) -> Result<(u16, Vec<u8>), String> {
        if self.streamed {
            let end = self
                .payload
                .windows(PRELUDE_END.len())
                .position(|window| window == PRELUDE_END)
                .ok_or("a streamed response without its prelude")?;
            let prelude: serde_json::Value = serde_json::from_slice(&self.payload[..end])
                .map_err(|err| format!("the prelude: {err}"))?;
            let status = prelude["statusCode"].as_u64().unwrap_or(200);
            let body = self.payload[end + PRELUDE_END.len()..].to_vec();
            return Ok((u16::try_from(status).unwrap_or(0), body));
        }
        let response: serde_json::Value = serde_json::from_slice(&self.payload)
            .map_err(|err| format!("the response JSON: {err}"))?;
        let status = response["statusCode"].as_u64().unwrap_or(0);
        let text = response["body"].as_str().unwrap_or_default();
        let body = if response["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::decode(text.as_bytes())
                .map_err(|err| format!("the base64 body: {err}"))?
                .to_vec()
        } else {
            text.as_bytes().to_vec()
        };
        Ok((u16::try_from(status).unwrap_or(0), body))
    }
}

/// An invocation that ended without an answer.
#[derive(Clone, Debug)]
pub struct Failure {
    /// `errorType`, as the function reported it, or the harness's own.
    pub error_type: String,
    /// `errorMessage`.
    pub message: String,
}

type Outcome = Result<Answer, Failure>;

struct Pending {
    id: String,
    event: Bytes,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, oneshot::Sender<Outcome>>,
    /// What the function reported to `init/error`, if it did.
    init_error: Option<Failure>,
    /// Why the function's `lambda_runtime::run` returned, if it did.
    stopped: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    work: Notify,
    next_id: AtomicU64,
    /// `GET invocation/next` requests so far: the function is up once there is one.
    polls: AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn complete(&self, id: &str, outcome: Outcome) -> bool {
        let Some(reply) = self.lock().in_flight.remove(id) else {
            return false;
        };
        let _ = reply.send(outcome);
        true
    }

    /// Why the function cannot answer, if it is known.
    fn failure(&self) -> Option<Failure> {
        let state = self.lock();
        state.init_error.clone().or_else(|| {
            state.stopped.as_ref().map(|err| Failure {
                error_type: "Harness.FunctionStopped".to_owned(),
                message: err.clone(),
            })
        })
    }
}

/// A Lambda Runtime API on loopback, serving one function.
///
/// It runs on the caller's thread, in a tokio runtime of its own, while the caller waits for an
/// invocation: an invocation crosses two threads (the caller's and the function's), not three.
/// Between invocations the function's `GET invocation/next` waits in the socket.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Runtime,
}

impl RuntimeApi {
    /// Binds 127.0.0.1 on a free port for the Runtime API.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub fn start() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            runtime,
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// One invocation: queues `event`, serves the Runtime API until the function has taken it
    /// and answered.
    ///
    /// # Errors
    ///
    /// The function's error, or `Harness.Timeout` when it does not answer in 30 s.
    pub fn invoke(&self, event: &Bytes) -> Result<Answer, Failure> {
        if let Some(failure) = self.shared.failure() {
            return Err(failure);
        }
        let id = format!(
            "8476a536-e9f4-11e8-9739-{:012x}",
            self.shared.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (reply, answer) = oneshot::channel();
        self.shared.lock().queue.push_back(Pending {
            id,
            event: event.clone(),
            reply,
        });
        self.shared.work.notify_one();
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(INVOCATION_TIMEOUT, answer).await });
        match answer {
            Ok(Ok(outcome)) => outcome,
            _ => Err(self.shared.failure().unwrap_or_else(|| Failure {
                error_type: "Harness.Timeout".to_owned(),
                message: format!("no answer in {INVOCATION_TIMEOUT:?}"),
            })),
        }
    }

    fn wait_for_function(&self) -> Result<(), String> {
        self.runtime.block_on(async {
            let started = Instant::now();
            while self.shared.polls.load(Ordering::Acquire) == 0 {
                if let Some(failure) = self.shared.failure() {
                    return Err(format!("{}: {}", failure.error_type, failure.message));
                }
                if started.elapsed() > START_TIMEOUT {
                    return Err(format!(
                        "the function did not ask for an invocation in {START_TIMEOUT:?}"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        })
    }
}

/// The environment `lambda_runtime` reads when it starts (`Config::from_env`, the Runtime API
/// client). The environment is the process's: functions are started one after the other, each
/// with its own endpoint, under this lock.
static STARTING: Mutex<()> = Mutex::new(());

/// A Lambda function running in its own thread and tokio runtime against its own [`RuntimeApi`].
/// Dropping it closes the Runtime API, which ends the function's thread.
pub struct Function {
    api: RuntimeApi,
}

impl Function {
    /// Starts the Runtime API, then the function (`run` builds the future that serves it, as a
    /// `main` would), and waits for the function's first `GET invocation/next`.
    ///
    /// # Errors
    ///
    /// A message when the function does not start.
    pub fn start<F, Fut>(name: &str, cpu: Option<usize>, run: F) -> Result<Self, String>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), lambda_runtime::Error>>,
    {
        let api = RuntimeApi::start().map_err(|err| format!("the Runtime API: {err}"))?;
        let _starting = STARTING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let environment = [
            ("AWS_LAMBDA_RUNTIME_API", api.endpoint()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", format!("bench/{name}")),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ];
        let before: Vec<_> = environment
            .iter()
            .map(|(key, _)| (*key, std::env::var_os(key)))
            .collect();
        for (key, value) in &environment {
            std::env::set_var(key, value);
        }
        let shared = Arc::clone(&api.shared);
        let spawned = std::thread::Builder::new()
            .name(format!("function {name}"))
            .spawn(move || {
                let _pinned = affinity::Pinned::current_thread(cpu);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                let stopped = match runtime.block_on(run()) {
                    Ok(()) => "lambda_runtime::run returned".to_owned(),
                    Err(err) => err.to_string(),
                };
                shared.lock().stopped = Some(stopped);
            });
        let started = spawned
            .map_err(|err| format!("the function's thread: {err}"))
            .and_then(|_| api.wait_for_function());
        // lambda_runtime has read its environment once it asks for an invocation: put back what
        // was there, so that nothing started later (P6's function processes) inherits it.
        for (key, value) in before {
            match value {
                Some(value) => std::env::set_var(key, value),
                None => std::env::remove_var(key),
            }
        }
        started.map_err(|err| format!("function {name}: {err}"))?;
        Ok(Self { api })
    }

    /// One invocation; see [`RuntimeApi::invoke`].
    ///
    /// # Errors
    ///
    /// The function's error.
    pub fn invoke(&self, event: &Bytes) -> Result<Answer, Failure> {
        self.api.invoke(event)
    }
}

/// Ours: the example function as its `main` serves it (tonic's server as a `tower::Service`),
/// with response streaming.
pub fn ours(cpu: Option<usize>) -> Result<Function, String> {
    Function::start("grpc-lambda-prod", cpu, || {
        Shim::new(ProdServer::new(ProdService))
            .response_streaming(true)
            .run()
    })
}

/// The anchor: `lambda-grpc-web` around the same tonic server, as its README runs it.
pub fn lambda_grpc_web(cpu: Option<usize>) -> Result<Function, String> {
    Function::start("lambda-grpc-web-prod", cpu, || {
        lambda_grpc_web::LambdaServer::builder()
            .add_service(ProdServer::new(ProdService))
            .serve_apigw_http()
    })
}

/// One chunk, once.
struct Once(Option<Bytes>);

impl futures_core::Stream for Once {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

/// The floor: a function that skips over the event and streams [`FLOOR_BODY`] back, the least a
/// function does per invocation.
pub fn floor(cpu: Option<usize>) -> Result<Function, String> {
    Function::start("floor", cpu, || {
        lambda_runtime::run(lambda_runtime::service_fn(
            |_: LambdaEvent<serde::de::IgnoredAny>| async {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/grpc-web+proto"),
                );
                Ok::<_, lambda_runtime::Error>(StreamResponse {
                    metadata_prelude: MetadataPrelude {
                        status_code: StatusCode::OK,
                        headers,
                        cookies: Vec::new(),
                    },
                    stream: Once(Some(Bytes::from_static(FLOOR_BODY))),
                })
            },
        ))
    })
}

/// The three functions of the comparison.
pub struct Functions {
    /// [`ours`].
    pub ours: Function,
    /// [`lambda_grpc_web`].
    pub anchor: Function,
    /// [`floor`].
    pub floor: Function,
    /// Where the caller runs the Runtime APIs, see [`Functions::pin_caller`].
    caller_cpu: Option<usize>,
}

impl Functions {
    /// Starts them, one after the other, each in a thread kept on one CPU (the same for all,
    /// see [`affinity`]).
    ///
    /// # Panics
    ///
    /// When one does not start.
    pub fn start() -> Self {
        let cpu = affinity::first();
        let started = (|| {
            Ok::<_, String>(Self {
                ours: ours(cpu)?,
                anchor: lambda_grpc_web(cpu)?,
                floor: floor(cpu)?,
                caller_cpu: cpu,
            })
        })();
        started.unwrap_or_else(|err| panic!("{err}"))
    }

    /// Keeps the calling thread, which runs the Runtime APIs while it invokes, on its CPU until
    /// the guard is dropped.
    pub fn pin_caller(&self) -> affinity::Pinned {
        affinity::Pinned::current_thread(self.caller_cpu)
    }
}

/// Checks ours and the anchor answer `event(len)` with status 200, the expected message and an
/// OK trailer, in the streamed form, and that the floor answers.
///
/// # Panics
///
/// When one does not.
pub fn check(len: usize, functions: &Functions) {
    let event = event(len);
    let mut expected = BytesMut::new();
    FrameEncoder::with_max_message_len(usize::MAX)
        .encode_prost(&expected_reply(len), &mut expected)
        .expect("a frame");
    for (side, function) in [
        ("ours", &functions.ours),
        ("lambda-grpc-web", &functions.anchor),
    ] {
        let answer = function
            .invoke(&event)
            .unwrap_or_else(|failure| panic!("{side} fails: {failure:?}"));
        assert!(answer.streamed, "{side} streams its answer");
        let (status, body) = answer
            .http()
            .unwrap_or_else(|err| panic!("{side} answers a response: {err}"));
        assert_eq!(status, 200, "{side} answers 200");
        assert!(
            body.starts_with(&expected),
            "{side} answers the expected message"
        );
        let trailer = &body[expected.len()..];
        assert!(
            grpc_status(trailer) == Some("0"),
            "{side} ends with an OK trailer frame, not {:?}",
            String::from_utf8_lossy(trailer)
        );
    }
    let floor = functions.floor.invoke(&event).expect("the floor answers");
    assert_eq!(
        floor.http().expect("a response"),
        (200, FLOOR_BODY.to_vec())
    );
}

/// The `grpc-status` of a gRPC-Web trailer frame (flag 0x80, length, `name: value` lines), when
/// `frame` is exactly one.
fn grpc_status(frame: &[u8]) -> Option<&str> {
    let (&flag, rest) = frame.split_first()?;
    let (len, block) = rest.split_first_chunk::<4>()?;
    if flag != 0x80 || usize::try_from(u32::from_be_bytes(*len)).ok()? != block.len() {
        return None;
    }
    std::str::from_utf8(block)
        .ok()?
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("grpc-status")
                .then(|| value.trim())
        })
}

/// P5 through a Runtime API: ours ÷ `lambda-grpc-web`, with the floor as context.
pub fn report(settings: &Settings) -> Vec<Line> {
    // An invocation crosses two threads and two sockets, and on a busy machine a few calls in a
    // hundred wait milliseconds to be scheduled: samples of at least 20 ms hold enough calls for
    // those to average out (about 4 s in all with `--quick`).
    let settings = Settings {
        sample: settings.sample.max(Duration::from_millis(20)),
        ..*settings
    };
    let functions = Functions::start();
    let _pinned = functions.pin_caller();
    SIZES
        .iter()
        .map(|&len| {
            check(len, &functions);
            let event = event(len);
            let invoke = |function: &Function| {
                consume(function.invoke(&event).expect("an answer"));
            };
            let comparison = compare(
                &settings,
                Op::new("ours", || invoke(&functions.ours)),
                vec![
                    Op::new("lambda-grpc-web", || invoke(&functions.anchor)),
                    Op::context("floor: Runtime API round trip, fixed answer", || {
                        invoke(&functions.floor)
                    }),
                ],
            );
            let size = crate::size_label(len);
            let mut line = Line::from_comparison(
                "P5",
                format!("invocation through a Runtime API, ours ÷ lambda-grpc-web, {size}"),
                0.33,
                event.len(),
                &comparison,
            );
            // What each function adds to the round trip, from the medians: the part of the
            // invocation that is the function's own.
            if let [(_, _, anchor), (_, _, floor)] = comparison.anchors[..] {
                let ours = comparison.ours - floor;
                let anchor = anchor - floor;
                line.details.push(format!(
                    "above the floor: ours {:.1} µs, lambda-grpc-web {:.1} µs, ratio {:.3}",
                    ours / 1e3,
                    anchor / 1e3,
                    ours / anchor
                ));
            }
            line
        })
        .collect()
}

/// Accepts the function's connections until the process ends.
async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(runtime_api(&shared, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(grpc_lambda_local::QuickAck(stream)), service)
                .await;
        });
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.to_string().into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

fn not_found(path: &str) -> Response<Full<Bytes>> {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({"errorType": "NotFound", "errorMessage": format!("no Runtime API resource at {path}")}),
    )
}

async fn runtime_api(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return not_found(&path);
    };
    match (request.method(), rest) {
        (&Method::GET, "invocation/next") => next_invocation(shared).await,
        (&Method::POST, "init/error") => {
            let failure = read_error(request).await;
            let mut state = shared.lock();
            for pending in state.queue.drain(..) {
                let _ = pending.reply.send(Err(failure.clone()));
            }
            state.init_error = Some(failure);
            accepted()
        }
        (&Method::POST, rest) => {
            let Some((id, kind)) = rest
                .strip_prefix("invocation/")
                .and_then(|rest| rest.split_once('/'))
            else {
                return not_found(&path);
            };
            let id = id.to_owned();
            let outcome = match kind {
                "response" => read_response(request).await,
                "error" => Err(read_error(request).await),
                _ => return not_found(&path),
            };
            if shared.complete(&id, outcome) {
                accepted()
            } else {
                json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {id} in flight")}),
                )
            }
        }
        _ => json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"errorType": "MethodNotAllowed", "errorMessage": format!("{} {path}", request.method())}),
        ),
    }
}

/// Waits for an event and hands it over with the headers Lambda sends.
async fn next_invocation(shared: &Shared) -> Response<Full<Bytes>> {
    shared.polls.fetch_add(1, Ordering::Release);
    let Pending { id, event, reply } = loop {
        let notified = shared.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let pending = shared.lock().queue.pop_front();
        match pending {
            Some(pending) => break pending,
            None => notified.await,
        }
    };
    shared.lock().in_flight.insert(id.clone(), reply);
    // 15 minutes from now, Lambda's longest timeout: both sides do their deadline work.
    let deadline_ms = SystemTime::now()
        .checked_add(Duration::from_secs(15 * 60))
        .and_then(|deadline| deadline.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |deadline| deadline.as_millis());
    let mut response = Response::new(Full::new(event));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", FUNCTION_ARN);
    set("lambda-runtime-trace-id", TRACE_ID);
    response
}

/// The whole response, buffered or streamed; a streamed one that ends with lambda_runtime's
/// error trailers (or its error text in place of them) is the error it reports.
async fn read_response(request: Request<Incoming>) -> Outcome {
    let streamed = request
        .headers()
        .get(RESPONSE_MODE)
        .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"streaming"));
    // The response is gathered into one buffer (a copy of each piece, the same for every
    // function).
    let mut body = request.into_body();
    let mut payload = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| Failure {
            error_type: "Runtime.TruncatedResponse".to_owned(),
            message: format!("the function's response was cut: {err}"),
        })?;
        match frame.into_data() {
            Ok(data) => {
                payload.extend_from_slice(&data);
            }
            Err(frame) => {
                let trailers = frame.into_trailers().unwrap_or_default();
                if let Some(error_type) = trailers.get("lambda-runtime-function-error-type") {
                    return Err(Failure {
                        error_type: String::from_utf8_lossy(error_type.as_bytes()).into_owned(),
                        message: String::new(),
                    });
                }
            }
        }
    }
    Ok(Answer {
        streamed,
        payload: payload.freeze(),
    })
}

async fn read_error(request: Request<Incoming>) -> Failure {
    let header_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    Failure {
        error_type: parsed["errorType"]
            .as_str()
            .map(str::to_owned)
            .or(header_type)
            .unwrap_or_else(|| "Unhandled".to_owned()),
        message: parsed["errorMessage"].as_str().map_or_else(
            || String::from_utf8_lossy(&body).into_owned(),
            str::to_owned,
        ),
    }
}

/// Keeping the threads of an invocation on chosen CPUs.
///
/// On a machine shared with other work, where the scheduler puts each function's thread decides
/// its speed for seconds at a time (one function's thread shares a core with a busy neighbour,
/// another's does not), and the ratio swings by 2× from one run to the next. So the functions
/// and the caller running their Runtime APIs all stay on one CPU: whatever else runs there slows
/// all of them alike, and each hand-over is a switch on that CPU rather than a wake-up across
/// CPUs (which, with the functions on one CPU and the caller on another, made every invocation
/// ~250 µs slower and no steadier). One CPU is also what a Lambda function of up to 1,769 MB
/// has.
pub mod affinity {
    /// The CPUs this thread may run on, restored when dropped.
    pub struct Pinned {
        #[cfg(target_os = "linux")]
        before: Option<libc::cpu_set_t>,
    }

    impl Pinned {
        /// Keeps the calling thread on `cpu` (nothing when `None`, or off Linux).
        pub fn current_thread(cpu: Option<usize>) -> Self {
            #[cfg(target_os = "linux")]
            {
                let before = cpu.and_then(|cpu| {
                    let before = allowed()?;
                    set(&one(cpu)).then_some(before)
                });
                Self { before }
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = cpu;
                Self {}
            }
        }
    }

    impl Drop for Pinned {
        fn drop(&mut self) {
            #[cfg(target_os = "linux")]
            if let Some(before) = &self.before {
                set(before);
            }
        }
    }

    /// The lowest-numbered CPU this thread may run on.
    pub fn first() -> Option<usize> {
        #[cfg(target_os = "linux")]
        {
            let allowed = allowed()?;
            // SAFETY: `CPU_ISSET` reads the set, which is initialized, at an index below
            // `CPU_SETSIZE`, its size.
            (0..libc::CPU_SETSIZE as usize).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    #[cfg(target_os = "linux")]
    fn allowed() -> Option<libc::cpu_set_t> {
        // SAFETY: an all-zero `cpu_set_t` is a valid, empty set; `sched_getaffinity` writes at
        // most `size_of::<cpu_set_t>()` bytes into it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
                .then_some(set)
        }
    }

    #[cfg(target_os = "linux")]
    fn one(cpu: usize) -> libc::cpu_set_t {
        // SAFETY: an all-zero `cpu_set_t` is a valid, empty set; `CPU_SET` checks the index
        // against the set's size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            set
        }
    }

    #[cfg(target_os = "linux")]
    fn set(cpus: &libc::cpu_set_t) -> bool {
        // SAFETY: `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes of an initialized set.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), cpus) == 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_status_reads_a_trailer_frame() {
        assert_eq!(grpc_status(FLOOR_BODY), Some("0"));
        let spaced = b"\x80\x00\x00\x00\x10grpc-status: 0\r\n";
        assert_eq!(grpc_status(spaced), Some("0"));
        let two = b"\x80\x00\x00\x00\x21grpc-status:3\r\ngrpc-message:bad\r\n";
        assert_eq!(grpc_status(&two[..]), Some("3"));
    }

    #[test]
    fn grpc_status_wants_exactly_one_trailer_frame() {
        for len in 0..FLOOR_BODY.len() {
            assert_eq!(grpc_status(&FLOOR_BODY[..len]), None, "prefix of {len}");
        }
        let mut data_frame = FLOOR_BODY.to_vec();
        data_frame[0] = 0;
        assert_eq!(grpc_status(&data_frame), None);
        let mut longer = FLOOR_BODY.to_vec();
        longer.push(b'x');
        assert_eq!(grpc_status(&longer), None);
    }

    #[test]
    fn a_streamed_answer_is_split_at_the_first_nul_run() {
        // The body starts with NUL bytes of its own (a data frame's flag and length).
        let mut payload = br#"{"statusCode":201,"headers":{}}"#.to_vec();
        payload.extend_from_slice(&PRELUDE_END);
        payload.extend_from_slice(b"\0\0\0\0\x01x");
        let answer = Answer {
            streamed: true,
            payload: payload.into(),
        };
        assert_eq!(answer.http(), Ok((201, b"\0\0\0\0\x01x".to_vec())));
    }

    #[test]
    fn a_buffered_answer_is_decoded() {
        let answer = Answer {
            streamed: false,
            payload: Bytes::from_static(
                br#"{"statusCode":200,"headers":{},"body":"AAAAAAF4","isBase64Encoded":true}"#,
            ),
        };
        assert_eq!(answer.http(), Ok((200, b"\0\0\0\0\x01x".to_vec())));
    }

    #[test]
    fn every_function_answers_through_the_runtime_api() {
        let functions = Functions::start();
        check(1024, &functions);
        // An event neither can read is reported to `invocation/ID/error`, and the function
        // carries on.
        let unreadable = Bytes::from_static(b"{}");
        for (side, function) in [
            ("ours", &functions.ours),
            ("lambda-grpc-web", &functions.anchor),
        ] {
            let failure = function
                .invoke(&unreadable)
                .expect_err("an event from no known source");
            assert!(!failure.error_type.is_empty(), "{side}: {failure:?}");
        }
        check(1024, &functions);
    }
}
