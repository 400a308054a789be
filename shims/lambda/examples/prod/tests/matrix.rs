//! Every sample event shape × every protocol × every method of the example, in process: the
//! exact response frames, trailers and headers, in the shape the event came in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use grpc_lambda::{lambda_runtime::Context, Handler, Shim};
use grpc_lambda_example_prod::api::{AliveRequest, AliveResponse};
use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};
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

/// The example as `main` serves it: with the descriptors, so JSON clients and Connect GET work.
#[cfg(feature = "json")]
fn json_shim() -> Shim<ProdServer<ProdService>> {
    let descriptors =
        grpc_lambda::json::Descriptors::decode(grpc_lambda_example_prod::FILE_DESCRIPTOR_SET)
            .unwrap();
    Shim::new(ProdServer::new(ProdService)).json(descriptors)
}

/// Every sample event × Connect (proto and JSON, POST and GET, unary and streaming), Twirp
/// (proto and JSON) and gRPC-Web with JSON × every method of the example: the exact status,
/// headers and body.
#[cfg(feature = "json")]
#[tokio::test]
async fn every_fixture_every_connect_twirp_and_json_protocol() {
    use grpc_lambda_core::status::percent_encode_message;
    use support::connect::{
        alive, alive_request, assert_expected, count, count_request, event, failure, Failure, Wire,
        ECHO_HEADERS, WIRES,
    };
    use support::{fail_details, ECHO, ECHO_BIN};

    let shim = json_shim();
    let details = fail_details();
    let not_in_descriptors = "method /api.Prod/Nope is not in the service's descriptors";
    let not_in_descriptors_grpc = percent_encode_message(not_in_descriptors).into_owned();
    let mut calls = 0;
    for (fixture, text, shape) in FIXTURES {
        for wire in WIRES {
            let context = |method: &str| format!("{fixture} × {wire:?} × {method}");
            let (request, json) = alive_request();
            let message = wire.message(&request, &json);
            let call = |method: &str| event(text, wire, method, &ECHO_HEADERS, &message);

            let answer = read_answer(&invoke(&shim, &call("/api.Prod/Alive")).await, *shape);
            assert_expected(&answer, &alive(wire), &context("Alive"));
            calls += 1;

            if matches!(wire, Wire::ConnectGetJson | Wire::ConnectGetProto) {
                // Fail has side effects: no GET.
                let response = invoke(&shim, &call("/api.Prod/Fail")).await;
                let answer = read_answer(&response, *shape);
                assert_eq!(answer.status, 405, "{}", context("Fail"));
                assert_eq!(answer.header("allow"), Some("POST"), "{}", context("Fail"));
                let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
                assert_eq!(body["code"], "unimplemented");
                assert_eq!(
                    body["message"],
                    "/api.Prod/Fail may not be called with GET: only a method marked \
                     idempotency_level = NO_SIDE_EFFECTS may; use POST"
                );
            } else {
                let expected = failure(
                    wire,
                    &Failure {
                        code: 3,
                        connect: "invalid_argument",
                        twirp: "invalid_argument",
                        connect_http: 400,
                        twirp_http: 400,
                        message: "bad: matrix",
                        grpc_message: "bad:%20matrix",
                        trailers: vec![
                            ("x-echo", ECHO),
                            ("x-echo-bin", ECHO_BIN),
                            ("x-echo-trailer", ECHO),
                            ("x-echo-trailer-bin", ECHO_BIN),
                        ],
                        details_bin: Some(&details),
                        details_json: None,
                    },
                );
                let answer = read_answer(&invoke(&shim, &call("/api.Prod/Fail")).await, *shape);
                assert_expected(&answer, &expected, &context("Fail"));
            }

            if matches!(
                wire,
                Wire::ConnectStreamProto | Wire::ConnectStreamJson | Wire::GrpcWebJson
            ) {
                let (request, json) = count_request();
                let message = wire.message(&request, &json);
                let event = event(text, wire, "/api.Prod/Count", &ECHO_HEADERS, &message);
                let answer = read_answer(&invoke(&shim, &event).await, *shape);
                assert_expected(&answer, &count(wire), &context("Count"));
            }

            // A method the service does not have: tonic's UNIMPLEMENTED, or, where the
            // descriptors are needed, the shim's.
            let from_descriptors =
                wire.is_json() || matches!(wire, Wire::ConnectGetJson | Wire::ConnectGetProto);
            let (message, grpc_message) = if from_descriptors {
                (not_in_descriptors, not_in_descriptors_grpc.as_str())
            } else {
                ("", "")
            };
            let expected = failure(
                wire,
                &Failure {
                    code: 12,
                    connect: "unimplemented",
                    twirp: "bad_route",
                    connect_http: 501,
                    twirp_http: 404,
                    message,
                    grpc_message,
                    trailers: Vec::new(),
                    details_bin: None,
                    details_json: None,
                },
            );
            let answer = read_answer(&invoke(&shim, &call("/api.Prod/Nope")).await, *shape);
            assert_expected(&answer, &expected, &context("Nope"));
        }
    }
    assert_eq!(calls, FIXTURES.len() * WIRES.len());
}

