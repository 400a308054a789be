//! The method that runs is the method the front door routed: for each front door, a call
//! reaches its method through the field that door defines (a REST API's resource and path
//! parameters, an HTTP API's path without its stage, the path elsewhere), and a path with
//! more, empty, dot or escaped segments is refused with `UNIMPLEMENTED` naming it, in the
//! caller's protocol, without the method at its end ever running.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use grpc_lambda::lambda_runtime::Context;
use grpc_lambda::{Code, Request, Response, Router, Shim, Status};
use grpc_lambda_core::{base64, Metadata};
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct Message {
    #[prost(string, tag = "1")]
    message: String,
}

/// `AliveRequest { message: "test" }` as one frame, base64: the body of the gRPC fixtures.
const ALIVE_BODY: &str = "AAAAAAYKBHRlc3Q=";

/// `Alive` answers its own name; `Fail` counts its runs, which must stay at none.
fn shim(fail_runs: &Arc<AtomicUsize>) -> Shim<Router> {
    let fail_runs = Arc::clone(fail_runs);
    Shim::new(
        Router::new()
            .unary("/api.Prod/Alive", |request: Request<Message>| async move {
                let message = format!("Alive: {}", request.message().message);
                Ok::<_, Status>(Response::new(Message { message }))
            })
            .unary("/api.Prod/Fail", move |_: Request<Message>| {
                fail_runs.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Status>(Response::new(Message::default())) }
            }),
    )
}

/// A front door, and the sample event it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    /// REST API on its execute-api host, stage `prod`, resource `/{proxy+}`.
    RestApiStage,
    /// REST API behind a custom domain with base path `v1`, resource `/{proxy+}`.
    RestApiCustomDomain,
    /// HTTP API, stage `prod`.
    HttpApiNamedStage,
    /// HTTP API, stage `$default`, route `ANY /{proxy+}`.
    HttpApiDefaultStage,
    FunctionUrl,
    Alb,
    VpcLattice,
    Proxy,
}

const DOORS: [Door; 8] = [
    Door::RestApiStage,
    Door::RestApiCustomDomain,
    Door::HttpApiNamedStage,
    Door::HttpApiDefaultStage,
    Door::FunctionUrl,
    Door::Alb,
    Door::VpcLattice,
    Door::Proxy,
];

impl Door {
    fn sample(self) -> &'static str {
        match self {
            Door::RestApiStage => include_str!("data/aws-events/apigw_rest_stage_request.json"),
            Door::RestApiCustomDomain => {
                include_str!("data/aws-events/apigw_rest_custom_domain_request.json")
            }
            Door::HttpApiNamedStage => {
                include_str!("data/aws-events/apigw_v2_named_stage_request.json")
            }
            Door::HttpApiDefaultStage => {
                include_str!("data/aws-events/apigw_v2_default_stage_request.json")
            }
            Door::FunctionUrl => include_str!("data/aws-events/lambda_function_url_request.json"),
            Door::Alb => include_str!("data/aws-events/alb_request.json"),
            Door::VpcLattice => include_str!("data/aws-events/vpc_lattice_v2_request_base64.json"),
            Door::Proxy => r#"{"grpcLambda": 1, "path": "/", "headers": []}"#,
        }
    }

    /// The event this door sends for a gRPC-Web call of `url_path`, the path the client asked
    /// for after the stage or base path: every field that carries it set as the door sets it.
    fn event(self, url_path: &str) -> Value {
        let mut event: Value = serde_json::from_str(self.sample()).unwrap();
        let proxy = url_path.strip_prefix('/').unwrap_or(url_path);
        match self {
            Door::RestApiStage => {
                event["path"] = json!(url_path);
                event["pathParameters"] = json!({"proxy": proxy});
                event["requestContext"]["path"] = json!(format!("/prod{url_path}"));
            }
            Door::RestApiCustomDomain => {
                event["path"] = json!(format!("/v1{url_path}"));
                event["pathParameters"] = json!({"proxy": proxy});
                event["requestContext"]["path"] = json!(format!("/v1{url_path}"));
            }
            Door::HttpApiNamedStage => {
                event["rawPath"] = json!(format!("/prod{url_path}"));
                event["requestContext"]["http"]["path"] = json!(format!("/prod{url_path}"));
            }
            Door::HttpApiDefaultStage => {
                event["rawPath"] = json!(url_path);
                event["pathParameters"] = json!({"proxy": proxy});
                event["requestContext"]["http"]["path"] = json!(url_path);
            }
            Door::FunctionUrl => {
                event["rawPath"] = json!(url_path);
                event["requestContext"]["http"]["path"] = json!(url_path);
                event["requestContext"]["http"]["method"] = json!("POST");
                event["headers"]["content-type"] = json!("application/grpc-web+proto");
            }
            Door::Alb => {
                event["path"] = json!(url_path);
                event["httpMethod"] = json!("POST");
                event["headers"]["content-type"] = json!("application/grpc-web+proto");
            }
            Door::VpcLattice => {
                event["path"] = json!(url_path);
                event["method"] = json!("POST");
                event["headers"]["content-type"] = json!(["application/grpc-web+proto"]);
            }
            Door::Proxy => {
                event["path"] = json!(url_path);
                event["headers"] = json!([["content-type", "application/grpc-web+proto"]]);
            }
        }
        event["body"] = json!(ALIVE_BODY);
        event["isBase64Encoded"] = json!(true);
        event
    }
}

