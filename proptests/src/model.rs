//! Reference readers: slow, written straight from the protocol text, sharing no code with the core.
//! The checks compare the core with them.

use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use grpc_lambda_core::content_type::ContentTypeError;
use grpc_lambda_core::trailers::TrailersError;
use grpc_lambda_core::{ContentType, DecodeError, Envelope, Frame, MetadataError};

/// Bytes in a frame header.
const HEADER: usize = 5;

/// What a whole stream decodes to: the frames before the first error, and that error.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Every frame, in order.
    pub frames: Vec<Frame>,
    /// The error that ended the stream, `None` when it ended on a frame boundary.
    pub error: Option<DecodeError>,
}

/// Splits a complete stream into frames: `flags, u32 big-endian length, payload`, flags limited to
/// 0x01 and 0x80, lengths limited to `max_message_len`.
pub fn frames(stream: &Bytes, max_message_len: usize) -> Decoded {
    frames_in(stream, max_message_len, None)
}

/// The flags bytes a frame of `envelope` may carry, as each spec lists its flags: gRPC's
/// Compressed-Flag (0, 1); gRPC-Web adds the trailers MSB (0x80); Connect's streaming envelope
/// adds end-stream (0b10). `None`: a reader told no envelope, gRPC's and gRPC-Web's.
pub fn allowed_flags(envelope: Option<Envelope>) -> &'static [u8] {
    match envelope {
        Some(Envelope::Grpc) => &[0x00, 0x01],
        Some(Envelope::GrpcWeb) | None => &[0x00, 0x01, 0x80, 0x81],
        Some(Envelope::Connect) => &[0x00, 0x01, 0x02, 0x03],
    }
}

/// [`frames`], reading `envelope`'s flags: another protocol's flag, or a reserved one, is
/// `FlagNotAllowed` when an envelope is named, `ReservedFlags` when none is.
pub fn frames_in(stream: &Bytes, max_message_len: usize, envelope: Option<Envelope>) -> Decoded {
    let mut decoded = Decoded::default();
    let mut offset = 0usize;
    loop {
        let rest = &stream[offset..];
        let at = offset as u64;
        if rest.is_empty() {
            return decoded;
        }
        if rest.len() < HEADER {
            decoded.error = Some(DecodeError::Truncated {
                expected: HEADER as u64,
                received: rest.len() as u64,
                offset: at,
            });
            return decoded;
        }
        let flags = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        if !allowed_flags(envelope).contains(&flags) {
            decoded.error = Some(match envelope {
                None => DecodeError::ReservedFlags { flags, offset: at },
                Some(envelope) => DecodeError::FlagNotAllowed {
                    flags,
                    envelope,
                    offset: at,
                },
            });
            return decoded;
        }
        if u64::from(len) > max_message_len as u64 {
            decoded.error = Some(DecodeError::MessageTooLarge {
                len,
                max: max_message_len,
                offset: at,
            });
            return decoded;
        }
        let end = HEADER as u64 + u64::from(len);
        if (rest.len() as u64) < end {
            decoded.error = Some(DecodeError::Truncated {
                expected: end,
                received: rest.len() as u64,
                offset: at,
            });
            return decoded;
        }
        let payload = stream.slice(offset + HEADER..offset + end as usize);
        let frame = Frame::new_in(flags, payload, envelope.unwrap_or(Envelope::GrpcWeb));
        decoded.frames.push(frame.expect("flags checked above"));
        offset += end as usize;
    }
}

/// Metadata entries as owned `(name, value)` pairs, in order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Whether `name` (already lower case) is a metadata name: `1*( 0-9 a-z _ - . )`.
pub fn is_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"_-.".contains(b))
}

/// Whether `value` may travel in a header or trailer line: no control byte but tab.
pub fn is_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80)
}

/// The error [`grpc_lambda_core::Metadata::append_bytes`] must give for this entry, if any.
pub fn entry_error(name: &[u8], value: &[u8]) -> Option<MetadataError> {
    let lower = name.to_ascii_lowercase();
    if !is_name(&lower) {
        let offset = lower
            .iter()
            .position(|b| !is_name(&[*b]))
            .unwrap_or_default();
        return Some(MetadataError::InvalidName {
            name: String::from_utf8_lossy(name).into_owned(),
            offset,
        });
    }
    value
        .iter()
        .position(|b| !is_value(&[*b]))
        .map(|offset| MetadataError::InvalidValue {
            name: String::from_utf8_lossy(&lower).into_owned(),
            byte: value[offset],
            offset,
        })
}

