//! The response to an event, written as JSON in the shape its front door expects.
//!
//! The JSON is written by hand into one buffer, sized beforehand, the body base64-encoded
//! straight into it from the answer's frames: the frames are kept as they were produced (tonic's
//! buffers, the trailer frame) until then, never copied into a body of their own. The runtime's
//! serializer then takes the whole text as it is (the raw-JSON token), with no second pass over
//! it.

use std::borrow::Cow;

use http::header::SET_COOKIE;
use http::{HeaderMap, StatusCode};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::response_body::ResponseBody;
use super::write::{header_pairs, joined_headers, list, multi_value_headers, Json};
use super::{Source, PROXY_EVENT_VERSION};

/// The response to an event, serialized in the shape its [`Source`] expects.
///
/// # Examples
///
/// ```
/// use grpc_lambda::event::{EventResponse, ResponseBody, Source};
///
/// let mut response = EventResponse::new(Source::Alb { multi_value_headers: false }, http::StatusCode::OK);
/// response.headers.insert("content-type", "application/grpc-web+proto".parse()?);
/// response.body = ResponseBody::base64([&b"\x80\0\0\0\x0fgrpc-status: 0\r\n"[..]]);
/// let json = serde_json::to_value(&response)?;
/// assert_eq!(json["statusDescription"], "200 OK");
/// assert_eq!(json["headers"]["content-type"], "application/grpc-web+proto");
/// assert_eq!(json["body"], "gAAAAA9ncnBjLXN0YXR1czogMA0K");
/// assert_eq!(json["isBase64Encoded"], true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct EventResponse {
    /// The front door the response goes back to.
    pub source: Source,
    /// The HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: ResponseBody,
}

impl EventResponse {
    /// An empty response with a status, for `source`.
    pub fn new(source: Source, status: StatusCode) -> Self {
        Self {
            source,
            status,
            headers: HeaderMap::new(),
            body: ResponseBody::empty(),
        }
    }

    /// The body's bytes once decoded: the binary content, or the text's bytes.
    pub fn decoded_body(&self) -> Cow<'_, [u8]> {
        self.body.content()
    }

    /// At least the length of the JSON this response serializes to, without the body.
    pub(crate) fn envelope_len_bound(&self) -> usize {
        headers_len_bound(&self.headers).saturating_add(ENVELOPE_LEN_BOUND)
    }

    /// The response JSON, as the front door expects it: written into one buffer, allocated once,
    /// the body base64-encoded straight into it. This is what serializing the response writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda::event::{EventResponse, ResponseBody, Source};
    ///
    /// let mut response = EventResponse::new(Source::HttpApi, http::StatusCode::OK);
    /// response.headers.insert("content-type", "application/grpc-web".parse()?);
    /// response.body = ResponseBody::base64([&b"\x80\0\0\0\0"[..]]);
    /// assert_eq!(
    ///     response.to_json(),
    ///     r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web"},"cookies":[],"body":"gAAAAAA=","isBase64Encoded":true}"#
    /// );
    /// assert_eq!(serde_json::to_string(&response)?, response.to_json());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.json_len_bound());
        self.write(&mut out);
        out
    }

    /// At least the length of [`EventResponse::to_json`], found without writing it, so that the
    /// buffer is allocated once.
    fn json_len_bound(&self) -> usize {
        self.body
            .json_len()
            .saturating_add(self.envelope_len_bound())
    }

    /// The JSON, into `out`.
    fn write(&self, out: &mut impl Json) {
        let source = self.source;
        let payload_2_0 = matches!(source, Source::HttpApi | Source::FunctionUrl);
        out.byte(b'{');
        if source == Source::Proxy {
            out.raw("\"grpcLambda\":");
            out.raw(PROXY_VERSION_TEXT);
            out.byte(b',');
        }
        out.raw("\"statusCode\":");
        out.raw(self.status.as_str());
        if matches!(source, Source::Alb { .. } | Source::VpcLattice) {
            // `"200 OK"`, as ALB and VPC Lattice expect it; a code with no reason is the code.
            out.raw(",\"statusDescription\":\"");
            out.raw(self.status.as_str());
            if let Some(reason) = self.status.canonical_reason() {
                out.byte(b' ');
                out.raw(reason);
            }
            out.byte(b'"');
        }
        match source {
            Source::RestApi {
                multi_value_headers: true,
            }
            | Source::Alb {
                multi_value_headers: true,
            } => {
                out.raw(",\"multiValueHeaders\":");
                multi_value_headers(out, &self.headers);
            }
            Source::Proxy => {
                out.raw(",\"headers\":");
                header_pairs(out, &self.headers);
            }
            // Payload format 2.0 sends `Set-Cookie` in `cookies`.
            _ => {
                out.raw(",\"headers\":");
                joined_headers(out, &self.headers, payload_2_0);
            }
        }
        // Payload format 2.0 always carries `cookies`, empty or not: AWS accepts an answer
        // without it, but `cargo lambda watch` (which reads the answer into
        // `aws_lambda_events`' `ApiGatewayV2httpResponse`, where the field is required) turns
        // such an answer into an HTTP 500.
        if payload_2_0 {
            out.raw(",\"cookies\":");
            list(out, self.headers.get_all(SET_COOKIE).iter());
        }
        out.raw(",\"body\":");
        self.body.write(out);
        out.raw(if self.body.is_base64_encoded() {
            ",\"isBase64Encoded\":true}"
        } else {
            ",\"isBase64Encoded\":false}"
        });
    }
}

