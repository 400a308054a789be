//! Every way an invocation can fail, and the gRPC status each one becomes.
//!
//! This is the one place where the proxy turns errors into statuses. The table, also in the
//! README:
//!
//! | failure | gRPC status | `grpc-message` |
//! | --- | --- | --- |
//! | the function raised an error (`X-Amz-Function-Error`) | `UNKNOWN` | `function error <errorType>: <errorMessage>` |
//! | Lambda throttled the call (HTTP 429, `TooManyRequestsException`) | `UNAVAILABLE` | the reason; retry with backoff |
//! | the request event is over the 6 MB payload limit | `RESOURCE_EXHAUSTED` | the event's size and the limit |
//! | the response is over the 6 MB payload limit | `RESOURCE_EXHAUSTED` | Lambda's message, with the sizes |
//! | the function ran past its configured timeout | `DEADLINE_EXCEEDED` | Lambda's message (`Task timed out after …`) |
//! | the client's `grpc-timeout` expired | `DEADLINE_EXCEEDED` | the timeout |
//! | the function does not exist (HTTP 404) | `UNIMPLEMENTED` | the function named |
//! | the endpoint cannot be reached | `UNAVAILABLE` | the endpoint and the connection error |
//! | no route for the method | `UNIMPLEMENTED` | the path |
//! | the path is not `/package.Service/Method` (extra, empty or dot segments, `%`-escapes) | `UNIMPLEMENTED` | the path and what is wrong with it |
//! | a `grpc-encoding` the function does not decode | `UNIMPLEMENTED` | the encoding; `grpc-accept-encoding` lists `identity,gzip` |
//! | a malformed request: a truncated frame, reserved flag bits, gRPC-Web-text that is not base64, a `grpc-timeout` that cannot be read | `INTERNAL` ([`Malformed::code`], as from the shim) | what was wrong, with offsets |
//! | a message flagged compressed with no `grpc-encoding` | `INTERNAL` | the message's index |
//! | the call would take the proxy past `max_bytes_in_flight` | `RESOURCE_EXHAUSTED` | the bytes asked for, in use, and the limit |
//! | the request body did not arrive within `request_body_timeout` (no `grpc-timeout`) | `DEADLINE_EXCEEDED` | the timeout and the bytes received |
//! | the client cancelled (reset the stream, closed the connection) | `CANCELLED` (logged) | the reason |
//! | the function's answer is not a gRPC-Web response | `INTERNAL` | what was wrong |
//! | the request body is over `max_request_bytes` | `RESOURCE_EXHAUSTED` | the limit |
//! | whole messages, then a silent open request stream (a bidirectional client waiting) | `UNIMPLEMENTED` | the messages, the wait, and `bidi = "half-duplex"` |
//! | a route with `bidi = "unimplemented"` | `UNIMPLEMENTED` | why, and `bidi = "half-duplex"` |
//! | no AWS credentials for a remote Lambda endpoint, or SigV4 refuses to sign | `INTERNAL` | the chain's error |
//! | the endpoint's answer stops before its end | `UNAVAILABLE` | the endpoint and the connection error |
//! | another Invoke API error (403, 502…) | from the HTTP status | the error type and message |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use grpc_lambda_core::{Code, Status};
use grpc_lambda_protocol::Malformed;

pub use grpc_lambda_protocol::{ACCEPTED_ENCODINGS, LAMBDA_REQUEST_LIMIT, LAMBDA_RESPONSE_LIMIT};

pub use grpc_lambda_protocol::connect::{ConnectHeaderError, QueryError};
pub use grpc_lambda_protocol::PathError;
pub use start::{ConfigError, StartError};

mod start;

/// An underlying error kept as a failure's source, shared so a failure can be cloned.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync>;

/// The error kind of a call the client gave up on, in logs and metrics.
pub const CANCELLED_KIND: &str = "cancelled";

