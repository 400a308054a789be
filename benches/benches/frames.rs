//! Criterion: frame decode (ours, tonic-style, memcpy) over 1 MiB of 100 B, 1 KiB and 16 KiB
//! frames in one chunk, 16 KiB chunks and 1000 B chunks; frame encode header cost at 64 B and
//! 4 MiB payloads.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use grpc_lambda_benches::frames::{
    decode_ours, decode_ours_owned, decode_tonic_style, input, memcpy,
};
use grpc_lambda_core::FrameEncoder;
use std::hint::black_box;

fn decode(c: &mut Criterion) {
    for payload_len in [100usize, 1024, 16 * 1024] {
        let mut group = c.benchmark_group(format!("frame_decode/{payload_len}B_frames"));
        for (label, chunk_len) in [
            ("one_chunk", None),
            ("16KiB_chunks", Some(16 * 1024)),
            ("1000B_chunks", Some(1000)),
        ] {
            let chunks = input(payload_len, chunk_len);
            let bytes: usize = chunks.iter().map(Bytes::len).sum();
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_with_input(BenchmarkId::new("ours", label), &chunks, |b, chunks| {
                b.iter(|| decode_ours(black_box(chunks)))
            });
            group.bench_with_input(
                BenchmarkId::new("ours_owned", label),
                &chunks,
                |b, chunks| b.iter(|| decode_ours_owned(black_box(chunks))),
            );
            group.bench_with_input(
                BenchmarkId::new("tonic_style", label),
                &chunks,
                |b, chunks| b.iter(|| decode_tonic_style(black_box(chunks))),
            );
            let mut dst = Vec::with_capacity(bytes);
            group.bench_with_input(BenchmarkId::new("memcpy", label), &chunks, |b, chunks| {
                b.iter(|| memcpy(black_box(chunks), &mut dst))
            });
        }
        group.finish();
    }
}

fn encode(c: &mut Criterion) {
    let encoder = FrameEncoder::new();
    let mut group = c.benchmark_group("frame_encode");
    for len in [64usize, 4 * 1024 * 1024] {
        let payload = Bytes::from(vec![7u8; len]);
        group.throughput(Throughput::Bytes(len as u64));
        // Header only (vectored write: the payload is not touched).
        group.bench_with_input(
            BenchmarkId::new("split_header", len),
            &payload,
            |b, payload| b.iter(|| encoder.split(black_box(payload.clone()))),
        );
        // Header + payload copied into one buffer.
        let mut out = BytesMut::with_capacity(len + 5);
        group.bench_with_input(
            BenchmarkId::new("encode_message", len),
            &payload,
            |b, payload| {
                b.iter(|| {
                    out.clear();
                    encoder.encode_message(black_box(payload), &mut out)
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
