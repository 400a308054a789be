//! The Lambda shim: one whole invocation, event JSON in → response JSON out, for the example
//! service (`api.Prod/Alive`, gRPC-Web, behind an HTTP API), against `lambda_http` + `tonic-web`
//! serving the same tonic service, on the same event.
//!
//! - P5: ours ÷ `lambda_http` + `tonic-web`, at 1 KiB and 1 MiB messages.
//!
//! Both sides start from the event's bytes and end with the response's bytes, as the Lambda
//! runtime hands them over and takes them back; neither includes the Runtime API's HTTP.

use crate::{compare, consume, Line, Op, Settings};
use bytes::{Bytes, BytesMut};
use grpc_lambda::lambda_runtime::{Context, LambdaEvent};
use grpc_lambda::{Handler, Router, Shim};
use grpc_lambda_core::{base64, FrameEncoder};
use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::api::{AliveRequest, AliveResponse};
use grpc_lambda_example_prod::ProdService;
use tower::{Layer, Service, ServiceExt};

/// Message sizes of P5.
pub const SIZES: [usize; 2] = [1024, 1024 * 1024];

/// `len` printable bytes, the same on every run.
pub fn message(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect()
}

/// An HTTP API (payload 2.0) event calling `/api.Prod/Alive` with gRPC-Web, the body base64 as
/// API Gateway sends binary bodies. Its headers are a browser's gRPC-Web call plus those API
/// Gateway adds to every request (`x-amzn-trace-id`, `x-forwarded-*`), as in the sample events
/// (`example-apigw-v2-request-no-authorizer.json`).
pub fn event(len: usize) -> Bytes {
    let request = AliveRequest {
        message: message(len),
    };
    let mut frames = BytesMut::new();
    FrameEncoder::with_max_message_len(usize::MAX)
        .encode_prost(&request, &mut frames)
        .expect("a frame");
    let body = String::from_utf8(base64::encode(&frames).to_vec()).expect("base64 is ASCII");
    serde_json::to_vec(&serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/api.Prod/Alive",
        "rawQueryString": "",
        "headers": {
            "accept": "application/grpc-web+proto",
            "content-length": frames.len().to_string(),
            "content-type": "application/grpc-web+proto",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "user-agent": USER_AGENT,
            "x-amzn-trace-id": "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c",
            "x-forwarded-for": "192.0.2.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-grpc-web": "1",
            "x-user-agent": "grpc-web-javascript/0.1",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": "/api.Prod/Alive",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": USER_AGENT,
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "10/Mar/2026:00:00:00 +0000",
            "timeEpoch": 1_773_100_800_000u64,
        },
        "body": body,
        "isBase64Encoded": true,
    }))
    .expect("JSON")
    .into()
}

/// [`event`] as a Lambda Function URL sends it: the same HTTP API (payload 2.0)
/// event, with the Function URL's domain in `requestContext.domainName` and `host`.
pub fn function_url_event(len: usize) -> Bytes {
    let mut event: serde_json::Value =
        serde_json::from_slice(&event(len)).expect("an HTTP API event");
    let domain = serde_json::Value::from("abcdef1234.lambda-url.us-east-1.on.aws");
    event["requestContext"]["domainName"] = domain.clone();
    event["headers"]["host"] = domain;
    serde_json::to_vec(&event).expect("JSON").into()
}

/// The browser that sends [`event`].
const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The message the service answers `event(len)` with.
pub fn expected_reply(len: usize) -> AliveResponse {
    AliveResponse {
        message: format!("Hello, world.{}", message(len)),
    }
}

