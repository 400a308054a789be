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
