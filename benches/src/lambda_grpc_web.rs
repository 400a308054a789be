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

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_lambda::lambda_runtime::{self, LambdaEvent, MetadataPrelude, StreamResponse};
use grpc_lambda::Shim;
use grpc_lambda_core::FrameEncoder;
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::ProdService;
use http::{HeaderValue, StatusCode};

use crate::lambda::{expected_reply, SIZES};
use crate::runtime_api::grpc_status;
pub use crate::runtime_api::{affinity, Answer, Failure, RuntimeApi};
use crate::{compare, consume, Line, Op, Settings};

/// The floor's answer: a gRPC-Web trailer frame saying OK, and nothing else.
const FLOOR_BODY: &[u8] = b"\x80\x00\x00\x00\x0fgrpc-status:0\r\n";

pub use crate::lambda::function_url_event as event;

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
        let shared = api.shared();
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
                shared.stopped(stopped);
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
