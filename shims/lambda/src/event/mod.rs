//! Lambda events from every HTTP front door, and the responses each one expects.
//!
//! One [`Event`] type deserializes any of them; [`Event::source`] tells which front door sent it,
//! from the event's own fields, and [`Event::into_request`] turns it into one [`HttpRequest`] with
//! one small conversion per source. [`EventResponse`] goes back in the shape the request came in.
//!
//! | front door | how it is recognised | response shape |
//! | --- | --- | --- |
//! | API Gateway REST API (payload 1.0) | `httpMethod`, no `requestContext.elb` | `statusCode`, `headers` or `multiValueHeaders`, `isBase64Encoded` |
//! | API Gateway HTTP API (payload 2.0) | `version: "2.0"` with `rawPath` | `statusCode`, `headers` (comma-joined), `cookies` (always, `[]` without `Set-Cookie`) |
//! | Lambda Function URL | as HTTP API, `domainName` under `.lambda-url.` | as HTTP API |
//! | Application Load Balancer | `requestContext.elb` | adds `statusDescription`; `multiValueHeaders` when the target group sends them |
//! | VPC Lattice (v1 and v2) | `requestContext.serviceNetworkArn` / `serviceArn`, or `method` without `rawPath` | `statusCode`, `statusDescription`, `headers` |
//! | the grpc-lambda proxy | `"grpcLambda": 1` | `grpcLambda`, `statusCode`, ordered `headers` pairs |
//!
//! The request's gRPC method ([`HttpRequest::path`]) is read from the fields each front door
//! defines, and must be `/package.Service/Method` exactly: see [`path`].
//!
//! # Reading an event
//!
//! [`Event::from_slice`] reads the event's JSON in one pass, keeping only what the shim uses
//! and stepping over the rest (most of `requestContext`, stage variables). A
//! string is found with one vectorised search for its closing quote, so a 1 MiB base64 body
//! costs that scan, then one decode straight from the event's bytes into the buffer the call
//! uses. Read with [`Event::from_bytes`] from an event of up to 64 KiB
//! ([`MAX_SHARED_EVENT`]), header values are slices of the event's buffer (a reference count
//! each, not an allocation and a copy); from a larger event, or with [`Event::from_slice`], they
//! are copied, so that a call does not hold on to a large event's buffer.
//!
//! The JSON's grammar is checked as it is read (nesting up to [`MAX_DEPTH`], punctuation,
//! escapes, numbers, literals, nothing after the event), as are raw control characters in the
//! strings the shim reads; a fault is an [`EventJsonError`] with its byte offset, and so is a
//! header map past [`MAX_HEADER_ENTRIES`]. Left unchecked in values stepped over: raw control
//! characters, UTF-8, a number's range (`1e400`). A lone UTF-16 surrogate escape (`\ud800`)
//! reads as the three bytes its code point has in UTF-8's form, as `serde_json` reads strings as
//! bytes: a text field (a path, a method, a cookie) then refuses it as not UTF-8, a header value
//! keeps it (HTTP allows any byte from 0x80 in a value, so header values are not checked for
//! UTF-8), a base64 body fails to decode. A well-formed event reads as it would through
//! `serde_json`.
//!
//! # The proxy's event
//!
//! The proxy invokes the function directly (Invoke API). Its event carries `"grpcLambda": 1`,
//! which makes it the proxy's whatever else it holds: grpc-lambda-proxy sends an HTTP API (2.0)
//! event with `grpcLambda`, `path` and `multiValueHeaders` added (so repeated metadata stays
//! apart). The smallest event the shim accepts is:
//!
//! ```json
//! {
//!   "grpcLambda": 1,
//!   "path": "/api.Prod/Alive",
//!   "headers": [["content-type", "application/grpc-web+proto"], ["grpc-timeout", "2S"]],
//!   "body": "AAAAAAYKBHRlc3Q=",
//!   "isBase64Encoded": true
//! }
//! ```
//!
//! (`headers` may be pairs, or an object of strings or lists; `multiValueHeaders` wins over
//! `headers`; the method is POST unless `httpMethod` says otherwise). The answer keeps metadata
//! order and repeated names exactly, as ordered pairs:
//!
//! ```json
//! {
//!   "grpcLambda": 1,
//!   "statusCode": 200,
//!   "headers": [["content-type", "application/grpc-web+proto"]],
//!   "body": "AAAAABMKEUhlbGxvLCB3b3JsZC50ZXN0gAAAAA9ncnBjLXN0YXR1czogMA0K",
//!   "isBase64Encoded": true
//! }
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use grpc_lambda_core::base64::Base64Error;
use http::header::{HeaderValue, COOKIE};
use http::{HeaderMap, Method};
use serde::de;
use serde::Deserialize;

