//! The checks, shared by the property suites, the fuzz targets and the regression test.
//!
//! Each one panics, naming the input, when the core disagrees with itself, with the reference in
//! [`crate::model`], or with the `base64` crate. [`check_round_trip`] is the common shape, after
//! prost's `check_type`: the length announced equals the bytes written, and the value comes back
//! under every chunking with nothing left over.

use std::fmt::Debug;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::content_type::ContentTypeError;
use grpc_lambda_core::decode::{decode_all, FrameCounter};
use grpc_lambda_core::metadata::binary::decode_binary_values;
use grpc_lambda_core::metadata::{
    decode_binary_value, encode_binary_value, format_timeout, parse_timeout,
};
use grpc_lambda_core::status::{percent_decode_message, percent_encode_message};
use grpc_lambda_core::trailers::{self, TrailersError};
use grpc_lambda_core::{
    Code, ContentType, DecodeError, EncodeError, Envelope, Frame, FrameDecoder, FrameEncoder,
    Metadata, Status, HEADER_LEN,
};

use crate::chunking::Chunking;
use crate::counting_alloc::largest_allocation;
use crate::model::{self, Decoded, Entries};

/// Bytes a decoder may allocate on top of the message limit: its queue of chunks and the
/// reference counts `Bytes` keeps. Never anything proportional to what a header announces.
pub const ALLOCATION_SLACK: usize = 256;

/// The round trip every codec here must pass, after prost's `check_type`: `encode` writes exactly
/// `encoded_len` bytes, and `decode` (which must also check that nothing is left over) gives
/// `value` back from those bytes cut by every chunking. Returns the encoded bytes.
///
/// # Panics
///
/// When any of that fails, naming the value, the chunking and the bytes.
///
/// # Examples
///
/// ```
/// use bytes::BufMut;
/// use grpc_lambda_proptests::{check::check_round_trip, chunking::Chunking};
///
/// // A toy codec: a byte count, then the bytes.
/// let value = b"abc".to_vec();
/// let wire = check_round_trip(
///     &value,
///     1 + value.len(),
///     |out| { out.put_u8(value.len() as u8); out.put_slice(&value) },
///     |chunks| {
///         let all: Vec<u8> = chunks.concat();
///         let (len, rest) = all.split_first().ok_or("empty")?;
///         (usize::from(*len) == rest.len()).then(|| rest.to_vec()).ok_or("length")
///     },
///     &Chunking::standard_set(),
/// );
/// assert_eq!(wire, &b"\x03abc"[..]);
/// ```
pub fn check_round_trip<T, E>(
    value: &T,
    encoded_len: usize,
    encode: impl FnOnce(&mut BytesMut),
    decode: impl Fn(Vec<Bytes>) -> Result<T, E>,
    chunkings: &[Chunking],
) -> Bytes
where
    T: PartialEq + Debug,
    E: Debug,
{
    let mut out = BytesMut::new();
    encode(&mut out);
    assert_eq!(
        out.len(),
        encoded_len,
        "announced length differs from bytes written for {value:?}"
    );
    let wire = out.freeze();
    for chunking in chunkings {
        match decode(chunking.cut(&wire)) {
            Ok(decoded) => assert_eq!(
                &decoded, value,
                "{chunking:?} of {wire:?} decoded to something else"
            ),
            Err(err) => panic!("{chunking:?} of {wire:?} (from {value:?}) failed: {err:?}"),
        }
    }
    wire
}

/// Feeds `chunks` to a decoder one at a time, taking every frame out after each, then finishes.
///
/// Returns what was decoded and the largest single allocation the decoder made (`None` without
/// the counting allocator). After an error, checks that the decoder keeps answering it.
pub fn decode_chunks(chunks: &[Bytes], max_message_len: usize) -> (Decoded, Option<usize>) {
    decode_chunks_with(chunks, max_message_len, Take::Owned)
}

/// How [`decode_chunks_with`] takes frames out of the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// [`FrameDecoder::decode`] only.
    Owned,
    /// [`FrameDecoder::decode_ref`] only, each lent frame copied out to compare.
    Lent,
    /// The two in turn, so each path starts where the other stopped.
    Alternating,
}

/// [`decode_chunks`], taking frames out as `take` says.
pub fn decode_chunks_with(
    chunks: &[Bytes],
    max_message_len: usize,
    take: Take,
) -> (Decoded, Option<usize>) {
    decode_chunks_in(chunks, max_message_len, take, None)
}

