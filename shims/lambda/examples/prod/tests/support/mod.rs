//! Shared by the matrix and process tests: the sample events with gRPC put in, the exact
//! answers the example service gives, and the example under `cargo lambda watch` ([`watch`]).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod connect;
pub mod watch;

use bytes::BytesMut;
use grpc_lambda_core::{base64, FrameEncoder};
use grpc_lambda_test_support::aws_event;
use prost::Message;
use serde_json::{json, Value};

use grpc_lambda_example_prod::api::{AliveRequest, AliveResponse, CountRequest, CountResponse};

/// The shape a front door expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    RestApi,
    RestApiMultiValue,
    HttpApi,
    Alb,
    AlbMultiValue,
    VpcLattice,
    Proxy,
}

/// Every request sample in `../../tests/data/aws-events/`, with the shape it answers in.
pub const FIXTURES: &[(&str, &str, Shape)] = &[
    ("alb_multi_value_request.json", include_str!("../../../../tests/data/aws-events/alb_multi_value_request.json"), Shape::AlbMultiValue),
    ("alb_no_host.json", include_str!("../../../../tests/data/aws-events/alb_no_host.json"), Shape::Alb),
    ("alb_request.json", include_str!("../../../../tests/data/aws-events/alb_request.json"), Shape::Alb),
    (
        "example-alb-lambda-target-request-multivalue-headers.json",
        include_str!("../../../../tests/data/aws-events/example-alb-lambda-target-request-multivalue-headers.json"),
        Shape::AlbMultiValue,
    ),
    (
        "apigw_multi_value_proxy_request.json",
        include_str!("../../../../tests/data/aws-events/apigw_multi_value_proxy_request.json"),
        Shape::RestApiMultiValue,
    ),
    ("apigw_no_host.json", include_str!("../../../../tests/data/aws-events/apigw_no_host.json"), Shape::RestApi),
    ("apigw_proxy_request.json", include_str!("../../../../tests/data/aws-events/apigw_proxy_request.json"), Shape::RestApi),
    ("example-apigw-request.json", include_str!("../../../../tests/data/aws-events/example-apigw-request.json"), Shape::RestApiMultiValue),
    (
        "example-apigw-sam-rest-request.json",
        include_str!("../../../../tests/data/aws-events/example-apigw-sam-rest-request.json"),
        Shape::RestApiMultiValue,
    ),
    ("apigw_v2_proxy_request.json", include_str!("../../../../tests/data/aws-events/apigw_v2_proxy_request.json"), Shape::HttpApi),
    (
        "apigw_v2_proxy_request_minimal.json",
        include_str!("../../../../tests/data/aws-events/apigw_v2_proxy_request_minimal.json"),
        Shape::HttpApi,
    ),
    ("apigw_v2_sam_local.json", include_str!("../../../../tests/data/aws-events/apigw_v2_sam_local.json"), Shape::HttpApi),
    (
        "example-apigw-sam-http-request.json",
        include_str!("../../../../tests/data/aws-events/example-apigw-sam-http-request.json"),
        Shape::HttpApi,
    ),
    (
        "example-apigw-v2-request-iam.json",
        include_str!("../../../../tests/data/aws-events/example-apigw-v2-request-iam.json"),
        Shape::HttpApi,
    ),
    (
        "example-apigw-v2-request-no-authorizer.json",
        include_str!("../../../../tests/data/aws-events/example-apigw-v2-request-no-authorizer.json"),
        Shape::HttpApi,
    ),
    (
        "lambda_function_url_request.json",
        include_str!("../../../../tests/data/aws-events/lambda_function_url_request.json"),
        Shape::HttpApi,
    ),
    (
        "vpc_lattice_v2_request_base64.json",
        include_str!("../../../../tests/data/aws-events/vpc_lattice_v2_request_base64.json"),
        Shape::VpcLattice,
    ),
    (
        "apigw_rest_stage_request.json",
        include_str!("../../../../tests/data/aws-events/apigw_rest_stage_request.json"),
        Shape::RestApiMultiValue,
    ),
    (
        "apigw_rest_custom_domain_request.json",
        include_str!("../../../../tests/data/aws-events/apigw_rest_custom_domain_request.json"),
        Shape::RestApiMultiValue,
    ),
    (
        "apigw_v2_named_stage_request.json",
        include_str!("../../../../tests/data/aws-events/apigw_v2_named_stage_request.json"),
        Shape::HttpApi,
    ),
    (
        "apigw_v2_default_stage_request.json",
        include_str!("../../../../tests/data/aws-events/apigw_v2_default_stage_request.json"),
        Shape::HttpApi,
    ),
    ("proxy", r#"{"grpcLambda": 1, "headers": []}"#, Shape::Proxy),
    // grpc-lambda-proxy's own event: HTTP API 2.0 with `grpcLambda` and `path` added.
    (
        "proxy (HTTP API shape)",
        r#"{"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {}, "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/2",
            "sourceIp": "127.0.0.1", "userAgent": "grpc-go/1.70"}, "routeKey": "$default", "stage": "$default",
            "requestId": "r", "timeEpoch": 0}, "grpcLambda": 1, "path": "/"}"#,
        Shape::Proxy,
    ),
];

