//! The Lambda shim's side of parsing: every event shape it accepts, built from fuzz bytes and run
//! end to end through `Shim::invoke` with an echo handler.
//!
//! The events are built, not raw: raw bytes almost never parse as JSON, let alone as an event, so
//! a fuzzer would spend its time in the JSON parser. One mode hands raw bytes over all the same.

use std::fmt;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use grpc_lambda::{Request, Response, Router, Shim, Status};
use grpc_lambda_core::{ContentType, Frame, FrameEncoder};
use serde_json::{json, Map, Value};

use crate::check::{decode_chunks, ByteStr};
use crate::chunking::Reader;
use crate::fuzz_checks::FuzzInput;

/// The echo service's one method.
pub const ECHO_PATH: &str = "/echo.Echo/Say";

/// The echo service's message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Echo {
    /// Whatever the client sent.
    #[prost(bytes = "vec", tag = "1")]
    pub payload: Vec<u8>,
}

async fn say(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    Ok(Response::new(request.into_message()))
}

/// The front doors whose events the shim accepts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Shape {
    /// API Gateway REST API on its execute-api host, stage `prod`, resource `/{proxy+}`,
    /// `headers`.
    RestApi,
    /// API Gateway REST API behind a custom domain with base path `v1`, resource `/{proxy+}`,
    /// `multiValueHeaders`.
    RestApiMultiValue,
    /// API Gateway HTTP API (payload 2.0), stage `prod`.
    HttpApi,
    /// Lambda Function URL.
    FunctionUrl,
    /// Application Load Balancer, `headers`.
    Alb,
    /// Application Load Balancer, `multiValueHeaders`.
    AlbMultiValue,
    /// VPC Lattice, version 1 (string headers).
    VpcLatticeV1,
    /// VPC Lattice, version 2 (list headers, `requestContext.serviceNetworkArn`).
    VpcLatticeV2,
    /// The grpc-lambda proxy's own event.
    Proxy,
}

const SHAPES: [Shape; 9] = [
    Shape::RestApi,
    Shape::RestApiMultiValue,
    Shape::HttpApi,
    Shape::FunctionUrl,
    Shape::Alb,
    Shape::AlbMultiValue,
    Shape::VpcLatticeV1,
    Shape::VpcLatticeV2,
    Shape::Proxy,
];

/// What the event body holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BodyKind {
    /// One echo message, framed, encoded as the content type and the front door want it.
    Valid,
    /// The payload bytes as they are, base64-encoded: rarely frames.
    Garbage,
    /// Text that is not base64, flagged as base64.
    NotBase64,
    /// No body at all.
    Missing,
}

/// An event for the shim.
#[derive(Clone, PartialEq, Eq)]
pub enum LambdaEventInput {
    /// Raw bytes handed over as the event JSON.
    Raw(Vec<u8>),
    /// An event built in one of the accepted shapes.
    Built {
        /// The front door.
        shape: Shape,
        /// The request method.
        method: String,
        /// The path the client asked for, after the stage or base path; the event carries it
        /// where the front door does.
        path: String,
        /// The `content-type`, if any.
        content_type: Option<String>,
        /// The `grpc-timeout`, if any.
        timeout: Option<String>,
        /// The body.
        body: BodyKind,
        /// A gRPC-Web-text body is base64-encoded again by the front door (else sent as text).
        double_encoded: bool,
        /// The echo payload (or the garbage body).
        payload: Vec<u8>,
    },
}

const METHODS: [&str; 5] = ["POST", "POST", "GET", "OPTIONS", "P OST"];
/// The paths a client asks for, after the stage or base path: only the first names the echo
/// method as a front door routes it; the others must never run it.
const PATHS: [&str; 8] = [
    ECHO_PATH,
    "/prod/echo.Echo/Say",
    "/echo.Echo/Missing",
    "/Say",
    "",
    "/echo.Echo/Say?x=1",
    "/echo.Echo/x/echo.Echo/Say",
    "/echo.Echo/../echo.Echo/Say",
];
const TIMEOUTS: [&str; 6] = ["1S", "99999999H", "0n", "1.5S", "123456789S", "20m"];

