//! The outcome of a call: a [`Code`], a message and optional details, carried in the
//! `grpc-status`, `grpc-message` and `grpc-status-details-bin` trailers.
//!
//! PROTOCOL-HTTP2.md: "Status → "grpc-status" 1*DIGIT ; 0-9"; "Status-Message → "grpc-message"
//! Percent-Encoded"; "Percent-Byte-Unencoded → 1*( %x20-%x24 / %x26-%x7E ) ; space and VCHAR,
//! except %"; "Percent-Byte-Encoded → "%" 2HEXDIGIT ; 0-9 A-F". When a response carries no
//! `grpc-status`, http-grpc-status-mapping.md says which code the HTTP status stands for
//! ([`Code::from_http_status`]).
//!
//! The Connect protocol names the same codes in lower snake case and answers each with an HTTP
//! status of its own ([`Code::connect_name`], [`Code::connect_http_status`]); Twirp adds two codes
//! of its own and another HTTP table ([`TwirpCode`]).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use crate::metadata::{decode_binary_value, encode_binary_value, BinaryValueError, Metadata};

mod connect;
mod twirp;

pub use twirp::TwirpCode;

/// The trailer that carries the status code.
pub const GRPC_STATUS: &str = "grpc-status";
/// The trailer that carries the percent-encoded status message.
pub const GRPC_MESSAGE: &str = "grpc-message";
/// The trailer that carries the status details (a serialized `google.rpc.Status`), base64.
pub const GRPC_STATUS_DETAILS_BIN: &str = "grpc-status-details-bin";

/// A gRPC status code (statuscodes.md).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Code;
///
/// assert_eq!(Code::parse(b"5"), Some(Code::NotFound));
/// assert_eq!(Code::NotFound.as_str(), "NOT_FOUND");
/// assert_eq!(Code::from_i32(99), Code::Unknown);
/// assert_eq!(Code::from_http_status(503), Code::Unavailable);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// Unknown error, or an error from another address space with no matching code.
    Unknown = 2,
    /// The client specified an invalid argument, whatever the state of the system.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// Some requested entity was not found.
    NotFound = 5,
    /// The entity a client attempted to create already exists.
    AlreadyExists = 6,
    /// The caller does not have permission to execute the operation.
    PermissionDenied = 7,
    /// Some resource has been exhausted (a quota, a size limit).
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation's execution.
    FailedPrecondition = 9,
    /// The operation was aborted, typically because of a concurrency issue.
    Aborted = 10,
    /// The operation was attempted past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported by this service.
    Unimplemented = 12,
    /// Internal error: an invariant the underlying system expects has been broken.
    Internal = 13,
    /// The service is currently unavailable; retrying may succeed.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request does not have valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code with this number; numbers gRPC does not define map to [`Code::Unknown`], as
    /// statuscodes.md asks of clients.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::from_i32(14), Code::Unavailable);
    /// assert_eq!(Code::from_i32(-1), Code::Unknown);
    /// ```
    pub fn from_i32(value: i32) -> Code {
        usize::try_from(value)
            .ok()
            .and_then(|index| Self::ALL.get(index).copied())
            .unwrap_or(Code::Unknown)
    }

    /// The code's number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(grpc_lambda_core::Code::Unauthenticated.as_i32(), 16);
    /// ```
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code's name as statuscodes.md spells it, e.g. `"DEADLINE_EXCEEDED"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(grpc_lambda_core::Code::Ok.as_str(), "OK");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code's number as the decimal text sent in `grpc-status`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(grpc_lambda_core::Code::Internal.as_header_value(), "13");
    /// ```
    pub const fn as_header_value(self) -> &'static str {
        match self {
            Code::Ok => "0",
            Code::Cancelled => "1",
            Code::Unknown => "2",
            Code::InvalidArgument => "3",
            Code::DeadlineExceeded => "4",
            Code::NotFound => "5",
            Code::AlreadyExists => "6",
            Code::PermissionDenied => "7",
            Code::ResourceExhausted => "8",
            Code::FailedPrecondition => "9",
            Code::Aborted => "10",
            Code::OutOfRange => "11",
            Code::Unimplemented => "12",
            Code::Internal => "13",
            Code::Unavailable => "14",
            Code::DataLoss => "15",
            Code::Unauthenticated => "16",
        }
    }

    /// Reads a `grpc-status` value: decimal ASCII digits, nothing else (no sign, no whitespace).
    ///
    /// A well-formed number that gRPC does not define reads as [`Code::Unknown`]; anything that is
    /// not a number gives `None`, and the caller decides what that means.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::parse(b"0"), Some(Code::Ok));
    /// assert_eq!(Code::parse(b"42"), Some(Code::Unknown));
    /// assert_eq!(Code::parse(b" 0"), None);
    /// assert_eq!(Code::parse(b""), None);
    /// ```
    pub fn parse(value: &[u8]) -> Option<Code> {
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Saturates rather than overflows: any number past i32::MAX is undefined anyway.
        let number = value.iter().fold(0i32, |n, &d| {
            n.saturating_mul(10).saturating_add(i32::from(d - b'0'))
        });
        Some(Code::from_i32(number))
    }

    /// The code a client reports for a response with this HTTP status and no `grpc-status`
    /// (http-grpc-status-mapping.md).
    ///
    /// | HTTP status | code |
    /// | --- | --- |
    /// | 400 Bad Request | [`Code::Internal`] |
    /// | 401 Unauthorized | [`Code::Unauthenticated`] |
    /// | 403 Forbidden | [`Code::PermissionDenied`] |
    /// | 404 Not Found | [`Code::Unimplemented`] |
    /// | 429, 502, 503, 504 | [`Code::Unavailable`] |
    /// | anything else | [`Code::Unknown`] |
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::Code;
    ///
    /// assert_eq!(Code::from_http_status(404), Code::Unimplemented);
    /// assert_eq!(Code::from_http_status(500), Code::Unknown);
    /// ```
    pub const fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

