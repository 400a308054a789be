//! Connect, Twirp and `+json` calls of the example through every sample event: the events, and
//! the exact answers (status, headers, body) the example gives in each protocol.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use grpc_lambda_core::base64;
use prost::Message;
use serde_json::{json, Map, Value};

use grpc_lambda_example_prod::api::{AliveRequest, AliveResponse, CountRequest, CountResponse};

use super::{grpc_event, trailer_frame, Answer, ECHO, ECHO_BIN};

/// The protocols besides gRPC and gRPC-Web with protobuf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    ConnectProto,
    ConnectJson,
    /// Connect GET, `encoding=json`, the message percent-encoded in the query.
    ConnectGetJson,
    /// Connect GET, `encoding=proto&base64=1`.
    ConnectGetProto,
    ConnectStreamProto,
    ConnectStreamJson,
    TwirpProto,
    TwirpJson,
    GrpcWebJson,
}

pub const WIRES: [Wire; 9] = [
    Wire::ConnectProto,
    Wire::ConnectJson,
    Wire::ConnectGetJson,
    Wire::ConnectGetProto,
    Wire::ConnectStreamProto,
    Wire::ConnectStreamJson,
    Wire::TwirpProto,
    Wire::TwirpJson,
    Wire::GrpcWebJson,
];

impl Wire {
    pub fn is_json(self) -> bool {
        matches!(
            self,
            Wire::ConnectJson
                | Wire::ConnectGetJson
                | Wire::ConnectStreamJson
                | Wire::TwirpJson
                | Wire::GrpcWebJson
        )
    }

    fn is_get(self) -> bool {
        matches!(self, Wire::ConnectGetJson | Wire::ConnectGetProto)
    }

    fn is_stream(self) -> bool {
        matches!(self, Wire::ConnectStreamProto | Wire::ConnectStreamJson)
    }

    fn is_twirp(self) -> bool {
        matches!(self, Wire::TwirpProto | Wire::TwirpJson)
    }

    /// The request's content type (a GET has none).
    pub fn content_type(self) -> Option<&'static str> {
        Some(match self {
            Wire::ConnectProto => "application/proto",
            Wire::ConnectJson => "application/json",
            Wire::ConnectGetJson | Wire::ConnectGetProto => return None,
            Wire::ConnectStreamProto => "application/connect+proto",
            Wire::ConnectStreamJson => "application/connect+json",
            Wire::TwirpProto => "application/protobuf",
            Wire::TwirpJson => "application/json",
            Wire::GrpcWebJson => "application/grpc-web+json",
        })
    }

    /// The answer's content type on success.
    pub fn answer_content_type(self) -> &'static str {
        match self {
            Wire::ConnectGetJson => "application/json",
            Wire::ConnectGetProto => "application/proto",
            other => other.content_type().unwrap(),
        }
    }

    /// The path a call of `method` (`/api.Prod/Alive`) takes.
    pub fn path(self, method: &str) -> String {
        if self.is_twirp() {
            format!("/twirp{method}")
        } else {
            method.to_owned()
        }
    }

    /// `message` as this protocol's client writes it.
    pub fn message(self, message: &impl Message, json: &Value) -> Vec<u8> {
        if self.is_json() {
            serde_json::to_vec(json).unwrap()
        } else {
            message.encode_to_vec()
        }
    }

    /// The request body: a bare message, or one envelope (a Connect stream's, gRPC-Web's).
    pub fn body(self, message: &[u8]) -> Vec<u8> {
        if self.is_stream() || self == Wire::GrpcWebJson {
            envelope(0, message)
        } else {
            message.to_vec()
        }
    }
}

/// A 5-byte envelope with `flags`, then `payload`.
pub fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// `text` percent-encoded: every byte but the unreserved ones.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Sets the method of an event made by [`grpc_event`] as its front door would.
pub fn set_method(event: &mut Value, method: &str) {
    let object = event.as_object_mut().unwrap();
    if object.contains_key("grpcLambda") && !object.contains_key("requestContext") {
        object.insert("httpMethod".into(), json!(method));
    }
    grpc_lambda_test_support::aws_event::set_method(object, method);
}

/// Sets the query of an event as its front door would give `parameters` (decoded names and
/// values): `rawQueryString` (HTTP API, Function URL, the proxy), the parameters as sent (ALB),
/// or decoded (REST API, VPC Lattice; lists in Lattice v2).
pub fn set_query(event: &mut Value, parameters: &[(&str, &str)]) {
    let object = event.as_object_mut().unwrap();
    let raw: Vec<String> = parameters
        .iter()
        .map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v)))
        .collect();
    let alb = object
        .get("requestContext")
        .is_some_and(|c| c.get("elb").is_some());
    let lattice = object.contains_key("method");
    let payload_2_0 = object.contains_key("rawPath") || object.contains_key("grpcLambda");
    if payload_2_0 {
        object.insert("rawQueryString".into(), json!(raw.join("&")));
        return;
    }
    let value = |(name, value): &(&str, &str)| {
        if alb {
            (percent_encode(name), percent_encode(value))
        } else {
            ((*name).to_owned(), (*value).to_owned())
        }
    };
    let single: Map<String, Value> = parameters
        .iter()
        .map(|p| {
            let (n, v) = value(p);
            (n, if lattice { json!([v]) } else { json!(v) })
        })
        .collect();
    let multi: Map<String, Value> = parameters
        .iter()
        .map(|p| {
            let (n, v) = value(p);
            (n, json!([v]))
        })
        .collect();
    object.insert("queryStringParameters".into(), Value::Object(single));
    if object.contains_key("multiValueQueryStringParameters") {
        object.insert(
            "multiValueQueryStringParameters".into(),
            Value::Object(multi),
        );
    }
}