impl FuzzInput for LambdaEventInput {
    /// Reads an event description from fuzz bytes.
    ///
    /// Layout: `[kind: 1]`; odd is `Raw`, the rest as it is; even is `Built`, one byte each for
    /// the [`Shape`] (`% 9`), the method (`% 5`: POST twice, GET, OPTIONS, an invalid one) and the
    /// path (`% 8`), then:
    ///
    /// - content type `% 9`: the six gRPC forms, `application/json`, none, or the next
    ///   `[len: 1][text]`;
    /// - timeout `% 8`: none, six fixed values, or the next `[len: 1][text]`;
    /// - the [`BodyKind`] (`% 4`), double encoding (`% 2`), and the payload: the rest.
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        if reader.byte() % 2 == 1 {
            return LambdaEventInput::Raw(reader.rest().to_vec());
        }
        let pick = |reader: &mut Reader<'_>, len: usize| usize::from(reader.byte()) % len;
        let shape = SHAPES[pick(&mut reader, SHAPES.len())];
        let method = METHODS[pick(&mut reader, METHODS.len())].to_string();
        let path = PATHS[pick(&mut reader, PATHS.len())].to_string();
        let content_type = match pick(&mut reader, 9) {
            i @ 0..=5 => Some(ContentType::ALL[i].as_str().to_string()),
            6 => Some("application/json".to_string()),
            7 => None,
            _ => Some(String::from_utf8_lossy(reader.short_bytes()).into_owned()),
        };
        let timeout = match pick(&mut reader, 8) {
            0 => None,
            i @ 1..=6 => Some(TIMEOUTS[i - 1].to_string()),
            _ => Some(String::from_utf8_lossy(reader.short_bytes()).into_owned()),
        };
        let body = [
            BodyKind::Valid,
            BodyKind::Garbage,
            BodyKind::NotBase64,
            BodyKind::Missing,
        ][pick(&mut reader, 4)];
        let double_encoded = reader.byte() % 2 == 1;
        LambdaEventInput::Built {
            shape,
            method,
            path,
            content_type,
            timeout,
            body,
            double_encoded,
            payload: reader.rest().to_vec(),
        }
    }

    /// Runs the event through the shim and checks the response:
    ///
    /// - the event JSON, raw or built, is read as the reference reads it
    ///   ([`check_event_json`](crate::event_reference::check_event_json));
    /// - never a panic, and an error only for an event the shim cannot place or whose method is
    ///   not an HTTP method;
    /// - a built event always gets a JSON response with a numeric `statusCode`;
    /// - a valid gRPC-Web (binary or text) call to the echo method, with no `grpc-timeout` or
    ///   one of a second or more, answers 200, in the request's content type, with the echo
    ///   message and a trailer frame carrying `grpc-status: 0`;
    /// - the same call of any other path (a stage or base path the front door would not send,
    ///   extra or dot segments, a query) answers `UNIMPLEMENTED` and no message: the echo method
    ///   never runs for a path that does not route to it;
    /// - a body that is not base64 is never answered with `grpc-status: 0`.
    fn check(&self) {
        self.check_response();
    }
}

