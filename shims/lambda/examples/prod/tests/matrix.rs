//! Every sample event shape × every protocol × every method of the example, in process: the
//! exact response frames, trailers and headers, in the shape the event came in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use grpc_lambda::{lambda_runtime::Context, Shim};
use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};
use serde_json::Value;
use support::{
    assert_answer, call_headers, cases, event_body, grpc_event, read_answer, FIXTURES, PROTOCOLS,
};

async fn invoke(shim: &Shim<ProdServer<ProdService>>, event: &Value) -> Value {
    let json = serde_json::to_vec(event).unwrap();
    let response = shim
        .invoke(json.clone(), &Context::default())
        .await
        .unwrap();
    serde_json::from_slice(&response).unwrap()
}

#[tokio::test]
async fn every_fixture_every_protocol_every_method() {
    let shim = Shim::new(ProdServer::new(ProdService));
    let mut checked = 0;
    for (fixture, text, shape) in FIXTURES {
        for protocol in PROTOCOLS {
            for case in cases() {
                let event = grpc_event(
                    text,
                    case.path,
                    &call_headers(protocol),
                    &event_body(protocol, &case.request),
                );
                let response = invoke(&shim, &event).await;
                let answer = read_answer(&response, *shape);
                let context = format!("{fixture} × {protocol:?} × {}", case.name);
                assert_answer(&answer, &case, protocol, &context);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, FIXTURES.len() * 3 * 4);
}