pub mod path;
mod query;
mod reader;
mod response;
mod response_body;
mod write;
pub use path::PathError;
pub use reader::{EventJsonError, MAX_DEPTH, MAX_HEADER_ENTRIES, MAX_SHARED_EVENT};
pub use response::EventResponse;
pub(crate) use response::{headers_len_bound, raw_token_works, ResponseJson};
pub(crate) use response_body::Chunks;
pub use response_body::ResponseBody;

/// The value of `grpcLambda` in the proxy's events: the version of that event format, defined
/// once for the proxy and the shim in `grpc-lambda-protocol`.
pub use grpc_lambda_protocol::EVENT_VERSION as PROXY_EVENT_VERSION;

/// Which front door sent an event, and so which response shape it expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// API Gateway REST API, payload format 1.0.
    RestApi {
        /// The event had `multiValueHeaders`; the response uses them too.
        multi_value_headers: bool,
    },
    /// API Gateway HTTP API, payload format 2.0.
    HttpApi,
    /// A Lambda Function URL (payload format 2.0).
    FunctionUrl,
    /// An Application Load Balancer target group.
    Alb {
        /// Multi-value headers are enabled on the target group; the response must use them.
        multi_value_headers: bool,
    },
    /// A VPC Lattice target group (event version 1 or 2).
    VpcLattice,
    /// The grpc-lambda proxy, invoking the function directly.
    Proxy,
}

impl Source {
    /// The largest response, in bytes of response JSON, this front door accepts from a
    /// buffered (not streamed) function.
    ///
    /// Lambda: "6 MB each for request and response (synchronous)", enforced as 6,291,556 bytes of
    /// payload. ALB: "The maximum size of the response JSON that the Lambda function can send is
    /// 1 MB."
    pub const fn response_limit(self) -> usize {
        match self {
            Source::Alb { .. } => ALB_RESPONSE_LIMIT,
            _ => LAMBDA_SYNC_RESPONSE_LIMIT,
        }
    }