impl LambdaEventInput {
    /// The event JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let LambdaEventInput::Built {
            shape,
            method,
            path,
            content_type,
            timeout,
            body,
            double_encoded,
            payload,
        } = self
        else {
            let LambdaEventInput::Raw(raw) = self else {
                unreachable!()
            };
            return raw.clone();
        };
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type.clone()));
        }
        if let Some(timeout) = timeout {
            headers.push(("grpc-timeout", timeout.clone()));
        }
        let web_text = content_type
            .as_deref()
            .and_then(|ct| ContentType::parse(ct).ok())
            .is_some_and(ContentType::is_text);
        let (body_text, is_base64) = match body {
            BodyKind::Missing => (None, false),
            BodyKind::NotBase64 => (Some("not base64!".to_string()), true),
            BodyKind::Garbage => (Some(STANDARD.encode(payload)), true),
            BodyKind::Valid => {
                let frames = echo_request(payload);
                if web_text && !double_encoded {
                    (Some(STANDARD.encode(&frames)), false)
                } else if web_text {
                    (Some(STANDARD.encode(STANDARD.encode(&frames))), true)
                } else {
                    (Some(STANDARD.encode(&frames)), true)
                }
            }
        };
        let single: Map<String, Value> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        let multi: Map<String, Value> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), json!([v])))
            .collect();
        let pairs: Vec<Value> = headers.iter().map(|(n, v)| json!([n, v])).collect();
        // A REST API routes every path below its root to `/{proxy+}`, the root to `/`.
        let proxy = path.strip_prefix('/').unwrap_or(path);
        let (resource, parameters) = if proxy.is_empty() {
            ("/", Value::Null)
        } else {
            ("/{proxy+}", json!({"proxy": proxy}))
        };
        let mut event = match shape {
            // The execute-api host: the stage in `requestContext.path` only.
            Shape::RestApi => json!({
                "resource": resource, "path": path, "httpMethod": method, "pathParameters": parameters,
                "requestContext": {"stage": "prod", "path": format!("/prod{path}"), "resourcePath": resource,
                                   "domainName": "abc.execute-api.us-east-1.amazonaws.com"},
            }),
            // A custom domain with base path `v1`: in `path`, not in the parameter.
            Shape::RestApiMultiValue => json!({
                "resource": resource, "path": format!("/v1{path}"), "httpMethod": method,
                "pathParameters": parameters,
                "requestContext": {"stage": "prod", "path": format!("/v1{path}"), "resourcePath": resource,
                                   "domainName": "api.example.com"},
            }),
            // A named stage comes first in the path.
            Shape::HttpApi => json!({
                "version": "2.0", "rawPath": format!("/prod{path}"), "routeKey": "$default",
                "requestContext": {"http": {"method": method, "path": format!("/prod{path}")},
                                   "stage": "prod", "domainName": "abc.execute-api.us-east-1.amazonaws.com"},
            }),
            Shape::FunctionUrl => json!({
                "version": "2.0", "rawPath": path, "routeKey": "$default",
                "requestContext": {"http": {"method": method, "path": path}, "stage": "$default",
                                   "domainName": "abc.lambda-url.us-east-1.on.aws"},
            }),
            Shape::Alb | Shape::AlbMultiValue => json!({
                "httpMethod": method, "path": path,
                "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
            }),
            Shape::VpcLatticeV1 => json!({"method": method, "path": path}),
            Shape::VpcLatticeV2 => json!({
                "version": "2.0", "method": method, "path": path,
                "requestContext": {"serviceNetworkArn": "arn:aws:vpc-lattice:us-east-1:1:servicenetwork/sn-1"},
            }),
            Shape::Proxy => json!({"grpcLambda": 1, "path": path}),
        };
        let fields = event.as_object_mut().expect("an object");
        let header_field = match shape {
            Shape::RestApiMultiValue | Shape::AlbMultiValue => {
                ("multiValueHeaders", Value::Object(multi))
            }
            Shape::VpcLatticeV2 => ("headers", Value::Object(multi)),
            Shape::Proxy => ("headers", Value::Array(pairs)),
            _ => ("headers", Value::Object(single)),
        };
        fields.insert(header_field.0.into(), header_field.1);
        if let Some(body) = body_text {
            fields.insert("body".into(), json!(body));
        }
        fields.insert("isBase64Encoded".into(), json!(is_base64));
        serde_json::to_vec(&event).expect("serializable")
    }

    /// [`FuzzInput::check`], answering whether the echo itself was checked (a valid gRPC-Web
    /// call to the echo method).
    pub fn check_response(&self) -> bool {
        let json = self.to_json();
        crate::event_reference::check_event_json(&json);
        let result = invoke(&json);
        let LambdaEventInput::Built {
            shape,
            method,
            path,
            content_type,
            timeout,
            body,
            payload,
            ..
        } = self
        else {
            match result {
                Ok(response) => {
                    let value: Value = serde_json::from_slice(&response).expect("response JSON");
                    assert!(value["statusCode"].is_u64(), "{value}");
                }
                Err(message) => assert!(!message.is_empty()),
            }
            return false;
        };
        // A method no HTTP parser would have let through cannot come from a front door: refusing
        // the event is as right as answering it.
        if http::Method::from_bytes(method.as_bytes()).is_err() {
            if let Err(message) = &result {
                assert!(!message.is_empty());
                return false;
            }
        }
        let response = result.unwrap_or_else(|err| panic!("{shape:?} event refused: {err}"));
        let value: Value = serde_json::from_slice(&response).expect("response JSON");
        let status_code = value["statusCode"].as_u64().expect("a statusCode");
        check_proxy_reads(&response, &value);
        if *shape == Shape::Proxy {
            assert_eq!(value["grpcLambda"], json!(1), "{value}");
        }
        let content_type = content_type
            .as_deref()
            .and_then(|ct| ContentType::parse(ct).ok());
        // A deadline that may pass while the call runs can rightly end it.
        let timeout_ok = timeout.as_deref().is_none_or(|t| {
            grpc_lambda_core::metadata::parse_timeout(t.as_bytes())
                .is_ok_and(|t| t >= std::time::Duration::from_secs(1))
        });
        let Some(content_type) = content_type.filter(|ct| ct.is_web()) else {
            return false;
        };
        if method != "POST" {
            return false;
        }
        let frames = response_frames(&value, content_type);
        let grpc_status = frames
            .as_ref()
            .and_then(|frames| frames.last())
            .filter(|frame| frame.is_trailers())
            .and_then(|frame| frame.trailers().ok())
            .and_then(|trailers| trailers.get_str("grpc-status").map(str::to_string))
            .or_else(|| header(&value, "grpc-status"));
        match body {
            BodyKind::NotBase64 => {
                assert_ne!(grpc_status.as_deref(), Some("0"), "{value}");
                false
            }
            BodyKind::Valid if timeout_ok && path == ECHO_PATH => {
                assert_eq!(status_code, 200, "{value}");
                assert_eq!(
                    header(&value, "content-type").as_deref(),
                    Some(content_type.response_content_type()),
                    "{value}"
                );
                let frames = frames.unwrap_or_else(|| panic!("no frames in {value}"));
                assert_eq!(grpc_status.as_deref(), Some("0"), "{value}");
                let [message, trailers] = &frames[..] else {
                    panic!("a message and a trailer frame expected: {frames:?}");
                };
                assert!(trailers.is_trailers());
                let echo: Echo =
                    prost::Message::decode(message.payload().clone()).expect("an Echo message");
                assert_eq!(&echo.payload, payload);
                true
            }
            BodyKind::Valid if timeout_ok => {
                assert_eq!(status_code, 200, "{value}");
                assert_eq!(grpc_status.as_deref(), Some("12"), "{path:?}: {value}");
                let frames = frames.unwrap_or_else(|| panic!("no frames in {value}"));
                assert_eq!(frames.len(), 1, "only the trailer frame: {frames:?}");
                false
            }
            BodyKind::Valid | BodyKind::Garbage | BodyKind::Missing => false,
        }
    }
}

