//! Streaming base64 over [`Bytes`]: the binary body of every call that crosses API Gateway, a
//! Function URL or an ALB, and the whole stream of a gRPC-Web-text call.
//!
//! RFC 4648 section 4, the standard alphabet `A-Z a-z 0-9 + /`, padded with `=` on output.
//!
//! - [`Decoder`] and [`Encoder`] take chunks split anywhere — inside a 4-character group, inside
//!   the padding — and carry the 0–3 bytes of an unfinished group themselves.
//! - [`decode_into`], [`decode`], [`encode_into`], [`encode`] and [`encode_to_string`] do the
//!   common whole-body case in one call, into a buffer the caller provides or reuses.
//!
//! The decoder accepts what a gRPC-Web-text peer sends. PROTOCOL-WEB.md: "Due to in-stream
//! base64 padding when delimiting messages, the entire response body is not necessarily a valid
//! base64-encoded entity"; "the implementation may send base64-encoded \"chunks\" with potential
//! padding whenever the runtime needs to flush a byte buffer". A body may therefore be several
//! padded segments back to back: `AAAAAAE=AAAAAAE=` is two segments of five bytes each. Anything
//! else that is not base64 (a byte outside the alphabet, misplaced or incomplete padding, a
//! non-canonical last symbol, whitespace) is refused with its absolute offset in the stream.
//!
//! # Speed
//!
//! The whole groups of a chunk go to a SIMD decoder in one call, written straight into the spare
//! capacity of the output buffer. In a `std` build on x86_64 that is one of our own kernels,
//! chosen at runtime: AVX-512 VBMI (64 characters a step) or AVX2 (32), SIMD to the last byte of
//! every call, so a stream read in small chunks pays no scalar tail per chunk. Elsewhere, runs
//! shorter than 512 characters go to base64-simd and longer ones, on x86_64 or aarch64, to the
//! `base64` crate's runtime-detected AVX2/NEON engine, measured 1.25–1.3× faster from 1000 decoded
//! bytes up even though its output must be zeroed first. The environment variable
//! `GRPC_LAMBDA_BASE64_KERNEL` (`avx512vbmi`, `avx2` or `none`), read once, caps the kernel used,
//! for comparing them.
//! Encoding runs on our AVX-512 VBMI kernel where the CPU has it (48 bytes to 64 characters a
//! step: two byte permutes and a multishift, about 4× base64-simd's AVX2 encoder on 1 MiB), and
//! on base64-simd's everywhere else, which measured faster than the `base64` crate's throughout.
//!
//! Padding in the middle of a run costs nothing until it is there: the engines refuse it, and
//! only then is the run decoded segment by segment. The next boundary is predicted from the last
//! segment's length (senders pad every N bytes), one byte checks the guess and the engine confirms
//! it; only a wrong guess costs a scan for `=`. The scalar code in `scalar.rs` is the reference
//! every kernel and engine is tested against, and what names the offset of an error.
//! `decoder.rs` holds the streaming [`Decoder`] and the segment prediction the one-shot decode
//! shares; `encoder.rs` the streaming [`Encoder`].
//!
//! # Examples
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use grpc_lambda_core::base64::{self, Decoder, Encoder};
//!
//! // One-shot, the whole body at once.
//! assert_eq!(base64::encode(b"\0\0\0\0\x01\x08"), "AAAAAAEI");
//! assert_eq!(base64::decode(b"AAAAAAEI")?, &b"\0\0\0\0\x01\x08"[..]);
//!
//! // Streaming, split anywhere; two separately padded gRPC-Web-text segments.
//! let mut decoder = Decoder::new();
//! let mut out = BytesMut::new();
//! for chunk in [&b"AAAA"[..], b"AAE", b"=AAA", b"AAA", b"E="] {
//!     decoder.decode_chunk(chunk, &mut out)?;
//! }
//! decoder.finish()?;
//! assert_eq!(out, &b"\0\0\0\0\x01\0\0\0\0\x01"[..]);
//!
//! let mut encoder = Encoder::new();
//! let mut text = BytesMut::new();
//! encoder.encode_chunk(b"\0\0\0\0", &mut text);
//! encoder.encode_chunk(b"\x01", &mut text);
//! encoder.finish(&mut text);
//! assert_eq!(text, "AAAAAAE=");
//! # Ok::<(), grpc_lambda_core::base64::Base64Error>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::mem::MaybeUninit;

mod decoder;
mod encoder;
mod engine;
mod kernel;
mod scalar;

pub use decoder::Decoder;
use decoder::{decode_groups, Segments};
pub use encoder::Encoder;

