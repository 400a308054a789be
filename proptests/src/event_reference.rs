//! A reference reading of Lambda event JSON, that [`grpc_lambda::Event::from_slice`] is compared
//! with.
//!
//! `serde_json` decides what is JSON: its [`Value`] parse is the gate, and it reads every string,
//! key and number. The event's rules are then applied to the parsed document, one field at a
//! time, as the shim's module documentation states them:
//!
//! - the event is an object; `null` reads as an absent field;
//! - `grpcLambda` is a whole number that fits a `u32` (no sign, fraction or exponent);
//! - `httpMethod`, `method` and `requestContext.http.method` are strings that are HTTP methods;
//! - `path`, `rawPath` and `resource` are strings; `cookies` is a list of strings;
//! - `pathParameters` is an object of strings, every member kept in document order;
//! - `headers` and `multiValueHeaders` are an object whose values are strings, lists of strings
//!   or `null`, or a list of `[name, value]` pairs of strings; every entry is appended in
//!   document order, a name or value HTTP cannot carry is dropped;
//! - `body` is a string, `isBase64Encoded` is `true`, `false` or `null`, and the body is decoded
//!   as [`EventBody::from_event`] says;
//! - `requestContext` is an object: `elb` and `serviceNetworkArn` / `serviceArn` count when they
//!   are not `null`, `http` is an object, `domainName` and `stage` strings;
//! - any other member is stepped over, whatever it holds;
//! - a member that appears twice is read twice, in order: the later value wins, and either one
//!   of the wrong type refuses the event.
//!
//! A [`Value`] object keeps one value per key, so objects are read as [`Json`], which keeps every
//! member in document order.

use grpc_lambda::event::{EventBody, RequestContext};
use grpc_lambda::Event;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Number, Value};

/// A JSON document with every object member kept, in document order, duplicates included.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as `serde_json` reads it.
    Number(Number),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The document in `json`; `None` when `serde_json` does not read it as a [`Value`].
    pub fn parse(json: &[u8]) -> Option<Json> {
        serde_json::from_slice::<Value>(json).ok()?;
        // Valid JSON is UTF-8: every string was checked, and the rest is ASCII.
        let text = std::str::from_utf8(json).expect("JSON that serde_json read is UTF-8");
        Some(Json::from_valid(text))
    }

    /// The document in `text`, which `serde_json` has read.
    fn from_valid(text: &str) -> Json {
        let text = trim(text);
        let inner = || &text[1..text.len() - 1];
        match text.as_bytes().first() {
            Some(b'{') => Json::Object(
                split_top_level(inner())
                    .into_iter()
                    .map(|member| {
                        let (key, value) = split_member(member);
                        let key = serde_json::from_str(key).expect("a key serde_json read");
                        (key, Json::from_valid(value))
                    })
                    .collect(),
            ),
            Some(b'[') => Json::Array(
                split_top_level(inner())
                    .into_iter()
                    .map(Json::from_valid)
                    .collect(),
            ),
            _ => Json::from(serde_json::from_str::<Value>(text).expect("a value serde_json read")),
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(flag),
            Value::Number(number) => Json::Number(number),
            Value::String(text) => Json::String(text),
            Value::Array(values) => Json::Array(values.into_iter().map(Json::from).collect()),
            Value::Object(map) => {
                Json::Object(map.into_iter().map(|(k, v)| (k, Json::from(v))).collect())
            }
        }
    }
}

/// `text` without JSON whitespace around it.
fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
}

/// The elements of an array, or the members of an object, from the text between its brackets:
/// split at the commas outside strings and nested containers.
fn split_top_level(inner: &str) -> Vec<&str> {
    if trim(inner).is_empty() {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, byte) in inner.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// An object member's key (its JSON text, quotes included) and value text.
fn split_member(member: &str) -> (&str, &str) {
    let member = trim(member);
    let mut escaped = false;
    let close = member
        .bytes()
        .enumerate()
        .skip(1)
        .find(|&(_, byte)| {
            let close = byte == b'"' && !escaped;
            escaped = byte == b'\\' && !escaped;
            close
        })
        .map(|(i, _)| i)
        .expect("a closed key");
    let (key, rest) = member.split_at(close + 1);
    let value = trim(rest).strip_prefix(':').expect("':' after a key");
    (key, value)
}

/// What the reference makes of some bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// `serde_json` does not read them as JSON.
    NotJson,
    /// JSON, but not an event the shim reads: the reader must refuse it.
    Refused,
    /// The event the reader must return.
    Event(Box<Event>),
}