/// The proxy reads what the shim wrote: the same status, the same body bytes, the same
/// `content-type`.
fn check_proxy_reads(response: &[u8], value: &Value) {
    let reply =
        grpc_lambda_proxy::invoke::event::decode_response(&Bytes::copy_from_slice(response))
            .unwrap_or_else(|err| panic!("the proxy cannot read {value}: {err}"));
    assert_eq!(
        Some(u64::from(reply.status.as_u16())),
        value["statusCode"].as_u64()
    );
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        header(value, "content-type"),
        "{value}"
    );
    let body = value["body"].as_str().unwrap_or_default();
    let expected = if value["isBase64Encoded"].as_bool() == Some(true) {
        STANDARD.decode(body).expect("the shim writes valid base64")
    } else {
        body.as_bytes().to_vec()
    };
    assert_eq!(
        crate::proxy_response::body_bytes(reply),
        expected,
        "{value}"
    );
}

/// The frames of one echo request.
fn echo_request(payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    FrameEncoder::new()
        .encode_prost(
            &Echo {
                payload: payload.to_vec(),
            },
            &mut out,
        )
        .expect("small");
    out.to_vec()
}

/// Runs a future to completion on a runtime kept for the thread.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// Runs the shim on one event JSON.
fn invoke(json: &[u8]) -> Result<Vec<u8>, String> {
    static SHIM: OnceLock<Shim<Router>> = OnceLock::new();
    let shim = SHIM.get_or_init(|| Shim::new(Router::new().unary(ECHO_PATH, say)));
    let context = lambda_runtime::Context::default();
    block_on(shim.invoke(bytes::Bytes::copy_from_slice(json), &context))
}

