//! The AWS event stream framing (`application/vnd.amazon.eventstream`), as
//! `InvokeWithResponseStream` answers with it.
//!
//! ```text
//!  [total length u32][headers length u32][prelude CRC32 u32]   12-byte prelude, big-endian
//!  [headers: name length u8, name, value type u8, value]…
//!  [payload]
//!  [message CRC32 u32]                                          over everything before it
//! ```
//!
//! `InvokeWithResponseStream` sends `PayloadChunk` events (the function's bytes, as written) and
//! one `InvokeComplete` event (`{"ErrorCode", "ErrorDetails", "LogResult"}`), or an exception
//! (`:message-type: exception`). The proxy's Invoke API client decodes them; the local Lambda
//! service (`grpc-lambda-local`) encodes them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The prelude: total length, headers length, prelude CRC.
const PRELUDE_LEN: usize = 12;
/// The prelude and the trailing message CRC.
const OVERHEAD: usize = PRELUDE_LEN + 4;
/// The largest message read. Lambda's payload chunks are far smaller; this bounds memory.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Header value type 7: a UTF-8 string with a u16 length.
const TYPE_STRING: u8 = 7;

/// What is wrong with an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStreamError {
    /// A message longer than [`MAX_MESSAGE_LEN`] or shorter than its own framing.
    BadLength {
        /// The length the prelude claims.
        len: u32,
    },
    /// A CRC does not match: the stream is corrupt.
    Checksum,
    /// A header cannot be read.
    BadHeader,
    /// The stream ended inside a message.
    Truncated {
        /// Bytes of the unfinished message.
        len: usize,
    },
}

