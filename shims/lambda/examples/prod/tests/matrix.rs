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
                        // Fail's ErrorInfo (reason BAD_MESSAGE, domain example.grpc-lambda).
                        details_json: Some(
                            r#"[{"type":"google.rpc.ErrorInfo","value":"CgtCQURfTUVTU0FHRRITZXhhbXBsZS5ncnBjLWxhbWJkYQ"}]"#,
                        ),
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

#[cfg(feature = "json")]
mod connect_checks {
    //! What each protocol answers for what goes wrong, and the parts of Connect beyond a plain
    //! call: details, JSON errors with the field and the byte, GET refusals, the protocol
    //! version, the timeout, gzip both ways, gRPC with JSON.

    use super::*;
    use grpc_lambda::Body;
    use grpc_lambda_core::base64;
    use prost::Message;
    use support::connect::{
        alive, alive_request, assert_expected, event, failure, Failure, Wire, ECHO_HEADERS, WIRES,
    };

    /// The API Gateway HTTP API sample.
    fn http_api() -> &'static str {
        FIXTURES
            .iter()
            .find(|(_, _, shape)| *shape == Shape::HttpApi)
            .unwrap()
            .1
    }

    async fn answer<H: Handler>(shim: &Shim<H>, event: &Value) -> support::Answer {
        read_answer(&invoke(shim, event).await, Shape::HttpApi)
    }

    fn json_body(answer: &support::Answer) -> Value {
        serde_json::from_slice(&answer.body).unwrap()
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ErrorInfo {
        #[prost(string, tag = "1")]
        reason: String,
        #[prost(string, tag = "2")]
        domain: String,
    }

    fn error_info() -> Vec<u8> {
        ErrorInfo {
            reason: "NO_ROW".into(),
            domain: "example".into(),
        }
        .encode_to_vec()
    }

    fn status_details() -> Vec<u8> {
        RpcStatus {
            code: 5,
            message: "no row".into(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                value: error_info(),
            }],
        }
        .encode_to_vec()
    }

    /// A service that answers every call `NOT_FOUND` with an `ErrorInfo` detail and a trailer.
    #[derive(Clone)]
    struct NotFound;

    impl tower::Service<http::Request<Body>> for NotFound {
        type Response = http::Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            let details = grpc_lambda_core::metadata::encode_binary_value(&status_details());
            let response = http::Response::builder()
                .header("content-type", "application/grpc")
                .header("x-row", "7")
                .header("grpc-status", "5")
                .header("grpc-message", "no%20row")
                .header("grpc-status-details-bin", details)
                .body(Body::default())
                .unwrap();
            std::future::ready(Ok(response))
        }
    }

    #[tokio::test]
    async fn errors_carry_their_details_in_every_protocol() {
        let descriptors =
            grpc_lambda::json::Descriptors::decode(grpc_lambda_example_prod::FILE_DESCRIPTOR_SET)
                .unwrap();
        let shim = Shim::new(NotFound).json(descriptors);
        let details_bin = grpc_lambda_core::metadata::encode_binary_value(&status_details());
        let value = String::from_utf8(base64::encode(&error_info()).to_vec()).unwrap();
        let details_json = format!(
            r#"[{{"type":"google.rpc.ErrorInfo","value":"{}"}}]"#,
            value.trim_end_matches('=')
        );
        let (request, json) = alive_request();
        for wire in WIRES {
            let message = wire.message(&request, &json);
            let event = event(http_api(), wire, "/api.Prod/Alive", &[], &message);
            let expected = failure(
                wire,
                &Failure {
                    code: 5,
                    connect: "not_found",
                    twirp: "not_found",
                    connect_http: 404,
                    twirp_http: 404,
                    message: "no row",
                    grpc_message: "no%20row",
                    trailers: vec![("x-row", "7")],
                    details_bin: Some(&details_bin),
                    details_json: Some(&details_json),
                },
            );
            assert_expected(
                &answer(&shim, &event).await,
                &expected,
                &format!("{wire:?}"),
            );
        }
    }

    #[tokio::test]
    async fn json_a_message_cannot_be_is_named_with_the_field_or_the_byte() {
        let shim = json_shim();
        let call = |wire: Wire, body: &[u8]| event(http_api(), wire, "/api.Prod/Alive", &[], body);
        // An unknown field, by name.
        let typo = br#"{"mesage": "matrix"}"#;
        let connect = answer(&shim, &call(Wire::ConnectJson, typo)).await;
        assert_eq!(connect.status, 400);
        let error = json_body(&connect);
        assert_eq!(error["code"], "invalid_argument");
        let text = error["message"].as_str().unwrap();
        assert!(text.contains(r#"unknown JSON field "mesage""#), "{text}");
        let twirp = answer(&shim, &call(Wire::TwirpJson, typo)).await;
        assert_eq!(twirp.status, 400);
        let error = json_body(&twirp);
        assert_eq!(error["code"], "malformed");
        assert!(error["msg"].as_str().unwrap().contains("mesage"), "{error}");
        // gRPC-Web: a body the library cannot parse is INTERNAL, naming the field as well.
        let web = answer(&shim, &call(Wire::GrpcWebJson, typo)).await;
        let frames = grpc_lambda_core::decode::decode_all(web.body.into(), 1 << 20).unwrap();
        let trailers = frames.last().unwrap().trailers().unwrap();
        assert_eq!(trailers.get_str("grpc-status"), Some("13"));
        assert!(trailers.get_str("grpc-message").unwrap().contains("mesage"));
        // Malformed JSON, with its byte offset.
        let malformed = br#"{"message": }"#;
        let connect = answer(&shim, &call(Wire::ConnectJson, malformed)).await;
        assert_eq!(connect.status, 400);
        let error = json_body(&connect);
        assert_eq!(error["code"], "invalid_argument");
        let text = error["message"].as_str().unwrap();
        assert!(text.contains("malformed JSON at byte 12"), "{text}");
        let twirp = answer(&shim, &call(Wire::TwirpJson, malformed)).await;
        assert_eq!(json_body(&twirp)["code"], "malformed");
    }

    #[tokio::test]
    async fn a_unary_protocol_is_refused_on_a_streaming_method_before_it_runs() {
        let shim = json_shim();
        // Connect's unimplemented (HTTP 501); Twirp's bad_route (HTTP 404).
        for (wire, status) in [(Wire::ConnectJson, 501), (Wire::TwirpJson, 404)] {
            let call = event(http_api(), wire, "/api.Prod/Count", &[], br#"{"n": 2}"#);
            let refused = answer(&shim, &call).await;
            assert_eq!(refused.status, status, "{wire:?}");
            let error = json_body(&refused);
            let message = error.get("message").or_else(|| error.get("msg")).unwrap();
            assert!(
                message
                    .as_str()
                    .unwrap()
                    .starts_with("method /api.Prod/Count streams its answer"),
                "{error}"
            );
        }
    }

    /// The gRPC-Web status of `answer`'s trailer frame.
    fn web_status(answer: &support::Answer) -> Option<String> {
        let frames =
            grpc_lambda_core::decode::decode_all(answer.body.clone().into(), 1 << 20).unwrap();
        let trailers = frames.last().unwrap().trailers().unwrap();
        trailers.get_str("grpc-status").map(str::to_owned)
    }

    #[tokio::test]
    async fn through_the_proxy_a_connect_client_gets_its_own_code_for_json_it_cannot_read() {
        let shim = json_shim();
        let typo = br#"{"mesage": "matrix"}"#;
        let proxy = FIXTURES
            .iter()
            .find(|(_, _, shape)| *shape == Shape::Proxy)
            .unwrap()
            .1;
        let header = grpc_lambda_protocol::CLIENT_PROTOCOL_HEADER;
        // The proxy's hop for a Connect client: INVALID_ARGUMENT, which the proxy answers as
        // Connect's invalid_argument (HTTP 400), as the function answers the client directly.
        let hop = event(
            proxy,
            Wire::GrpcWebJson,
            "/api.Prod/Alive",
            &[(header, "connect")],
            typo,
        );
        let from_proxy = |response: &Value| read_answer(response, Shape::Proxy);
        let hop = from_proxy(&invoke(&shim, &hop).await);
        assert_eq!(web_status(&hop).as_deref(), Some("3"));
        // A gRPC-Web client of the proxy, and any front door's event, keep gRPC's INTERNAL: the
        // header means something only on the proxy's events.
        let web = event(proxy, Wire::GrpcWebJson, "/api.Prod/Alive", &[], typo);
        let web = from_proxy(&invoke(&shim, &web).await);
        assert_eq!(web_status(&web).as_deref(), Some("13"));
        let door = event(
            http_api(),
            Wire::GrpcWebJson,
            "/api.Prod/Alive",
            &[(header, "connect")],
            typo,
        );
        assert_eq!(
            web_status(&answer(&shim, &door).await).as_deref(),
            Some("13")
        );
    }

    #[tokio::test]
    async fn a_get_is_refused_naming_why() {
        let (request, json) = alive_request();
        let message = Wire::ConnectGetJson.message(&request, &json);
        let get = event(
            http_api(),
            Wire::ConnectGetJson,
            "/api.Prod/Alive",
            &[],
            &message,
        );
        // Without the descriptors, the shim cannot know Alive is side-effect free.
        let shim = Shim::new(ProdServer::new(ProdService));
        let refused = answer(&shim, &get).await;
        assert_eq!(refused.status, 501);
        let error = json_body(&refused);
        assert_eq!(error["code"], "unimplemented");
        assert_eq!(
            error["message"],
            "a Connect GET to /api.Prod/Alive needs the service's descriptors, and this function \
             serves protobuf only: hand them to the shim with Shim::json (feature json)"
        );
        // A POST needs no descriptors for protobuf.
        let proto = Wire::ConnectProto.message(&request, &json);
        let post = event(
            http_api(),
            Wire::ConnectProto,
            "/api.Prod/Alive",
            &ECHO_HEADERS,
            &proto,
        );
        assert_expected(
            &answer(&shim, &post).await,
            &alive(Wire::ConnectProto),
            "POST",
        );
    }

    #[tokio::test]
    async fn connect_headers_are_read_and_checked() {
        let shim = json_shim();
        let (request, json) = alive_request();
        let message = Wire::ConnectProto.message(&request, &json);
        let with = |headers: &[(&str, &str)]| {
            event(
                http_api(),
                Wire::ConnectProto,
                "/api.Prod/Alive",
                headers,
                &message,
            )
        };
        // Version 1, or none, is Connect's; any other is refused, naming it.
        let ok = answer(&shim, &with(&[("connect-protocol-version", "1")])).await;
        assert_eq!(ok.status, 200);
        let refused = answer(&shim, &with(&[("connect-protocol-version", "2")])).await;
        assert_eq!(refused.status, 400);
        let error = json_body(&refused);
        assert_eq!(error["code"], "invalid_argument");
        assert!(error["message"].as_str().unwrap().contains('2'), "{error}");
        // connect-timeout-ms is the call's deadline, as grpc-timeout is: a stream slower than
        // it ends with deadline_exceeded in its end-stream message.
        let slow = grpc_lambda_example_prod::api::CountRequest {
            n: 3,
            delay_ms: 200,
        };
        let stream = event(
            http_api(),
            Wire::ConnectStreamProto,
            "/api.Prod/Count",
            &[("connect-timeout-ms", "50")],
            &slow.encode_to_vec(),
        );
        let late = answer(&shim, &stream).await;
        assert_eq!(late.status, 200);
        let body = bytes::Bytes::from(late.body);
        let frames: Vec<_> = grpc_lambda_core::decode::frames_in(
            &body,
            1 << 20,
            grpc_lambda_core::Envelope::Connect,
        )
        .map(Result::unwrap)
        .collect();
        let end = frames.last().unwrap();
        assert!(end.is_end_stream());
        let end: Value = serde_json::from_slice(end.payload()).unwrap();
        assert_eq!(end["error"]["code"], "deadline_exceeded", "{end}");
        let malformed = answer(&shim, &with(&[("connect-timeout-ms", "soon")])).await;
        assert_eq!(malformed.status, 400);
    }

    #[tokio::test]
    async fn gzip_both_ways_under_the_message_limit() {
        let shim = json_shim();
        let long = "x".repeat(4096);
        let request = grpc_lambda_example_prod::api::AliveRequest {
            message: long.clone(),
        };
        let compressed = grpc_lambda_core::gzip::compress(&request.encode_to_vec());
        let event = event(
            http_api(),
            Wire::ConnectProto,
            "/api.Prod/Alive",
            &[
                ("content-encoding", "gzip"),
                ("accept-encoding", "br, gzip"),
            ],
            &compressed,
        );
        let answer = answer(&shim, &event).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-encoding"), Some("gzip"));
        let body = grpc_lambda_core::gzip::decompress(&answer.body, 1 << 20).unwrap();
        let expected = grpc_lambda_example_prod::api::AliveResponse {
            message: format!("Hello, world.{long}"),
        };
        assert_eq!(body, expected.encode_to_vec());
        // A bomb stops at the message limit.
        let bomb = grpc_lambda_core::gzip::compress(&vec![0; 5 << 20]);
        let event = support::connect::event(
            http_api(),
            Wire::ConnectProto,
            "/api.Prod/Alive",
            &[("content-encoding", "gzip")],
            &bomb,
        );
        let refused = super::invoke(&shim, &event).await;
        let refused = read_answer(&refused, Shape::HttpApi);
        assert_ne!(refused.status, 200);
        let error = json_body(&refused);
        assert!(
            error["message"].as_str().unwrap().contains("4194304"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn grpc_with_json_frames_json_messages() {
        let shim = json_shim();
        let (_, json) = alive_request();
        let body = support::connect::envelope(0, &serde_json::to_vec(&json).unwrap());
        let mut headers = vec![("content-type", "application/grpc+json")];
        headers.extend(ECHO_HEADERS);
        let event = support::grpc_event(
            http_api(),
            "/api.Prod/Alive",
            &headers,
            std::str::from_utf8(&base64::encode(&body)).unwrap(),
        );
        let answer = answer(&shim, &event).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/grpc+json"));
        assert_eq!(
            answer.body,
            support::connect::envelope(0, br#"{"message":"Hello, world.matrix"}"#)
        );
    }

    #[tokio::test]
    async fn a_connect_json_stream_leaves_message_by_message_under_response_streaming() {
        use grpc_lambda::lambda_runtime::FunctionResponse;
        let shim = std::sync::Arc::new(json_shim().response_streaming(true));
        let (request, json) = support::connect::count_request();
        for (fixture, text, _) in FIXTURES.iter().filter(|(name, _, _)| {
            name.starts_with("lambda_function_url") || name.starts_with("proxy")
        }) {
            for wire in [Wire::ConnectStreamJson, Wire::ConnectStreamProto] {
                let message = wire.message(&request, &json);
                let event = event(text, wire, "/api.Prod/Count", &ECHO_HEADERS, &message);
                let event: grpc_lambda::Event = serde_json::from_value(event).unwrap();
                let FunctionResponse::StreamingResponse(response) = std::sync::Arc::clone(&shim)
                    .handle_streaming(event, Default::default())
                    .await
                    .unwrap()
                else {
                    panic!("{fixture}: a stream");
                };
                let expected = support::connect::count(wire);
                let prelude = &response.metadata_prelude;
                assert_eq!(prelude.status_code, 200);
                let mut headers: Vec<(String, String)> = prelude
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                headers.sort_unstable();
                let mut want = expected.headers.clone();
                want.sort_unstable();
                assert_eq!(headers, want, "{fixture} × {wire:?}");
                let mut stream = std::pin::pin!(response.stream);
                let mut body = Vec::new();
                while let Some(chunk) =
                    std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx))
                        .await
                {
                    body.extend_from_slice(&chunk.unwrap());
                }
                assert_eq!(body, expected.body, "{fixture} × {wire:?}");
            }
        }
    }
}