    /// A short name for messages: `"API Gateway REST API"`, `"ALB"`…
    pub const fn name(self) -> &'static str {
        match self {
            Source::RestApi { .. } => "API Gateway REST API",
            Source::HttpApi => "API Gateway HTTP API",
            Source::FunctionUrl => "Lambda Function URL",
            Source::Alb { .. } => "ALB",
            Source::VpcLattice => "VPC Lattice",
            Source::Proxy => "grpc-lambda proxy",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lambda's synchronous invocation payload limit for a response, in bytes (see
/// `grpc_lambda_protocol::LAMBDA_RESPONSE_LIMIT`).
pub use grpc_lambda_protocol::LAMBDA_RESPONSE_LIMIT as LAMBDA_SYNC_RESPONSE_LIMIT;

/// The ALB's limit on a Lambda target's response JSON, in bytes (see
/// `grpc_lambda_protocol::ALB_RESPONSE_LIMIT`).
pub use grpc_lambda_protocol::ALB_RESPONSE_LIMIT;

/// An event that is not an HTTP event from any front door this crate knows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// None of the fields that identify a front door are present.
    UnknownShape,
    /// The event names no HTTP method.
    MissingMethod {
        /// The front door the event looked like.
        source: Source,
    },
    /// The event is not JSON, or a field the shim reads has the wrong type.
    Json(EventJsonError),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::UnknownShape => f.write_str(
                "the event is not an HTTP event from API Gateway (REST or HTTP API), a Function URL, \
                 an ALB, VPC Lattice or the grpc-lambda proxy: it has none of httpMethod, \
                 version 2.0 with rawPath, requestContext.elb, method, grpcLambda",
            ),
            EventError::MissingMethod { source } => {
                write!(f, "the {source} event names no HTTP method")
            }
            EventError::Json(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for EventError {}

/// Any HTTP event a Lambda function can receive, read once.
///
/// Fields are the union of every front door's; those a source does not send stay empty. Read
/// with [`Event::from_slice`] (or through `serde_json`): a base64 body
/// is decoded straight from the event text into the one buffer the call uses, and headers go
/// straight into a [`HeaderMap`].
///
/// # Examples
///
/// ```
/// use grpc_lambda::event::{Event, EventBody, Source};
///
/// let event: Event = serde_json::from_str(r#"{
///     "version": "2.0", "rawPath": "/api.Prod/Alive",
///     "headers": {"content-type": "application/grpc-web+proto"},
///     "requestContext": {"http": {"method": "POST"}},
///     "body": "AAAAAAA=", "isBase64Encoded": true
/// }"#)?;
/// assert_eq!(event.source()?, Source::HttpApi);
/// assert_eq!(event.body, EventBody::Binary(bytes::Bytes::from_static(b"\0\0\0\0\0")));
/// let request = event.into_request()?;
/// assert_eq!(request.path.as_deref(), Ok("/api.Prod/Alive"));
/// assert_eq!(request.headers["content-type"], "application/grpc-web+proto");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// The proxy's event format version (proxy only).
    pub grpc_lambda: Option<u32>,
    /// REST API and ALB method (`httpMethod`).
    pub http_method: Option<Method>,
    /// VPC Lattice method (`method`).
    pub method: Option<Method>,
    /// REST API, ALB, VPC Lattice and proxy path.
    pub path: Option<String>,
    /// HTTP API and Function URL path (`rawPath`).
    pub raw_path: Option<String>,
    /// REST API resource (`resource`): the resource path the request was routed to, such as
    /// `/{proxy+}`.
    pub resource: Option<String>,
    /// `pathParameters` (REST API and HTTP API), name and value in event order.
    pub path_parameters: Option<Vec<(String, String)>>,
    /// `headers`: single values (REST API, HTTP API, ALB), lists (VPC Lattice) or ordered pairs
    /// (proxy), names lowercase.
    pub headers: Option<HeaderMap>,
    /// `multiValueHeaders` (REST API, ALB with multi-value headers enabled).
    pub multi_value_headers: Option<HeaderMap>,
    /// HTTP API and Function URL cookies, taken out of the `cookie` header.
    pub cookies: Option<Vec<String>>,
    /// `rawQueryString` (HTTP API, Function URL, the proxy): the query string as sent.
    pub raw_query_string: Option<String>,
    /// `queryStringParameters` (REST API and VPC Lattice: decoded; ALB: as sent), name and value
    /// in event order, a list's values one pair each.
    pub query_string_parameters: Option<Vec<(String, String)>>,
    /// `multiValueQueryStringParameters` (REST API: decoded; ALB with multi-value headers: as
    /// sent), one pair per value.
    pub multi_value_query_string_parameters: Option<Vec<(String, String)>>,
    /// The body, decoded from base64 when the event says `isBase64Encoded`.
    pub body: EventBody,
    /// The parts of `requestContext` that identify the source.
    pub request_context: Option<RequestContext>,
}

/// What `requestContext` tells about the front door.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// `elb` is present: an ALB event.
    pub elb: bool,
    /// `http.method` (payload format 2.0).
    pub http_method: Option<Method>,
    /// `http` is present (payload format 2.0).
    pub http: bool,
    /// `serviceNetworkArn` or `serviceArn` is present: a VPC Lattice event.
    pub vpc_lattice: bool,
    /// `domainName` is a Function URL's (`<id>.lambda-url.<region>.on.aws`).
    pub function_url: bool,
    /// `stage` (API Gateway): the stage name, `$default` for an HTTP API's default stage.
    pub stage: Option<String>,
}

/// A request body as the event carried it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum EventBody {
    /// No body.
    #[default]
    Empty,
    /// The body's bytes, as text (`isBase64Encoded: false`).
    Text(String),
    /// The body, decoded from base64 (`isBase64Encoded: true`).
    Binary(Bytes),
    /// The body says `isBase64Encoded` but is not base64.
    InvalidBase64(Base64Error),
}

impl EventBody {
    /// The body from the event's `body` text and `isBase64Encoded`.
    pub fn from_event(text: &str, is_base64_encoded: bool) -> Self {
        // Text that is already a `str` is UTF-8, so the fallback is never taken; it is what the
        // bytes path answers for it anyway.
        Self::from_event_bytes(Cow::Borrowed(text.as_bytes()), is_base64_encoded)
            .unwrap_or_else(|| EventBody::Text(text.to_owned()))
    }

    /// [`EventBody::from_event`] from the body's raw bytes: base64 is decoded straight from
    /// them; a text body must be UTF-8 (`None` when it is not).
    fn from_event_bytes(text: Cow<'_, [u8]>, is_base64_encoded: bool) -> Option<Self> {
        Some(if text.is_empty() {
            EventBody::Empty
        } else if is_base64_encoded {
            match grpc_lambda_core::base64::decode(&text) {
                Ok(bytes) => EventBody::Binary(bytes),
                Err(err) => EventBody::InvalidBase64(err),
            }
        } else {
            EventBody::Text(String::from_utf8(text.into_owned()).ok()?)
        })
    }
}

