//! Everything that can go wrong in a call, and the one mapping from it to a gRPC status.

use std::fmt;

use grpc_lambda_core::base64::Base64Error;
use grpc_lambda_core::metadata::TimeoutError;
use grpc_lambda_core::{Code, DecodeError, EncodeError, Status};
use grpc_lambda_protocol::{Malformed, ACCEPTED_ENCODINGS};

use crate::deadline::Deadline;
use crate::event::{PathError, Source};

/// A boxed error, as `tower` and `http-body` report them: a service's own error, kept as its
/// source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a call did not reach its handler, or its answer could not be sent as it was.
///
/// The shim's own error, answered to the client as a gRPC status; not `lambda_runtime::Error`
/// (what [`run`](crate::run) returns when the Runtime API cannot be reached) nor
/// `tonic::Status` (a handler's answer).
///
/// Each variant becomes a gRPC status with [`Error::to_status`]; the message is the `Display`
/// text, written for the person reading the client's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The event said `isBase64Encoded` but its body is not base64.
    EventBase64(Base64Error),
    /// A gRPC-Web-text body that is not base64.
    WebTextBase64(Base64Error),
    /// The body is not a sequence of well-formed frames, or a frame is over the message limit.
    Frame(DecodeError),
    /// The request carries a gRPC-Web trailer frame, which only responses may carry.
    TrailersInRequest,
    /// A message flagged compressed in a request that names no `grpc-encoding`.
    CompressedWithoutEncoding {
        /// The message's index in the request, from 0.
        index: usize,
    },
    /// A compressed message under a `grpc-encoding` this function does not decode.
    UnsupportedEncoding {
        /// The `grpc-encoding` of the request, `identity` when none was named.
        encoding: String,
    },
    /// A compressed message that does not decompress, or decompresses past the limit (the
    /// decompressor's error).
    Decompress(BoxError),
    /// `grpc-timeout` cannot be read.
    InvalidTimeout(TimeoutError),
    /// The event's path names no gRPC method (`UNIMPLEMENTED`, naming the path).
    Path(PathError),
    /// The method path does not parse as the URI of the request handed to the service.
    Uri {
        /// The path, when it holds characters a URI path does not.
        path: Option<String>,
        /// Why it does not parse.
        source: http::uri::InvalidUri,
    },
    /// A message of the response is over the limit.
    Encode(EncodeError),
    /// The response would not fit in what the front door accepts from a Lambda function.
    ResponseTooLarge {
        /// Bytes of response JSON it would take.
        len: usize,
        /// The front door's limit.
        limit: usize,
        /// The front door.
        source: Source,
    },
    /// The call ran out of time.
    DeadlineExceeded(Deadline),
    /// The service failed instead of answering (a `tower::Service` error, or its body's), kept
    /// as the service reported it.
    Service(BoxError),
    /// The handler panicked.
    Panic(String),
    /// A bare request message (Connect unary, Twirp) over the message limit.
    RequestTooLarge {
        /// Its length, decompressed.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The request's messages, decompressed and transcoded, come to more than the shim holds
    /// for one request.
    RequestBodyTooLarge {
        /// The limit.
        max: usize,
    },
    /// A JSON request message longer than the shim transcodes: JSON is read into a dynamic
    /// message that takes many times its size in memory.
    JsonTooLarge {
        /// Its length.
        len: usize,
        /// The limit, `json::MAX_JSON_MESSAGE_LEN` (feature `json`) or the message limit if smaller.
        max: usize,
    },
    /// A Connect streaming request carries an end-stream message (flag `0x02`), which only
    /// responses may carry.
    EndStreamInRequest,
    /// A JSON call, or a Connect GET, to a function serving without the service's descriptors.
    NoDescriptors {
        /// The method called.
        path: String,
        /// `"a JSON message"` or `"a Connect GET"`.
        what: &'static str,
    },
    /// A JSON call, or a Connect GET, for a method the descriptors do not name.
    UnknownMethod {
        /// The method called.
        path: String,
    },
    /// A unary protocol's call (Connect unary or GET, Twirp) of a server-streaming method, known
    /// from the descriptors.
    StreamingMethod {
        /// The method called.
        path: String,
        /// The caller's protocol.
        protocol: &'static str,
    },
    /// A Connect GET of a method not marked `idempotency_level = NO_SIDE_EFFECTS`.
    GetWithSideEffects {
        /// The method called.
        path: String,
    },
    /// A response message the service compressed, for a caller whose answer the shim writes
    /// (Connect, Twirp, `+json`): the shim asks the service for no compression.
    CompressedResponse,
    /// A unary call (Connect unary, Twirp) whose service answered other than one message.
    UnaryAnswer {
        /// How many messages it answered.
        messages: usize,
    },
    /// A request message in JSON that is not the method's request message (malformed JSON with
    /// its byte offset, an unknown field by name, a value that does not fit its field).
    #[cfg(feature = "json")]
    RequestJson(crate::json::JsonError),
    /// A response message the service wrote that cannot be written as JSON.
    #[cfg(feature = "json")]
    ResponseJson(crate::json::JsonError),
    /// The service answered with an HTTP response that is not gRPC.
    NotGrpc {
        /// The HTTP status of the service's response.
        status: u16,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EventBase64(err) => write!(
                f,
                "the request body is marked isBase64Encoded but is not base64: {err}"
            ),
            Error::WebTextBase64(err) => write!(f, "the grpc-web-text request body is not base64: {err}"),
            Error::Frame(DecodeError::MessageTooLarge { len, max, offset }) => write!(
                f,
                "request message of {len} bytes (frame at byte {offset}) is larger than the limit of {max} bytes"
            ),
            Error::Frame(err) => write!(
                f,
                "the request body is not a sequence of length-prefixed gRPC messages: {err}"
            ),
            Error::TrailersInRequest => f.write_str(
                "the request carries a gRPC-Web trailer frame (flag 0x80), which only responses may carry",
            ),
            Error::CompressedWithoutEncoding { index } => write!(
                f,
                "request message {index} is flagged compressed, but the request names no grpc-encoding \
                 (accepted: {ACCEPTED_ENCODINGS})"
            ),
            Error::UnsupportedEncoding { encoding } => write!(
                f,
                "the request message is compressed with grpc-encoding {encoding:?}, which this function does not decode"
            ),
            Error::Decompress(err) => write!(f, "the compressed request message does not decompress: {err}"),
            Error::InvalidTimeout(err) => write!(f, "malformed grpc-timeout: {err}"),
            Error::Path(err) => err.fmt(f),
            Error::Uri { path: Some(path), source } => {
                write!(f, "path {path:?} is not a URI path: {source}")
            }
            Error::Uri { path: None, source } => write!(f, "the path is not a URI path: {source}"),
            Error::Encode(EncodeError::MessageTooLarge { len, max }) => write!(
                f,
                "response message of {len} bytes is larger than the limit of {max} bytes"
            ),
            Error::Encode(err) => write!(f, "the response message cannot be framed: {err}"),
            Error::ResponseTooLarge { len, limit, source } => write!(
                f,
                "the response would take {len} bytes of Lambda response JSON (base64 included), over the \
                 {source}'s limit of {limit} bytes for a Lambda function's response"
            ),
            Error::DeadlineExceeded(deadline) => write!(f, "{deadline}"),
            Error::Service(err) => write!(f, "the service failed: {err}"),
            Error::Panic(reason) => write!(f, "the handler panicked: {reason}"),
            Error::RequestTooLarge { len, max } => write!(
                f,
                "request message of {len} bytes is larger than the limit of {max} bytes"
            ),
            Error::RequestBodyTooLarge { max } => write!(
                f,
                "the request's messages come to more than {max} bytes decompressed"
            ),
            Error::JsonTooLarge { len, max } => write!(
                f,
                "JSON request message of {len} bytes is larger than the limit of {max} bytes for JSON"
            ),
            Error::StreamingMethod { path, protocol } => write!(
                f,
                "method {path} streams its answer, which a {protocol} call cannot carry: call it with a streaming protocol (Connect streaming, gRPC-Web or gRPC)"
            ),
            Error::EndStreamInRequest => f.write_str(
                "the request carries a Connect end-stream message (flag 0x02), which only responses may carry",
            ),
            Error::NoDescriptors { path, what } => write!(
                f,
                "{what} to {path} needs the service's descriptors, and this function serves \
                 protobuf only: hand them to the shim with Shim::json (feature json)"
            ),
            Error::UnknownMethod { path } => write!(
                f,
                "method {path} is not in the service's descriptors"
            ),
            Error::GetWithSideEffects { path } => write!(
                f,
                "{path} may not be called with GET: only a method marked \
                 idempotency_level = NO_SIDE_EFFECTS may; use POST"
            ),
            Error::CompressedResponse => f.write_str(
                "the service compressed a response message, though the call it was handed \
                 accepts no compression",
            ),
            Error::UnaryAnswer { messages } => write!(
                f,
                "the unary method answered {messages} messages instead of one"
            ),
            #[cfg(feature = "json")]
            Error::RequestJson(err) => write!(f, "the request message is not valid JSON for its type: {err}"),
            #[cfg(feature = "json")]
            Error::ResponseJson(err) => write!(f, "the response message cannot be written as JSON: {err}"),
            Error::NotGrpc { status } => write!(
                f,
                "the service answered HTTP {status} without a grpc-status"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::EventBase64(err) | Error::WebTextBase64(err) => Some(err),
            Error::Frame(err) => Some(err),
            Error::Decompress(err) | Error::Service(err) => Some(&**err),
            Error::InvalidTimeout(err) => Some(err),
            Error::Path(err) => Some(err),
            Error::Uri { source, .. } => Some(source),
            Error::Encode(err) => Some(err),
            #[cfg(feature = "json")]
            Error::RequestJson(err) | Error::ResponseJson(err) => Some(err),
            _ => None,
        }
    }
}

