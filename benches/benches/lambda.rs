//! P5, the Lambda shim: one whole invocation, event JSON in → response JSON out, for the example
//! service at 1 KiB and 1 MiB messages, on the same event: ours (tonic's server as a tower
//! service) and `lambda_http` + `tonic-web` in the same group; and tonic's own call, which both
//! make, alone.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use grpc_lambda_benches::lambda::{check, event, LambdaHttpTonicWeb, Ours, TonicCall, SIZES};
use std::time::Duration;

fn invocation(c: &mut Criterion) {
    let ours = Ours::default();
    let anchor = LambdaHttpTonicWeb::default();
    let mut group = c.benchmark_group("lambda invocation");
    for len in SIZES {
        let tonic = TonicCall::new(len);
        check(len, &ours, &anchor, &tonic);
        let event = event(len);
        let label = grpc_lambda_benches::size_label(len);
        group.throughput(Throughput::Bytes(event.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", &label), &event, |b, event| {
            b.iter(|| ours.invoke(event))
        });
        group.bench_with_input(
            BenchmarkId::new("lambda_http + tonic-web", &label),
            &event,
            |b, event| b.iter(|| anchor.invoke(event)),
        );
        group.bench_function(BenchmarkId::new("tonic's own call", &label), |b| {
            b.iter(|| tonic.call())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = invocation
}
criterion_main!(benches);
