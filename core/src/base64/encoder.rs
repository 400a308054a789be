//! [`Encoder`]: base64 out in chunks, 0–2 bytes carried between calls.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use super::{append_text, engine, scalar, Output};

/// A streaming base64 encoder: chunks in, padded base64 out, the 0–2 bytes of an unfinished
/// group carried between calls.
///
/// [`Encoder::finish`] writes the padded last group. Finishing after each message and going on
/// with the same encoder produces the separately padded segments gRPC-Web-text allows, each
/// decodable as soon as it arrives.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::base64::Encoder;
///
/// let mut encoder = Encoder::new();
/// assert_eq!(encoder.encode(b"\0\0\0\0"), "AAAA"); // one byte carried
/// assert_eq!(encoder.encode(b"\x01"), "");
/// assert_eq!(encoder.finish_bytes(), "AAE=");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Encoder {
    pending: [u8; 2],
    pending_len: u8,
}

impl Encoder {
    /// An encoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes one chunk, appending to `out` every complete group; 0–2 bytes are carried.
    ///
    /// `out` is reserved once. With nothing carried, the whole groups of the chunk go to the
    /// engine in one call.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::base64::{decode, Encoder};
    ///
    /// // Each message its own padded segment, as a gRPC-Web-text server may flush them.
    /// let mut encoder = Encoder::new();
    /// let mut text = Vec::new();
    /// for message in [&b"\0\0\0\0\x01\x08"[..], b"\x80\0\0\0\0"] {
    ///     encoder.encode_chunk(message, &mut text);
    ///     encoder.finish(&mut text);
    /// }
    /// assert_eq!(text, b"AAAAAAEIgAAAAAA=");
    /// assert_eq!(decode(&text)?, &b"\0\0\0\0\x01\x08\x80\0\0\0\0"[..]);
    /// # Ok::<(), grpc_lambda_core::base64::Base64Error>(())
    /// ```
    pub fn encode_chunk(&mut self, mut input: &[u8], out: &mut impl Output) {
        let pending_len = usize::from(self.pending_len);
        out.reserve_bytes(self.completed_len(input.len()));
        if pending_len > 0 {
            let needed = 3 - pending_len;
            let Some((head, rest)) = input.split_at_checked(needed) else {
                if let Some(slot) = self.pending.get_mut(pending_len..pending_len + input.len()) {
                    slot.copy_from_slice(input);
                }
                self.pending_len += input.len() as u8;
                return;
            };
            let group = match (pending_len, head) {
                (2, &[third]) => [self.pending[0], self.pending[1], third],
                (_, &[second, third]) => [self.pending[0], second, third],
                _ => [0; 3],
            };
            out.append(&scalar::encode_group(group));
            self.pending_len = 0;
            input = rest;
        }
        let whole = input.len() / 3 * 3;
        let (body, tail) = input.split_at(whole);
        if !body.is_empty() {
            engine::encode(body, out);
        }
        // One or two bytes, stored as such: `copy_from_slice` of a length known only at run
        // time is a call to `memcpy`, twice per answer (the message, then its trailer frame).
        match *tail {
            [first] => self.pending[0] = first,
            [first, second] => self.pending = [first, second],
            _ => {}
        }
        self.pending_len = tail.len() as u8;
    }

    /// [`Encoder::encode_chunk`] onto text: base64 is ASCII, so the `String` takes it as it is,
    /// with no UTF-8 check (see [`encode_to_string`](super::encode_to_string)).
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::base64::Encoder;
    ///
    /// let mut json = String::from(r#"{"body":""#);
    /// let mut encoder = Encoder::new();
    /// encoder.encode_chunk_str(b"\0\0\0\0\x01\x08", &mut json);
    /// encoder.finish_str(&mut json);
    /// json.push_str(r#""}"#);
    /// assert_eq!(json, r#"{"body":"AAAAAAEI"}"#);
    /// ```
    pub fn encode_chunk_str(&mut self, chunk: &[u8], out: &mut String) {
        append_text(out, |bytes| self.encode_chunk(chunk, bytes));
    }

    /// [`Encoder::finish`] onto text, as [`Encoder::encode_chunk_str`].
    pub fn finish_str(&mut self, out: &mut String) {
        append_text(out, |bytes| self.finish(bytes));
    }

    /// Encodes one chunk into a [`Bytes`] of its own, allocated at its exact size.
    pub fn encode(&mut self, chunk: &[u8]) -> Bytes {
        let mut buf = Vec::with_capacity(self.completed_len(chunk.len()));
        self.encode_chunk(chunk, &mut buf);
        Bytes::from(buf)
    }

    /// The length of the text for the groups completed by `len` more bytes.
    fn completed_len(&self, len: usize) -> usize {
        usize::from(self.pending_len).saturating_add(len) / 3 * 4
    }

    /// Ends the segment: appends the padded last group, if bytes are carried, and makes the
    /// encoder ready for the next segment or stream.
    pub fn finish(&mut self, out: &mut impl Output) {
        let pending = self
            .pending
            .get(..usize::from(self.pending_len))
            .unwrap_or_default();
        if let Some(group) = scalar::encode_tail(pending) {
            out.append(&group);
        }
        self.pending_len = 0;
    }

    /// [`Encoder::finish`] into a [`Bytes`] of its own.
    pub fn finish_bytes(&mut self) -> Bytes {
        let mut buf = Vec::with_capacity(if self.pending_len > 0 { 4 } else { 0 });
        self.finish(&mut buf);
        Bytes::from(buf)
    }

    /// How many bytes of an unfinished group are carried (0 to 2).
    pub fn pending(&self) -> usize {
        usize::from(self.pending_len)
    }
}
