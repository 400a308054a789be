//! A function on the local Lambda (`grpc-lambda-local`, the one the proxy's `--local-function`
//! runs), invoked from a bench's own thread: P5 through a Runtime API and L1–L4.
//!
//! ```text
//!  bench thread: invoke(event) ── Invoke API (HTTP/1.1, one kept-alive connection) ─▶ LocalLambda
//!       │  (drives the local Lambda's tasks in its own current-thread runtime)           │ queue
//!       │                                         function process ◀── Runtime API ──────┘
//!       ◀── the whole answer ─────────────────────────────────────────────────────────────
//! ```
//!
//! The local Lambda runs on the caller's thread while the caller waits for an invocation: an
//! invocation crosses two threads (the caller's and the function's), not three. Between
//! invocations the function's `GET invocation/next` waits in the socket. The function processes
//! are started by the local Lambda (`sh -c`), from the caller's thread, whose CPUs they inherit
//! (see [`crate::affinity`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use grpc_lambda_core::base64;
use grpc_lambda_local::{LocalConfig, LocalLambda, ProcessStart};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// How long an invocation may take before the bench gives up on the function (the local
/// Lambda's own function timeout, [`grpc_lambda_local::DEFAULT_TIMEOUT`], ends it first).
const INVOCATION_LIMIT: Duration = Duration::from_secs(40);

/// How often [`Local::invoke`] asks whether the function process is still there while it waits.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// How long a function may take to ask for its first invocation.
const START_LIMIT: Duration = Duration::from_secs(10);

/// How a streamed HTTP-integration response separates its JSON prelude from the body.
const PRELUDE_END: [u8; 8] = [0; 8];

/// What a function answered an invocation with.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The whole response payload: the response JSON, or for a streamed HTTP-integration
    /// response the JSON prelude, 8 NUL bytes and the body.
    pub payload: Bytes,
}

impl Answer {
    /// Whether the function answered in the streamed form (prelude, 8 NULs, body): JSON never
    /// holds a NUL byte, so the buffered form has none.
    pub fn streamed(&self) -> bool {
        self.prelude_end().is_some()
    }

    fn prelude_end(&self) -> Option<usize> {
        self.payload
            .windows(PRELUDE_END.len())
            .position(|window| window == PRELUDE_END)
    }

