//! Connect and Twirp with protobuf from a `Router` (no descriptors needed), the refusals each
//! protocol answers in its own form, and Connect under response streaming.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use bytes::Bytes;
use grpc_lambda::lambda_runtime::{Context, FunctionResponse};
use grpc_lambda::{Request, Response, Router, Shim, Status};
use grpc_lambda_core::base64;
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    message: String,
    #[prost(uint32, tag = "2")]
    count: u32,
}

async fn echo(request: Request<Echo>) -> Result<Response<Echo>, Status> {
    let mut response = Response::new(request.into_message());
    response
        .trailers_mut()
        .insert("x-cost", http::HeaderValue::from_static("3"));
    Ok(response)
}

async fn ticks(
    request: Request<Echo>,
) -> Result<Response<impl futures_core::Stream<Item = Result<Echo, Status>>>, Status> {
    let count = request.message().count;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for i in 0..count {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let _ = tx.send(Ok(Echo {
                message: format!("tick {i}"),
                count: i,
            }));
        }
    });
    Ok(Response::new(Stream(rx)))
}

struct Stream(tokio::sync::mpsc::UnboundedReceiver<Result<Echo, Status>>);

impl futures_core::Stream for Stream {
    type Item = Result<Echo, Status>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

fn shim() -> Shim<Router> {
    Shim::new(
        Router::new()
            .unary("/test.Echo/Echo", echo)
            .server_streaming("/test.Echo/Ticks", ticks),
    )
}

fn encode(message: &Echo) -> Vec<u8> {
    prost::Message::encode_to_vec(message)
}

fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A Function URL event (payload 2.0).
fn event(method: &str, path: &str, headers: Value, body: &[u8]) -> Value {
    json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path},
                           "domainName": "abc.lambda-url.us-east-1.on.aws"},
        "body": String::from_utf8(base64::encode(body).to_vec()).unwrap(),
        "isBase64Encoded": true,
    })
}

async fn invoke(shim: &Shim<Router>, event: &Value) -> Value {
    let json = serde_json::to_vec(event).unwrap();
    serde_json::from_slice(&shim.invoke(json, &Context::default()).await.unwrap()).unwrap()
}

fn body(response: &Value) -> Vec<u8> {
    let text = response["body"].as_str().unwrap();
    if response["isBase64Encoded"] == true {
        base64::decode(text.as_bytes()).unwrap().to_vec()
    } else {
        text.as_bytes().to_vec()
    }
}

#[tokio::test]
async fn connect_and_twirp_protobuf_need_no_descriptors() {
    let shim = shim();
    let sent = Echo {
        message: "hi".into(),
        count: 0,
    };
    let connect = invoke(
        &shim,
        &event(
            "POST",
            "/test.Echo/Echo",
            json!({"content-type": "application/proto", "connect-protocol-version": "1"}),
            &encode(&sent),
        ),
    )
    .await;
    assert_eq!(connect["statusCode"], 200);
    assert_eq!(connect["headers"]["content-type"], "application/proto");
    assert_eq!(connect["headers"]["trailer-x-cost"], "3");
    assert_eq!(body(&connect), encode(&sent));

    let twirp = invoke(
        &shim,
        &event(
            "POST",
            "/twirp/test.Echo/Echo",
            json!({"content-type": "application/protobuf"}),
            &encode(&sent),
        ),
    )
    .await;
    assert_eq!(twirp["statusCode"], 200);
    assert_eq!(twirp["headers"]["content-type"], "application/protobuf");
    assert_eq!(twirp["headers"]["x-cost"], "3");
    assert_eq!(body(&twirp), encode(&sent));

    // The Twirp path is Twirp's: a gRPC call to it names no method.
    let grpc = invoke(
        &shim,
        &event(
            "POST",
            "/twirp/test.Echo/Echo",
            json!({"content-type": "application/grpc-web+proto"}),
            &envelope(0, &encode(&sent)),
        ),
    )
    .await;
    let frames = grpc_lambda_core::decode::decode_all(body(&grpc).into(), 1 << 20).unwrap();
    let trailers = frames.last().unwrap().trailers().unwrap();
    assert_eq!(trailers.get_str("grpc-status"), Some("12"));
}

