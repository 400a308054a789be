//! Every sample event shape × every protocol × every method of the example, in process: the
//! exact response frames, trailers and headers, in the shape the event came in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use grpc_lambda::{lambda_runtime::Context, Handler, Shim};
use grpc_lambda_example_prod::api::AliveRequest;
use grpc_lambda_example_prod::{
    api::{prod_lambda, prod_server::ProdServer},
    ProdService,
};
use serde_json::Value;
use support::{
    assert_answer, call_headers, event_body, frame, grpc_event, matrix, read_answer, Protocol,
    Shape, FIXTURES,
};

async fn invoke_raw<H: Handler>(shim: &Shim<H>, event: &Value) -> Vec<u8> {
    let json = serde_json::to_vec(event).unwrap();
    shim.invoke(json, &Context::default()).await.unwrap()
}

async fn invoke<H: Handler>(shim: &Shim<H>, event: &Value) -> Value {
    serde_json::from_slice(&invoke_raw(shim, event).await).unwrap()
}

#[tokio::test]
async fn every_fixture_every_protocol_every_method() {
    let shim = Shim::new(ProdServer::new(ProdService));
    for call in matrix() {
        let response = invoke(&shim, &call.event).await;
        let answer = read_answer(&response, call.shape);
        assert_answer(&answer, &call.case, call.protocol, &call.context);
    }
}

/// The generated routes call the same service without tonic's HTTP server: every answer, JSON
/// and all, is the tonic server's byte for byte, and the one case that no route names
/// (`UNIMPLEMENTED`) is answered by the fallback, tonic's server itself (given here, as a
/// function would give a configured one).
#[tokio::test]
async fn the_generated_routes_answer_as_the_tonic_server_does_byte_for_byte() {
    let server = Shim::new(ProdServer::new(ProdService));
    let service = std::sync::Arc::new(ProdService);
    let fallback = ProdServer::from_arc(std::sync::Arc::clone(&service));
    let routes = Shim::new(prod_lambda::router_with_fallback(service, fallback));
    for call in matrix() {
        let expected = invoke_raw(&server, &call.event).await;
        let answered = invoke_raw(&routes, &call.event).await;
        assert_eq!(
            String::from_utf8_lossy(&answered),
            String::from_utf8_lossy(&expected),
            "{}",
            call.context
        );
        let response: Value = serde_json::from_slice(&answered).unwrap();
        let answer = read_answer(&response, call.shape);
        assert_answer(&answer, &call.case, call.protocol, &call.context);
    }
}

/// The status of a gRPC-Web answer: its trailer frame's `grpc-status` and `grpc-message`.
fn web_status(response: &Value) -> (String, String) {
    let answer = read_answer(response, Shape::HttpApi);
    let frames = grpc_lambda_core::decode::decode_all(answer.body.into(), 1 << 20).unwrap();
    let trailers = frames.last().unwrap().trailers().unwrap();
    let get = |name| trailers.get_str(name).unwrap_or_default().to_owned();
    (get("grpc-status"), get("grpc-message"))
}

/// Requests refused before the service runs: a route gives the code tonic's server gives, in
/// the shim's words. A unary call with two messages is the exception: tonic's server reads the
/// first and drops the rest, a route refuses the call as gRPC's other servers do.
#[tokio::test]
async fn requests_the_service_never_sees_get_the_code_tonic_gives() {
    let server = Shim::new(ProdServer::new(ProdService));
    let routes = Shim::new(prod_lambda::router(ProdService));
    let alive = frame(&AliveRequest {
        message: "x".into(),
    });
    let undecodable = vec![0, 0, 0, 0, 2, 0xff, 0xff];
    let cases: [(&str, Vec<u8>); 3] = [
        ("no message", Vec::new()),
        ("a message that does not decode", undecodable),
        ("two messages", [alive.clone(), alive].concat()),
    ];
    let http_api = FIXTURES
        .iter()
        .find(|(_, _, shape)| *shape == Shape::HttpApi)
        .unwrap()
        .1;
    for (name, body) in cases {
        let event = grpc_event(
            http_api,
            "/api.Prod/Alive",
            &call_headers(Protocol::GrpcWeb),
            &event_body(Protocol::GrpcWeb, &body),
        );
        let tonic = web_status(&invoke(&server, &event).await);
        let routed = web_status(&invoke(&routes, &event).await);
        if name == "two messages" {
            assert_eq!(tonic.0, "0", "tonic's server answers the first");
            assert_eq!(
                routed,
                (
                    "13".to_owned(),
                    "/api.Prod/Alive expects exactly one request message, the request has 2"
                        .to_owned()
                )
            );
        } else {
            assert_eq!(routed.0, tonic.0, "{name}: {routed:?} against {tonic:?}");
            assert_eq!(routed.0, "13", "{name}");
        }
    }
}