/// Room for everything in the JSON but the headers and the body: the fields' names, their
/// punctuation, the status code and line, `isBase64Encoded`.
const ENVELOPE_LEN_BOUND: usize = 160;

/// At least the length `headers` take in the JSON, in any shape: each byte of a value as the
/// three a byte that is not UTF-8 becomes (no byte a header value may hold escapes to more),
/// room for the name's quotes and the punctuation around the value, and `Set-Cookie` twice (in
/// `cookies` as well, for payload 2.0).
pub(crate) fn headers_len_bound(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| {
            let once = name.as_str().len() + value.len() * 3 + 16;
            if name == SET_COOKIE {
                once + value.len() * 3 + 4
            } else {
                once
            }
        })
        .fold(0, usize::saturating_add)
}

/// `grpcLambda`'s value as JSON.
const PROXY_VERSION_TEXT: &str = "1";
const _: () = assert!(
    PROXY_EVENT_VERSION == 1,
    "PROXY_VERSION_TEXT spells the version"
);

/// JSON text written into the output as it is, the way `serde_json`'s `RawValue` serializes
/// itself (the same private token, which serde_json's serializers recognise), without the parse
/// `RawValue::from_string` runs over its input to check it. Only JSON this module wrote goes
/// through here.
///
/// The token is `serde_json`'s, not a public API: [`raw_token_works`] checks once, through
/// `serde_json` itself, that it still passes text through unchanged, and when it does not, the
/// text goes through `RawValue::from_string` instead (correct on any version, one more pass
/// over the text).
struct RawJson<'a>(&'a str);

/// `serde_json::raw::TOKEN`: the struct and field name by which `serde_json` recognises raw JSON.
const RAW_JSON_TOKEN: &str = "$serde_json::private::RawValue";

/// Text serialized under the token, unconditionally: what [`raw_token_works`] probes.
struct Token<'a>(&'a str);

impl Serialize for Token<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct(RAW_JSON_TOKEN, 1)?;
        s.serialize_field(RAW_JSON_TOKEN, self.0)?;
        s.end()
    }
}

/// What the probe writes: nesting, a string with an escape, a number and `null`, which a
/// serializer that did not know the token would quote as one string.
const PROBE: &str = r#"{"a":[1,"b\"c",null],"d":{}}"#;

/// Whether `serde_json` writes text under [`RAW_JSON_TOKEN`] as it is; checked on first use (the
/// shim calls it before its first invocation) and remembered. When it does not, the reason is
/// logged once.
pub(crate) fn raw_token_works() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| match token_passes_through() {
        Ok(()) => true,
        Err(written) => {
            tracing::warn!(
                probe = PROBE,
                written = %written,
                "serde_json no longer writes raw JSON through its private token; answers go \
                 through RawValue::from_string, one more pass over each"
            );
            false
        }
    })
}