/// A call that could not be completed, for a reason the proxy or Lambda reported.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum InvokeError {
    /// The function ran and raised an error (an unhandled exception, a crash, an init error).
    FunctionError {
        /// Lambda's `errorType` (`Runtime.ExitError`, `Sandbox.Timedout`…).
        error_type: String,
        /// Lambda's `errorMessage`.
        error_message: String,
    },
    /// Lambda refused the invocation because the function is at its concurrency limit.
    Throttled {
        /// Lambda's reason (`ReservedFunctionConcurrentInvocationLimitExceeded`…) and message.
        reason: String,
    },
    /// The request event is larger than Lambda accepts.
    RequestTooLarge {
        /// The event's size in bytes (0 when Lambda did not say).
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The function's response is larger than Lambda or the proxy accepts.
    ResponseTooLarge {
        /// What Lambda or the proxy reported, with the numbers.
        message: String,
    },
    /// The function ran past its configured timeout and was stopped.
    FunctionTimeout {
        /// Lambda's message.
        message: String,
    },
    /// The client's `grpc-timeout` expired before the function answered.
    DeadlineExceeded {
        /// The client's timeout.
        timeout: Duration,
    },
    /// The function does not exist (or the qualifier does not).
    FunctionNotFound {
        /// The function as the route names it.
        function: String,
        /// Lambda's message.
        message: String,
    },
    /// The endpoint could not be reached: connection refused, DNS, TLS, a reset.
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The connection's error.
        source: SharedError,
    },
    /// The endpoint's answer stopped before its end (a reset, a closed connection).
    ResponseCut {
        /// The endpoint.
        endpoint: String,
        /// The connection's error.
        source: SharedError,
    },
    /// The proxy could not build the request to a target (a URL that is not one).
    BuildRequest {
        /// The URL.
        url: String,
        /// What `http` refused.
        source: Arc<http::Error>,
    },
    /// No route matches the method's path.
    NoRoute {
        /// The request path, cut for quoting.
        path: String,
    },
    /// The request path is not a canonical method path.
    NotAMethodPath {
        /// The path, cut for quoting.
        path: String,
        /// What is wrong with it.
        reason: PathError,
    },
    /// A Connect header that cannot be read (`connect-timeout-ms`), or a
    /// `connect-protocol-version` other than `1`.
    ConnectHeader(ConnectHeaderError),
    /// A Connect GET's query that cannot be read, or whose message is over the limit.
    ConnectQuery(QueryError),
    /// A Connect unary or Twirp call, which answers one message, got `messages` from the
    /// function.
    NotOneMessage {
        /// The messages the function answered.
        messages: usize,
    },
    /// The request's `grpc-encoding` is not one the function decodes.
    UnsupportedEncoding {
        /// The encoding named.
        encoding: String,
    },
    /// Holding this call's bytes would take the proxy past its memory budget.
    OverBudget {
        /// The bytes the call asked for.
        requested: usize,
        /// The bytes held by all calls when it asked.
        in_use: usize,
        /// `max_bytes_in_flight`.
        limit: usize,
    },
    /// The client set no deadline and its request body did not arrive in time.
    BodyTimeout {
        /// `request_body_timeout` (or the route's own).
        timeout: Duration,
        /// The bytes that did arrive.
        received: usize,
    },
    /// The client went away before the call finished.
    Cancelled {
        /// What the proxy saw.
        reason: String,
    },
    /// The function's answer is not a response the proxy can read.
    InvalidResponse {
        /// What was wrong.
        reason: String,
    },
    /// The request's body or headers cannot be read (a malformed frame, a gRPC-Web-text body
    /// that is not base64, a bad `grpc-timeout`…): the shim answers the same input with the
    /// same code ([`Malformed::code`]).
    Malformed {
        /// What kind of malformed input, which decides the code.
        kind: Malformed,
        /// What was wrong.
        reason: String,
    },
    /// The request body is over `max_request_bytes`.
    BodyTooLarge {
        /// The limit on the wire, bytes.
        limit: usize,
    },
    /// The client sent whole messages, then held its request stream open without sending more
    /// or half-closing: a bidirectional call waiting for a response, which one invocation
    /// cannot give.
    WaitingForResponse {
        /// The messages that came.
        messages: usize,
        /// How long the stream stayed silent.
        wait: Duration,
    },
    /// The route refuses bidirectional calls (`bidi = "unimplemented"`).
    BidiRefused {
        /// The route's target.
        target: String,
    },
    /// Any other error answered by the Invoke API or a front door.
    Upstream {
        /// The HTTP status.
        status: u16,
        /// The error type (`AccessDeniedException`…) or an empty string.
        error_type: String,
        /// The message.
        message: String,
    },
    /// The proxy has no usable AWS credentials for a Lambda endpoint.
    Credentials {
        /// What the credential chain reported.
        source: SharedError,
    },
    /// SigV4 refused to sign the invocation.
    Signing {
        /// What the signer reported.
        source: SharedError,
    },
}

