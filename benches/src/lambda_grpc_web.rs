//! P5 through a Lambda Runtime API: one whole invocation of the example service (`api.Prod/Alive`,
//! gRPC-Web) at 1 KiB and 1 MiB messages, ours against the `lambda-grpc-web` crate, each a
//! function process under `lambda_runtime` as in Lambda, on the local Lambda
//! (`grpc-lambda-local`, see [`crate::invoke`]), fed the same event bytes.
//!
//! ```text
//!  bench thread: invoke(event) ─▶ Invoke API ─▶ LocalLambda (run by the bench thread)
//!                                   │ GET  /2018-06-01/runtime/invocation/next ◀── function
//!                                   │ POST /2018-06-01/runtime/invocation/ID/response  (a process:
//!                                   │      (buffered, or streamed: prelude, 8 NULs, body)  this
//!                                   │ POST /2018-06-01/runtime/invocation/ID/error      binary)
//!  bench thread ◀─ whole response ──┘
//! ```
//!
//! `lambda-grpc-web` keeps its service stack private and only runs under `lambda_runtime`
//! (`serve_apigw_http`, with `lambda_http::run_with_streaming_response`), so it can only be timed
//! through a Runtime API. Each function gets its own local Lambda, and runs as a process of the
//! bench's own binary (started with [`FUNCTION_ARG`] and its name, see [`run_function`]); one
//! invocation is timed from the event sent to the whole response back. The floor, a function
//! answering a fixed small streamed response without looking at the event, is what the round
//! trip alone costs (the Invoke API's included).
//!
//! Every function runs on a current-thread tokio runtime (both crates' examples use
//! `#[tokio::main]`, a multi-threaded one; each side gets the same here), and every thread of the
//! comparison, the caller's included, stays on one CPU (see [`affinity`]).
//!
//! The event is the HTTP API event of [`crate::lambda::event`] as a Lambda Function URL sends it
//! (`domainName` under `.lambda-url.`): the deployment `lambda-grpc-web`'s streamed answer is
//! made for (invoke mode `RESPONSE_STREAM`), and the one where ours streams too, so both sides
//! answer in the same streamed form.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_lambda::lambda_runtime::{self, LambdaEvent, MetadataPrelude, StreamResponse};
use grpc_lambda::Shim;
use grpc_lambda_core::FrameEncoder;
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::ProdService;
use http::{HeaderValue, StatusCode};

pub use crate::affinity;
use crate::invoke::grpc_status;
pub use crate::invoke::{Answer, Failure, Local};
use crate::lambda::{expected_reply, SIZES};
use crate::{compare, consume, Line, Op, Settings};

/// The floor's answer: a gRPC-Web trailer frame saying OK, and nothing else.
const FLOOR_BODY: &[u8] = b"\x80\x00\x00\x00\x0fgrpc-status:0\r\n";

pub use crate::lambda::function_url_event as event;

/// The argument that makes a binary of this package run as one of the functions, named after it:
/// `--p5-function ours|lambda-grpc-web|floor` (`perf-report` and the criterion bench handle it).
pub const FUNCTION_ARG: &str = "--p5-function";

/// The functions' names, as [`FUNCTION_ARG`] takes them.
pub const NAMES: [&str; 3] = ["ours", "lambda-grpc-web", "floor"];

/// Runs this process as function `name` of [`NAMES`], on a current-thread tokio runtime, until
/// the Runtime API goes away.
///
/// # Errors
///
/// A message when `name` is none of them, or the function stops.
pub fn run_function(name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("a tokio runtime: {err}"))?;
    let ran = match name {
        "ours" => runtime.block_on(ours()),
        "lambda-grpc-web" => runtime.block_on(lambda_grpc_web()),
        "floor" => runtime.block_on(floor()),
        other => {
            return Err(format!(
                "no function {other:?}; {FUNCTION_ARG} takes one of {NAMES:?}"
            ))
        }
    };
    ran.map_err(|err| format!("function {name}: {err}"))
}