impl Error {
    /// The gRPC code for this error: a malformed request gets the code
    /// [`grpc_lambda_protocol::Malformed::code`] gives it, the proxy's answer to the same input;
    /// a response over a limit is `RESOURCE_EXHAUSTED`, a service that answers without a status
    /// gets the code its HTTP status maps to.
    pub fn code(&self) -> Code {
        match self.malformed() {
            Some(malformed) => malformed.code(),
            None => match self {
                Error::Encode(EncodeError::MessageTooLarge { .. })
                | Error::ResponseTooLarge { .. } => Code::ResourceExhausted,
                Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
                Error::Path(_)
                | Error::NoDescriptors { .. }
                | Error::UnknownMethod { .. }
                | Error::GetWithSideEffects { .. }
                | Error::StreamingMethod { .. } => Code::Unimplemented,
                Error::RequestTooLarge { .. }
                | Error::RequestBodyTooLarge { .. }
                | Error::JsonTooLarge { .. } => Code::ResourceExhausted,
                Error::EndStreamInRequest => Code::Internal,
                #[cfg(feature = "json")]
                Error::RequestJson(crate::json::JsonError::MessageTooLarge { .. }) => {
                    Code::ResourceExhausted
                }
                Error::Service(_) => Code::Unknown,
                Error::NotGrpc { status } => Code::from_http_status(*status),
                _ => Code::Internal,
            },
        }
    }

