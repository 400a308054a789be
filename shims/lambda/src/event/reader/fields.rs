//! The event's fields: which keys the shim reads, and what each must hold. Every other key is
//! stepped over, its grammar checked.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::known::{known_name, known_value};
use super::{Expected, RawStr, Reader, Result, MAX_HEADER_ENTRIES, TOO_MANY_HEADERS};
use crate::event::{Event, EventBody, RequestContext};

const TEXT_PATH: Expected = Expected::field("path", "expected a string or null");
const TEXT_RAW_PATH: Expected = Expected::field("rawPath", "expected a string or null");
const TEXT_RAW_QUERY: Expected = Expected::field("rawQueryString", "expected a string or null");
const TEXT_RESOURCE: Expected = Expected::field("resource", "expected a string or null");

impl Reader<'_> {
    pub(super) fn event(&mut self, event: &mut Event) -> Result<()> {
        // Read when `isBase64Encoded` is known, which may come after it.
        let mut body: Option<RawStr> = None;
        let mut is_base64_encoded = false;
        let top = Expected::json("the event is not a JSON object");
        self.object(0, top, |reader, key| {
            match &*reader.key(key) {
                b"grpcLambda" => event.grpc_lambda = reader.optional(Self::grpc_lambda)?,
                b"httpMethod" => {
                    event.http_method = reader.optional(|r| r.method("httpMethod"))?;
                }
                b"method" => event.method = reader.optional(|r| r.method("method"))?,
                b"path" => event.path = reader.optional(|r| r.utf8(TEXT_PATH))?,
                b"rawPath" => event.raw_path = reader.optional(|r| r.utf8(TEXT_RAW_PATH))?,
                b"resource" => event.resource = reader.optional(|r| r.utf8(TEXT_RESOURCE))?,
                b"pathParameters" => {
                    event.path_parameters = reader.optional(Self::path_parameters)?;
                }
                b"headers" => {
                    event.headers = reader.optional(|r| r.headers("headers"))?;
                }
                b"multiValueHeaders" => {
                    event.multi_value_headers =
                        reader.optional(|r| r.headers("multiValueHeaders"))?;
                }
                b"cookies" => event.cookies = reader.optional(Self::cookies)?,
                b"rawQueryString" => {
                    event.raw_query_string = reader.optional(|r| r.utf8(TEXT_RAW_QUERY))?;
                }
                b"queryStringParameters" => {
                    event.query_string_parameters =
                        reader.optional(|r| r.query_parameters("queryStringParameters"))?;
                }
                b"multiValueQueryStringParameters" => {
                    event.multi_value_query_string_parameters = reader
                        .optional(|r| r.query_parameters("multiValueQueryStringParameters"))?;
                }
                b"body" => {
                    let expected = Expected::field("body", "expected a string or null");
                    body = reader.optional(|r| r.string(expected))?;
                }
                b"isBase64Encoded" => {
                    let flag = reader.optional(|r| match r.peek() {
                        Some(b't') => r.literal(b"true").map(|()| true),
                        Some(b'f') => r.literal(b"false").map(|()| false),
                        _ => Err(r.error_at(
                            r.pos,
                            Expected::field("isBase64Encoded", "expected true, false or null"),
                        )),
                    })?;
                    is_base64_encoded = flag.unwrap_or(false);
                }
                b"requestContext" => {
                    event.request_context = reader.optional(Self::request_context)?;
                }
                _ => reader.skip_value(1)?,
            }
            Ok(())
        })?;
        if let Some(body) = body {
            // A base64 body's decoder refuses what is not base64 (control characters too), with
            // the offset; a text body is checked here.
            let text = if is_base64_encoded {
                self.unescape(body)
            } else {
                self.text(body)?
            };
            event.body = EventBody::from_event_bytes(text, is_base64_encoded).ok_or_else(|| {
                self.error_at(
                    body.start,
                    Expected::field(
                        "body",
                        "a text body that is not UTF-8 (a binary body needs isBase64Encoded)",
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// The proxy's event version: a whole number.
    fn grpc_lambda(&mut self) -> Result<u32> {
        let expected = Expected::field(
            "grpcLambda",
            "expected a whole number from 0 to 4294967295, or null",
        );
        let start = self.pos;
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return Err(self.error_at(self.pos, expected));
        }
        let (text, whole) = self.number()?;
        std::str::from_utf8(text)
            .ok()
            .filter(|_| whole)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| self.error_at(start, expected))
    }

    /// `pathParameters`: an object of strings, kept in order (names and values are text).
    fn path_parameters(&mut self) -> Result<Vec<(String, String)>> {
        let expected = Expected::field("pathParameters", "expected an object of strings or null");
        let mut parameters = Vec::new();
        self.object(1, expected, |reader, name| {
            let name = reader.owned_text(name, expected)?;
            parameters.push((name, reader.utf8(expected)?));
            Ok(())
        })?;
        Ok(parameters)
    }

    /// Query parameters: an object of strings, lists of strings or `null`s (a list is one pair
    /// per value, in order; `null` is no value), as name and value pairs in event order.
    fn query_parameters(&mut self, field: &'static str) -> Result<Vec<(String, String)>> {
        let expected = Expected::field(
            field,
            "expected an object of strings, lists of strings or nulls, or null",
        );
        let mut parameters = Vec::new();
        self.object(1, expected, |reader, name| {
            let name = reader.owned_text(name, expected)?;
            match reader.peek() {
                Some(b'[') => reader.array(2, expected, |reader| {
                    let value = reader.utf8(expected)?;
                    parameters.push((name.clone(), value));
                    Ok(())
                })?,
                Some(b'n') => reader.literal(b"null")?,
                _ => {
                    let value = reader.utf8(expected)?;
                    parameters.push((name, value));
                }
            }
            Ok(())
        })?;
        Ok(parameters)
    }

    fn cookies(&mut self) -> Result<Vec<String>> {
        let expected = Expected::field("cookies", "expected a list of strings or null");
        let mut cookies = Vec::new();
        self.array(1, expected, |reader| {
            cookies.push(reader.utf8(expected)?);
            Ok(())
        })?;
        Ok(cookies)
    }

    /// Headers: an object of strings, lists of strings or `null`s, or a list of `[name, value]`
    /// pairs (the proxy's, which keeps their order).
    fn headers(&mut self, field: &'static str) -> Result<HeaderMap> {
        let mut headers = HeaderMap::with_capacity(16);
        let value = Expected::field(
            field,
            "expected a header value: a string, a list of strings or null",
        );
        let pair = Expected::field(field, "expected a [name, value] pair of strings");
        if self.peek() == Some(b'[') {
            self.array(1, pair, |reader| {
                reader.expect(b'[', pair)?;
                let name = reader.string(pair)?;
                let name = reader.key(name);
                reader.expect(b',', pair)?;
                let value = reader.string(pair)?;
                reader.expect(b']', pair)?;
                reader.append(&mut headers, field, &name, value)
            })?;
            return Ok(headers);
        }
        let object = Expected::field(
            field,
            "expected an object of header values, a list of [name, value] pairs, or null",
        );
        self.object(1, object, |reader, name| {
            let name = reader.key(name);
            match reader.peek() {
                Some(b'[') => reader.array(2, value, |reader| {
                    let one = reader.string(value)?;
                    reader.append(&mut headers, field, &name, one)
                })?,
                Some(b'n') => reader.literal(b"null")?,
                _ => {
                    let one = reader.string(value)?;
                    reader.append(&mut headers, field, &name, one)?;
                }
            }
            Ok(())
        })?;
        Ok(headers)
    }

    /// Appends one header; a name or value HTTP cannot carry is dropped (the front door already
    /// parsed the request, so such an entry cannot come from a well-formed one).
    fn append(
        &self,
        headers: &mut HeaderMap,
        field: &'static str,
        name: &[u8],
        value: RawStr,
    ) -> Result<()> {
        // `from_bytes` folds upper case: REST API and ALB keep the client's spelling.
        let Some(name) = known_name(name).or_else(|| HeaderName::from_bytes(name).ok()) else {
            return Ok(());
        };
        // A slice of the event's buffer when it is shared (a small event), a copy otherwise.
        let text = self.text(value)?;
        let value = known_value(&text).map_or_else(
            || match (self.shared, &text) {
                (Some(shared), Cow::Borrowed(_)) => {
                    HeaderValue::from_maybe_shared(shared.slice(value.start..value.end))
                }
                _ => HeaderValue::from_bytes(&text),
            },
            Ok,
        );
        if let Ok(value) = value {
            if headers.len() >= MAX_HEADER_ENTRIES {
                return Err(self.error_at(self.pos, Expected::field(field, TOO_MANY_HEADERS)));
            }
            headers.append(name, value);
        }
        Ok(())
    }

    /// What `requestContext` tells about the front door.
    fn request_context(&mut self) -> Result<RequestContext> {
        let mut context = RequestContext::default();
        let expected = Expected::field("requestContext", "expected an object or null");
        self.object(1, expected, |reader, key| {
            match &*reader.key(key) {
                b"elb" => context.elb = reader.present(2)?,
                b"http" => {
                    let method = reader.optional(Self::http_context)?;
                    context.http = method.is_some();
                    context.http_method = method.flatten();
                }
                b"serviceNetworkArn" | b"serviceArn" => {
                    context.vpc_lattice |= reader.present(2)?;
                }
                b"stage" => {
                    let expected =
                        Expected::field("requestContext.stage", "expected a string or null");
                    context.stage = reader.optional(|r| r.utf8(expected))?;
                }
                b"domainName" => {
                    let expected =
                        Expected::field("requestContext.domainName", "expected a string or null");
                    let domain = reader.optional(|r| {
                        let string = r.string(expected)?;
                        r.text(string)
                    })?;
                    context.function_url = domain
                        .is_some_and(|domain| domain.windows(12).any(|w| w == b".lambda-url."));
                }
                _ => reader.skip_value(2)?,
            }
            Ok(())
        })?;
        Ok(context)
    }

    /// `requestContext.http` of payload format 2.0: only its method is read.
    fn http_context(&mut self) -> Result<Option<Method>> {
        let mut method = None;
        let expected = Expected::field("requestContext.http", "expected an object or null");
        self.object(2, expected, |reader, key| {
            if *reader.key(key) == *b"method" {
                method = reader.optional(|r| r.method("requestContext.http.method"))?;
            } else {
                reader.skip_value(3)?;
            }
            Ok(())
        })?;
        Ok(method)
    }
}
