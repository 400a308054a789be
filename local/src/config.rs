//! What to run and how Lambda would run it, and Lambda's limits the service holds callers and
//! functions to.

use std::time::Duration;

/// The largest event accepted, in bytes (Lambda's synchronous invocation quota, defined once for
/// every crate of the project in `grpc-lambda-protocol`). Over it, an invocation is
/// `413 RequestTooLargeException`.
pub const REQUEST_PAYLOAD_LIMIT: usize = grpc_lambda_protocol::LAMBDA_REQUEST_LIMIT;

/// The largest buffered response passed on, in bytes: the 6 MB quota as Lambda measures it.
/// Over it, an invocation fails with `Function.ResponseSizeTooLarge`.
pub const RESPONSE_PAYLOAD_LIMIT: usize = grpc_lambda_protocol::LAMBDA_RESPONSE_LIMIT;

/// The most bytes passed on from a function's streamed response (Lambda's response streaming
/// quota). A streamed response to a buffered `Invoke` is held to [`RESPONSE_PAYLOAD_LIMIT`].
pub const STREAMED_RESPONSE_LIMIT: usize = grpc_lambda_protocol::LAMBDA_STREAMED_RESPONSE_LIMIT;

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