/// The reference reading of `json`: the event, or `None` when `serde_json` does not read it or
/// the event's fields do not have the types the shim reads.
pub fn reference_event(json: &[u8]) -> Option<Event> {
    match reading(json) {
        Reading::Event(event) => Some(*event),
        Reading::NotJson | Reading::Refused => None,
    }
}

/// The reference reading of `json`, telling bytes that are not JSON from an event refused.
pub fn reading(json: &[u8]) -> Reading {
    let Some(document) = Json::parse(json) else {
        return Reading::NotJson;
    };
    let event = match &document {
        Json::Object(members) => event(members),
        _ => None,
    };
    event.map_or(Reading::Refused, |event| Reading::Event(Box::new(event)))
}

/// `null` as `None`, anything else through `read`; `None` when `read` refuses it.
fn optional<'a, T>(value: &'a Json, read: impl FnOnce(&'a Json) -> Option<T>) -> Option<Option<T>> {
    match value {
        Json::Null => Some(None),
        other => read(other).map(Some),
    }
}

fn event(members: &[(String, Json)]) -> Option<Event> {
    let mut event = Event::default();
    let mut body: Option<&str> = None;
    let mut is_base64_encoded = false;
    for (key, value) in members {
        match key.as_str() {
            "grpcLambda" => event.grpc_lambda = optional(value, grpc_lambda)?,
            "httpMethod" => event.http_method = optional(value, method)?,
            "method" => event.method = optional(value, method)?,
            "path" => event.path = optional(value, string)?,
            "rawPath" => event.raw_path = optional(value, string)?,
            "resource" => event.resource = optional(value, string)?,
            "pathParameters" => event.path_parameters = optional(value, path_parameters)?,
            "rawQueryString" => event.raw_query_string = optional(value, string)?,
            "queryStringParameters" => {
                event.query_string_parameters = optional(value, query_parameters)?;
            }
            "multiValueQueryStringParameters" => {
                event.multi_value_query_string_parameters = optional(value, query_parameters)?;
            }
            "headers" => event.headers = optional(value, headers)?,
            "multiValueHeaders" => event.multi_value_headers = optional(value, headers)?,
            "cookies" => {
                event.cookies = optional(value, |value| match value {
                    Json::Array(values) => values.iter().map(string).collect(),
                    _ => None,
                })?;
            }
            "body" => body = optional(value, Json::as_str)?,
            "isBase64Encoded" => {
                is_base64_encoded = optional(value, |value| match value {
                    Json::Bool(flag) => Some(*flag),
                    _ => None,
                })?
                .unwrap_or(false);
            }
            "requestContext" => event.request_context = optional(value, request_context)?,
            _ => {}
        }
    }
    event.body = body.map_or(EventBody::Empty, |text| {
        EventBody::from_event(text, is_base64_encoded)
    });
    Some(event)
}

fn grpc_lambda(value: &Json) -> Option<u32> {
    match value {
        // `serde_json` reads a number with a sign, fraction or exponent as `i64` or `f64`.
        Json::Number(number) => u32::try_from(number.as_u64()?).ok(),
        _ => None,
    }
}

fn method(value: &Json) -> Option<Method> {
    Method::from_bytes(value.as_str()?.as_bytes()).ok()
}

fn string(value: &Json) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn path_parameters(value: &Json) -> Option<Vec<(String, String)>> {
    let Json::Object(members) = value else {
        return None;
    };
    members
        .iter()
        .map(|(name, value)| Some((name.clone(), string(value)?)))
        .collect()
}