    /// The kind of malformed request this error is, when it is one.
    fn malformed(&self) -> Option<Malformed> {
        Some(match self {
            Error::EventBase64(_) => Malformed::EventBase64,
            Error::WebTextBase64(_) => Malformed::WebTextBase64,
            Error::Frame(err) => Malformed::from(err),
            Error::TrailersInRequest => Malformed::TrailersInRequest,
            Error::CompressedWithoutEncoding { .. } => Malformed::CompressedWithoutEncoding,
            Error::UnsupportedEncoding { .. } => Malformed::UnsupportedEncoding,
            Error::Decompress(_) => Malformed::Decompress,
            Error::InvalidTimeout(_) => Malformed::Timeout,
            _ => return None,
        })
    }

    /// Whether this is a compressed message that inflated past its limit.
    pub(crate) fn is_decompressed_too_large(&self) -> bool {
        #[cfg(feature = "gzip")]
        if let Error::Decompress(err) = self {
            return matches!(
                err.downcast_ref::<grpc_lambda_core::gzip::GzipError>(),
                Some(grpc_lambda_core::gzip::GzipError::TooLarge { .. })
            );
        }
        false
    }

    /// Whether the function is at fault (its handler or its answer) rather than the request or
    /// the client's deadline: what its owner must see in the logs.
    pub(crate) fn is_functions(&self) -> bool {
        match self {
            Error::Encode(_)
            | Error::ResponseTooLarge { .. }
            | Error::Service(_)
            | Error::Panic(_)
            | Error::NotGrpc { .. }
            | Error::CompressedResponse
            | Error::UnaryAnswer { .. } => true,
            #[cfg(feature = "json")]
            Error::ResponseJson(_) => true,
            _ => false,
        }
    }

    /// The status a client receives for this error.
    pub fn to_status(&self) -> Status {
        Status::new(self.code(), self.to_string())
    }

    /// Whether this is a request message the shim could not read as its type (JSON that is
    /// malformed, names an unknown field, or holds a value its field cannot): `INTERNAL` for a
    /// gRPC client, as any body the library cannot parse ([`Error::code`]); a Connect or Twirp
    /// client gets its own protocol's answer, `invalid_argument` (Twirp `malformed`).
    pub fn is_malformed_message(&self) -> bool {
        #[cfg(feature = "json")]
        if let Error::RequestJson(err) = self {
            return !matches!(err, crate::json::JsonError::MessageTooLarge { .. });
        }
        false
    }

    /// The status a client of Connect or Twirp receives for this error: as [`Error::to_status`],
    /// but a malformed request message is `INVALID_ARGUMENT`.
    pub(crate) fn to_connect_status(&self) -> Status {
        let code = if self.is_malformed_message() {
            Code::InvalidArgument
        } else {
            self.code()
        };
        Status::new(code, self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_names_the_numbers() {
        let err = Error::Frame(DecodeError::MessageTooLarge {
            len: 5_000_000,
            max: 4_194_304,
            offset: 0,
        });
        let status = err.to_status();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "request message of 5000000 bytes (frame at byte 0) is larger than the limit of 4194304 bytes"
        );
        let err = Error::ResponseTooLarge {
            len: 2_000_000,
            limit: 1_048_576,
            source: Source::Alb {
                multi_value_headers: false,
            },
        };
        assert!(err.to_string().contains("2000000 bytes"));
        assert!(err.to_string().contains("ALB's limit of 1048576 bytes"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(
            crate::deadline::human_duration(std::time::Duration::from_millis(250)),
            "250ms"
        );
        assert_eq!(
            crate::deadline::human_duration(std::time::Duration::from_millis(3500)),
            "3.500s"
        );
    }
}
