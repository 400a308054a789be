//! [`Decoder`]: base64 in chunks, with gRPC-Web-text's padded segments predicted rather than
//! searched for.

use alloc::vec::Vec;
use bytes::Bytes;

use super::{engine, scalar, Base64Error, Output, PAD};

/// Where gRPC-Web-text segments begin and end, so that their boundaries can be predicted rather
/// than searched for.
///
/// A sender that pads every N bytes of payload (per message, or per flushed buffer) makes every
/// segment the same length; the next segment is then expected to end where the last one's length
/// says. One byte checks the guess, and the engine, which refuses padding anywhere but in the
/// last group, confirms it. Only when the guess fails is the input scanned for `=`: measured on
/// 1 MiB, the scan alone (93 µs) costs about as much as the decoding (95 µs).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Segments {
    /// Stream offset of the current segment's first character.
    start: u64,
    /// Length of the last segment that ended with padding; 0 before the first one.
    last_len: u64,
}

impl Segments {
    /// Where, relative to `offset`, the current segment is expected to end: `None` when nothing
    /// is known (no segment has ended yet, or this one already ran past the last one's length).
    #[inline]
    fn predicted_end(&self, offset: u64) -> Option<u64> {
        if self.last_len == 0 {
            return None;
        }
        (self.start + self.last_len)
            .checked_sub(offset)
            .filter(|&end| end > 0)
    }

    /// Records that `decoded` was decoded from stream offset `offset`: when its last group is
    /// padded, a segment ended there.
    #[inline]
    fn advance(&mut self, decoded: &[u8], offset: u64) {
        if decoded.last() == Some(&PAD) {
            let end = offset + decoded.len() as u64;
            self.last_len = end - self.start;
            self.start = end;
        }
    }
}

/// Decodes `input`, whole groups only, appending to `out`; `offset` is the stream offset of
/// `input[0]`. On an error `out` holds some of the groups before it; the callers truncate.
///
/// The common case — at most one padded segment, no boundary expected inside — is one engine call
/// on the whole input, written in place. Otherwise, segment by segment, each step tries in order:
/// the predicted segment when its last group is padded; the whole rest when no boundary is
/// predicted inside it; and otherwise the run up to the group holding the next `=`. A run the
/// engine refuses is handed to the scalar reference, which names the first bad byte.
pub(super) fn decode_groups(
    mut input: &[u8],
    mut offset: u64,
    out: &mut impl Output,
    segments: &mut Segments,
) -> Result<(), Base64Error> {
    while !input.is_empty() {
        let guess = match segments.predicted_end(offset) {
            Some(end) if end <= input.len() as u64 => {
                let end = end as usize;
                // A padded group at the guessed end closes a segment there, unless an earlier
                // `=` closed one before, which the engine will refuse.
                input.get(end - 1).filter(|&&byte| byte == PAD).map(|_| end)
            }
            _ => Some(input.len()),
        };
        let decoded = guess.filter(|&end| {
            input
                .get(..end)
                .is_some_and(|run| engine::decode_run(run, out))
        });
        let end = match decoded {
            Some(end) => end,
            None => {
                let end = match engine::find_padding(input) {
                    // The group holding the first `=` ends the segment.
                    Some(pad) => (pad / 4 * 4 + 4).min(input.len()),
                    None => input.len(),
                };
                let run = input.get(..end).unwrap_or_default();
                if !engine::decode_run(run, out) {
                    // The reference names the first bad byte. Should it accept what the engine
                    // refused, its output stands: it is the reference.
                    scalar::decode_groups(run, offset, out)?;
                }
                end
            }
        };
        let (run, rest) = input.split_at(end);
        segments.advance(run, offset);
        offset += end as u64;
        input = rest;
    }
    Ok(())
}

