//! The event reader: an event's JSON read in one pass, straight into an [`Event`] (see
//! [reading an event](super#reading-an-event)).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::Method;

use super::Event;

mod fields;
mod known;

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