/// The three wire protocols a caller can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    GrpcWeb,
    GrpcWebText,
    Grpc,
}

pub const PROTOCOLS: [Protocol; 3] = [Protocol::GrpcWeb, Protocol::GrpcWebText, Protocol::Grpc];

impl Protocol {
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "application/grpc-web+proto",
            Protocol::GrpcWebText => "application/grpc-web-text",
            Protocol::Grpc => "application/grpc",
        }
    }
}

/// The request metadata every call sends, echoed by the service.
pub const ECHO: &str = "v1";
/// `x-echo-bin`: bytes 0, 1, 2, 3, unpadded base64 as gRPC sends it.
pub const ECHO_BIN: &str = "AAECAw";

/// A length-prefixed message.
pub fn frame(message: &impl Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameEncoder::new().encode_prost(message, &mut out).unwrap();
    out.to_vec()
}

/// A gRPC-Web trailer frame, written out by hand: `name: value\r\n` per entry.
pub fn trailer_frame(entries: &[(&str, &str)]) -> Vec<u8> {
    let block: String = entries
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let mut out = vec![0x80];
    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
    out.extend_from_slice(block.as_bytes());
    out
}

/// The request body for `message`, as the event carries it for `protocol`: always base64 (the
/// front door is configured for binary media types `*/*`), gRPC-Web-text base64-encoded once
/// more by the front door.
pub fn event_body(protocol: Protocol, frames: &[u8]) -> String {
    let once = String::from_utf8(base64::encode(frames).to_vec()).unwrap();
    match protocol {
        Protocol::GrpcWebText => {
            String::from_utf8(base64::encode(once.as_bytes()).to_vec()).unwrap()
        }
        _ => once,
    }
}

/// `fixture` turned into a gRPC call of `path` with `headers` and a base64 `body`: the method
/// becomes POST, the path is set where the shape keeps it ([`aws_event::set_path`]), headers are
/// set in the shape's form (strings, lists, pairs), replacing the sample's own `content-type`
/// and `origin` ([`aws_event::merge_headers`]).
pub fn grpc_event(fixture: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let mut object = aws_event::parse_sample(fixture).unwrap();
    if object.contains_key("grpcLambda") {
        object.insert("path".into(), json!(path));
    } else {
        aws_event::set_method(&mut object, "POST");
        aws_event::set_path(&mut object, path);
    }
    aws_event::merge_headers(&mut object, headers);
    object.insert("body".into(), json!(body));
    object.insert("isBase64Encoded".into(), json!(true));
    Value::Object(object)
}

/// The headers of a call: content type and the echo metadata.
pub fn call_headers(protocol: Protocol) -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", protocol.content_type()),
        ("x-echo", ECHO),
        ("x-echo-bin", ECHO_BIN),
    ]
}

/// The answer, read back from the response JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: u64,
    /// Header entries in order, one per value.
    pub headers: Vec<(String, String)>,
    /// The body's bytes: base64 decoded when `isBase64Encoded`.
    pub body: Vec<u8>,
    pub is_base64: bool,
}