/// Trims HTTP optional whitespace (space, tab) from both ends.
pub fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Reads a gRPC-Web trailer block: lines ended by LF (an optional CR before it), blank lines
/// skipped, `name: value` with optional whitespace around both, names folded to lower case.
pub fn trailer_block(block: &[u8]) -> Result<Entries, TrailersError> {
    let mut entries = Vec::new();
    for (index, line) in block.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim_ows(line).is_empty() {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(TrailersError::MissingColon { line: line_no });
        };
        let name = trim_ows(&line[..colon]);
        let value = trim_ows(&line[colon + 1..]);
        if let Some(error) = entry_error(name, value) {
            return Err(TrailersError::Invalid {
                line: line_no,
                error,
            });
        }
        entries.push((name.to_ascii_lowercase(), value.to_vec()));
    }
    Ok(entries)
}

/// Reads `grpc-timeout`: 1 to 8 ASCII digits and one of `H M S m u n`.
pub fn timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let count: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(count * 3600),
        b'M' => Duration::from_secs(count * 60),
        b'S' => Duration::from_secs(count),
        b'm' => Duration::from_millis(count),
        b'u' => Duration::from_micros(count),
        b'n' => Duration::from_nanos(count),
        _ => return None,
    })
}

/// Decodes `grpc-message`: `%` and two hex digits is a byte, anything else stays; then UTF-8,
/// invalid sequences replaced.
pub fn percent_decode(value: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < value.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if value[i] == b'%' {
            if let (Some(high), Some(low)) = (
                value.get(i + 1).and_then(|&b| hex(b)),
                value.get(i + 2).and_then(|&b| hex(b)),
            ) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(value[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a `content-type`: the media type before any `;`, trimmed, compared without ASCII case
/// with the six gRPC forms.
pub fn content_type(value: &str) -> Result<ContentType, ContentTypeError> {
    let media = value.split(';').next().unwrap_or_default().trim();
    let lower = media.to_ascii_lowercase();
    let found = ContentType::ALL.into_iter().find(|ct| ct.as_str() == lower);
    if let Some(content_type) = found {
        return Ok(content_type);
    }
    if let Some((subtype, codec)) = lower.split_once('+') {
        if [
            "application/grpc",
            "application/grpc-web",
            "application/grpc-web-text",
        ]
        .contains(&subtype)
        {
            // The codec as sent, not lower-cased.
            let codec = media.get(subtype.len() + 1..).unwrap_or(codec).to_string();
            return Err(ContentTypeError::UnsupportedCodec {
                value: value.into(),
                codec,
            });
        }
    }
    Err(ContentTypeError::NotGrpc {
        value: value.into(),
    })
}

/// The `base64` crate, standard alphabet, trailing bits ignored, padding as `mode` says.
const fn lenient(mode: DecodePaddingMode) -> GeneralPurpose {
    GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(mode),
    )
}

/// Decodes one `-bin` value with the `base64` crate: "Implementations MUST accept padded and
/// un-padded values", so a value ending in `=` must be padded canonically, any other value must
/// need no padding. Trailing bits are ignored.
pub fn binary_value(value: &[u8]) -> Option<Vec<u8>> {
    const PADDED: GeneralPurpose = lenient(DecodePaddingMode::RequireCanonical);
    const UNPADDED: GeneralPurpose = lenient(DecodePaddingMode::RequireNone);
    if value.ends_with(b"=") {
        PADDED.decode(value).ok()
    } else {
        UNPADDED.decode(value).ok()
    }
}

/// Decodes a `-bin` header of comma-separated values with the `base64` crate.
pub fn binary_values(value: &[u8]) -> Option<Vec<Vec<u8>>> {
    value
        .split(|&b| b == b',')
        .map(|part| binary_value(trim_ows(part)))
        .collect()
}

/// Decodes a gRPC-Web-text body with the `base64` crate (standard alphabet, canonical padding,
/// no stray trailing bits): one or more padded segments back to back, the last one possibly
/// unpadded. Every segment is whole 4-character groups, so groups are aligned across the body.
pub fn base64_segments(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD;
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    let mut segment_start = 0;
    for (index, group) in text.chunks(4).enumerate() {
        let end = (index + 1) * 4;
        if group.contains(&b'=') || end == text.len() {
            STANDARD
                .decode_vec(&text[segment_start..end], &mut out)
                .ok()?;
            segment_start = end;
        }
    }
    Some(out)
}
