//! Binary metadata values: entries whose name ends in `-bin` carry base64 text on the wire.
//!
//! PROTOCOL-HTTP2.md: "Binary-Header → {Header-Name "-bin" } {base64 encoded value}";
//! "Implementations MUST accept padded and un-padded values and should emit un-padded values";
//! "a Binary-Header may contain multiple values separated by a comma, each value base64 encoded
//! separately".
//!
//! [`decode_binary_value`] reads one value, [`decode_binary_values`] a header that may hold
//! several, and [`encode_binary_value`] writes the unpadded form.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A `-bin` metadata value that is not valid base64.
///
/// Offsets count from the start of the value handed to the decoding function (for
/// [`decode_binary_values`], from the start of the whole header value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryValueError {
    /// A byte outside the standard base64 alphabet (`A-Z a-z 0-9 + /`), or a `=` that is not
    /// trailing padding.
    InvalidByte {
        /// The byte refused.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// The value, padding removed, has a length that leaves one base64 character over: no byte
    /// can be encoded in fewer than two characters.
    InvalidLength {
        /// The number of base64 characters, padding removed.
        len: usize,
    },
    /// The value ends in `=` padding but its length, padding included, is not a multiple of 4.
    InvalidPadding {
        /// The length of the value, padding included.
        len: usize,
    },
}