/// A streaming base64 decoder: chunks in, bytes out, the unfinished group carried between calls.
///
/// Accepts one padded segment or several back to back (gRPC-Web-text). An error is final: every
/// later call returns it again.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use grpc_lambda_core::base64::{Base64Error, Decoder};
///
/// let body = Bytes::from_static(b"AAAAAAIIAQ==");
/// let mut decoder = Decoder::new();
/// let first = decoder.decode(&body[..5])?; // "AAAAA": one group decoded, one byte carried
/// assert_eq!(first, &b"\0\0\0"[..]);
/// let rest = decoder.decode(&body[5..])?;
/// assert_eq!(rest, &b"\0\x02\x08\x01"[..]);
/// decoder.finish()?;
///
/// let mut decoder = Decoder::new();
/// decoder.decode(b"AAAA")?;
/// assert_eq!(decoder.decode(b"AA!A"), Err(Base64Error::InvalidByte { offset: 6, byte: b'!' }));
/// # Ok::<(), Base64Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    /// The characters of a group that has not arrived whole.
    pending: [u8; 4],
    pending_len: u8,
    /// Characters consumed since the start of the stream, `pending` included.
    offset: u64,
    /// Where the stream's padded segments begin and end.
    segments: Segments,
    error: Option<Base64Error>,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one chunk, appending to `out` every byte whose group is complete.
    ///
    /// `out` is reserved once per call. With no unfinished group carried and no padding in the
    /// middle of the chunk, the chunk goes to the engine in one call.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use grpc_lambda_core::base64::Decoder;
    ///
    /// // A body arriving in reads that cut groups and padding anywhere, decoded into one buffer.
    /// let mut decoder = Decoder::new();
    /// let mut body = BytesMut::with_capacity(16);
    /// for read in [&b"AAAAAAIIA"[..], b"Q=", b"="] {
    ///     decoder.decode_chunk(read, &mut body)?;
    /// }
    /// decoder.finish()?;
    /// assert_eq!(body, &b"\0\0\0\0\x02\x08\x01"[..]);
    /// # Ok::<(), grpc_lambda_core::base64::Base64Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first byte that makes the stream invalid, with its offset in the whole stream. `out`
    /// is then left as it was before the call, and the decoder fails from then on.
    pub fn decode_chunk(&mut self, input: &[u8], out: &mut impl Output) -> Result<(), Base64Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let start = out.written();
        out.reserve_bytes(self.completed_len(input.len()));
        let result = self.decode_chunk_inner(input, out);
        if let Err(error) = result {
            out.truncate_to(start);
            self.error = Some(error);
        }
        result
    }

    fn decode_chunk_inner(
        &mut self,
        mut input: &[u8],
        out: &mut impl Output,
    ) -> Result<(), Base64Error> {
        let pending_len = usize::from(self.pending_len);
        if pending_len > 0 {
            let group_offset = self.offset - pending_len as u64;
            let needed = 4 - pending_len;
            let Some((head, rest)) = input.split_at_checked(needed) else {
                // Still not a whole group: keep it, refusing now what can be refused now.
                let partial_len = pending_len + input.len();
                if let Some(slot) = self.pending.get_mut(pending_len..partial_len) {
                    slot.copy_from_slice(input);
                }
                scalar::check_partial_group(
                    self.pending.get(..partial_len).unwrap_or_default(),
                    group_offset,
                )?;
                self.pending_len = partial_len as u8;
                self.offset += input.len() as u64;
                return Ok(());
            };
            if let Some(slot) = self.pending.get_mut(pending_len..) {
                slot.copy_from_slice(head);
            }
            let group = scalar::decode_group(self.pending, group_offset)?;
            out.append(group.as_slice());
            self.segments.advance(&self.pending, group_offset);
            self.pending_len = 0;
            self.offset += needed as u64;
            input = rest;
        }
        let whole = input.len() / 4 * 4;
        let (body, tail) = input.split_at(whole);
        decode_groups(body, self.offset, out, &mut self.segments)?;
        self.offset += whole as u64;
        if !tail.is_empty() {
            scalar::check_partial_group(tail, self.offset)?;
            if let Some(slot) = self.pending.get_mut(..tail.len()) {
                slot.copy_from_slice(tail);
            }
            self.pending_len = tail.len() as u8;
            self.offset += tail.len() as u64;
        }
        Ok(())
    }

    /// Decodes one chunk into a [`Bytes`] of its own.
    ///
    /// The output is allocated at its exact size (the groups the chunk completes), so that the
    /// `Bytes` owns its memory outright: no reference count shared with the decoder, nothing
    /// copied. Measured against handing out slices of one reused buffer, this was as fast on
    /// 16 KiB chunks and 8% faster on 1000-byte ones.
    ///
    /// # Errors
    ///
    /// As [`Decoder::decode_chunk`].
    pub fn decode(&mut self, chunk: &[u8]) -> Result<Bytes, Base64Error> {
        let mut buf = Vec::with_capacity(self.completed_len(chunk.len()));
        self.decode_chunk(chunk, &mut buf)?;
        Ok(Bytes::from(buf))
    }

    /// The most bytes the groups completed by `len` more characters decode to.
    fn completed_len(&self, len: usize) -> usize {
        usize::from(self.pending_len).saturating_add(len) / 4 * 3
    }

    /// Ends the stream: fails if it stopped inside a group, and otherwise makes the decoder ready
    /// for a new stream (offsets start again at 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::base64::{Base64Error, Decoder};
    ///
    /// let mut decoder = Decoder::new();
    /// decoder.decode(b"AAAAAA")?;
    /// assert_eq!(decoder.finish(), Err(Base64Error::Truncated { offset: 4, leftover: 2 }));
    /// # Ok::<(), Base64Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Base64Error::Truncated`] with the offset of the unfinished group, or the error an earlier
    /// call returned.
    pub fn finish(&mut self) -> Result<(), Base64Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.pending_len > 0 {
            let error = Base64Error::Truncated {
                offset: self.offset - u64::from(self.pending_len),
                leftover: self.pending_len,
            };
            self.error = Some(error);
            return Err(error);
        }
        *self = Self::default();
        Ok(())
    }

    /// Characters consumed since the start of the stream, the carried ones included: the offset
    /// the next chunk starts at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many characters of an unfinished group are carried (0 to 3).
    pub fn pending(&self) -> usize {
        usize::from(self.pending_len)
    }
}