/// `Ok` when the probe comes out of `serde_json` unchanged, else what came out.
fn token_passes_through() -> Result<(), String> {
    match serde_json::to_string(&Token(PROBE)) {
        Ok(written) if written == PROBE => Ok(()),
        Ok(written) => Err(written),
        Err(err) => Err(err.to_string()),
    }
}

/// `text` serialized as raw JSON: under the token when it works, else through a checked
/// `RawValue`.
fn serialize_raw<S: Serializer>(text: &str, token: bool, serializer: S) -> Result<S::Ok, S::Error> {
    if token {
        return Token(text).serialize(serializer);
    }
    serde_json::value::RawValue::from_string(text.to_owned())
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

impl Serialize for RawJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_raw(self.0, raw_token_works(), serializer)
    }
}

/// Through `serde_json` (as the Lambda runtime serializes a handler's answer): the text of
/// [`EventResponse::to_json`], taken as it is.
impl Serialize for EventResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawJson(&self.to_json()).serialize(serializer)
    }
}

/// A response already written as JSON, for the runtime to send as it is.
///
/// What the shim hands `lambda_runtime`, which serializes every answer into a buffer of its own:
/// the response's frames are dropped once they are written here, so a large answer is held
/// twice at most (this JSON and the runtime's copy of it), not three times (the frames as well).
pub(crate) struct ResponseJson(String);

impl From<EventResponse> for ResponseJson {
    fn from(response: EventResponse) -> Self {
        Self(response.to_json())
    }
}

