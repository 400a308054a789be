//! The proxy's side of parsing: a function's response, as the Invoke API hands it back, read by
//! `grpc_lambda_proxy::invoke::event::decode_response`.
//!
//! Responses are built in every shape the proxy reads (headers as an object of strings, of lists,
//! or as ordered pairs; the streaming shape with its JSON prelude), with raw bytes as one more
//! mode. The same reader is also run on every response the shim writes (see
//! [`crate::lambda_event`]).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use grpc_lambda_proxy::invoke::event::decode_response;
use grpc_lambda_proxy::invoke::UpstreamReply;
use http::{HeaderName, HeaderValue};
use serde_json::{json, Map, Value};

use crate::check::ByteStr;
use crate::chunking::Reader;
use crate::fuzz_checks::FuzzInput;

/// How a built response carries its headers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum HeaderShape {
    /// `headers: {"name": "value"}` (HTTP API, REST API).
    Map,
    /// `multiValueHeaders: {"name": ["value"]}` (REST API, ALB).
    MultiValue,
    /// `headers: [["name", "value"]]` (the grpc-lambda shim answering the proxy).
    Pairs,
    /// No headers at all.
    None,
}

/// How a built response carries its body.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BodyShape {
    /// Base64, `isBase64Encoded: true`.
    Base64,
    /// The bytes as text (invalid UTF-8 replaced), `isBase64Encoded: false`.
    Text,
    /// Text that is not base64, flagged as base64.
    NotBase64,
    /// No `body` field.
    None,
    /// The streaming shape: the JSON prelude, eight NUL bytes, the body as it is.
    Streamed,
}

/// A function's response for the proxy to read.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxyResponseInput {
    /// Raw bytes as the payload.
    Raw(Vec<u8>),
    /// A response built in one of the shapes the proxy reads.
    Built {
        /// `statusCode`.
        status: u16,
        /// How the headers travel.
        headers: HeaderShape,
        /// Header entries, names and values as sent.
        entries: Vec<(String, String)>,
        /// How the body travels.
        body_shape: BodyShape,
        /// The body.
        body: Vec<u8>,
    },
}

const HEADER_SHAPES: [HeaderShape; 4] = [
    HeaderShape::Map,
    HeaderShape::MultiValue,
    HeaderShape::Pairs,
    HeaderShape::None,
];
const BODY_SHAPES: [BodyShape; 5] = [
    BodyShape::Base64,
    BodyShape::Text,
    BodyShape::NotBase64,
    BodyShape::None,
    BodyShape::Streamed,
];

impl FuzzInput for ProxyResponseInput {
    /// Layout: `[kind: 1]`; odd is `Raw`, the rest as it is; even is `Built`:
    ///
    /// - `[status % 4: 1]`: 200, 404, 502, or the next two bytes, little-endian;
    /// - `[headers % 4: 1]`: the [`HeaderShape`];
    /// - `[count % 4: 1]`, then per entry `[len: 1][name][len: 1][value]`, as UTF-8 with invalid
    ///   bytes replaced;
    /// - `[body % 5: 1]`: the [`BodyShape`]; the body is the rest.
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        if reader.byte() % 2 == 1 {
            return ProxyResponseInput::Raw(reader.rest().to_vec());
        }
        let status = match reader.byte() % 4 {
            0 => 200,
            1 => 404,
            2 => 502,
            _ => reader.u16(),
        };
        let headers = HEADER_SHAPES[usize::from(reader.byte()) % HEADER_SHAPES.len()];
        let count = reader.byte() % 4;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let entries = (0..count)
            .map(|_| {
                let name = text(reader.short_bytes());
                (name, text(reader.short_bytes()))
            })
            .collect();
        let body_shape = BODY_SHAPES[usize::from(reader.byte()) % BODY_SHAPES.len()];
        ProxyResponseInput::Built {
            status,
            headers,
            entries,
            body_shape,
            body: reader.rest().to_vec(),
        }
    }

    /// Reads the payload with the proxy:
    ///
    /// - never a panic; an error always says why;
    /// - a built response with a valid status reads back with that status, every valid header
    ///   entry in order, and the body decoded exactly (a body flagged base64 that is not is an
    ///   error, never a partial body);
    /// - a status the HTTP crate refuses is an error.
    fn check(&self) {
        let payload = Bytes::from(self.to_payload());
        let result = decode_response(&payload);
        let ProxyResponseInput::Built {
            status,
            headers,
            entries,
            body_shape,
            body,
        } = self
        else {
            if let Err(err) = result {
                assert!(!err.to_string().is_empty());
            }
            return;
        };
        if http::StatusCode::from_u16(*status).is_err() {
            assert!(result.is_err(), "status {status} accepted");
            return;
        }
        if *body_shape == BodyShape::NotBase64 {
            assert!(result.is_err(), "a body that is not base64 was accepted");
            return;
        }
        let reply = result.unwrap_or_else(|err| panic!("{self:?} refused: {err}"));
        assert_eq!(reply.status.as_u16(), *status);
        let expected: Vec<(String, String)> = match headers {
            HeaderShape::None => Vec::new(),
            HeaderShape::Pairs => entries.clone(),
            // A JSON object keeps one value per name, the last.
            HeaderShape::Map | HeaderShape::MultiValue => header_object(entries)
                .into_iter()
                .map(|(name, value)| (name, value.as_str().unwrap_or_default().to_string()))
                .collect(),
        };
        for (name, value) in &expected {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                continue;
            };
            assert!(
                reply.headers.get_all(&name).iter().any(|v| v == value),
                "{name}: {value:?} missing from {:?}",
                reply.headers
            );
        }
        let expected_body = match body_shape {
            BodyShape::Base64 | BodyShape::Streamed => body.clone(),
            BodyShape::Text => String::from_utf8_lossy(body).into_owned().into_bytes(),
            BodyShape::None | BodyShape::NotBase64 => Vec::new(),
        };
        assert_eq!(body_bytes(reply), expected_body);
    }
}

