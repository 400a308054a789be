//! The same malformed requests through the proxy and through the shim, in process: each side
//! answers each with the same status code (`grpc_lambda_protocol::Malformed::code`), the
//! messages in each side's own words.
//!
//! The proxy invokes a function behind an Invoke API on loopback, which hands each event to
//! `grpc_lambda::Shim::invoke`: a well-formed call goes all the way through, so the proxy's
//! refusals below are the proxy's own and not a missing function's. The shim gets each request
//! as the proxy's event of it, with the client's headers and body as they came.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use grpc_lambda::lambda_runtime::Context;
use grpc_lambda::{Request, Response, Router, Shim, Status};
use grpc_lambda_core::{base64, Code};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// The message limit both sides are given.
const MAX_MESSAGE: usize = 64;

const PATH: &str = "/test.Contract/Empty";

async fn empty(_: Request<()>) -> Result<Response<()>, Status> {
    Ok(Response::new(()))
}

fn shim() -> Arc<Shim<Router>> {
    Arc::new(Shim::new(Router::new().unary(PATH, empty)).max_message_len(MAX_MESSAGE))
}

/// The shim's answer to the proxy's event for a request with these headers and body: the HTTP
/// status, and the gRPC code from the headers (Trailers-Only) or the body's trailer frame.
async fn through_shim(
    shim: &Shim<Router>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Option<Code>) {
    let event = json!({
        "grpcLambda": grpc_lambda_protocol::EVENT_VERSION,
        "path": PATH,
        "headers": headers.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>(),
        "body": String::from_utf8(base64::encode(body).to_vec()).unwrap(),
        "isBase64Encoded": true,
    });
    let answer = shim
        .invoke(serde_json::to_vec(&event).unwrap(), &Context::default())
        .await
        .expect("an event the shim reads");
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    let status = answer["statusCode"].as_u64().unwrap() as u16;
    let header = |name: &str| {
        answer["headers"].as_array().and_then(|pairs| {
            pairs
                .iter()
                .find(|pair| pair[0] == name)
                .and_then(|pair| pair[1].as_str().map(str::to_owned))
        })
    };
    if let Some(code) = header("grpc-status") {
        return (status, Code::parse(code.as_bytes()));
    }
    // The body: base64 in the JSON, or the gRPC-Web-text itself (already base64).
    let body = answer["body"].as_str().unwrap_or_default().as_bytes();
    let bytes = base64::decode(body).unwrap();
    let bytes = if answer["isBase64Encoded"] == true
        && header("content-type").is_some_and(|t| t.starts_with("application/grpc-web-text"))
    {
        base64::decode(&bytes).unwrap()
    } else {
        bytes
    };
    let frames = grpc_lambda_core::decode::decode_all(bytes, 1 << 20).unwrap();
    let code = frames
        .iter()
        .find_map(|frame| frame.trailers().ok())
        .and_then(|trailers| trailers.get("grpc-status").and_then(Code::parse));
    (status, code)
}

/// A Lambda Invoke API on loopback whose function is `shim`.
async fn invoke_api(shim: Arc<Shim<Router>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let shim = Arc::clone(&shim);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let shim = Arc::clone(&shim);
                        async move {
                            let event = request.into_body().collect().await.unwrap().to_bytes();
                            let answer = shim.invoke(event, &Context::default()).await.unwrap();
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(answer))))
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
            });
        }
    });
    addr
}

/// One malformed request and the code both sides must answer it with.
struct Case {
    name: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    /// `None`: not a gRPC call, answered with `http` status.
    code: Option<Code>,
    http: u16,
}

