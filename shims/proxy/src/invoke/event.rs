//! The event the proxy sends a function, and the response it reads back.
//!
//! The event is an API Gateway HTTP API (payload format 2.0) event, so any function that serves
//! HTTP API events can sit behind the proxy. Two fields are added for the grpc-lambda shim, which
//! a plain 2.0 consumer ignores: `grpcLambda: 1` and `multiValueHeaders`, which keeps repeated
//! metadata as separate values (2.0's `headers` can only join them with commas). The shim then
//! answers with ordered `[name, value]` header pairs, so repeated response metadata survives too.
//!
//! ```json
//! {
//!   "version": "2.0", "routeKey": "$default", "rawPath": "/api.Prod/Alive", "rawQueryString": "",
//!   "headers": {"content-type": "application/grpc-web+proto", "x-echo": "a,b"},
//!   "multiValueHeaders": {"content-type": ["application/grpc-web+proto"], "x-echo": ["a", "b"]},
//!   "requestContext": {"http": {"method": "POST", "path": "/api.Prod/Alive", "protocol": "HTTP/2",
//!                      "sourceIp": "127.0.0.1", "userAgent": "grpc-go/1.70"},
//!                      "routeKey": "$default", "stage": "$default", "requestId": "…", "timeEpoch": 0},
//!   "grpcLambda": 1, "path": "/api.Prod/Alive",
//!   "isBase64Encoded": true, "body": "AAAAAAYKBHRlc3Q="
//! }
//! ```
//!
//! The response is any HTTP API, REST API or grpc-lambda response: `statusCode`, `headers` (an
//! object of strings or lists, or a list of pairs), `multiValueHeaders`, `cookies`, `body`,
//! `isBase64Encoded`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use grpc_lambda_core::base64;
use grpc_lambda_core::content_type::Codec;
use grpc_lambda_core::metadata::{format_timeout, GRPC_TIMEOUT};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::{full_body, UpstreamReply, UpstreamRequest};
use crate::error::InvokeError;

/// The content type of the request body in the event: gRPC-Web, so the response comes back with
/// its trailers inside the body.
pub const EVENT_CONTENT_TYPE: &str = "application/grpc-web+proto";

/// The event's `content-type` for messages in `codec`: gRPC-Web naming the codec, so the shim
/// reads (and answers) JSON for a JSON client.
pub fn hop_content_type(codec: Codec) -> &'static str {
    match codec {
        Codec::Json => "application/grpc-web+json",
        Codec::Proto => EVENT_CONTENT_TYPE,
    }
}

/// The value of `grpcLambda`: the version of the fields added for the grpc-lambda shim, defined
/// once for the proxy and the shim.
pub use grpc_lambda_protocol::EVENT_VERSION;

/// Appends a request id unique to this process: `grpc-lambda-proxy-<pid>-<n>`.
fn write_request_id(out: &mut Vec<u8>) {
    use std::io::Write as _;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let _ = write!(out, "grpc-lambda-proxy-{}-{n}", std::process::id());
}

