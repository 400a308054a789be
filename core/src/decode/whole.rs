//! Whole bodies: every frame of a complete body at once ([`decode_all`]), or lent one by one
//! from a slice ([`frames`]).

use bytes::Bytes;

use super::{checked_header, whole_frame, DecodeError, FrameDecoder};
use crate::frame::{Envelope, Frame, FrameRef, HEADER_LEN, KNOWN_FLAGS};

/// Decodes every frame of a complete body.
///
/// # Errors
///
/// As [`FrameDecoder::decode`] and [`FrameDecoder::finish`].
///
/// # Examples
///
/// ```
/// let body = bytes::Bytes::from_static(b"\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x00");
/// let frames = grpc_lambda_core::decode::decode_all(body, 4 * 1024 * 1024)?;
/// assert_eq!(frames.len(), 2);
/// # Ok::<(), grpc_lambda_core::DecodeError>(())
/// ```
pub fn decode_all(
    body: Bytes,
    max_message_len: usize,
) -> Result<alloc::vec::Vec<Frame>, DecodeError> {
    let mut decoder = FrameDecoder::with_max_message_len(max_message_len);
    decoder.push(body);
    let mut frames = alloc::vec::Vec::new();
    while let Some(frame) = decoder.decode()? {
        frames.push(frame);
    }
    decoder.finish()?;
    Ok(frames)
}

/// Iterates over the frames of a complete body held in one slice, lending each payload (no
/// allocation, no reference count). After the last whole frame, leftover bytes are one
/// [`DecodeError::Truncated`]; any error ends the iteration.
///
/// # Examples
///
/// ```
/// let body = b"\x00\x00\x00\x00\x01a\x80\x00\x00\x00\x00\x00\x00";
/// let mut frames = grpc_lambda_core::decode::frames(body, 1024);
/// assert_eq!(frames.next().unwrap()?.payload(), b"a");
/// assert!(frames.next().unwrap()?.is_trailers());
/// assert!(frames.next().unwrap().is_err()); // two stray bytes
/// assert!(frames.next().is_none());
/// # Ok::<(), grpc_lambda_core::DecodeError>(())
/// ```
pub fn frames(body: &[u8], max_message_len: usize) -> Frames<'_> {
    Frames {
        rest: body,
        offset: 0,
        max_message_len,
        allowed_flags: KNOWN_FLAGS,
        envelope: None,
        done: false,
    }
}

/// As [`frames`], reading `envelope`'s frames: a flag bit that protocol does not allow is
/// [`DecodeError::FlagNotAllowed`], naming the flag, the protocol and the frame's offset.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::{decode, DecodeError, Envelope};
///
/// let body = b"\x00\x00\x00\x00\x01a\x02\x00\x00\x00\x02{}";
/// let mut connect = decode::frames_in(body, 1024, Envelope::Connect);
/// assert_eq!(connect.next().unwrap()?.payload(), b"a");
/// assert!(connect.next().unwrap()?.is_end_stream());
///
/// let mut grpc = decode::frames_in(body, 1024, Envelope::Grpc);
/// assert!(grpc.next().unwrap().is_ok());
/// let err = grpc.next().unwrap().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "frame at byte 6: frame flags 0x02 set bits 0x02 that a gRPC envelope does not allow (it allows 0x01 compressed)"
/// );
/// # Ok::<(), DecodeError>(())
/// ```
pub fn frames_in(body: &[u8], max_message_len: usize, envelope: Envelope) -> Frames<'_> {
    Frames {
        allowed_flags: envelope.allowed_flags(),
        envelope: Some(envelope),
        ..frames(body, max_message_len)
    }
}

/// The iterator [`frames`] returns.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    rest: &'a [u8],
    offset: u64,
    max_message_len: usize,
    allowed_flags: u8,
    envelope: Option<Envelope>,
    done: bool,
}

impl<'a> Frames<'a> {
    /// The bytes not yet read.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }

    fn fail(&mut self, err: DecodeError) -> Option<Result<FrameRef<'a>, DecodeError>> {
        self.done = true;
        Some(Err(err))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<FrameRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        if let Some((flags, len)) = whole_frame(self.rest, self.max_message_len, self.allowed_flags)
        {
            let payload = self
                .rest
                .get(HEADER_LEN..HEADER_LEN + len)
                .unwrap_or_default();
            self.rest = self.rest.get(HEADER_LEN + len..).unwrap_or_default();
            self.offset = self.offset.saturating_add((HEADER_LEN + len) as u64);
            return Some(Ok(FrameRef::from_validated(flags, payload)));
        }
        let offset = self.offset;
        let received = self.rest.len() as u64;
        let Some(&header) = self.rest.first_chunk::<HEADER_LEN>() else {
            return self.fail(DecodeError::Truncated {
                expected: HEADER_LEN as u64,
                received,
                offset,
            });
        };
        let err = match checked_header(header, self.max_message_len, offset, self.envelope) {
            Err(err) => err,
            Ok(h) => DecodeError::Truncated {
                expected: u64::from(h.len()).saturating_add(HEADER_LEN as u64),
                received,
                offset,
            },
        };
        self.fail(err)
    }
}