/// The standard alphabet, RFC 4648 table 1: the symbol for each 6-bit value.
pub const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The padding byte, RFC 4648 section 3.2.
pub const PAD: u8 = b'=';

/// Input that is not base64.
///
/// Offsets count from the first byte of the stream: for a [`Decoder`], across every chunk fed
/// since it was created or last finished; for the one-shot functions, from the start of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Base64Error {
    /// A byte that is neither in the standard alphabet nor `=` (whitespace, `-`, `_`, `.`, a
    /// quote from a badly cut JSON string…).
    InvalidByte {
        /// Offset of the byte in the stream.
        offset: u64,
        /// The byte refused.
        byte: u8,
    },
    /// A `=` where padding cannot stand: in the first two places of a group, or a `=` in the
    /// third place not followed by a second one. Padding ends a group; a new segment may start
    /// after it, never inside it.
    InvalidPadding {
        /// Offset of the misplaced `=`.
        offset: u64,
    },
    /// The last symbol before the padding sets bits that no byte uses (`QR==` where only `QQ==`
    /// encodes `"A"`): RFC 4648 section 3.5 calls such an encoding non-canonical, and two
    /// different texts would otherwise decode to the same bytes.
    NonCanonical {
        /// Offset of the symbol.
        offset: u64,
        /// The symbol.
        byte: u8,
    },
    /// The stream ended inside a 4-character group.
    Truncated {
        /// Offset of the group's first character.
        offset: u64,
        /// How many characters of the group arrived (1 to 3).
        leftover: u8,
    },
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidByte { offset, byte } if byte.is_ascii_graphic() => write!(
                f,
                "base64 has {:?} (0x{byte:02x}) at offset {offset}, outside the alphabet A-Z a-z 0-9 + / and padding =",
                char::from(byte)
            ),
            Self::InvalidByte { offset, byte } => write!(
                f,
                "base64 has byte 0x{byte:02x} at offset {offset}, outside the alphabet A-Z a-z 0-9 + / and padding ="
            ),
            Self::InvalidPadding { offset } => write!(
                f,
                "base64 padding '=' at offset {offset} is misplaced: a 4-character group may only end in '=' or '=='"
            ),
            Self::NonCanonical { offset, byte } => write!(
                f,
                "base64 symbol {:?} at offset {offset} sets bits past the end of the data before the padding (non-canonical encoding)",
                char::from(byte)
            ),
            Self::Truncated { offset, leftover } => write!(
                f,
                "base64 ends inside a 4-character group: {leftover} character(s) from offset {offset}, padding missing"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Base64Error {}

/// A growable byte buffer the functions of this module append to: [`BytesMut`] or [`Vec<u8>`].
///
/// Output is reserved once per call and written in place, straight into the spare capacity
/// wherever the engine allows it. What the buffer held before is kept.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use grpc_lambda_core::base64::{decode_into, encode_into};
///
/// let mut frames = BytesMut::with_capacity(64);
/// decode_into(b"AAAAAAE=", &mut frames)?;
/// let mut json = br#"{"isBase64Encoded":true,"body":""#.to_vec();
/// encode_into(&frames, &mut json);
/// json.extend_from_slice(br#""}"#);
/// assert_eq!(json, br#"{"isBase64Encoded":true,"body":"AAAAAAE="}"#);
/// # Ok::<(), grpc_lambda_core::base64::Base64Error>(())
/// ```
pub trait Output: sealed::Sealed {}

impl Output for BytesMut {}
impl Output for Vec<u8> {}

mod sealed {
    use core::mem::MaybeUninit;

    /// The buffer operations the engines need; private, so the set of buffers stays closed.
    pub trait Sealed {
        fn written(&self) -> usize;
        fn reserve_bytes(&mut self, additional: usize);
        fn append(&mut self, bytes: &[u8]);
        fn truncate_to(&mut self, len: usize);
        /// Extends by `additional` zeroes and returns them, for engines that need `&mut [u8]`.
        fn zero_extend(&mut self, additional: usize) -> &mut [u8];
        fn spare(&mut self) -> &mut [MaybeUninit<u8>];
        /// # Safety
        ///
        /// The first `additional` bytes of [`Sealed::spare`] are initialized.
        #[allow(unsafe_code)]
        unsafe fn commit(&mut self, additional: usize);
    }

    /// The two growable byte buffers have the same methods under the same names; one
    /// definition serves both.
    macro_rules! impl_sealed {
        ($($buffer:ty),*) => {$(
            impl Sealed for $buffer {
                fn written(&self) -> usize {
                    self.len()
                }
                fn reserve_bytes(&mut self, additional: usize) {
                    self.reserve(additional);
                }
                fn append(&mut self, bytes: &[u8]) {
                    self.extend_from_slice(bytes);
                }
                fn truncate_to(&mut self, len: usize) {
                    self.truncate(len);
                }
                fn zero_extend(&mut self, additional: usize) -> &mut [u8] {
                    let start = self.len();
                    self.resize(start.saturating_add(additional), 0);
                    self.get_mut(start..).unwrap_or_default()
                }
                fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
                    self.spare_capacity_mut()
                }
                #[allow(unsafe_code)]
                unsafe fn commit(&mut self, additional: usize) {
                    // SAFETY: the caller guarantees the first `additional` spare bytes are
                    // initialized, which also puts `len + additional` within the capacity.
                    unsafe { self.set_len(self.len() + additional) }
                }
            }
        )*};
    }

    impl_sealed!(bytes::BytesMut, alloc::vec::Vec<u8>);
}

