//! The Connect protocol's request headers and its GET query (connectrpc.com/docs/protocol).
//!
//! - `connect-timeout-ms`: "Timeout-Milliseconds → {positive integer as ASCII string of at most
//!   10 digits}", read into the same [`Duration`] a `grpc-timeout` gives.
//! - `connect-protocol-version`: "1"; a request without it is served, one with anything else is
//!   refused.
//! - GET: `?connect=v1&encoding=proto|json&message=…&base64=1&compression=gzip`, the message
//!   percent-encoded, and base64url-encoded too when `base64=1`.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use base64::Engine as _;
use grpc_lambda_core::content_type::Codec;
use grpc_lambda_core::Code;

/// The header naming the Connect protocol version.
pub const CONNECT_PROTOCOL_VERSION: &str = "connect-protocol-version";
/// The header carrying a Connect call's timeout, in milliseconds.
pub const CONNECT_TIMEOUT_MS: &str = "connect-timeout-ms";
/// The header naming a Connect streaming request's message compression.
pub const CONNECT_CONTENT_ENCODING: &str = "connect-content-encoding";
/// The header listing the compressions a Connect streaming client accepts.
pub const CONNECT_ACCEPT_ENCODING: &str = "connect-accept-encoding";
/// The most digits `connect-timeout-ms` may have: "at most 10 digits".
pub const MAX_CONNECT_TIMEOUT_DIGITS: usize = 10;

/// A request header of the Connect protocol that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectHeaderError {
    /// `connect-timeout-ms` is empty.
    TimeoutEmpty,
    /// `connect-timeout-ms` has more digits than the protocol allows.
    TimeoutTooManyDigits {
        /// How many it has.
        digits: usize,
    },
    /// `connect-timeout-ms` holds something other than a digit.
    TimeoutNotADigit {
        /// The byte.
        byte: u8,
        /// Its offset in the value.
        offset: usize,
    },
    /// `connect-protocol-version` is present and not `1`.
    ProtocolVersion {
        /// The value received (lossily decoded).
        value: String,
    },
}

impl ConnectHeaderError {
    /// The code a Connect server answers with: `invalid_argument`.
    pub const fn code(&self) -> Code {
        Code::InvalidArgument
    }
}

impl fmt::Display for ConnectHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimeoutEmpty => write!(f, "{CONNECT_TIMEOUT_MS} is empty"),
            Self::TimeoutTooManyDigits { digits } => write!(
                f,
                "{CONNECT_TIMEOUT_MS} has {digits} digits, more than the {MAX_CONNECT_TIMEOUT_DIGITS} allowed"
            ),
            Self::TimeoutNotADigit { byte, offset } => write!(
                f,
                "{CONNECT_TIMEOUT_MS} has byte 0x{byte:02x} at offset {offset}, where only digits may be"
            ),
            Self::ProtocolVersion { value } => write!(
                f,
                "{CONNECT_PROTOCOL_VERSION} is {value:?}; this server speaks version \"1\""
            ),
        }
    }
}

impl std::error::Error for ConnectHeaderError {}

/// Reads a `connect-timeout-ms` value.
///
/// # Errors
///
/// [`ConnectHeaderError`] for an empty value, more than [`MAX_CONNECT_TIMEOUT_DIGITS`] digits,
/// or anything but ASCII digits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grpc_lambda_protocol::connect::parse_connect_timeout;
///
/// assert_eq!(parse_connect_timeout(b"1500"), Ok(Duration::from_millis(1500)));
/// assert!(parse_connect_timeout(b"12345678901").is_err());
/// assert!(parse_connect_timeout(b"-1").is_err());
/// ```
pub fn parse_connect_timeout(value: &[u8]) -> Result<Duration, ConnectHeaderError> {
    if value.is_empty() {
        return Err(ConnectHeaderError::TimeoutEmpty);
    }
    if let Some((offset, &byte)) = value
        .iter()
        .enumerate()
        .find(|(_, byte)| !byte.is_ascii_digit())
    {
        return Err(ConnectHeaderError::TimeoutNotADigit { byte, offset });
    }
    if value.len() > MAX_CONNECT_TIMEOUT_DIGITS {
        return Err(ConnectHeaderError::TimeoutTooManyDigits {
            digits: value.len(),
        });
    }
    // At most 10 digits: below 10^10, which fits a u64 with room to spare.
    let millis = value
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    Ok(Duration::from_millis(millis))
}