/// A Lambda function running as a process of `exe` on a local Lambda of its own.
pub struct Function {
    local: Local,
}

impl Function {
    /// Starts the local Lambda with `exe FUNCTION_ARG name` as its function, and waits for the
    /// function's first `GET invocation/next`.
    ///
    /// # Errors
    ///
    /// A message when the function does not start.
    pub fn start(exe: &Path, name: &str) -> Result<Self, String> {
        let command = format!(
            "exec '{}' {FUNCTION_ARG} {name} >/dev/null 2>&1",
            exe.display()
        );
        let local = Local::start(&command, name)?;
        local
            .wait_for_function()
            .map_err(|err| format!("function {name}: {err}"))?;
        Ok(Self { local })
    }

    /// One invocation; see [`Local::invoke`].
    ///
    /// # Errors
    ///
    /// The function's error.
    pub fn invoke(&self, event: &Bytes) -> Result<Answer, Failure> {
        self.local.invoke(event)
    }
}

/// Ours: the example function as its `main` serves it (tonic's server as a `tower::Service`),
/// with response streaming.
fn ours() -> impl Future<Output = Result<(), lambda_runtime::Error>> {
    Shim::new(ProdServer::new(ProdService))
        .response_streaming(true)
        .run()
}

/// The anchor: `lambda-grpc-web` around the same tonic server, as its README runs it.
fn lambda_grpc_web() -> impl Future<Output = Result<(), lambda_runtime::Error>> {
    lambda_grpc_web::LambdaServer::builder()
        .add_service(ProdServer::new(ProdService))
        .serve_apigw_http()
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
fn floor() -> impl Future<Output = Result<(), lambda_runtime::Error>> {
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
}

/// The three functions of the comparison.
pub struct Functions {
    /// Ours: the example function as its `main` serves it.
    pub ours: Function,
    /// The anchor: `lambda-grpc-web` around the same tonic server.
    pub anchor: Function,
    /// The floor: a fixed streamed answer.
    pub floor: Function,
    /// Where the caller runs the local Lambdas, see [`Functions::pin_caller`].
    caller_cpu: Option<usize>,
}

impl Functions {
    /// Starts them, one after the other, each a process of `exe` (a binary that handles
    /// [`FUNCTION_ARG`]) kept on one CPU (the same for all, see [`affinity`]).
    ///
    /// # Panics
    ///
    /// When one does not start.
    pub fn start(exe: &Path) -> Self {
        let cpu = affinity::first();
        // The processes are started from this thread: they inherit its CPU.
        let _pinned = affinity::Pinned::current_thread(cpu);
        let started = (|| {
            Ok::<_, String>(Self {
                ours: Function::start(exe, "ours")?,
                anchor: Function::start(exe, "lambda-grpc-web")?,
                floor: Function::start(exe, "floor")?,
                caller_cpu: cpu,
            })
        })();
        started.unwrap_or_else(|err| panic!("{err}"))
    }

    /// Keeps the calling thread, which runs the local Lambdas while it invokes, on its CPU until
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
        assert!(answer.streamed(), "{side} streams its answer");
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

/// P5 through a Runtime API: ours ÷ `lambda-grpc-web`, with the floor as context.
///
/// # Panics
///
/// When this binary cannot be found to run the functions, or one does not answer.
pub fn report(settings: &Settings) -> Vec<Line> {
    // An invocation crosses two threads and two sockets, and on a busy machine a few calls in a
    // hundred wait milliseconds to be scheduled: samples of at least 20 ms hold enough calls for
    // those to average out (about 4 s in all with `--quick`).
    let settings = Settings {
        sample: settings.sample.max(Duration::from_millis(20)),
        ..*settings
    };
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("this binary: {err}"));
    let functions = Functions::start(&exe);
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
                    Op::context("floor: the round trip, fixed answer", || {
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
            )
            .missed_because(
                "the round trip through the local Lambda (the floor line: a function answering a \
                 fixed streamed response) is most of both sides at 1 KiB; above it ours is \
                 printed beside the anchor (benches/README.md, P5)",
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
}