/// A response header in any of the shapes: a map of strings, a map of lists, or pairs.
fn header(response: &Value, name: &str) -> Option<String> {
    let found = |headers: &Value| -> Option<String> {
        match headers {
            Value::Object(map) => map
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(values) => values.first()?.as_str().map(str::to_string),
                    _ => None,
                }),
            Value::Array(pairs) => pairs.iter().find_map(|pair| {
                let [n, v] = pair.as_array()?.as_slice() else {
                    return None;
                };
                n.as_str()?
                    .eq_ignore_ascii_case(name)
                    .then(|| v.as_str().map(str::to_string))?
            }),
            _ => None,
        }
    };
    found(&response["headers"]).or_else(|| found(&response["multiValueHeaders"]))
}

/// The frames of a response body, decoded as the content type says.
fn response_frames(response: &Value, content_type: ContentType) -> Option<Vec<Frame>> {
    let body = response["body"].as_str()?;
    let mut bytes = if response["isBase64Encoded"].as_bool() == Some(true) {
        STANDARD.decode(body).ok()?
    } else {
        body.as_bytes().to_vec()
    };
    if content_type.is_text() {
        bytes = grpc_lambda_core::base64::decode(&bytes).ok()?.to_vec();
    }
    let (decoded, _) = decode_chunks(&[Bytes::from(bytes)], usize::MAX);
    decoded.error.is_none().then_some(decoded.frames)
}

impl fmt::Debug for LambdaEventInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LambdaEventInput::Raw(raw) => write!(f, "LambdaEventInput::Raw({:?})", ByteStr(raw)),
            LambdaEventInput::Built {
                shape,
                method,
                path,
                content_type,
                timeout,
                body,
                double_encoded,
                payload,
            } => write!(
                f,
                "LambdaEventInput::Built {{ shape: Shape::{shape:?}, method: {method:?}.to_string(), \
                 path: {path:?}.to_string(), content_type: {:?}, timeout: {:?}, body: BodyKind::{body:?}, \
                 double_encoded: {double_encoded}, payload: {:?} }}",
                OptionString(content_type),
                OptionString(timeout),
                ByteStr(payload)
            ),
        }
    }
}

/// Writes an `Option<String>` as Rust: `Some("…".to_string())` or `None`.
struct OptionString<'a>(&'a Option<String>);

impl fmt::Debug for OptionString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => write!(f, "Some({text:?}.to_string())"),
            None => f.write_str("None"),
        }
    }
}
