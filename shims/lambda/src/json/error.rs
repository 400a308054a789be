//! What can go wrong between JSON and protobuf, one variant per problem a client can act on.

use std::fmt;

/// A message that could not be transcoded between JSON and protobuf.
///
/// The shim answers it in the caller's protocol: Connect `invalid_argument`, Twirp `malformed`,
/// gRPC and gRPC-Web `INTERNAL` for a request; `INTERNAL` for a response the service wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// The request body is not JSON (a syntax error, or the input ended early, or characters
    /// follow the value).
    Malformed {
        /// Byte offset in the input where the parser stopped.
        offset: usize,
        /// The parser's description of the problem, e.g. `expected value`.
        reason: String,
    },
    /// A JSON object names a field its message does not have (refused unless unknown fields are
    /// allowed, see [`Descriptors::allow_unknown_fields`](super::Descriptors::allow_unknown_fields)).
    UnknownField {
        /// The field name as the JSON wrote it.
        name: String,
        /// Byte offset in the input where the parser stopped: the end of the field's name.
        offset: usize,
    },
    /// Well-formed JSON whose value does not fit its field: a string for a number, an enum name
    /// the enum does not have, a timestamp out of range, a second value for a `oneof`.
    InvalidValue {
        /// Byte offset in the input where the parser stopped.
        offset: usize,
        /// What was wrong with the value.
        reason: String,
    },
    /// The protobuf encoding of the request would be longer than the message limit.
    MessageTooLarge {
        /// Encoded length of the message, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// Protobuf bytes that are not a valid encoding of the message.
    Decode {
        /// Full name of the message type, e.g. `api.AliveResponse`.
        message: String,
        /// What the protobuf decoder found.
        source: prost_reflect::prost::DecodeError,
    },
    /// A decoded message with a value the JSON mapping cannot write (a `Timestamp` or `Duration`
    /// out of its range, an `Any` whose type the descriptors do not know).
    Unrepresentable {
        /// Full name of the message type, e.g. `api.AliveResponse`.
        message: String,
        /// What could not be written.
        reason: String,
    },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { offset, reason } => {
                write!(f, "malformed JSON at byte {offset}: {reason}")
            }
            Self::UnknownField { name, offset } => {
                write!(f, "unknown JSON field {name:?} at byte {offset}")
            }
            Self::InvalidValue { offset, reason } => {
                write!(f, "invalid JSON value at byte {offset}: {reason}")
            }
            Self::MessageTooLarge { len, max } => write!(
                f,
                "message of {len} bytes (protobuf-encoded) is larger than the limit of {max} bytes"
            ),
            Self::Decode { message, source } => {
                write!(f, "protobuf bytes are not a valid {message}: {source}")
            }
            Self::Unrepresentable { message, reason } => {
                write!(f, "{message} cannot be written as JSON: {reason}")
            }
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What serde_json said, as a [`JsonError`] with a byte offset into `input`.
///
/// prost-reflect reports an unknown field as a custom serde error with a fixed wording; that
/// wording is the only way to tell it apart, so it is matched here, in one place.
pub(super) fn from_serde(error: &serde_json::Error, input: &[u8]) -> JsonError {
    let offset = byte_offset(input, error.line(), error.column());
    let reason = without_position(error);
    match error.classify() {
        serde_json::error::Category::Data => match unknown_field_name(&reason) {
            Some(name) => JsonError::UnknownField {
                name: name.to_owned(),
                offset,
            },
            None => JsonError::InvalidValue { offset, reason },
        },
        _ => JsonError::Malformed { offset, reason },
    }
}

/// prost-reflect's wording for a field its message does not have.
const UNKNOWN_FIELD_PREFIX: &str = "unrecognized field name '";

fn unknown_field_name(reason: &str) -> Option<&str> {
    reason
        .strip_prefix(UNKNOWN_FIELD_PREFIX)?
        .strip_suffix('\'')
}

/// serde_json's message without the ` at line L column C` it appends: the offset says it better.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(reason) => reason.to_owned(),
        None => text,
    }
}

/// The byte offset of serde_json's 1-based `line` and `column` (a column counts bytes; 0 means
/// before the line's first byte), never past the end of `input`.
fn byte_offset(input: &[u8], line: usize, column: usize) -> usize {
    let line_start = match line.checked_sub(2) {
        None => 0,
        Some(newlines_before) => memchr::memchr_iter(b'\n', input)
            .nth(newlines_before)
            .map_or(input.len(), |newline| newline + 1),
    };
    line_start
        .saturating_add(column.saturating_sub(1))
        .min(input.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(input: &str) -> JsonError {
        let error = serde_json::from_str::<serde_json::Value>(input).unwrap_err();
        from_serde(&error, input.as_bytes())
    }

    #[test]
    fn malformed_json_names_the_byte_offset() {
        // `x` is the 9th byte of the second line, which starts at byte 9.
        let input = "{\"a\": 1,\n   \"b\": x}";
        assert_eq!(input.as_bytes()[17], b'x');
        assert_eq!(
            parse_error(input),
            JsonError::Malformed {
                offset: 17,
                reason: "expected value".into()
            }
        );
        assert_eq!(
            parse_error(input).to_string(),
            "malformed JSON at byte 17: expected value"
        );
    }

    #[test]
    fn empty_and_truncated_input_point_at_the_end() {
        assert_eq!(
            parse_error(""),
            JsonError::Malformed {
                offset: 0,
                reason: "EOF while parsing a value".into()
            }
        );
        assert_eq!(
            parse_error("{\"a\":\n"),
            JsonError::Malformed {
                offset: 6,
                reason: "EOF while parsing a value".into()
            }
        );
    }

    #[test]
    fn offsets_stay_inside_the_input() {
        assert_eq!(byte_offset(b"ab", 9, 9), 2);
        assert_eq!(byte_offset(b"a\nb", 2, 1), 2);
        assert_eq!(byte_offset(b"a\nb", 1, 0), 0);
    }

    #[test]
    fn too_large_names_both_numbers() {
        let error = JsonError::MessageTooLarge { len: 20, max: 10 };
        assert_eq!(
            error.to_string(),
            "message of 20 bytes (protobuf-encoded) is larger than the limit of 10 bytes"
        );
    }
}
