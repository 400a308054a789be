//! The event reader: an event's JSON read in one pass, straight into an [`Event`] (see
//! [reading an event](super#reading-an-event)).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use grpc_lambda_core::ContentType;

use super::{Event, EventBody, RequestContext};

/// Header entries (values) in one header map past this are refused: `http`'s `HeaderMap` holds
/// no more than 24,576 and panics past it; no front door sends anywhere near this many.
pub const MAX_HEADER_ENTRIES: usize = 10_000;

/// What a caught panic of the reader says: a bug, not a fault of the event.
const READER_FAILED: &str = "the event reader failed on this event (a bug in grpc-lambda)";

const TOO_MANY_HEADERS: &str = "more than 10000 header entries";

/// Containers nested deeper than this are refused (the event object itself is the first level;
/// `serde_json` refuses one level sooner).
pub const MAX_DEPTH: usize = 128;

/// An event that is not JSON, or whose fields do not have the types the shim reads.
///
/// # Examples
///
/// ```
/// use grpc_lambda::Event;
///
/// let err = Event::from_slice(br#"{"rawPath": 7}"#).unwrap_err();
/// assert_eq!(err.offset(), 12);
/// assert_eq!(err.to_string(), "event field `rawPath` at byte 12: expected a string or null");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventJsonError(Box<Fault>);

/// Boxed, so that every `Result` of the reader's happy path stays a register wide.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fault {
    offset: usize,
    field: Option<&'static str>,
    problem: &'static str,
}

impl EventJsonError {
    /// The reader failed on its own (a panic, caught), not on the event.
    pub(crate) fn reader_panicked() -> Self {
        Self(Box::new(Fault {
            offset: 0,
            field: None,
            problem: READER_FAILED,
        }))
    }

    /// The byte of the event JSON where the problem was found.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// The event field being read, when the JSON was well-formed but the field's value was not
    /// what the shim reads.
    pub fn field(&self) -> Option<&'static str> {
        self.0.field
    }
}

impl fmt::Display for EventJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fault {
            offset,
            field,
            problem,
        } = &*self.0;
        match field {
            _ if *problem == READER_FAILED => f.write_str(problem),
            Some(field) => write!(f, "event field `{field}` at byte {offset}: {problem}"),
            None => write!(f, "the event is not valid JSON at byte {offset}: {problem}"),
        }
    }
}

impl std::error::Error for EventJsonError {}

type Result<T> = std::result::Result<T, EventJsonError>;

/// Reads an event.
pub(super) fn read(json: &[u8]) -> Result<Event> {
    read_in(json, None)
}

/// Reads an event from a buffer its header values may be slices of.
pub(super) fn read_shared(json: &Bytes) -> Result<Event> {
    read_in(json, (json.len() <= MAX_SHARED_EVENT).then_some(json))
}

/// The largest event whose header values [`Event::from_bytes`](super::Event::from_bytes) slices
/// out of its buffer rather than copying: past it, a call's headers would keep a large buffer
/// alive, and the allocator could not reuse the event's block for the answer's buffers
/// (measured in `benches/README.md`).
pub const MAX_SHARED_EVENT: usize = 64 * 1024;

fn read_in(json: &[u8], shared: Option<&Bytes>) -> Result<Event> {
    let mut reader = Reader {
        json,
        pos: 0,
        shared,
    };
    // Filled in place: the event is some hundreds of bytes, and each move is a copy.
    let mut event = Event::default();
    reader.event(&mut event)?;
    reader.skip_whitespace();
    if reader.pos != json.len() {
        return Err(reader.error("more text after the event"));
    }
    Ok(event)
}

/// A JSON string where it sits in the event: the bytes between its quotes.
#[derive(Clone, Copy, Debug)]
struct RawStr {
    start: usize,
    end: usize,
    /// It holds escapes, so its bytes are not its value.
    escaped: bool,
}

/// What a value must be, and what to say when it is not: a fault in the JSON, or a field whose
/// value has the wrong type.
#[derive(Clone, Copy)]
struct Expected {
    field: Option<&'static str>,
    problem: &'static str,
}

impl Expected {
    const VALUE: Expected = Expected::json("expected a value");

    const fn json(problem: &'static str) -> Self {
        Self {
            field: None,
            problem,
        }
    }

    const fn field(field: &'static str, problem: &'static str) -> Self {
        Self {
            field: Some(field),
            problem,
        }
    }
}