impl fmt::Display for BinaryValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidByte { byte, offset } if byte.is_ascii_graphic() => write!(
                f,
                "binary metadata value has {:?} (0x{byte:02x}) at offset {offset}, outside the base64 alphabet A-Z a-z 0-9 + /",
                char::from(*byte)
            ),
            Self::InvalidByte { byte, offset } => write!(
                f,
                "binary metadata value has byte 0x{byte:02x} at offset {offset}, outside the base64 alphabet A-Z a-z 0-9 + /"
            ),
            Self::InvalidLength { len } => write!(
                f,
                "binary metadata value has {len} base64 characters; a length of 4n+1 cannot be decoded"
            ),
            Self::InvalidPadding { len } => write!(
                f,
                "binary metadata value is padded with '=' but is {len} bytes long, not a multiple of 4"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BinaryValueError {}

/// Whether `byte` belongs to the standard base64 alphabet (RFC 4648, table 1).
const fn is_base64_byte(byte: u8) -> bool {
    matches!(byte, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/')
}

/// Decodes one `-bin` metadata value, padded or unpadded.
///
/// Trailing bits left over by a non-canonical encoder (`QR` instead of `QQ` for `"A"`) are
/// ignored, as a lenient decoder should.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::metadata::decode_binary_value;
///
/// assert_eq!(decode_binary_value(b"AAEC")?, [0, 1, 2]);
/// assert_eq!(decode_binary_value(b"AAE=")?, [0, 1]);
/// assert_eq!(decode_binary_value(b"AAE")?, [0, 1]);
/// assert!(decode_binary_value(b"AA.E").is_err());
/// # Ok::<(), grpc_lambda_core::metadata::BinaryValueError>(())
/// ```
///
/// # Errors
///
/// [`BinaryValueError::InvalidByte`] for a byte outside the alphabet (whitespace and `,`
/// included: use [`decode_binary_values`] for a header holding several values),
/// [`BinaryValueError::InvalidLength`] for a length of 4n+1 characters and
/// [`BinaryValueError::InvalidPadding`] for padding on a value whose length is not a multiple of 4.
pub fn decode_binary_value(value: &[u8]) -> Result<Vec<u8>, BinaryValueError> {
    let data = strip_padding(value)?;
    match base64_simd::STANDARD_NO_PAD.decode_to_vec(data) {
        Ok(decoded) => Ok(decoded),
        Err(_) => decode_slow(data),
    }
}

/// Removes up to two trailing `=`, checking that a padded value has a length multiple of 4.
fn strip_padding(value: &[u8]) -> Result<&[u8], BinaryValueError> {
    let data = match value {
        [data @ .., b'=', b'='] | [data @ .., b'='] => data,
        _ => return Ok(value),
    };
    if !value.len().is_multiple_of(4) {
        return Err(BinaryValueError::InvalidPadding { len: value.len() });
    }
    Ok(data)
}

/// The path taken when the fast decoder refused `data` (padding already removed): finds which
/// byte or length was wrong, or, when only the trailing bits were non-zero, decodes leniently.
#[cold]
fn decode_slow(data: &[u8]) -> Result<Vec<u8>, BinaryValueError> {
    if let Some(offset) = data.iter().position(|&b| !is_base64_byte(b)) {
        return Err(BinaryValueError::InvalidByte {
            byte: data.get(offset).copied().unwrap_or(0),
            offset,
        });
    }
    if data.len() % 4 == 1 {
        return Err(BinaryValueError::InvalidLength { len: data.len() });
    }
    // Every byte is in the alphabet and the length is sound, so the strict decoder can only have
    // refused non-zero trailing bits. The forgiving decoder ignores them; its whitespace removal
    // has nothing to remove here.
    base64_simd::forgiving_decode_to_vec(data)
        .map_err(|_| BinaryValueError::InvalidLength { len: data.len() })
}

/// Decodes a `-bin` header that may hold several values joined with `,` (as an HTTP proxy may
/// join repeated headers), each padded or unpadded. Spaces and tabs around each value are
/// ignored.
///
/// A header value with no comma gives one value; an empty header value gives one empty value.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::metadata::binary::decode_binary_values;
///
/// assert_eq!(decode_binary_values(b"AAE=, AgM")?, [vec![0, 1], vec![2, 3]]);
/// assert_eq!(decode_binary_values(b"AAEC")?, [vec![0, 1, 2]]);
/// # Ok::<(), grpc_lambda_core::metadata::BinaryValueError>(())
/// ```
///
/// # Errors
///
/// As [`decode_binary_value`], for the first value that fails; offsets count from the start of
/// the whole header value.
pub fn decode_binary_values(value: &[u8]) -> Result<Vec<Vec<u8>>, BinaryValueError> {
    let mut values = Vec::new();
    let mut start = 0;
    for part in value.split(|&b| b == b',') {
        let leading = part
            .iter()
            .take_while(|&&b| is_optional_whitespace(b))
            .count();
        let trimmed = part.get(leading..).unwrap_or_default();
        let trailing = trimmed
            .iter()
            .rev()
            .take_while(|&&b| is_optional_whitespace(b))
            .count();
        let trimmed = trimmed.get(..trimmed.len() - trailing).unwrap_or_default();
        let decoded = decode_binary_value(trimmed).map_err(|err| match err {
            BinaryValueError::InvalidByte { byte, offset } => BinaryValueError::InvalidByte {
                byte,
                offset: start + leading + offset,
            },
            other => other,
        })?;
        values.push(decoded);
        // The separator is one byte; `split` never yields more parts than commas plus one.
        start += part.len() + 1;
    }
    Ok(values)
}

/// HTTP's optional whitespace (RFC 9110, `OWS`): space and horizontal tab.
const fn is_optional_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

/// Encodes a `-bin` metadata value as unpadded standard base64, the form gRPC says to emit.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::metadata::encode_binary_value;
///
/// assert_eq!(encode_binary_value(&[0, 1]), "AAE");
/// assert_eq!(encode_binary_value(&[0, 1, 2]), "AAEC");
/// ```
pub fn encode_binary_value(value: &[u8]) -> String {
    base64_simd::STANDARD_NO_PAD.encode_to_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use base64::Engine as _;

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for len in 0..data.len() {
            let value = &data[..len];
            let encoded = encode_binary_value(value);
            assert!(!encoded.contains('='), "{encoded}");
            assert_eq!(
                encoded,
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(value)
            );
            assert_eq!(decode_binary_value(encoded.as_bytes()).unwrap(), value);
            let padded = base64::engine::general_purpose::STANDARD.encode(value);
            assert_eq!(
                decode_binary_value(padded.as_bytes()).unwrap(),
                value,
                "{padded}"
            );
        }
    }

    #[test]
    fn empty_value_is_empty() {
        assert_eq!(decode_binary_value(b"").unwrap(), Vec::<u8>::new());
        assert_eq!(encode_binary_value(b""), "");
    }

    #[test]
    fn bad_bytes_are_named_with_their_offset() {
        let err = decode_binary_value(b"AAEC AA").unwrap_err();
        assert_eq!(
            err,
            BinaryValueError::InvalidByte {
                byte: b' ',
                offset: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "binary metadata value has byte 0x20 at offset 4, outside the base64 alphabet A-Z a-z 0-9 + /"
        );
        let err = decode_binary_value(b"AA-_").unwrap_err();
        assert_eq!(
            err,
            BinaryValueError::InvalidByte {
                byte: b'-',
                offset: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "binary metadata value has '-' (0x2d) at offset 2, outside the base64 alphabet A-Z a-z 0-9 + /"
        );
        // Padding in the middle is not padding.
        assert_eq!(
            decode_binary_value(b"AA==AAAA").unwrap_err(),
            BinaryValueError::InvalidByte {
                byte: b'=',
                offset: 2
            }
        );
        assert_eq!(
            decode_binary_value(b"A===").unwrap_err(),
            BinaryValueError::InvalidByte {
                byte: b'=',
                offset: 1
            }
        );
        assert_eq!(
            decode_binary_value(&[b'A', b'A', 0xff]).unwrap_err(),
            BinaryValueError::InvalidByte {
                byte: 0xff,
                offset: 2
            }
        );
    }

    #[test]
    fn bad_lengths_and_padding_are_named() {
        let err = decode_binary_value(b"AAECA").unwrap_err();
        assert_eq!(err, BinaryValueError::InvalidLength { len: 5 });
        assert_eq!(
            err.to_string(),
            "binary metadata value has 5 base64 characters; a length of 4n+1 cannot be decoded"
        );
        assert_eq!(
            decode_binary_value(b"A").unwrap_err(),
            BinaryValueError::InvalidLength { len: 1 }
        );
        let err = decode_binary_value(b"AA=").unwrap_err();
        assert_eq!(err, BinaryValueError::InvalidPadding { len: 3 });
        assert_eq!(
            err.to_string(),
            "binary metadata value is padded with '=' but is 3 bytes long, not a multiple of 4"
        );
        assert_eq!(
            decode_binary_value(b"=").unwrap_err(),
            BinaryValueError::InvalidPadding { len: 1 }
        );
        assert_eq!(
            decode_binary_value(b"==").unwrap_err(),
            BinaryValueError::InvalidPadding { len: 2 }
        );
    }

    #[test]
    fn non_canonical_trailing_bits_are_ignored() {
        // "QQ" is the canonical encoding of "A"; "QR" sets a bit that carries no data.
        assert_eq!(decode_binary_value(b"QR").unwrap(), b"A");
        assert_eq!(decode_binary_value(b"QR==").unwrap(), b"A");
        assert_eq!(decode_binary_value(b"QUJ").unwrap(), b"AB");
    }

    #[test]
    fn comma_separated_values() {
        assert_eq!(
            decode_binary_values(b"AAE=,AgM").unwrap(),
            [vec![0, 1], vec![2, 3]]
        );
        assert_eq!(
            decode_binary_values(b" AAE= ,\tAgM ").unwrap(),
            [vec![0, 1], vec![2, 3]]
        );
        assert_eq!(decode_binary_values(b"").unwrap(), [Vec::<u8>::new()]);
        assert_eq!(decode_binary_values(b"AA,").unwrap(), [vec![0], vec![]]);
        // Offsets are in the whole header value.
        assert_eq!(
            decode_binary_values(b"AAE=, A*gM").unwrap_err(),
            BinaryValueError::InvalidByte {
                byte: b'*',
                offset: 7
            }
        );
        assert_eq!(
            decode_binary_values(b"AAE=,AgM==").unwrap_err(),
            BinaryValueError::InvalidPadding { len: 5 }
        );
        // A single-value decoder refuses the comma.
        assert_eq!(
            decode_binary_value(b"AAE=,AgM").unwrap_err(),
            BinaryValueError::InvalidByte {
                byte: b'=',
                offset: 3
            }
        );
    }
}