/// The invocation's context as the Lambda runtime fills it in: a request id, the function's ARN,
/// an X-Ray trace id, and a deadline (15 minutes from now, Lambda's longest timeout). With the
/// default context (deadline 0, "unknown") ours would skip its deadline work (the `grpc-timeout`
/// it hands the service, the timer around the call), which it always does in Lambda.
pub fn lambda_context() -> Context {
    let mut context = Context::default();
    context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:grpc-lambda-prod".to_owned();
    context.xray_trace_id = Some(
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_owned(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    context.deadline = u64::try_from(now.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(15 * 60 * 1000);
    context
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The shim in process around a handler, invoked as the Lambda runtime invokes it.
pub struct Invoker<H: Handler> {
    runtime: tokio::runtime::Runtime,
    shim: Shim<H>,
    context: Context,
}

impl<H: Handler> Invoker<H> {
    /// The shim around `handler`, with [`lambda_context`].
    pub fn new(handler: H) -> Self {
        Self::with_shim(Shim::new(handler))
    }

    /// The given shim, with [`lambda_context`].
    pub fn with_shim(shim: Shim<H>) -> Self {
        Self {
            runtime: runtime(),
            shim,
            context: lambda_context(),
        }
    }

    /// One invocation, from the event's bytes as the Lambda runtime received them.
    pub fn invoke(&self, event: &Bytes) -> Vec<u8> {
        self.runtime
            .block_on(self.shim.invoke(event.clone(), &self.context))
            .expect("an answer")
    }
}

/// Ours: the example function as its `main` serves it, tonic's generated server (`ProdServer`)
/// as a `tower::Service`, the one way the shim serves a tonic service and the way the anchor
/// serves it.
pub type Ours = Invoker<ProdServer<ProdService>>;

impl Default for Ours {
    fn default() -> Self {
        Self::new(ProdServer::new(ProdService))
    }
}

/// Context: the same `Alive` as a plain prost handler ([`Router::unary`]) rather than a tonic
/// service: the shim with no tonic at all.
pub fn ours_prost() -> Invoker<Router> {
    Invoker::new(Router::new().unary(
        "/api.Prod/Alive",
        |request: grpc_lambda::Request<AliveRequest>| async move {
            let message = format!("Hello, world.{}", request.message().message);
            Ok(grpc_lambda::Response::new(AliveResponse { message }))
        },
    ))
}

/// Context: tonic's own call, which both sides make: the request the event stands for built
/// (the event's 11 headers into a `HeaderMap`, each value checked and copied, as the anchor
/// reads them; ours takes the 6 common values as constants, so for ours this overstates the
/// shared part a little; the gRPC frames as the body), the example's tonic server called, its
/// answer drained (the message frame, then the trailers). No event JSON, no base64, no answer
/// JSON, no extensions: what is left of an invocation once the adapter's own work is taken away.
pub struct TonicCall {
    runtime: tokio::runtime::Runtime,
    service: ProdServer<ProdService>,
    headers: Vec<(http::HeaderName, Vec<u8>)>,
    frames: Bytes,
}

impl TonicCall {
    /// The call `event(len)` stands for.
    pub fn new(len: usize) -> Self {
        let json: serde_json::Value = serde_json::from_slice(&event(len)).expect("the event");
        let headers = json["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .map(|(name, value)| {
                let value = value.as_str().expect("a header value");
                (
                    http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                    value.as_bytes().to_vec(),
                )
            })
            .collect();
        let body = json["body"].as_str().expect("a body");
        Self {
            runtime: runtime(),
            service: ProdServer::new(ProdService),
            headers,
            frames: base64::decode(body.as_bytes()).expect("base64"),
        }
    }

    /// One call: the request built, the service called, the answer drained; the length of its
    /// messages' frames.
    pub fn call(&self) -> usize {
        let mut len = 0;
        self.run(|data| len += data.len());
        len
    }

    /// The frames of one call's answer, joined.
    pub fn answer(&self) -> Vec<u8> {
        let mut frames = Vec::new();
        self.run(|data| frames.extend_from_slice(data));
        frames
    }

    fn run(&self, mut each: impl FnMut(&Bytes)) {
        use http_body_util::BodyExt;
        self.runtime.block_on(async {
            let mut headers = http::HeaderMap::with_capacity(16);
            for (name, value) in &self.headers {
                let value = http::HeaderValue::from_bytes(value).expect("a header value");
                headers.append(name.clone(), value);
            }
            let mut request = http::Request::new(http_body_util::Full::new(self.frames.clone()));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = http::Uri::from_static("/api.Prod/Alive");
            *request.headers_mut() = headers;
            request.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/grpc"),
            );
            let mut service = self.service.clone();
            let response =
                ServiceExt::<http::Request<http_body_util::Full<Bytes>>>::ready(&mut service)
                    .await
                    .expect("ready")
                    .call(request)
                    .await
                    .expect("an answer");
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.expect("a frame").into_data() {
                    each(&data);
                }
            }
        });
    }
}

/// The anchor: `lambda_http`'s adapter around `tonic-web` around the same tonic server.
pub struct LambdaHttpTonicWeb {
    runtime: tokio::runtime::Runtime,
    service: tonic_web::GrpcWebService<ProdServer<ProdService>>,
    context: Context,
}

impl Default for LambdaHttpTonicWeb {
    fn default() -> Self {
        Self {
            runtime: runtime(),
            service: tonic_web::GrpcWebLayer::new().layer(ProdServer::new(ProdService)),
            context: lambda_context(),
        }
    }
}

impl LambdaHttpTonicWeb {
    /// One invocation, as `lambda_http::run` does it: the event deserialized into its
    /// `LambdaRequest` (through `serde_path_to_error`, as `lambda_runtime` deserializes every
    /// event), the adapter called, its `LambdaResponse` serialized.
    pub fn invoke(&self, event: &Bytes) -> Vec<u8> {
        self.runtime.block_on(async {
            // As lambda_http reads an event built with `apigw_http` alone, whatever features
            // other crates in this build turn on (`lambda-grpc-web` turns on its defaults, and
            // with them every event is tried as a REST API event first).
            let raw: Box<serde_json::value::RawValue> =
                serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(event))
                    .expect("a JSON event");
            let request = lambda_http::request::LambdaRequest::ApiGatewayV2(
                serde_json::from_str(raw.get()).expect("an HTTP API event"),
            );
            let mut adapter = lambda_http::Adapter::from(self.service.clone());
            let adapter = adapter.ready().await.expect("ready");
            let response = adapter
                .call(LambdaEvent::new(request, self.context.clone()))
                .await
                .expect("an answer");
            serde_json::to_vec(&response).expect("JSON")
        })
    }
}

