//! The JSON bodies of Connect and Twirp errors, written from a [`Status`] and read back.
//!
//! - Connect error (a unary call's error body): `{"code":"not_found","message":"…",
//!   "details":[{"type":"google.rpc.ErrorInfo","value":"<base64, unpadded>"}]}`; the details
//!   are the `google.protobuf.Any`s of the `google.rpc.Status` a [`Status`] carries
//!   (`grpc-status-details-bin`), each type named without `type.googleapis.com/`.
//! - Connect end-stream (a stream's last message, flag `0x02`): `{"error":{…},"metadata":
//!   {"name":["value",…]}}`, the error absent when the call succeeded, the metadata the
//!   trailers (`-bin` values base64, unpadded, as in headers).
//! - Twirp error: `{"code":"not_found","msg":"…","meta":{"k":"v"}}`.

use std::fmt;

use base64::engine::general_purpose::{STANDARD_NO_PAD, STANDARD_PAD_INDIFFERENT};
use base64::Engine as _;
use grpc_lambda_core::metadata::{decode_binary_value, encode_binary_value};
use grpc_lambda_core::status::{TwirpCode, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN};
use grpc_lambda_core::{Code, Metadata, MetadataError, Status};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The prefix of a `google.protobuf.Any` type URL that Connect's `type` leaves off.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The `content-type` of every Connect and Twirp error body.
pub const ERROR_CONTENT_TYPE: &str = "application/json";

/// `google.rpc.Status`, as `grpc-status-details-bin` carries it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// One error detail: a message and the name of its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDetail {
    /// The message's full type name, e.g. `google.rpc.ErrorInfo` (no `type.googleapis.com/`).
    pub type_name: String,
    /// The serialized message.
    pub value: Vec<u8>,
}

/// The details a [`Status`] carries: the `details` of the `google.rpc.Status` in
/// [`Status::details`]; none when it carries none.
///
/// # Errors
///
/// [`JsonError::Details`] when the details are not a `google.rpc.Status`.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{Code, Status};
///
/// assert!(grpc_lambda_protocol::json::status_details(&Status::new(Code::NotFound, "x"))?.is_empty());
/// # Ok::<(), grpc_lambda_protocol::json::JsonError>(())
/// ```
pub fn status_details(status: &Status) -> Result<Vec<ErrorDetail>, JsonError> {
    if status.details().is_empty() {
        return Ok(Vec::new());
    }
    let rpc = RpcStatus::decode(status.details().as_ref())
        .map_err(|err| JsonError::Details(err.to_string()))?;
    Ok(rpc
        .details
        .into_iter()
        .map(|any| ErrorDetail {
            type_name: any
                .type_url
                .strip_prefix(TYPE_URL_PREFIX)
                .unwrap_or(&any.type_url)
                .to_owned(),
            value: any.value,
        })
        .collect())
}

/// A [`Status`] with `details` encoded as the `google.rpc.Status` gRPC carries them in.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Code;
/// use grpc_lambda_protocol::json::{status_details, status_with_details, ErrorDetail};
///
/// let detail = ErrorDetail { type_name: "google.rpc.ErrorInfo".into(), value: vec![10, 1, 120] };
/// let status = status_with_details(Code::NotFound, "gone", vec![detail.clone()]);
/// assert_eq!(status_details(&status)?, [detail]);
/// # Ok::<(), grpc_lambda_protocol::json::JsonError>(())
/// ```
pub fn status_with_details(code: Code, message: &str, details: Vec<ErrorDetail>) -> Status {
    let status = Status::new(code, message);
    if details.is_empty() {
        return status;
    }
    let rpc = RpcStatus {
        code: code.as_i32(),
        message: message.to_owned(),
        details: details
            .into_iter()
            .map(|detail| Any {
                type_url: format!("{TYPE_URL_PREFIX}{}", detail.type_name),
                value: detail.value,
            })
            .collect(),
    };
    status.with_details(rpc.encode_to_vec().into())
}

/// A JSON body that cannot be read as the error or end-stream message it should be.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON, or not of the expected shape; serde_json's message names line and column.
    Syntax(serde_json::Error),
    /// A detail's `value` is not base64.
    DetailValue {
        /// The detail's index in `details`.
        index: usize,
        /// What the decoder said.
        reason: String,
    },
    /// The status details are not a `google.rpc.Status`.
    Details(String),
    /// End-stream metadata that is not valid metadata.
    Metadata(MetadataError),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(err) => write!(f, "error body is not the expected JSON: {err}"),
            Self::DetailValue { index, reason } => {
                write!(f, "details[{index}].value is not base64: {reason}")
            }
            Self::Details(reason) => {
                write!(f, "status details are not a google.rpc.Status: {reason}")
            }
            Self::Metadata(err) => write!(f, "end-stream metadata: {err}"),
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Syntax(err) => Some(err),
            Self::Metadata(err) => Some(err),
            _ => None,
        }
    }
}