/// Checks `connect-protocol-version`: absent is accepted (older clients and `curl` send none),
/// `1` is accepted, anything else is refused.
///
/// # Errors
///
/// [`ConnectHeaderError::ProtocolVersion`] naming the value.
///
/// # Examples
///
/// ```
/// use grpc_lambda_protocol::connect::check_protocol_version;
///
/// assert!(check_protocol_version(None).is_ok());
/// assert!(check_protocol_version(Some(b"1")).is_ok());
/// let err = check_protocol_version(Some(b"2")).unwrap_err();
/// assert_eq!(err.to_string(), "connect-protocol-version is \"2\"; this server speaks version \"1\"");
/// ```
pub fn check_protocol_version(value: Option<&[u8]>) -> Result<(), ConnectHeaderError> {
    match value {
        None | Some(b"1") => Ok(()),
        Some(value) => Err(ConnectHeaderError::ProtocolVersion {
            value: String::from_utf8_lossy(value).into_owned(),
        }),
    }
}

/// The compression of a Connect GET request's message (`compression=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetCompression {
    /// No compression (`identity`, or the parameter absent).
    Identity,
    /// `gzip`: the message is to be decompressed, under the same output limit as any message.
    Gzip,
}

/// A Connect GET request, read from its query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetRequest {
    /// The message bytes, percent- and (when `base64=1`) base64url-decoded; still compressed
    /// when [`GetRequest::compression`] says so.
    pub message: Vec<u8>,
    /// `encoding=`.
    pub codec: Codec,
    /// `compression=`.
    pub compression: GetCompression,
}

/// A Connect GET query that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// A required parameter (`encoding`, `message`) is missing.
    Missing {
        /// Its name.
        parameter: &'static str,
    },
    /// A parameter appears more than once.
    Repeated {
        /// Its name.
        parameter: &'static str,
    },
    /// A parameter has a value the protocol does not define.
    Value {
        /// Its name.
        parameter: &'static str,
        /// The value received (percent-decoded, lossily).
        value: String,
        /// What it may be.
        expected: &'static str,
    },
    /// A `%` not followed by two hex digits, at this byte offset of the parameter's value.
    PercentEscape {
        /// Its name.
        parameter: &'static str,
        /// Offset of the `%` in the value.
        offset: usize,
    },
    /// `message` is not base64url although `base64=1`.
    Base64 {
        /// What the decoder said, with the offset.
        reason: String,
    },
    /// The message is longer than the limit. Nothing was allocated for it.
    MessageTooLarge {
        /// Its decoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl QueryError {
    /// The code a Connect server answers with: `unimplemented` for a compression it does not
    /// support, `resource_exhausted` for a message over the limit, `invalid_argument` else.
    pub fn code(&self) -> Code {
        match self {
            QueryError::Value {
                parameter: "compression",
                ..
            } => Code::Unimplemented,
            QueryError::MessageTooLarge { .. } => Code::ResourceExhausted,
            _ => Code::InvalidArgument,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { parameter } => {
                write!(f, "the Connect GET query has no {parameter} parameter")
            }
            Self::Repeated { parameter } => write!(
                f,
                "the Connect GET query has the {parameter} parameter more than once"
            ),
            Self::Value {
                parameter,
                value,
                expected,
            } => write!(
                f,
                "the Connect GET query's {parameter} is {value:?}; expected {expected}"
            ),
            Self::PercentEscape { parameter, offset } => write!(
                f,
                "the Connect GET query's {parameter} has a % not followed by two hex digits at byte {offset}"
            ),
            Self::Base64 { reason } => write!(
                f,
                "the Connect GET query's message is not base64url (base64=1): {reason}"
            ),
            Self::MessageTooLarge { len, max } => write!(
                f,
                "the Connect GET query's message is {len} bytes, over the limit of {max} bytes"
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// The parameters of a Connect GET query, undecoded.
#[derive(Default)]
struct RawQuery<'a> {
    connect: Option<&'a [u8]>,
    encoding: Option<&'a [u8]>,
    message: Option<&'a [u8]>,
    base64: Option<&'a [u8]>,
    compression: Option<&'a [u8]>,
}

impl<'a> RawQuery<'a> {
    /// Splits `query` (without the `?`) at `&` and `=`; parameters Connect does not define are
    /// ignored, one it defines given twice is refused.
    fn split(query: &'a str) -> Result<Self, QueryError> {
        let mut raw = RawQuery::default();
        for pair in query.as_bytes().split(|&b| b == b'&') {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (
                    pair.get(..at).unwrap_or_default(),
                    pair.get(at + 1..).unwrap_or_default(),
                ),
                None => (pair, &b""[..]),
            };
            let (slot, parameter) = match name {
                b"connect" => (&mut raw.connect, "connect"),
                b"encoding" => (&mut raw.encoding, "encoding"),
                b"message" => (&mut raw.message, "message"),
                b"base64" => (&mut raw.base64, "base64"),
                b"compression" => (&mut raw.compression, "compression"),
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(QueryError::Repeated { parameter });
            }
        }
        Ok(raw)
    }

    fn codec(&self) -> Result<Codec, QueryError> {
        let encoding = self.encoding.ok_or(QueryError::Missing {
            parameter: "encoding",
        })?;
        match &*small_value("encoding", encoding)? {
            b"proto" => Ok(Codec::Proto),
            b"json" => Ok(Codec::Json),
            other => Err(value_error("encoding", other, "proto or json")),
        }
    }
}

/// The longest value a parameter other than `message` may have; every value those parameters
/// take is shorter (`identity`).
const MAX_SHORT_VALUE: usize = 16;

/// A short parameter's value, percent-decoded; a longer one is refused before it is copied,
/// quoted cut to [`MAX_SHORT_VALUE`] bytes.
fn small_value(parameter: &'static str, value: &[u8]) -> Result<Vec<u8>, QueryError> {
    if value.len() > MAX_SHORT_VALUE * 3 {
        return Err(QueryError::Value {
            parameter,
            value: format!(
                "{}… ({} bytes)",
                String::from_utf8_lossy(value.get(..MAX_SHORT_VALUE).unwrap_or_default()),
                value.len()
            ),
            expected: match parameter {
                "connect" => "v1",
                "encoding" => "proto or json",
                "base64" => "1 or 0",
                _ => "identity or gzip",
            },
        });
    }
    let mut out = Vec::with_capacity(value.len());
    percent_decode(parameter, value, &mut out)?;
    Ok(out)
}

fn value_error(parameter: &'static str, value: &[u8], expected: &'static str) -> QueryError {
    QueryError::Value {
        parameter,
        value: String::from_utf8_lossy(value).into_owned(),
        expected,
    }
}

/// Whether a GET query is a Connect call's: it names `connect`, `encoding` or `message`.
pub(crate) fn is_connect_get(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            matches!(name, "connect" | "encoding" | "message")
        })
    })
}