#[tokio::test]
async fn each_protocol_refuses_in_its_own_form() {
    let shim = shim();
    // Twirp: an unknown method is bad_route, HTTP 404.
    let twirp = invoke(
        &shim,
        &event(
            "POST",
            "/twirp/test.Echo/Nope",
            json!({"content-type": "application/protobuf"}),
            b"",
        ),
    )
    .await;
    assert_eq!(twirp["statusCode"], 404);
    assert_eq!(twirp["headers"]["content-type"], "application/json");
    let error: Value = serde_json::from_slice(&body(&twirp)).unwrap();
    assert_eq!(error["code"], "bad_route");
    assert_eq!(error["msg"], "method /test.Echo/Nope is not implemented");
    // Connect streaming: a version it does not speak, in the end-stream message.
    let stream = invoke(
        &shim,
        &event(
            "POST",
            "/test.Echo/Ticks",
            json!({"content-type": "application/connect+proto", "connect-protocol-version": "7"}),
            &envelope(0, &[]),
        ),
    )
    .await;
    assert_eq!(stream["statusCode"], 200);
    assert_eq!(
        stream["headers"]["content-type"],
        "application/connect+proto"
    );
    let end = body(&stream);
    assert_eq!(end[0], 0x02, "an end-stream message");
    let error: Value = serde_json::from_slice(&end[5..]).unwrap();
    assert_eq!(error["error"]["code"], "invalid_argument");
    // A Connect request message over the limit names both numbers.
    let small = Shim::new(Router::new().unary("/test.Echo/Echo", echo)).max_message_len(8);
    let large = invoke(
        &small,
        &event(
            "POST",
            "/test.Echo/Echo",
            json!({"content-type": "application/proto"}),
            &[0; 9],
        ),
    )
    .await;
    assert_eq!(large["statusCode"], 429);
    let error: Value = serde_json::from_slice(&body(&large)).unwrap();
    assert_eq!(error["code"], "resource_exhausted");
    assert_eq!(
        error["message"],
        "request message of 9 bytes is larger than the limit of 8 bytes"
    );
}

#[tokio::test]
async fn a_connect_stream_through_response_streaming() {
    let shim = std::sync::Arc::new(shim().response_streaming(true));
    let sent = Echo {
        message: String::new(),
        count: 3,
    };
    let event = event(
        "POST",
        "/test.Echo/Ticks",
        json!({"content-type": "application/connect+proto"}),
        &envelope(0, &encode(&sent)),
    );
    let buffered = body(&invoke(&shim, &event).await);
    let event: grpc_lambda::Event = serde_json::from_value(event).unwrap();
    let FunctionResponse::StreamingResponse(response) = shim
        .clone()
        .handle_streaming(event, Context::default())
        .await
        .unwrap()
    else {
        panic!("a Function URL with response streaming gets a stream");
    };
    assert_eq!(response.metadata_prelude.status_code, 200);
    assert_eq!(
        response.metadata_prelude.headers["content-type"],
        "application/connect+proto"
    );
    let mut stream = std::pin::pin!(response.stream);
    let mut streamed = Vec::new();
    while let Some(chunk) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await
    {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, buffered);
    let streamed = Bytes::from(streamed);
    let frames = grpc_lambda_core::decode::frames_in(
        &streamed,
        1 << 20,
        grpc_lambda_core::Envelope::Connect,
    )
    .map(Result::unwrap)
    .collect::<Vec<_>>();
    assert_eq!(frames.len(), 4, "three messages and the end-stream message");
    assert!(frames[3].is_end_stream());
    assert_eq!(frames[3].payload(), b"{}".as_slice());
}

/// Many small compressed messages must not inflate past what one request may hold: each is
/// under the message limit, all of them together are not.
#[cfg(feature = "gzip")]
#[tokio::test]
async fn compressed_messages_are_held_to_one_requests_worth_together() {
    let shim = shim();
    // 1 MiB of zeros compresses to about 1 KiB; eight of them are 8 MiB decompressed, over the
    // 6 MiB one Lambda request can carry.
    let zeros = Echo {
        message: "\0".repeat(1 << 20),
        count: 1,
    };
    let bomb = grpc_lambda_core::gzip::compress(&encode(&zeros));
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let call = |messages: usize| {
        let mut sent = Vec::new();
        for _ in 0..messages {
            sent.extend(envelope(0x01, &bomb));
        }
        event(
            "POST",
            "/test.Echo/Ticks",
            json!({"content-type": "application/connect+proto", "connect-content-encoding": "gzip"}),
            &sent,
        )
    };
    let refused = body(&invoke(&shim, &call(8)).await);
    assert_eq!(refused[0], 0x02, "only the end-stream message");
    let error: Value = serde_json::from_slice(&refused[5..]).unwrap();
    assert_eq!(error["error"]["code"], "resource_exhausted", "{error}");
    assert_eq!(
        error["error"]["message"],
        format!(
            "the request's messages come to more than {} bytes decompressed",
            grpc_lambda_protocol::LAMBDA_REQUEST_LIMIT
        )
    );
    // One of them is a call like any other.
    let answered = body(&invoke(&shim, &call(1)).await);
    assert_eq!(answered[0], 0x00, "a message first");
}
