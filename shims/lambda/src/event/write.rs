//! The pieces of response JSON, written by hand: escaped strings, and headers in each front
//! door's shape. One piece of code both measures ([`Len`]) and writes (`String`) them, so the
//! response's buffer is allocated once.

use std::borrow::Cow;

use bytes::Bytes;
use grpc_lambda_core::base64;
use http::header::{HeaderName, HeaderValue, SET_COOKIE};
use http::HeaderMap;

use super::response_body::encode;

/// Where the JSON goes: a length ([`Len`], for [`ResponseBody::json_len`]) or the buffer itself,
/// so that one piece of code does both.
pub(super) trait Json {
    /// Text that needs no escaping.
    fn raw(&mut self, text: &str);
    /// One ASCII character that needs no escaping.
    fn byte(&mut self, byte: u8);
    /// The base64 of the concatenation of `chunks` (`len` bytes).
    fn base64(&mut self, chunks: &[Bytes], len: usize);
}

/// The length of what would be written.
pub(super) struct Len(pub(super) usize);

impl Json for Len {
    fn raw(&mut self, text: &str) {
        self.0 = self.0.saturating_add(text.len());
    }

    fn byte(&mut self, _byte: u8) {
        self.0 = self.0.saturating_add(1);
    }

    fn base64(&mut self, _chunks: &[Bytes], len: usize) {
        self.0 = self.0.saturating_add(base64::encoded_len(len));
    }
}

impl Json for String {
    fn raw(&mut self, text: &str) {
        self.push_str(text);
    }

    fn byte(&mut self, byte: u8) {
        debug_assert!(byte.is_ascii(), "JSON punctuation is ASCII");
        self.push(char::from(byte));
    }

    fn base64(&mut self, chunks: &[Bytes], _len: usize) {
        encode(chunks, self);
    }
}

/// `text` as a JSON string literal, escaped as `serde_json` escapes it (the two-character
/// escapes where JSON has them, `\u00XX` for the other control characters).
pub(super) fn string(out: &mut impl Json, text: &str) {
    out.byte(b'"');
    escaped(out, text);
    out.byte(b'"');
}

/// `text` inside a JSON string literal, escaped.
pub(super) fn escaped(out: &mut impl Json, text: &str) {
    // Header names and values rarely need an escape: one pass without a branch per byte tells.
    let escapes = text.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !escapes {
        out.raw(text);
        return;
    }
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => CONTROL_ESCAPES
                .get(usize::from(byte) * 6..usize::from(byte) * 6 + 6)
                .unwrap_or_default(),
            _ => continue,
        };
        out.raw(text.get(plain..at).unwrap_or_default());
        out.raw(escape);
        plain = at + 1;
    }
    out.raw(text.get(plain..).unwrap_or_default());
}

/// `\u0000` to `\u001f`, six characters each, indexed by the control character.
const CONTROL_ESCAPES: &str = "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f";

/// A header value as text: HTTP allows bytes from 0x80 that are not UTF-8, which become U+FFFD.
pub(super) fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    // `from_utf8` checks ASCII a word at a time; the lossy reading walks characters.
    std::str::from_utf8(value.as_bytes())
        .map_or_else(|_| String::from_utf8_lossy(value.as_bytes()), Cow::Borrowed)
}

/// A JSON list of header values.
pub(super) fn list<'a>(out: &mut impl Json, values: impl Iterator<Item = &'a HeaderValue>) {
    out.byte(b'[');
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.byte(b',');
        }
        string(out, &header_text(value));
    }
    out.byte(b']');
}

/// Headers as one string per name, repeated values joined with `", "` (HTTP's list syntax);
/// `Set-Cookie` left out when `skip_set_cookie` (payload 2.0 sends it in `cookies`).
pub(super) fn joined_headers(out: &mut impl Json, headers: &HeaderMap, skip_set_cookie: bool) {
    per_name(
        out,
        headers,
        skip_set_cookie,
        PerName::JOINED,
        |out, value| {
            escaped(out, &header_text(value));
        },
    );
}

/// Headers as a list of values per name.
pub(super) fn multi_value_headers(out: &mut impl Json, headers: &HeaderMap) {
    per_name(out, headers, false, PerName::LIST, |out, value| {
        string(out, &header_text(value));
    });
}

/// What goes around and between one name's values.
struct PerName {
    open: &'static str,
    between: &'static str,
    close: &'static str,
}

impl PerName {
    /// One JSON string, the values joined with `", "`.
    const JOINED: PerName = PerName {
        open: ":\"",
        between: ", ",
        close: "\"",
    };

    /// A JSON list of values.
    const LIST: PerName = PerName {
        open: ":[",
        between: ",",
        close: "]",
    };
}

/// An object of one entry per header name, its values written by `value` in `shape`.
fn per_name<J: Json>(
    out: &mut J,
    headers: &HeaderMap,
    skip_set_cookie: bool,
    shape: PerName,
    value: impl Fn(&mut J, &HeaderValue),
) {
    out.byte(b'{');
    // The map iterates each name's values one after the other, under the same name: a name is
    // written once, its values as they come, with no lookup by name.
    let mut open: Option<&HeaderName> = None;
    for (name, each) in headers {
        if skip_set_cookie && name == SET_COOKIE {
            continue;
        }
        match open {
            Some(held) if std::ptr::eq(held, name) => out.raw(shape.between),
            _ => {
                if open.is_some() {
                    out.raw(shape.close);
                    out.byte(b',');
                }
                string(out, name.as_str());
                out.raw(shape.open);
                open = Some(name);
            }
        }
        value(out, each);
    }
    if open.is_some() {
        out.raw(shape.close);
    }
    out.byte(b'}');
}

/// Headers as ordered `[name, value]` pairs (the proxy's shape).
pub(super) fn header_pairs(out: &mut impl Json, headers: &HeaderMap) {
    out.byte(b'[');
    for (i, (name, value)) in headers.iter().enumerate() {
        if i > 0 {
            out.byte(b',');
        }
        out.byte(b'[');
        string(out, name.as_str());
        out.byte(b',');
        string(out, &header_text(value));
        out.byte(b']');
    }
    out.byte(b']');
}