impl Event {
    /// Reads an event from its JSON, in one pass (see [reading an event](self#reading-an-event)).
    ///
    /// # Errors
    ///
    /// [`EventJsonError`], with the byte offset, when the text is not JSON or a field the shim
    /// reads has the wrong type.
    pub fn from_slice(json: &[u8]) -> Result<Self, EventJsonError> {
        reader::read(json)
    }

    /// [`Event::from_slice`], from the buffer the event arrived in: header values are slices of
    /// it when the event is at most [`MAX_SHARED_EVENT`] bytes (see
    /// [reading an event](self#reading-an-event)).
    ///
    /// # Errors
    ///
    /// As [`Event::from_slice`].
    pub fn from_bytes(json: &Bytes) -> Result<Self, EventJsonError> {
        reader::read_shared(json)
    }
}

/// Through `serde_json` (which hands the event's text over as it is), then
/// [`Event::from_slice`].
impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Event::from_slice(raw.get().as_bytes()).map_err(de::Error::custom)
    }
}

/// The HTTP request an event carries, the same whatever the front door.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The front door, which decides the response shape.
    pub source: Source,
    /// The request method.
    pub method: Method,
    /// The gRPC method the front door routed, `/package.Service/Method`, derived from the
    /// fields that front door defines; or why the event names none (see [`path`]).
    pub path: Result<String, PathError>,
    /// Headers, names lowercase, values in event order.
    pub headers: HeaderMap,
    /// The query string, percent-encoded as a client sends it, without the `?`; empty without
    /// one. `rawQueryString` as it is; ALB's parameters as they came (ALB does not decode
    /// them); a REST API's and VPC Lattice's, which arrive decoded, encoded again.
    pub query: String,
    /// The body.
    pub body: EventBody,
}

impl Event {
    /// Which front door sent this event, from its own fields.
    ///
    /// # Errors
    ///
    /// [`EventError::UnknownShape`] when the event has none of the identifying fields.
    pub fn source(&self) -> Result<Source, EventError> {
        let context = self.request_context.as_ref();
        let multi_value_headers = self.multi_value_headers.is_some();
        if self.grpc_lambda.is_some() {
            return Ok(Source::Proxy);
        }
        if context.is_some_and(|c| c.elb) {
            return Ok(Source::Alb {
                multi_value_headers,
            });
        }
        let lattice_method =
            self.method.is_some() && self.raw_path.is_none() && self.http_method.is_none();
        if context.is_some_and(|c| c.vpc_lattice) || lattice_method {
            return Ok(Source::VpcLattice);
        }
        if self.raw_path.is_some() || context.is_some_and(|c| c.http) {
            let function_url = context.is_some_and(|c| c.function_url);
            return Ok(if function_url {
                Source::FunctionUrl
            } else {
                Source::HttpApi
            });
        }
        if self.http_method.is_some() {
            return Ok(Source::RestApi {
                multi_value_headers,
            });
        }
        Err(EventError::UnknownShape)
    }

    /// The HTTP request this event carries.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the source cannot be told, or the event names no method.
    pub fn into_request(mut self) -> Result<HttpRequest, EventError> {
        let source = self.source()?;
        // The event is lent, not moved, to the functions that take its parts: it is some
        // hundreds of bytes, and each move is a copy.
        match source {
            Source::RestApi { .. } => {
                let method = self.http_method.take();
                let resource = self.resource.take();
                let parameters = self.path_parameters.take().unwrap_or_default();
                with_path(&mut self, source, method, |path| {
                    path::rest_api(path, resource.as_deref(), &parameters)
                })
            }
            Source::Alb { .. } => {
                let method = self.http_method.take();
                with_path(&mut self, source, method, path::as_it_stands)
            }
            Source::HttpApi | Source::FunctionUrl => http_api(&mut self, source),
            // VPC Lattice: headers as lists (v2) or strings (v1).
            Source::VpcLattice => {
                let method = self.method.take();
                with_path(&mut self, source, method, path::as_it_stands)
            }
            // The proxy: a POST unless it says otherwise (`httpMethod`, or its payload 2.0
            // event's `requestContext.http.method`); ordered header pairs.
            Source::Proxy => {
                let method = self
                    .http_method
                    .take()
                    .or_else(|| {
                        let context = self.request_context.as_mut()?;
                        context.http_method.take()
                    })
                    .unwrap_or(Method::POST);
                with_path(&mut self, source, Some(method), path::as_it_stands)
            }
        }
    }

    /// `multiValueQueryStringParameters` when present (a superset of `queryStringParameters`),
    /// else `queryStringParameters`.
    fn take_query_parameters(&mut self) -> Option<Vec<(String, String)>> {
        self.multi_value_query_string_parameters
            .take()
            .or_else(|| self.query_string_parameters.take())
    }