/// Query parameters: strings, lists of strings (a pair each) or `null`s (none).
fn query_parameters(value: &Json) -> Option<Vec<(String, String)>> {
    let Json::Object(members) = value else {
        return None;
    };
    let mut parameters = Vec::new();
    for (name, value) in members {
        match value {
            Json::Array(values) => {
                for value in values {
                    parameters.push((name.clone(), string(value)?));
                }
            }
            Json::Null => {}
            other => parameters.push((name.clone(), string(other)?)),
        }
    }
    Some(parameters)
}

fn headers(value: &Json) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    let mut append = |name: &str, value: &str| {
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    };
    match value {
        Json::Array(pairs) => {
            for pair in pairs {
                let Json::Array(pair) = pair else {
                    return None;
                };
                let [Json::String(name), Json::String(value)] = pair.as_slice() else {
                    return None;
                };
                append(name, value);
            }
        }
        Json::Object(members) => {
            for (name, value) in members {
                match value {
                    Json::String(value) => append(name, value),
                    Json::Array(values) => {
                        for value in values {
                            append(name, value.as_str()?);
                        }
                    }
                    Json::Null => {}
                    _ => return None,
                }
            }
        }
        _ => return None,
    }
    Some(headers)
}

fn request_context(value: &Json) -> Option<RequestContext> {
    let Json::Object(members) = value else {
        return None;
    };
    let mut context = RequestContext::default();
    for (key, value) in members {
        let present = *value != Json::Null;
        match key.as_str() {
            "elb" => context.elb = present,
            "serviceNetworkArn" | "serviceArn" => context.vpc_lattice |= present,
            "http" => {
                let http = optional(value, |value| {
                    let Json::Object(members) = value else {
                        return None;
                    };
                    let mut http_method = None;
                    for (key, value) in members {
                        if key == "method" {
                            http_method = optional(value, method)?;
                        }
                    }
                    Some(http_method)
                })?;
                context.http = http.is_some();
                context.http_method = http.flatten();
            }
            "stage" => context.stage = optional(value, string)?,
            "domainName" => {
                let domain = optional(value, Json::as_str)?;
                context.function_url = domain.is_some_and(|d| d.contains(".lambda-url."));
            }
            _ => {}
        }
    }
    Some(context)
}

/// The contract of the event reader on any bytes.
///
/// - [`Event::from_bytes`] reads what [`Event::from_slice`] reads.
/// - An error names a byte within the input, and its message names that byte.
/// - Bytes `serde_json` reads as JSON are read as the [reference](reading) reads them: the same
///   event, or an error exactly when the reference refuses them; the `Deserialize` impl agrees.
/// - Anything else is read without a panic (the reader leaves some checks to what reads the
///   text, so it may accept bytes `serde_json` refuses).
pub fn check_event_json(json: &[u8]) {
    let read = Event::from_slice(json);
    // Read from a buffer header values may share, the event is the same.
    assert_eq!(
        Event::from_bytes(&bytes::Bytes::copy_from_slice(json)),
        read,
        "from_bytes disagrees with from_slice"
    );
    if let Err(err) = &read {
        let message = err.to_string();
        assert!(
            err.offset() <= json.len(),
            "{message}: past the end of {} bytes",
            json.len()
        );
        assert!(
            message.contains(&format!("at byte {}", err.offset())),
            "the message does not name its byte: {message}"
        );
    }
    let reference = reading(json);
    let shown = crate::check::ByteStr(json);
    match &reference {
        Reading::NotJson => return,
        Reading::Refused => assert!(
            read.is_err(),
            "an event of the wrong shape was accepted: {shown:?}\nread as {read:?}"
        ),
        Reading::Event(expected) => assert_eq!(read.as_ref(), Ok(&**expected), "on {shown:?}"),
    }
    let through_serde = serde_json::from_slice::<Event>(json);
    assert_eq!(
        through_serde.ok(),
        read.ok(),
        "the Deserialize impl disagrees on {shown:?}"
    );
}
