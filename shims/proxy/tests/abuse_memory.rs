//! Memory held by hostile clients, against the proxy binary: streams that declare large
//! messages and never finish them, an over-limit frame header, and clients whose window never
//! opens for their responses. The proxy-wide budget (`--max-bytes-in-flight`) bounds them all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use support::{frame, raw_call, sample, ProxyProcess, GRPC};

/// The budget the tests give the proxy: 32 MiB.
const BUDGET: usize = 32 * 1024 * 1024;

/// The default largest message, 4.5 MiB: what the held streams declare.
const DECLARED: u32 = 4608 * 1024;

/// What each held stream sends of its message: 256 KiB.
const PARTIAL: usize = 256 * 1024;

/// Streams the attacker opens on its one connection.
const STREAMS: usize = 300;

fn grpc_request(path: &str) -> http::Request<()> {
    http::Request::post(format!("http://proxy{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// The proxy with the example function, a budget of [`BUDGET`], and `extra` flags.
fn local_function(extra: &[&str]) -> ProxyProcess {
    let budget = BUDGET.to_string();
    let mut flags = vec!["--admin", "127.0.0.1:0", "--quiet", "--max-bytes-in-flight"];
    flags.push(&budget);
    flags.extend_from_slice(extra);
    ProxyProcess::with_prod(&flags)
}

/// Waits (10 s at most) until the proxy holds no bytes for calls: the client left.
async fn all_given_back(proxy: &ProxyProcess) {
    let name = "grpc_lambda_proxy_bytes_in_flight";
    proxy
        .wait_for_sample(name, 0.0, Duration::from_secs(10))
        .await;
}

async fn bytes_in_flight(proxy: &ProxyProcess) -> f64 {
    sample(&proxy.metrics().await, "grpc_lambda_proxy_bytes_in_flight").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_messages_on_300_streams_are_refused_at_the_budget() {
    let proxy = local_function(&["--request-body-timeout", "120"]);
    let baseline = proxy.status_kib("VmHWM");
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    // Every stream: a header declaring a 4.5 MiB message (at the limit, so allowed), then
    // 256 KiB of it, and nothing more. The same bytes for every stream: the client holds them
    // once.
    let mut partial = Vec::with_capacity(5 + PARTIAL);
    partial.push(0);
    partial.extend_from_slice(&DECLARED.to_be_bytes());
    partial.resize(5 + PARTIAL, 7);
    let partial = Bytes::from(partial);
    let mut responses = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut h2 = h2.clone().ready().await.unwrap();
        let (response, mut stream) = h2
            .send_request(grpc_request("/api.Prod/Alive"), false)
            .unwrap();
        stream.send_data(partial.clone(), false).unwrap();
        responses.push(response);
        streams.push(stream);
    }
    // The refused streams answer at once; the others wait for the rest of their message.
    let mut refused = 0;
    let mut messages = Vec::new();
    let until = Instant::now() + Duration::from_secs(20);
    for response in &mut responses {
        let left = until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10));
        if let Ok(Ok(answer)) = tokio::time::timeout(left, response).await {
            assert_eq!(answer.headers()["grpc-status"], "8", "{answer:?}");
            refused += 1;
            messages.push(
                answer.headers()["grpc-message"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    let held_bytes = bytes_in_flight(&proxy).await;
    let peak = proxy.status_kib("VmHWM");
    eprintln!(
        "{refused} of {STREAMS} streams refused; {held_bytes} bytes held of {BUDGET}; VmHWM \
         {baseline} KiB at start, {peak} KiB under the attack"
    );
    // At most BUDGET / PARTIAL streams fit; every other one is refused.
    assert!(refused >= STREAMS - BUDGET / PARTIAL, "{refused} refused");
    assert!(held_bytes <= BUDGET as f64, "{held_bytes}");
    assert!(
        messages[0].contains("max_bytes_in_flight") && messages[0].contains("33554432"),
        "{}",
        messages[0]
    );
    // Without the budget the streams held 300 × 256 KiB = 75 MiB (and 1.4 GB had they sent
    // their whole declared messages); with it the proxy's peak stays within the budget and
    // 32 MiB more (HTTP/2 windows, the process's own) of where it began.
    assert!(
        peak < baseline + (BUDGET / 1024) as u64 + 32 * 1024,
        "VmHWM {peak} KiB from {baseline} KiB"
    );
    // The attacker leaves: every byte is given back, and a normal call runs.
    drop(streams);
    drop(responses);
    drop(h2);
    connection.abort();
    all_given_back(&proxy).await;
    let answer = raw_call(proxy.addr, true, "/api.Prod/Alive", &GRPC, frame(b"")).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_limit_frame_header_is_refused_when_it_arrives() {
    let proxy = local_function(&["--request-body-timeout", "120"]);
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let (response, mut stream) = h2
        .send_request(grpc_request("/api.Prod/Alive"), false)
        .unwrap();
    let mut header = vec![0];
    header.extend_from_slice(&(DECLARED + 1).to_be_bytes());
    stream.send_data(Bytes::from(header), false).unwrap();
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("refused without the rest of the message")
        .unwrap();
    eprintln!("an over-limit header refused in {:?}", started.elapsed());
    assert_eq!(answer.headers()["grpc-status"], "8", "{answer:?}");
    assert_eq!(
        answer.headers()["grpc-message"],
        "request: frame at byte 0 declares a 4718593-byte message, over the limit of 4718592 \
         bytes"
    );
}

/// `AliveRequest { message }` with `len` bytes of message.
fn alive_request(len: usize) -> Vec<u8> {
    let mut message = vec![0x0a];
    let mut n = len;
    while n >= 0x80 {
        message.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    message.push(n as u8);
    message.resize(message.len() + len, b'x');
    frame(&message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_to_clients_that_never_open_their_window_count_against_the_budget() {
    let proxy = local_function(&[]);
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    // A window of 0: the proxy can send headers and trailers, never a byte of DATA.
    let (h2, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = Bytes::from(alive_request(3 * 1024 * 1024));
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..14 {
        let mut h2 = h2.clone().ready().await.unwrap();
        let (response, mut stream) = h2
            .send_request(grpc_request("/api.Prod/Alive"), false)
            .unwrap();
        stream.send_data(request.clone(), true).unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(30), response)
            .await
            .expect("an answer's headers")
            .unwrap();
        match answer.headers().get("grpc-status") {
            Some(code) => {
                assert_eq!(code, "8", "{answer:?}");
                let message = answer.headers()["grpc-message"].to_str().unwrap();
                assert!(message.contains("max_bytes_in_flight"), "{message}");
                refused += 1;
            }
            None => held.push(answer),
        }
    }
    let held_bytes = bytes_in_flight(&proxy).await;
    eprintln!(
        "window 0: {} responses held ({held_bytes} bytes), {refused} refused; VmHWM {} KiB",
        held.len(),
        proxy.status_kib("VmHWM")
    );
    assert!(
        refused >= 14 - BUDGET / (3 * 1024 * 1024),
        "{refused} refused"
    );
    assert!(held_bytes <= BUDGET as f64);
    drop(held);
    drop(h2);
    connection.abort();
    all_given_back(&proxy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answer_is_closed_after_the_idle_timeout() {
    // The client stays connected and keeps its window at 0: nothing it does frees the answer,
    // so the proxy must. A deadline far away changes nothing.
    let proxy = local_function(&["--idle-timeout", "1"]);
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (h2, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let mut request = grpc_request("/api.Prod/Alive");
    request
        .headers_mut()
        .insert("grpc-timeout", http::HeaderValue::from_static("99999999H"));
    let (response, mut stream) = h2.send_request(request, false).unwrap();
    stream
        .send_data(Bytes::from(alive_request(1024 * 1024)), true)
        .unwrap();
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .expect("an answer's headers")
        .unwrap();
    assert!(answer.headers().get("grpc-status").is_none(), "{answer:?}");
    assert!(
        bytes_in_flight(&proxy).await > 1_000_000.0,
        "the answer is held"
    );
    // The idle limit (1 s) once the answer waits, checked at most an idle limit later, then
    // the close grace (1 s).
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the proxy closes the connection")
        .unwrap()
        .ok();
    let closed = started.elapsed();
    eprintln!("a client that never reads: closed after {closed:?}");
    assert!(closed <= Duration::from_secs(6), "closed after {closed:?}");
    all_given_back(&proxy).await;
    // The proxy serves as before.
    let answer = raw_call(proxy.addr, true, "/api.Prod/Alive", &GRPC, frame(b"")).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
}