fn cases() -> Vec<Case> {
    let grpc = |extra: &[(&'static str, &'static str)]| {
        let mut headers = vec![("content-type", "application/grpc"), ("te", "trailers")];
        headers.extend_from_slice(extra);
        headers
    };
    let mut over_limit = vec![0, 0, 0, 0, MAX_MESSAGE as u8 + 1];
    over_limit.resize(5 + MAX_MESSAGE + 1, b'x');
    vec![
        Case {
            name: "a truncated frame",
            headers: grpc(&[]),
            body: vec![0, 0, 0, 0, 10, 1, 2, 3],
            code: Some(Code::Internal),
            http: 200,
        },
        Case {
            name: "reserved flag bits",
            headers: grpc(&[]),
            body: vec![0x02, 0, 0, 0, 0],
            code: Some(Code::Internal),
            http: 200,
        },
        // A trailer frame is well formed, so the proxy hands it on: the shim's refusal comes
        // back through the proxy.
        Case {
            name: "a gRPC-Web trailer frame in a request",
            headers: grpc(&[]),
            body: vec![0x80, 0, 0, 0, 0],
            code: Some(Code::Internal),
            http: 200,
        },
        Case {
            name: "a message over the limit",
            headers: grpc(&[]),
            body: over_limit,
            code: Some(Code::ResourceExhausted),
            http: 200,
        },
        Case {
            name: "gRPC-Web-text that is not base64",
            headers: vec![("content-type", "application/grpc-web-text")],
            body: b"AAAA!!!!".to_vec(),
            code: Some(Code::Internal),
            http: 200,
        },
        Case {
            name: "a compressed flag with no grpc-encoding",
            headers: grpc(&[]),
            body: vec![1, 0, 0, 0, 0],
            code: Some(Code::Internal),
            http: 200,
        },
        // The proxy refuses an encoding outside grpc_lambda_protocol::ACCEPTED_ENCODINGS before
        // reading the body; the shim leaves the encoding to its handler, which refuses it when
        // it meets a compressed message (a tonic service may decode more than the Router does).
        // Both answer UNIMPLEMENTED for a compressed message under an unknown encoding.
        Case {
            name: "an unknown grpc-encoding",
            headers: grpc(&[("grpc-encoding", "br")]),
            body: vec![1, 0, 0, 0, 1, 0],
            code: Some(Code::Unimplemented),
            http: 200,
        },
        Case {
            name: "a bad grpc-timeout",
            headers: grpc(&[("grpc-timeout", "1x")]),
            body: vec![0, 0, 0, 0, 0],
            code: Some(Code::Internal),
            http: 200,
        },
        // Not a call of any protocol (application/json is Connect's): HTTP 415
        // (PROTOCOL-HTTP2.md), with the grpc-status a client maps 415 to, UNKNOWN.
        Case {
            name: "a wrong content type",
            headers: vec![("content-type", "text/plain")],
            body: b"{}".to_vec(),
            code: Some(Code::Unknown),
            http: 415,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_and_the_shim_answer_malformed_requests_alike() {
    let shim = shim();
    let endpoint = format!("http://{}", invoke_api(Arc::clone(&shim)).await);
    let max_message = MAX_MESSAGE.to_string();
    let running = support::start(&[
        "--function",
        "contract",
        "--lambda-endpoint",
        &endpoint,
        "--max-message-bytes",
        &max_message,
    ])
    .await;

    // A well-formed call reaches the shim through the proxy, and the shim alone answers it too
    // (as gRPC-Web, the proxy's event content type: a front door cannot carry a native gRPC
    // answer's trailers, so the shim's answer to application/grpc names no status on success).
    let answer = support::raw_call(
        running.addr,
        true,
        PATH,
        &support::GRPC,
        support::frame(b""),
    )
    .await;
    assert_eq!(answer.grpc_status(), Some("0"), "{answer:?}");
    assert_eq!(
        through_shim(
            &shim,
            &[("content-type", "application/grpc-web+proto")],
            &support::frame(b"")
        )
        .await,
        (200, Some(Code::Ok))
    );

    for case in cases() {
        let proxy =
            support::raw_call(running.addr, true, PATH, &case.headers, case.body.clone()).await;
        let proxy_code = proxy.grpc_status().and_then(|c| Code::parse(c.as_bytes()));
        let shim_answer = through_shim(&shim, &case.headers, &case.body).await;
        assert_eq!(
            (proxy.status.as_u16(), proxy_code),
            (case.http, case.code),
            "the proxy, {}: {:?}",
            case.name,
            proxy.grpc_message()
        );
        assert_eq!(
            shim_answer,
            (case.http, case.code),
            "the shim, {}",
            case.name
        );
    }
}