impl ProxyResponseInput {
    /// The payload the function returns.
    pub fn to_payload(&self) -> Vec<u8> {
        let ProxyResponseInput::Built {
            status,
            headers,
            entries,
            body_shape,
            body,
        } = self
        else {
            let ProxyResponseInput::Raw(raw) = self else {
                unreachable!()
            };
            return raw.clone();
        };
        let mut response = Map::new();
        response.insert("statusCode".into(), json!(status));
        match headers {
            HeaderShape::Map => {
                response.insert("headers".into(), Value::Object(header_object(entries)));
            }
            HeaderShape::MultiValue => {
                let lists = header_object(entries)
                    .into_iter()
                    .map(|(name, value)| (name, json!([value])))
                    .collect();
                response.insert("multiValueHeaders".into(), Value::Object(lists));
            }
            HeaderShape::Pairs => {
                let pairs = entries.iter().map(|(n, v)| json!([n, v])).collect();
                response.insert("headers".into(), Value::Array(pairs));
            }
            HeaderShape::None => {}
        }
        let (text, base64) = match body_shape {
            BodyShape::Base64 => (Some(STANDARD.encode(body)), true),
            BodyShape::Text => (Some(String::from_utf8_lossy(body).into_owned()), false),
            BodyShape::NotBase64 => (Some("not base64!".to_string()), true),
            BodyShape::None | BodyShape::Streamed => (None, false),
        };
        if let Some(text) = text {
            response.insert("body".into(), json!(text));
            response.insert("isBase64Encoded".into(), json!(base64));
        }
        let mut payload = serde_json::to_vec(&response).expect("serializable");
        if *body_shape == BodyShape::Streamed {
            payload.extend_from_slice(&[0; 8]);
            payload.extend_from_slice(body);
        }
        payload
    }
}

fn header_object(entries: &[(String, String)]) -> Map<String, Value> {
    entries
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect()
}

/// The whole body of a reply.
pub fn body_bytes(reply: UpstreamReply) -> Vec<u8> {
    use http_body_util::BodyExt as _;
    crate::lambda_event::block_on(reply.body.collect())
        .expect("a one-chunk body")
        .to_bytes()
        .to_vec()
}

impl fmt::Debug for ProxyResponseInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyResponseInput::Raw(raw) => {
                write!(f, "ProxyResponseInput::Raw({:?})", ByteStr(raw))
            }
            ProxyResponseInput::Built {
                status,
                headers,
                entries,
                body_shape,
                body,
            } => {
                write!(
                    f,
                    "ProxyResponseInput::Built {{ status: {status}, headers: HeaderShape::{headers:?}, entries: vec!["
                )?;
                for (i, (name, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "({name:?}.to_string(), {value:?}.to_string())")?;
                }
                write!(
                    f,
                    "], body_shape: BodyShape::{body_shape:?}, body: {:?} }}",
                    ByteStr(body)
                )
            }
        }
    }
}
