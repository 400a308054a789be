//! Base64: ours (streaming and one-shot) against the one-shot engines of base64-simd and the
//! `base64` crate, on the same inputs.
//!
//! - P1: streaming decode of 1 MiB fed in 16 KiB chunks (and in 1000-byte chunks) ÷ the fastest
//!   one-shot decoder.
//! - P2: streaming encode of 1 MiB in 16 KiB chunks ÷ the fastest one-shot encoder.
//! - P3: a gRPC-Web-text stream, one padded segment per KiB of payload, decoded in 16 KiB chunks ÷
//!   the fastest one-shot decoder of the same payload as a single segment.

use crate::{compare, consume, Line, Op, Settings};
use ::base64::engine::general_purpose::{GeneralPurposeConfig, STANDARD};
use ::base64::engine::Simd;
use ::base64::Engine as _;
use base64_simd::Out;
use bytes::BytesMut;
use grpc_lambda_core::base64::{self as ours, Decoder, Encoder};
use std::sync::OnceLock;

/// Payload sizes of the criterion groups.
pub const SIZES: [usize; 5] = [64, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];
/// The streaming chunk of P1–P3: a typical read from a body stream.
pub const CHUNK: usize = 16 * 1024;
/// A small, odd chunk: every chunk ends inside a group.
pub const SMALL_CHUNK: usize = 1000;
/// Payload bytes per gRPC-Web-text segment in P3.
pub const SEGMENT: usize = 1024;
/// The payload size of P1–P3.
pub const REPORT_SIZE: usize = 1024 * 1024;

/// `len` pseudo-random bytes, the same on every run.
pub fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The padded base64 text of [`payload`]`(len)`, one segment.
pub fn text(len: usize) -> Vec<u8> {
    STANDARD.encode(payload(len)).into_bytes()
}

/// The gRPC-Web-text form of [`payload`]`(len)`: every `segment` bytes encoded and padded on
/// their own, back to back.
pub fn segmented_text(len: usize, segment: usize) -> Vec<u8> {
    payload(len)
        .chunks(segment)
        .flat_map(|part| STANDARD.encode(part).into_bytes())
        .collect()
}

/// The `base64` crate's runtime-detected SIMD engine (AVX2 / NEON), built once.
pub fn simd_engine() -> &'static Simd {
    static ENGINE: OnceLock<Simd> = OnceLock::new();
    ENGINE.get_or_init(|| Simd::standard(GeneralPurposeConfig::new()))
}

/// Decoders: ours and the anchors, each given the whole text.
pub mod decode {
    use super::*;

    /// Ours, streaming: `text` fed in `chunk`-byte pieces, each decoded into a `Bytes` of its
    /// own (dropped at once, as a consumer that forwards it would).
    pub fn ours_streaming(decoder: &mut Decoder, text: &[u8], chunk: usize) {
        for piece in text.chunks(chunk) {
            consume(decoder.decode(piece).expect("valid base64"));
        }
        decoder.finish().expect("complete base64");
    }

    /// Ours, one-shot, into a buffer reused across calls.
    pub fn ours_into(text: &[u8], out: &mut BytesMut) {
        out.clear();
        ours::decode_into(text, out).expect("valid base64");
        consume(&out[..]);
    }

    /// Ours, one-shot, into a new `Bytes`.
    pub fn ours_bytes(text: &[u8]) {
        consume(ours::decode(text).expect("valid base64"));
    }

    /// base64-simd into a buffer reused across calls.
    pub fn base64_simd_into(text: &[u8], out: &mut [u8]) {
        consume(
            base64_simd::STANDARD
                .decode(text, Out::from_slice(out))
                .expect("valid base64")
                .len(),
        );
    }

    /// base64-simd into a new `Vec`.
    pub fn base64_simd_vec(text: &[u8]) {
        consume(
            base64_simd::STANDARD
                .decode_to_vec(text)
                .expect("valid base64"),
        );
    }

    /// The `base64` crate's `engine::Simd` into a buffer reused across calls.
    pub fn base64_simd_engine_into(text: &[u8], out: &mut [u8]) {
        consume(simd_engine().decode_slice(text, out).expect("valid base64"));
    }

    /// The `base64` crate's `engine::Simd` into a new `Vec`.
    pub fn base64_simd_engine_vec(text: &[u8]) {
        consume(simd_engine().decode(text).expect("valid base64"));
    }