/// The codec a Connect GET query names, for reading the request's protocol.
pub(crate) fn get_codec(query: &str) -> Result<Codec, QueryError> {
    let raw = RawQuery::split(query)?;
    check_connect_param(&raw)?;
    raw.codec()
}

fn check_connect_param(raw: &RawQuery<'_>) -> Result<(), QueryError> {
    match raw.connect.map(|value| small_value("connect", value)) {
        None => Ok(()),
        Some(Ok(value)) if value == b"v1" => Ok(()),
        Some(Ok(value)) => Err(value_error("connect", &value, "v1")),
        Some(Err(err)) => Err(err),
    }
}

/// Reads a Connect GET query (without the `?`): the message, its codec and its compression.
///
/// `connect`, when present, must be `v1`; `encoding` (`proto` or `json`) and `message` are
/// required; `base64` is `1` (message base64url-encoded, padded or not) or `0`/absent;
/// `compression` is `identity` (or absent) or `gzip`. `+` reads as a space, as in any query.
/// The message's decoded length is computed and checked against `max_message_len` before
/// anything is allocated for it, and only the message is allocated (base64 text is decoded a
/// chunk at a time from the query); the other parameters' values are copied only when at most
/// 48 bytes.
///
/// # Errors
///
/// [`QueryError`] naming the parameter and the problem; [`QueryError::MessageTooLarge`] with
/// both numbers.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::content_type::Codec;
/// use grpc_lambda_protocol::connect::{parse_get_query, GetCompression};
///
/// let get = parse_get_query("connect=v1&encoding=json&message=%7B%22a%22%3A1%7D", 1024)?;
/// assert_eq!((get.message.as_slice(), get.codec), (&br#"{"a":1}"#[..], Codec::Json));
///
/// let get = parse_get_query("encoding=proto&base64=1&message=CAE&compression=identity", 1024)?;
/// assert_eq!((get.message.as_slice(), get.compression), (&b"\x08\x01"[..], GetCompression::Identity));
///
/// let err = parse_get_query("encoding=proto&message=abcdef", 4).unwrap_err();
/// assert_eq!(err.to_string(), "the Connect GET query's message is 6 bytes, over the limit of 4 bytes");
/// # Ok::<(), grpc_lambda_protocol::connect::QueryError>(())
/// ```
pub fn parse_get_query(query: &str, max_message_len: usize) -> Result<GetRequest, QueryError> {
    let raw = RawQuery::split(query)?;
    check_connect_param(&raw)?;
    let codec = raw.codec()?;
    let base64 = match raw.base64.map(|value| small_value("base64", value)) {
        None => false,
        Some(value) => match &*value? {
            b"1" => true,
            b"0" => false,
            other => return Err(value_error("base64", other, "1 or 0")),
        },
    };
    let compression = match raw
        .compression
        .map(|value| small_value("compression", value))
    {
        None => GetCompression::Identity,
        Some(value) => match &*value? {
            b"identity" | b"" => GetCompression::Identity,
            b"gzip" => GetCompression::Gzip,
            other => return Err(value_error("compression", other, "identity or gzip")),
        },
    };
    let message = raw.message.ok_or(QueryError::Missing {
        parameter: "message",
    })?;
    let message = if base64 {
        decode_base64_message(message, max_message_len)?
    } else {
        // A first pass validates every escape and counts the bytes, so the buffer is exactly the
        // message: an estimate from the `%` count would be short when an escape after a
        // malformed one was counted.
        let mut text_len = 0usize;
        for byte in PercentDecoded::new("message", message) {
            byte?;
            text_len += 1;
        }
        if text_len > max_message_len {
            return Err(QueryError::MessageTooLarge {
                len: text_len,
                max: max_message_len,
            });
        }
        let mut out = Vec::with_capacity(text_len);
        percent_decode("message", message, &mut out)?;
        out
    };
    Ok(GetRequest {
        message,
        codec,
        compression,
    })
}

