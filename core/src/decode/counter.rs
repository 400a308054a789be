//! [`FrameCounter`]: a stream's frame boundaries followed from the headers alone.

use super::{checked_header, DecodeError};
use crate::frame::{Envelope, HEADER_LEN};

/// Follows a stream's frame boundaries from the frame headers alone: it counts whole frames and
/// tells whether the bytes so far end between frames, holding no payload (five header bytes at
/// most), so watching a stream costs no copy of what it carries. Headers are checked as
/// [`FrameDecoder`](super::FrameDecoder) checks them, with the same errors.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::decode::FrameCounter;
///
/// let mut counter = FrameCounter::with_max_message_len(1024);
/// counter.push(b"\x00\x00\x00\x00\x03ab")?; // a 3-byte message, 2 bytes of it so far
/// assert_eq!((counter.frames(), counter.at_boundary()), (0, false));
/// counter.push(b"c\x80\x00\x00\x00\x00")?; // its last byte, then an empty trailer frame
/// assert_eq!((counter.frames(), counter.at_boundary()), (2, true));
/// assert!(counter.push(b"\x02\x00\x00\x00\x00").is_err()); // a reserved flag
/// # Ok::<(), grpc_lambda_core::DecodeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FrameCounter {
    max_message_len: usize,
    /// The envelope named with [`FrameCounter::with_envelope`], whose flags headers may carry.
    envelope: Option<Envelope>,
    frames: usize,
    /// The current frame's payload length, once its header is in.
    len: u64,
    /// Payload bytes of the current frame still to come.
    remaining: u64,
    /// The current frame's header, as far as it has come.
    header: [u8; HEADER_LEN],
    header_len: usize,
    /// Stream offset of the current frame's header.
    frame_start: u64,
}

impl FrameCounter {
    /// A counter refusing messages over `max_message_len` bytes.
    pub fn with_max_message_len(max_message_len: usize) -> Self {
        Self {
            max_message_len,
            envelope: None,
            frames: 0,
            len: 0,
            remaining: 0,
            header: [0; HEADER_LEN],
            header_len: 0,
            frame_start: 0,
        }
    }

    /// This counter, reading `envelope`'s headers, as
    /// [`FrameDecoder::with_envelope`](super::FrameDecoder::with_envelope) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{decode::FrameCounter, Envelope};
    ///
    /// let mut counter = FrameCounter::with_max_message_len(16).with_envelope(Envelope::Connect);
    /// counter.push(b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02{}")?; // a message, the end-stream
    /// assert_eq!(counter.frames(), 2);
    /// assert!(counter.push(b"\x80\x00\x00\x00\x00").is_err()); // gRPC-Web's trailers
    /// # Ok::<(), grpc_lambda_core::DecodeError>(())
    /// ```
    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = Some(envelope);
        self
    }

    /// Whole frames so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Whether the bytes so far end between two frames (or before the first).
    pub fn at_boundary(&self) -> bool {
        self.remaining == 0 && self.header_len == 0
    }

    /// Follows the next bytes of the stream.
    ///
    /// # Errors
    ///
    /// [`DecodeError::ReservedFlags`] or [`DecodeError::MessageTooLarge`] for a header
    /// [`FrameDecoder`](super::FrameDecoder) would refuse, at its offset; the counter is not to be used after one.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), DecodeError> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let step =
                    usize::try_from(self.remaining).map_or(data.len(), |r| r.min(data.len()));
                self.remaining -= step as u64;
                data = data.get(step..).unwrap_or_default();
                if self.remaining == 0 {
                    self.end_frame();
                }
                continue;
            }
            let step = (HEADER_LEN - self.header_len).min(data.len());
            let (head, rest) = data.split_at(step);
            if let Some(room) = self.header.get_mut(self.header_len..self.header_len + step) {
                room.copy_from_slice(head);
            }
            self.header_len += step;
            data = rest;
            if self.header_len < HEADER_LEN {
                break;
            }
            self.header_len = 0;
            let header = checked_header(
                self.header,
                self.max_message_len,
                self.frame_start,
                self.envelope,
            )?;
            self.len = u64::from(header.len());
            self.remaining = self.len;
            if self.remaining == 0 {
                self.end_frame();
            }
        }
        Ok(())
    }

    fn end_frame(&mut self) {
        self.frames += 1;
        self.frame_start = self
            .frame_start
            .saturating_add(HEADER_LEN as u64)
            .saturating_add(self.len);
    }
}
