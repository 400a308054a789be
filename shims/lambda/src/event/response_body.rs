//! The response body: text, or bytes kept as the chunks they came in until the response JSON is
//! written, then base64-encoded straight into it.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::base64::{self, Encoder};

use super::write::{string, Json, Len};

/// The response body: text, or bytes sent as base64.
///
/// Bytes are kept as the chunks they came in (a reference count each, no copy) and
/// base64-encoded once, straight into the response JSON, when the response is written.
///
/// # Examples
///
/// ```
/// use grpc_lambda::event::ResponseBody;
///
/// let body = ResponseBody::base64([&b"\x80\0\0\0\x0fgrpc-status: 0\r\n"[..]]);
/// assert!(body.is_base64_encoded());
/// assert_eq!(body.text(), "gAAAAA9ncnBjLXN0YXR1czogMA0K");
/// assert_eq!(ResponseBody::text_of("a \"quote\"\n").text(), "a \"quote\"\n");
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResponseBody {
    repr: Repr,
}

/// The pieces of a body as they came: a unary answer's message and its trailer frame fit in
/// place, with no allocation for the list.
pub(crate) type Chunks = smallvec::SmallVec<[Bytes; 2]>;

#[derive(Clone, Debug, Default)]
enum Repr {
    /// `"body": ""`.
    #[default]
    Empty,
    /// Text sent as it is (escaped for JSON when written).
    Text(String),
    /// The concatenation of `chunks`, sent as base64: binary content (`isBase64Encoded: true`),
    /// or a gRPC-Web-text body (`false`).
    Base64 {
        chunks: Chunks,
        len: usize,
        is_base64_encoded: bool,
    },
}

impl PartialEq for ResponseBody {
    fn eq(&self, other: &Self) -> bool {
        self.is_base64_encoded() == other.is_base64_encoded() && self.text() == other.text()
    }
}

impl ResponseBody {
    /// No body (`"body": ""`).
    pub fn empty() -> Self {
        Self { repr: Repr::Empty }
    }

    /// A text body, sent as is (`isBase64Encoded: false`).
    pub fn text_of(text: &str) -> Self {
        Self {
            repr: Repr::Text(text.to_owned()),
        }
    }

    /// The concatenation of `chunks` as a binary body: base64, `isBase64Encoded: true`.
    pub fn base64<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self::chunks(smallvec::smallvec![concat(chunks)], true)
    }

    /// The concatenation of `chunks`, base64-encoded, as a text body (`isBase64Encoded:
    /// false`): a gRPC-Web-text body.
    pub fn base64_text<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self::chunks(smallvec::smallvec![concat(chunks)], false)
    }

    /// The concatenation of `chunks`, kept as they are until the response is written, then
    /// base64-encoded into it: a binary body (`is_base64_encoded`) or a gRPC-Web-text body.
    pub(crate) fn chunks(chunks: Chunks, is_base64_encoded: bool) -> Self {
        let len = chunks.iter().map(Bytes::len).sum();
        Self {
            repr: Repr::Base64 {
                chunks,
                len,
                is_base64_encoded,
            },
        }
    }

    /// One buffer as a binary body (base64, `isBase64Encoded: true`), not copied.
    pub(crate) fn binary(bytes: Bytes) -> Self {
        Self::chunks(smallvec::smallvec![bytes], true)
    }

    /// Whether the body is base64-encoded binary content.
    pub fn is_base64_encoded(&self) -> bool {
        matches!(
            self.repr,
            Repr::Base64 {
                is_base64_encoded: true,
                ..
            }
        )
    }

    /// The `body` field's text: base64 for binary bodies.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.repr {
            Repr::Empty => Cow::Borrowed(""),
            Repr::Text(text) => Cow::Borrowed(text),
            Repr::Base64 { chunks, len, .. } => {
                let mut text = String::with_capacity(base64::encoded_len(*len));
                encode(chunks, &mut text);
                Cow::Owned(text)
            }
        }
    }

    /// The bytes the body stands for: the binary content, or the text's bytes.
    pub(crate) fn content(&self) -> Cow<'_, [u8]> {
        match &self.repr {
            Repr::Base64 {
                chunks,
                is_base64_encoded: true,
                ..
            } => match chunks.as_slice() {
                [one] => Cow::Borrowed(&one[..]),
                _ => Cow::Owned(chunks.concat()),
            },
            _ => match self.text() {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
        }
    }

    /// The length of the body field's JSON string, quotes included.
    pub fn json_len(&self) -> usize {
        let mut len = Len(0);
        self.write(&mut len);
        len.0
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Empty => true,
            Repr::Text(text) => text.is_empty(),
            Repr::Base64 { len, .. } => *len == 0,
        }
    }

    /// The body field's JSON string, quotes included.
    pub(super) fn write(&self, out: &mut impl Json) {
        match &self.repr {
            Repr::Empty => out.raw("\"\""),
            Repr::Text(text) => string(out, text),
            Repr::Base64 { chunks, len, .. } => {
                out.byte(b'"');
                out.base64(chunks, *len);
                out.byte(b'"');
            }
        }
    }
}

/// One buffer holding the concatenation of `chunks`.
fn concat<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Bytes {
    let mut joined = BytesMut::new();
    for chunk in chunks {
        joined.extend_from_slice(chunk);
    }
    joined.freeze()
}

/// The base64 of the concatenation of `chunks`, appended to `out` in one stream: text the
/// string takes with no UTF-8 check (the JSON around it is written as text too, so the
/// response is never checked as a whole: 1.4 MB for a 1 MiB answer).
pub(super) fn encode(chunks: &[Bytes], out: &mut String) {
    let mut encoder = Encoder::new();
    for chunk in chunks {
        encoder.encode_chunk_str(chunk, out);
    }
    encoder.finish_str(out);
}
