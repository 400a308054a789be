//! AWS Lambda on loopback: runs a function process behind the Lambda Runtime API and answers the
//! Lambda Invoke API, so a Lambda function can be called where it will run, without AWS.
//!
//! The grpc-lambda proxy runs it for `--local-function`, and tests start it to call a real
//! function binary the way Lambda does.
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper_util::rt::TokioIo;
//! use grpc_lambda_local::{LocalConfig, LocalLambda};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A function that answers each event with its bytes upper-cased, speaking the Runtime API.
//! let function = r#"python3 -c '
//! import os, urllib.request
//! api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
//! while True:
//!     with urllib.request.urlopen(api + "next") as next:
//!         id, event = next.headers["Lambda-Runtime-Aws-Request-Id"], next.read()
//!     urllib.request.urlopen(api + id + "/response", data=event.upper()).read()
//! '"#;
//! let lambda = LocalLambda::start(LocalConfig::new(function, "shout")).await?;
//!
//! // Invoke it as AWS SDKs do: POST /2015-03-31/functions/NAME/invocations.
//! let stream = tokio::net::TcpStream::connect(lambda.addr()).await?;
//! let (mut client, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
//! tokio::spawn(connection);
//! let request = http::Request::post("/2015-03-31/functions/shout/invocations")
//!     .header("host", lambda.addr().to_string())
//!     .body(Full::new(Bytes::from_static(b"\"hello\"")))?;
//! let response = client.send_request(request).await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "\"HELLO\"");
//! lambda.stop();
//! # Ok(()) }
//! ```
//!
//! # The wire
//!
//! ```text
//!  caller ──Invoke API (POST /2015-03-31/functions/NAME/invocations)────────▶ LocalLambda
//!         ──InvokeWithResponseStream (POST /2021-11-15/…/response-streaming-invocations)
//!                                                                              │ queue
//!  function process ◀──GET  /2018-06-01/runtime/invocation/next───────────────┤ (one port per process)
//!                   ──POST /2018-06-01/runtime/invocation/ID/response────────▶│ buffered or streaming
//!                   ──POST /2018-06-01/runtime/invocation/ID/error───────────▶│
//!                   ──POST /2018-06-01/runtime/init/error────────────────────▶│
//! ```
//!
//! It behaves as Lambda does where a caller's error handling depends on it: a function name
//! other than its own is `404 ResourceNotFoundException`; an event over 6 MB is
//! `413 RequestTooLargeException`; with every process busy and the queue full, `429
//! TooManyRequestsException`; a function error, a crash (`Runtime.ExitError`), a timeout
//! (`Sandbox.Timedout`, the process is killed and restarted) and a response over 6 MB
//! (`Function.ResponseSizeTooLarge`) are `200` with `X-Amz-Function-Error`.
//!
//! # Files
//!
//! - `lib.rs`: [`LocalConfig`], [`LocalLambda`] (start, stop), the loopback HTTP/1.1 servers.
//! - `invoke_api.rs`: the Invoke API, throttling, the event stream answer.
//! - `state.rs`: the queue and the invocations in flight, shared by both APIs.
//! - `runtime_api.rs`: the Runtime API a function process polls and answers.
//! - `supervisor.rs`: the function processes: start, restart on exit, kill on timeout.
//! - `request_id.rs`, `reply.rs`, `quick_ack.rs`: request ids, JSON answers, a socket option.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod invoke_api;
mod quick_ack;
mod reply;
mod request_id;
mod runtime_api;
mod state;
mod supervisor;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

#[doc(hidden)]
pub use quick_ack::QuickAck;
use reply::LocalBody;
use state::Shared;

/// The largest event accepted, in bytes: "Invocation payload (request and response): 6 MB each
/// for synchronous" (Lambda quotas). Over it, an invocation is `413 RequestTooLargeException`.
pub const REQUEST_PAYLOAD_LIMIT: usize = 6_291_456;

/// The largest buffered response passed on, in bytes: the 6 MB quota as Lambda measures it.
/// Over it, an invocation fails with `Function.ResponseSizeTooLarge`.
pub const RESPONSE_PAYLOAD_LIMIT: usize = 6_291_556;

/// The most bytes passed on from a function's streamed response: "The maximum response
/// payload size for response streaming is 200 MB." (A streamed response to a buffered `Invoke`
/// is held to [`RESPONSE_PAYLOAD_LIMIT`].)
pub const STREAMED_RESPONSE_LIMIT: usize = 200 * 1024 * 1024;