/// A Connect error object, fields in the spec's order.
#[derive(Serialize)]
struct ConnectErrorOut<'a> {
    code: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<DetailOut>,
}

#[derive(Serialize)]
struct DetailOut {
    #[serde(rename = "type")]
    type_name: String,
    value: String,
}

/// The Connect error object of `status`. Details that are not a `google.rpc.Status` are left
/// out (the code and message still go).
fn connect_error_out(status: &Status) -> ConnectErrorOut<'_> {
    ConnectErrorOut {
        // OK carries no error; a caller asking for one gets `unknown`, never an invalid code.
        code: status.code().connect_name().unwrap_or("unknown"),
        message: status.message(),
        details: status_details(status)
            .unwrap_or_default()
            .into_iter()
            .map(|detail| DetailOut {
                type_name: detail.type_name,
                value: STANDARD_NO_PAD.encode(&detail.value),
            })
            .collect(),
    }
}

/// `value` as JSON; the shapes written here (strings, arrays, maps with string keys) always
/// serialize.
fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The Connect unary error body of `status` (answered with `content-type: application/json`
/// and the HTTP status [`Code::connect_http_status`]).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{Code, Status};
///
/// let body = grpc_lambda_protocol::json::connect_error_json(&Status::new(Code::NotFound, "no such row"));
/// assert_eq!(body, br#"{"code":"not_found","message":"no such row"}"#);
/// ```
pub fn connect_error_json(status: &Status) -> Vec<u8> {
    to_json(&connect_error_out(status))
}

#[derive(Deserialize)]
struct ConnectErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<DetailBody>,
}

#[derive(Deserialize)]
struct DetailBody {
    #[serde(rename = "type")]
    type_name: String,
    value: String,
}

impl ConnectErrorBody {
    fn into_status(self) -> Result<Status, JsonError> {
        // A client reads a code it does not know as `unknown`.
        let code = Code::from_connect_name(&self.code).unwrap_or(Code::Unknown);
        let details = self
            .details
            .into_iter()
            .enumerate()
            .map(|(index, detail)| {
                let value = STANDARD_PAD_INDIFFERENT
                    .decode(detail.value.as_bytes())
                    .map_err(|err| JsonError::DetailValue {
                        index,
                        reason: err.to_string(),
                    })?;
                Ok(ErrorDetail {
                    type_name: detail.type_name,
                    value,
                })
            })
            .collect::<Result<Vec<_>, JsonError>>()?;
        Ok(status_with_details(code, &self.message, details))
    }
}

/// Reads a Connect error body into a [`Status`]: an unknown or missing code is `unknown`, as
/// Connect clients read it; details become the status's `google.rpc.Status`.
///
/// # Errors
///
/// [`JsonError`] for a body that is not a JSON object of that shape, or a detail value that is
/// not base64.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Code;
///
/// let status = grpc_lambda_protocol::json::read_connect_error(br#"{"code":"unavailable","message":"later"}"#)?;
/// assert_eq!((status.code(), status.message()), (Code::Unavailable, "later"));
/// # Ok::<(), grpc_lambda_protocol::json::JsonError>(())
/// ```
pub fn read_connect_error(body: &[u8]) -> Result<Status, JsonError> {
    serde_json::from_slice::<ConnectErrorBody>(body)
        .map_err(JsonError::Syntax)?
        .into_status()
}

/// Whether a trailer travels in the end-stream's `error` rather than its `metadata`.
fn is_status_trailer(name: &str) -> bool {
    name == GRPC_STATUS || name == GRPC_MESSAGE || name == GRPC_STATUS_DETAILS_BIN
}

