//! Connect unary against gRPC-Web, both ours: the same `Alive` call of 1 KiB, the same service
//! and the same HTTP API event but for its body and content type, one whole invocation each
//! (event JSON in → response JSON out).
//!
//! - `Connect proto`: `application/proto`, the bare message (base64 in the event, as API Gateway
//!   sends a binary body) ÷ the gRPC-Web call.
//! - `Connect JSON`: `application/json`, the message as JSON text, transcoded to protobuf and the
//!   answer back to JSON with the service's descriptors ÷ the gRPC-Web call.

use bytes::Bytes;
use grpc_lambda::json::Descriptors;
use grpc_lambda::Shim;
use grpc_lambda_core::base64;
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::{ProdService, FILE_DESCRIPTOR_SET};
use prost::Message;

use crate::lambda::{event, expected_reply, message, Invoker};
use crate::{compare, consume, Line, Op, Settings};

/// The message size of the Connect lines.
const LEN: usize = 1024;

/// The gRPC-Web event of [`event`] as a Connect unary call: `content-type` and body replaced,
/// the gRPC-Web headers (`x-grpc-web`, `x-user-agent`, `accept`) gone.
fn connect_event(content_type: &str, body: &str, is_base64_encoded: bool) -> Bytes {
    let mut event: serde_json::Value = serde_json::from_slice(&event(LEN)).expect("an event");
    let headers = event["headers"].as_object_mut().expect("headers");
    for name in ["x-grpc-web", "x-user-agent", "accept"] {
        headers.remove(name);
    }
    headers.insert("content-type".into(), content_type.into());
    headers.insert("content-length".into(), body.len().to_string().into());
    headers.insert("connect-protocol-version".into(), "1".into());
    event["body"] = body.into();
    event["isBase64Encoded"] = is_base64_encoded.into();
    serde_json::to_vec(&event).expect("JSON").into()
}

/// The Connect unary proto event: the bare `AliveRequest`, base64.
pub fn proto_event() -> Bytes {
    let request = grpc_lambda_example_prod::api::AliveRequest {
        message: message(LEN),
    };
    let body = base64::encode(&request.encode_to_vec()).to_vec();
    connect_event(
        "application/proto",
        std::str::from_utf8(&body).expect("base64 is ASCII"),
        true,
    )
}

/// The Connect unary JSON event: `{"message":"…"}` as text.
pub fn json_event() -> Bytes {
    let body = serde_json::json!({ "message": message(LEN) }).to_string();
    connect_event("application/json", &body, false)
}

/// The example function as its `main` serves it: tonic's server, with the descriptors.
fn ours() -> Invoker<ProdServer<ProdService>> {
    let descriptors = Descriptors::decode(FILE_DESCRIPTOR_SET).expect("the example's descriptors");
    Invoker::with_shim(Shim::new(ProdServer::new(ProdService)).json(descriptors))
}

/// The response body of a response JSON, decoded from base64 when it is.
fn body(response: &[u8]) -> Vec<u8> {
    let json: serde_json::Value = serde_json::from_slice(response).expect("response JSON");
    assert_eq!(json["statusCode"], 200, "{json}");
    let text = json["body"].as_str().expect("a body");
    if json["isBase64Encoded"] == true {
        base64::decode(text.as_bytes()).expect("base64").to_vec()
    } else {
        text.as_bytes().to_vec()
    }
}

/// Both Connect calls answer what the service answers, before anything is timed.
fn check(ours: &Invoker<ProdServer<ProdService>>, proto: &Bytes, json: &Bytes) {
    let expected = expected_reply(LEN);
    assert_eq!(body(&ours.invoke(proto)), expected.encode_to_vec());
    let answer: serde_json::Value =
        serde_json::from_slice(&body(&ours.invoke(json))).expect("a JSON answer");
    assert_eq!(answer["message"], expected.message.as_str());
}

/// The two Connect lines.
pub fn report(settings: &Settings) -> Vec<Line> {
    let ours = ours();
    let (proto, json, web) = (proto_event(), json_event(), event(LEN));
    check(&ours, &proto, &json);
    [("proto", &proto, 1.2), ("JSON", &json, 3.0)]
        .into_iter()
        .map(|(codec, connect, goal)| {
            let comparison = compare(
                settings,
                Op::new("ours, Connect", || consume(ours.invoke(connect))),
                vec![Op::new("ours, gRPC-Web", || consume(ours.invoke(&web)))],
            );
            Line::from_comparison(
                "Connect",
                format!(
                    "unary {codec}, 1 KiB, shim invocation time ÷ the same call in gRPC-Web, ours"
                ),
                goal,
                connect.len(),
                &comparison,
            )
            .missed_because(
                "the bare message is framed for the service and its answer unframed, with the \
                 headers rewritten for Connect, in a boxed future of its own: about 0.8 µs above \
                 the gRPC-Web call's 4.4 µs (benches/README.md, the Connect row)",
            )
        })
        .collect()
}
