//! [`FrameDecoder`]: incremental, zero-copy decoding of length-prefixed messages.
//!
//! Push chunks of any size as they arrive, pull frames out. The contract is tokio-util's: `Ok(None)`
//! asks for more bytes, `Err` is final, [`FrameDecoder::finish`] fails when a frame was cut short.
//!
//! A frame whose payload lies within one pushed chunk leaves as a slice of that chunk (a reference
//! count, no copy). A payload split across chunks is assembled once, into a buffer reserved to its
//! exact length, and only after that length was checked against the limit.

use alloc::collections::VecDeque;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use core::fmt;

mod counter;
mod whole;

pub use counter::FrameCounter;
pub use whole::{decode_all, frames, frames_in, Frames};

use crate::frame::{
    Envelope, Frame, FrameHeader, FrameRef, HeaderError, DEFAULT_MAX_MESSAGE_LEN, HEADER_LEN,
    KNOWN_FLAGS,
};

/// Why a stream of frames cannot be decoded. Every variant is final for the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A frame header set flag bits that are reserved.
    ReservedFlags {
        /// The flags byte.
        flags: u8,
        /// Offset of the frame header in the stream.
        offset: u64,
    },
    /// A frame header set a flag bit the reader's [`Envelope`] does not allow: another
    /// protocol's flag (`0x80` outside gRPC-Web, `0x02` outside Connect streaming) or a reserved
    /// one.
    FlagNotAllowed {
        /// The flags byte.
        flags: u8,
        /// The envelope the reader was told to read.
        envelope: Envelope,
        /// Offset of the frame header in the stream.
        offset: u64,
    },
    /// A frame header announced more bytes than the configured limit. Nothing was reserved for it.
    MessageTooLarge {
        /// The length the header announced.
        len: u32,
        /// The configured limit.
        max: usize,
        /// Offset of the frame header in the stream.
        offset: u64,
    },
    /// The stream ended inside a frame.
    Truncated {
        /// Bytes the unfinished frame needs in all, header included.
        expected: u64,
        /// Bytes of it that arrived.
        received: u64,
        /// Offset of the unfinished frame's header in the stream.
        offset: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedFlags { flags, offset } => write!(
                f,
                "frame at byte {offset}: {}",
                HeaderError::ReservedFlags { flags: *flags }
            ),
            Self::FlagNotAllowed {
                flags,
                envelope,
                offset,
            } => write!(
                f,
                "frame at byte {offset}: {}",
                HeaderError::FlagNotAllowed {
                    flags: *flags,
                    envelope: *envelope
                }
            ),
            Self::MessageTooLarge { len, max, offset } => write!(
                f,
                "frame at byte {offset} declares a {len}-byte message, over the limit of {max} bytes"
            ),
            Self::Truncated { expected, received, offset } => write!(
                f,
                "stream ended inside the frame at byte {offset}: {received} of its {expected} bytes arrived"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Where the decoder is inside the current frame.
#[derive(Debug)]
enum State {
    /// Collecting the 5 header bytes; `have` of them are in `bytes`.
    Header {
        bytes: [u8; HEADER_LEN],
        have: usize,
    },
    /// The header is known and the payload spans chunks: assembling it into `payload`, reserved
    /// to exactly `header.len()`.
    Payload {
        header: FrameHeader,
        payload: BytesMut,
    },
    /// An error was returned; it is returned again.
    Failed(DecodeError),
}

/// Incremental decoder of length-prefixed gRPC / gRPC-Web / Connect streaming frames.
///
/// A decoder told no [`Envelope`] accepts gRPC's and gRPC-Web's flags (`0x01`, `0x80`);
/// [`FrameDecoder::with_envelope`] names the protocol, so each flag is accepted only in its own.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use grpc_lambda_core::FrameDecoder;
///
/// let wire = Bytes::from_static(b"\x00\x00\x00\x00\x02hi\x80\x00\x00\x00\x0fgrpc-status: 0\n");
/// let mut decoder = FrameDecoder::new();
/// decoder.push(wire.slice(..4)); // part of the first header
/// assert_eq!(decoder.decode()?, None); // need more
/// decoder.push(wire.slice(4..));
/// let message = decoder.decode()?.unwrap();
/// assert_eq!(message.payload(), &b"hi"[..]);
/// let trailers = decoder.decode()?.unwrap();
/// assert!(trailers.is_trailers());
/// assert_eq!(decoder.decode()?, None);
/// decoder.finish()?;
/// # Ok::<(), grpc_lambda_core::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    max_message_len: usize,
    /// The flag bits a frame may set: [`KNOWN_FLAGS`], or the envelope's.
    allowed_flags: u8,
    /// The envelope named with [`FrameDecoder::with_envelope`], for errors.
    envelope: Option<Envelope>,
    chunks: VecDeque<Bytes>,
    state: State,
    /// Stream offset of the next byte the state machine consumes.
    consumed: u64,
    /// Stream offset of the current frame's header.
    frame_start: u64,
    /// Bytes at the front of the first chunk lent out by [`FrameDecoder::decode_ref`], consumed
    /// at the next call.
    lent: usize,
    /// A frame assembled across chunks, lent out by [`FrameDecoder::decode_ref`].
    lent_frame: Option<Frame>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default limit, [`DEFAULT_MAX_MESSAGE_LEN`] (4 MiB).
    pub fn new() -> Self {
        Self::with_max_message_len(DEFAULT_MAX_MESSAGE_LEN)
    }

    /// A decoder that refuses any frame announcing more than `max_message_len` payload bytes.
    pub fn with_max_message_len(max_message_len: usize) -> Self {
        Self {
            max_message_len,
            allowed_flags: KNOWN_FLAGS,
            envelope: None,
            chunks: VecDeque::new(),
            state: State::Header {
                bytes: [0; HEADER_LEN],
                have: 0,
            },
            consumed: 0,
            frame_start: 0,
            lent: 0,
            lent_frame: None,
        }
    }

    /// This decoder, reading `envelope`'s frames: a flag bit that protocol does not allow is
    /// [`DecodeError::FlagNotAllowed`], naming the flag and the protocol.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use grpc_lambda_core::{DecodeError, Envelope, FrameDecoder};
    ///
    /// let end_stream = Bytes::from_static(b"\x02\x00\x00\x00\x02{}");
    /// let mut connect = FrameDecoder::new().with_envelope(Envelope::Connect);
    /// connect.push(end_stream.clone());
    /// assert!(connect.decode()?.unwrap().is_end_stream());
    ///
    /// let mut grpc_web = FrameDecoder::new().with_envelope(Envelope::GrpcWeb);
    /// grpc_web.push(end_stream);
    /// let err = grpc_web.decode().unwrap_err();
    /// assert!(matches!(err, DecodeError::FlagNotAllowed { flags: 0x02, offset: 0, .. }));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.allowed_flags = envelope.allowed_flags();
        self.envelope = Some(envelope);
        self
    }

    /// The envelope this decoder reads, if one was named.
    pub fn envelope(&self) -> Option<Envelope> {
        self.envelope
    }

    /// The limit on one frame's payload.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Queues a chunk of the stream. Empty chunks are ignored.
    pub fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.chunks.push_back(chunk);
        }
    }

    /// Bytes pushed and not yet consumed by a returned frame, including a partly read frame.
    pub fn buffered_len(&self) -> usize {
        let queued: usize = self.chunks.iter().map(Bytes::len).sum();
        queued
            .saturating_sub(self.lent)
            .saturating_add(match &self.state {
                State::Header { have, .. } => *have,
                State::Payload { payload, .. } => HEADER_LEN.saturating_add(payload.len()),
                State::Failed(_) => 0,
            })
    }

    /// Whether a frame is partly read or bytes are waiting.
    pub fn has_partial(&self) -> bool {
        self.buffered_len() != 0
    }

    /// Decodes the next frame from the chunks pushed so far.
    ///
    /// # Errors
    ///
    /// [`DecodeError::ReservedFlags`] and [`DecodeError::MessageTooLarge`]; both are final: every
    /// later call returns the same error.
    #[inline]
    pub fn decode(&mut self) -> Result<Option<Frame>, DecodeError> {
        // The common case, straight-line and inlined into the caller's loop, so the frame is
        // built where the caller keeps it: a whole frame at the front of the first chunk, with
        // nothing lent out by `decode_ref` to settle first.
        if self.lent == 0 && self.lent_frame.is_none() && self.at_frame_start() {
            if let Some(front) = self.chunks.front_mut() {
                if let Some((flags, len)) =
                    whole_frame(front, self.max_message_len, self.allowed_flags)
                {
                    let end = HEADER_LEN + len;
                    let frame = Frame::from_validated(flags, front.slice(HEADER_LEN..end));
                    if front.len() == end {
                        self.chunks.pop_front();
                    } else {
                        front.advance(end);
                    }
                    self.consumed = self.consumed.saturating_add(end as u64);
                    return Ok(Some(frame));
                }
            }
        }
        self.decode_owned_slow()
    }

    /// Everything [`FrameDecoder::decode`] does not answer inline.
    #[inline(never)]
    fn decode_owned_slow(&mut self) -> Result<Option<Frame>, DecodeError> {
        self.settle_lent();
        self.decode_slow()
    }

    /// Whether the next byte is a frame's first (no header partly read, no error).
    #[inline]
    fn at_frame_start(&self) -> bool {
        matches!(self.state, State::Header { have: 0, .. })
    }

    /// Decodes the next frame and lends it out: a payload within one chunk is a plain slice of
    /// it, with no reference count taken (the cheapest way through a body whose messages are
    /// handed to a parser such as prost, which copies what it keeps). A frame that spanned
    /// chunks is lent from the buffer it was assembled in.
    ///
    /// # Errors
    ///
    /// As [`FrameDecoder::decode`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut decoder = grpc_lambda_core::FrameDecoder::new();
    /// decoder.push(bytes::Bytes::from_static(b"\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x01b"));
    /// let mut seen = Vec::new();
    /// while let Some(frame) = decoder.decode_ref()? {
    ///     seen.extend_from_slice(frame.payload());
    /// }
    /// assert_eq!(seen, b"ab");
    /// # Ok::<(), grpc_lambda_core::DecodeError>(())
    /// ```
    #[inline]
    pub fn decode_ref(&mut self) -> Result<Option<FrameRef<'_>>, DecodeError> {
        // Inlined into the caller's loop: this fast path — the next whole frame in the first
        // chunk — is a few instructions, and a call around it (registers saved, the answer
        // returned through memory) measured as a third of its time. `lent` indexes into the
        // first chunk: consecutive frames of one chunk move an offset, and the chunk itself is
        // advanced once, when the fast path is left.
        if self.lent_frame.is_none() && matches!(self.state, State::Header { have: 0, .. }) {
            let (max, lent, allowed) = (self.max_message_len, self.lent, self.allowed_flags);
            let found = self
                .chunks
                .front()
                .and_then(|front| whole_frame(front.get(lent..)?, max, allowed));
            if let Some((flags, len)) = found {
                let start = lent + HEADER_LEN;
                self.lent = start + len;
                self.consumed = self.consumed.saturating_add((HEADER_LEN + len) as u64);
                let payload = self
                    .chunks
                    .front()
                    .and_then(|front| front.get(start..start + len))
                    .unwrap_or_default();
                return Ok(Some(FrameRef::from_validated(flags, payload)));
            }
        }
        self.decode_ref_slow()
    }

    /// Everything [`FrameDecoder::decode_ref`] does not answer inline: a frame assembled for the
    /// last call to release, the first chunk used up, a frame across chunks, an error.
    #[inline(never)]
    fn decode_ref_slow(&mut self) -> Result<Option<FrameRef<'_>>, DecodeError> {
        if self.lent_frame.take().is_some() {
            return self.decode_ref();
        }
        if let State::Header { have: 0, .. } = self.state {
            if self
                .chunks
                .front()
                .is_some_and(|front| front.len() <= self.lent)
            {
                self.chunks.pop_front();
                self.lent = 0;
                if !self.chunks.is_empty() {
                    return self.decode_ref();
                }
            }
        }
        self.settle_lent();
        self.lent_frame = self.decode_slow()?;
        Ok(self.lent_frame.as_ref().map(Frame::as_frame_ref))
    }

    /// Consumes what the last [`FrameDecoder::decode_ref`] lent out.
    fn settle_lent(&mut self) {
        if self.lent != 0 {
            if let Some(front) = self.chunks.front_mut() {
                front.advance(self.lent.min(front.len()));
                if front.is_empty() {
                    self.chunks.pop_front();
                }
            }
            self.lent = 0;
        }
        self.lent_frame = None;
    }

    fn decode_slow(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            match &mut self.state {
                State::Failed(err) => return Err(err.clone()),
                State::Header { bytes, have } => {
                    let header = if *have == 0 {
                        match self.chunks.front_mut() {
                            None => return Ok(None),
                            // The common case: the whole header lies in the front chunk.
                            Some(front) if front.len() >= HEADER_LEN => {
                                let mut header = [0u8; HEADER_LEN];
                                front.copy_to_slice(&mut header);
                                header
                            }
                            Some(_) => {
                                *have = fill(&mut self.chunks, bytes, 0);
                                if *have < HEADER_LEN {
                                    return Ok(None);
                                }
                                *bytes
                            }
                        }
                    } else {
                        *have = fill(&mut self.chunks, bytes, *have);
                        if *have < HEADER_LEN {
                            return Ok(None);
                        }
                        *bytes
                    };
                    self.drop_empty_front();
                    self.frame_start = self.consumed;
                    self.consumed = self.consumed.saturating_add(HEADER_LEN as u64);
                    let header = match self.check_header(header) {
                        Ok(header) => header,
                        Err(err) => {
                            self.state = State::Failed(err.clone());
                            return Err(err);
                        }
                    };
                    // Checked against the limit above, so this fits in usize and is bounded.
                    let len = header.len() as usize;
                    if let Some(payload) = self.take_whole(len) {
                        self.state = State::Header {
                            bytes: [0; HEADER_LEN],
                            have: 0,
                        };
                        return Ok(Some(frame(header, payload)));
                    }
                    // The payload spans chunks: one buffer of exactly its size, one copy.
                    self.state = State::Payload {
                        header,
                        payload: BytesMut::with_capacity(len),
                    };
                }
                State::Payload { header, payload } => {
                    let len = header.len() as usize;
                    while payload.len() < len {
                        let Some(front) = self.chunks.front_mut() else {
                            return Ok(None);
                        };
                        let take = front.len().min(len - payload.len());
                        payload.put_slice(front.get(..take).unwrap_or_default());
                        front.advance(take);
                        self.consumed = self.consumed.saturating_add(take as u64);
                        if front.is_empty() {
                            self.chunks.pop_front();
                        }
                    }
                    let header = *header;
                    let payload = core::mem::take(payload).freeze();
                    self.state = State::Header {
                        bytes: [0; HEADER_LEN],
                        have: 0,
                    };
                    return Ok(Some(frame(header, payload)));
                }
            }
        }
    }

    /// Ends the stream: succeeds only if no frame was left unfinished.
    ///
    /// Frames still waiting whole in the pushed chunks are not an error here; call
    /// [`FrameDecoder::decode`] until it answers `Ok(None)` first.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] naming how much of the last frame arrived, or the error that
    /// already stopped the stream.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        self.settle_lent();
        let queued: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        let (expected, received) = match &self.state {
            State::Failed(err) => return Err(err.clone()),
            State::Header { have: 0, .. } if queued == 0 => return Ok(()),
            State::Header { bytes, have } => {
                // What the header says, if enough of it arrived to say it.
                let mut full = *bytes;
                let mut got = *have;
                for chunk in &self.chunks {
                    for &b in chunk.iter() {
                        if let Some(slot) = full.get_mut(got) {
                            *slot = b;
                            got += 1;
                        }
                    }
                }
                let received = (*have as u64).saturating_add(queued);
                if got == HEADER_LEN {
                    let [_, a, b, c, d] = full;
                    let len = u64::from(u32::from_be_bytes([a, b, c, d]));
                    (len.saturating_add(HEADER_LEN as u64), received)
                } else {
                    (HEADER_LEN as u64, received)
                }
            }
            State::Payload { header, payload } => (
                u64::from(header.len()).saturating_add(HEADER_LEN as u64),
                (HEADER_LEN as u64)
                    .saturating_add(payload.len() as u64)
                    .saturating_add(queued),
            ),
        };
        let offset = match &self.state {
            State::Payload { .. } => self.frame_start,
            _ => self.consumed,
        };
        Err(DecodeError::Truncated {
            expected,
            received,
            offset,
        })
    }

    fn check_header(&self, bytes: [u8; HEADER_LEN]) -> Result<FrameHeader, DecodeError> {
        checked_header(bytes, self.max_message_len, self.frame_start, self.envelope)
    }

    /// The next `len` bytes as a slice of the front chunk, when they all lie in it.
    fn take_whole(&mut self, len: usize) -> Option<Bytes> {
        if len == 0 {
            return Some(Bytes::new());
        }
        let front = self.chunks.front_mut()?;
        if front.len() < len {
            return None;
        }
        let payload = front.split_to(len);
        self.consumed = self.consumed.saturating_add(len as u64);
        self.drop_empty_front();
        Some(payload)
    }

    fn drop_empty_front(&mut self) {
        if self.chunks.front().is_some_and(Bytes::is_empty) {
            self.chunks.pop_front();
        }
    }
}