/// The event for `request`, as JSON bytes.
///
/// The request's messages go into `body` base64-encoded; `grpc-timeout` is written from the time
/// left before the deadline, so the function sees what remains of the client's budget.
///
/// # Examples
///
/// ```
/// use grpc_lambda_proxy::invoke::{event, UpstreamRequest};
///
/// let request = UpstreamRequest {
///     path: "/api.Prod/Alive".into(),
///     metadata: http::HeaderMap::new(),
///     body: bytes::Bytes::from_static(b"\0\0\0\0\0"),
///     deadline: None,
///     source_ip: "127.0.0.1".into(),
///     codec: grpc_lambda_core::content_type::Codec::Proto,
///     connect_get: None,
/// };
/// let json: serde_json::Value = serde_json::from_slice(&event::encode_event(&request))?;
/// assert_eq!(json["version"], "2.0");
/// assert_eq!(json["rawPath"], "/api.Prod/Alive");
/// assert_eq!(json["body"], "AAAAAAA=");
/// assert_eq!(json["headers"]["content-type"], "application/grpc-web+proto");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn encode_event(request: &UpstreamRequest) -> Vec<u8> {
    let timeout = request.time_left().map(format_timeout);
    let metadata = &request.metadata;
    let body_len = base64::encoded_len(request.body.len());
    let mut out = Vec::with_capacity(768 + 64 * metadata.len() + body_len);
    // Written field by field rather than through a serde struct: no intermediate maps or
    // strings per call; every string still goes through serde_json's escaping.
    out.extend_from_slice(br#"{"version":"2.0","routeKey":"$default","rawPath":"#);
    json_str(&mut out, &request.path);
    out.extend_from_slice(br#","rawQueryString":"#);
    json_str(&mut out, request.connect_get.as_deref().unwrap_or(""));
    out.extend_from_slice(br#","headers":{"content-type":"#);
    json_str(&mut out, hop_content_type(request.codec));
    if let Some(timeout) = &timeout {
        out.extend_from_slice(br#","grpc-timeout":"#);
        json_str(&mut out, timeout.as_str());
    }
    for name in forwarded_names(metadata) {
        out.push(b',');
        json_str(&mut out, name.as_str());
        out.push(b':');
        let mut values = metadata.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(only), None) => json_str(&mut out, &header_text(only)),
            _ => {
                // Payload format 2.0 joins repeated values with a comma.
                let joined: Vec<Cow<'_, str>> =
                    metadata.get_all(name).iter().map(header_text).collect();
                json_str(&mut out, &joined.join(","));
            }
        }
    }
    out.extend_from_slice(br#"},"multiValueHeaders":{"content-type":["#);
    json_str(&mut out, hop_content_type(request.codec));
    out.push(b']');
    if let Some(timeout) = &timeout {
        out.extend_from_slice(br#","grpc-timeout":["#);
        json_str(&mut out, timeout.as_str());
        out.push(b']');
    }
    for name in forwarded_names(metadata) {
        out.push(b',');
        json_str(&mut out, name.as_str());
        out.extend_from_slice(b":[");
        for (i, value) in metadata.get_all(name).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(&mut out, &header_text(value));
        }
        out.push(b']');
    }
    out.extend_from_slice(br#"},"requestContext":{"http":{"method":"#);
    json_str(
        &mut out,
        if request.connect_get.is_some() {
            "GET"
        } else {
            "POST"
        },
    );
    out.extend_from_slice(br#","path":"#);
    json_str(&mut out, &request.path);
    out.extend_from_slice(br#","protocol":"HTTP/2","sourceIp":"#);
    json_str(&mut out, &request.source_ip);
    out.extend_from_slice(br#","userAgent":"#);
    let user_agent = metadata.get(http::header::USER_AGENT).map(header_text);
    json_str(&mut out, user_agent.as_deref().unwrap_or(""));
    out.extend_from_slice(br#"},"routeKey":"$default","stage":"$default","requestId":""#);
    write_request_id(&mut out);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    out.extend_from_slice(
        format!(r#"","timeEpoch":{now}}},"grpcLambda":{EVENT_VERSION},"path":"#).as_bytes(),
    );
    json_str(&mut out, &request.path);
    out.extend_from_slice(br#","isBase64Encoded":true,"body":""#);
    base64::encode_into(&request.body, &mut out);
    out.extend_from_slice(b"\"}");
    out
}

/// Metadata names that go into the event (the proxy writes `content-type` and `grpc-timeout`).
fn forwarded_names(metadata: &HeaderMap) -> impl Iterator<Item = &HeaderName> {
    metadata
        .keys()
        .filter(|name| *name != CONTENT_TYPE && name.as_str() != GRPC_TIMEOUT)
}

fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

/// Appends `text` as a JSON string, escaped.
fn json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Response headers in any shape a front door uses: an object of strings, lists or nulls, or a
/// list of `[name, value]` pairs. Read straight into a [`HeaderMap`] (no intermediate values);
/// names or values HTTP cannot carry are dropped.
#[derive(Default)]
struct HeaderValues(HeaderMap);

impl HeaderValues {
    fn append(&mut self, name: &str, value: &str) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.0.append(name, value);
        }
    }

    fn append_to(self, headers: &mut HeaderMap) {
        if headers.is_empty() {
            *headers = self.0;
        } else {
            headers.extend(self.0);
        }
    }
}

impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderValuesVisitor)
    }
}

struct HeaderValuesVisitor;

impl<'de> serde::de::Visitor<'de> for HeaderValuesVisitor {
    type Value = HeaderValues;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of header values or a list of [name, value] pairs")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HeaderValues, A::Error> {
        let mut headers = HeaderValues::default();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            match map.next_value::<OneOrMany<'de>>()? {
                OneOrMany::None => {}
                OneOrMany::One(value) => headers.append(&name, &value),
                OneOrMany::Many(values) => {
                    for value in &values {
                        headers.append(&name, value);
                    }
                }
            }
        }
        Ok(headers)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderValues, A::Error> {
        let mut headers = HeaderValues::default();
        while let Some((name, value)) = seq.next_element::<(Cow<'de, str>, Cow<'de, str>)>()? {
            headers.append(&name, &value);
        }
        Ok(headers)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<HeaderValues, E> {
        Ok(HeaderValues::default())
    }
}

/// One header's value: a string, a list of strings, or `null`.
enum OneOrMany<'de> {
    None,
    One(Cow<'de, str>),
    Many(Vec<Cow<'de, str>>),
}

impl<'de> Deserialize<'de> for OneOrMany<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OneOrMany<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a header value: a string, a list of strings or null")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany::None)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany::None)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<Cow<'de, str>>()? {
                    values.push(value);
                }
                Ok(OneOrMany::Many(values))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseJson<'a> {
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default)]
    headers: Option<HeaderValues>,
    #[serde(default)]
    multi_value_headers: Option<HeaderValues>,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

/// The first bytes of `payload`, for error messages.
pub(crate) fn snippet(payload: &[u8]) -> String {
    const MAX: usize = 200;
    let cut = payload.get(..MAX).unwrap_or(payload);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if payload.len() > MAX {
        text.push('…');
    }
    text
}

/// Reads the function's response: an HTTP response in any Lambda proxy-integration shape, or
/// the streaming response mode's shape (a JSON prelude, 8 NUL bytes, the raw body), which the
/// buffered Invoke API returns for a streaming function.
///
/// The body comes back as one chunk: the base64 decoded once, frames to be cut from it without
/// further copies.
///
/// # Errors
///
/// [`InvokeError::InvalidResponse`] when the payload is not JSON, has no `statusCode`, or its
/// base64 body is not base64 (the offset is named).
///
/// # Examples
///
/// ```
/// use grpc_lambda_proxy::invoke::event::decode_response;
///
/// let reply = decode_response(&bytes::Bytes::from_static(br#"{"statusCode": 200,
///     "headers": [["x-a", "1"], ["x-a", "2"]],
///     "body": "gAAAAA9ncnBjLXN0YXR1czogMA0K", "isBase64Encoded": true}"#))?;
/// assert_eq!(reply.status, 200);
/// assert_eq!(reply.headers.get_all("x-a").iter().count(), 2);
/// # Ok::<(), grpc_lambda_proxy::error::InvokeError>(())
/// ```
pub fn decode_response(payload: &Bytes) -> Result<UpstreamReply, InvokeError> {
    if let Some(reply) = decode_streamed(payload) {
        return reply;
    }
    let response: ResponseJson<'_> =
        serde_json::from_slice(payload).map_err(|err| InvokeError::InvalidResponse {
            reason: format!(
                "the payload is not a JSON HTTP response ({err}): {}",
                snippet(payload)
            ),
        })?;
    let Some(status_code) = response.status_code else {
        return Err(InvokeError::InvalidResponse {
            reason: format!(
                "the payload has no statusCode, so it is not an HTTP response: {}",
                snippet(payload)
            ),
        });
    };
    let status = StatusCode::from_u16(status_code).map_err(|_| InvokeError::InvalidResponse {
        reason: format!("statusCode {status_code} is not an HTTP status"),
    })?;
    let mut headers = HeaderMap::new();
    // `multiValueHeaders` is a superset of `headers` where both are present (REST API, ALB).
    match (response.multi_value_headers, response.headers) {
        (Some(multi), _) => multi.append_to(&mut headers),
        (None, Some(single)) => single.append_to(&mut headers),
        (None, None) => {}
    }
    let body = match (response.body, response.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Bytes::new(),
        (Some(text), true) => {
            base64::decode(text.as_bytes()).map_err(|err| InvokeError::InvalidResponse {
                reason: format!("the body is marked isBase64Encoded but is not base64: {err}"),
            })?
        }
        (Some(Cow::Owned(text)), false) => Bytes::from(text),
        (Some(Cow::Borrowed(text)), false) => Bytes::copy_from_slice(text.as_bytes()),
    };
    Ok(UpstreamReply {
        status,
        headers,
        body: full_body(body),
    })
}

/// The eight NUL bytes that end a streamed response's prelude.
pub const PRELUDE_SEPARATOR: [u8; 8] = [0; 8];

/// The streaming shape: `{"statusCode": …, "headers": …}`, eight NUL bytes, the body as is.
fn decode_streamed(payload: &Bytes) -> Option<Result<UpstreamReply, InvokeError>> {
    if payload.first() != Some(&b'{') {
        return None;
    }
    let split = prelude_end(payload)?;
    let prelude = payload.get(..split)?;
    // Not a prelude after all: the JSON path reports what is wrong.
    let response = serde_json::from_slice::<ResponseJson<'_>>(prelude).ok()?;
    Some(
        prelude_parts(response).map(|(status, headers)| UpstreamReply {
            status,
            headers,
            body: full_body(payload.slice(split + PRELUDE_SEPARATOR.len()..)),
        }),
    )
}

/// Where the prelude of a streamed response ends (the offset of the eight NUL bytes), if they
/// are there. JSON text never holds a raw NUL byte, so the first run of eight ends it.
pub fn prelude_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(PRELUDE_SEPARATOR.len())
        .position(|w| w == PRELUDE_SEPARATOR)
}