impl InvokeError {
    /// The gRPC code this failure is answered with (see the module's table).
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    /// use grpc_lambda_proxy::error::InvokeError;
    ///
    /// let err = InvokeError::RequestTooLarge { len: 7_000_000, limit: 6_291_456 };
    /// assert_eq!(err.code(), Code::ResourceExhausted);
    /// assert!(err.to_string().contains("7000000 bytes"));
    /// ```
    pub fn code(&self) -> Code {
        match self {
            InvokeError::FunctionError { .. } => Code::Unknown,
            InvokeError::Throttled { .. }
            | InvokeError::Unreachable { .. }
            | InvokeError::ResponseCut { .. } => Code::Unavailable,
            InvokeError::RequestTooLarge { .. } | InvokeError::ResponseTooLarge { .. } => {
                Code::ResourceExhausted
            }
            InvokeError::FunctionTimeout { .. } | InvokeError::DeadlineExceeded { .. } => {
                Code::DeadlineExceeded
            }
            InvokeError::FunctionNotFound { .. }
            | InvokeError::NoRoute { .. }
            | InvokeError::NotAMethodPath { .. }
            | InvokeError::WaitingForResponse { .. }
            | InvokeError::BidiRefused { .. } => Code::Unimplemented,
            InvokeError::UnsupportedEncoding { .. } => Malformed::UnsupportedEncoding.code(),
            InvokeError::ConnectHeader(err) => err.code(),
            InvokeError::ConnectQuery(err) => err.code(),
            InvokeError::NotOneMessage { .. } => Code::Internal,
            InvokeError::Malformed { kind, .. } => kind.code(),
            InvokeError::OverBudget { .. } | InvokeError::BodyTooLarge { .. } => {
                Code::ResourceExhausted
            }
            InvokeError::BodyTimeout { .. } => Code::DeadlineExceeded,
            InvokeError::Cancelled { .. } => Code::Cancelled,
            InvokeError::InvalidResponse { .. }
            | InvokeError::BuildRequest { .. }
            | InvokeError::Credentials { .. }
            | InvokeError::Signing { .. } => Code::Internal,
            InvokeError::Upstream { status, .. } => Code::from_http_status(*status),
        }
    }

    /// The status sent to the client: [`InvokeError::code`] and this error's text.
    pub fn to_status(&self) -> Status {
        Status::new(self.code(), self.to_string())
    }