async fn invoke(shim: &Shim<Router>, event: &Value) -> Value {
    let json = serde_json::to_vec(event).unwrap();
    serde_json::from_slice(&shim.invoke(json, &Context::default()).await.unwrap()).unwrap()
}

/// The message payloads and the trailers of a gRPC-Web answer.
fn read_web(response: &Value) -> (Vec<Vec<u8>>, Metadata) {
    assert_eq!(response["statusCode"], 200, "{response}");
    let body = base64::decode(response["body"].as_str().unwrap().as_bytes()).unwrap();
    let frames = grpc_lambda_core::decode::decode_all(body, 1 << 20).unwrap();
    let (trailers, messages): (Vec<_>, Vec<_>) = frames.into_iter().partition(|f| f.is_trailers());
    assert_eq!(trailers.len(), 1, "{response}");
    (
        messages.iter().map(|f| f.payload().to_vec()).collect(),
        trailers[0].trailers().unwrap(),
    )
}

fn status(trailers: &Metadata) -> Status {
    Status::from_metadata(trailers)
        .unwrap()
        .expect("grpc-status")
}

#[tokio::test]
async fn each_front_door_reaches_the_method_through_its_own_field() {
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let shim = shim(&fail_runs);
    for door in DOORS {
        let event = door.event("/api.Prod/Alive");
        let (messages, trailers) = read_web(&invoke(&shim, &event).await);
        assert_eq!(status(&trailers).code(), Code::Ok, "{door:?}");
        let answer: Message = prost::Message::decode(&messages[0][..]).unwrap();
        assert_eq!(answer.message, "Alive: test", "{door:?}");
    }
    // The four samples with a stage or base path answer as they are.
    for door in DOORS.into_iter().take(4) {
        let event: Value = serde_json::from_str(door.sample()).unwrap();
        let (_, trailers) = read_web(&invoke(&shim, &event).await);
        assert_eq!(status(&trailers).code(), Code::Ok, "{door:?} sample");
    }
}

#[tokio::test]
async fn a_path_the_door_did_not_route_as_a_method_is_unimplemented_naming_it() {
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let shim = shim(&fail_runs);
    let bypasses = [
        "/api.Prod/x/api.Prod/Fail",
        "/api.Prod//api.Prod/Fail",
        "/api.Prod/../api.Prod/Fail",
        "/api.Prod/./Fail",
        "/x/api.Prod/Fail",
        "/api.Prod/%46ail",
        "/api.Prod/Fail/",
        "/api.Prod",
    ];
    for door in DOORS {
        for url_path in bypasses {
            let event = door.event(url_path);
            let (messages, trailers) = read_web(&invoke(&shim, &event).await);
            assert!(messages.is_empty(), "{door:?} {url_path}");
            let status = status(&trailers);
            assert_eq!(status.code(), Code::Unimplemented, "{door:?} {url_path}");
            // The path the event carried, stage or base path included.
            let carried = match door {
                Door::RestApiCustomDomain => format!("/v1{url_path}"),
                Door::HttpApiNamedStage => format!("/prod{url_path}"),
                _ => url_path.to_owned(),
            };
            assert!(
                status
                    .message()
                    .starts_with(&format!("path {carried:?} does not name a gRPC method: ")),
                "{door:?}: {}",
                status.message()
            );
        }
    }
    assert_eq!(fail_runs.load(Ordering::SeqCst), 0, "Fail ran");
}