impl From<Code> for i32 {
    fn from(code: Code) -> i32 {
        code.as_i32()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a finished call: a code, a message for people, and optional details for
/// programs (a serialized `google.rpc.Status`).
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{Code, Status};
///
/// let status = Status::new(Code::NotFound, "no user 42 ✓");
/// let trailers = status.to_trailers();
/// assert_eq!(trailers.get("grpc-status"), Some(&b"5"[..]));
/// assert_eq!(trailers.get("grpc-message"), Some(&b"no user 42 %E2%9C%93"[..]));
/// assert_eq!(Status::from_metadata(&trailers)?, Some(status));
/// # Ok::<(), grpc_lambda_core::status::StatusError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Status {
    code: Code,
    message: String,
    details: Bytes,
}

/// Trailers that carry a status that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusError {
    /// `grpc-status` is not a decimal number.
    InvalidCode {
        /// The value received, lossily decoded for display.
        value: String,
    },
    /// `grpc-status-details-bin` is not base64.
    InvalidDetails(BinaryValueError),
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCode { value } => {
                write!(f, "grpc-status {value:?} is not a decimal status code")
            }
            Self::InvalidDetails(err) => write!(f, "grpc-status-details-bin: {err}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StatusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidCode { .. } => None,
            Self::InvalidDetails(err) => Some(err),
        }
    }
}

impl From<BinaryValueError> for StatusError {
    fn from(err: BinaryValueError) -> Self {
        Self::InvalidDetails(err)
    }
}

