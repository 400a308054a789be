//! The shim's events: a function's own fault is a warning its owner sees; a request the client
//! got wrong is logged only at debug. A test binary of its own, with one test: `tracing` caches
//! whether a callsite is enabled process-wide, so a subscriber set for one test thread races
//! with calls on the others.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use grpc_lambda::lambda_runtime::Context;
use grpc_lambda::{Request, Response, Router, Shim, Status};
use grpc_lambda_core::{base64, FrameEncoder};
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    message: String,
}

async fn panics(_: Request<Echo>) -> Result<Response<Echo>, Status> {
    panic!("the handler gave up")
}

async fn echo(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    Ok(Response::new(request.into_message()))
}

/// A gRPC-Web call of `path` through an HTTP API event, with `headers` added.
fn event(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut body = BytesMut::new();
    FrameEncoder::new()
        .encode_prost(&Echo::default(), &mut body)
        .unwrap();
    let mut header_map = json!({"content-type": "application/grpc-web+proto"});
    for (name, value) in headers {
        header_map[*name] = json!(value);
    }
    serde_json::to_vec(&json!({
        "version": "2.0",
        "rawPath": path,
        "headers": header_map,
        "requestContext": {"http": {"method": "POST", "path": path}},
        "body": String::from_utf8(base64::encode(&body).to_vec()).unwrap(),
        "isBase64Encoded": true,
    }))
    .unwrap()
}

/// Log lines, as the subscriber writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panic_is_a_warning_and_a_bad_request_is_only_debug() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let shim = Shim::new(
        Router::new()
            .unary("/test.Echo/Panic", panics)
            .unary("/test.Echo/Echo", echo),
    );
    let context = Context::default();
    for event in [
        event("/test.Echo/Panic", &[]),
        event("/test.Echo/Echo", &[("grpc-timeout", "soon")]),
        event("/test.Echo/Echo", &[]),
    ] {
        let answer: Value =
            serde_json::from_slice(&shim.invoke(event, &context).await.unwrap()).unwrap();
        assert_eq!(answer["statusCode"], 200, "{answer}");
    }
    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let logged: Vec<&str> = logged.lines().collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains(" WARN "), "{logged:?}");
    assert!(
        logged[0]
            .ends_with("call failed code=Internal error=the handler panicked: the handler gave up"),
        "{logged:?}"
    );
}