/// Symbols of base64 text decoded at a time, from a stack buffer: a multiple of 4, so every
/// chunk but the last is whole groups.
const BASE64_CHUNK: usize = 1024;

/// The base64url `message`, decoded after its exact length was checked against the limit. The
/// text is percent-decoded on the way, a chunk at a time: only the message is allocated.
fn decode_base64_message(message: &[u8], max_message_len: usize) -> Result<Vec<u8>, QueryError> {
    // First pass: validate the escapes and count the symbols, padding (`=` or `%3D`) left off.
    let mut text_len = 0usize;
    let mut symbols = 0usize;
    for byte in PercentDecoded::new("message", message) {
        text_len += 1;
        if byte? != b'=' {
            symbols = text_len;
        }
    }
    // Each 4 symbols are 3 bytes; a last group of 2 or 3 symbols is 1 or 2 bytes.
    let len = symbols / 4 * 3 + (symbols % 4).saturating_sub(1);
    if len > max_message_len {
        return Err(QueryError::MessageTooLarge {
            len,
            max: max_message_len,
        });
    }
    let mut out = vec![0u8; len];
    let mut written = 0usize;
    let mut chunk = [0u8; BASE64_CHUNK];
    let mut filled = 0usize;
    let mut decode = |chunk: &[u8], at: usize, written: &mut usize| {
        let room = out.get_mut(*written..).unwrap_or_default();
        let wrote = URL_SAFE_NO_PAD_INDIFFERENT
            .decode_slice(chunk, room)
            .map_err(|err| base64_error(err, at))?;
        *written += wrote;
        Ok::<(), QueryError>(())
    };
    for (index, byte) in PercentDecoded::new("message", message)
        .take(symbols)
        .enumerate()
    {
        if let Some(slot) = chunk.get_mut(filled) {
            *slot = byte?;
            filled += 1;
        }
        if filled == BASE64_CHUNK {
            decode(&chunk, index + 1 - filled, &mut written)?;
            filled = 0;
        }
    }
    decode(
        chunk.get(..filled).unwrap_or_default(),
        symbols - filled,
        &mut written,
    )?;
    out.truncate(written);
    Ok(out)
}