impl Status {
    /// A status with a code and a message, and no details.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{Code, Status};
    ///
    /// let status = Status::new(Code::Unavailable, "try again");
    /// assert_eq!(status.code(), Code::Unavailable);
    /// assert_eq!(status.message(), "try again");
    /// ```
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Bytes::new(),
        }
    }

    /// The successful status: [`Code::Ok`], no message.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(grpc_lambda_core::Status::ok().is_ok());
    /// ```
    pub fn ok() -> Self {
        Self::new(Code::Ok, String::new())
    }

    /// The same status with binary details (usually a serialized `google.rpc.Status`), sent as
    /// `grpc-status-details-bin`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{Bytes, Code, Status};
    ///
    /// let status = Status::new(Code::Aborted, "").with_details(Bytes::from_static(b"\x08\x0a"));
    /// assert_eq!(status.details(), &b"\x08\x0a"[..]);
    /// ```
    pub fn with_details(mut self, details: Bytes) -> Self {
        self.details = details;
        self
    }

    /// The code.
    pub const fn code(&self) -> Code {
        self.code
    }

    /// The message, decoded (not percent-encoded).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The details, empty when there are none.
    pub fn details(&self) -> &Bytes {
        &self.details
    }

    /// Whether the code is [`Code::Ok`].
    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok
    }

    /// The trailers that carry this status: `grpc-status`; `grpc-message`, percent-encoded,
    /// unless the message is empty; `grpc-status-details-bin`, unpadded base64, unless there are
    /// no details.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{Bytes, Code, Status};
    ///
    /// let trailers = Status::new(Code::Internal, "100%")
    ///     .with_details(Bytes::from_static(b"\x01\x02"))
    ///     .to_trailers();
    /// assert_eq!(trailers.get("grpc-status"), Some(&b"13"[..]));
    /// assert_eq!(trailers.get("grpc-message"), Some(&b"100%25"[..]));
    /// assert_eq!(trailers.get("grpc-status-details-bin"), Some(&b"AQI"[..]));
    /// ```
    pub fn to_trailers(&self) -> Metadata {
        let mut trailers = Metadata::with_capacity(3);
        // Every value pushed here is printable ASCII by construction (digits, percent-encoding,
        // base64), so the checks `Metadata::append` would make cannot fail.
        trailers.push_checked(
            Bytes::from_static(GRPC_STATUS.as_bytes()),
            Bytes::from_static(self.code.as_header_value().as_bytes()),
        );
        if !self.message.is_empty() {
            let message = match percent_encode_message(&self.message) {
                Cow::Borrowed(message) => Bytes::copy_from_slice(message.as_bytes()),
                Cow::Owned(message) => Bytes::from(message),
            };
            trailers.push_checked(Bytes::from_static(GRPC_MESSAGE.as_bytes()), message);
        }
        if !self.details.is_empty() {
            trailers.push_checked(
                Bytes::from_static(GRPC_STATUS_DETAILS_BIN.as_bytes()),
                Bytes::from(encode_binary_value(&self.details)),
            );
        }
        trailers
    }

    /// Reads the status from trailers (or from the headers of a Trailers-Only response).
    ///
    /// `Ok(None)` when there is no `grpc-status`: the caller then falls back on the HTTP status
    /// ([`Code::from_http_status`]). `grpc-message` is decoded leniently, as the protocol asks;
    /// `grpc-status-details-bin` is accepted padded or not.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{Code, Metadata, Status};
    ///
    /// let mut trailers = Metadata::new();
    /// assert_eq!(Status::from_metadata(&trailers)?, None);
    /// trailers.append("grpc-status", "14")?;
    /// trailers.append("grpc-message", "back%20soon")?;
    /// let status = Status::from_metadata(&trailers)?.expect("a status");
    /// assert_eq!(status.code(), Code::Unavailable);
    /// assert_eq!(status.message(), "back soon");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StatusError::InvalidCode`] when `grpc-status` is not a decimal number,
    /// [`StatusError::InvalidDetails`] when `grpc-status-details-bin` is not base64.
    pub fn from_metadata(metadata: &Metadata) -> Result<Option<Status>, StatusError> {
        let Some(value) = metadata.get(GRPC_STATUS) else {
            return Ok(None);
        };
        let code = Code::parse(value).ok_or_else(|| StatusError::InvalidCode {
            value: String::from_utf8_lossy(value).into_owned(),
        })?;
        let message = metadata
            .get(GRPC_MESSAGE)
            .map(|message| percent_decode_message(message).into_owned())
            .unwrap_or_default();
        let details = match metadata.get(GRPC_STATUS_DETAILS_BIN) {
            Some(value) => Bytes::from(decode_binary_value(value)?),
            None => Bytes::new(),
        };
        Ok(Some(Status {
            code,
            message,
            details,
        }))
    }
}