/// [`decode_chunks_with`], the decoder reading `envelope`'s frames when one is named.
pub fn decode_chunks_in(
    chunks: &[Bytes],
    max_message_len: usize,
    take: Take,
    envelope: Option<Envelope>,
) -> (Decoded, Option<usize>) {
    let mut decoder = FrameDecoder::with_max_message_len(max_message_len);
    if let Some(envelope) = envelope {
        decoder = decoder.with_envelope(envelope);
    }
    let mut lend = take == Take::Lent;
    let mut decoded = Decoded::default();
    // Room for every frame the chunks can hold, reserved before measuring: only the decoder's
    // own allocations count.
    let total: usize = chunks.iter().map(Bytes::len).sum();
    decoded.frames.reserve(total / HEADER_LEN + 1);
    let ((), largest) = largest_allocation(|| {
        'feed: for chunk in chunks {
            decoder.push(chunk.clone());
            loop {
                let next = if lend {
                    decoder
                        .decode_ref()
                        .map(|frame| frame.map(|lent| lent.to_frame()))
                } else {
                    decoder.decode()
                };
                if take == Take::Alternating {
                    lend = !lend;
                }
                match next {
                    Ok(Some(frame)) => decoded.frames.push(frame),
                    Ok(None) => break,
                    Err(err) => {
                        decoded.error = Some(err);
                        break 'feed;
                    }
                }
            }
        }
        if decoded.error.is_none() {
            decoded.error = decoder.finish().err();
        }
    });
    if let Some(err) = &decoded.error {
        if !matches!(err, DecodeError::Truncated { .. }) {
            assert_eq!(decoder.decode(), Err(err.clone()), "an error is final");
        }
        assert_eq!(decoder.finish(), Err(err.clone()), "an error is final");
    }
    (decoded, largest)
}

/// Everything a decoder must get right on any input, however it is cut:
///
/// - the same frames and the same error as the reference reader, whole and under `chunking`;
/// - no frame over the limit, ever, and no allocation past the limit (plus
///   [`ALLOCATION_SLACK`]) when the counting allocator is installed;
/// - a frame whose bytes arrived in one chunk is a slice of it;
/// - the frames encode back to exactly the bytes they were read from;
/// - a trailer frame's block reads as the reference trailer reader reads it;
/// - a [`FrameCounter`] counts the same frames, from their headers alone.
pub fn check_decoder(stream: &Bytes, max_message_len: usize, chunking: &Chunking) {
    let expected = model::frames(stream, max_message_len);

    let (whole, whole_alloc) = decode_chunks(std::slice::from_ref(stream), max_message_len);
    assert_eq!(whole, expected, "one chunk of {stream:?}");
    let all = decode_all(stream.clone(), max_message_len);
    match &expected.error {
        None => assert_eq!(all.as_ref(), Ok(&expected.frames), "decode_all"),
        Some(err) => assert_eq!(all.as_ref(), Err(err), "decode_all"),
    }

    let ranges = chunking.ranges(stream.len());
    let chunks: Vec<Bytes> = ranges.iter().map(|r| stream.slice(r.clone())).collect();
    let (chunked, chunked_alloc) = decode_chunks(&chunks, max_message_len);
    assert_eq!(chunked, expected, "{chunking:?} of {stream:?}");
    let mut allocations = vec![whole_alloc, chunked_alloc];
    for take in [Take::Lent, Take::Alternating] {
        let (lent, lent_alloc) = decode_chunks_with(&chunks, max_message_len, take);
        assert_eq!(lent, expected, "{take:?}, {chunking:?} of {stream:?}");
        allocations.push(lent_alloc);
    }

    check_counter(&chunks, max_message_len, &expected);

    let bound = max_message_len.saturating_add(ALLOCATION_SLACK);
    for largest in allocations.into_iter().flatten() {
        assert!(
            largest <= bound,
            "largest allocation {largest} bytes, limit {max_message_len}, {chunking:?}"
        );
    }

    let encoder = FrameEncoder::with_max_message_len(max_message_len);
    let mut reencoded = BytesMut::new();
    let mut offset = 0usize;
    for frame in &chunked.frames {
        assert!(
            frame.payload().len() <= max_message_len,
            "frame over the limit"
        );
        let end = offset + frame.encoded_len();
        let payload_start = offset + HEADER_LEN;
        // The chunk the frame starts in (ranges are sorted and consecutive), if it ends there too.
        let first = ranges.partition_point(|r| r.end <= offset);
        let chunk = ranges
            .get(first)
            .zip(chunks.get(first))
            .filter(|(r, _)| r.start <= offset && end <= r.end);
        if let (Some((_, chunk)), false) = (chunk, frame.payload().is_empty()) {
            let inside = chunk.as_ptr_range();
            assert!(
                inside.contains(&frame.payload().as_ptr()),
                "frame at {offset} arrived in one chunk but was copied ({chunking:?})"
            );
            assert_eq!(frame.payload()[..], stream[payload_start..end]);
        }
        encoder
            .encode_frame(frame, &mut reencoded)
            .expect("a decoded frame encodes under the same limit");
        if frame.is_trailers() {
            check_trailer_frame(frame);
        } else {
            assert_eq!(frame.trailers(), Err(TrailersError::NotTrailers));
        }
        offset = end;
    }
    assert_eq!(
        reencoded[..],
        stream[..offset],
        "frames re-encode to their bytes"
    );
}

