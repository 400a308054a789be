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
use grpc_lambda_example_prod::{
    api::{prod_lambda, prod_server::ProdServer},
    ProdService,
};
use serde_json::Value;
use support::{assert_answer, matrix, read_answer};

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

/// The generated routes (`api::prod_lambda::router`) call the same service without tonic's HTTP
/// server: every answer, JSON and all, is the tonic server's byte for byte, and the one case
/// that no route names (`UNIMPLEMENTED`) is answered by the fallback, tonic's server itself.
#[tokio::test]
async fn the_generated_routes_answer_as_the_tonic_server_does_byte_for_byte() {
    let server = Shim::new(ProdServer::new(ProdService));
    let routes = Shim::new(prod_lambda::router(ProdService));
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