impl Default for Status {
    fn default() -> Self {
        Self::ok()
    }
}

impl From<Code> for Status {
    fn from(code: Code) -> Self {
        Self::new(code, String::new())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Status {}

/// Whether `byte` is sent as itself in `grpc-message`: space and visible ASCII, except `%`.
const fn is_unreserved_message_byte(byte: u8) -> bool {
    matches!(byte, 0x20..=0x24 | 0x26..=0x7e)
}

/// The uppercase hexadecimal digit for the low four bits of `nibble`.
const fn hex_digit(nibble: u8) -> char {
    let nibble = nibble & 0x0f;
    if nibble < 10 {
        (b'0' + nibble) as char
    } else {
        (b'A' + nibble - 10) as char
    }
}

/// The value of one hexadecimal digit, either case.
const fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a status message for `grpc-message`: every UTF-8 byte outside
/// `0x20..=0x7E`, `%` itself, and a space at either end (which HTTP header readers trim) become
/// `%XX` in uppercase hex.
///
/// Borrows the message when nothing needs encoding.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::status::percent_encode_message;
///
/// assert_eq!(percent_encode_message("bad: ✓ 100%"), "bad: %E2%9C%93 100%25");
/// assert!(matches!(percent_encode_message("plain"), std::borrow::Cow::Borrowed(_)));
/// assert_eq!(percent_encode_message(" padded "), "%20padded%20");
/// ```
pub fn percent_encode_message(message: &str) -> Cow<'_, str> {
    let bytes = message.as_bytes();
    let last = bytes.len().saturating_sub(1);
    // A space at either end is legal unencoded, but header and trailer readers trim it (HTTP's
    // optional whitespace), so it is sent as %20 to survive the trip.
    let plain = |(i, &byte): (usize, &u8)| {
        is_unreserved_message_byte(byte) && !(byte == b' ' && (i == 0 || i == last))
    };
    let Some(first) = bytes.iter().enumerate().position(|entry| !plain(entry)) else {
        return Cow::Borrowed(message);
    };
    let mut encoded = String::with_capacity(message.len() + 2 * (message.len() - first));
    // Everything before `first` is plain ASCII, so `first` is a char boundary.
    encoded.push_str(message.get(..first).unwrap_or_default());
    for (i, &byte) in bytes.iter().enumerate().skip(first) {
        if plain((i, &byte)) {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(hex_digit(byte >> 4));
            encoded.push(hex_digit(byte));
        }
    }
    Cow::Owned(encoded)
}

/// Decodes a `grpc-message` value: `%XX` (either case) becomes the byte it names, and the
/// result is read as UTF-8, invalid sequences replaced by U+FFFD.
///
/// Never fails: PROTOCOL-HTTP2.md says "When decoding invalid values, implementations MUST NOT
/// error or throw away the message", so a `%` not followed by two hex digits is kept as it is.
/// Borrows the value when it has no `%` and is valid UTF-8.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::status::percent_decode_message;
///
/// assert_eq!(percent_decode_message(b"bad: %E2%9C%93 100%25"), "bad: ✓ 100%");
/// assert_eq!(percent_decode_message(b"50% off %zz"), "50% off %zz");
/// ```
pub fn percent_decode_message(value: &[u8]) -> Cow<'_, str> {
    if !value.contains(&b'%') {
        return String::from_utf8_lossy(value);
    }
    let mut decoded = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&byte, tail)) = rest.split_first() {
        let escaped = match (byte, tail) {
            (b'%', [high, low, ..]) => hex_value(*high)
                .zip(hex_value(*low))
                .map(|(high, low)| (high << 4) | low),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                rest = tail.get(2..).unwrap_or_default();
            }
            None => {
                decoded.push(byte);
                rest = tail;
            }
        }
    }
    Cow::Owned(match String::from_utf8(decoded) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn codes_have_their_numbers_and_names() {
        for (number, code) in Code::ALL.iter().enumerate() {
            let number = i32::try_from(number).unwrap();
            assert_eq!(code.as_i32(), number);
            assert_eq!(Code::from_i32(number), *code);
            assert_eq!(code.as_header_value(), number.to_string());
            assert_eq!(Code::parse(code.as_header_value().as_bytes()), Some(*code));
            assert_eq!(code.to_string(), code.as_str());
        }
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "OK",
                "CANCELLED",
                "UNKNOWN",
                "INVALID_ARGUMENT",
                "DEADLINE_EXCEEDED",
                "NOT_FOUND",
                "ALREADY_EXISTS",
                "PERMISSION_DENIED",
                "RESOURCE_EXHAUSTED",
                "FAILED_PRECONDITION",
                "ABORTED",
                "OUT_OF_RANGE",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS",
                "UNAUTHENTICATED",
            ]
        );
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::from_i32(i32::MIN), Code::Unknown);
        assert_eq!(i32::from(Code::DataLoss), 15);
    }

    #[test]
    fn grpc_status_values_are_digits_only() {
        assert_eq!(Code::parse(b"007"), Some(Code::PermissionDenied));
        assert_eq!(Code::parse(b"17"), Some(Code::Unknown));
        assert_eq!(Code::parse(b"99999999999999999999999"), Some(Code::Unknown));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.0",
            b"0x1",
            b"OK",
            b"\xff",
        ] {
            assert_eq!(Code::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_statuses_map_as_the_spec_says() {
        assert_eq!(Code::from_http_status(400), Code::Internal);
        assert_eq!(Code::from_http_status(401), Code::Unauthenticated);
        assert_eq!(Code::from_http_status(403), Code::PermissionDenied);
        assert_eq!(Code::from_http_status(404), Code::Unimplemented);
        for status in [429, 502, 503, 504] {
            assert_eq!(Code::from_http_status(status), Code::Unavailable);
        }
        for status in [0, 200, 204, 302, 402, 405, 413, 500, 501, 505, u16::MAX] {
            assert_eq!(Code::from_http_status(status), Code::Unknown, "{status}");
        }
    }

    #[test]
    fn percent_encoding_matches_the_spec_example() {
        let message = "bad: ✓ 100%";
        let encoded = percent_encode_message(message);
        assert_eq!(encoded, "bad: %E2%9C%93 100%25");
        assert_eq!(percent_decode_message(encoded.as_bytes()), message);
    }

    #[test]
    fn percent_encoding_borrows_when_it_can() {
        // Every printable byte but `%`, with the space inside (a space at an end is encoded).
        let printable: String = (0x21u8..=0x7e)
            .filter(|&b| b != b'%')
            .flat_map(|b| [char::from(b), ' '])
            .chain(['!'])
            .collect();
        assert!(matches!(
            percent_encode_message(&printable),
            Cow::Borrowed(_)
        ));
        assert_eq!(percent_encode_message(" a b "), "%20a b%20");
        assert_eq!(percent_encode_message(" "), "%20");
        assert!(matches!(percent_encode_message(""), Cow::Borrowed("")));
        assert!(matches!(
            percent_decode_message(b"plain text"),
            Cow::Borrowed("plain text")
        ));
    }

    #[test]
    fn percent_encoding_escapes_controls_and_non_ascii() {
        assert_eq!(percent_encode_message("a\r\nb\t\x7f"), "a%0D%0Ab%09%7F");
        assert_eq!(percent_encode_message("%"), "%25");
        assert_eq!(percent_encode_message("é"), "%C3%A9");
        assert_eq!(percent_encode_message("\u{0}"), "%00");
    }

    #[test]
    fn every_byte_round_trips() {
        let all: String = (0u32..0x800).filter_map(char::from_u32).collect();
        let encoded = percent_encode_message(&all);
        assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert_eq!(percent_decode_message(encoded.as_bytes()), all);
    }

    #[test]
    fn percent_decoding_never_fails() {
        assert_eq!(percent_decode_message(b"%"), "%");
        assert_eq!(percent_decode_message(b"%4"), "%4");
        assert_eq!(percent_decode_message(b"%4g"), "%4g");
        assert_eq!(percent_decode_message(b"%%41"), "%A");
        assert_eq!(percent_decode_message(b"%e2%9c%93"), "✓");
        // A lone continuation byte is not UTF-8: replaced, not refused.
        assert_eq!(percent_decode_message(b"a%80b"), "a\u{fffd}b");
        assert_eq!(percent_decode_message(b"\xff"), "\u{fffd}");
        assert_eq!(percent_decode_message(b"100%25 %E2%9C"), "100% \u{fffd}");
    }

    #[test]
    fn status_trailers_round_trip() {
        let status = Status::new(Code::FailedPrecondition, "bad: ✓ 100%")
            .with_details(Bytes::from_static(b"\x08\x09\x12\x03abc"));
        let trailers = status.to_trailers();
        assert_eq!(
            trailers.iter().collect::<Vec<_>>(),
            [
                ("grpc-status", &b"9"[..]),
                ("grpc-message", b"bad: %E2%9C%93 100%25"),
                ("grpc-status-details-bin", b"CAkSA2FiYw"),
            ]
        );
        assert_eq!(Status::from_metadata(&trailers).unwrap(), Some(status));
    }

    #[test]
    fn empty_message_and_details_are_omitted() {
        let trailers = Status::ok().to_trailers();
        assert_eq!(
            trailers.iter().collect::<Vec<_>>(),
            [("grpc-status", &b"0"[..])]
        );
        assert_eq!(
            Status::from_metadata(&trailers).unwrap(),
            Some(Status::ok())
        );
    }

    #[test]
    fn status_is_read_leniently() {
        let mut trailers = Metadata::new();
        assert_eq!(Status::from_metadata(&trailers).unwrap(), None);
        trailers.append("Grpc-Status", "16").unwrap();
        trailers.append("grpc-message", "who %are% you").unwrap();
        trailers
            .append("grpc-status-details-bin", "CAkSA2FiYw==")
            .unwrap();
        let status = Status::from_metadata(&trailers).unwrap().unwrap();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "who %are% you");
        assert_eq!(status.details(), &b"\x08\x09\x12\x03abc"[..]);
        assert_eq!(status.to_string(), "UNAUTHENTICATED: who %are% you");
        assert_eq!(Status::from(Code::Aborted).to_string(), "ABORTED");
    }

    #[test]
    fn unreadable_status_is_an_error() {
        let mut trailers = Metadata::new();
        trailers.append("grpc-status", "ok").unwrap();
        let err = Status::from_metadata(&trailers).unwrap_err();
        assert_eq!(err, StatusError::InvalidCode { value: "ok".into() });
        assert_eq!(
            err.to_string(),
            "grpc-status \"ok\" is not a decimal status code"
        );

        let mut trailers = Metadata::new();
        trailers.append("grpc-status", "2").unwrap();
        trailers.append("grpc-status-details-bin", "CA*").unwrap();
        let err = Status::from_metadata(&trailers).unwrap_err();
        assert_eq!(
            err,
            StatusError::InvalidDetails(BinaryValueError::InvalidByte {
                byte: b'*',
                offset: 2
            })
        );
        assert_eq!(
            err.to_string(),
            "grpc-status-details-bin: binary metadata value has '*' (0x2a) at offset 2, outside the base64 alphabet A-Z a-z 0-9 + /"
        );
    }
}