/// The event for a call of `method` in `wire` carrying `message` with `headers` (after the
/// content type), made from `fixture`.
pub fn event(
    fixture: &str,
    wire: Wire,
    method: &str,
    headers: &[(&str, &str)],
    message: &[u8],
) -> Value {
    let mut all: Vec<(&str, &str)> = wire
        .content_type()
        .map(|content_type| ("content-type", content_type))
        .into_iter()
        .collect();
    all.extend_from_slice(headers);
    let body = wire.body(message);
    let mut event = grpc_event(
        fixture,
        &wire.path(method),
        &all,
        std::str::from_utf8(&base64::encode(&body)).unwrap(),
    );
    if wire.is_get() {
        set_method(&mut event, "GET");
        event["body"] = Value::Null;
        event["isBase64Encoded"] = json!(false);
        let text;
        let parameters: Vec<(&str, &str)> = if wire == Wire::ConnectGetJson {
            text = String::from_utf8(message.to_vec()).unwrap();
            vec![("connect", "v1"), ("encoding", "json"), ("message", &text)]
        } else {
            text = base64_url(message);
            vec![
                ("connect", "v1"),
                ("encoding", "proto"),
                ("base64", "1"),
                ("message", &text),
            ]
        };
        set_query(&mut event, &parameters);
    } else if wire.is_json() && !wire.is_stream() && wire != Wire::GrpcWebJson {
        // A JSON body reaches the function as the text it is.
        event["body"] = json!(String::from_utf8(body).unwrap());
        event["isBase64Encoded"] = json!(false);
    }
    event
}