/// The Connect end-stream message's JSON: `status`'s error unless it is OK, and `trailers`
/// as `metadata` (the `grpc-status`, `grpc-message` and `grpc-status-details-bin` trailers,
/// which the error already says, left out; `-bin` values as unpadded base64).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{Code, Metadata, Status};
/// use grpc_lambda_protocol::json::connect_end_stream_json;
///
/// let mut trailers = Metadata::new();
/// trailers.append("x-count", "2")?;
/// assert_eq!(connect_end_stream_json(&Status::ok(), &trailers), br#"{"metadata":{"x-count":["2"]}}"#);
/// let failed = connect_end_stream_json(&Status::new(Code::Internal, "boom"), &Metadata::new());
/// assert_eq!(failed, br#"{"error":{"code":"internal","message":"boom"}}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_end_stream_json(status: &Status, trailers: &Metadata) -> Vec<u8> {
    #[derive(Serialize)]
    struct EndStreamOut<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ConnectErrorOut<'a>>,
        #[serde(skip_serializing_if = "Map::is_empty")]
        metadata: Map<String, Value>,
    }
    let mut metadata = Map::new();
    for (name, value) in trailers.iter().filter(|(name, _)| !is_status_trailer(name)) {
        let value = if name.ends_with("-bin") {
            // Re-encoded, so a padded value leaves unpadded.
            decode_binary_value(value)
                .map(|bytes| encode_binary_value(&bytes))
                .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned())
        } else {
            String::from_utf8_lossy(value).into_owned()
        };
        if let Value::Array(values) = metadata
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(value.into());
        }
    }
    to_json(&EndStreamOut {
        error: (!status.is_ok()).then(|| connect_error_out(status)),
        metadata,
    })
}

#[derive(Deserialize)]
struct EndStreamBody {
    #[serde(default)]
    error: Option<ConnectErrorBody>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, Vec<String>>,
}

/// Reads a Connect end-stream message: the call's status ([`Status::ok`] when it carries no
/// error) and its trailers.
///
/// # Errors
///
/// [`JsonError`] for JSON not of that shape, and metadata names or values that are not valid.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Code;
///
/// let (status, trailers) = grpc_lambda_protocol::json::read_connect_end_stream(
///     br#"{"error":{"code":"aborted"},"metadata":{"x-a":["1","2"]}}"#,
/// )?;
/// assert_eq!(status.code(), Code::Aborted);
/// assert_eq!(trailers.get_all("x-a").count(), 2);
/// # Ok::<(), grpc_lambda_protocol::json::JsonError>(())
/// ```
pub fn read_connect_end_stream(body: &[u8]) -> Result<(Status, Metadata), JsonError> {
    let end: EndStreamBody = serde_json::from_slice(body).map_err(JsonError::Syntax)?;
    let status = match end.error {
        Some(error) => error.into_status()?,
        None => Status::ok(),
    };
    let mut trailers = Metadata::new();
    for (name, values) in end.metadata {
        for value in values {
            trailers.append(&name, value).map_err(JsonError::Metadata)?;
        }
    }
    Ok((status, trailers))
}

/// The Twirp error body: `code`, `msg`, and `meta` from the pairs given (a name given twice
/// keeps its last value).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::status::TwirpCode;
/// use grpc_lambda_protocol::json::twirp_error_json;
///
/// let body = twirp_error_json(TwirpCode::BadRoute, "no such method", [("path", "/twirp/a.B/C")]);
/// assert_eq!(body, br#"{"code":"bad_route","msg":"no such method","meta":{"path":"/twirp/a.B/C"}}"#);
/// ```
pub fn twirp_error_json<'a>(
    code: TwirpCode,
    msg: &str,
    meta: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct TwirpErrorOut<'a> {
        code: &'static str,
        msg: &'a str,
        meta: Map<String, Value>,
    }
    to_json(&TwirpErrorOut {
        code: code.as_str(),
        msg,
        meta: meta
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect(),
    })
}

/// The Twirp error body of a [`Status`]: its code as Twirp names it, its message, no meta.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{Code, Status};
///
/// let body = grpc_lambda_protocol::json::twirp_status_json(&Status::new(Code::FailedPrecondition, "not yet"));
/// assert_eq!(body, br#"{"code":"failed_precondition","msg":"not yet","meta":{}}"#);
/// ```
pub fn twirp_status_json(status: &Status) -> Vec<u8> {
    twirp_error_json(TwirpCode::from(status.code()), status.message(), [])
}

/// A Twirp error, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwirpError {
    /// `code`; one Twirp does not define reads as [`TwirpCode::Unknown`].
    pub code: TwirpCode,
    /// `msg`.
    pub msg: String,
    /// `meta`, in name order.
    pub meta: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct TwirpErrorBody {
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    meta: std::collections::BTreeMap<String, String>,
}