impl fmt::Display for EventStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventStreamError::BadLength { len } => write!(
                f,
                "event stream message of {len} bytes (framing is {OVERHEAD}, the limit {MAX_MESSAGE_LEN})"
            ),
            EventStreamError::Checksum => f.write_str("event stream CRC32 mismatch"),
            EventStreamError::BadHeader => f.write_str("event stream header cannot be read"),
            EventStreamError::Truncated { len } => {
                write!(f, "event stream ended inside a message ({len} bytes of it)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EventStreamError {}

/// One message: its string headers and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The string-valued headers (`:event-type`, `:message-type`…); others are skipped.
    pub headers: Vec<(String, String)>,
    /// The payload, a slice of what was received.
    pub payload: Bytes,
}

impl Message {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An incremental decoder: push bytes, take messages.
#[derive(Debug, Default)]
pub struct MessageDecoder {
    buffer: BytesMut,
}

impl MessageDecoder {
    /// An empty decoder.
    pub fn new() -> MessageDecoder {
        MessageDecoder::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The next whole message; `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    ///
    /// [`EventStreamError`] when the stream is corrupt; it stays so.
    pub fn decode(&mut self) -> Result<Option<Message>, EventStreamError> {
        let Some(prelude) = self.buffer.get(..PRELUDE_LEN) else {
            return Ok(None);
        };
        let mut cursor = prelude;
        let total = cursor.get_u32();
        let headers_len = cursor.get_u32();
        let prelude_crc = cursor.get_u32();
        if crc32fast::hash(prelude.get(..8).unwrap_or_default()) != prelude_crc {
            return Err(EventStreamError::Checksum);
        }
        let total_len = usize::try_from(total).unwrap_or(usize::MAX);
        let headers_end = usize::try_from(headers_len)
            .ok()
            .and_then(|h| h.checked_add(PRELUDE_LEN));
        let Some(headers_end) = headers_end
            .filter(|&end| total_len >= OVERHEAD && end <= total_len - 4)
            .filter(|_| total_len <= MAX_MESSAGE_LEN)
        else {
            return Err(EventStreamError::BadLength { len: total });
        };
        if self.buffer.len() < total_len {
            self.buffer.reserve(total_len - self.buffer.len());
            return Ok(None);
        }
        let message = self.buffer.split_to(total_len).freeze();
        let body_end = total_len - 4;
        let expected = message.get(body_end..).map(|mut c| c.get_u32());
        if expected != Some(crc32fast::hash(message.get(..body_end).unwrap_or_default())) {
            return Err(EventStreamError::Checksum);
        }
        let headers = read_headers(message.get(PRELUDE_LEN..headers_end).unwrap_or_default())?;
        Ok(Some(Message {
            headers,
            payload: message.slice(headers_end..body_end),
        }))
    }

    /// Checks the stream ended between messages.
    ///
    /// # Errors
    ///
    /// [`EventStreamError::Truncated`] when bytes of an unfinished message remain.
    pub fn finish(&self) -> Result<(), EventStreamError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(EventStreamError::Truncated {
                len: self.buffer.len(),
            })
        }
    }
}

fn read_headers(mut block: &[u8]) -> Result<Vec<(String, String)>, EventStreamError> {
    let mut headers = Vec::new();
    while let Some((&name_len, rest)) = block.split_first() {
        let name = rest
            .get(..usize::from(name_len))
            .ok_or(EventStreamError::BadHeader)?;
        let rest = rest
            .get(usize::from(name_len)..)
            .ok_or(EventStreamError::BadHeader)?;
        let (&value_type, rest) = rest.split_first().ok_or(EventStreamError::BadHeader)?;
        let fixed = match value_type {
            0 | 1 => Some(0),
            2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            5 | 8 => Some(8),
            9 => Some(16),
            6 | 7 => None,
            _ => return Err(EventStreamError::BadHeader),
        };
        block = match fixed {
            Some(len) => rest.get(len..).ok_or(EventStreamError::BadHeader)?,
            None => {
                let len = rest
                    .get(..2)
                    .map(|mut l| usize::from(l.get_u16()))
                    .ok_or(EventStreamError::BadHeader)?;
                let value = rest.get(2..2 + len).ok_or(EventStreamError::BadHeader)?;
                if value_type == TYPE_STRING {
                    headers.push((
                        String::from_utf8_lossy(name).into_owned(),
                        String::from_utf8_lossy(value).into_owned(),
                    ));
                }
                rest.get(2 + len..).ok_or(EventStreamError::BadHeader)?
            }
        };
    }
    Ok(headers)
}

/// Encodes one message with string headers.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::eventstream::{encode, MessageDecoder};
///
/// let bytes = encode(&[(":event-type", "PayloadChunk")], b"hello");
/// let mut decoder = MessageDecoder::new();
/// decoder.push(&bytes);
/// let message = decoder.decode().unwrap().unwrap();
/// assert_eq!(message.header(":event-type"), Some("PayloadChunk"));
/// assert_eq!(message.payload, &b"hello"[..]);
/// ```
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let headers_len: usize = headers
        .iter()
        .map(|(n, v)| 1 + n.len().min(255) + 3 + v.len().min(usize::from(u16::MAX)))
        .sum();
    let total = OVERHEAD + headers_len + payload.len();
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(u32::try_from(total).unwrap_or(u32::MAX));
    out.put_u32(u32::try_from(headers_len).unwrap_or(u32::MAX));
    let prelude_crc = crc32fast::hash(&out);
    out.put_u32(prelude_crc);
    for (name, value) in headers {
        let name = name
            .as_bytes()
            .get(..name.len().min(255))
            .unwrap_or_default();
        let value = value
            .as_bytes()
            .get(..value.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        out.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
        out.put_slice(name);
        out.put_u8(TYPE_STRING);
        out.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
        out.put_slice(value);
    }
    out.put_slice(payload);
    let crc = crc32fast::hash(&out);
    out.put_u32(crc);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_split_anywhere() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&encode(
            &[(":event-type", "PayloadChunk"), (":message-type", "event")],
            b"\0\0\0\0\x02hi",
        ));
        stream.extend_from_slice(&encode(&[(":event-type", "InvokeComplete")], b"{}"));
        for split in 0..stream.len() {
            let mut decoder = MessageDecoder::new();
            let mut messages = Vec::new();
            for part in [&stream[..split], &stream[split..]] {
                decoder.push(part);
                while let Some(message) = decoder.decode().unwrap() {
                    messages.push(message);
                }
            }
            decoder.finish().unwrap();
            assert_eq!(messages.len(), 2);
            assert_eq!(messages[0].header(":event-type"), Some("PayloadChunk"));
            assert_eq!(messages[0].payload, &b"\0\0\0\0\x02hi"[..]);
            assert_eq!(messages[1].header(":event-type"), Some("InvokeComplete"));
        }
    }

    #[test]
    fn corruption_is_an_error_not_a_panic() {
        let good = encode(&[(":event-type", "PayloadChunk")], b"abc");
        for i in 0..good.len() {
            let mut bad = good.to_vec();
            bad[i] ^= 0x41;
            let mut decoder = MessageDecoder::new();
            decoder.push(&bad);
            // Either an error, or a wait for bytes that never come.
            if let Ok(Some(_)) = decoder.decode() {
                panic!("byte {i} flipped still decodes");
            }
        }
        let mut decoder = MessageDecoder::new();
        decoder.push(&good[..5]);
        assert_eq!(decoder.decode(), Ok(None));
        assert!(decoder.finish().is_err());
        let mut huge = BytesMut::new();
        huge.put_u32(u32::MAX);
        huge.put_u32(0);
        let crc = crc32fast::hash(&huge);
        huge.put_u32(crc);
        let mut decoder = MessageDecoder::new();
        decoder.push(&huge);
        assert!(matches!(
            decoder.decode(),
            Err(EventStreamError::BadLength { .. })
        ));
    }
}