/// The status of a gRPC-Web answer: its trailer frame's `grpc-status` and `grpc-message`.
fn web_status(response: &Value) -> (String, String) {
    let answer = read_answer(response, Shape::HttpApi);
    let frames = grpc_lambda_core::decode::decode_all(answer.body.into(), 1 << 20).unwrap();
    let trailers = frames.last().unwrap().trailers().unwrap();
    let get = |name| trailers.get_str(name).unwrap_or_default().to_owned();
    (get("grpc-status"), get("grpc-message"))
}

/// A tonic interceptor and a `tower` layer around tonic's server run on a Lambda call, as they
/// would around a tonic server of its own: the interceptor refuses a call without a token
/// before the service sees it, and the layer sees every call and marks every answer.
#[tokio::test]
async fn a_tonic_interceptor_and_a_tower_layer_run_on_every_call() {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = ProdServer::with_interceptor(ProdService, require_token);
    let layered = tower::ServiceBuilder::new()
        .layer(Stamp {
            seen: Arc::clone(&seen),
        })
        .service(server);
    let shim = Shim::new(layered);
    let http_api = FIXTURES
        .iter()
        .find(|(_, _, shape)| *shape == Shape::HttpApi)
        .unwrap()
        .1;
    let body = event_body(
        Protocol::GrpcWeb,
        &frame(&AliveRequest {
            message: " layered".into(),
        }),
    );
    let mut headers = call_headers(Protocol::GrpcWeb);
    let refused = grpc_event(http_api, "/api.Prod/Alive", &headers, &body);
    headers.push(("authorization", "Bearer letmein"));
    let allowed = grpc_event(http_api, "/api.Prod/Alive", &headers, &body);

    let response = invoke(&shim, &refused).await;
    // `grpc-message` as on the wire: percent-encoded.
    assert_eq!(
        web_status(&response),
        ("16".to_owned(), "no%20token".to_owned()),
        "the interceptor refused the call"
    );
    // A call that fails before any message is Trailers-Only: the layer's header travels with
    // the status, in the trailer frame.
    let answer = read_answer(&response, Shape::HttpApi);
    let frames = grpc_lambda_core::decode::decode_all(answer.body.into(), 1 << 20).unwrap();
    let trailers = frames.last().unwrap().trailers().unwrap();
    assert_eq!(trailers.get_str("x-layer"), Some("stamped"));

    let response = invoke(&shim, &allowed).await;
    assert_eq!(web_status(&response).0, "0");
    let answer = read_answer(&response, Shape::HttpApi);
    assert_eq!(answer.header("x-layer"), Some("stamped"));
    let frames = grpc_lambda_core::decode::decode_all(answer.body.clone().into(), 1 << 20).unwrap();
    let message: AliveResponse = prost::Message::decode(frames[0].payload().clone()).unwrap();
    assert_eq!(message.message, "Hello, world. layered");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "the layer saw both calls");
}

/// The interceptor: a call without `authorization: Bearer letmein` is `UNAUTHENTICATED`.
fn require_token(request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    match request.metadata().get("authorization") {
        Some(token) if token == "Bearer letmein" => Ok(request),
        _ => Err(tonic::Status::unauthenticated("no token")),
    }
}

/// A `tower` layer that counts the calls it sees and marks each answer with `x-layer: stamped`.
#[derive(Clone)]
struct Stamp {
    seen: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for Stamp {
    type Service = Stamped<S>;

    fn layer(&self, inner: S) -> Stamped<S> {
        Stamped {
            inner,
            seen: Arc::clone(&self.seen),
        }
    }
}

#[derive(Clone)]
struct Stamped<S> {
    inner: S,
    seen: Arc<AtomicUsize>,
}

impl<S, B, R> tower::Service<http::Request<B>> for Stamped<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.seen.fetch_add(1, Ordering::SeqCst);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            response
                .headers_mut()
                .insert("x-layer", http::HeaderValue::from_static("stamped"));
            Ok(response)
        })
    }
}
