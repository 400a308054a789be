//! The listener's other faces: TLS with ALPN h2, an HTTPS front-door target, gRPC-Web over
//! HTTP/1.1 (binary and text), the admin port (metrics, grpc.health.v1), graceful shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use support::api::{AliveRequest, AliveResponse};
use tonic::{Code, Request};

async fn unary<Req, Resp>(
    addr: SocketAddr,
    path: &'static str,
    message: Req,
) -> Result<Resp, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let mut grpc =
        tonic::client::Grpc::with_origin(client, format!("http://{addr}").parse().unwrap());
    grpc.ready().await.unwrap();
    let codec: tonic_prost::ProstCodec<Req, Resp> = Default::default();
    grpc.unary(
        Request::new(message),
        http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(|r| r.into_inner())
}

#[cfg(feature = "tls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_and_an_https_front_door_target() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    // B: the TLS proxy in front of the fake function.
    let command = support::fake_function();
    let b = support::start(&[
        "--local-function",
        &command,
        "--local-name",
        "fake",
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ])
    .await;
    // A: a plain proxy whose target is B as an HTTPS front door (gRPC-Web over TLS, ALPN h2).
    let front_door = format!("https://localhost:{}", b.addr.port());
    let a = support::start(&[
        "--route",
        &format!("/={front_door}"),
        "--ca-file",
        cert_path.to_str().unwrap(),
    ])
    .await;
    let reply: AliveResponse = unary(a.addr, "/fake.F/Stream", AliveRequest::default())
        .await
        .unwrap();
    assert_eq!(reply.message, "streamed");
    let status = unary::<_, AliveResponse>(a.addr, "/fake.F/Error", AliveRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert!(status.message().contains("it broke"), "{status:?}");

    // Without the CA, the front door's certificate is refused: UNAVAILABLE, naming TLS.
    let untrusting = support::start(&["--route", &format!("/={front_door}")]).await;
    let status = unary::<_, AliveResponse>(untrusting.addr, "/fake.F/Ok", AliveRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().to_lowercase().contains("certificate"),
        "{status:?}"
    );
}

fn web_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_over_http1_binary_and_text() {
    let prod = support::prod_binary();
    let command = prod.display().to_string();
    let running = support::start(&["--local-function", &command, "--local-name", "prod"]).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let request = AliveRequest {
        message: " web".into(),
    }
    .encode_to_vec();
    for (content_type, body) in [
        (
            "application/grpc-web+proto",
            Bytes::from(web_frame(&request)),
        ),
        (
            "application/grpc-web-text",
            grpc_lambda_core::base64::encode(&web_frame(&request)),
        ),
    ] {
        let http_request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/api.Prod/Alive", running.addr))
            .header("content-type", content_type)
            .header("x-grpc-web", "1")
            .header("origin", "https://app.example")
            .body(Full::new(body))
            .unwrap();
        let response = client.request(http_request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_11);
        assert_eq!(
            response.headers()["content-type"],
            content_type.split('+').next().unwrap().to_owned()
                + if content_type.ends_with("+proto") {
                    "+proto"
                } else {
                    ""
                }
        );
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://app.example"
        );
        assert!(response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .starts_with("grpc-status, grpc-message"));
        let mut body = response.into_body().collect().await.unwrap().to_bytes();
        if content_type.contains("text") {
            body = grpc_lambda_core::base64::decode(&body).unwrap();
        }
        let frames = grpc_lambda_core::decode::decode_all(body, 1 << 20).unwrap();
        assert_eq!(frames.len(), 2, "a message and the trailer frame");
        let reply = AliveResponse::decode(frames[0].payload().clone()).unwrap();
        assert_eq!(reply.message, "Hello, world. web");
        assert_eq!(
            frames[1].trailers().unwrap().get("grpc-status"),
            Some(&b"0"[..])
        );
    }
    // A CORS preflight.
    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{}/api.Prod/Alive", running.addr))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(preflight).await.unwrap();
    assert_eq!(response.status(), 204);
    // From a page: answered as the shim answers it (grpc_lambda_protocol::cors).
    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{}/api.Prod/Alive", running.addr))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-grpc-web")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(preflight).await.unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(headers["access-control-allow-methods"], "POST, OPTIONS");
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type, x-grpc-web"
    );
    assert_eq!(headers["access-control-max-age"], "86400");
    // No protocol's call at all (application/json is Connect's): 415, as PROTOCOL-HTTP2.md asks.
    let text = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}/api.Prod/Alive", running.addr))
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    assert_eq!(client.request(text).await.unwrap().status(), 415);
}