/// Lets `write` fill the spare capacity of `out` (at least `max` bytes, reserved here) and keeps
/// what it reports written; `None` from `write` leaves `out` as it was.
///
/// This is the one place output is committed without being zeroed first: an engine that takes
/// `&mut [MaybeUninit<u8>]` and returns the `&mut [u8]` it initialized. Zeroing instead was
/// measured at about a fifth of the work: 18 µs to zero 1 MiB of output against about 90 µs to
/// encode 1 MiB (every encode takes this path, every decode by one of our kernels, and without
/// a kernel every decode of a run under 512 characters).
fn append_uninit<O: Output>(
    out: &mut O,
    max: usize,
    write: impl FnOnce(&mut [MaybeUninit<u8>]) -> Option<&mut [u8]>,
) -> bool {
    out.reserve_bytes(max);
    let spare = out.spare();
    let spare_start = spare.as_ptr().cast::<u8>();
    let spare_len = spare.len();
    let Some(written) = write(spare) else {
        return false;
    };
    let (written_start, written_len) = (written.as_ptr(), written.len());
    if written_start != spare_start || written_len > spare_len {
        // Not the prefix of the spare capacity: nothing can be said about what was initialized.
        return false;
    }
    // SAFETY: `written` is a `&mut [u8]`, so its `written_len` bytes are initialized; it starts
    // at the first spare byte and fits in the spare capacity (both checked just above), so the
    // first `written_len` spare bytes are exactly those bytes.
    #[allow(unsafe_code)]
    unsafe {
        out.commit(written_len);
    }
    true
}

/// The length of the padded base64 text for `len` bytes: `4 * ceil(len / 3)`.
///
/// Exact for every length a slice can have; saturates at `usize::MAX` beyond.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::encoded_len;
///
/// assert_eq!(encoded_len(0), 0);
/// assert_eq!(encoded_len(1), 4);
/// assert_eq!(encoded_len(3), 4);
/// assert_eq!(encoded_len(1000), 1336);
/// ```
pub const fn encoded_len(len: usize) -> usize {
    let groups = len / 3 + if len.is_multiple_of(3) { 0 } else { 1 };
    match groups.checked_mul(4) {
        Some(n) => n,
        None => usize::MAX,
    }
}

/// An upper bound on the bytes `len` characters of base64 decode to: 3 per started group.
///
/// Exact for a single segment of whole groups without padding; padding, and the padding that
/// ends each gRPC-Web-text segment, only make the result shorter.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::decoded_len_max;
///
/// assert_eq!(decoded_len_max(8), 6);
/// assert_eq!(decoded_len_max(6), 6);
/// assert_eq!(decoded_len_max(16), 12); // "AAAAAAE=AAAAAAE=" decodes to 10 bytes
/// ```
pub const fn decoded_len_max(len: usize) -> usize {
    len / 4 * 3 + if len.is_multiple_of(4) { 0 } else { 3 }
}

/// Decodes a whole base64 body, appending the bytes to `out`.
///
/// `out` is reserved once, for [`decoded_len_max`] of the input, and written in place. The input
/// may be one padded segment or several back to back (gRPC-Web-text).
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use grpc_lambda_core::base64::decode_into;
///
/// let body = r#"AAAAAAIIAQ=="#; // e.g. the `body` of an API Gateway event
/// let mut out = BytesMut::new();
/// decode_into(body.as_bytes(), &mut out)?;
/// assert_eq!(out, &b"\0\0\0\0\x02\x08\x01"[..]);
/// # Ok::<(), grpc_lambda_core::base64::Base64Error>(())
/// ```
///
/// # Errors
///
/// The first byte that makes the input invalid, as a [`Base64Error`];
/// [`Base64Error::Truncated`] when it ends inside a group. `out` is then left as it was.
pub fn decode_into(input: &[u8], out: &mut impl Output) -> Result<(), Base64Error> {
    let start = out.written();
    let whole = input.len() / 4 * 4;
    out.reserve_bytes(whole / 4 * 3);
    let (body, tail) = input.split_at(whole);
    let result = decode_groups(body, 0, out, &mut Segments::default()).and_then(|()| {
        scalar::check_partial_group(tail, whole as u64)?;
        match tail.len() {
            0 => Ok(()),
            leftover => Err(Base64Error::Truncated {
                offset: whole as u64,
                leftover: leftover as u8,
            }),
        }
    });
    if result.is_err() {
        out.truncate_to(start);
    }
    result
}