const NESTED_TOO_DEEP: &str = "objects and arrays nested deeper than 128 levels";

struct Reader<'a> {
    json: &'a [u8],
    pos: usize,
    shared: Option<&'a Bytes>,
}

impl<'a> Reader<'a> {
    #[cold]
    fn error(&self, problem: &'static str) -> EventJsonError {
        self.error_at(self.pos, Expected::json(problem))
    }

    #[cold]
    fn error_at(&self, offset: usize, expected: Expected) -> EventJsonError {
        EventJsonError(Box::new(Fault {
            offset,
            field: expected.field,
            problem: expected.problem,
        }))
    }

    // The smallest steps (whitespace, the next byte, a string's fast path and its bytes) are
    // inlined into every loop that takes them: left to the compiler, some were calls that
    // returned their answer through memory, a visible part of reading an event (P5).
    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.json.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.json.get(self.pos).copied()
    }

    /// Consumes `byte`, the next byte that is not whitespace.
    #[inline(always)]
    fn expect(&mut self, byte: u8, expected: Expected) -> Result<()> {
        if self.peek() != Some(byte) {
            return Err(self.error_at(self.pos, expected));
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes `word` (`true`, `false`, `null`), which starts at the current byte.
    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.json.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(self.error("expected a value"));
        }
        self.pos += word.len();
        Ok(())
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    /// A string, the next value.
    #[inline]
    fn string(&mut self, expected: Expected) -> Result<RawStr> {
        self.expect(b'"', expected)?;
        let start = self.pos;
        // Most strings hold no escape: their end is the first `"` found.
        match quote_or_backslash(self.json, start) {
            Some(end) if self.json.get(end) == Some(&b'"') => {
                self.pos = end + 1;
                Ok(RawStr {
                    start,
                    end,
                    escaped: false,
                })
            }
            found => self.escaped_string(start, found),
        }
    }

    /// The rest of a string that starts at `start`, from `found`, the first `\\` in it (or
    /// `None`: the string is not closed).
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, mut found: Option<usize>) -> Result<RawStr> {
        loop {
            let Some(at) = found else {
                self.pos = self.json.len();
                return Err(self.error("a string is not closed"));
            };
            if self.json.get(at) == Some(&b'"') {
                self.pos = at + 1;
                return Ok(RawStr {
                    start,
                    end: at,
                    escaped: true,
                });
            }
            let len = match self.json.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                Some(b'u')
                    if self
                        .json
                        .get(at + 2..at + 6)
                        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                {
                    6
                }
                _ => {
                    self.pos = at;
                    return Err(self.error("an invalid escape in a string"));
                }
            };
            found = quote_or_backslash(self.json, at + len);
        }
    }

    /// A string's value, for a field the shim reads: its bytes, or, when it holds escapes, the
    /// bytes they stand for. A raw control character (which JSON does not allow in a string) is
    /// refused here, where the text is used.
    fn text(&self, string: RawStr) -> Result<Cow<'a, [u8]>> {
        let raw = self.raw(string);
        // No early exit: the loop vectorises, and a body is long.
        if raw.iter().fold(false, |seen, &b| seen | (b < 0x20)) {
            let at = raw.iter().position(|&b| b < 0x20).unwrap_or_default();
            return Err(self.error_at(
                string.start + at,
                Expected::json("a control character in a string"),
            ));
        }
        Ok(self.unescape(string))
    }

    /// An object's key, for matching against the names the shim reads (an unknown key, whatever
    /// it holds, is stepped over).
    #[inline(always)]
    fn key(&self, key: RawStr) -> Cow<'a, [u8]> {
        self.unescape(key)
    }

    #[inline(always)]
    fn raw(&self, string: RawStr) -> &'a [u8] {
        self.json.get(string.start..string.end).unwrap_or_default()
    }

    /// The bytes a string's escapes stand for (`string` checked their shape). A lone UTF-16
    /// surrogate becomes the three bytes UTF-8 would give its code point (as `serde_json` reads
    /// strings as bytes): text fields then refuse it as not UTF-8, bytes fields keep it.
    #[inline(always)]
    fn unescape(&self, string: RawStr) -> Cow<'a, [u8]> {
        let raw = self.raw(string);
        if !string.escaped {
            return Cow::Borrowed(raw);
        }
        Cow::Owned(unescaped(raw))
    }

    /// A string read as text: it must be UTF-8.
    fn utf8(&mut self, expected: Expected) -> Result<String> {
        let string = self.string(expected)?;
        self.owned_text(string, expected)
    }

    /// The text of `string` (a value or a key), which must be UTF-8.
    fn owned_text(&self, string: RawStr, expected: Expected) -> Result<String> {
        String::from_utf8(self.text(string)?.into_owned()).map_err(|_| {
            self.error_at(
                string.start,
                Expected {
                    problem: "text that is not UTF-8",
                    ..expected
                },
            )
        })
    }

    /// Reads an object, calling `each` with every key; `each` consumes the key's value.
    fn object(
        &mut self,
        depth: usize,
        expected: Expected,
        mut each: impl FnMut(&mut Self, RawStr) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'{', expected)?;
        if depth >= MAX_DEPTH {
            return Err(self.error(NESTED_TOO_DEEP));
        }
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string(Expected::json("expected a key (a string)"))?;
            self.expect(b':', Expected::json("expected ':' after a key"))?;
            each(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    /// Reads an array, calling `each` for every element; `each` consumes it.
    fn array(
        &mut self,
        depth: usize,
        expected: Expected,
        mut each: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'[', expected)?;
        if depth >= MAX_DEPTH {
            return Err(self.error(NESTED_TOO_DEEP));
        }
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    /// Steps over one value of any type, checking its grammar.
    fn skip_value(&mut self, depth: usize) -> Result<()> {
        match self.peek() {
            Some(b'"') => self.string(Expected::VALUE).map(drop),
            Some(b'{') => self.object(depth, Expected::VALUE, |reader, _key| {
                reader.skip_value(depth + 1)
            }),
            Some(b'[') => self.array(depth, Expected::VALUE, |reader| {
                reader.skip_value(depth + 1)
            }),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("the event ends early")),
        }
    }

    /// A number, checked against JSON's grammar: its text, and whether it is a whole number with
    /// no sign, fraction or exponent.
    fn number(&mut self) -> Result<(&'a [u8], bool)> {
        let json = self.json;
        let digits = |at: usize| {
            json.get(at..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let start = self.pos;
        let negative = json.get(start) == Some(&b'-');
        let mut at = start + usize::from(negative);
        let integer = digits(at);
        if integer == 0 || (integer > 1 && json.get(at) == Some(&b'0')) {
            self.pos = at;
            return Err(self.error("an invalid number"));
        }
        at += integer;
        let mut whole = !negative;
        if json.get(at) == Some(&b'.') {
            let fraction = digits(at + 1);
            if fraction == 0 {
                self.pos = at + 1;
                return Err(self.error("an invalid number"));
            }
            at += 1 + fraction;
            whole = false;
        }
        if let Some(b'e' | b'E') = json.get(at) {
            at += 1;
            at += usize::from(matches!(json.get(at), Some(b'+' | b'-')));
            let exponent = digits(at);
            if exponent == 0 {
                self.pos = at;
                return Err(self.error("an invalid number"));
            }
            at += exponent;
            whole = false;
        }
        self.pos = at;
        Ok((json.get(start..at).unwrap_or_default(), whole))
    }

    /// `null`, or a value read by `read`.
    fn optional<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.null()? {
            return Ok(None);
        }
        read(self).map(Some)
    }

    /// An HTTP method.
    fn method(&mut self, field: &'static str) -> Result<Method> {
        let string = self.string(Expected::field(
            field,
            "expected a method (a string) or null",
        ))?;
        Method::from_bytes(&self.text(string)?)
            .map_err(|_| self.error_at(string.start, Expected::field(field, "not an HTTP method")))
    }

    /// Whether the value is anything but `null`; it is stepped over.
    fn present(&mut self, depth: usize) -> Result<bool> {
        if self.null()? {
            return Ok(false);
        }
        self.skip_value(depth).map(|()| true)
    }

    fn event(&mut self, event: &mut Event) -> Result<()> {
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

/// The first `"` or `\\` at or after `from`. Most strings in an event (keys, header values,
/// `requestContext`'s fields) are short: they are searched eight bytes at a time in place, and
/// only what runs past 64 bytes (a body) goes to `memchr`'s vectorised search.
#[inline]
fn quote_or_backslash(json: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` equal to `byte` is set; a false positive can only
    // follow a true one, so the lowest set bit is exact.
    let matches = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut at = from;
    while at - from < 64 {
        let Some(chunk) = json
            .get(at..at + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
        else {
            let tail = json.get(at..).unwrap_or_default();
            return tail
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .map(|i| at + i);
        };
        let word = u64::from_le_bytes(chunk);
        let found = matches(word, b'"') | matches(word, b'\\');
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', json.get(at..).unwrap_or_default()).map(|i| at + i)
}

/// The names front doors and gRPC-Web clients send on most requests, as payload 2.0 events
/// carry them (lower case), as constants: `HeaderName::from_bytes` lowercases and matches every
/// name at run time, and allocates for each name outside `http`'s standard set.
fn known_name(name: &[u8]) -> Option<HeaderName> {
    use http::header;
    const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
    const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
    const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const X_AMZN_TLS_VERSION: HeaderName = HeaderName::from_static("x-amzn-tls-version");
    const X_AMZN_TLS_CIPHER_SUITE: HeaderName = HeaderName::from_static("x-amzn-tls-cipher-suite");
    const X_GRPC_WEB: HeaderName = HeaderName::from_static("x-grpc-web");
    const X_USER_AGENT: HeaderName = HeaderName::from_static("x-user-agent");
    const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
    const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
    Some(match name {
        b"accept" => header::ACCEPT,
        b"accept-encoding" => header::ACCEPT_ENCODING,
        b"accept-language" => header::ACCEPT_LANGUAGE,
        b"authorization" => header::AUTHORIZATION,
        b"content-length" => header::CONTENT_LENGTH,
        b"content-type" => header::CONTENT_TYPE,
        b"host" => header::HOST,
        b"origin" => header::ORIGIN,
        b"referer" => header::REFERER,
        b"te" => header::TE,
        b"user-agent" => header::USER_AGENT,
        b"x-amzn-trace-id" => X_AMZN_TRACE_ID,
        b"x-forwarded-for" => X_FORWARDED_FOR,
        b"x-forwarded-port" => X_FORWARDED_PORT,
        b"x-forwarded-proto" => X_FORWARDED_PROTO,
        b"x-amzn-tls-version" => X_AMZN_TLS_VERSION,
        b"x-amzn-tls-cipher-suite" => X_AMZN_TLS_CIPHER_SUITE,
        b"x-grpc-web" => X_GRPC_WEB,
        b"x-user-agent" => X_USER_AGENT,
        b"grpc-timeout" => crate::deadline::GRPC_TIMEOUT,
        b"grpc-encoding" => GRPC_ENCODING,
        b"grpc-accept-encoding" => GRPC_ACCEPT_ENCODING,
        _ => return None,
    })
}

/// Header values that gRPC-Web clients and front doors send on most requests, as constants:
/// one of these costs neither an allocation nor a check of its bytes (it is checked when the
/// crate is compiled), and is freed for nothing.
fn known_value(value: &[u8]) -> Option<HeaderValue> {
    const GRPC_WEB_JAVASCRIPT: HeaderValue = HeaderValue::from_static("grpc-web-javascript/0.1");
    const ONE: HeaderValue = HeaderValue::from_static("1");
    const HTTPS: HeaderValue = HeaderValue::from_static("https");
    const HTTP: HeaderValue = HeaderValue::from_static("http");
    const PORT_443: HeaderValue = HeaderValue::from_static("443");
    const PORT_80: HeaderValue = HeaderValue::from_static("80");
    const TRAILERS: HeaderValue = HeaderValue::from_static("trailers");
    const IDENTITY: HeaderValue = HeaderValue::from_static("identity");
    // The gRPC media types, as the core spells them.
    if let Some(content_type) = ContentType::from_canonical(value) {
        return Some(content_type_value(content_type));
    }
    Some(match value {
        b"grpc-web-javascript/0.1" => GRPC_WEB_JAVASCRIPT,
        b"1" => ONE,
        b"https" => HTTPS,
        b"http" => HTTP,
        b"443" => PORT_443,
        b"80" => PORT_80,
        b"trailers" => TRAILERS,
        b"identity" => IDENTITY,
        _ => return None,
    })
}

/// A gRPC media type as a header value, made when the crate is compiled: `from_static` at run
/// time checks every byte of it on every call.
fn content_type_value(content_type: ContentType) -> HeaderValue {
    const fn value(content_type: ContentType) -> HeaderValue {
        HeaderValue::from_static(content_type.as_str())
    }
    const GRPC: HeaderValue = value(ContentType::Grpc);
    const GRPC_PROTO: HeaderValue = value(ContentType::GrpcProto);
    const GRPC_WEB: HeaderValue = value(ContentType::GrpcWeb);
    const GRPC_WEB_PROTO: HeaderValue = value(ContentType::GrpcWebProto);
    const GRPC_WEB_TEXT: HeaderValue = value(ContentType::GrpcWebText);
    const GRPC_WEB_TEXT_PROTO: HeaderValue = value(ContentType::GrpcWebTextProto);
    match content_type {
        ContentType::Grpc => GRPC,
        ContentType::GrpcProto => GRPC_PROTO,
        ContentType::GrpcWeb => GRPC_WEB,
        ContentType::GrpcWebProto => GRPC_WEB_PROTO,
        ContentType::GrpcWebText => GRPC_WEB_TEXT,
        ContentType::GrpcWebTextProto => GRPC_WEB_TEXT_PROTO,
    }
}

const TEXT_PATH: Expected = Expected::field("path", "expected a string or null");
const TEXT_RAW_PATH: Expected = Expected::field("rawPath", "expected a string or null");
const TEXT_RESOURCE: Expected = Expected::field("resource", "expected a string or null");

/// Appends what the `\u` escape at `raw[i..]` stands for and answers its length: a character
/// (a surrogate pair takes two escapes), or a lone surrogate's code point as three bytes.
fn push_unicode_escape(raw: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let unit = |at: usize| -> Option<u32> {
        let hex = std::str::from_utf8(raw.get(at + 2..at + 6)?).ok()?;
        u32::from_str_radix(hex, 16).ok()
    };
    let Some(first) = unit(i) else {
        // `string` checked the four hex digits; nothing to add for what cannot be.
        return 6;
    };
    let pair = (0xd800..0xdc00)
        .contains(&first)
        .then(|| raw.get(i + 6..i + 8).filter(|next| *next == b"\\u"))
        .flatten()
        .and_then(|_| unit(i + 6))
        .filter(|second| (0xdc00..0xe000).contains(second))
        .and_then(|second| char::from_u32(0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)));
    if let Some(c) = pair {
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        return 12;
    }
    match char::from_u32(first) {
        Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        // A lone surrogate (U+D800 to U+DFFF): its code point's three-byte form.
        None => out.extend_from_slice(&[
            0xe0 | (first >> 12) as u8,
            0x80 | ((first >> 6) & 0x3f) as u8,
            0x80 | (first & 0x3f) as u8,
        ]),
    }
    6
}

/// The bytes the escapes of `raw` (a string's text, its escapes checked) stand for.
#[inline(never)]
fn unescaped(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let byte = match raw.get(i + 1) {
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                i += push_unicode_escape(raw, i, &mut out);
                continue;
            }
            Some(&other) => other,
            None => break,
        };
        out.push(byte);
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_and_values_are_what_they_spell() {
        let names = [
            "accept",
            "accept-encoding",
            "accept-language",
            "authorization",
            "content-length",
            "content-type",
            "host",
            "origin",
            "referer",
            "te",
            "user-agent",
            "x-amzn-trace-id",
            "x-forwarded-for",
            "x-forwarded-port",
            "x-forwarded-proto",
            "x-amzn-tls-version",
            "x-amzn-tls-cipher-suite",
            "x-grpc-web",
            "x-user-agent",
            "grpc-timeout",
            "grpc-encoding",
            "grpc-accept-encoding",
        ];
        for name in names {
            let known = known_name(name.as_bytes()).expect(name);
            assert_eq!(known, HeaderName::from_static(name));
        }
        let values = [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
            "application/grpc",
            "application/grpc+proto",
            "grpc-web-javascript/0.1",
            "1",
            "https",
            "http",
            "443",
            "80",
            "trailers",
            "identity",
        ];
        for value in values {
            let known = known_value(value.as_bytes()).expect(value);
            assert_eq!(known.as_bytes(), value.as_bytes());
        }
        // Matched as they are: a name or value spelled otherwise takes the checked path.
        assert!(known_name(b"Content-Type").is_none());
        assert!(known_value(b"Application/grpc-web").is_none());
        assert!(known_value(b"443 ").is_none());
    }
}
