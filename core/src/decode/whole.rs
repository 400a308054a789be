//! Whole bodies: every frame of a complete body at once ([`decode_all`]), or lent one by one
//! from a slice ([`frames`]).

use bytes::Bytes;

use super::{checked_header, whole_frame, DecodeError, FrameDecoder};
use crate::frame::{Frame, FrameRef, HEADER_LEN};

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
        done: false,
    }
}

/// The iterator [`frames`] returns.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    rest: &'a [u8],
    offset: u64,
    max_message_len: usize,
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
        if let Some((flags, len)) = whole_frame(self.rest, self.max_message_len) {
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
        let err = match checked_header(header, self.max_message_len, offset) {
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