/// A base64 error, its offset moved from the chunk's to the text's (`at`: the chunk's start).
fn base64_error(err: base64::DecodeSliceError, at: usize) -> QueryError {
    use base64::{DecodeError, DecodeSliceError};
    let reason = match err {
        DecodeSliceError::DecodeError(DecodeError::InvalidByte(offset, byte)) => {
            format!(
                "byte 0x{byte:02x} at symbol {} is not base64url",
                at + offset
            )
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLastSymbol {
            offset,
            symbol: byte,
            ..
        }) => {
            format!(
                "the last symbol, 0x{byte:02x} at {}, leaves stray bits",
                at + offset
            )
        }
        DecodeSliceError::DecodeError(DecodeError::InvalidLength(symbols)) => {
            format!("{} symbols cannot end a base64 text", at + symbols)
        }
        other => other.to_string(),
    };
    QueryError::Base64 { reason }
}

/// The bytes of a percent-encoded value, decoded (`+` as a space), an error for a `%` not
/// followed by two hex digits.
struct PercentDecoded<'a> {
    parameter: &'static str,
    value: &'a [u8],
    at: usize,
}

impl<'a> PercentDecoded<'a> {
    fn new(parameter: &'static str, value: &'a [u8]) -> Self {
        Self {
            parameter,
            value,
            at: 0,
        }
    }
}

impl Iterator for PercentDecoded<'_> {
    type Item = Result<u8, QueryError>;

    fn next(&mut self) -> Option<Self::Item> {
        let byte = *self.value.get(self.at)?;
        Some(match byte {
            b'%' => {
                let hex = |offset: usize| {
                    self.value
                        .get(offset)
                        .and_then(|&b| (b as char).to_digit(16))
                };
                match (hex(self.at + 1), hex(self.at + 2)) {
                    (Some(high), Some(low)) => {
                        self.at += 3;
                        // Two hex digits: at most 0xff.
                        Ok((high * 16 + low) as u8)
                    }
                    _ => {
                        let offset = self.at;
                        // Stops here: the error is the last item.
                        self.at = self.value.len();
                        Err(QueryError::PercentEscape {
                            parameter: self.parameter,
                            offset,
                        })
                    }
                }
            }
            b'+' => {
                self.at += 1;
                Ok(b' ')
            }
            byte => {
                self.at += 1;
                Ok(byte)
            }
        })
    }
}