    /// A short label for logs and metrics (`function_error`, `throttled`…).
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::FunctionError { .. } => "function_error",
            InvokeError::Throttled { .. } => "throttled",
            InvokeError::RequestTooLarge { .. } => "request_too_large",
            InvokeError::ResponseTooLarge { .. } => "response_too_large",
            InvokeError::FunctionTimeout { .. } => "function_timeout",
            InvokeError::DeadlineExceeded { .. } => "deadline_exceeded",
            InvokeError::FunctionNotFound { .. } => "function_not_found",
            InvokeError::Unreachable { .. } => "unreachable",
            InvokeError::ResponseCut { .. } => "response_cut",
            InvokeError::BuildRequest { .. } => "build_request",
            InvokeError::NoRoute { .. } => "no_route",
            InvokeError::NotAMethodPath { .. } => "not_a_method_path",
            InvokeError::UnsupportedEncoding { .. } => "unsupported_encoding",
            InvokeError::ConnectHeader(_) => "connect_header",
            InvokeError::ConnectQuery(_) => "connect_query",
            InvokeError::NotOneMessage { .. } => "not_one_message",
            InvokeError::OverBudget { .. } => "over_budget",
            InvokeError::BodyTimeout { .. } => "request_body_timeout",
            InvokeError::Cancelled { .. } => CANCELLED_KIND,
            InvokeError::InvalidResponse { .. } => "invalid_response",
            InvokeError::Malformed { .. } => "malformed",
            InvokeError::BodyTooLarge { .. } => "body_too_large",
            InvokeError::WaitingForResponse { .. } => "waiting_for_response",
            InvokeError::BidiRefused { .. } => "bidi_refused",
            InvokeError::Upstream { .. } => "upstream",
            InvokeError::Credentials { .. } => "credentials",
            InvokeError::Signing { .. } => "signing",
        }
    }
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::FunctionError {
                error_type,
                error_message,
            } => write!(f, "function error {error_type}: {error_message}"),
            InvokeError::Throttled { reason } => write!(
                f,
                "Lambda throttled the invocation ({reason}); retry with backoff"
            ),
            InvokeError::RequestTooLarge { len, limit } if *len > 0 => write!(
                f,
                "the request event is {len} bytes, over Lambda's synchronous payload limit of \
                 {limit} bytes (a message is base64-encoded in the event: at most about {} \
                 bytes of messages fit)",
                limit / 4 * 3
            ),
            InvokeError::RequestTooLarge { limit, .. } => write!(
                f,
                "the request event is over Lambda's synchronous payload limit of {limit} bytes"
            ),
            InvokeError::ResponseTooLarge { message } => write!(
                f,
                "the function's response is over Lambda's synchronous payload limit: {message}"
            ),
            InvokeError::FunctionTimeout { message } => {
                write!(f, "the function timed out: {message}")
            }
            InvokeError::DeadlineExceeded { timeout } => write!(
                f,
                "the call's deadline ({} ms, the client's grpc-timeout or connect-timeout-ms) expired \
                 before the function answered",
                timeout.as_millis()
            ),
            InvokeError::FunctionNotFound { function, message } => {
                write!(f, "function {function:?} not found: {message}")
            }
            InvokeError::Unreachable { endpoint, source } => {
                write!(f, "cannot reach {endpoint}: {}", error_chain(&**source))
            }
            InvokeError::ResponseCut { endpoint, source } => write!(
                f,
                "the answer from {endpoint} was cut: {}",
                error_chain(&**source)
            ),
            InvokeError::BuildRequest { url, source } => {
                write!(f, "cannot build the request to {url}: {source}")
            }
            InvokeError::NoRoute { path } => write!(
                f,
                "no route for {path:?}: the proxy's routes name no target for this method"
            ),
            InvokeError::NotAMethodPath { path, reason } => write!(
                f,
                "{path:?} is not a method path: {}; the proxy serves only \
                 /package.Service/Method and /twirp/package.Service/Method",
                reason.problem()
            ),
            InvokeError::ConnectHeader(err) => err.fmt(f),
            InvokeError::ConnectQuery(err) => err.fmt(f),
            InvokeError::NotOneMessage { messages } => write!(
                f,
                "the function answered a unary call with {messages} messages, not one"
            ),
            InvokeError::UnsupportedEncoding { encoding } => write!(
                f,
                "grpc-encoding {encoding:?} is not accepted: the function decodes \
                 {ACCEPTED_ENCODINGS} (grpc-accept-encoding)"
            ),
            InvokeError::OverBudget {
                requested,
                in_use,
                limit,
            } => write!(
                f,
                "the proxy holds {in_use} bytes of calls in flight; {requested} more would pass \
                 its limit of {limit} bytes (max_bytes_in_flight): retry later"
            ),
            InvokeError::BodyTimeout { timeout, received } => write!(
                f,
                "the request body did not arrive within {} ms ({received} bytes came); with no \
                 grpc-timeout the proxy waits request_body_timeout for it",
                timeout.as_millis()
            ),
            InvokeError::Cancelled { reason } => write!(f, "the client cancelled: {reason}"),
            InvokeError::InvalidResponse { reason } => {
                write!(f, "the function's response cannot be read: {reason}")
            }
            InvokeError::Malformed { reason, .. } => f.write_str(reason),
            InvokeError::BodyTooLarge { limit } => write!(
                f,
                "the request body is over the proxy's limit of {limit} bytes (max_request_bytes)"
            ),
            InvokeError::WaitingForResponse { messages, wait } => write!(
                f,
                "the client sent {messages} message(s), then kept its request stream open for \
                 {} ms without sending more: a bidirectional call that waits for a response \
                 before it half-closes cannot run on Lambda, where one invocation takes the whole \
                 request stream before it answers; a method whose client sends every request \
                 before reading can run on a route with bidi = \"half-duplex\"",
                wait.as_millis()
            ),
            InvokeError::BidiRefused { target } => write!(
                f,
                "bidirectional streaming is not available through Lambda ({target}): an \
                 invocation takes the whole request stream before it answers; a method that can \
                 take all its requests first can run with bidi = \"half-duplex\" on its route"
            ),
            InvokeError::Upstream {
                status,
                error_type,
                message,
            } if error_type.is_empty() => write!(f, "HTTP {status} from the target: {message}"),
            InvokeError::Upstream {
                status,
                error_type,
                message,
            } => write!(f, "HTTP {status} from the target: {error_type}: {message}"),
            InvokeError::Credentials { source } => write!(
                f,
                "no AWS credentials to sign the invocation: {}",
                error_chain(&**source)
            ),
            InvokeError::Signing { source } => {
                write!(f, "cannot sign the invocation: {}", error_chain(&**source))
            }
        }
    }
}

