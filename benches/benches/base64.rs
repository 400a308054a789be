//! Base64 decode and encode, 64 B to 4 MiB: ours (streaming in 16 KiB and 1000-byte chunks,
//! and one-shot) and the one-shot anchors in the same group, on the same input.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use grpc_lambda_benches::base64::{
    decode, encode, payload, segmented_text, text, CHUNK, REPORT_SIZE, SEGMENT, SIZES, SMALL_CHUNK,
};
use grpc_lambda_benches::size_label;
use grpc_lambda_core::base64::{decoded_len_max, encoded_len, Decoder, Encoder};
use std::time::Duration;

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("base64 decode");
    for size in SIZES {
        let text = text(size);
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut decoder = Decoder::new();
        for (name, chunk) in [
            ("ours streaming 16 KiB", CHUNK),
            ("ours streaming 1000 B", SMALL_CHUNK),
        ] {
            group.bench_with_input(BenchmarkId::new(name, &label), &text, |b, text| {
                b.iter(|| decode::ours_streaming(&mut decoder, text, chunk))
            });
        }
        let mut out = BytesMut::new();
        group.bench_with_input(
            BenchmarkId::new("ours one-shot reused", &label),
            &text,
            |b, text| b.iter(|| decode::ours_into(text, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("ours one-shot Bytes", &label),
            &text,
            |b, text| b.iter(|| decode::ours_bytes(text)),
        );
        let mut out = vec![0u8; decoded_len_max(text.len())];
        group.bench_with_input(
            BenchmarkId::new("base64-simd reused", &label),
            &text,
            |b, text| b.iter(|| decode::base64_simd_into(text, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64-simd Vec", &label),
            &text,
            |b, text| b.iter(|| decode::base64_simd_vec(text)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 Simd reused", &label),
            &text,
            |b, text| b.iter(|| decode::base64_simd_engine_into(text, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 Simd Vec", &label),
            &text,
            |b, text| b.iter(|| decode::base64_simd_engine_vec(text)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 scalar reused", &label),
            &text,
            |b, text| b.iter(|| decode::base64_scalar_into(text, &mut out)),
        );
    }
    group.finish();

    // gRPC-Web-text: a padded segment per KiB of payload, against the same payload as one segment.
    let mut group = c.benchmark_group("base64 decode gRPC-Web-text");
    let segmented = segmented_text(REPORT_SIZE, SEGMENT);
    let text = text(REPORT_SIZE);
    let label = size_label(REPORT_SIZE);
    group.throughput(Throughput::Bytes(REPORT_SIZE as u64));
    let mut decoder = Decoder::new();
    group.bench_with_input(
        BenchmarkId::new("ours streaming 16 KiB, segment/KiB", &label),
        &segmented,
        |b, text| b.iter(|| decode::ours_streaming(&mut decoder, text, CHUNK)),
    );
    let mut out = BytesMut::new();
    group.bench_with_input(
        BenchmarkId::new("ours one-shot reused, segment/KiB", &label),
        &segmented,
        |b, text| b.iter(|| decode::ours_into(text, &mut out)),
    );
    let mut out = vec![0u8; decoded_len_max(text.len())];
    group.bench_with_input(
        BenchmarkId::new("base64-simd reused, one segment", &label),
        &text,
        |b, text| b.iter(|| decode::base64_simd_into(text, &mut out)),
    );
    group.bench_with_input(
        BenchmarkId::new("base64 Simd reused, one segment", &label),
        &text,
        |b, text| b.iter(|| decode::base64_simd_engine_into(text, &mut out)),
    );
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("base64 encode");
    for size in SIZES {
        let data = payload(size);
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut encoder = Encoder::new();
        for (name, chunk) in [
            ("ours streaming 16 KiB", CHUNK),
            ("ours streaming 1000 B", SMALL_CHUNK),
        ] {
            group.bench_with_input(BenchmarkId::new(name, &label), &data, |b, data| {
                b.iter(|| encode::ours_streaming(&mut encoder, data, chunk))
            });
        }
        let mut out = BytesMut::new();
        group.bench_with_input(
            BenchmarkId::new("ours one-shot reused", &label),
            &data,
            |b, data| b.iter(|| encode::ours_into(data, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("ours one-shot Bytes", &label),
            &data,
            |b, data| b.iter(|| encode::ours_bytes(data)),
        );
        let mut out = vec![0u8; encoded_len(size)];
        group.bench_with_input(
            BenchmarkId::new("base64-simd reused", &label),
            &data,
            |b, data| b.iter(|| encode::base64_simd_into(data, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64-simd String", &label),
            &data,
            |b, data| b.iter(|| encode::base64_simd_string(data)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 Simd reused", &label),
            &data,
            |b, data| b.iter(|| encode::base64_simd_engine_into(data, &mut out)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 Simd String", &label),
            &data,
            |b, data| b.iter(|| encode::base64_simd_engine_string(data)),
        );
        group.bench_with_input(
            BenchmarkId::new("base64 scalar reused", &label),
            &data,
            |b, data| b.iter(|| encode::base64_scalar_into(data, &mut out)),
        );
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = decoding, encoding
}
criterion_main!(benches);