/// Appends `value` percent-decoded (`+` as a space) to `out`.
fn percent_decode(
    parameter: &'static str,
    value: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), QueryError> {
    for byte in PercentDecoded::new(parameter, value) {
        out.push(byte?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_connect_timeout(b"0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_connect_timeout(b"9999999999"),
            Ok(Duration::from_millis(9_999_999_999))
        );
        assert_eq!(
            parse_connect_timeout(b"12345678901"),
            Err(ConnectHeaderError::TimeoutTooManyDigits { digits: 11 })
        );
        assert_eq!(
            parse_connect_timeout(b""),
            Err(ConnectHeaderError::TimeoutEmpty)
        );
        assert_eq!(
            parse_connect_timeout(b"10s"),
            Err(ConnectHeaderError::TimeoutNotADigit {
                byte: b's',
                offset: 2
            })
        );
        assert_eq!(
            parse_connect_timeout(b" 1").unwrap_err().to_string(),
            "connect-timeout-ms has byte 0x20 at offset 0, where only digits may be"
        );
    }

    #[test]
    fn protocol_versions() {
        assert!(check_protocol_version(None).is_ok());
        assert!(check_protocol_version(Some(b"1")).is_ok());
        for value in [&b""[..], b"2", b"1 ", b"v1"] {
            let err = check_protocol_version(Some(value)).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument);
        }
    }

    #[test]
    fn get_queries() {
        let get = parse_get_query("encoding=proto&message=%08%01", 16).unwrap();
        assert_eq!(get.message, b"\x08\x01");
        assert_eq!(get.codec, Codec::Proto);
        // Padded or not, and `=` escaped.
        for message in ["CAE", "CAE=", "CAE%3D"] {
            let query = format!("message={message}&base64=1&encoding=proto&compression=gzip");
            let get = parse_get_query(&query, 2).unwrap();
            assert_eq!(get.message, b"\x08\x01", "{message}");
            assert_eq!(get.compression, GetCompression::Gzip);
        }
        // base64url, not standard.
        assert_eq!(
            parse_get_query("encoding=proto&base64=1&message=-_8", 16)
                .unwrap()
                .message,
            b"\xfb\xff"
        );
        assert_eq!(
            parse_get_query("encoding=proto&base64=1&message=AA/8", 16)
                .unwrap_err()
                .to_string(),
            "the Connect GET query's message is not base64url (base64=1): byte 0x2f at symbol 2 is not base64url"
        );
        // Across the decoder's chunks, every length.
        for len in [0, 1, 2, 767, 768, 769, 770, 1500, 3000] {
            let message: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let text = base64::engine::general_purpose::URL_SAFE.encode(&message);
            let escaped = text.replace('=', "%3D");
            for text in [&text, &escaped, text.trim_end_matches('=')] {
                let query = format!("encoding=proto&base64=1&message={text}");
                assert_eq!(
                    parse_get_query(&query, len).unwrap().message,
                    message,
                    "{len}"
                );
                if len > 0 {
                    assert_eq!(
                        parse_get_query(&query, len - 1),
                        Err(QueryError::MessageTooLarge { len, max: len - 1 })
                    );
                }
            }
        }
        let bad = format!("encoding=proto&base64=1&message={}*", "A".repeat(1500));
        assert_eq!(
            parse_get_query(&bad, 4096).unwrap_err().to_string(),
            "the Connect GET query's message is not base64url (base64=1): byte 0x2a at symbol 1500 is not base64url"
        );
        // An escape after a malformed one does not shrink the buffer below what is pushed
        // before the error (found by the connect_get fuzz target).
        assert_eq!(
            parse_get_query("encoding=proto&message=abc%zz%41%41", 4),
            Err(QueryError::PercentEscape {
                parameter: "message",
                offset: 3
            })
        );
        let long = format!("encoding={}&message=", "x".repeat(100));
        assert_eq!(
            parse_get_query(&long, 4).unwrap_err().to_string(),
            "the Connect GET query's encoding is \"xxxxxxxxxxxxxxxx… (100 bytes)\"; expected proto or json"
        );
        // Unknown parameters are ignored; `+` is a space.
        let get = parse_get_query("x=1&encoding=json&message=%7B+%7D&y", 16).unwrap();
        assert_eq!(get.message, b"{ }");
        assert_eq!(
            parse_get_query("encoding=json&message=", 0)
                .unwrap()
                .message,
            b""
        );
    }

    #[test]
    fn get_query_errors_name_the_parameter() {
        let err = |query: &str| parse_get_query(query, 4).unwrap_err();
        assert_eq!(
            err("message=a"),
            QueryError::Missing {
                parameter: "encoding"
            }
        );
        assert_eq!(
            err("encoding=proto"),
            QueryError::Missing {
                parameter: "message"
            }
        );
        assert_eq!(
            err("encoding=proto&message=a&encoding=json"),
            QueryError::Repeated {
                parameter: "encoding"
            }
        );
        assert_eq!(
            err("encoding=xml&message=").to_string(),
            "the Connect GET query's encoding is \"xml\"; expected proto or json"
        );
        assert_eq!(
            err("connect=v2&encoding=proto&message=").to_string(),
            "the Connect GET query's connect is \"v2\"; expected v1"
        );
        let compression = err("encoding=proto&message=&compression=br");
        assert_eq!(compression.code(), Code::Unimplemented);
        assert_eq!(
            err("encoding=proto&message=ab%2"),
            QueryError::PercentEscape {
                parameter: "message",
                offset: 2
            }
        );
        assert_eq!(
            err("encoding=proto&message=ab%zz"),
            QueryError::PercentEscape {
                parameter: "message",
                offset: 2
            }
        );
        assert_eq!(
            err("encoding=proto&message=%01%02%03%04%05"),
            QueryError::MessageTooLarge { len: 5, max: 4 }
        );
        // Eight base64 symbols are six bytes, refused before decoding.
        let large = err("encoding=proto&base64=1&message=AAAAAAAA");
        assert_eq!(large, QueryError::MessageTooLarge { len: 6, max: 4 });
        assert_eq!(large.code(), Code::ResourceExhausted);
        assert_eq!(
            err("encoding=proto&base64=2&message=").to_string(),
            "the Connect GET query's base64 is \"2\"; expected 1 or 0"
        );
    }

    #[test]
    fn connect_gets_are_told_by_their_parameters() {
        assert!(is_connect_get(Some("connect=v1&encoding=proto&message=")));
        assert!(is_connect_get(Some("message=x")));
        assert!(!is_connect_get(Some("a=1")));
        assert!(!is_connect_get(None));
        assert_eq!(get_codec("encoding=json&message="), Ok(Codec::Json));
    }
}