/// Reads a Twirp error body.
///
/// # Errors
///
/// [`JsonError::Syntax`] for JSON not of that shape (`code` is required).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::status::TwirpCode;
///
/// let error = grpc_lambda_protocol::json::read_twirp_error(br#"{"code":"malformed","msg":"bad"}"#)?;
/// assert_eq!(error.code, TwirpCode::Malformed);
/// # Ok::<(), grpc_lambda_protocol::json::JsonError>(())
/// ```
pub fn read_twirp_error(body: &[u8]) -> Result<TwirpError, JsonError> {
    let body: TwirpErrorBody = serde_json::from_slice(body).map_err(JsonError::Syntax)?;
    Ok(TwirpError {
        code: TwirpCode::parse(&body.code).unwrap_or(TwirpCode::Unknown),
        msg: body.msg,
        meta: body.meta.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detailed() -> Status {
        status_with_details(
            Code::NotFound,
            "no \"row\" 7",
            vec![
                ErrorDetail {
                    type_name: "google.rpc.ErrorInfo".into(),
                    value: vec![0x0a, 0x03, b'a', b'b', b'c'],
                },
                ErrorDetail {
                    type_name: "x.Y".into(),
                    value: vec![0xff],
                },
            ],
        )
    }

    #[test]
    fn connect_error_bodies_carry_the_details() {
        let body = connect_error_json(&detailed());
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"code":"not_found","message":"no \"row\" 7","details":[{"type":"google.rpc.ErrorInfo","value":"CgNhYmM"},{"type":"x.Y","value":"/w"}]}"#
        );
        assert_eq!(read_connect_error(&body).unwrap(), detailed());
    }

    #[test]
    fn connect_errors_read_as_clients_read_them() {
        let status = read_connect_error(br#"{"code":"no_such_code"}"#).unwrap();
        assert_eq!((status.code(), status.message()), (Code::Unknown, ""));
        // Padded values and fields of later versions are read too.
        let status = read_connect_error(
            br#"{"code":"internal","details":[{"type":"x.Y","value":"/w==","debug":{}}],"x":1}"#,
        )
        .unwrap();
        assert_eq!(status_details(&status).unwrap()[0].value, [0xff]);
        let err =
            read_connect_error(br#"{"code":"internal","details":[{"type":"x","value":"*"}]}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("details[0].value is not base64"),
            "{err}"
        );
        let err = read_connect_error(b"{\"code\":").unwrap_err();
        assert!(err.to_string().contains("line 1 column 8"), "{err}");
        // Undecodable details are left out, the rest is written.
        let broken = Status::new(Code::Internal, "x").with_details(vec![0xff].into());
        assert_eq!(
            connect_error_json(&broken),
            br#"{"code":"internal","message":"x"}"#
        );
        assert!(status_details(&broken).is_err());
    }

    #[test]
    fn end_stream_messages_round_trip() {
        let mut trailers = Metadata::new();
        trailers.append("x-a", "1").unwrap();
        trailers.append("x-b-bin", "AAE=").unwrap();
        trailers.append("x-a", "2").unwrap();
        trailers.append("grpc-status", "5").unwrap();
        let body = connect_end_stream_json(&detailed(), &trailers);
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(
            text.ends_with(r#""metadata":{"x-a":["1","2"],"x-b-bin":["AAE"]}}"#),
            "{text}"
        );
        let (status, read) = read_connect_end_stream(&body).unwrap();
        assert_eq!(status, detailed());
        let read: Vec<(&str, &[u8])> = read.iter().collect();
        assert_eq!(
            read,
            [("x-a", &b"1"[..]), ("x-a", b"2"), ("x-b-bin", b"AAE")]
        );
        assert_eq!(
            connect_end_stream_json(&Status::ok(), &Metadata::new()),
            b"{}"
        );
        let (status, trailers) = read_connect_end_stream(b"{}").unwrap();
        assert!(status.is_ok() && trailers.is_empty());
        assert!(matches!(
            read_connect_end_stream(br#"{"metadata":{"bad name":["x"]}}"#),
            Err(JsonError::Metadata(_))
        ));
    }

    #[test]
    fn twirp_errors_round_trip() {
        let body = twirp_error_json(
            TwirpCode::Malformed,
            "bad \"json\"",
            [("a", "1"), ("b", "2")],
        );
        assert_eq!(
            read_twirp_error(&body).unwrap(),
            TwirpError {
                code: TwirpCode::Malformed,
                msg: "bad \"json\"".into(),
                meta: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            }
        );
        assert_eq!(
            twirp_status_json(&Status::new(Code::Unimplemented, "")),
            br#"{"code":"unimplemented","msg":"","meta":{}}"#
        );
        assert_eq!(
            read_twirp_error(br#"{"code":"x"}"#).unwrap().code,
            TwirpCode::Unknown
        );
        assert!(read_twirp_error(br#"{"msg":"x"}"#).is_err());
    }
}