/// Decodes a whole base64 body into a new [`Bytes`].
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::{decode, Base64Error};
///
/// assert_eq!(decode(b"AAAAAAE=AAAAAAE=")?, &b"\0\0\0\0\x01\0\0\0\0\x01"[..]);
/// assert_eq!(decode(b"AAAA AAE="), Err(Base64Error::InvalidByte { offset: 4, byte: b' ' }));
/// assert_eq!(decode(b"AAAAAA"), Err(Base64Error::Truncated { offset: 4, leftover: 2 }));
/// # Ok::<(), Base64Error>(())
/// ```
///
/// # Errors
///
/// As [`decode_into`].
pub fn decode(input: &[u8]) -> Result<Bytes, Base64Error> {
    let mut out = Vec::new();
    decode_into(input, &mut out)?;
    Ok(Bytes::from(out))
}

/// Encodes `input` as padded base64, appending to `out`, which is reserved once.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::encode_into;
///
/// let mut body = Vec::with_capacity(64);
/// encode_into(b"\0\0\0\0\x02\x08\x01", &mut body);
/// assert_eq!(body, b"AAAAAAIIAQ==");
/// ```
pub fn encode_into(input: &[u8], out: &mut impl Output) {
    engine::encode(input, out);
}

/// Encodes `input` as padded base64 into a new [`Bytes`].
///
/// # Examples
///
/// ```
/// assert_eq!(grpc_lambda_core::base64::encode(b"hi"), "aGk=");
/// ```
pub fn encode(input: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    engine::encode(input, &mut out);
    out.freeze()
}

/// Encodes `input` as padded base64, appending to `out`: the `body` of a JSON Lambda response
/// built in one pass.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::encode_to_string;
///
/// let mut body = String::with_capacity(64);
/// encode_to_string(b"\x80\0\0\0\x0fgrpc-status: 0\r\n", &mut body);
/// assert_eq!(body, "gAAAAA9ncnBjLXN0YXR1czogMA0K");
/// ```
pub fn encode_to_string(input: &[u8], out: &mut String) {
    append_text(out, |bytes| engine::encode(input, bytes));
}