#[derive(Clone, PartialEq, Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

#[derive(Clone, PartialEq, Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_port_health_and_metrics() {
    let running = support::start(&[
        "--route",
        "api.Prod=prod",
        "--lambda-endpoint",
        "http://127.0.0.1:1",
        "--admin",
        "127.0.0.1:0",
    ])
    .await;
    let admin = running.admin_addr.unwrap();
    let serving: HealthCheckResponse = unary(
        admin,
        "/grpc.health.v1.Health/Check",
        HealthCheckRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(serving.status, 1);
    let serving: HealthCheckResponse = unary(
        admin,
        "/grpc.health.v1.Health/Check",
        HealthCheckRequest {
            service: "api.Prod".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(serving.status, 1);
    let unknown = unary::<_, HealthCheckResponse>(
        admin,
        "/grpc.health.v1.Health/Check",
        HealthCheckRequest {
            service: "nope.Nope".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    // One failing call, then the metrics name it.
    let status =
        unary::<_, AliveResponse>(running.addr, "/api.Prod/Alive", AliveRequest::default())
            .await
            .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let response = client
        .get(format!("http://{admin}/metrics").parse().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(r#"grpc_lambda_proxy_calls_total{route="/api.Prod/",target="lambda:prod",code="UNAVAILABLE"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"grpc_lambda_proxy_failures_total{kind="unreachable"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("grpc_lambda_proxy_call_duration_seconds_count 1"),
        "{text}"
    );
}

/// The binary: one log line per call, and SIGTERM lets a call in flight finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_calls_in_flight_finish() {
    if !support::require("python3", support::python_usable()) {
        return;
    }
    let command = support::fake_function();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_grpc-lambda-proxy"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--local-function",
            &command,
            "--local-name",
            "fake",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let listening = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the proxy starts");
        if line.contains("\"listening\"") {
            break line;
        }
    };
    let json: serde_json::Value = serde_json::from_str(&listening).unwrap();
    let addr: SocketAddr = json["addr"].as_str().unwrap().parse().unwrap();
    let admin: SocketAddr = json["admin"].as_str().unwrap().parse().unwrap();

    let slow = tokio::spawn(async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http();
        let mut grpc =
            tonic::client::Grpc::with_origin(client, format!("http://{addr}").parse().unwrap());
        grpc.ready().await.unwrap();
        let mut request = Request::new(AliveRequest::default());
        request
            .metadata_mut()
            .insert("x-sleep-ms", "1500".parse().unwrap());
        let codec: tonic_prost::ProstCodec<AliveRequest, AliveResponse> = Default::default();
        grpc.unary(
            request,
            http::uri::PathAndQuery::from_static("/fake.F/Sleep"),
            codec,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let start = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // While the call finishes, health checks answer NOT_SERVING, so balancers move away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health: HealthCheckResponse = unary(
        admin,
        "/grpc.health.v1.Health/Check",
        HealthCheckRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(health.status, 2, "NOT_SERVING");
    let reply = slow.await.unwrap();
    assert!(reply.is_ok(), "the call in flight finished: {reply:?}");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    let lines: Vec<String> = lines_rx.try_iter().collect();
    let call = lines
        .iter()
        .find(|line| line.contains("\"msg\":\"call\""))
        .unwrap_or_else(|| panic!("a call log line in {lines:?}"));
    let call: serde_json::Value = serde_json::from_str(call).unwrap();
    assert_eq!(call["method"], "/fake.F/Sleep");
    assert_eq!(call["target"], "lambda:fake");
    assert_eq!(call["status"], "OK");
    assert!(call["latency_ms"].as_f64().unwrap() >= 1000.0, "{call}");
}
