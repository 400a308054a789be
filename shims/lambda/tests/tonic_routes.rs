//! Routes over tonic's types (`Router::tonic_unary`, `Router::tonic_server_streaming`): what the
//! handler is given, and how its response, metadata and statuses come out on the wire.
#![cfg(feature = "tonic")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use grpc_lambda::lambda_runtime::Context;
use grpc_lambda::{Router, Shim, Source, Trailers};
use grpc_lambda_core::{base64, FrameEncoder, Metadata};
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct Note {
    #[prost(string, tag = "1")]
    text: String,
}

fn frame(message: &Note) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_prost(message, &mut out).unwrap();
    out.to_vec()
}

fn note(text: &str) -> Note {
    Note { text: text.into() }
}

/// A gRPC-Web call through an HTTP API, with `x-caller: ada`.
async fn call(shim: &Shim<Router>, path: &str, request: &Note) -> (Value, Vec<Bytes>, Metadata) {
    let event = json!({
        "version": "2.0",
        "rawPath": path,
        "headers": {"content-type": "application/grpc-web+proto", "x-caller": "ada"},
        "requestContext": {"http": {"method": "POST", "path": path}},
        "body": String::from_utf8(base64::encode(&frame(request)).to_vec()).unwrap(),
        "isBase64Encoded": true,
    });
    let mut context = Context::default();
    context.request_id = "req-7".to_owned();
    let json = serde_json::to_vec(&event).unwrap();
    let response: Value =
        serde_json::from_slice(&shim.invoke(json, &context).await.unwrap()).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body = base64::decode(response["body"].as_str().unwrap().as_bytes()).unwrap();
    let frames = grpc_lambda_core::decode::decode_all(body, 1 << 20).unwrap();
    let (trailers, messages): (Vec<_>, Vec<_>) = frames.into_iter().partition(|f| f.is_trailers());
    assert_eq!(trailers.len(), 1, "one trailer frame: {response}");
    let trailers = trailers[0].trailers().unwrap();
    let messages = messages.into_iter().map(|f| f.into_payload()).collect();
    (response, messages, trailers)
}

fn payload(message: &Note) -> Bytes {
    Bytes::from(frame(message)[5..].to_vec())
}

/// Reports what it was given: metadata, the Lambda request id, the source, the trailers handle.
async fn report(request: tonic::Request<Note>) -> Result<tonic::Response<Note>, tonic::Status> {
    let caller = request
        .metadata()
        .get("x-caller")
        .unwrap()
        .to_str()
        .unwrap();
    let id = &request.extensions().get::<Context>().unwrap().request_id;
    let source = request.extensions().get::<Source>().unwrap().name();
    let text = format!("{caller} {id} {source} {}", request.get_ref().text);
    request
        .extensions()
        .get::<Trailers>()
        .unwrap()
        .insert("x-added".parse().unwrap(), "later".parse().unwrap());
    let mut response = tonic::Response::new(note(&text));
    let metadata = response.metadata_mut();
    metadata.insert("x-served", "yes".parse().unwrap());
    // Names tonic never sends from response metadata: not a Trailers-Only answer, not a header.
    metadata.insert("grpc-status", "5".parse().unwrap());
    metadata.insert("content-type", "text/plain".parse().unwrap());
    Ok(response)
}

async fn refuse(request: tonic::Request<Note>) -> Result<tonic::Response<Note>, tonic::Status> {
    let mut status = tonic::Status::with_details(
        tonic::Code::FailedPrecondition,
        format!("not now: {} ✗", request.get_ref().text),
        Bytes::from_static(&[8, 9]),
    );
    status
        .metadata_mut()
        .insert("x-retry", "later".parse().unwrap());
    Err(status)
}

/// `a`, `b`, then the status `ABORTED`.
struct TwoThenAbort(u8);

impl Stream for TwoThenAbort {
    type Item = Result<Note, tonic::Status>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.0 += 1;
        Poll::Ready(match self.0 {
            1 => Some(Ok(note("a"))),
            2 => Some(Ok(note("b"))),
            3 => Some(Err(tonic::Status::aborted("stream cut"))),
            _ => None,
        })
    }
}

async fn two_then_abort(
    _: tonic::Request<Note>,
) -> Result<tonic::Response<TwoThenAbort>, tonic::Status> {
    let mut response = tonic::Response::new(TwoThenAbort(0));
    response
        .metadata_mut()
        .insert("x-stream", "1".parse().unwrap());
    Ok(response)
}

fn shim() -> Shim<Router> {
    Shim::new(
        Router::new()
            .tonic_unary("/t.Notes/Report", report)
            .tonic_unary("/t.Notes/Refuse", refuse)
            .tonic_server_streaming("/t.Notes/Stream", two_then_abort),
    )
}

#[tokio::test]
async fn a_tonic_handler_gets_the_metadata_and_extensions_a_tonic_server_would() {
    let (response, messages, trailers) = call(&shim(), "/t.Notes/Report", &note("hi")).await;
    assert_eq!(
        messages,
        [payload(&note("ada req-7 API Gateway HTTP API hi"))]
    );
    let headers = &response["headers"];
    assert_eq!(headers["x-served"], "yes", "{response}");
    assert_eq!(headers["content-type"], "application/grpc-web+proto");
    assert!(headers.get("grpc-status").is_none(), "{response}");
    let trailers: Vec<_> = trailers.iter().collect();
    assert_eq!(
        trailers,
        [("grpc-status", &b"0"[..]), ("x-added", &b"later"[..])]
    );
}

/// Metadata first, then code, message and details; tonic percent-encodes spaces too (a client
/// decodes either spelling).
#[tokio::test]
async fn a_tonic_status_is_sent_as_tonic_writes_it() {
    let (_, messages, trailers) = call(&shim(), "/t.Notes/Refuse", &note("x")).await;
    assert!(messages.is_empty());
    let trailers: Vec<_> = trailers.iter().collect();
    assert_eq!(
        trailers,
        [
            ("x-retry", &b"later"[..]),
            ("grpc-status", b"9"),
            ("grpc-message", b"not%20now:%20x%20%E2%9C%97"),
            ("grpc-status-details-bin", b"CAk"),
        ]
    );
}

#[tokio::test]
async fn a_tonic_stream_ending_in_an_error_keeps_its_messages() {
    let (response, messages, trailers) = call(&shim(), "/t.Notes/Stream", &note("")).await;
    assert_eq!(messages, [payload(&note("a")), payload(&note("b"))]);
    assert_eq!(response["headers"]["x-stream"], "1", "{response}");
    let trailers: Vec<_> = trailers.iter().collect();
    assert_eq!(
        trailers,
        [
            ("grpc-status", &b"10"[..]),
            ("grpc-message", b"stream%20cut")
        ]
    );
}
