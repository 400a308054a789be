//! The gRPC-Web trailer block: the payload of a frame with flag 0x80.
//!
//! PROTOCOL-WEB.md: trailers are "encoded as HTTP/1 headers" — `name: value` lines, each ended by
//! CRLF, names in lower case — and sent as the last frame of the body, "the MSB (0x80) of the first
//! byte of a data frame indicates that the frame contains trailers".
//!
//! Encoding writes `name: value\r\n` for every entry. Decoding is lenient where peers differ (a bare
//! LF line end, a missing final line end, upper-case names, blank lines, spaces around the value)
//! and strict where a wrong guess would be a security or correctness problem (a line with no colon,
//! a name outside `0-9 a-z _ - .`, a control byte in a value). Values are slices of the frame.

use bytes::{BufMut, Bytes};
use core::fmt;

use crate::metadata::{self, Metadata, MetadataError};

/// A trailer block that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrailersError {
    /// [`crate::Frame::trailers`] was called on a message frame.
    NotTrailers,
    /// A non-blank line has no `:`.
    MissingColon {
        /// The 1-based line number.
        line: usize,
    },
    /// A line's name or value is not allowed.
    Invalid {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: MetadataError,
    },
}

impl fmt::Display for TrailersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTrailers => {
                f.write_str("frame is a message, not a trailer block (flag 0x80 unset)")
            }
            Self::MissingColon { line } => {
                write!(
                    f,
                    "trailer block line {line} has no ':' between name and value"
                )
            }
            Self::Invalid { line, error } => write!(f, "trailer block line {line}: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TrailersError {}

/// Bytes [`encode`] writes for `trailers`.
pub fn encoded_len(trailers: &Metadata) -> usize {
    trailers
        .iter_bytes()
        // name ": " value "\r\n"
        .map(|(n, v)| n.len().saturating_add(v.len()).saturating_add(4))
        .fold(0usize, usize::saturating_add)
}

/// Writes the trailer block (without the frame header) into `dst`.
///
/// # Examples
///
/// ```
/// let mut md = grpc_lambda_core::Metadata::new();
/// md.append("grpc-status", "0")?;
/// let mut out = Vec::new();
/// grpc_lambda_core::trailers::encode(&md, &mut out);
/// assert_eq!(out, b"grpc-status: 0\r\n");
/// # Ok::<(), grpc_lambda_core::MetadataError>(())
/// ```
pub fn encode(trailers: &Metadata, dst: &mut impl BufMut) {
    for (name, value) in trailers.iter_bytes() {
        dst.put_slice(name);
        dst.put_slice(b": ");
        dst.put_slice(value);
        dst.put_slice(b"\r\n");
    }
}

/// Parses a trailer block. Values are slices of `block`, not copies.
///
/// # Errors
///
/// [`TrailersError::MissingColon`] and [`TrailersError::Invalid`], naming the line.
///
/// # Examples
///
/// ```
/// let block = bytes::Bytes::from_static(b"grpc-status: 3\r\ngrpc-message: bad%20input\r\n");
/// let md = grpc_lambda_core::trailers::decode(&block)?;
/// assert_eq!(md.get("grpc-status"), Some(&b"3"[..]));
/// assert_eq!(md.get("grpc-message"), Some(&b"bad%20input"[..]));
/// # Ok::<(), grpc_lambda_core::trailers::TrailersError>(())
/// ```
pub fn decode(block: &Bytes) -> Result<Metadata, TrailersError> {
    let mut trailers = Metadata::new();
    let mut rest: &[u8] = block;
    let mut line_no = 0usize;
    while !rest.is_empty() {
        line_no += 1;
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (
                rest.get(..end).unwrap_or_default(),
                rest.get(end + 1..).unwrap_or_default(),
            ),
            None => (rest, &[][..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        rest = next;
        if line.iter().all(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(TrailersError::MissingColon { line: line_no })?;
        let name = trim(line.get(..colon).unwrap_or_default());
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        let invalid = |error| TrailersError::Invalid {
            line: line_no,
            error,
        };
        let name = metadata::checked_name(block.slice(range_of(block, name))).map_err(invalid)?;
        metadata::check_value(&name, value).map_err(invalid)?;
        trailers.push_checked(name, block.slice(range_of(block, value)));
    }
    Ok(trailers)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Offset of `part` inside `whole`; `part` is always a sub-slice of it here.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// The range `part` covers in `whole`, for a zero-copy `Bytes::slice`.
fn range_of(whole: &[u8], part: &[u8]) -> core::ops::Range<usize> {
    let start = offset_in(whole, part).min(whole.len());
    start..start.saturating_add(part.len()).min(whole.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &'static [u8]) -> Result<Metadata, TrailersError> {
        decode(&Bytes::from_static(text))
    }

    #[test]
    fn round_trip_keeps_order_and_repeats() {
        let mut md = Metadata::new();
        md.append("grpc-status", "0").unwrap();
        md.append("x-a", "1").unwrap();
        md.append("x-a", "two words").unwrap();
        md.append("x-b-bin", "AAEC").unwrap();
        let mut out = alloc::vec::Vec::new();
        encode(&md, &mut out);
        assert_eq!(out.len(), encoded_len(&md));
        assert_eq!(decode(&Bytes::from(out)).unwrap(), md);
    }

    #[test]
    fn lenient_where_peers_differ() {
        let md = parse(b"Grpc-Status:0\nGRPC-MESSAGE:  spaced out \t\r\n\r\nx: ").unwrap();
        assert_eq!(
            md.iter().collect::<alloc::vec::Vec<_>>(),
            [
                ("grpc-status", &b"0"[..]),
                ("grpc-message", b"spaced out"),
                ("x", b"")
            ]
        );
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn values_are_slices_of_the_block() {
        let block = Bytes::from_static(b"grpc-status: 0\r\n");
        let md = decode(&block).unwrap();
        let (_, value) = md.iter_bytes().next().unwrap();
        assert_eq!(value.as_ptr(), block[13..].as_ptr());
    }

    #[test]
    fn strict_where_a_guess_would_be_wrong() {
        assert_eq!(
            parse(b"grpc-status: 0\r\nno colon here\r\n"),
            Err(TrailersError::MissingColon { line: 2 })
        );
        let err = parse(b"bad name: 1\r\n").unwrap_err();
        assert!(
            matches!(err, TrailersError::Invalid { line: 1, .. }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "trailer block line 1: metadata name \"bad name\" has a byte at offset 3 outside 0-9 a-z _ - .");
        let err = parse(b"x: a\x00b").unwrap_err();
        assert!(
            matches!(err, TrailersError::Invalid { line: 1, .. }),
            "{err:?}"
        );
        assert_eq!(
            parse(b": v\r\n").unwrap_err().to_string(),
            "trailer block line 1: metadata name is empty"
        );
    }
}