    /// The `base64` crate's scalar `GeneralPurpose` engine into a buffer reused across calls.
    pub fn base64_scalar_into(text: &[u8], out: &mut [u8]) {
        consume(STANDARD.decode_slice(text, out).expect("valid base64"));
    }
}

/// Encoders: ours and the anchors, each given the whole payload.
pub mod encode {
    use super::*;

    /// Ours, streaming: `data` fed in `chunk`-byte pieces, each encoded into a `Bytes` of its own.
    pub fn ours_streaming(encoder: &mut Encoder, data: &[u8], chunk: usize) {
        for piece in data.chunks(chunk) {
            consume(encoder.encode(piece));
        }
        consume(encoder.finish_bytes());
    }

    /// Ours, one-shot, into a buffer reused across calls.
    pub fn ours_into(data: &[u8], out: &mut BytesMut) {
        out.clear();
        ours::encode_into(data, out);
        consume(&out[..]);
    }

    /// Ours, one-shot, into a new `Bytes`.
    pub fn ours_bytes(data: &[u8]) {
        consume(ours::encode(data));
    }

    /// base64-simd into a buffer reused across calls.
    pub fn base64_simd_into(data: &[u8], out: &mut [u8]) {
        consume(
            base64_simd::STANDARD
                .encode(data, Out::from_slice(out))
                .len(),
        );
    }

    /// base64-simd into a new `String`.
    pub fn base64_simd_string(data: &[u8]) {
        consume(base64_simd::STANDARD.encode_to_string(data));
    }

    /// The `base64` crate's `engine::Simd` into a buffer reused across calls.
    pub fn base64_simd_engine_into(data: &[u8], out: &mut [u8]) {
        consume(
            simd_engine()
                .encode_slice(data, out)
                .expect("buffer large enough"),
        );
    }

    /// The `base64` crate's `engine::Simd` into a new `String`.
    pub fn base64_simd_engine_string(data: &[u8]) {
        consume(simd_engine().encode(data));
    }

    /// The `base64` crate's scalar `GeneralPurpose` engine into a buffer reused across calls.
    pub fn base64_scalar_into(data: &[u8], out: &mut [u8]) {
        consume(
            STANDARD
                .encode_slice(data, out)
                .expect("buffer large enough"),
        );
    }
}

/// The one-shot decoders of the anchors on `text`, into reused buffers and into new ones.
fn decode_anchors(text: &[u8]) -> Vec<Op<'_>> {
    let len = ours::decoded_len_max(text.len());
    let mut simd_out = vec![0u8; len];
    let mut engine_out = vec![0u8; len];
    vec![
        Op::new("base64-simd, reused buffer", move || {
            decode::base64_simd_into(text, &mut simd_out)
        }),
        Op::new("base64-simd, new Vec", move || {
            decode::base64_simd_vec(text)
        }),
        Op::new("base64 engine::Simd, reused buffer", move || {
            decode::base64_simd_engine_into(text, &mut engine_out)
        }),
        Op::new("base64 engine::Simd, new Vec", move || {
            decode::base64_simd_engine_vec(text)
        }),
    ]
}

/// The one-shot encoders of the anchors on `data`.
fn encode_anchors(data: &[u8]) -> Vec<Op<'_>> {
    let len = ours::encoded_len(data.len());
    let mut simd_out = vec![0u8; len];
    let mut engine_out = vec![0u8; len];
    vec![
        Op::new("base64-simd, reused buffer", move || {
            encode::base64_simd_into(data, &mut simd_out)
        }),
        Op::new("base64-simd, new String", move || {
            encode::base64_simd_string(data)
        }),
        Op::new("base64 engine::Simd, reused buffer", move || {
            encode::base64_simd_engine_into(data, &mut engine_out)
        }),
        Op::new("base64 engine::Simd, new String", move || {
            encode::base64_simd_engine_string(data)
        }),
    ]
}

/// Context for P1 and P3: the `base64` crate's engine called once per piece, into a reused,
/// already initialized buffer — what calling the engine per chunk costs before any streaming
/// bookkeeping, carrying, zeroing or allocation.
fn per_piece_floor<'a>(name: &'static str, pieces: Vec<&'a [u8]>, out_len: usize) -> Op<'a> {
    let mut out = vec![0u8; out_len];
    Op::context(name, move || {
        let mut written = 0;
        for piece in &pieces {
            let target = out.get_mut(written..).expect("room for every piece");
            written += simd_engine()
                .decode_slice(piece, target)
                .expect("valid base64");
        }
        consume(written);
    })
}

