//! The load test's in-process variant: the proxy's whole call path — the HTTP API 2.0 event
//! built and base64-encoded, the function's JSON response parsed, base64-decoded and cut into
//! frames, real HTTP/2 trailers — with a stub Lambda that runs in the same process, so no network
//! hop is measured. The stub does what `load_stub` does: parse the event, run the handler, answer
//! JSON. Usage: `load_inprocess 127.0.0.1:PORT [ADMIN_ADDR]`.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use grpc_lambda_core::{base64, FrameDecoder, FrameEncoder, Metadata, Status};
use grpc_lambda_proxy::config::{Args, Config};
use grpc_lambda_proxy::error::InvokeError;
use grpc_lambda_proxy::invoke::lambda::{classify, FunctionRef};
use grpc_lambda_proxy::invoke::{event, BoxFuture, Upstream, UpstreamReply, UpstreamRequest};
use grpc_lambda_proxy::route::Pattern;
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

/// The stub function: the same work as `load_stub`, without HTTP.
fn function(payload: &[u8]) -> Result<Bytes, String> {
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

struct InProcessLambda {
    function: FunctionRef,
}

impl Upstream for InProcessLambda {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        let payload = event::encode_event(&request);
        let reply = match function(&payload) {
            Ok(json) => classify(
                &self.function,
                http::StatusCode::OK,
                &http::HeaderMap::new(),
                &json,
                payload.len(),
            ),
            Err(reason) => Err(InvokeError::InvalidResponse { reason }),
        };
        Box::pin(async move { reply })
    }

    fn name(&self) -> &str {
        "in-process"
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50063".to_owned());
    let mut argv = vec![
        "load_inprocess".to_owned(),
        "--listen".to_owned(),
        listen,
        "--quiet".to_owned(),
        "--no-routes".to_owned(),
    ];
    if let Some(admin) = std::env::args().nth(2) {
        argv.extend(["--admin".to_owned(), admin]);
    }
    let config = Config::from_args(Args::parse_from(argv))?;
    let target: Arc<dyn Upstream> = Arc::new(InProcessLambda {
        function: FunctionRef::parse("stub"),
    });
    let running =
        grpc_lambda_proxy::server::start_with_routes(config, vec![(Pattern::parse("/"), target)])
            .await?;
    running.wait().await;
    Ok(())
}