impl Answer {
    /// The gRPC frames: the body, base64-decoded once more for gRPC-Web-text.
    pub fn frames(&self, protocol: Protocol) -> Vec<u8> {
        match protocol {
            Protocol::GrpcWebText => base64::decode(&self.body).unwrap().to_vec(),
            _ => self.body.clone(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks `response` has exactly the fields `shape` expects and reads it.
pub fn read_answer(response: &Value, shape: Shape) -> Answer {
    let object = response.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = match shape {
        Shape::RestApi => vec!["statusCode", "headers", "body", "isBase64Encoded"],
        // Payload format 2.0 always carries `cookies` (cargo-lambda refuses an answer without).
        Shape::HttpApi => vec![
            "statusCode",
            "headers",
            "cookies",
            "body",
            "isBase64Encoded",
        ],
        Shape::RestApiMultiValue => {
            vec!["statusCode", "multiValueHeaders", "body", "isBase64Encoded"]
        }
        Shape::Alb | Shape::VpcLattice => {
            vec![
                "statusCode",
                "statusDescription",
                "headers",
                "body",
                "isBase64Encoded",
            ]
        }
        Shape::AlbMultiValue => vec![
            "statusCode",
            "statusDescription",
            "multiValueHeaders",
            "body",
            "isBase64Encoded",
        ],
        Shape::Proxy => vec![
            "grpcLambda",
            "statusCode",
            "headers",
            "body",
            "isBase64Encoded",
        ],
    };
    expected.sort_unstable();
    assert_eq!(keys, expected, "response fields for {shape:?}: {response}");
    if shape == Shape::HttpApi {
        assert_eq!(response["cookies"], json!([]), "no Set-Cookie: {response}");
    }
    let status = response["statusCode"].as_u64().unwrap();
    if let Some(description) = response.get("statusDescription") {
        let reason = http::StatusCode::from_u16(status as u16)
            .unwrap()
            .canonical_reason()
            .unwrap();
        assert_eq!(description.as_str().unwrap(), format!("{status} {reason}"));
    }
    let mut headers = Vec::new();
    match shape {
        Shape::RestApiMultiValue | Shape::AlbMultiValue => {
            for (name, values) in response["multiValueHeaders"].as_object().unwrap() {
                for value in values.as_array().unwrap() {
                    headers.push((name.clone(), value.as_str().unwrap().to_owned()));
                }
            }
        }
        Shape::Proxy => {
            for pair in response["headers"].as_array().unwrap() {
                headers.push((
                    pair[0].as_str().unwrap().to_owned(),
                    pair[1].as_str().unwrap().to_owned(),
                ));
            }
        }
        _ => {
            for (name, value) in response["headers"].as_object().unwrap() {
                headers.push((name.clone(), value.as_str().unwrap().to_owned()));
            }
        }
    }
    let is_base64 = response["isBase64Encoded"].as_bool().unwrap();
    let text = response["body"].as_str().unwrap();
    let body = if is_base64 {
        base64::decode(text.as_bytes()).unwrap().to_vec()
    } else {
        text.as_bytes().to_vec()
    };
    Answer {
        status,
        headers,
        body,
        is_base64,
    }
}

/// The example's methods, with their request and the exact answer.
pub struct Case {
    pub name: &'static str,
    pub path: &'static str,
    pub request: Vec<u8>,
    /// Message frames the service answers with.
    pub messages: Vec<u8>,
    /// Response headers after `content-type`.
    pub headers: Vec<(&'static str, &'static str)>,
    /// Trailer entries, in order.
    pub trailers: Vec<(&'static str, String)>,
}

/// `google.rpc.Status { code: 3, message: "bad: matrix" }`, unpadded base64.
pub fn fail_details() -> String {
    let details = grpc_lambda_example_prod::fail_status_details("bad: matrix");
    grpc_lambda_core::metadata::encode_binary_value(&details)
}

pub fn cases() -> Vec<Case> {
    let echo_headers = vec![("x-echo", ECHO), ("x-echo-bin", ECHO_BIN)];
    let ok_trailers = vec![
        ("grpc-status", "0".to_owned()),
        ("x-echo-trailer", ECHO.to_owned()),
        ("x-echo-trailer-bin", ECHO_BIN.to_owned()),
    ];
    let alive = AliveRequest {
        message: "matrix".into(),
    };
    let count = CountRequest { n: 3, delay_ms: 1 };
    vec![
        Case {
            name: "Alive",
            path: "/api.Prod/Alive",
            request: frame(&alive),
            messages: frame(&AliveResponse {
                message: "Hello, world.matrix".into(),
            }),
            headers: echo_headers.clone(),
            trailers: ok_trailers.clone(),
        },
        Case {
            name: "Count",
            path: "/api.Prod/Count",
            request: frame(&count),
            messages: (1..=3)
                .flat_map(|i| {
                    frame(&CountResponse {
                        n: i,
                        message: i.to_string(),
                    })
                })
                .collect(),
            headers: echo_headers,
            trailers: ok_trailers,
        },
        Case {
            name: "Fail",
            path: "/api.Prod/Fail",
            request: frame(&alive),
            messages: Vec::new(),
            headers: Vec::new(),
            trailers: vec![
                ("x-echo", ECHO.to_owned()),
                ("x-echo-bin", ECHO_BIN.to_owned()),
                ("x-echo-trailer", ECHO.to_owned()),
                ("x-echo-trailer-bin", ECHO_BIN.to_owned()),
                ("grpc-status", "3".to_owned()),
                ("grpc-message", "bad:%20matrix".to_owned()),
                ("grpc-status-details-bin", fail_details()),
            ],
        },
        Case {
            name: "Unimplemented",
            path: "/api.Prod/Nope",
            request: frame(&alive),
            messages: Vec::new(),
            headers: Vec::new(),
            trailers: vec![("grpc-status", "12".to_owned())],
        },
    ]
}

/// Asserts the answer to `case` in `protocol` is exact: headers, message frames, trailers.
pub fn assert_answer(answer: &Answer, case: &Case, protocol: Protocol, context: &str) {
    assert_eq!(answer.status, 200, "{context}");
    let trailers: Vec<(&str, &str)> = case
        .trailers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let mut headers = vec![("content-type", protocol.content_type())];
    match protocol {
        Protocol::GrpcWeb | Protocol::GrpcWebText => {
            headers.extend(case.headers.iter().copied());
            let mut expected = case.messages.clone();
            expected.extend(trailer_frame(&trailers));
            assert_eq!(answer.frames(protocol), expected, "{context}: body frames");
            assert_eq!(
                answer.is_base64,
                protocol == Protocol::GrpcWeb,
                "{context}: isBase64Encoded"
            );
        }
        Protocol::Grpc => {
            headers.extend(case.headers.iter().copied());
            if case.messages.is_empty() {
                // Trailers-Only: the status in the headers, no body.
                headers.extend(trailers.iter().copied());
                assert!(
                    answer.body.is_empty(),
                    "{context}: Trailers-Only has no body"
                );
            } else {
                assert_eq!(answer.body, case.messages, "{context}: body frames");
                assert!(answer.is_base64, "{context}: isBase64Encoded");
            }
        }
    }
    let mut got: Vec<(&str, &str)> = answer
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // Single-value shapes join repeated names; none repeat here. Key order in a JSON object is
    // not significant: compare as sets, and order separately where the shape keeps it.
    got.sort_unstable();
    headers.sort_unstable();
    assert_eq!(got, headers, "{context}: headers");
}

/// One call of the matrix: a fixture's event carrying one case in one protocol.
pub struct MatrixCall {
    /// `fixture × protocol × case`, for messages.
    pub context: String,
    pub event: Value,
    pub shape: Shape,
    pub protocol: Protocol,
    pub case: Case,
}

/// Every fixture × every protocol × every case of the example.
pub fn matrix() -> Vec<MatrixCall> {
    let mut calls = Vec::new();
    for (fixture, text, shape) in FIXTURES {
        for protocol in PROTOCOLS {
            for case in cases() {
                let event = grpc_event(
                    text,
                    case.path,
                    &call_headers(protocol),
                    &event_body(protocol, &case.request),
                );
                calls.push(MatrixCall {
                    context: format!("{fixture} × {protocol:?} × {}", case.name),
                    event,
                    shape: *shape,
                    protocol,
                    case,
                });
            }
        }
    }
    assert_eq!(calls.len(), FIXTURES.len() * PROTOCOLS.len() * 4);
    calls
}