    /// `multiValueHeaders` when present (a superset of `headers`), else `headers`.
    fn take_headers(&mut self) -> HeaderMap {
        self.multi_value_headers
            .take()
            .or_else(|| self.headers.take())
            .unwrap_or_default()
    }
}

/// REST API (1.0), ALB, VPC Lattice and the proxy: the method the source names, the gRPC
/// method `route` finds from `path`, and `headers` / `multiValueHeaders`.
fn with_path(
    event: &mut Event,
    source: Source,
    method: Option<Method>,
    route: impl FnOnce(String) -> Result<String, PathError>,
) -> Result<HttpRequest, EventError> {
    let method = method.ok_or(EventError::MissingMethod { source })?;
    let query = match source {
        Source::Alb { .. } => query::joined(event.take_query_parameters()),
        Source::Proxy => query::raw(event.raw_query_string.take()),
        _ => query::encoded(event.take_query_parameters()),
    };
    Ok(HttpRequest {
        source,
        method,
        path: route(event.path.take().unwrap_or_default()),
        headers: event.take_headers(),
        query,
        body: std::mem::take(&mut event.body),
    })
}

/// HTTP API and Function URL (2.0): `requestContext.http.method`, `rawPath` (without the
/// stage, for an HTTP API), `cookies`.
fn http_api(event: &mut Event, source: Source) -> Result<HttpRequest, EventError> {
    let context = event.request_context.as_mut();
    let (method, stage) = context.map_or((None, None), |c| (c.http_method.take(), c.stage.take()));
    let method = method.ok_or(EventError::MissingMethod { source })?;
    let raw_path = event.raw_path.take().unwrap_or_default();
    let path = match source {
        Source::HttpApi => path::http_api(raw_path, stage.as_deref()),
        _ => path::as_it_stands(raw_path),
    };
    let mut headers = event.take_headers();
    if let Some(cookies) = event.cookies.take().filter(|c| !c.is_empty()) {
        if !headers.contains_key(COOKIE) {
            if let Ok(value) = HeaderValue::from_str(&cookies.join("; ")) {
                headers.insert(COOKIE, value);
            }
        }
    }
    Ok(HttpRequest {
        source,
        method,
        path,
        headers,
        query: query::raw(event.raw_query_string.take()),
        body: std::mem::take(&mut event.body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::SET_COOKIE;
    use http::StatusCode;

    fn fixture(name: &str) -> Event {
        let path = format!(
            "{}/tests/data/aws-events/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_fixture_is_recognised() {
        let cases = [
            (
                "alb_multi_value_request.json",
                Source::Alb {
                    multi_value_headers: true,
                },
            ),
            (
                "alb_no_host.json",
                Source::Alb {
                    multi_value_headers: false,
                },
            ),
            (
                "alb_request.json",
                Source::Alb {
                    multi_value_headers: false,
                },
            ),
            (
                "example-alb-lambda-target-request-multivalue-headers.json",
                Source::Alb {
                    multi_value_headers: true,
                },
            ),
            (
                "apigw_multi_value_proxy_request.json",
                Source::RestApi {
                    multi_value_headers: true,
                },
            ),
            (
                "apigw_no_host.json",
                Source::RestApi {
                    multi_value_headers: false,
                },
            ),
            (
                "apigw_proxy_request.json",
                Source::RestApi {
                    multi_value_headers: false,
                },
            ),
            (
                "example-apigw-request.json",
                Source::RestApi {
                    multi_value_headers: true,
                },
            ),
            (
                "example-apigw-sam-rest-request.json",
                Source::RestApi {
                    multi_value_headers: true,
                },
            ),
            ("apigw_v2_proxy_request.json", Source::HttpApi),
            ("apigw_v2_proxy_request_minimal.json", Source::HttpApi),
            ("apigw_v2_sam_local.json", Source::HttpApi),
            ("example-apigw-sam-http-request.json", Source::HttpApi),
            ("example-apigw-v2-request-iam.json", Source::HttpApi),
            (
                "example-apigw-v2-request-no-authorizer.json",
                Source::HttpApi,
            ),
            ("lambda_function_url_request.json", Source::FunctionUrl),
            ("vpc_lattice_v2_request_base64.json", Source::VpcLattice),
            (
                "apigw_rest_stage_request.json",
                Source::RestApi {
                    multi_value_headers: true,
                },
            ),
            (
                "apigw_rest_custom_domain_request.json",
                Source::RestApi {
                    multi_value_headers: true,
                },
            ),
            ("apigw_v2_named_stage_request.json", Source::HttpApi),
            ("apigw_v2_default_stage_request.json", Source::HttpApi),
        ];
        for (name, source) in cases {
            let event = fixture(name);
            assert_eq!(event.source(), Ok(source), "{name}");
            let request = event.into_request().unwrap();
            assert_eq!(request.source, source);
        }
    }

    #[test]
    fn every_front_door_names_the_method_it_routed() {
        // The stage and a custom domain's base path are where each front door puts them.
        for name in [
            "apigw_rest_stage_request.json",
            "apigw_rest_custom_domain_request.json",
            "apigw_v2_named_stage_request.json",
            "apigw_v2_default_stage_request.json",
        ] {
            let request = fixture(name).into_request().unwrap();
            assert_eq!(request.path.as_deref(), Ok("/api.Prod/Alive"), "{name}");
        }
        let event = fixture("apigw_rest_custom_domain_request.json");
        assert_eq!(event.path.as_deref(), Some("/v1/api.Prod/Alive"));
        assert_eq!(event.resource.as_deref(), Some("/{proxy+}"));
        assert_eq!(
            event.path_parameters.as_deref(),
            Some(&[("proxy".to_owned(), "api.Prod/Alive".to_owned())][..])
        );
        let context = fixture("apigw_v2_named_stage_request.json")
            .request_context
            .unwrap();
        assert_eq!(context.stage.as_deref(), Some("prod"));
        // The samples name paths that are not gRPC methods: refused, naming the path.
        let request = fixture("apigw_v2_sam_local.json").into_request().unwrap();
        assert_eq!(request.path.unwrap_err().path(), "/hello");
        let request = fixture("example-apigw-sam-rest-request.json")
            .into_request()
            .unwrap();
        assert_eq!(request.path.unwrap_err().path(), "/test");
    }

    #[test]
    fn a_small_event_lends_its_buffer_to_header_values_a_large_one_does_not() {
        let event = |body_len: usize| {
            Bytes::from(format!(
                r#"{{"version": "2.0", "rawPath": "/a.B/C", "requestContext": {{"http": {{"method": "POST"}}}},
                    "headers": {{"x-name": "a value", "x-escaped": "a \"quoted\" value", "x-one": "1"}},
                    "body": "{}"}}"#,
                "A".repeat(body_len)
            ))
        };
        let within = |buffer: &Bytes, value: &HeaderValue| {
            buffer.as_ptr_range().contains(&value.as_bytes().as_ptr())
        };
        for (body_len, shared) in [(0, true), (MAX_SHARED_EVENT, false)] {
            let json = event(body_len);
            assert_eq!(json.len() <= MAX_SHARED_EVENT, shared);
            let from_bytes = Event::from_bytes(&json).unwrap();
            assert_eq!(from_bytes, Event::from_slice(&json).unwrap());
            let headers = from_bytes.headers.unwrap();
            assert_eq!(headers["x-name"], "a value");
            assert_eq!(within(&json, &headers["x-name"]), shared);
            // An escaped value is unescaped into a buffer of its own; a constant is a constant.
            assert_eq!(headers["x-escaped"], "a \"quoted\" value");
            assert!(!within(&json, &headers["x-escaped"]));
            assert!(!within(&json, &headers["x-one"]));
        }
    }

    #[test]
    fn every_front_door_keeps_its_query_string() {
        for (name, query) in [
            (
                "alb_multi_value_request.json",
                "myKey=val1&myKey=val2&myOtherKey=val3&myOtherKey=val4",
            ),
            ("alb_request.json", "myKey=val2"),
            ("alb_no_host.json", ""),
            (
                "apigw_multi_value_proxy_request.json",
                "name=me&multiValueName=you&multiValueName=me",
            ),
            ("apigw_proxy_request.json", "name=me"),
            ("apigw_rest_stage_request.json", ""),
            (
                "apigw_v2_proxy_request.json",
                "parameter1=value1&parameter1=value2&parameter2=value",
            ),
            ("apigw_v2_named_stage_request.json", ""),
            ("example-apigw-sam-http-request.json", "foo=bar"),
            (
                "lambda_function_url_request.json",
                "parameter1=value1&parameter1=value2&parameter2=value",
            ),
            (
                "vpc_lattice_v2_request_base64.json",
                "state=prod&multi=a&multi=DEF&multi=g",
            ),
        ] {
            let request = fixture(name).into_request().unwrap();
            assert_eq!(request.query, query, "{name}");
        }
        // A REST API decodes its parameters, an ALB does not: each reaches the same query.
        let connect_get = |fields: &str| {
            let json = format!(
                r#"{{"httpMethod": "GET", "path": "/a.B/C", {fields}, "requestContext": {{"elb": {{}}}}}}"#
            );
            Event::from_slice(json.as_bytes()).unwrap()
        };
        let alb =
            connect_get(r#""queryStringParameters": {"message": "%7B%7D", "encoding": "json"}"#);
        assert_eq!(
            alb.into_request().unwrap().query,
            "message=%7B%7D&encoding=json"
        );
        let mut rest =
            connect_get(r#""queryStringParameters": {"message": "{}", "encoding": "json"}"#);
        rest.request_context = None;
        assert_eq!(
            rest.into_request().unwrap().query,
            "message=%7B%7D&encoding=json"
        );
    }

    #[test]
    fn lattice_headers_mix_strings_and_lists() {
        let request = fixture("vpc_lattice_v2_request_base64.json")
            .into_request()
            .unwrap();
        assert_eq!(request.method, Method::GET);
        // Not a gRPC method: the path is kept for the refusal to name.
        assert_eq!(request.path.unwrap_err().path(), "/health");
        assert_eq!(request.headers["host"], "www.site.com");
        let multi: Vec<_> = request.headers.get_all("multi").iter().collect();
        assert_eq!(multi, ["x", "y"]);
        assert_eq!(
            request.body,
            EventBody::Binary(Bytes::from_static(b"All is good"))
        );
    }

    #[test]
    fn rest_api_header_names_are_folded_and_multi_values_kept() {
        let request = fixture("alb_multi_value_request.json")
            .into_request()
            .unwrap();
        let cookies: Vec<_> = request.headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["name1=value1", "name2=value2"]);
        let request = fixture("example-apigw-request.json")
            .into_request()
            .unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path.as_deref(), Ok("/hello/world"));
        assert_eq!(request.headers["content-type"], "application/json");
    }

    #[test]
    fn http_api_cookies_become_a_cookie_header_once() {
        let request = fixture("apigw_v2_proxy_request.json")
            .into_request()
            .unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path.as_deref(), Ok("/my/path"));
        assert_eq!(request.headers.get_all(COOKIE).iter().count(), 1);
        let request = fixture("lambda_function_url_request.json")
            .into_request()
            .unwrap();
        assert_eq!(
            request.headers.get_all(COOKIE).iter().collect::<Vec<_>>(),
            ["test=hi"]
        );
    }

    #[test]
    fn an_event_without_a_known_shape_is_an_error() {
        let event: Event = serde_json::from_str(r#"{"key": "value"}"#).unwrap();
        assert_eq!(event.source(), Err(EventError::UnknownShape));
        assert!(event
            .into_request()
            .unwrap_err()
            .to_string()
            .contains("not an HTTP event"));
    }

    #[test]
    fn proxy_event_keeps_header_order() {
        let event: Event = serde_json::from_str(
            r#"{"grpcLambda": 1, "path": "/a.B/C", "headers": [["x-a", "1"], ["x-b", "2"], ["x-a", "3"]],
                "body": "AAAAAAA=", "isBase64Encoded": true}"#,
        )
        .unwrap();
        let request = event.into_request().unwrap();
        assert_eq!(request.source, Source::Proxy);
        assert_eq!(request.method, Method::POST);
        assert_eq!(
            request.headers.get_all("x-a").iter().collect::<Vec<_>>(),
            ["1", "3"]
        );
    }

    #[test]
    fn the_proxys_http_api_shaped_event_is_the_proxy_source() {
        // What grpc-lambda-proxy sends: a payload 2.0 event plus `grpcLambda`, `path` and
        // `multiValueHeaders`, which keep repeated metadata apart.
        let event: Event = serde_json::from_str(
            r#"{"version": "2.0", "routeKey": "$default", "rawPath": "/api.Prod/Alive", "rawQueryString": "",
                "headers": {"content-type": "application/grpc-web+proto", "x-echo": "a,b"},
                "multiValueHeaders": {"content-type": ["application/grpc-web+proto"], "x-echo": ["a", "b"]},
                "requestContext": {"http": {"method": "POST", "path": "/api.Prod/Alive", "protocol": "HTTP/2",
                                   "sourceIp": "127.0.0.1", "userAgent": "grpc-go/1.70"},
                                   "routeKey": "$default", "stage": "$default", "requestId": "r", "timeEpoch": 0},
                "grpcLambda": 1, "path": "/api.Prod/Alive",
                "isBase64Encoded": true, "body": "AAAAAAYKBHRlc3Q="}"#,
        )
        .unwrap();
        let request = event.into_request().unwrap();
        assert_eq!(request.source, Source::Proxy);
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path.as_deref(), Ok("/api.Prod/Alive"));
        assert_eq!(
            request.headers.get_all("x-echo").iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            request.body,
            EventBody::Binary(Bytes::from_static(b"\0\0\0\0\x06\x0a\x04test"))
        );
    }

    #[test]
    fn the_body_is_written_into_the_json_as_it_is() {
        // Guards the raw-JSON token: if serde_json stopped recognising it, the body would come
        // out as an object.
        let mut response = EventResponse::new(Source::HttpApi, StatusCode::OK);
        response.headers.insert(
            "content-type",
            HeaderValue::from_static("application/grpc-web+proto"),
        );
        response.body = ResponseBody::base64([&b"\0\0\0\0\x01"[..], b"\x08"]);
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web+proto"},"cookies":[],"body":"AAAAAAEI","isBase64Encoded":true}"#
        );
        response.body = ResponseBody::text_of("a \"quote\"\n");
        let json = serde_json::to_string(&response).unwrap();
        assert!(
            json.contains(r#""body":"a \"quote\"\n","isBase64Encoded":false"#),
            "{json}"
        );
    }

    #[test]
    fn bodies_are_read_from_their_bytes() {
        // An escaped base64 body (`\/` is `/`) is unescaped, then decoded.
        let event: Event = serde_json::from_str(
            r#"{"grpcLambda": 1, "path": "/a.B/C", "body": "AAAAAAP\/\/\/8=", "isBase64Encoded": true}"#,
        )
        .unwrap();
        assert_eq!(
            event.body,
            EventBody::Binary(Bytes::from_static(b"\0\0\0\0\x03\xff\xff\xff"))
        );
        // A text body keeps its text, escapes resolved.
        let event: Event =
            serde_json::from_str(r#"{"grpcLambda": 1, "path": "/a.B/C", "body": "caf\u00e9\n"}"#)
                .unwrap();
        assert_eq!(event.body, EventBody::Text("café\n".to_owned()));
        // A text body that is not UTF-8 is refused with the event, naming where.
        let err =
            Event::from_slice(b"{\"grpcLambda\": 1, \"path\": \"/a.B/C\", \"body\": \"\xff\"}")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "event field `body` at byte 45: a text body that is not UTF-8 (a binary body needs \
             isBase64Encoded)"
        );
        // Header names and values come from their bytes too.
        let event: Event = serde_json::from_str(
            r#"{"grpcLambda": 1, "path": "/a.B/C", "headers": {"X-Caf\u00e9": "1", "x-a": "b\"c"}}"#,
        )
        .unwrap();
        let headers = event.headers.unwrap();
        assert_eq!(headers.len(), 1, "a name HTTP cannot carry is dropped");
        assert_eq!(headers["x-a"], "b\"c");
    }

    #[test]
    fn response_shapes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/grpc-web+proto"),
        );
        headers.append("x-echo", HeaderValue::from_static("a"));
        headers.append("x-echo", HeaderValue::from_static("b"));
        let response = |source| EventResponse {
            source,
            status: StatusCode::OK,
            headers: headers.clone(),
            body: ResponseBody::base64([&b"\0\0\0"[..]]),
        };
        let json = serde_json::to_value(response(Source::RestApi {
            multi_value_headers: true,
        }))
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"statusCode": 200, "multiValueHeaders": {"content-type": ["application/grpc-web+proto"],
                "x-echo": ["a", "b"]}, "body": "AAAA", "isBase64Encoded": true})
        );
        let json = serde_json::to_value(response(Source::RestApi {
            multi_value_headers: false,
        }))
        .unwrap();
        assert_eq!(json["headers"]["x-echo"], "a, b");
        let json = serde_json::to_value(response(Source::Alb {
            multi_value_headers: false,
        }))
        .unwrap();
        assert_eq!(json["statusDescription"], "200 OK");
        let json = serde_json::to_value(response(Source::Proxy)).unwrap();
        assert_eq!(
            json["headers"],
            serde_json::json!([
                ["content-type", "application/grpc-web+proto"],
                ["x-echo", "a"],
                ["x-echo", "b"]
            ])
        );
        assert_eq!(json["grpcLambda"], 1);
        let mut with_cookie = response(Source::HttpApi);
        with_cookie
            .headers
            .append(SET_COOKIE, HeaderValue::from_static("a=1"));
        let json = serde_json::to_value(with_cookie).unwrap();
        assert_eq!(json["cookies"], serde_json::json!(["a=1"]));
        assert!(json["headers"].get("set-cookie").is_none());
    }
}