/// Context: ours one-shot into a reused buffer. The anchors are the engines the issue names; on a
/// CPU our kernel runs on, our own one-shot is faster than all of them, and the README gives the
/// streaming ratio against it too.
fn ours_one_shot(text: &[u8]) -> Op<'_> {
    let mut out = BytesMut::new();
    Op::context("ours one-shot decode_into, reused buffer", move || {
        decode::ours_into(text, &mut out)
    })
}

/// Context for P1: our streaming decoder given the same pieces but writing into one reused
/// buffer, so the gap to "ours" is what a `Bytes` of its own per chunk costs.
fn ours_per_piece(text: &[u8], chunk: usize) -> Op<'_> {
    let mut decoder = Decoder::new();
    let mut out = BytesMut::with_capacity(ours::decoded_len_max(text.len()));
    Op::context(
        "ours streaming decode_chunk into one reused buffer",
        move || {
            out.clear();
            for piece in text.chunks(chunk) {
                decoder.decode_chunk(piece, &mut out).expect("valid base64");
            }
            decoder.finish().expect("complete base64");
            consume(&out[..]);
        },
    )
}

/// P1–P3.
pub fn report(settings: &Settings) -> Vec<Line> {
    let data = payload(REPORT_SIZE);
    let text = text(REPORT_SIZE);
    let segmented = segmented_text(REPORT_SIZE, SEGMENT);
    let out_len = ours::decoded_len_max(text.len());
    let mut lines = Vec::new();

    for (chunk, goal, label, floor) in [
        (
            CHUNK,
            1.05,
            "16 KiB",
            "base64 engine::Simd per 16 KiB piece, reused buffer (its per-call floor)",
        ),
        (
            SMALL_CHUNK,
            1.15,
            "1000-byte",
            "base64 engine::Simd per 1000-char piece, reused buffer (its per-call floor)",
        ),
    ] {
        let mut decoder = Decoder::new();
        let text = &text[..];
        let mut ops = decode_anchors(text);
        ops.push(ours_one_shot(text));
        ops.push(Op::context("ours one-shot decode, new Bytes", move || {
            decode::ours_bytes(text)
        }));
        ops.push(ours_per_piece(text, chunk));
        ops.push(per_piece_floor(
            floor,
            text.chunks(chunk).collect(),
            out_len,
        ));
        let comparison = compare(
            settings,
            Op::new("ours", move || {
                decode::ours_streaming(&mut decoder, text, chunk)
            }),
            ops,
        );
        lines.push(Line::from_comparison(
            "P1",
            format!("streaming decode 1 MiB in {label} chunks / fastest one-shot decoder"),
            goal,
            REPORT_SIZE,
            &comparison,
        ));
    }

    let mut encoder = Encoder::new();
    let mut ops = encode_anchors(&data);
    let data_ref = &data[..];
    let mut out = BytesMut::new();
    ops.push(Op::context(
        "ours one-shot encode_into, reused buffer",
        move || encode::ours_into(data_ref, &mut out),
    ));
    let comparison = compare(
        settings,
        Op::new("ours", || {
            encode::ours_streaming(&mut encoder, &data, CHUNK)
        }),
        ops,
    );
    lines.push(Line::from_comparison(
        "P2",
        "streaming encode 1 MiB in 16 KiB chunks / fastest one-shot encoder",
        1.05,
        REPORT_SIZE,
        &comparison,
    ));

    let mut decoder = Decoder::new();
    let mut ops = decode_anchors(&text);
    ops.push(ours_one_shot(&text));
    let mut out = BytesMut::new();
    let segmented_ref = &segmented[..];
    ops.push(Op::context(
        "ours one-shot decode_into of the segmented text, reused buffer",
        move || decode::ours_into(segmented_ref, &mut out),
    ));
    let segments: Vec<&[u8]> = segmented.chunks(ours::encoded_len(SEGMENT)).collect();
    ops.push(per_piece_floor(
        "base64 engine::Simd per segment, reused buffer (its per-call floor)",
        segments,
        out_len,
    ));
    let comparison = compare(
        settings,
        Op::new("ours", || {
            decode::ours_streaming(&mut decoder, &segmented, CHUNK)
        }),
        ops,
    );
    lines.push(Line::from_comparison(
        "P3",
        "gRPC-Web-text 1 MiB, a padded segment per KiB, 16 KiB chunks / fastest one-shot decoder of one segment",
        1.3,
        REPORT_SIZE,
        &comparison,
    ));
    lines
}