#[tokio::test]
async fn the_refusal_names_how_the_path_was_read() {
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let shim = shim(&fail_runs);
    let message = |event: Value| {
        let shim = &shim;
        async move {
            let (_, trailers) = read_web(&invoke(shim, &event).await);
            status(&trailers).message().to_owned()
        }
    };
    let canonical = "a method path is /<package.Service>/<Method> (under /twirp/ for Twirp): \
                     two segments, none empty, \".\" or \"..\", of URI path characters with no \
                     percent-escape";
    assert_eq!(
        message(Door::RestApiCustomDomain.event("/x/api.Prod/Fail")).await,
        format!(
            "path \"/v1/x/api.Prod/Fail\" does not name a gRPC method: the REST API resource \
             \"/{{proxy+}}\" routes \"/x/api.Prod/Fail\", and {canonical}"
        )
    );
    assert_eq!(
        message(Door::HttpApiNamedStage.event("/x/api.Prod/Fail")).await,
        format!(
            "path \"/prod/x/api.Prod/Fail\" does not name a gRPC method: without its stage \
             \"prod\" it is \"/x/api.Prod/Fail\", and {canonical}"
        )
    );
    assert_eq!(
        message(Door::Alb.event("/x/api.Prod/Fail")).await,
        format!("path \"/x/api.Prod/Fail\" does not name a gRPC method: {canonical}")
    );
    // A greedy resource with no parameter to fill it: nothing accounts for the path.
    let mut event = Door::RestApiStage.event("/api.Prod/Fail");
    event["pathParameters"] = Value::Null;
    assert_eq!(
        message(event).await,
        "path \"/api.Prod/Fail\" does not name a gRPC method: the REST API resource \
         \"/{proxy+}\" has {proxy+}, and the event's pathParameters has no value for it"
    );
    assert_eq!(fail_runs.load(Ordering::SeqCst), 0, "Fail ran");
}

#[tokio::test]
async fn a_rest_api_runs_the_resource_it_routed_whatever_path_says() {
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let shim = shim(&fail_runs);
    // An exact resource: the method is the resource, whatever base path `path` carries.
    let mut event = Door::RestApiCustomDomain.event("/api.Prod/Alive");
    event["resource"] = json!("/api.Prod/Alive");
    event["pathParameters"] = Value::Null;
    let (_, trailers) = read_web(&invoke(&shim, &event).await);
    assert_eq!(status(&trailers).code(), Code::Ok);
    // `path` naming another method changes nothing: the resource was routed.
    event["path"] = json!("/api.Prod/Fail");
    let (messages, trailers) = read_web(&invoke(&shim, &event).await);
    assert_eq!(status(&trailers).code(), Code::Ok);
    let answer: Message = prost::Message::decode(&messages[0][..]).unwrap();
    assert_eq!(answer.message, "Alive: test");
    // A stage written into `path` is not how the execute-api host sends it: refused.
    let mut event = Door::RestApiStage.event("/api.Prod/Alive");
    event["path"] = json!("/prod/api.Prod/Fail");
    event["resource"] = Value::Null;
    let (_, trailers) = read_web(&invoke(&shim, &event).await);
    assert_eq!(status(&trailers).code(), Code::Unimplemented);
    assert_eq!(fail_runs.load(Ordering::SeqCst), 0, "Fail ran");
}

#[tokio::test]
async fn native_grpc_gets_the_refusal_in_its_headers() {
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let shim = shim(&fail_runs);
    let mut event = Door::HttpApiDefaultStage.event("/api.Prod/x/api.Prod/Fail");
    event["headers"]["content-type"] = json!("application/grpc");
    let response = invoke(&shim, &event).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"], "");
    assert_eq!(response["headers"]["grpc-status"], "12");
    assert!(
        response["headers"]["grpc-message"]
            .as_str()
            .unwrap()
            .starts_with("path \"/api.Prod/x/api.Prod/Fail\" does not name a gRPC method: "),
        "{response}"
    );
    assert_eq!(fail_runs.load(Ordering::SeqCst), 0, "Fail ran");
}

#[tokio::test]
async fn a_streamed_answer_refuses_the_same_paths() {
    use grpc_lambda::lambda_runtime::FunctionResponse;
    let fail_runs = Arc::new(AtomicUsize::new(0));
    let streaming = Arc::new(shim(&fail_runs).response_streaming(true));
    for door in [Door::FunctionUrl, Door::Proxy] {
        for url_path in ["/api.Prod/Alive", "/api.Prod/x/api.Prod/Fail"] {
            let event = serde_json::from_value(door.event(url_path)).unwrap();
            let answer = Arc::clone(&streaming)
                .handle_streaming(event, Context::default())
                .await
                .unwrap();
            let FunctionResponse::StreamingResponse(response) = answer else {
                panic!("{door:?} reads a stream");
            };
            let mut stream = response.stream;
            let mut body = Vec::new();
            while let Some(chunk) = std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
            })
            .await
            {
                body.extend_from_slice(&chunk.unwrap());
            }
            let frames = grpc_lambda_core::decode::decode_all(body.into(), 1 << 20).unwrap();
            let code = status(&frames.last().unwrap().trailers().unwrap()).code();
            if url_path == "/api.Prod/Alive" {
                assert_eq!((code, frames.len()), (Code::Ok, 2), "{door:?}");
            } else {
                assert_eq!((code, frames.len()), (Code::Unimplemented, 1), "{door:?}");
            }
        }
    }
    assert_eq!(fail_runs.load(Ordering::SeqCst), 0, "Fail ran");
}