/// The function timeout [`LocalConfig::new`] sets.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The invocations [`LocalConfig::new`] lets wait for a free process before throttling.
pub const DEFAULT_MAX_QUEUE: usize = 1000;

/// What to run and how Lambda would run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalConfig {
    /// The function's command, run with `sh -c` (a `bootstrap` binary, a script…).
    pub command: String,
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`; invocations for other names are 404).
    pub function: String,
    /// The function's timeout, as Lambda's configuration would set it.
    pub timeout: Duration,
    /// Function processes (Lambda's concurrency: execution environments); at least 1.
    pub concurrency: usize,
    /// Invocations one process takes at once (Lambda Managed Instances'
    /// `AWS_LAMBDA_MAX_CONCURRENCY`, set for the function); 1 is classic Lambda.
    pub max_concurrency: usize,
    /// Invocations that may wait for a free process before Lambda-style throttling.
    pub max_queue: usize,
    /// The Invoke API's port on 127.0.0.1 (0: any free port).
    pub port: u16,
}

impl LocalConfig {
    /// One process running `command` as function `function`, one invocation at a time,
    /// [`DEFAULT_TIMEOUT`], [`DEFAULT_MAX_QUEUE`], any free port.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = grpc_lambda_local::LocalConfig::new("./bootstrap", "prod");
    /// assert_eq!(config.capacity(), 1);
    /// ```
    pub fn new(command: impl Into<String>, function: impl Into<String>) -> LocalConfig {
        LocalConfig {
            command: command.into(),
            function: function.into(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: 1,
            max_concurrency: 1,
            max_queue: DEFAULT_MAX_QUEUE,
            port: 0,
        }
    }

    /// Invocations that run at once: processes × invocations per process.
    pub fn capacity(&self) -> usize {
        self.concurrency
            .max(1)
            .saturating_mul(self.max_concurrency.max(1))
    }
}

/// Why the service did not start.
#[derive(Debug)]
pub enum StartError {
    /// A loopback port could not be bound.
    Bind {
        /// What the port was for: the Invoke API, or a process's Runtime API.
        purpose: &'static str,
        /// The port asked for (0: any free port).
        port: u16,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Bind {
                purpose,
                port,
                source,
            } => write!(f, "{purpose} on 127.0.0.1:{port}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } => Some(source),
        }
    }
}

/// A running local Lambda service: the Invoke API on one port, a Runtime API port and a process
/// per unit of concurrency. Dropping it stops it.
pub struct LocalLambda {
    invoke_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl LocalLambda {
    /// Binds the Invoke API and one Runtime API port per process on 127.0.0.1, and starts the
    /// function processes (they start in the background; invocations queue until one polls).
    ///
    /// Must be called within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`StartError::Bind`] naming the port that could not be bound.
    pub async fn start(config: LocalConfig) -> Result<LocalLambda, StartError> {
        let bind = |purpose: &'static str, port: u16| async move {
            let listener = TcpListener::bind(("127.0.0.1", port)).await;
            let listener = listener.and_then(|listener| {
                let addr = listener.local_addr()?;
                Ok((listener, addr))
            });
            listener.map_err(|source| StartError::Bind {
                purpose,
                port,
                source,
            })
        };
        let (invoke, invoke_addr) = bind("the local Lambda Invoke API", config.port).await?;
        let concurrency = config.concurrency.max(1);
        let shared = Arc::new(Shared::new(config, concurrency));
        let (stop, stopped) = watch::channel(false);
        let invoke_shared = shared.clone();
        serve(invoke, stopped.clone(), move |request| {
            invoke_api::invoke_api(invoke_shared.clone(), request)
        });
        for instance in 0..concurrency {
            let (listener, runtime_addr) = bind("a Runtime API", 0).await?;
            let runtime_shared = shared.clone();
            serve(listener, stopped.clone(), move |request| {
                runtime_api::runtime_api(runtime_shared.clone(), instance, request)
            });
            tokio::spawn(supervisor::supervise(
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

    /// The Invoke API's address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.invoke_addr
    }

    /// The Invoke API endpoint, `http://127.0.0.1:PORT`, as an AWS SDK's endpoint override.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.invoke_addr)
    }

    /// The function's name.
    pub fn function(&self) -> &str {
        &self.shared.config.function
    }

    /// Stops the processes and the servers. Invocations in flight end with the connection.
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
