//! `grpc-encoding: gzip`: compress and decompress one message payload (RFC 1952, one member).
//!
//! Decompression is held to the same limit as the message itself: a few kilobytes of compressed
//! input may claim to expand into gigabytes, so the output stops growing at the limit and the call
//! fails with the limit in the error, never allocating past it.

use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::inflate::core::{
    self as inflate, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF, DecompressorOxide,
};
use miniz_oxide::inflate::TINFLStatus;

/// gzip's magic bytes and the only compression method it defines (deflate).
const MAGIC: [u8; 3] = [0x1f, 0x8b, 8];
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;
/// CRC-32 and ISIZE after the deflate data.
const FOOTER_LEN: usize = 8;
/// Deflate level used by [`compress`]: zlib's default trade-off.
pub const DEFAULT_LEVEL: u8 = 6;

/// A gzip payload that cannot be decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GzipError {
    /// The payload is not a gzip member: bad magic, method, reserved flags, or a header cut short.
    InvalidHeader {
        /// What is wrong.
        reason: &'static str,
    },
    /// The decompressed message would be longer than the limit.
    TooLarge {
        /// The limit.
        max: usize,
        /// Compressed bytes that expanded past it.
        compressed_len: usize,
    },
    /// The deflate data is corrupt or ends early.
    Corrupt,
    /// The CRC-32 or the length in the footer does not match the data.
    ChecksumMismatch,
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeader { reason } => write!(f, "gzip payload header is invalid: {reason}"),
            Self::TooLarge { max, compressed_len } => write!(
                f,
                "gzip payload of {compressed_len} bytes decompresses to more than the limit of {max} bytes"
            ),
            Self::Corrupt => f.write_str("gzip payload's deflate data is corrupt or cut short"),
            Self::ChecksumMismatch => {
                f.write_str("gzip payload's CRC-32 or length does not match its data")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GzipError {}

/// Compresses `payload` into one gzip member.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::gzip;
/// let packed = gzip::compress(&[7u8; 1000]);
/// assert!(packed.len() < 100);
/// assert_eq!(gzip::decompress(&packed, 1000)?, vec![7u8; 1000]);
/// # Ok::<(), gzip::GzipError>(())
/// ```
pub fn compress(payload: &[u8]) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(payload, DEFAULT_LEVEL);
    let mut out = Vec::with_capacity(10 + deflated.len() + FOOTER_LEN);
    // magic, method, flags 0, mtime 0, xfl 0, os 255 (unknown)
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out
}

/// Decompresses one gzip member, refusing to produce more than `max_len` bytes.
///
/// # Errors
///
/// [`GzipError::TooLarge`] past the limit (allocation stays within it), and the format errors.
pub fn decompress(payload: &[u8], max_len: usize) -> Result<Vec<u8>, GzipError> {
    let start = header_len(payload)?;
    let end = payload
        .len()
        .checked_sub(FOOTER_LEN)
        .filter(|&end| end >= start)
        .ok_or(GzipError::InvalidHeader {
            reason: "shorter than header and footer",
        })?;
    let deflated = payload.get(start..end).ok_or(GzipError::Corrupt)?;
    let footer = payload.get(end..).ok_or(GzipError::Corrupt)?;
    let out = inflate_with_limit(deflated, max_len).map_err(|err| match err {
        GzipError::TooLarge { max, .. } => GzipError::TooLarge {
            max,
            compressed_len: payload.len(),
        },
        other => other,
    })?;
    let mut crc = [0u8; 4];
    let mut size = [0u8; 4];
    crc.copy_from_slice(footer.get(..4).ok_or(GzipError::Corrupt)?);
    size.copy_from_slice(footer.get(4..).ok_or(GzipError::Corrupt)?);
    if u32::from_le_bytes(crc) != crc32fast::hash(&out)
        || u32::from_le_bytes(size) != out.len() as u32
    {
        return Err(GzipError::ChecksumMismatch);
    }
    Ok(out)
}

