//! End to end: a tonic client → the proxy → the embedded Lambda service → the example function
//! (`shims/lambda/examples/prod`), and the same suite against `cargo lambda watch`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use prost::Message;
use support::api::{AliveRequest, AliveResponse, CountRequest};
use tonic::metadata::MetadataValue;
use tonic::{Code, Request};

/// `google.rpc.Status`, as the example puts it in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The must-show suite, against any proxy address whose routes reach the example.
pub async fn suite(addr: std::net::SocketAddr) {
    let mut client = support::client(addr).await;

    // Alive.
    let reply = client
        .alive(AliveRequest {
            message: " from tonic".into(),
        })
        .await
        .expect("Alive answers");
    assert_eq!(reply.get_ref().message, "Hello, world. from tonic");

    // Fail: code, percent-encoded message, status details.
    let status = client
        .fail(AliveRequest {
            message: "100% ✓\nnewline".into(),
        })
        .await
        .expect_err("Fail fails");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "bad: 100% ✓\nnewline");
    let details = RpcStatus::decode(status.details()).expect("details are a google.rpc.Status");
    assert_eq!(details.code, Code::InvalidArgument as i32);
    assert_eq!(details.message, "bad: 100% ✓\nnewline");

    // Count (server streaming, buffered into one invocation).
    let mut stream = client
        .count(CountRequest { n: 3, delay_ms: 0 })
        .await
        .expect("Count answers")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(item) = stream.message().await.expect("a Count message") {
        seen.push((item.n, item.message));
    }
    assert_eq!(
        seen,
        [
            (1, "1".to_owned()),
            (2, "2".to_owned()),
            (3, "3".to_owned())
        ]
    );

    // Metadata echo, text and binary, in headers and in trailers.
    let binary = [0u8, 1, 2, 0xfe, 0xff];
    let mut request = Request::new(AliveRequest {
        message: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-echo", "echo-value".parse().unwrap());
    request
        .metadata_mut()
        .insert_bin("x-echo-bin", MetadataValue::from_bytes(&binary));
    let response = client.alive(request).await.expect("Alive with metadata");
    assert_eq!(response.metadata().get("x-echo").unwrap(), "echo-value");
    let echoed = response
        .metadata()
        .get_bin("x-echo-bin")
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(&echoed[..], &binary);
    // Trailers of a streaming call are visible to tonic's client.
    let mut request = Request::new(CountRequest { n: 1, delay_ms: 0 });
    request
        .metadata_mut()
        .insert("x-echo", "in-trailers".parse().unwrap());
    request
        .metadata_mut()
        .insert_bin("x-echo-bin", MetadataValue::from_bytes(&binary));
    let mut stream = client
        .count(request)
        .await
        .expect("Count with metadata")
        .into_inner();
    while stream.message().await.expect("message").is_some() {}
    let trailers = stream
        .trailers()
        .await
        .expect("trailers")
        .expect("some trailers");
    assert_eq!(trailers.get("x-echo-trailer").unwrap(), "in-trailers");
    let echoed = trailers
        .get_bin("x-echo-trailer-bin")
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(&echoed[..], &binary);
    // On a failed call, the metadata comes back in the trailers too.
    let mut request = Request::new(AliveRequest {
        message: "x".into(),
    });
    request
        .metadata_mut()
        .insert("x-echo", "on-error".parse().unwrap());
    let status = client.fail(request).await.expect_err("Fail fails");
    assert_eq!(status.metadata().get("x-echo-trailer").unwrap(), "on-error");

    // 3 MiB both ways.
    let big = "x".repeat(3 * 1024 * 1024);
    let reply = client
        .alive(AliveRequest {
            message: big.clone(),
        })
        .await
        .expect("a 3 MiB call");
    assert_eq!(
        reply.get_ref().message.len(),
        "Hello, world.".len() + big.len()
    );

    // An exceeded deadline. tonic's own channel enforces grpc-timeout on the client side too,
    // so the call goes through a plain hyper HTTP/2 client: the status is the proxy's.
    let mut plain = support::plain_client(addr);
    let mut request = Request::new(CountRequest {
        n: 2,
        delay_ms: 3000,
    });
    request.set_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let status = match plain.count(request).await {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            loop {
                match stream.message().await {
                    Err(status) => break status,
                    Ok(None) => panic!("the deadline passed without an error"),
                    Ok(Some(_)) => {}
                }
            }
        }
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );

    // An unknown method.
    let mut grpc = tonic::client::Grpc::new(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    grpc.ready().await.unwrap();
    let codec: tonic_prost::ProstCodec<AliveRequest, AliveResponse> = Default::default();
    let status = grpc
        .unary(
            Request::new(AliveRequest::default()),
            http::uri::PathAndQuery::from_static("/api.Prod/Nope"),
            codec,
        )
        .await
        .expect_err("no such method");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_client_through_the_embedded_runtime() {
    let prod = support::prod_binary();
    let command = prod.display().to_string();
    let running = support::start(&[
        "--local-function",
        &command,
        "--local-name",
        "prod",
        "--local-concurrency",
        "2",
    ])
    .await;
    suite(running.addr).await;
    // Every call was counted.
    assert!(running
        .metrics()
        .render()
        .contains("grpc_lambda_proxy_calls_total"));
    running.shutdown();
    running.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_without_a_route_is_unimplemented() {
    let running = support::start(&[
        "--route",
        "api.Prod=prod",
        "--lambda-endpoint",
        "http://127.0.0.1:1",
    ])
    .await;
    let mut grpc = tonic::client::Grpc::new(
        tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    grpc.ready().await.unwrap();
    let codec: tonic_prost::ProstCodec<AliveRequest, AliveResponse> = Default::default();
    let status = grpc
        .unary(
            Request::new(AliveRequest::default()),
            http::uri::PathAndQuery::from_static("/other.Service/Method"),
            codec,
        )
        .await
        .expect_err("no route");
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(
        status
            .message()
            .contains("no route for \"/other.Service/Method\""),
        "{status:?}"
    );
}

/// Runs the grpcio suite against `addr`.
fn grpcio_suite(addr: std::net::SocketAddr) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/grpcio_client.py");
    let output = support::python(&script)
        .arg(addr.to_string())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "grpcio suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all grpcio checks passed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_client_through_the_embedded_runtime() {
    if !support::require("grpcio (Python)", support::python_has("grpc")) {
        return;
    }
    let prod = support::prod_binary();
    let command = prod.display().to_string();
    let running = support::start(&[
        "--local-function",
        &command,
        "--local-name",
        "prod",
        "--local-concurrency",
        "2",
    ])
    .await;
    let addr = running.addr;
    tokio::task::spawn_blocking(move || grpcio_suite(addr))
        .await
        .unwrap();
}

/// Where cargo-lambda is: `$CARGO_LAMBDA`, PATH, or the Python user base.
fn cargo_lambda() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return Some(path.into());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("cargo-lambda"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let output = std::process::Command::new("python3")
            .args(["-m", "site", "--user-base"])
            .output()
            .ok()?;
        let base = String::from_utf8(output.stdout).ok()?;
        let candidate = std::path::PathBuf::from(base.trim()).join("bin/cargo-lambda");
        candidate.is_file().then_some(candidate)
    })
}

/// `cargo lambda watch` on the example, in its own process group, stopped by that group's id.
struct Watch {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(cargo_lambda: &std::path::Path) -> Watch {
        use std::os::unix::process::CommandExt;
        let port = support::free_port();
        // Logs go outside the package folder: a file written there would restart the function.
        let log = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("proxy-cargo-lambda-watch-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lambda/examples/prod");
        let child = std::process::Command::new(cargo_lambda)
            .args(["lambda", "watch", "--ignore-changes", "--bin", "prod"])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .current_dir(example)
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap();
        Watch { child, port, log }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_suites_through_cargo_lambda_watch() {
    let cargo_lambda = cargo_lambda();
    if !support::require("cargo-lambda", cargo_lambda.is_some()) {
        return;
    }
    let Some(cargo_lambda) = cargo_lambda else {
        return;
    };
    let watch = Watch::start(&cargo_lambda);
    let endpoint = format!("http://127.0.0.1:{}", watch.port);
    let running = support::start(&["--function", "prod", "--lambda-endpoint", &endpoint]).await;
    // The first invocation waits for cargo lambda to build and start the function.
    let mut client = support::client(running.addr).await;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        match client
            .alive(AliveRequest {
                message: "warm".into(),
            })
            .await
        {
            Ok(_) => break,
            Err(status) if Instant::now() < deadline => {
                eprintln!("waiting for cargo lambda watch: {status:?}");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(status) => panic!(
                "cargo lambda watch never answered: {status:?}\n{}",
                std::fs::read_to_string(&watch.log).unwrap_or_default()
            ),
        }
    }
    suite(running.addr).await;
    if support::require("grpcio (Python)", support::python_has("grpc")) {
        let addr = running.addr;
        tokio::task::spawn_blocking(move || grpcio_suite(addr))
            .await
            .unwrap();
    }
}

/// The proxy keeps its own copy of the example's contract (its build script must find it inside
/// the crate when published); the two copies must not drift apart.
#[test]
fn the_proto_copy_matches_the_example() {
    assert_eq!(
        include_str!("../proto/prod.proto"),
        include_str!("../../lambda/examples/prod/proto/prod.proto"),
        "shims/proxy/proto/prod.proto differs from the example's; copy it over"
    );
}
