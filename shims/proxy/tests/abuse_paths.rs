//! Hostile paths and headers against the proxy binary: paths that would run another method than
//! the one routed, 20,000 distinct paths, native gRPC over HTTP/1.1, compression flags and
//! encodings, a client's cancel, and a start-up that would refuse every method.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use support::{frame, raw_call, sample, ProxyProcess, GRPC};

/// `AliveRequest { message: "" }`: an empty message.
const EMPTY: &[u8] = b"";

/// An empty message flagged compressed.
const COMPRESSED: [u8; 5] = [1, 0, 0, 0, 0];

/// A config file with an exact route refusing `/api.Prod/Fail` and a prefix route sending the
/// rest of `api.Prod` to the example function.
fn blocking_config(dir: &std::path::Path) -> std::path::PathBuf {
    let prod = support::prod_binary();
    let path = dir.join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[local]
command = "exec {}"
function = "prod"

[[routes]]
match = "/api.Prod/Fail"
local = true
bidi = "unimplemented"

[[routes]]
match = "api.Prod"
local = true
"#,
            prod.display()
        ),
    )
    .unwrap();
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = support::target_dir()
        .join("tmp")
        .join(format!("abuse-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_that_name_another_method_are_refused_before_any_invocation() {
    let dir = temp_dir("bypass");
    let config = blocking_config(&dir);
    let proxy = ProxyProcess::spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--admin",
        "127.0.0.1:0",
    ]);
    // The method the route blocks is blocked...
    let blocked = raw_call(proxy.addr, true, "/api.Prod/Fail", &GRPC, frame(EMPTY)).await;
    assert_eq!(blocked.grpc_status(), Some("12"), "{blocked:?}");
    assert!(
        blocked.grpc_message().contains("bidirectional"),
        "{blocked:?}"
    );
    // ...and no other spelling of a path reaches it, or anything else.
    let bypasses = [
        "/api.Prod/x/api.Prod/Fail",
        "/api.Prod//api.Prod/Fail",
        "/api.Prod/../api.Prod/Fail",
        "/api.Prod/./Fail",
        "/api.Prod/%46ail",
        "/api.Prod%2FFail",
        "/api.Prod/x%2F..%2Fapi.Prod%2FFail",
        "/api.Prod/Alive/",
        "//api.Prod/Fail",
    ];
    for path in bypasses {
        let answer = raw_call(proxy.addr, true, path, &GRPC, frame(EMPTY)).await;
        assert_eq!(answer.status, http::StatusCode::OK, "{path}: {answer:?}");
        assert_eq!(answer.grpc_status(), Some("12"), "{path}: {answer:?}");
        let message = answer.grpc_message();
        assert!(
            message.starts_with(&format!("{path:?} is not a method path: it has")),
            "{path}: {message}"
        );
        assert!(answer.body.is_empty(), "{path}: Trailers-Only");
    }
    // A canonical path still runs, and a query string is not part of the path.
    for path in ["/api.Prod/Alive", "/api.Prod/Alive?x=/../Fail"] {
        let answer = raw_call(proxy.addr, true, path, &GRPC, frame(EMPTY)).await;
        assert_eq!(answer.grpc_status(), Some("0"), "{path}: {answer:?}");
        assert_eq!(&answer.body[..], &frame(b"\x0a\x0dHello, world.")[..]);
    }
    // The function ran twice (the two Alive calls), nothing else: every refused call is counted
    // under one label, without its path.
    let metrics = proxy.metrics().await;
    let ok = r#"grpc_lambda_proxy_calls_total{route="/api.Prod/",target="lambda:prod",code="OK"}"#;
    assert_eq!(sample(&metrics, ok), Some(2.0), "{metrics}");
    assert!(!metrics.contains(r#"route="/api.Prod/",target="lambda:prod",code="UNIMPLEMENTED""#));
    let refused =
        r#"grpc_lambda_proxy_calls_total{route="(unrouted)",target="-",code="UNIMPLEMENTED"}"#;
    assert_eq!(
        sample(&metrics, refused),
        Some(bypasses.len() as f64),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"grpc_lambda_proxy_failures_total{kind="not_a_method_path"}"#
        ),
        Some(bypasses.len() as f64)
    );
    assert!(!metrics.contains("api.Prod/x"), "{metrics}");
    // A long path is quoted cut to 256 bytes in the answer and the log line, and counted
    // under the one label of unrouted calls.
    let long = format!("/other.Service/{}", "M".repeat(4000));
    let answer = raw_call(proxy.addr, true, &long, &GRPC, frame(EMPTY)).await;
    assert_eq!(answer.grpc_status(), Some("12"), "{answer:?}");
    assert!(
        answer.grpc_message().contains("… (4015 bytes)"),
        "{answer:?}"
    );
    assert!(answer.grpc_message().len() < 512, "{answer:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let lines = proxy.log_lines();
        if let Some(line) = lines.iter().find(|line| line.contains("/other.Service/")) {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no call line: {lines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(line.len() < 1024, "{line}");
    assert!(line.contains("… (4015 bytes)"), "{line}");
    assert!(line.contains(r#""route":"(unrouted)""#), "{line}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `n` random path characters.
fn random_name(seed: &mut u64, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    (0..n)
        .map(|_| {
            // xorshift64: distinct names, no dependency.
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ALPHABET[(*seed % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Sends `count` calls to distinct ~4 KB method paths, `concurrency` at a time, over a few
/// HTTP/2 connections; returns how many answered.
async fn distinct_paths(addr: std::net::SocketAddr, count: usize, seed: u64) -> usize {
    let concurrency = 64;
    let per_task = count / concurrency;
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        tasks.push(tokio::spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .http2_only(true)
                    .build_http::<http_body_util::Full<bytes::Bytes>>();
            let mut seed = seed ^ (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut answered = 0;
            for _ in 0..per_task {
                let path = format!("/api.Prod/{}", random_name(&mut seed, 4080));
                let mut request = http::Request::post(format!("http://{addr}{path}"));
                for (name, value) in GRPC {
                    request = request.header(name, value);
                }
                let request = request
                    .body(http_body_util::Full::new(bytes::Bytes::from(frame(EMPTY))))
                    .unwrap();
                let response = client.request(request).await.unwrap();
                use http_body_util::BodyExt as _;
                let _ = response.into_body().collect().await.unwrap();
                answered += 1;
            }
            answered
        }));
    }
    let mut answered = 0;
    for task in tasks {
        answered += task.await.unwrap();
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_distinct_paths_leave_memory_where_it_was() {
    // A prefix route takes every canonical path under api.Prod; its target refuses the calls
    // (bidi = "unimplemented") without invoking anything, so the proxy's own bookkeeping is
    // what the flood measures: a route, a record, a log line and the counters per call.
    let dir = temp_dir("paths");
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        "[[routes]]\nmatch = \"api.Prod\"\nlambda = \"prod\"\nbidi = \"unimplemented\"\n",
    )
    .unwrap();
    let proxy = ProxyProcess::spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--lambda-endpoint",
        "http://127.0.0.1:1",
        "--admin",
        "127.0.0.1:0",
        "--quiet",
    ]);
    let started = Instant::now();
    assert_eq!(distinct_paths(proxy.addr, 2048, 1).await, 2048);
    let warm = proxy.status_kib("VmRSS");
    let warmed_in = started.elapsed();
    let started = Instant::now();
    assert_eq!(distinct_paths(proxy.addr, 20_032, 2).await, 20_032);
    let flood_time = started.elapsed();
    let after = proxy.status_kib("VmRSS");
    let metrics = proxy.metrics().await;
    eprintln!(
        "VmRSS after warm-up {warm} KiB ({warmed_in:?}), after 20,032 distinct 4 KB paths \
         {after} KiB ({flood_time:?}), VmHWM {} KiB, /metrics {} bytes",
        proxy.status_kib("VmHWM"),
        metrics.len()
    );
    assert!(
        after <= warm + 8 * 1024,
        "VmRSS grew from {warm} KiB to {after} KiB"
    );
    assert!(
        metrics.len() < 8 * 1024,
        "{} bytes of metrics",
        metrics.len()
    );
    let refused = r#"grpc_lambda_proxy_calls_total{route="/api.Prod/",target="lambda:prod",code="UNIMPLEMENTED"}"#;
    assert_eq!(sample(&metrics, refused), Some(22_080.0), "{metrics}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_grpc_over_http1_is_refused_and_grpc_web_works() {
    let proxy = ProxyProcess::with_prod(&[]);
    let answer = raw_call(proxy.addr, false, "/api.Prod/Alive", &GRPC, frame(EMPTY)).await;
    assert_eq!(answer.status, http::StatusCode::OK, "{answer:?}");
    assert_eq!(answer.headers["content-type"], "application/grpc");
    assert_eq!(answer.headers["grpc-status"], "12");
    assert!(answer.body.is_empty());
    assert_eq!(
        answer.grpc_message(),
        "native gRPC (application/grpc) needs HTTP/2, and this request came over HTTP/1.1: use \
         an HTTP/2 connection (h2c prior knowledge, or TLS with ALPN h2), or gRPC-Web \
         (application/grpc-web), which works over HTTP/1.1"
    );
    let web = [("content-type", "application/grpc-web+proto")];
    let answer = raw_call(proxy.addr, false, "/api.Prod/Alive", &web, frame(EMPTY)).await;
    assert_eq!(answer.status, http::StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/grpc-web+proto");
    assert!(
        answer.body.starts_with(&frame(b"\x0a\x0dHello, world.")),
        "{answer:?}"
    );
    // Then the trailer frame, in the body.
    assert_eq!(answer.body[20], 0x80, "{answer:?}");
    let trailer_len = u32::from_be_bytes(answer.body[21..25].try_into().unwrap()) as usize;
    assert_eq!(answer.body.len(), 25 + trailer_len);
    let trailer = String::from_utf8_lossy(&answer.body[25..]).to_lowercase();
    assert!(trailer.starts_with("grpc-status: 0\r\n"), "{trailer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_flags_and_encodings_follow_the_grpc_spec() {
    let proxy = ProxyProcess::with_prod(&[]);
    // A message flagged compressed, and no grpc-encoding: INTERNAL.
    let answer = raw_call(
        proxy.addr,
        true,
        "/api.Prod/Alive",
        &GRPC,
        COMPRESSED.to_vec(),
    )
    .await;
    assert_eq!(answer.grpc_status(), Some("13"), "{answer:?}");
    assert_eq!(
        answer.grpc_message(),
        "request message 0 is flagged compressed, but the request names no grpc-encoding \
         (accepted: identity,gzip)"
    );
    // An encoding nobody decodes: UNIMPLEMENTED, and what is accepted.
    let mut headers = GRPC.to_vec();
    headers.push(("grpc-encoding", "br"));
    let answer = raw_call(
        proxy.addr,
        true,
        "/api.Prod/Alive",
        &headers,
        COMPRESSED.to_vec(),
    )
    .await;
    assert_eq!(answer.grpc_status(), Some("12"), "{answer:?}");
    assert_eq!(answer.headers["grpc-accept-encoding"], "identity,gzip");
    assert!(
        answer.grpc_message().contains("\"br\" is not accepted"),
        "{answer:?}"
    );
    // identity with an uncompressed message runs.
    headers.pop();
    headers.push(("grpc-encoding", "identity"));
    let answer = raw_call(proxy.addr, true, "/api.Prod/Alive", &headers, frame(EMPTY)).await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_is_logged_cancelled() {
    let proxy = ProxyProcess::with_prod(&["--admin", "127.0.0.1:0"]);
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (mut h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post("http://proxy/api.Prod/Alive")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (_response, mut stream) = h2.send_request(request, false).unwrap();
    stream
        .send_data(bytes::Bytes::from_static(b"\0\0\0"), false)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.send_reset(h2::Reason::CANCEL);
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let found = proxy
            .log_lines()
            .into_iter()
            .find(|line| line.contains("\"msg\":\"call\""));
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "no call line");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["status"], "CANCELLED", "{line}");
    assert_eq!(line["error"], "cancelled", "{line}");
    let metrics = proxy.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            r#"grpc_lambda_proxy_failures_total{kind="cancelled"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(!metrics.contains("invalid_request"), "{metrics}");
}

#[test]
fn bidi_unimplemented_on_the_catch_all_route_is_refused_at_start_up() {
    let binary =
        grpc_lambda_test_support::workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy");
    let output = std::process::Command::new(binary)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--local-function",
            "true",
            "--bidi",
            "unimplemented",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("would answer every method UNIMPLEMENTED")
            && stderr.contains("exact pattern in the config file"),
        "{stderr}"
    );
}