impl Serialize for ResponseJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawJson(&self.0).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::super::write::{header_text, string};
    use super::*;
    use bytes::Bytes;
    use http::header::HeaderValue;
    use serde::ser::{SerializeMap, SerializeSeq};

    /// The serializer this module replaced, through `serde`'s maps and sequences: the reference
    /// the hand-written JSON must equal byte for byte.
    struct Reference<'a>(&'a EventResponse);

    struct JoinedHeaders<'a>(&'a HeaderMap, bool);
    impl Serialize for JoinedHeaders<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            for name in self.0.keys() {
                if self.1 && name == SET_COOKIE {
                    continue;
                }
                let values: Vec<_> = self.0.get_all(name).iter().map(header_text).collect();
                map.serialize_entry(name.as_str(), &values.join(", "))?;
            }
            map.end()
        }
    }

    struct MultiValueHeaders<'a>(&'a HeaderMap);
    impl Serialize for MultiValueHeaders<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            for name in self.0.keys() {
                let values: Vec<_> = self.0.get_all(name).iter().map(header_text).collect();
                map.serialize_entry(name.as_str(), &values)?;
            }
            map.end()
        }
    }

    struct HeaderPairs<'a>(&'a HeaderMap);
    impl Serialize for HeaderPairs<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for (name, value) in self.0 {
                seq.serialize_element(&(name.as_str(), header_text(value)))?;
            }
            seq.end()
        }
    }

    impl Serialize for Reference<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let response = self.0;
            let source = response.source;
            let payload_2_0 = matches!(source, Source::HttpApi | Source::FunctionUrl);
            let mut s = serializer.serialize_struct("EventResponse", 6)?;
            if source == Source::Proxy {
                s.serialize_field("grpcLambda", &PROXY_EVENT_VERSION)?;
            }
            s.serialize_field("statusCode", &response.status.as_u16())?;
            if matches!(source, Source::Alb { .. } | Source::VpcLattice) {
                let description = format!(
                    "{} {}",
                    response.status.as_u16(),
                    response.status.canonical_reason().unwrap_or("")
                );
                s.serialize_field("statusDescription", description.trim_end())?;
            }
            match source {
                Source::RestApi {
                    multi_value_headers: true,
                }
                | Source::Alb {
                    multi_value_headers: true,
                } => {
                    s.serialize_field("multiValueHeaders", &MultiValueHeaders(&response.headers))?
                }
                Source::Proxy => s.serialize_field("headers", &HeaderPairs(&response.headers))?,
                _ => {
                    s.serialize_field("headers", &JoinedHeaders(&response.headers, payload_2_0))?
                }
            }
            if payload_2_0 {
                let cookies: Vec<_> = response
                    .headers
                    .get_all(SET_COOKIE)
                    .iter()
                    .map(header_text)
                    .collect();
                s.serialize_field("cookies", &cookies)?;
            }
            s.serialize_field("body", &response.body.text())?;
            s.serialize_field("isBase64Encoded", &response.body.is_base64_encoded())?;
            s.end()
        }
    }

    const SOURCES: [Source; 9] = [
        Source::RestApi {
            multi_value_headers: false,
        },
        Source::RestApi {
            multi_value_headers: true,
        },
        Source::HttpApi,
        Source::FunctionUrl,
        Source::Alb {
            multi_value_headers: false,
        },
        Source::Alb {
            multi_value_headers: true,
        },
        Source::VpcLattice,
        Source::Proxy,
        Source::Proxy,
    ];

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/grpc-web+proto"),
        );
        for (i, value) in values.iter().enumerate() {
            let value = HeaderValue::from_bytes(value).unwrap();
            headers.append(if i % 2 == 0 { "x-a" } else { "x-b" }, value.clone());
            headers.append(SET_COOKIE, value);
        }
        headers
    }

    #[test]
    fn the_json_is_what_serde_wrote_byte_for_byte() {
        // Quotes, backslashes, a tab, UTF-8, bytes that are not UTF-8 (HTTP allows them).
        let values: [&[u8]; 7] = [
            b"plain",
            b"a \"quoted\" \\ value",
            b"tab\there",
            b"~ tilde",
            "caf\u{e9} \u{1f600}".as_bytes(),
            b"\xff\xfe not UTF-8 \x80",
            b"",
        ];
        let bodies = [
            ResponseBody::empty(),
            ResponseBody::text_of("a \"quote\"\n\u{1}\u{1f}\t\\ caf\u{e9}"),
            ResponseBody::base64([&b"\0\0\0\0\x01"[..], b"\x08"]),
            ResponseBody::base64_text([&b"\0\0\0\0\x01\x08"[..]]),
            ResponseBody::chunks(
                smallvec::smallvec![
                    Bytes::from_static(b"\0\0\0\0\x02\x08"),
                    Bytes::from_static(b"\x01"),
                    Bytes::new(),
                    Bytes::from_static(b"\x80\0\0\0\x0fgrpc-status: 0\r\n"),
                ],
                true,
            ),
        ];
        let statuses = [
            StatusCode::OK,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::from_u16(599).unwrap(),
        ];
        for source in SOURCES {
            for headers in [HeaderMap::new(), headers(&values[..1]), headers(&values)] {
                for body in &bodies {
                    for status in statuses {
                        let response = EventResponse {
                            source,
                            status,
                            headers: headers.clone(),
                            body: body.clone(),
                        };
                        let expected = serde_json::to_string(&Reference(&response)).unwrap();
                        assert_eq!(response.to_json(), expected);
                        assert_eq!(serde_json::to_string(&response).unwrap(), expected);
                        assert_eq!(serde_json::to_vec(&response).unwrap(), expected.as_bytes());
                    }
                }
            }
        }
    }

    #[test]
    fn payload_2_0_answers_always_carry_cookies() {
        let trailer_frame = &b"\x80\0\0\0\x0fgrpc-status: 0\r\n"[..];
        let answer = |source| {
            let mut response = EventResponse::new(source, StatusCode::OK);
            response.headers.insert(
                "content-type",
                HeaderValue::from_static("application/grpc-web+proto"),
            );
            response.body = ResponseBody::base64([trailer_frame]);
            response
        };
        for source in [Source::HttpApi, Source::FunctionUrl] {
            let mut response = answer(source);
            assert_eq!(
                response.to_json(),
                r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web+proto"},"cookies":[],"body":"gAAAAA9ncnBjLXN0YXR1czogMA0K","isBase64Encoded":true}"#,
                "{source:?}"
            );
            response
                .headers
                .append(SET_COOKIE, HeaderValue::from_static("a=1"));
            response
                .headers
                .append(SET_COOKIE, HeaderValue::from_static("b=\"2\"; Path=/"));
            assert_eq!(
                response.to_json(),
                r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web+proto"},"cookies":["a=1","b=\"2\"; Path=/"],"body":"gAAAAA9ncnBjLXN0YXR1czogMA0K","isBase64Encoded":true}"#,
                "{source:?}"
            );
            let preflight = EventResponse::new(source, StatusCode::NO_CONTENT);
            assert_eq!(
                preflight.to_json(),
                r#"{"statusCode":204,"headers":{},"cookies":[],"body":"","isBase64Encoded":false}"#
            );
        }
        // Payload format 1.0 has no such field.
        let rest = answer(Source::RestApi {
            multi_value_headers: false,
        });
        assert_eq!(
            rest.to_json(),
            r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web+proto"},"body":"gAAAAA9ncnBjLXN0YXR1czogMA0K","isBase64Encoded":true}"#
        );
    }

    #[test]
    fn every_control_character_is_escaped_as_serde_json_does() {
        let text: String = (0u8..0x20).map(char::from).collect();
        let mut out = String::new();
        string(&mut out, &text);
        assert_eq!(out, serde_json::to_string(&text).unwrap());
    }

    #[test]
    fn the_buffer_is_allocated_once() {
        // The worst a header can do: every byte not UTF-8 (three bytes each once replaced) or a
        // character JSON escapes, and set-cookie written in `cookies` as well.
        let worst = [b"\xff\xfe\x80".as_slice(), b"\t\"\\", b"", b"\xc3"];
        for source in SOURCES {
            for body in [
                ResponseBody::empty(),
                ResponseBody::text_of("\u{1}\u{2}\"\\"),
                ResponseBody::chunks(smallvec::smallvec![Bytes::from(vec![7; 1000])], true),
            ] {
                let mut response = EventResponse::new(source, StatusCode::from_u16(599).unwrap());
                response.headers = headers(&worst);
                response.body = body;
                let bound = response.json_len_bound();
                let json = response.to_json();
                assert!(json.len() <= bound, "{source:?}: {} > {bound}", json.len());
                assert_eq!(json.capacity(), bound, "{source:?}: the buffer grew");
            }
        }
    }

    #[test]
    fn bodies_tell_their_text_and_content() {
        let body = ResponseBody::chunks(
            smallvec::smallvec![Bytes::from_static(b"\0\0"), Bytes::from_static(b"\0\x01")],
            true,
        );
        assert_eq!(body.text(), "AAAAAQ==");
        assert_eq!(body.json_len(), 10);
        assert_eq!(&*body.content(), b"\0\0\0\x01");
        assert_eq!(body, ResponseBody::base64([&b"\0\0\0\x01"[..]]));
        let text = ResponseBody::chunks(
            smallvec::smallvec![Bytes::from_static(b"\0\0\0\x01")],
            false,
        );
        assert!(!text.is_base64_encoded());
        assert_eq!(&*text.content(), b"AAAAAQ==");
        assert_ne!(text, body);
        assert!(ResponseBody::chunks(smallvec::smallvec![Bytes::new()], true).is_empty());
        assert_eq!(ResponseBody::text_of("\"").json_len(), 4);
    }

    /// Raw JSON through `serde_json` with the token on or off, as `lambda_runtime` writes it.
    struct Raw<'a>(&'a str, bool);
    impl Serialize for Raw<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serialize_raw(self.0, self.1, serializer)
        }
    }

    #[test]
    fn the_token_passes_raw_json_through_with_this_serde_json() {
        // The branch that runs: if a serde_json upgrade breaks the token, this fails and the
        // shim (which checks the same at start-up) answers through the fallback meanwhile.
        assert_eq!(token_passes_through(), Ok(()));
        assert!(raw_token_works());
    }

    #[test]
    fn both_branches_write_the_same_bytes_inside_an_envelope() {
        let text = r#"{"statusCode":200,"body":"AAAAAAA=","headers":{"x":"a\"b"}}"#;
        for token in [true, false] {
            let written = serde_json::to_string(&vec![Raw(text, token)]).unwrap();
            assert_eq!(written, format!("[{text}]"), "token {token}");
        }
    }

    #[test]
    fn the_fallback_checks_what_it_writes() {
        // The fallback's one difference: it parses, so text that is not JSON is an error rather
        // than a corrupt answer.
        let err = serde_json::to_string(&Raw("{\"a\":", false)).unwrap_err();
        assert!(err.to_string().contains("EOF"), "{err}");
        assert_eq!(
            serde_json::to_string(&Raw("{\"a\":", true)).unwrap(),
            "{\"a\":"
        );
    }
}
