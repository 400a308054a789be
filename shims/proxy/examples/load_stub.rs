//! The load test's stub upstream: a Lambda Invoke API on loopback that answers every
//! invocation at once, running the same handler as `load_direct` on the event's request.
//! Usage: `load_stub 127.0.0.1:PORT`; point the proxy at it with `--lambda-endpoint`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::{base64, FrameDecoder, FrameEncoder, Metadata, Status};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prost::Message;

#[allow(missing_docs, clippy::all, clippy::pedantic, dead_code)]
mod api {
    tonic::include_proto!("api");
}

#[path = "support/load_handler.rs"]
mod load_handler;

#[derive(serde::Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    body: std::borrow::Cow<'a, str>,
}

fn answer(payload: &[u8]) -> Result<Bytes, String> {
    let event: Event<'_> = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let body = base64::decode(event.body.as_bytes()).map_err(|e| e.to_string())?;
    let mut decoder = FrameDecoder::new();
    decoder.push(body);
    let frame = decoder
        .decode()
        .map_err(|e| e.to_string())?
        .ok_or("no message")?;
    let request = api::AliveRequest::decode(frame.into_payload()).map_err(|e| e.to_string())?;
    let response = api::AliveResponse {
        message: load_handler::alive(&request.message),
    };
    let encoder = FrameEncoder::new();
    let mut frames = BytesMut::new();
    encoder
        .encode_prost(&response, &mut frames)
        .map_err(|e| e.to_string())?;
    encoder
        .encode_status(&Status::ok(), &Metadata::new(), &mut frames)
        .map_err(|e| e.to_string())?;
    let mut json = Vec::with_capacity(128 + base64::encoded_len(frames.len()));
    json.extend_from_slice(
        br#"{"statusCode":200,"headers":[["content-type","application/grpc-web+proto"]],"isBase64Encoded":true,"body":""#,
    );
    base64::encode_into(&frames, &mut json);
    json.extend_from_slice(b"\"}");
    Ok(Bytes::from(json))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50062".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                let payload = request.into_body().collect().await.map(|c| c.to_bytes());
                let response = match payload.map_err(|e| e.to_string()).and_then(|p| answer(&p)) {
                    Ok(json) => http::Response::new(Full::new(json)),
                    Err(err) => {
                        let mut response = http::Response::new(Full::new(Bytes::from(err)));
                        *response.status_mut() = http::StatusCode::BAD_REQUEST;
                        response
                    }
                };
                Ok::<_, Infallible>(response)
            });
            // HTTP/1.1, or HTTP/2 with prior knowledge for a proxy started with --lambda-h2c.
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder.http2().max_concurrent_streams(1000);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