/// The flags and payload length of a frame lying whole at the front of `chunk`, when it is
/// also valid (only `allowed_flags`, within the limit); anything else goes the general way,
/// which names the error.
#[inline]
fn whole_frame(chunk: &[u8], max_message_len: usize, allowed_flags: u8) -> Option<(u8, usize)> {
    let [flags, a, b, c, d] = *chunk.first_chunk::<HEADER_LEN>()?;
    if flags & !allowed_flags != 0 {
        return None;
    }
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    (len <= max_message_len && chunk.len() - HEADER_LEN >= len).then_some((flags, len))
}

/// Copies header bytes from the chunks into `bytes[have..]`; returns how many are there now.
fn fill(chunks: &mut VecDeque<Bytes>, bytes: &mut [u8; HEADER_LEN], mut have: usize) -> usize {
    while have < HEADER_LEN {
        let Some(front) = chunks.front_mut() else {
            break;
        };
        let take = front.len().min(HEADER_LEN - have);
        if let (Some(dst), Some(src)) = (bytes.get_mut(have..have + take), front.get(..take)) {
            dst.copy_from_slice(src);
        }
        front.advance(take);
        have += take;
        if front.is_empty() {
            chunks.pop_front();
        }
    }
    have
}

fn frame(header: FrameHeader, payload: Bytes) -> Frame {
    Frame::from_validated(header.flags(), payload)
}

/// Parses a frame header (with `envelope`'s flags, or gRPC and gRPC-Web's when none is named)
/// and checks its length against the message limit; an error names the header's offset in the
/// stream.
fn checked_header(
    bytes: [u8; HEADER_LEN],
    max_message_len: usize,
    offset: u64,
    envelope: Option<Envelope>,
) -> Result<FrameHeader, DecodeError> {
    let parsed = match envelope {
        None => FrameHeader::parse(bytes),
        Some(envelope) => FrameHeader::parse_in(bytes, envelope),
    };
    let header = parsed.map_err(|err| match err {
        HeaderError::ReservedFlags { flags } => DecodeError::ReservedFlags { flags, offset },
        HeaderError::FlagNotAllowed { flags, envelope } => DecodeError::FlagNotAllowed {
            flags,
            envelope,
            offset,
        },
    })?;
    if u64::from(header.len()) > max_message_len as u64 {
        return Err(DecodeError::MessageTooLarge {
            len: header.len(),
            max: max_message_len,
            offset,
        });
    }
    Ok(header)
}