/// Runs `write`, an encoder, on the bytes of `out`. Base64 is ASCII, so the `String` takes the
/// text as it is: a UTF-8 check of the whole string (which is what `String::from_utf8` would
/// do, prefix and all) costs about 20 µs per MiB, as much again as our encoder.
fn append_text(out: &mut String, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    // SAFETY: every `write` given here is an encoder of this module, which only appends base64
    // symbols and `=` (ASCII) after what the vector held and leaves that as it was, so the
    // string stays UTF-8. Should it unwind midway, what it had appended is ASCII too (its
    // buffers commit written symbols only, or zeroes, and truncate back to a length the string
    // had).
    #[allow(unsafe_code)]
    let bytes = unsafe { out.as_mut_vec() };
    write(bytes);
    debug_assert!(out.get(start..).is_some_and(|text| text.is_ascii()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::base64::engine::general_purpose::STANDARD;
    use ::base64::Engine as _;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;

    /// RFC 4648 section 10.
    const RFC_VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    /// Decodes `text` cut at `cuts` (sorted offsets) with one decoder.
    fn decode_split(text: &[u8], cuts: &[usize]) -> Result<Vec<u8>, Base64Error> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([text.len()].iter()) {
            decoder.decode_chunk(&text[start..cut], &mut out)?;
            start = cut;
        }
        decoder.finish()?;
        Ok(out)
    }

    /// Decodes `text` cut at `cuts` through [`Decoder::decode`], one `Bytes` per chunk.
    fn decode_split_bytes(text: &[u8], cuts: &[usize]) -> Result<Vec<u8>, Base64Error> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([text.len()].iter()) {
            out.extend_from_slice(&decoder.decode(&text[start..cut])?);
            start = cut;
        }
        decoder.finish()?;
        Ok(out)
    }

    /// Encodes `data` cut at `cuts` with one encoder.
    fn encode_split(data: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut encoder = Encoder::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([data.len()].iter()) {
            if cut % 2 == 0 {
                encoder.encode_chunk(&data[start..cut], &mut out);
            } else {
                out.extend_from_slice(&encoder.encode(&data[start..cut]));
            }
            start = cut;
        }
        encoder.finish(&mut out);
        out
    }

    /// Encodes `data` cut at `cuts` with one encoder onto a string that starts with `prefix`.
    fn encode_split_str(prefix: &str, data: &[u8], cuts: &[usize]) -> String {
        let mut encoder = Encoder::new();
        let mut out = String::from(prefix);
        let mut start = 0;
        for &cut in cuts.iter().chain([data.len()].iter()) {
            encoder.encode_chunk_str(&data[start..cut], &mut out);
            start = cut;
        }
        encoder.finish_str(&mut out);
        out
    }

    /// The reference answer for any input: the scalar code over the whole of it.
    fn reference(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
        let mut out = Vec::new();
        scalar::decode_groups(text, 0, &mut out)?;
        Ok(out)
    }

    /// Segment lengths chosen so that a guess lands on padding that does not end the segment.
    #[test]
    fn a_wrong_prediction_falls_back_to_the_scan() {
        let long = STANDARD.encode([1u8; 100]); // 136 characters, "==" at the end
        let short = STANDARD.encode([2u8; 40]); // 56 characters
        let rest = STANDARD.encode([3u8; 58]); // 80 characters: ends where a 136 guess would
                                               // After two long segments the guess is 136: it ends on the padding of `rest`, but the
                                               // run holds the padding of `short` too; the engine refuses it and the scan finds the
                                               // real end. Then a guess that lands on data, and one past the end of the input.
        let text = [long.as_str(), &long, &short, &rest, &long, &short].concat();
        let data = [
            [1u8; 100].as_slice(),
            &[1; 100],
            &[2; 40],
            &[3; 58],
            &[1; 100],
            &[2; 40],
        ]
        .concat();
        assert_eq!(decode(text.as_bytes()).unwrap(), data);
        for cut in 0..text.len() {
            assert_eq!(
                decode_split(text.as_bytes(), &[cut]).unwrap(),
                data,
                "{cut}"
            );
            assert_eq!(
                decode_split(text.as_bytes(), &[cut / 2, cut]).unwrap(),
                data,
                "{cut}"
            );
        }
        // Damage just before a predicted end is still found at its offset.
        let mut bad = [long.as_str(), &long, &long].concat().into_bytes();
        bad[136 * 2 + 130] = b'!';
        let expected = Err(Base64Error::InvalidByte {
            offset: 136 * 2 + 130,
            byte: b'!',
        });
        assert_eq!(decode(&bad).map(|b| b.to_vec()), expected);
        for cut in 0..bad.len() {
            assert_eq!(decode_split(&bad, &[cut]), expected, "{cut}");
        }
    }

    /// Every way to cut `len` into up to three pieces.
    fn all_cuts(len: usize) -> Vec<Vec<usize>> {
        let mut cuts = vec![vec![]];
        for a in 0..=len {
            cuts.push(vec![a]);
            for b in a..=len {
                cuts.push(vec![a, b]);
            }
        }
        cuts
    }

    #[test]
    fn rfc_4648_vectors() {
        for (data, text) in RFC_VECTORS {
            assert_eq!(encode(data.as_bytes()), text.as_bytes(), "{data:?}");
            assert_eq!(
                decode(text.as_bytes()).unwrap(),
                data.as_bytes(),
                "{text:?}"
            );
            let mut out = Vec::new();
            scalar::encode(data.as_bytes(), &mut out);
            assert_eq!(out, text.as_bytes());
            assert_eq!(reference(text.as_bytes()).unwrap(), data.as_bytes());
            assert_eq!(encoded_len(data.len()), text.len());
            assert!(decoded_len_max(text.len()) >= data.len());
            for cuts in all_cuts(text.len()) {
                assert_eq!(
                    decode_split(text.as_bytes(), &cuts).unwrap(),
                    data.as_bytes()
                );
            }
            for cuts in all_cuts(data.len()) {
                assert_eq!(encode_split(data.as_bytes(), &cuts), text.as_bytes());
            }
        }
    }

    #[test]
    fn separately_padded_segments_are_one_stream() {
        let text = b"AAAAAAE=AAAAAAE=";
        let expected = b"\0\0\0\0\x01\0\0\0\0\x01";
        assert_eq!(decode(text).unwrap(), &expected[..]);
        for cuts in all_cuts(text.len()) {
            assert_eq!(decode_split(text, &cuts).unwrap(), expected, "{cuts:?}");
            assert_eq!(
                decode_split_bytes(text, &cuts).unwrap(),
                expected,
                "{cuts:?}"
            );
        }
        // Every RFC vector, each its own segment, back to back.
        let joined: String = RFC_VECTORS.iter().map(|(_, text)| *text).collect();
        let data: String = RFC_VECTORS.iter().map(|(data, _)| *data).collect();
        assert_eq!(decode(joined.as_bytes()).unwrap(), data.as_bytes());
    }

    #[test]
    fn errors_name_the_first_bad_byte() {
        use Base64Error::*;
        let cases: [(&[u8], Base64Error); 16] = [
            (
                b"AAA",
                Truncated {
                    offset: 0,
                    leftover: 3,
                },
            ),
            (
                b"AAAAA",
                Truncated {
                    offset: 4,
                    leftover: 1,
                },
            ),
            (
                b"AAAA AAA",
                InvalidByte {
                    offset: 4,
                    byte: b' ',
                },
            ),
            (
                b"AAAAAAA\n",
                InvalidByte {
                    offset: 7,
                    byte: b'\n',
                },
            ),
            (
                b"AA-_",
                InvalidByte {
                    offset: 2,
                    byte: b'-',
                },
            ),
            (b"=AAA", InvalidPadding { offset: 0 }),
            (b"A===", InvalidPadding { offset: 1 }),
            (b"AA=A", InvalidPadding { offset: 2 }),
            (b"AAAA====", InvalidPadding { offset: 4 }),
            (
                b"QR==",
                NonCanonical {
                    offset: 1,
                    byte: b'R',
                },
            ),
            (
                b"QUJ=",
                NonCanonical {
                    offset: 2,
                    byte: b'J',
                },
            ),
            (
                b"QQ==QUJ=",
                NonCanonical {
                    offset: 6,
                    byte: b'J',
                },
            ),
            (
                b"QQ==Q",
                Truncated {
                    offset: 4,
                    leftover: 1,
                },
            ),
            (
                b"QQ==\"",
                InvalidByte {
                    offset: 4,
                    byte: b'"',
                },
            ),
            (
                b"QQ=",
                Truncated {
                    offset: 0,
                    leftover: 3,
                },
            ),
            (
                b"QR=",
                NonCanonical {
                    offset: 1,
                    byte: b'R',
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                decode(text),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(text)
            );
            assert_eq!(reference(text), Err(expected));
            for cuts in all_cuts(text.len()) {
                assert_eq!(decode_split(text, &cuts), Err(expected), "{cuts:?}");
            }
        }
    }

    #[test]
    fn errors_in_long_runs_are_located_by_the_reference() {
        // Long enough for both engines; a bad byte at every position of a group, and padding in
        // the middle around it.
        let data: Vec<u8> = (0..6000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let text = STANDARD.encode(&data).into_bytes();
        for at in [0, 1, 2, 3, 97, 1023, 1024, 4001, text.len() - 5] {
            let mut bad = text.clone();
            bad[at] = b'.';
            let expected = Base64Error::InvalidByte {
                offset: at as u64,
                byte: b'.',
            };
            assert_eq!(decode(&bad), Err(expected));
            assert_eq!(decode_split(&bad, &[at / 2, at + 1]), Err(expected));
            assert_eq!(decode_split(&bad, &[1000, 1000 + 4096]), Err(expected));
        }
    }

    #[test]
    fn an_error_is_final_and_leaves_the_output_alone() {
        let mut decoder = Decoder::new();
        let mut out = BytesMut::from(&b"kept"[..]);
        decoder.decode_chunk(b"AAAA", &mut out).unwrap();
        let error = decoder.decode_chunk(b"AAAA!", &mut out).unwrap_err();
        assert_eq!(
            error,
            Base64Error::InvalidByte {
                offset: 8,
                byte: b'!'
            }
        );
        assert_eq!(out, &b"kept\0\0\0"[..]);
        assert_eq!(decoder.decode_chunk(b"AAAA", &mut out), Err(error));
        assert_eq!(decoder.finish(), Err(error));

        let mut out = vec![1, 2];
        assert!(decode_into(b"AAAAAAAAA===", &mut out).is_err());
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode(b"QUJD").unwrap(), &b"ABC"[..]);
        decoder.decode(b"QQ").unwrap();
        assert_eq!((decoder.offset(), decoder.pending()), (6, 2));
        assert_eq!(decoder.decode(b"==").unwrap(), &b"A"[..]);
        decoder.finish().unwrap();
        assert_eq!(decoder.offset(), 0);
        assert_eq!(
            decoder.decode(b"!"),
            Err(Base64Error::InvalidByte {
                offset: 0,
                byte: b'!'
            })
        );

        let mut encoder = Encoder::new();
        assert_eq!(encoder.encode(b"ABCD"), "QUJD");
        assert_eq!(encoder.pending(), 1);
        assert_eq!(encoder.finish_bytes(), "RA==");
        assert_eq!(encoder.encode(b"AB"), "");
        assert_eq!(encoder.finish_bytes(), "QUI=");
        assert_eq!(encoder.finish_bytes(), "");
    }

    #[test]
    fn one_shot_helpers_append() {
        let mut out = BytesMut::from(&b"x"[..]);
        decode_into(b"Zm9v", &mut out).unwrap();
        assert_eq!(out, &b"xfoo"[..]);
        let mut out = vec![b'y'];
        encode_into(b"foo", &mut out);
        assert_eq!(out, b"yZm9v");
        let mut text = String::from("{\"body\":\"");
        encode_to_string(b"foob", &mut text);
        assert_eq!(text, "{\"body\":\"Zm9vYg==");
    }

    #[test]
    fn lengths() {
        assert_eq!(encoded_len(usize::MAX), usize::MAX);
        assert_eq!(encoded_len(usize::MAX / 4 * 3), usize::MAX / 4 * 4);
        assert_eq!(decoded_len_max(usize::MAX), usize::MAX / 4 * 3 + 3);
        for len in 0..100 {
            assert_eq!(encoded_len(len), STANDARD.encode(vec![0; len]).len());
        }
    }

    #[test]
    fn messages_carry_the_numbers() {
        let text = Base64Error::InvalidByte {
            offset: 1234,
            byte: b'!',
        }
        .to_string();
        assert!(text.contains("1234") && text.contains("'!'"), "{text}");
        let text = Base64Error::InvalidByte { offset: 7, byte: 0 }.to_string();
        assert!(text.contains("0x00") && text.contains('7'), "{text}");
        let text = Base64Error::Truncated {
            offset: 40,
            leftover: 3,
        }
        .to_string();
        assert!(text.contains("40") && text.contains('3'), "{text}");
        let text = Base64Error::InvalidPadding { offset: 9 }.to_string();
        assert!(text.contains('9') && text.contains("'='"), "{text}");
        let text = Base64Error::NonCanonical {
            offset: 5,
            byte: b'R',
        }
        .to_string();
        assert!(text.contains('5') && text.contains("'R'"), "{text}");
    }

    #[test]
    fn find_padding_matches_a_plain_search() {
        for len in 0..200 {
            for at in (0..len).step_by(7) {
                let mut text = vec![b'A'; len];
                text[at] = PAD;
                if at + 40 < len {
                    text[at + 40] = PAD;
                }
                assert_eq!(engine::find_padding(&text), Some(at));
            }
            assert_eq!(engine::find_padding(&vec![b'A'; len]), None);
        }
    }

    /// Sorted cut points in `0..=len`.
    fn cuts_strategy(len: usize) -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0..=len, 0..8).prop_map(|mut cuts| {
            cuts.sort_unstable();
            cuts
        })
    }

    /// Data from empty to past both engine thresholds.
    fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..4096),
        ]
    }

    proptest! {
        #[test]
        fn encoding_agrees_with_the_base64_crate_under_any_chunking(
            (data, cuts) in data_strategy().prop_flat_map(|data| {
                let len = data.len();
                (Just(data), cuts_strategy(len))
            })
        ) {
            let expected = STANDARD.encode(&data);
            prop_assert_eq!(&encode(&data)[..], expected.as_bytes());
            let mut text = String::new();
            encode_to_string(&data, &mut text);
            prop_assert_eq!(&text, &expected);
            prop_assert_eq!(encode_split(&data, &cuts), expected.as_bytes());
            // Onto text that is not ASCII: kept as it was, the base64 after it.
            let prefix = "{\"body\":\"é→";
            prop_assert_eq!(encode_split_str(prefix, &data, &cuts), format!("{prefix}{expected}"));
            let mut out = Vec::new();
            scalar::encode(&data, &mut out);
            prop_assert_eq!(out, expected.as_bytes());
        }

        #[test]
        fn decoding_agrees_with_the_base64_crate_under_any_chunking(
            (data, cuts) in data_strategy().prop_flat_map(|data| {
                let len = encoded_len(data.len());
                (Just(data), cuts_strategy(len))
            })
        ) {
            // With each of our kernels the CPU has, and with the other engines.
            for choice in kernel::switch::ALL {
                let _engines = kernel::switch::set(choice);
                let text = STANDARD.encode(&data).into_bytes();
                prop_assert_eq!(&decode(&text).unwrap()[..], &data[..]);
                prop_assert_eq!(decode_split(&text, &cuts).unwrap(), &data[..]);
                prop_assert_eq!(decode_split_bytes(&text, &cuts).unwrap(), &data[..]);
                prop_assert_eq!(reference(&text).unwrap(), &data[..]);
            }
        }

        #[test]
        fn segments_decode_to_their_concatenation_under_any_chunking(
            (parts, cuts) in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1200), 1..6)
                .prop_flat_map(|parts| {
                    let len = parts.iter().map(|part| encoded_len(part.len())).sum();
                    (Just(parts), cuts_strategy(len))
                })
        ) {
            // With each of our kernels the CPU has, and with the other engines.
            for choice in kernel::switch::ALL {
                let _engines = kernel::switch::set(choice);
                let text: Vec<u8> = parts.iter().flat_map(|part| STANDARD.encode(part).into_bytes()).collect();
                let data: Vec<u8> = parts.concat();
                prop_assert_eq!(&decode(&text).unwrap()[..], &data[..]);
                prop_assert_eq!(decode_split(&text, &cuts).unwrap(), &data[..]);
                prop_assert_eq!(reference(&text).unwrap(), &data[..]);
                // The encoder, finished after each part, writes the same segments.
                let mut encoder = Encoder::new();
                let mut out = Vec::new();
                for part in &parts {
                    encoder.encode_chunk(part, &mut out);
                    encoder.finish(&mut out);
                }
                prop_assert_eq!(out, text);
            }
        }

        #[test]
        fn segments_of_one_length_are_predicted_under_any_chunking(
            (len, count, odd, cuts) in (0..700usize, 1..24usize, 0..24usize).prop_flat_map(|(len, count, odd)| {
                let text_len = encoded_len(len) * count + 8;
                (Just(len), Just(count), Just(odd), cuts_strategy(text_len))
            })
        ) {
            // With each of our kernels the CPU has, and with the other engines.
            for choice in kernel::switch::ALL {
                let _engines = kernel::switch::set(choice);
                // `count` segments of `len` bytes, one of them (when `odd < count`) a byte longer:
                // the prediction holds, then fails once, then holds again.
                let parts: Vec<Vec<u8>> = (0..count)
                    .map(|i| (0..len + usize::from(i == odd)).map(|j| (i * 31 + j * 7) as u8).collect())
                    .collect();
                let text: Vec<u8> = parts.iter().flat_map(|part| STANDARD.encode(part).into_bytes()).collect();
                let data: Vec<u8> = parts.concat();
                let cuts: Vec<usize> = cuts.iter().copied().filter(|&cut| cut <= text.len()).collect();
                prop_assert_eq!(&decode(&text).unwrap()[..], &data[..]);
                prop_assert_eq!(decode_split(&text, &cuts).unwrap(), &data[..]);
                prop_assert_eq!(decode_split_bytes(&text, &cuts).unwrap(), &data[..]);
            }
        }

        #[test]
        fn damaged_input_fails_at_the_same_byte_under_any_chunking(
            (data, damage, cuts) in proptest::collection::vec(any::<u8>(), 0..3000).prop_flat_map(|data| {
                let len = encoded_len(data.len());
                let damage = proptest::collection::vec((0..len.max(1), prop_oneof![
                    Just(b'='), Just(b'.'), Just(b'\n'), Just(b'A'), Just(b'R'), any::<u8>()
                ]), 1..3);
                (Just(data), damage, cuts_strategy(len))
            }),
            truncate in any::<bool>(),
        ) {
            // With each of our kernels the CPU has, and with the other engines.
            for choice in kernel::switch::ALL {
                let _engines = kernel::switch::set(choice);
                let mut text = STANDARD.encode(&data).into_bytes();
                for &(at, byte) in &damage {
                    if let Some(slot) = text.get_mut(at) {
                        *slot = byte;
                    }
                }
                if truncate && !text.is_empty() {
                    text.pop();
                }
                let cuts: Vec<usize> = cuts.iter().copied().filter(|&cut| cut <= text.len()).collect();
                let expected = reference(&text);
                prop_assert_eq!(decode(&text).map(|bytes| bytes.to_vec()), expected.clone());
                prop_assert_eq!(decode_split(&text, &cuts), expected.clone());
                prop_assert_eq!(decode_split_bytes(&text, &cuts), expected.clone());
                // Where the text is one segment, the base64 crate agrees on what is valid.
                let pad = text.iter().position(|&b| b == PAD).unwrap_or(text.len());
                if text.len() % 4 == 0 && pad + 4 >= text.len() {
                    prop_assert_eq!(STANDARD.decode(&text).ok(), expected.ok());
                }
            }
        }
    }
}