    /// The HTTP status and body the caller would see, whichever form the function answered in.
    ///
    /// # Errors
    ///
    /// A message when the payload is not a response of either form.
    pub fn http(&self) -> Result<(u16, Vec<u8>), String> {
        if let Some(end) = self.prelude_end() {
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
    /// `errorType`, as the function or the local Lambda reported it, or the bench's own.
    pub error_type: String,
    /// `errorMessage`.
    pub message: String,
}

impl Failure {
    fn bench(error_type: &str, message: impl Into<String>) -> Self {
        Self {
            error_type: format!("Bench.{error_type}"),
            message: message.into(),
        }
    }
}

/// One function on the local Lambda, one process, invoked from the caller's thread.
pub struct Local {
    lambda: LocalLambda,
    client: Mutex<Option<SendRequest<Full<Bytes>>>>,
    path: String,
    runtime: tokio::runtime::Runtime,
}

impl Local {
    /// Starts the local Lambda for `command` (run with `sh -c`) as function `name`, one process.
    /// The process starts when the caller first waits on the local Lambda (an invocation, or
    /// [`Local::wait_for_function`]).
    ///
    /// # Errors
    ///
    /// A message when the local Lambda does not start.
    pub fn start(command: &str, name: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| format!("a tokio runtime: {err}"))?;
        let lambda = runtime
            .block_on(LocalLambda::start(LocalConfig::new(command, name)))
            .map_err(|err| format!("the local Lambda: {err}"))?;
        Ok(Self {
            path: format!("/2015-03-31/functions/{name}/invocations"),
            lambda,
            client: Mutex::new(None),
            runtime,
        })
    }

    /// The process's last start: when it was spawned, its id, its first `GET invocation/next`.
    pub fn process(&self) -> ProcessStart {
        self.lambda.process_start(0).unwrap_or_default()
    }

    /// Serves the local Lambda until the function asks for its first invocation.
    ///
    /// # Errors
    ///
    /// A message when it does not within 10 s, or its process exits.
    pub fn wait_for_function(&self) -> Result<(), String> {
        let started = Instant::now();
        let mut watch = Watch::default();
        self.runtime.block_on(async {
            while self.process().first_poll.is_none() {
                if let Some(why) = watch.gone(self.process()) {
                    return Err(why);
                }
                if started.elapsed() > START_LIMIT {
                    return Err(format!(
                        "the function did not ask for an invocation in {START_LIMIT:?}"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        })
    }

    /// One invocation (`Invoke`), from sending `event` to the whole answer read. Every few
    /// milliseconds the bench looks whether the function's process has exited; waiting stops
    /// then.
    ///
    /// # Errors
    ///
    /// The function's error, `Bench.FunctionStopped` when its process exited, or
    /// `Bench.Timeout` when it does not answer in 40 s.
    pub fn invoke(&self, event: &Bytes) -> Result<Answer, Failure> {
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut watch = Watch::default();
        self.runtime.block_on(async {
            let call = self.call(&mut client, event.clone());
            tokio::pin!(call);
            let started = Instant::now();
            loop {
                if let Ok(outcome) = tokio::time::timeout(CHECK_EVERY, &mut call).await {
                    return outcome;
                }
                if let Some(why) = watch.gone(self.process()) {
                    return Err(Failure::bench("FunctionStopped", why));
                }
                if started.elapsed() > INVOCATION_LIMIT {
                    return Err(Failure::bench(
                        "Timeout",
                        format!("no answer in {INVOCATION_LIMIT:?}"),
                    ));
                }
            }
        })
    }

    /// The Invoke API call on the kept-alive connection (opened when there is none).
    async fn call(
        &self,
        client: &mut Option<SendRequest<Full<Bytes>>>,
        event: Bytes,
    ) -> Result<Answer, Failure> {
        let io = |err: &dyn std::fmt::Display| Failure::bench("Invoke", err.to_string());
        let sender = match client {
            Some(sender) if sender.is_ready() => sender,
            _ => {
                let stream = tokio::net::TcpStream::connect(self.lambda.addr())
                    .await
                    .map_err(|err| io(&err))?;
                let _ = stream.set_nodelay(true);
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .map_err(|err| io(&err))?;
                tokio::spawn(connection);
                client.insert(sender)
            }
        };
        let request = http::Request::post(self.path.as_str())
            .header(http::header::HOST, "localhost")
            .body(Full::new(event))
            .map_err(|err| io(&err))?;
        let response = sender.send_request(request).await.map_err(|err| io(&err))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let payload = response
            .into_body()
            .collect()
            .await
            .map_err(|err| io(&err))?
            .to_bytes();
        if status == http::StatusCode::OK && !function_error {
            return Ok(Answer { payload });
        }
        let document: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
        let text = |key: &str| document[key].as_str().map(str::to_owned);
        Err(Failure {
            error_type: text("errorType")
                .unwrap_or_else(|| format!("Invoke API {}", status.as_u16())),
            message: text("errorMessage")
                .or_else(|| text("message"))
                .unwrap_or_else(|| String::from_utf8_lossy(&payload).into_owned()),
        })
    }
}

/// Notices a function process that exited: the local Lambda restarts it, under another id.
#[derive(Default)]
struct Watch {
    pid: Option<u32>,
}

impl Watch {
    /// Why the process first seen is gone, if it is.
    fn gone(&mut self, start: ProcessStart) -> Option<String> {
        let pid = start.pid?;
        let first = *self.pid.get_or_insert(pid);
        if first != pid {
            return Some(format!(
                "the function process {first} exited (restarted as {pid})"
            ));
        }
        (!running(pid)).then(|| format!("the function process {pid} exited"))
    }
}

/// Whether process `pid` runs (exists and is not a zombie); always true where `/proc` is not.
fn running(pid: u32) -> bool {
    if cfg!(not(target_os = "linux")) {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) S …`: the state follows the last `)`.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
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
            payload: payload.into(),
        };
        assert!(answer.streamed());
        assert_eq!(answer.http(), Ok((201, b"\0\0\0\0\x01x".to_vec())));
    }

    #[test]
    fn a_buffered_answer_is_decoded() {
        let answer = Answer {
            payload: Bytes::from_static(
                br#"{"statusCode":200,"headers":{},"body":"AAAAAAF4","isBase64Encoded":true}"#,
            ),
        };
        assert!(!answer.streamed());
        assert_eq!(answer.http(), Ok((200, b"\0\0\0\0\x01x".to_vec())));
    }

    #[test]
    fn this_process_runs_and_a_made_up_one_does_not() {
        assert!(running(std::process::id()));
        if cfg!(target_os = "linux") {
            assert!(!running(u32::MAX));
        }
    }
}