/// base64url without padding, as Connect GET's `base64=1` message.
pub fn base64_url(bytes: &[u8]) -> String {
    let standard = String::from_utf8(base64::encode(bytes).to_vec()).unwrap();
    standard
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// What the example answers for one case in one protocol.
#[derive(Debug)]
pub struct Expected {
    pub status: u64,
    /// Every header, as a set.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub is_base64: bool,
}

/// Asserts `answer` is `expected`, byte for byte.
pub fn assert_expected(answer: &Answer, expected: &Expected, context: &str) {
    assert_eq!(answer.status, expected.status, "{context}: status");
    let mut got = answer.headers.clone();
    let mut want = expected.headers.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{context}: headers");
    assert_eq!(
        String::from_utf8_lossy(&answer.body),
        String::from_utf8_lossy(&expected.body),
        "{context}: body"
    );
    assert_eq!(answer.body, expected.body, "{context}: body bytes");
    assert_eq!(
        answer.is_base64, expected.is_base64,
        "{context}: isBase64Encoded"
    );
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The request of a case: the protobuf message and its JSON.
pub fn alive_request() -> (AliveRequest, Value) {
    (
        AliveRequest {
            message: "matrix".into(),
        },
        json!({"message": "matrix"}),
    )
}

pub fn count_request() -> (CountRequest, Value) {
    (
        CountRequest { n: 3, delay_ms: 1 },
        json!({"n": 3, "delayMs": 1}),
    )
}

/// The echo headers every call sends.
pub const ECHO_HEADERS: [(&str, &str); 2] = [("x-echo", ECHO), ("x-echo-bin", ECHO_BIN)];

/// `Alive`'s answer in `wire`.
pub fn alive(wire: Wire) -> Expected {
    let response = AliveResponse {
        message: "Hello, world.matrix".into(),
    };
    let json = br#"{"message":"Hello, world.matrix"}"#.to_vec();
    let message = if wire.is_json() {
        json
    } else {
        response.encode_to_vec()
    };
    let mut headers = vec![
        ("content-type", wire.answer_content_type()),
        ("x-echo", ECHO),
        ("x-echo-bin", ECHO_BIN),
    ];
    let (body, is_base64) = match wire {
        Wire::GrpcWebJson => {
            let mut body = envelope(0, &message);
            body.extend(trailer_frame(&[
                ("grpc-status", "0"),
                ("x-echo-trailer", ECHO),
                ("x-echo-trailer-bin", ECHO_BIN),
            ]));
            (body, true)
        }
        Wire::ConnectStreamProto | Wire::ConnectStreamJson => {
            let mut body = envelope(0, &message);
            body.extend(envelope(
                2,
                br#"{"metadata":{"x-echo-trailer":["v1"],"x-echo-trailer-bin":["AAECAw"]}}"#,
            ));
            (body, true)
        }
        Wire::TwirpProto | Wire::TwirpJson => {
            headers.extend([("x-echo-trailer", ECHO), ("x-echo-trailer-bin", ECHO_BIN)]);
            (message, !wire.is_json())
        }
        _ => {
            headers.extend([
                ("trailer-x-echo-trailer", ECHO),
                ("trailer-x-echo-trailer-bin", ECHO_BIN),
            ]);
            (message, !wire.is_json())
        }
    };
    Expected {
        status: 200,
        headers: owned(&headers),
        body,
        is_base64,
    }
}

/// `Count` (n = 3) answered on a stream: Connect streaming or gRPC-Web.
pub fn count(wire: Wire) -> Expected {
    let mut body = Vec::new();
    for i in 1..=3 {
        let message = if wire.is_json() {
            format!(r#"{{"n":{i},"message":"{i}"}}"#).into_bytes()
        } else {
            CountResponse {
                n: i,
                message: i.to_string(),
            }
            .encode_to_vec()
        };
        body.extend(envelope(0, &message));
    }
    if wire == Wire::GrpcWebJson {
        body.extend(trailer_frame(&[
            ("grpc-status", "0"),
            ("x-echo-trailer", ECHO),
            ("x-echo-trailer-bin", ECHO_BIN),
        ]));
    } else {
        body.extend(envelope(
            2,
            br#"{"metadata":{"x-echo-trailer":["v1"],"x-echo-trailer-bin":["AAECAw"]}}"#,
        ));
    }
    Expected {
        status: 200,
        headers: owned(&[
            ("content-type", wire.answer_content_type()),
            ("x-echo", ECHO),
            ("x-echo-bin", ECHO_BIN),
        ]),
        body,
        is_base64: true,
    }
}

/// An error's answer in `wire`: the service's status `code` (its number), Connect name,
/// message (as sent, and percent-encoded for `grpc-message`), and its trailers (`extra`,
/// which for a Trailers-Only answer hold the echo headers too), with the details-bin trailer
/// `details` when the status has one.
pub struct Failure<'a> {
    pub code: u16,
    pub connect: &'static str,
    pub twirp: &'static str,
    pub connect_http: u64,
    pub twirp_http: u64,
    pub message: &'a str,
    pub grpc_message: &'a str,
    pub trailers: Vec<(&'a str, &'a str)>,
    pub details_bin: Option<&'a str>,
    /// The Connect `details` array, as JSON text (`None` when the status has none).
    pub details_json: Option<&'a str>,
}

pub fn failure(wire: Wire, failure: &Failure<'_>) -> Expected {
    let code = failure.code.to_string();
    match wire {
        Wire::GrpcWebJson => {
            let mut entries = failure.trailers.clone();
            entries.push(("grpc-status", &code));
            if !failure.grpc_message.is_empty() {
                entries.push(("grpc-message", failure.grpc_message));
            }
            if let Some(details) = failure.details_bin {
                entries.push(("grpc-status-details-bin", details));
            }
            Expected {
                status: 200,
                headers: owned(&[("content-type", "application/grpc-web+json")]),
                body: trailer_frame(&entries),
                is_base64: true,
            }
        }
        Wire::ConnectStreamProto | Wire::ConnectStreamJson => {
            let metadata: Map<String, Value> = failure
                .trailers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), json!([v])))
                .collect();
            let mut end = format!(r#"{{"error":{{"code":"{}""#, failure.connect);
            if !failure.message.is_empty() {
                end.push_str(&format!(r#","message":{}"#, json!(failure.message)));
            }
            if let Some(details) = failure.details_json {
                end.push_str(&format!(r#","details":{details}"#));
            }
            end.push('}');
            if !metadata.is_empty() {
                end.push_str(&format!(r#","metadata":{}"#, Value::Object(metadata)));
            }
            end.push('}');
            Expected {
                status: 200,
                headers: owned(&[("content-type", wire.answer_content_type())]),
                body: envelope(2, end.as_bytes()),
                is_base64: true,
            }
        }
        Wire::TwirpProto | Wire::TwirpJson => {
            let mut headers = vec![("content-type", "application/json")];
            headers.extend(failure.trailers.iter().copied());
            let body = format!(
                r#"{{"code":"{}","msg":{},"meta":{{}}}}"#,
                failure.twirp,
                json!(failure.message)
            );
            Expected {
                status: failure.twirp_http,
                headers: owned(&headers),
                body: body.into_bytes(),
                is_base64: false,
            }
        }
        _ => {
            let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
            headers.extend(
                failure
                    .trailers
                    .iter()
                    .map(|(n, v)| (format!("trailer-{n}"), (*v).to_owned())),
            );
            let mut body = format!(r#"{{"code":"{}""#, failure.connect);
            if !failure.message.is_empty() {
                body.push_str(&format!(r#","message":{}"#, json!(failure.message)));
            }
            if let Some(details) = failure.details_json {
                body.push_str(&format!(r#","details":{details}"#));
            }
            body.push('}');
            Expected {
                status: failure.connect_http,
                headers,
                body: body.into_bytes(),
                is_base64: false,
            }
        }
    }
}
