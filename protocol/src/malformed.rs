//! Which requests are gRPC calls, and the status each malformed one gets: the same answer from
//! the proxy and from the shim.
//!
//! gRPC's `statuscodes.md` lists the codes the library itself produces: `INTERNAL` for "Could not
//! decompress, but compression algorithm supported", "Flow-control protocol violation", "Error
//! parsing returned status" and the like; `UNIMPLEMENTED` for "Method not found at server" and a
//! compression the server does not support (`compression.md`); `RESOURCE_EXHAUSTED` for "Server
//! … exceeded memory limits". It never produces `INVALID_ARGUMENT`, which is the application's.
//! A request body the library cannot parse is therefore `INTERNAL`.

use std::fmt;

use grpc_lambda_core::content_type::ContentTypeError;
use grpc_lambda_core::{Code, ContentType, DecodeError, Status};
use http::{Method, StatusCode};

use crate::connect::{ConnectHeaderError, QueryError};
use crate::path::PathError;
use crate::protocols::Protocol;

/// The encodings a request may carry in `grpc-encoding`, as `grpc-accept-encoding` lists them:
/// what the shim decodes (identity, and gzip with its `gzip` feature).
pub const ACCEPTED_ENCODINGS: &str = "identity,gzip";

/// A request whose body or headers the gRPC library cannot read. [`Malformed::code`] is the
/// one table from each kind to its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Malformed {
    /// The body is not a sequence of well-formed frames: it ends inside a frame, or a frame
    /// header sets reserved flag bits or a flag its protocol's envelope does not allow.
    Frame,
    /// A frame header declares a message over the reader's message limit.
    MessageTooLarge,
    /// A gRPC-Web-text body that is not base64.
    WebTextBase64,
    /// An event body marked `isBase64Encoded` that is not base64.
    EventBase64,
    /// A gRPC-Web trailer frame (flag `0x80`) in a request, where only responses carry one.
    TrailersInRequest,
    /// A message flagged compressed in a request that names no `grpc-encoding`.
    CompressedWithoutEncoding,
    /// A `grpc-encoding` the reader does not decode.
    UnsupportedEncoding,
    /// A compressed message that does not decompress.
    Decompress,
    /// A `grpc-timeout` that is not a gRPC timeout (`1*8DIGIT` and one unit letter).
    Timeout,
}

impl Malformed {
    /// The gRPC code the request is answered with.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    /// use grpc_lambda_protocol::Malformed;
    ///
    /// assert_eq!(Malformed::Timeout.code(), Code::Internal);
    /// assert_eq!(Malformed::MessageTooLarge.code(), Code::ResourceExhausted);
    /// assert_eq!(Malformed::UnsupportedEncoding.code(), Code::Unimplemented);
    /// ```
    pub const fn code(self) -> Code {
        match self {
            // statuscodes.md: RESOURCE_EXHAUSTED, "Server … exceeded memory limits"; grpc-go and
            // tonic answer a message over the receive limit with it.
            Malformed::MessageTooLarge => Code::ResourceExhausted,
            // compression.md: "If a client message is compressed by an algorithm that is not
            // supported by a server, the message will result in an UNIMPLEMENTED error status".
            Malformed::UnsupportedEncoding => Code::Unimplemented,
            // Bodies and headers the library cannot parse. compression.md: a compressed flag
            // with no grpc-encoding "MUST" be treated "as an INTERNAL error".
            Malformed::Frame
            | Malformed::WebTextBase64
            | Malformed::EventBase64
            | Malformed::TrailersInRequest
            | Malformed::CompressedWithoutEncoding
            | Malformed::Decompress
            | Malformed::Timeout => Code::Internal,
        }
    }
}

impl From<&DecodeError> for Malformed {
    fn from(err: &DecodeError) -> Self {
        match err {
            DecodeError::MessageTooLarge { .. } => Malformed::MessageTooLarge,
            _ => Malformed::Frame,
        }
    }
}