/// The gRPC-Web body of a response JSON, base64-decoded, whichever side produced it.
pub fn response_frames(response: &[u8]) -> Vec<u8> {
    let json: serde_json::Value = serde_json::from_slice(response).expect("response JSON");
    let body = json["body"].as_str().expect("a body");
    base64::decode(body.as_bytes()).expect("base64").to_vec()
}

/// The gRPC frame of [`expected_reply`].
pub fn expected_frame(len: usize) -> BytesMut {
    let mut frame = BytesMut::new();
    FrameEncoder::with_max_message_len(usize::MAX)
        .encode_prost(&expected_reply(len), &mut frame)
        .expect("a frame");
    frame
}

/// Checks both sides answer the same message for `event(len)`, and tonic's own call its frame.
pub fn check(len: usize, ours: &Ours, anchor: &LambdaHttpTonicWeb, tonic: &TonicCall) {
    let event = event(len);
    assert_eq!(
        tonic.answer(),
        expected_frame(len),
        "tonic's own call answers the expected message"
    );
    check_answers(
        len,
        [
            ("ours", ours.invoke(&event)),
            ("lambda_http", anchor.invoke(&event)),
        ],
    );
}

/// Checks each side's answer to `event(len)` (response JSON) begins with the expected message.
pub fn check_answers(len: usize, answers: impl IntoIterator<Item = (&'static str, Vec<u8>)>) {
    let expected = expected_frame(len);
    for (side, response) in answers {
        let frames = response_frames(&response);
        assert!(
            frames.starts_with(&expected),
            "{side} answers the expected message"
        );
    }
}

/// The P5 goal at each size: ours ÷ the anchor.
fn goal(len: usize) -> f64 {
    if len <= 1024 {
        0.40
    } else {
        0.25
    }
}

/// P5: ours is the example function as its `main` serves it (tonic's server as a
/// `tower::Service`); the same `Alive` as a prost handler, and tonic's own call, are context.
pub fn report(settings: &Settings) -> Vec<Line> {
    let ours = Ours::default();
    let anchor = LambdaHttpTonicWeb::default();
    let prost = ours_prost();
    SIZES
        .iter()
        .map(|&len| {
            let tonic = TonicCall::new(len);
            check(len, &ours, &anchor, &tonic);
            let event = event(len);
            check_answers(len, [("the prost handler", prost.invoke(&event))]);
            let comparison = compare(
                settings,
                Op::new("ours", || consume(ours.invoke(&event))),
                vec![
                    Op::new("lambda_http + tonic-web", || consume(anchor.invoke(&event))),
                    Op::context("ours, Alive as a prost handler (no tonic)", || {
                        consume(prost.invoke(&event))
                    }),
                    Op::context("tonic's own call: request built, answer drained", || {
                        consume(tonic.call())
                    }),
                ],
            );
            let size = crate::size_label(len);
            let mut line = Line::from_comparison(
                "P5",
                format!("shim invocation time, ours ÷ lambda_http+tonic-web, {size}"),
                goal(len),
                event.len(),
                &comparison,
            );
            if let ([(_, _, anchor), _, (_, _, tonic)], ours) =
                (&comparison.anchors[..], comparison.ours)
            {
                line.details.push(format!(
                    "above tonic's own call, which both sides make: {:.2} µs against {:.2} µs, \
                     ratio {:.3}",
                    (ours - tonic) / 1e3,
                    (anchor - tonic) / 1e3,
                    (ours - tonic) / (anchor - tonic)
                ));
            }
            line
        })
        .collect()
}
