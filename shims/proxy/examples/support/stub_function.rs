//! The stub Lambda function both load-test upstreams run (`load_stub` behind an Invoke API on
//! loopback, `load_inprocess` inside the proxy's process): parse the event, run the handler,
//! answer the JSON response. Included by `#[path]`; the including file provides `api` and
//! `load_handler`.

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::{base64, FrameDecoder, FrameEncoder, Metadata, Status};
use prost::Message;

#[derive(serde::Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    body: std::borrow::Cow<'a, str>,
}

/// The function's JSON response to an invocation `payload` (the event JSON).
pub fn answer(payload: &[u8]) -> Result<Bytes, String> {
    let event: Event<'_> = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let body = base64::decode(event.body.as_bytes()).map_err(|e| e.to_string())?;
    let mut decoder = FrameDecoder::new();
    decoder.push(body);
    let frame = decoder
        .decode()
        .map_err(|e| e.to_string())?
        .ok_or("no message")?;
    let request =
        super::api::AliveRequest::decode(frame.into_payload()).map_err(|e| e.to_string())?;
    let response = super::api::AliveResponse {
        message: super::load_handler::alive(&request.message),
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