/// Whether a message flagged `compressed` may be read under the request's `grpc-encoding`.
///
/// # Errors
///
/// [`Malformed::CompressedWithoutEncoding`] for a compressed message when the request names no
/// encoding, or names `identity`.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::{check_compressed_flag, Malformed};
///
/// assert_eq!(check_compressed_flag(true, Some(b"gzip")), Ok(()));
/// assert_eq!(check_compressed_flag(false, None), Ok(()));
/// assert_eq!(check_compressed_flag(true, None), Err(Malformed::CompressedWithoutEncoding));
/// ```
pub fn check_compressed_flag(compressed: bool, encoding: Option<&[u8]>) -> Result<(), Malformed> {
    match encoding {
        None | Some(b"identity") if compressed => Err(Malformed::CompressedWithoutEncoding),
        _ => Ok(()),
    }
}

/// A request that is not a call. [`check_call`] refuses with the first three, answered with an
/// HTTP status and a text body; [`crate::call::read_call`] with any, wrapped in a
/// [`crate::call::Refusal`] that knows the protocol whose error form answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotACall {
    /// No `content-type`.
    NoContentType,
    /// A `content-type` that is not one a call is sent with.
    ContentType(ContentTypeError),
    /// A method other than POST for gRPC (OPTIONS is a CORS preflight, answered before this
    /// check).
    Method(Method),
    /// A method the protocol does not call with (Connect: POST, or GET with a Connect query;
    /// Twirp: POST).
    MethodFor {
        /// The protocol the request was read as.
        protocol: Protocol,
        /// The method received.
        method: Method,
    },
    /// A content type that does not go with the path: Twirp's `application/protobuf` outside
    /// `/twirp/`, or under `/twirp/` anything but `application/protobuf` and `application/json`.
    ContentTypeForPath {
        /// The content type, as [`grpc_lambda_core::MediaType::as_str`] spells it.
        content_type: &'static str,
        /// Whether the path is under `/twirp/`.
        twirp_path: bool,
    },
    /// The path names no method.
    Path(PathError),
    /// A Connect request header that cannot be accepted (`connect-protocol-version`,
    /// `connect-timeout-ms`).
    ConnectHeader(ConnectHeaderError),
    /// A Connect GET query that cannot be read.
    Query(QueryError),
}