/// A [`FrameCounter`] fed `chunks` counts the frames the reference reader reads, ends between
/// frames exactly when the stream is whole frames, and refuses a header with the decoder's error.
fn check_counter(chunks: &[Bytes], max_message_len: usize, expected: &Decoded) {
    check_counter_in(chunks, max_message_len, expected, None);
}

/// A [`FrameCounter`] reading `envelope`'s headers (gRPC's and gRPC-Web's when `None`) counts
/// the frames the decoder returns and stops with its error.
pub fn check_counter_in(
    chunks: &[Bytes],
    max_message_len: usize,
    expected: &Decoded,
    envelope: Option<Envelope>,
) {
    let mut counter = FrameCounter::with_max_message_len(max_message_len);
    if let Some(envelope) = envelope {
        counter = counter.with_envelope(envelope);
    }
    let refused = chunks.iter().find_map(|chunk| counter.push(chunk).err());
    assert_eq!(counter.frames(), expected.frames.len(), "frames counted");
    match &expected.error {
        Some(DecodeError::Truncated { .. }) => {
            assert_eq!(refused, None);
            assert!(!counter.at_boundary(), "a cut frame is not a boundary");
        }
        None => {
            assert_eq!(refused, None);
            assert!(counter.at_boundary(), "whole frames end on a boundary");
        }
        header => assert_eq!(refused.as_ref(), header.as_ref(), "the decoder's error"),
    }
}

/// A trailer frame's block reads exactly as the reference reader reads it.
fn check_trailer_frame(frame: &Frame) {
    let expected = model::trailer_block(frame.payload());
    match (frame.trailers(), expected) {
        (Ok(md), Ok(entries)) => assert_eq!(entries_of(&md), entries),
        (got, want) => assert_eq!(got.map(|md| entries_of(&md)), want),
    }
}

/// The entries of `md` as owned `(name, value)` pairs.
pub fn entries_of(md: &Metadata) -> Entries {
    md.iter_bytes()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect()
}

/// Encodes `frames` and decodes them back under every chunking (all payloads within the limit).
pub fn check_frames(frames: &[Frame], max_message_len: usize, chunkings: &[Chunking]) -> Bytes {
    let encoder = FrameEncoder::with_max_message_len(max_message_len);
    let frames = frames.to_vec();
    check_round_trip(
        &frames,
        frames.iter().map(Frame::encoded_len).sum(),
        |out| {
            for frame in &frames {
                let before = out.len();
                encoder.encode_frame(frame, out).expect("within the limit");
                assert_eq!(out.len() - before, frame.encoded_len());
            }
        },
        |chunks| {
            let (decoded, _) = decode_chunks(&chunks, max_message_len);
            match decoded.error {
                None => Ok(decoded.frames),
                Some(err) => Err(err),
            }
        },
        chunkings,
    )
}

/// What one frame to encode is.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum FrameSpec {
    /// A message.
    Message(Vec<u8>),
    /// A message flagged compressed.
    Compressed(Vec<u8>),
    /// A message of `len` copies of `byte`: a cheap way to pass a limit.
    Filled {
        /// The payload length.
        len: usize,
        /// The byte repeated.
        byte: u8,
    },
    /// A trailer frame with these entries (invalid ones are refused by `Metadata` and left out).
    Trailers(Vec<(Vec<u8>, Vec<u8>)>),
}

impl Debug for FrameSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameSpec::Message(payload) => write!(f, "FrameSpec::Message({:?})", ByteStr(payload)),
            FrameSpec::Compressed(payload) => {
                write!(f, "FrameSpec::Compressed({:?})", ByteStr(payload))
            }
            FrameSpec::Filled { len, byte } => {
                write!(f, "FrameSpec::Filled {{ len: {len}, byte: {byte} }}")
            }
            FrameSpec::Trailers(entries) => {
                f.write_str("FrameSpec::Trailers(vec![")?;
                for (i, (name, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "({:?}, {:?})", ByteStr(name), ByteStr(value))?;
                }
                f.write_str("])")
            }
        }
    }
}

/// Writes bytes as a Rust expression: `b"...".to_vec()`.
pub struct ByteStr<'a>(pub &'a [u8]);

impl Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\".to_vec()", self.0.escape_ascii())
    }
}