/// The status and headers of a streamed response's prelude (lambda_runtime's
/// `MetadataPrelude`: `statusCode`, `headers` with string or list values, `cookies`).
///
/// # Errors
///
/// [`InvokeError::InvalidResponse`] when the prelude is not that JSON.
pub fn parse_prelude(prelude: &[u8]) -> Result<(StatusCode, HeaderMap), InvokeError> {
    let response: ResponseJson<'_> =
        serde_json::from_slice(prelude).map_err(|err| InvokeError::InvalidResponse {
            reason: format!(
                "the streamed response's prelude is not JSON ({err}): {}",
                snippet(prelude)
            ),
        })?;
    prelude_parts(response)
}

/// The status and headers a parsed prelude gives.
fn prelude_parts(response: ResponseJson<'_>) -> Result<(StatusCode, HeaderMap), InvokeError> {
    let status_code = response.status_code.unwrap_or(200);
    let status = StatusCode::from_u16(status_code).map_err(|_| InvokeError::InvalidResponse {
        reason: format!("statusCode {status_code} is not an HTTP status"),
    })?;
    let mut headers = HeaderMap::new();
    if let Some(multi) = response.multi_value_headers {
        multi.append_to(&mut headers);
    } else if let Some(single) = response.headers {
        single.append_to(&mut headers);
    }
    Ok((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::time::{Duration, Instant};

    fn request() -> UpstreamRequest {
        let mut metadata = HeaderMap::new();
        metadata.append("x-echo", HeaderValue::from_static("a"));
        metadata.append("x-echo", HeaderValue::from_static("b"));
        metadata.append("x-echo-bin", HeaderValue::from_static("AAEC"));
        metadata.append("user-agent", HeaderValue::from_static("test/1"));
        metadata.append("x-quoted", HeaderValue::from_static("say \"hi\" \\ bye"));
        UpstreamRequest {
            path: "/api.Prod/Alive".into(),
            metadata,
            body: Bytes::from_static(b"\x00\x00\x00\x00\x03abc"),
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            source_ip: "127.0.0.1".into(),
            codec: Codec::Proto,
            connect_get: None,
        }
    }

    #[test]
    fn the_event_is_a_2_0_event_with_repeated_metadata_kept() {
        let json: serde_json::Value = serde_json::from_slice(&encode_event(&request())).unwrap();
        assert_eq!(json["version"], "2.0");
        assert_eq!(json["requestContext"]["http"]["method"], "POST");
        assert_eq!(json["requestContext"]["http"]["userAgent"], "test/1");
        assert_eq!(json["headers"]["x-echo"], "a,b");
        assert_eq!(
            json["multiValueHeaders"]["x-echo"],
            serde_json::json!(["a", "b"])
        );
        assert_eq!(json["headers"]["x-echo-bin"], "AAEC");
        assert_eq!(json["headers"]["x-quoted"], "say \"hi\" \\ bye");
        assert_eq!(json["path"], "/api.Prod/Alive");
        assert!(json["requestContext"]["requestId"]
            .as_str()
            .unwrap()
            .starts_with("grpc-lambda-proxy-"));
        assert_eq!(json["grpcLambda"], 1);
        assert_eq!(json["isBase64Encoded"], true);
        let timeout = json["headers"]["grpc-timeout"].as_str().unwrap();
        let left = grpc_lambda_core::metadata::parse_timeout(timeout.as_bytes()).unwrap();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
        let body = base64::decode(json["body"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(&body[..], b"\x00\x00\x00\x00\x03abc");
    }

    #[tokio::test]
    async fn every_response_shape_is_read() {
        let shapes: [&'static [u8]; 4] = [
            b"{\"statusCode\":200,\"headers\":{\"x-a\":[\"1\",\"2\"]}}\0\0\0\0\0\0\0\0\0\0\0\0\0",
            br#"{"statusCode":200,"headers":[["x-a","1"],["x-a","2"]],"body":"AAAAAAA=","isBase64Encoded":true}"#,
            br#"{"statusCode":200,"headers":{"x-a":"1"},"multiValueHeaders":{"x-a":["1","2"]},"body":"AAAAAAA=","isBase64Encoded":true}"#,
            br#"{"statusCode":200,"headers":{"x-a":["1","2"],"x-null":null},"body":"AAAAAAA=","isBase64Encoded":true}"#,
        ];
        for shape in shapes {
            let reply = decode_response(&Bytes::from_static(shape)).unwrap();
            assert_eq!(reply.headers.get_all("x-a").iter().count(), 2);
            let body = reply.body.collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"\0\0\0\0\0");
        }
    }

    #[test]
    fn unreadable_responses_say_why() {
        let decode = |payload: &'static [u8]| decode_response(&Bytes::from_static(payload));
        let err = decode(b"not json").unwrap_err();
        assert!(
            err.to_string().contains("not a JSON HTTP response"),
            "{err}"
        );
        let err = decode(br#"{"hello": "world"}"#).unwrap_err();
        assert!(err.to_string().contains("no statusCode"), "{err}");
        let err =
            decode(br#"{"statusCode":200,"body":"@@@@","isBase64Encoded":true}"#).unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }
}
