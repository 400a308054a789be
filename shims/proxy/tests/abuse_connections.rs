//! Connections that say nothing, against the proxy binary: silent TCP, a silent TLS handshake,
//! HTTP/2 connections with a stream of HEADERS only, and more connections than the cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{frame, raw_call, sample, ProxyProcess, GRPC};
use tokio::io::AsyncReadExt as _;

/// How long the proxy lets a connection be after it was told to close (`conn::CLOSE_GRACE`).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Slack for a loaded machine, on top of each timeout.
const SLACK: Duration = Duration::from_secs(2);

/// The proxy with the example function, its admin port, and `extra` flags.
fn local_function(extra: &[&str]) -> ProxyProcess {
    let mut flags = vec!["--admin", "127.0.0.1:0", "--quiet"];
    flags.extend_from_slice(extra);
    ProxyProcess::with_prod(&flags)
}

/// Connects and sends nothing; the time until the proxy closes the connection (at most `limit`).
async fn silent(addr: SocketAddr, limit: Duration) -> Option<Duration> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            // What the proxy writes before it closes (an HTTP/2 GOAWAY, say) is read past.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_and_headers_only_streams_are_closed_within_the_timeouts() {
    let proxy = local_function(&[
        "--first-bytes-timeout",
        "1",
        "--idle-timeout",
        "1",
        "--request-body-timeout",
        "1",
    ]);
    let addr = proxy.addr;
    // 100 connections that never send a byte.
    let silent_ones: Vec<_> = (0..100)
        .map(|_| tokio::spawn(silent(addr, Duration::from_secs(10))))
        .collect();
    // 20 HTTP/2 connections that open one stream, send its HEADERS, and nothing more; half of
    // them claim a deadline 11,000 years away, which must not lift the body's own limit.
    let mut headers_only = Vec::new();
    for i in 0..20 {
        let far_deadline = i % 2 == 0;
        headers_only.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let started = Instant::now();
            let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
            let connection = tokio::spawn(connection);
            let mut h2 = h2.ready().await.unwrap();
            let mut request = http::Request::post("http://proxy/api.Prod/Alive")
                .header("content-type", "application/grpc")
                .header("te", "trailers");
            if far_deadline {
                request = request.header("grpc-timeout", "99999999H");
            }
            let (response, _stream) = h2.send_request(request.body(()).unwrap(), false).unwrap();
            let answer = tokio::time::timeout(Duration::from_secs(10), response)
                .await
                .expect("an answer")
                .unwrap();
            let answered = started.elapsed();
            let status = answer.headers()["grpc-status"].to_str().unwrap().to_owned();
            let message = answer.headers()["grpc-message"]
                .to_str()
                .unwrap()
                .to_owned();
            tokio::time::timeout(Duration::from_secs(10), connection)
                .await
                .expect("the proxy closes the connection")
                .unwrap()
                .ok();
            (status, message, answered, started.elapsed())
        }));
    }
    let first_bytes_bound = Duration::from_secs(1) + CLOSE_GRACE + SLACK;
    let mut slowest = Duration::ZERO;
    for task in silent_ones {
        let closed = task.await.unwrap().expect("a silent connection is closed");
        slowest = slowest.max(closed);
    }
    assert!(slowest <= first_bytes_bound, "closed after {slowest:?}");
    // The body-arrival limit ends the stream (1 s), then the idle limit the connection (1 s).
    let idle_bound = Duration::from_secs(2) + CLOSE_GRACE + SLACK;
    let mut slowest_answer = Duration::ZERO;
    let mut slowest_close = Duration::ZERO;
    for task in headers_only {
        let (status, message, answered, closed) = task.await.unwrap();
        assert_eq!(status, "4", "{message}");
        assert!(message.contains("request_body_timeout"), "{message}");
        slowest_answer = slowest_answer.max(answered);
        slowest_close = slowest_close.max(closed);
    }
    eprintln!(
        "100 silent connections closed within {slowest:?}; 20 HEADERS-only streams answered \
         within {slowest_answer:?}, their connections closed within {slowest_close:?}; \
         {} fds open after",
        proxy.open_fds()
    );
    assert!(
        slowest_close <= idle_bound,
        "closed after {slowest_close:?}"
    );
    // The client sees a connection closed a moment before the proxy's connection task ends
    // and counts it out: read the gauge until it is 0, for 2 s at most.
    let mut metrics = proxy.metrics().await;
    for _ in 0..20 {
        if sample(&metrics, "grpc_lambda_proxy_connections") == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = proxy.metrics().await;
    }
    assert_eq!(
        sample(&metrics, "grpc_lambda_proxy_connections"),
        Some(0.0),
        "{metrics}"
    );
    // The proxy serves as before.
    let answer = raw_call(addr, true, "/api.Prod/Alive", &GRPC, frame(b"")).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_handshake_is_closed_within_the_first_bytes_timeout() {
    let dir = support::target_dir()
        .join("tmp")
        .join(format!("abuse-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let proxy = local_function(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--first-bytes-timeout",
        "1",
    ]);
    let closed = silent(proxy.addr, Duration::from_secs(10))
        .await
        .expect("closed");
    eprintln!("a silent TLS connection closed after {closed:?}");
    assert!(closed <= Duration::from_secs(1) + SLACK, "{closed:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_new_connections_are_closed_and_an_open_client_keeps_working() {
    let proxy = local_function(&["--max-connections", "10", "--first-bytes-timeout", "30"]);
    let addr = proxy.addr;
    // A client with a connection open before the flood.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let call = |client: hyper_util::client::legacy::Client<_, _>| async move {
        use http_body_util::BodyExt as _;
        let mut request = http::Request::post(format!("http://{addr}/api.Prod/Alive"));
        for (name, value) in GRPC {
            request = request.header(name, value);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(frame(b""))))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let collected = response.into_body().collect().await.unwrap();
        collected.trailers().unwrap()["grpc-status"].clone()
    };
    assert_eq!(call(client.clone()).await, "0");
    // 25 more connections, silent: 9 fit under the cap of 10, 16 are closed at once.
    let mut held = Vec::new();
    for _ in 0..25 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut closed = 0;
    for tcp in &mut held {
        let mut buffer = [0u8; 16];
        match tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(_)) => panic!("the proxy wrote to a silent connection"),
            Err(_) => {}
        }
    }
    assert_eq!(closed, 16);
    // The client that was there keeps working, on its connection.
    assert_eq!(call(client.clone()).await, "0");
    let metrics = proxy.metrics().await;
    assert_eq!(
        sample(&metrics, "grpc_lambda_proxy_connections"),
        Some(10.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "grpc_lambda_proxy_connections_refused_total"),
        Some(16.0),
        "{metrics}"
    );
    // Once the silent ones go, new clients connect again.
    drop(held);
    proxy
        .wait_for_sample(
            "grpc_lambda_proxy_connections",
            1.0,
            Duration::from_secs(10),
        )
        .await;
    let answer = raw_call(addr, true, "/api.Prod/Alive", &GRPC, frame(b"")).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
}