/// Inflates raw deflate data into a buffer that grows by doubling but never past `max_len`.
///
/// miniz_oxide's own `decompress_to_vec_with_limit` was measured reserving about twice the limit
/// (8 MB for a 4 MiB limit); growing the buffer here keeps the largest allocation within it.
fn inflate_with_limit(deflated: &[u8], max_len: usize) -> Result<Vec<u8>, GzipError> {
    let mut state = alloc::boxed::Box::<DecompressorOxide>::default();
    let initial = deflated
        .len()
        .saturating_mul(4)
        .clamp(64, 64 * 1024)
        .min(max_len);
    let mut out = alloc::vec![0u8; initial];
    let mut in_pos = 0usize;
    let mut out_pos = 0usize;
    loop {
        let input = deflated.get(in_pos..).unwrap_or_default();
        let (status, consumed, written) = inflate::decompress(
            &mut state,
            input,
            &mut out,
            out_pos,
            TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        in_pos = in_pos.saturating_add(consumed);
        out_pos = out_pos.saturating_add(written);
        match status {
            TINFLStatus::Done => {
                out.truncate(out_pos);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput if out.len() < max_len => {
                let grown = out.len().saturating_mul(2).clamp(64, max_len);
                // Exactly: `resize` alone may let `Vec` double its capacity past the limit.
                out.reserve_exact(grown - out.len());
                out.resize(grown, 0);
            }
            TINFLStatus::HasMoreOutput => {
                return Err(GzipError::TooLarge {
                    max: max_len,
                    compressed_len: deflated.len(),
                })
            }
            _ => return Err(GzipError::Corrupt),
        }
    }
}

/// Length of the member header, with its optional fields.
fn header_len(payload: &[u8]) -> Result<usize, GzipError> {
    let short = GzipError::InvalidHeader {
        reason: "cut short",
    };
    let fixed = payload.get(..10).ok_or(short.clone())?;
    if fixed.get(..3) != Some(&MAGIC[..]) {
        return Err(GzipError::InvalidHeader {
            reason: "not gzip magic 1f 8b with method 8 (deflate)",
        });
    }
    let flags = fixed.get(3).copied().unwrap_or(0);
    if flags & RESERVED != 0 {
        return Err(GzipError::InvalidHeader {
            reason: "reserved flag bits set",
        });
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = payload.get(at..at + 2).ok_or(short.clone())?;
        let xlen = usize::from(u16::from_le_bytes([
            xlen.first().copied().unwrap_or(0),
            xlen.get(1).copied().unwrap_or(0),
        ]));
        at = at.checked_add(2 + xlen).ok_or(short.clone())?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = payload.get(at..).ok_or(short.clone())?;
            let nul = rest.iter().position(|&b| b == 0).ok_or(short.clone())?;
            at += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > payload.len() {
        return Err(short);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in [0usize, 1, 100, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(decompress(&compress(&data), len).unwrap(), data);
        }
    }

    #[test]
    fn bomb_is_refused_at_the_limit() {
        // 64 MiB of zeros compresses to ~64 KiB; the limit is 4 MiB.
        let bomb = compress(&alloc::vec![0u8; 64 << 20]);
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        let err = decompress(&bomb, 4 << 20).unwrap_err();
        assert_eq!(
            err,
            GzipError::TooLarge {
                max: 4 << 20,
                compressed_len: bomb.len()
            }
        );
        assert!(err
            .to_string()
            .contains("more than the limit of 4194304 bytes"));
        // One byte under the real size is already too much; exactly the size is fine.
        let small = compress(&[1u8; 1000]);
        assert!(matches!(
            decompress(&small, 999),
            Err(GzipError::TooLarge { max: 999, .. })
        ));
        assert_eq!(decompress(&small, 1000).unwrap().len(), 1000);
    }

    #[test]
    fn format_errors() {
        assert!(matches!(
            decompress(b"", 10),
            Err(GzipError::InvalidHeader { .. })
        ));
        assert!(matches!(
            decompress(
                b"\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\xff\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                10
            ),
            Err(GzipError::InvalidHeader { .. })
        ));
        let mut good = compress(b"hello");
        let last = good.len() - 5;
        good[last] ^= 1; // corrupt the CRC
        assert_eq!(decompress(&good, 10), Err(GzipError::ChecksumMismatch));
        let good = compress(b"hello");
        assert!(decompress(&good[..good.len() - 9], 10).is_err());
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        let plain = compress(b"abc");
        let mut with_name = alloc::vec![
            0x1f,
            0x8b,
            8,
            FNAME | FEXTRA,
            0,
            0,
            0,
            0,
            0,
            255,
            2,
            0,
            b'x',
            b'y'
        ];
        with_name.extend_from_slice(b"file.bin\0");
        with_name.extend_from_slice(&plain[10..]);
        assert_eq!(decompress(&with_name, 3).unwrap(), b"abc");
    }
}