impl NotACall {
    /// The HTTP status: 415 for the content type (PROTOCOL-HTTP2.md: a server "should" answer
    /// a request whose content-type does not begin with application/grpc with "HTTP status
    /// 415"), 405 for the method.
    /// For the others: 405 for a method, 415 for a content type, 404 for a path, 400 for a
    /// Connect header or query.
    pub fn http_status(&self) -> StatusCode {
        match self {
            NotACall::NoContentType
            | NotACall::ContentType(_)
            | NotACall::ContentTypeForPath { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NotACall::Method(_) | NotACall::MethodFor { .. } => StatusCode::METHOD_NOT_ALLOWED,
            NotACall::Path(_) => StatusCode::NOT_FOUND,
            NotACall::ConnectHeader(_) | NotACall::Query(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The gRPC code of the refusal: for the content type and method refusals, the code of
    /// PROTOCOL-HTTP2.md's HTTP-to-gRPC mapping of [`NotACall::http_status`] (`UNKNOWN`);
    /// `UNIMPLEMENTED` for a path that names no method; the header's or query's own code
    /// (`INVALID_ARGUMENT`, or `UNIMPLEMENTED` for a compression, `RESOURCE_EXHAUSTED` for a
    /// message over the limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    /// use grpc_lambda_protocol::{path::method_path, NotACall};
    ///
    /// assert_eq!(NotACall::NoContentType.code(), Code::Unknown);
    /// let path = method_path("/x").unwrap_err();
    /// assert_eq!(NotACall::Path(path).code(), Code::Unimplemented);
    /// ```
    pub fn code(&self) -> Code {
        match self {
            NotACall::Path(_) => Code::Unimplemented,
            NotACall::ConnectHeader(err) => err.code(),
            NotACall::Query(err) => err.code(),
            NotACall::NoContentType
            | NotACall::ContentType(_)
            | NotACall::Method(_)
            | NotACall::MethodFor { .. }
            | NotACall::ContentTypeForPath { .. } => {
                Code::from_http_status(self.http_status().as_u16())
            }
        }
    }

    /// The gRPC status sent with the HTTP one, for a client that reads `grpc-status` rather
    /// than map the HTTP status itself: the code of PROTOCOL-HTTP2.md's HTTP-to-gRPC mapping
    /// (`UNKNOWN` for 405 and 415) and this refusal's text.
    ///
    /// # Examples
    ///
    /// ```
    /// let refused = grpc_lambda_protocol::check_call(&http::Method::POST, None).unwrap_err();
    /// assert_eq!(refused.status().code(), grpc_lambda_core::Code::Unknown);
    /// ```
    pub fn status(&self) -> Status {
        Status::new(self.code(), self.to_string())
    }
}

impl fmt::Display for NotACall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotACall::NoContentType => f.write_str(
                "the request has no content-type; a gRPC call is sent as application/grpc, \
                 application/grpc-web or application/grpc-web-text",
            ),
            NotACall::ContentType(err) => write!(f, "{err}"),
            NotACall::Method(method) => write!(f, "gRPC calls are POST requests, not {method}"),
            NotACall::MethodFor { protocol, method } if protocol.is_connect() => write!(
                f,
                "Connect calls are POST requests, or GET with a ?connect=v1&encoding=…&message=… \
                 query for side-effect-free methods, not {method}"
            ),
            NotACall::MethodFor { protocol, method } => {
                write!(f, "{protocol} calls are POST requests, not {method}")
            }
            NotACall::ContentTypeForPath {
                content_type,
                twirp_path: true,
            } => write!(
                f,
                "content-type {content_type} is not Twirp's: a /twirp/ path takes \
                 application/protobuf or application/json"
            ),
            NotACall::ContentTypeForPath { content_type, .. } => write!(
                f,
                "content-type {content_type} is Twirp's, whose paths start with /twirp/"
            ),
            NotACall::Path(err) => write!(f, "{err}"),
            NotACall::ConnectHeader(err) => write!(f, "{err}"),
            NotACall::Query(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for NotACall {}

/// The call a request makes, from its method and `content-type`.
///
/// # Errors
///
/// [`NotACall`] naming what is wrong; the content type is checked first, so a browser's GET of
/// a page is told what a gRPC call looks like.
pub fn check_call(method: &Method, content_type: Option<&[u8]>) -> Result<ContentType, NotACall> {
    let content_type = match content_type.map(ContentType::parse_bytes) {
        Some(Ok(content_type)) => content_type,
        Some(Err(err)) => return Err(NotACall::ContentType(err)),
        None => return Err(NotACall::NoContentType),
    };
    if method != Method::POST {
        return Err(NotACall::Method(method.clone()));
    }
    Ok(content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_refusals() {
        assert_eq!(
            check_call(&Method::POST, Some(b"application/grpc+proto")),
            Ok(ContentType::GrpcProto)
        );
        let refused = check_call(&Method::POST, None).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(refused.to_string().contains("no content-type"));
        let refused = check_call(&Method::POST, Some(b"application/json")).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(
            refused.to_string().contains("application/json"),
            "{refused}"
        );
        // The content type is named before the method.
        let refused = check_call(&Method::GET, Some(b"text/html")).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let refused = check_call(&Method::PUT, Some(b"application/grpc")).unwrap_err();
        assert_eq!(refused.http_status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(refused.to_string(), "gRPC calls are POST requests, not PUT");
    }

    #[test]
    fn frame_errors_map_by_kind() {
        let too_large = DecodeError::MessageTooLarge {
            len: 17,
            max: 16,
            offset: 0,
        };
        assert_eq!(Malformed::from(&too_large), Malformed::MessageTooLarge);
        let reserved = DecodeError::ReservedFlags {
            flags: 0x02,
            offset: 0,
        };
        assert_eq!(Malformed::from(&reserved).code(), Code::Internal);
        assert_eq!(
            check_compressed_flag(true, Some(b"identity")),
            Err(Malformed::CompressedWithoutEncoding)
        );
    }
}