impl std::error::Error for InvokeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InvokeError::Unreachable { source, .. }
            | InvokeError::ResponseCut { source, .. }
            | InvokeError::Credentials { source }
            | InvokeError::Signing { source } => Some(&**source),
            InvokeError::BuildRequest { source, .. } => Some(&**source),
            InvokeError::NotAMethodPath { reason, .. } => Some(reason),
            InvokeError::ConnectHeader(err) => Some(err),
            InvokeError::ConnectQuery(err) => Some(err),
            _ => None,
        }
    }
}

/// Every message in an error's source chain, joined: hyper's top-level errors say little.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table() {
        let rows = [
            (
                InvokeError::FunctionError {
                    error_type: "Runtime.ExitError".into(),
                    error_message: "exit status 2".into(),
                },
                Code::Unknown,
                "function error Runtime.ExitError: exit status 2",
            ),
            (
                InvokeError::Throttled {
                    reason: "TooManyRequestsException: Rate Exceeded.".into(),
                },
                Code::Unavailable,
                "throttled",
            ),
            (
                InvokeError::RequestTooLarge {
                    len: 7_000_000,
                    limit: LAMBDA_REQUEST_LIMIT,
                },
                Code::ResourceExhausted,
                "7000000 bytes, over Lambda's synchronous payload limit of 6291456",
            ),
            (
                InvokeError::ResponseTooLarge {
                    message: "7000000 > 6291556".into(),
                },
                Code::ResourceExhausted,
                "7000000 > 6291556",
            ),
            (
                InvokeError::FunctionTimeout {
                    message: "Task timed out after 1.00 seconds".into(),
                },
                Code::DeadlineExceeded,
                "timed out",
            ),
            (
                InvokeError::DeadlineExceeded {
                    timeout: Duration::from_millis(250),
                },
                Code::DeadlineExceeded,
                "250 ms",
            ),
            (
                InvokeError::FunctionNotFound {
                    function: "nope".into(),
                    message: "Function not found".into(),
                },
                Code::Unimplemented,
                "\"nope\" not found",
            ),
            (
                InvokeError::Unreachable {
                    endpoint: "http://127.0.0.1:1".into(),
                    source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
                },
                Code::Unavailable,
                "cannot reach http://127.0.0.1:1",
            ),
            (
                InvokeError::Upstream {
                    status: 403,
                    error_type: "AccessDeniedException".into(),
                    message: "denied".into(),
                },
                Code::PermissionDenied,
                "AccessDeniedException",
            ),
            (
                InvokeError::OverBudget {
                    requested: 16384,
                    in_use: 268_435_000,
                    limit: 268_435_456,
                },
                Code::ResourceExhausted,
                "holds 268435000 bytes of calls in flight; 16384 more would pass its limit of 268435456",
            ),
            (
                InvokeError::UnsupportedEncoding {
                    encoding: "br".into(),
                },
                Code::Unimplemented,
                "\"br\" is not accepted: the function decodes identity,gzip",
            ),
            (
                InvokeError::NotAMethodPath {
                    path: "/a.B//C".into(),
                    reason: grpc_lambda_protocol::method_path("/a.B//C").unwrap_err(),
                },
                Code::Unimplemented,
                "\"/a.B//C\" is not a method path: it has 3 segments",
            ),
        ];
        for (err, code, text) in rows {
            let status = err.to_status();
            assert_eq!(status.code(), code, "{err}");
            assert!(status.message().contains(text), "{status} lacks {text}");
        }
    }
}
