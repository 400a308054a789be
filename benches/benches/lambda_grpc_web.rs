//! P5 through a Lambda Runtime API: one whole invocation of the example service at 1 KiB and
//! 1 MiB messages, from the event queued to the whole response back, for ours and the
//! `lambda-grpc-web` crate in the same group, on the same event, with the floor (a function
//! answering a fixed small response) beside them. The functions are processes of the
//! `perf-report` binary, on the local Lambda.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use grpc_lambda_benches::lambda::SIZES;
use grpc_lambda_benches::lambda_grpc_web::{check, event, Functions};
use std::time::Duration;

fn invocation(c: &mut Criterion) {
    let functions = Functions::start(std::path::Path::new(env!("CARGO_BIN_EXE_perf-report")));
    let _pinned = functions.pin_caller();
    let mut group = c.benchmark_group("lambda invocation through a Runtime API");
    for len in SIZES {
        check(len, &functions);
        let event = event(len);
        let label = grpc_lambda_benches::size_label(len);
        group.throughput(Throughput::Bytes(event.len() as u64));
        for (name, function) in [
            ("ours", &functions.ours),
            ("lambda-grpc-web", &functions.anchor),
            ("floor", &functions.floor),
        ] {
            group.bench_with_input(BenchmarkId::new(name, &label), &event, |b, event| {
                b.iter(|| function.invoke(event).expect("an answer"))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = invocation
}
criterion_main!(benches);
