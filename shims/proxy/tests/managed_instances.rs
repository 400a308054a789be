//! Lambda Managed Instances through the embedded runtime: one function process takes several
//! invocations at once (`--local-max-concurrency`, which sets `AWS_LAMBDA_MAX_CONCURRENCY` for
//! the function), and each call keeps its own messages, metadata and trailers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use support::api::{AliveRequest, CountRequest};

const STREAMS: usize = 8;

/// The example function with response streaming on, behind a streaming route, in one process
/// that takes `per_process` invocations at once.
async fn proxy(per_process: usize) -> grpc_lambda_proxy::server::Running {
    let command = format!(
        "GRPC_LAMBDA_RESPONSE_STREAMING=1 exec {}",
        support::prod_binary().display()
    );
    let per_process = per_process.to_string();
    support::start(&[
        "--local-function",
        &command,
        "--local-name",
        "prod",
        "--local-concurrency",
        "1",
        "--local-max-concurrency",
        &per_process,
        "--response-streaming",
    ])
    .await
}

/// What one `Count(n = 5, delay_ms = 200)` call saw: its messages with their arrival times, and
/// the metadata echoed in its headers and trailers.
struct Seen {
    counts: Vec<i32>,
    first: Duration,
    last: Duration,
    header: String,
    trailer: String,
}

async fn count(addr: std::net::SocketAddr, tag: String, start: Instant) -> Seen {
    let mut client = support::client(addr).await;
    let mut request = tonic::Request::new(CountRequest {
        n: 5,
        delay_ms: 200,
    });
    request
        .metadata_mut()
        .insert("x-echo", tag.parse().unwrap());
    let response = client.count(request).await.expect("Count answers");
    let header = response.metadata().get("x-echo").unwrap().to_str().unwrap();
    let header = header.to_owned();
    let mut stream = response.into_inner();
    let mut counts = Vec::new();
    let mut times = Vec::new();
    while let Some(item) = stream.message().await.expect("a Count message") {
        assert_eq!(item.message, item.n.to_string(), "{tag}");
        counts.push(item.n);
        times.push(start.elapsed());
    }
    let trailers = stream
        .trailers()
        .await
        .expect("trailers")
        .expect("trailers");
    let trailer = trailers
        .get("x-echo-trailer")
        .expect("the echo trailer")
        .to_str()
        .unwrap()
        .to_owned();
    Seen {
        counts,
        first: times[0],
        last: *times.last().unwrap(),
        header,
        trailer,
    }
}

/// Starts `streams` Count calls at once, and, when `unary` is set, an Alive call 100 ms into
/// them; returns what each stream saw and when the unary call was answered.
async fn run_streams(
    addr: std::net::SocketAddr,
    streams: usize,
    unary: bool,
) -> (Vec<Seen>, Option<Duration>) {
    let mut client = support::client(addr).await;
    let start = Instant::now();
    let calls: Vec<_> = (0..streams)
        .map(|i| tokio::spawn(count(addr, format!("stream-{i}"), start)))
        .collect();
    let mut unary_at = None;
    if unary {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = client
            .alive(AliveRequest {
                message: " meanwhile".into(),
            })
            .await
            .expect("Alive answers while the streams run")
            .into_inner();
        assert_eq!(answer.message, "Hello, world. meanwhile");
        unary_at = Some(start.elapsed());
    }
    let mut seen = Vec::new();
    for call in calls {
        seen.push(call.await.expect("the call's task"));
    }
    for (i, call) in seen.iter().enumerate() {
        assert_eq!(call.counts, [1, 2, 3, 4, 5], "stream {i}");
        assert_eq!(call.header, format!("stream-{i}"), "stream {i}'s header");
        assert_eq!(call.trailer, format!("stream-{i}"), "stream {i}'s trailer");
    }
    (seen, unary_at)
}

/// The latest first message and the earliest last message over all streams.
fn span(seen: &[Seen]) -> (Duration, Duration) {
    let latest_first = seen.iter().map(|s| s.first).max().unwrap();
    let earliest_last = seen.iter().map(|s| s.last).min().unwrap();
    (latest_first, earliest_last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_streams_run_at_once_in_one_process_and_a_unary_call_is_not_held_behind_them() {
    let running = proxy(STREAMS).await;
    // The process starts before the timed calls.
    let mut client = support::client(running.addr).await;
    client
        .alive(AliveRequest {
            message: " warm".into(),
        })
        .await
        .expect("a warm-up call");

    // Eight streams, eight invocations in one process: they overlap, every stream's first
    // message before any stream's last, each with its own messages, metadata and trailers.
    let (seen, _) = run_streams(running.addr, STREAMS, false).await;
    let (latest_first, earliest_last) = span(&seen);
    eprintln!("8 streams: latest first {latest_first:?}, earliest last {earliest_last:?}");
    assert!(
        latest_first < earliest_last,
        "a stream began ({latest_first:?}) only after another ended ({earliest_last:?})"
    );

    // A unary call made while streams run takes a free slot of the same process at once,
    // instead of waiting behind them (seven streams and the call fill its eight; a ninth
    // invocation would queue, as the capacity is processes × invocations per process).
    let (seen, unary_at) = run_streams(running.addr, STREAMS - 1, true).await;
    let (latest_first, earliest_last) = span(&seen);
    let unary_at = unary_at.unwrap();
    eprintln!("7 streams: latest first {latest_first:?}, earliest last {earliest_last:?}, unary {unary_at:?}");
    assert!(latest_first < earliest_last);
    assert!(
        unary_at < earliest_last,
        "the unary call ({unary_at:?}) waited for a stream to end ({earliest_last:?})"
    );
    running.shutdown();
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invocation_per_process_runs_the_streams_one_after_another() {
    // Classic Lambda, as before: one process, one invocation at a time.
    let running = proxy(1).await;
    let (seen, _) = run_streams(running.addr, 2, false).await;
    let (a, b) = (&seen[0], &seen[1]);
    assert!(
        a.last < b.first || b.last < a.first,
        "two invocations overlapped in a process that takes one at a time"
    );
    running.shutdown();
    running.wait().await;
}
