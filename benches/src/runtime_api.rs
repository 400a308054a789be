//! A Lambda Runtime API on loopback, for functions in this process (P5) or started as processes
//! (L1–L4): it hands out queued events on `GET invocation/next` with the headers Lambda sends,
//! and gathers each answer, buffered or streamed, whole.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::base64;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

/// How long an invocation may take before the harness gives up on the function.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a function may take to ask for its first invocation.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`RuntimeApi::wait`] asks whether the function is still there while it waits.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// The header lambda_runtime writes before a streamed response's body
/// ("Lambda-Runtime-Function-Response-Mode: streaming").
const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";

/// How a streamed HTTP-integration response separates its JSON prelude from the body.
const PRELUDE_END: [u8; 8] = [0; 8];

/// The function's ARN, as `Lambda-Runtime-Invoked-Function-Arn` names it.
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:grpc-lambda-prod";

/// The X-Ray trace header, as `Lambda-Runtime-Trace-Id` carries it.
const TRACE_ID: &str = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";

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

pub(crate) type Outcome = Result<Answer, Failure>;

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
pub(crate) struct Shared {
    state: Mutex<State>,
    work: Notify,
    next_id: AtomicU64,
    /// When the function's first `GET invocation/next` arrived: it is up from then on.
    first_poll: OnceLock<Instant>,
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

    /// Records why the function's `lambda_runtime::run` returned: every later invocation fails
    /// with it.
    pub(crate) fn stopped(&self, why: String) {
        self.lock().stopped = Some(why);
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

/// An event [`RuntimeApi::queue`] queued: its answer, once the function gives it.
pub struct Queued(oneshot::Receiver<Outcome>);

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

    /// The state shared with the server, for a function in this process to report its end.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// When the function's first `GET invocation/next` arrived, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.first_poll.get().copied()
    }

    /// One invocation: queues `event`, serves the Runtime API until the function has taken it
    /// and answered.
    ///
    /// # Errors
    ///
    /// The function's error, or `Harness.Timeout` when it does not answer in 30 s.
    pub fn invoke(&self, event: &Bytes) -> Result<Answer, Failure> {
        let queued = self.queue(event)?;
        self.wait(queued, || None)
    }

    /// Queues `event` for the function's next `GET invocation/next`, which may come later (a
    /// function not started yet takes it as its first).
    ///
    /// # Errors
    ///
    /// The function's error, when it is known not to answer.
    pub fn queue(&self, event: &Bytes) -> Result<Queued, Failure> {
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
        Ok(Queued(answer))
    }

    /// Serves the Runtime API until the function has answered `queued`. Every few milliseconds
    /// `gone` says whether the function has gone (a process that exited: why); waiting stops
    /// then.
    ///
    /// # Errors
    ///
    /// The function's error, `Harness.FunctionStopped` when it has gone, or `Harness.Timeout`
    /// when it does not answer in 30 s.
    pub fn wait(
        &self,
        queued: Queued,
        mut gone: impl FnMut() -> Option<String>,
    ) -> Result<Answer, Failure> {
        let mut answer = queued.0;
        let started = Instant::now();
        self.runtime.block_on(async {
            loop {
                match tokio::time::timeout(CHECK_EVERY, &mut answer).await {
                    Ok(Ok(outcome)) => return outcome,
                    Ok(Err(_)) => break,
                    Err(_) => {}
                }
                if let Some(why) = gone() {
                    return Err(Failure {
                        error_type: "Harness.FunctionStopped".to_owned(),
                        message: why,
                    });
                }
                if self.shared.failure().is_some() || started.elapsed() > INVOCATION_TIMEOUT {
                    break;
                }
            }
            Err(self.shared.failure().unwrap_or_else(|| Failure {
                error_type: "Harness.Timeout".to_owned(),
                message: format!("no answer in {INVOCATION_TIMEOUT:?}"),
            }))
        })
    }

    /// Serves the Runtime API until the function asks for its first invocation.
    pub(crate) fn wait_for_function(&self) -> Result<(), String> {
        self.runtime.block_on(async {
            let started = Instant::now();
            while self.shared.first_poll.get().is_none() {
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

/// The `grpc-status` of a gRPC-Web trailer frame (flag 0x80, length, `name: value` lines), when
/// `frame` is exactly one.
pub fn grpc_status(frame: &[u8]) -> Option<&str> {
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
    shared.first_poll.get_or_init(Instant::now);
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
}