/// Builds the metadata of a trailer frame, checking that `Metadata` refuses exactly the entries
/// the reference refuses, with the same error.
pub fn build_metadata(entries: &[(Vec<u8>, Vec<u8>)]) -> Metadata {
    let mut md = Metadata::new();
    for (name, value) in entries {
        let result = md.append_bytes(Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
        assert_eq!(
            result.err(),
            model::entry_error(name, value),
            "entry {:?}: {:?}",
            ByteStr(name),
            ByteStr(value)
        );
    }
    md
}

/// Encodes `specs` with a limit, then decodes the stream under `chunking` with the same limit:
///
/// - an over-limit message is refused by the encoder, naming length and limit, and nothing of it
///   is written; every other frame writes exactly `encoded_len` bytes;
/// - the decoder gives back every frame written, in order, and refuses (never truncates) a trailer
///   frame over the limit;
/// - trailer frames read back as their metadata, values trimmed of surrounding whitespace.
pub fn check_encoded_stream(specs: &[FrameSpec], max_message_len: usize, chunking: &Chunking) {
    let encoder = FrameEncoder::with_max_message_len(max_message_len);
    let mut wire = BytesMut::new();
    let mut written = Vec::new();
    let mut sent_metadata = Vec::new();
    for spec in specs {
        let before = wire.len();
        let frame = match spec {
            FrameSpec::Message(payload) => Frame::message(Bytes::copy_from_slice(payload)),
            FrameSpec::Compressed(payload) => {
                Frame::compressed_message(Bytes::copy_from_slice(payload))
            }
            FrameSpec::Filled { len, byte } => Frame::message(vec![*byte; *len].into()),
            FrameSpec::Trailers(entries) => {
                let md = build_metadata(entries);
                encoder.encode_trailers(&md, &mut wire).expect("trailers");
                let block = Bytes::copy_from_slice(&wire[before + HEADER_LEN..]);
                assert_eq!(wire.len() - before, HEADER_LEN + trailers::encoded_len(&md));
                written.push(Frame::trailers_block(block));
                sent_metadata.push(Some(md));
                continue;
            }
        };
        let len = frame.payload().len();
        let result = if frame.is_compressed() {
            encoder.encode_compressed(frame.payload(), &mut wire)
        } else {
            encoder.encode_message(frame.payload(), &mut wire)
        };
        if len > max_message_len {
            assert_eq!(
                result,
                Err(EncodeError::MessageTooLarge {
                    len,
                    max: max_message_len
                })
            );
            assert_eq!(wire.len(), before, "a refused frame writes nothing");
            assert!(encoder.split(frame.payload().clone()).is_err());
        } else {
            result.expect("within the limit");
            assert_eq!(wire.len() - before, frame.encoded_len());
            if !frame.is_compressed() {
                let (header, payload) = encoder.split(frame.payload().clone()).expect("split");
                assert_eq!([&header[..], &payload[..]].concat(), wire[before..]);
            }
            written.push(frame);
            sent_metadata.push(None);
        }
    }
    let wire = wire.freeze();

    // The decoder holds trailer frames to the limit too: everything up to the first frame over
    // it, then `MessageTooLarge` at that frame's offset.
    let mut expected = Decoded::default();
    let mut offset = 0u64;
    for frame in &written {
        if frame.payload().len() > max_message_len {
            expected.error = Some(DecodeError::MessageTooLarge {
                len: frame.header().len(),
                max: max_message_len,
                offset,
            });
            break;
        }
        expected.frames.push(frame.clone());
        offset += frame.encoded_len() as u64;
    }
    let (decoded, _) = decode_chunks(&chunking.cut(&wire), max_message_len);
    assert_eq!(decoded, expected, "{chunking:?} of {wire:?}");
    for (frame, sent) in decoded.frames.iter().zip(&sent_metadata) {
        if let Some(md) = sent {
            let read = frame
                .trailers()
                .expect("an encoded trailer block reads back");
            assert_eq!(entries_of(&read), trimmed_entries(md));
        }
    }
}

/// The entries of `md`, values trimmed of spaces and tabs as a trailer block reader trims them.
pub fn trimmed_entries(md: &Metadata) -> Entries {
    md.iter_bytes()
        .map(|(n, v)| (n.to_vec(), model::trim_ows(v).to_vec()))
        .collect()
}

/// A trailer block, raw:
///
/// - reads as the reference reads it (entries, or the error and its line);
/// - values are slices of the block, names are valid and lower case;
/// - what it reads to encodes to a canonical block that reads back the same, in a trailer frame
///   cut by `chunking`;
/// - in a trailer frame cut by `chunking`, and in that frame sent as gRPC-Web-text with the text
///   cut by `chunking`, the block reads as it reads alone.
pub fn check_trailer_block(block: &Bytes, chunking: &Chunking) {
    let result = trailers::decode(block);
    let expected = model::trailer_block(block);
    match (&result, &expected) {
        (Ok(md), Ok(entries)) => assert_eq!(&entries_of(md), entries, "{block:?}"),
        (got, want) => assert_eq!(
            got.as_ref().map(entries_of).map_err(Clone::clone),
            want.clone(),
            "{block:?}"
        ),
    }
    if let Err(err) = &result {
        assert!(!err.to_string().is_empty());
    }

    // The same block as the payload of a trailer frame, arriving in pieces.
    let mut wire = BytesMut::new();
    FrameEncoder::new()
        .encode_frame(&Frame::trailers_block(block.clone()), &mut wire)
        .expect("a small block fits");
    let wire_bytes = wire.freeze();
    let (decoded, _) = decode_chunks(&chunking.cut(&wire_bytes), usize::MAX);
    assert_eq!(decoded.error, None);
    let [frame] = &decoded.frames[..] else {
        panic!("one trailer frame expected, got {decoded:?}");
    };
    assert_eq!(frame.trailers(), result, "in a frame, {chunking:?}");

    // The same frame in a gRPC-Web-text body, the text arriving in pieces.
    let text = grpc_lambda_core::base64::encode(&wire_bytes);
    let decoded = decode_web_text(&chunking.cut_slice(&text), usize::MAX).expect("valid base64");
    assert_eq!(decoded.error, None);
    let [frame] = &decoded.frames[..] else {
        panic!("one trailer frame expected, got {decoded:?}");
    };
    assert_eq!(frame.trailers(), result, "in gRPC-Web-text, {chunking:?}");

    let Ok(md) = result else { return };
    let inside = block.as_ptr_range();
    for (name, value) in md.iter_bytes() {
        assert!(model::is_name(name), "{name:?}");
        if !value.is_empty() {
            assert!(
                inside.contains(&value.as_ptr()),
                "value {value:?} was copied"
            );
        }
    }
    check_metadata_round_trip(&md, std::slice::from_ref(chunking));
}

/// Metadata encoded as a trailer frame reads back the same, values trimmed, under every chunking;
/// the frame is exactly `HEADER_LEN + trailers::encoded_len` bytes.
pub fn check_metadata_round_trip(md: &Metadata, chunkings: &[Chunking]) -> Bytes {
    let expected = trimmed_entries(md);
    check_round_trip(
        &expected,
        HEADER_LEN + trailers::encoded_len(md),
        |out| FrameEncoder::new().encode_trailers(md, out).expect("fits"),
        |chunks| {
            let (decoded, _) = decode_chunks(&chunks, usize::MAX);
            match (decoded.error, &decoded.frames[..]) {
                (None, [frame]) if frame.is_trailers() => frame
                    .trailers()
                    .map(|md| entries_of(&md))
                    .map_err(|err| format!("{err}")),
                (error, frames) => Err(format!("{error:?} {frames:?}")),
            }
        },
        chunkings,
    )
}

/// A status survives the trailer frame that carries it, under every chunking: code, message
/// (percent-encoded on the way) and details (base64 on the way).
pub fn check_status(status: &Status, chunkings: &[Chunking]) {
    let trailers = status.to_trailers();
    assert_eq!(Status::from_metadata(&trailers), Ok(Some(status.clone())));
    for (_, value) in trailers.iter() {
        assert!(
            value.iter().all(|&b| (0x20..=0x7e).contains(&b)),
            "{value:?}"
        );
    }
    let mut expected_len = BytesMut::new();
    FrameEncoder::new()
        .encode_trailers(&trailers, &mut expected_len)
        .expect("fits");
    check_round_trip(
        status,
        expected_len.len(),
        |out| {
            FrameEncoder::new()
                .encode_status(status, &Metadata::new(), out)
                .expect("fits")
        },
        |chunks| {
            let (decoded, _) = decode_chunks(&chunks, usize::MAX);
            match (decoded.error, &decoded.frames[..]) {
                (None, [frame]) => {
                    let md = frame.trailers().map_err(|err| err.to_string())?;
                    Status::from_metadata(&md)
                        .map_err(|err| err.to_string())?
                        .ok_or_else(|| "no grpc-status".to_string())
                }
                (error, frames) => Err(format!("{error:?} {frames:?}")),
            }
        },
        chunkings,
    );
}

/// A status code's text form parses back to it; `Code::parse` takes exactly the decimal numbers.
pub fn check_code_text(value: &[u8]) {
    let parsed = Code::parse(value);
    let is_number = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    assert_eq!(parsed.is_some(), is_number, "{value:?}");
    if let Some(code) = parsed {
        assert_eq!(Code::parse(code.as_header_value().as_bytes()), Some(code));
        assert_eq!(Code::from_i32(code.as_i32()), code);
    }
}

/// `grpc-timeout` text: parsed exactly when the reference parses it, to the same duration, and
/// the duration formats to text that parses back to it exactly.
pub fn check_timeout_text(value: &[u8]) {
    let parsed = parse_timeout(value);
    assert_eq!(parsed.ok(), model::timeout(value), "{:?}", ByteStr(value));
    match parsed {
        Ok(duration) => {
            let formatted = format_timeout(duration);
            assert_eq!(
                parse_timeout(formatted.as_bytes()),
                Ok(duration),
                "{:?} formatted as {formatted}",
                ByteStr(value)
            );
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// Any duration formats to a valid `grpc-timeout` that is never shorter and, unless it saturated,
/// shorter than the duration plus one unit of the form chosen.
pub fn check_timeout_duration(duration: Duration) {
    let formatted = format_timeout(duration);
    let text = formatted.as_bytes();
    let sent = model::timeout(text).unwrap_or_else(|| panic!("{formatted} is not a timeout"));
    assert_eq!(parse_timeout(text), Ok(sent));
    let max = Duration::from_secs(99_999_999 * 3600);
    if duration >= max {
        assert_eq!(sent, max, "{duration:?} saturates");
        return;
    }
    assert!(
        sent >= duration,
        "{duration:?} sent as {formatted}, shorter"
    );
    let unit = model::timeout(&[b'1', *text.last().expect("a unit")]).expect("a unit");
    assert!(
        sent - duration < unit,
        "{duration:?} sent as {formatted}: rounded by a unit or more"
    );
    // The finest unit that fits: one finer would need more than 8 digits.
    let finer = match text.last() {
        Some(b'u') => Some(1),
        Some(b'm') => Some(1_000),
        Some(b'S') => Some(1_000_000),
        Some(b'M') => Some(1_000_000_000),
        Some(b'H') => Some(60_000_000_000),
        _ => None,
    };
    if let Some(finer_nanos) = finer {
        assert!(
            duration.as_nanos().div_ceil(finer_nanos) > 99_999_999,
            "{duration:?} fits a finer unit than {formatted}"
        );
    }
}

/// One `-bin` value: accepted exactly when the `base64` crate (padded or not, trailing bits
/// ignored) accepts it, with the same bytes; the bytes encode back unpadded as the `base64`
/// crate encodes them.
pub fn check_binary_value(value: &[u8]) {
    let decoded = decode_binary_value(value);
    assert_eq!(
        decoded.as_ref().ok(),
        model::binary_value(value).as_ref(),
        "{:?}: {decoded:?}",
        ByteStr(value)
    );
    match decoded {
        Ok(bytes) => check_binary_encode(&bytes),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// A `-bin` header holding several comma-separated values.
pub fn check_binary_values(value: &[u8]) {
    let decoded = decode_binary_values(value);
    assert_eq!(
        decoded.as_ref().ok(),
        model::binary_values(value).as_ref(),
        "{:?}: {decoded:?}",
        ByteStr(value)
    );
}

/// Bytes encode to unpadded standard base64, as the `base64` crate writes it, and decode back.
pub fn check_binary_encode(bytes: &[u8]) {
    use base64::Engine as _;
    let encoded = encode_binary_value(bytes);
    assert_eq!(
        encoded,
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
    );
    assert_eq!(
        decode_binary_value(encoded.as_bytes()).as_deref(),
        Ok(bytes)
    );
}

/// `grpc-message` decoding never fails and matches the reference; decoded text encodes to
/// printable ASCII that decodes back to it.
pub fn check_percent_decode(value: &[u8]) {
    let decoded = percent_decode_message(value);
    assert_eq!(
        decoded,
        model::percent_decode(value),
        "{:?}",
        ByteStr(value)
    );
    check_percent_encode(&decoded);
}

/// Any text percent-encodes to printable ASCII without `%` other than escapes, and decodes back.
pub fn check_percent_encode(message: &str) {
    let encoded = percent_encode_message(message);
    assert!(
        encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "{encoded:?}"
    );
    assert_eq!(percent_decode_message(encoded.as_bytes()), message);
    assert_eq!(model::percent_decode(encoded.as_bytes()), message);
}

/// A `content-type` value reads as the reference reads it; what it reads to reads back from its
/// own text in any ASCII case and with parameters.
pub fn check_content_type(value: &[u8]) {
    let parsed = ContentType::parse_bytes(value);
    let expected = match std::str::from_utf8(value) {
        Ok(text) => model::content_type(text),
        Err(_) => Err(ContentTypeError::NotGrpc {
            value: String::from_utf8_lossy(value).into_owned(),
        }),
    };
    assert_eq!(parsed, expected, "{:?}", ByteStr(value));
    match parsed {
        Ok(content_type) => {
            let text = content_type.as_str();
            assert_eq!(ContentType::parse(text), Ok(content_type));
            assert_eq!(
                ContentType::parse(&format!(" {}; charset=utf-8", text.to_ascii_uppercase())),
                Ok(content_type)
            );
            assert_eq!(content_type.response_content_type(), text);
            assert_eq!(content_type.is_text(), content_type.protocol().is_text());
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// gzip on any input: never more than `max_len` bytes out, never an allocation past
/// `max_len` plus the decompressor's own state, and never a truncated success.
pub fn check_gzip_decompress(payload: &[u8], max_len: usize) {
    use grpc_lambda_core::gzip;
    let (result, largest) = largest_allocation(|| gzip::decompress(payload, max_len));
    if let Some(largest) = largest {
        assert!(
            largest <= max_len.max(GZIP_STATE_BOUND),
            "gzip allocated {largest} bytes, limit {max_len}"
        );
    }
    match result {
        Ok(out) => {
            assert!(out.len() <= max_len);
            // What came out compresses and comes back the same.
            check_gzip_round_trip(&out, max_len);
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// The most the gzip decompressor allocates for itself, whatever the limit: its state, boxed.
pub const GZIP_STATE_BOUND: usize = 64 * 1024;

/// Compressed data decompresses to itself when it fits the limit, and is refused, never
/// truncated, when it does not.
pub fn check_gzip_round_trip(data: &[u8], max_len: usize) {
    use grpc_lambda_core::gzip::{self, GzipError};
    let packed = gzip::compress(data);
    let result = gzip::decompress(&packed, max_len);
    if data.len() <= max_len {
        assert_eq!(result.as_deref(), Ok(data));
    } else {
        assert!(
            matches!(result, Err(GzipError::TooLarge { max, .. }) if max == max_len),
            "{} bytes past a limit of {max_len}: {result:?}",
            data.len()
        );
    }
}

/// Base64 text, raw: the core decodes it exactly when the `base64` crate decodes its segments,
/// to the same bytes; streamed under `chunking` (into one buffer, and chunk by chunk into
/// `Bytes`) it gives the same bytes or the same error as in one call; an error names a byte that
/// is really there; a failed call leaves the output as it was.
pub fn check_base64_decode(text: &[u8], chunking: &Chunking) {
    use grpc_lambda_core::base64::{self as b64, Base64Error, Decoder};
    let one_shot = b64::decode(text);
    assert_eq!(
        one_shot.as_ref().ok().map(|b| b.to_vec()),
        model::base64_segments(text),
        "{:?}: {one_shot:?}",
        ByteStr(text)
    );
    if let Ok(bytes) = &one_shot {
        assert!(bytes.len() <= b64::decoded_len_max(text.len()));
    }
    match one_shot {
        Err(Base64Error::InvalidByte { offset, byte })
        | Err(Base64Error::NonCanonical { offset, byte }) => {
            assert_eq!(
                text.get(offset as usize),
                Some(&byte),
                "{:?}",
                ByteStr(text)
            );
        }
        Err(Base64Error::InvalidPadding { offset }) => {
            assert_eq!(
                text.get(offset as usize),
                Some(&b'='),
                "{:?}",
                ByteStr(text)
            );
        }
        Err(Base64Error::Truncated { offset, leftover }) => {
            assert!((1..=3).contains(&leftover));
            assert_eq!(offset + u64::from(leftover), text.len() as u64);
        }
        Err(err) => panic!("unexpected {err:?}"),
        Ok(_) => {}
    }
    if let Err(err) = &one_shot {
        assert!(!err.to_string().is_empty());
    }

    let mut appended = b"kept".to_vec();
    let result = b64::decode_into(text, &mut appended);
    assert_eq!(result.err(), one_shot.as_ref().err().copied());
    match &one_shot {
        Ok(bytes) => assert_eq!(appended[4..], bytes[..]),
        Err(_) => assert_eq!(
            appended, b"kept",
            "a failed decode leaves the output as it was"
        ),
    }

    // Streaming into one buffer.
    let mut decoder = Decoder::new();
    let mut out = BytesMut::from(&b"kept"[..]);
    let mut error = None;
    let mut fed = 0u64;
    for chunk in chunking.cut_slice(text) {
        let before = out.clone();
        match decoder.decode_chunk(chunk, &mut out) {
            Ok(()) => {
                fed += chunk.len() as u64;
                assert_eq!(decoder.offset(), fed);
                assert!(decoder.pending() < 4);
            }
            Err(err) => {
                assert_eq!(out, before, "a failed chunk leaves the output as it was");
                error = Some(err);
                break;
            }
        }
    }
    let error = error.or_else(|| decoder.finish().err());
    assert_eq!(
        error,
        one_shot.as_ref().err().copied(),
        "{chunking:?} of {:?}",
        ByteStr(text)
    );
    match (&one_shot, error) {
        (Ok(bytes), None) => {
            assert_eq!(out[4..], bytes[..], "{chunking:?} of {:?}", ByteStr(text));
            assert_eq!(decoder.offset(), 0, "finish starts a new stream");
        }
        (_, Some(err)) => {
            assert_eq!(
                decoder.decode_chunk(b"AAAA", &mut out),
                Err(err),
                "an error is final"
            );
            assert_eq!(decoder.finish(), Err(err), "an error is final");
        }
        (Err(_), None) => unreachable!("compared above"),
    }

    // Streaming, one `Bytes` per chunk.
    let mut decoder = Decoder::new();
    let mut pieces = Vec::new();
    let mut error = None;
    for chunk in chunking.cut_slice(text) {
        match decoder.decode(chunk) {
            Ok(piece) => pieces.extend_from_slice(&piece),
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    let error = error.or_else(|| decoder.finish().err());
    assert_eq!(error, one_shot.as_ref().err().copied());
    if let Ok(bytes) = &one_shot {
        assert_eq!(pieces, bytes[..]);
    }
}

/// Bytes, encoded: in one call, into a `String`, appended to a buffer, and streamed under
/// `chunking` (into buffers and onto a `String`), the text is what the `base64` crate writes;
/// `encoded_len` is its length; each chunk finished as its own padded segment (as a
/// gRPC-Web-text server flushes) decodes back to the bytes, in one call and streamed under
/// `chunking`.
pub fn check_base64_encode(data: &[u8], chunking: &Chunking) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use grpc_lambda_core::base64::{self as b64, Encoder};
    let expected = STANDARD.encode(data);
    assert_eq!(b64::encode(data), expected.as_bytes());
    assert_eq!(b64::encoded_len(data.len()), expected.len());
    let mut text = String::from("kept");
    b64::encode_to_string(data, &mut text);
    assert_eq!(text[4..], expected);
    let mut appended = b"kept".to_vec();
    b64::encode_into(data, &mut appended);
    assert_eq!(appended[4..], *expected.as_bytes());

    let chunks = chunking.cut_slice(data);
    let mut encoder = Encoder::new();
    let mut out = BytesMut::new();
    let mut fed = 0usize;
    for chunk in &chunks {
        encoder.encode_chunk(chunk, &mut out);
        fed += chunk.len();
        assert_eq!(encoder.pending(), fed % 3);
        assert_eq!(out.len(), fed / 3 * 4);
    }
    encoder.finish(&mut out);
    assert_eq!(out, expected.as_bytes(), "{chunking:?}");
    assert_eq!(encoder.pending(), 0);

    let mut encoder = Encoder::new();
    let mut pieces = Vec::new();
    for chunk in &chunks {
        pieces.extend_from_slice(&encoder.encode(chunk));
    }
    pieces.extend_from_slice(&encoder.finish_bytes());
    assert_eq!(pieces, expected.as_bytes());

    // Streamed onto text that is not ASCII, which stays as it was.
    let mut encoder = Encoder::new();
    let mut text = String::from("«kept»");
    for chunk in &chunks {
        encoder.encode_chunk_str(chunk, &mut text);
    }
    encoder.finish_str(&mut text);
    assert_eq!(text.strip_prefix("«kept»"), Some(expected.as_str()));

    // Every chunk its own padded segment.
    let mut encoder = Encoder::new();
    let mut segmented = Vec::new();
    let mut expected_segments = Vec::new();
    for chunk in &chunks {
        encoder.encode_chunk(chunk, &mut segmented);
        encoder.finish(&mut segmented);
        expected_segments.extend_from_slice(STANDARD.encode(chunk).as_bytes());
    }
    assert_eq!(segmented, expected_segments);
    assert_eq!(
        b64::decode(&segmented).as_deref(),
        Ok(data),
        "{:?}",
        ByteStr(&segmented)
    );
    check_base64_decode(&segmented, chunking);
}

/// Decodes a gRPC-Web-text body arriving as `text_chunks`: each chunk through a streaming base64
/// decoder, what it yields straight into a frame decoder.
pub fn decode_web_text(
    text_chunks: &[&[u8]],
    max_message_len: usize,
) -> Result<Decoded, grpc_lambda_core::base64::Base64Error> {
    let mut base64 = grpc_lambda_core::base64::Decoder::new();
    let mut binary = Vec::with_capacity(text_chunks.len());
    for chunk in text_chunks {
        binary.push(base64.decode(chunk)?);
    }
    base64.finish()?;
    Ok(decode_chunks(&binary, max_message_len).0)
}

/// A frame stream sent as gRPC-Web-text: encoded as padded segments cut by `segments`, the text
/// cut again by `transport` on the way, then base64-decoded and frame-decoded chunk by chunk. The
/// frames and the error are those of the binary stream read directly.
pub fn check_web_text(
    stream: &[u8],
    max_message_len: usize,
    segments: &Chunking,
    transport: &Chunking,
) {
    use grpc_lambda_core::base64::Encoder;
    let mut encoder = Encoder::new();
    let mut text = Vec::new();
    for segment in segments.cut_slice(stream) {
        encoder.encode_chunk(segment, &mut text);
        encoder.finish(&mut text);
    }
    let decoded = decode_web_text(&transport.cut_slice(&text), max_message_len)
        .unwrap_or_else(|err| panic!("{err} in {:?}", ByteStr(&text)));
    let direct = model::frames(&Bytes::copy_from_slice(stream), max_message_len);
    assert_eq!(decoded, direct, "{segments:?} then {transport:?}");
}
