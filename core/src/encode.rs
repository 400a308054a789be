//! [`FrameEncoder`]: length-prefixed messages and gRPC-Web trailer frames into any [`BufMut`].

use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;

use crate::frame::{
    Frame, FrameHeader, DEFAULT_MAX_MESSAGE_LEN, FLAG_COMPRESSED, FLAG_END_STREAM, HEADER_LEN,
};
use crate::metadata::Metadata;
use crate::status::{Code, Status, GRPC_STATUS};
use crate::trailers;

/// Why a frame was not encoded. Nothing was written to the destination.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The payload is longer than the configured limit (or than a `u32` length can say).
    MessageTooLarge {
        /// The payload length.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// The destination has less room than the frame needs.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes of room the destination has.
        remaining: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageTooLarge { len, max } => {
                write!(f, "message of {len} bytes is over the limit of {max} bytes")
            }
            Self::BufferTooSmall { needed, remaining } => write!(
                f,
                "frame needs {needed} bytes but the buffer has room for {remaining}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

/// Encoder of length-prefixed messages and trailer frames, with a limit on message length.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use grpc_lambda_core::FrameEncoder;
///
/// let mut out = BytesMut::new();
/// FrameEncoder::new().encode_message(b"hi", &mut out)?;
/// assert_eq!(&out[..], b"\x00\x00\x00\x00\x02hi");
/// # Ok::<(), grpc_lambda_core::EncodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameEncoder {
    max_message_len: usize,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    /// An encoder with the default limit, [`DEFAULT_MAX_MESSAGE_LEN`] (4 MiB).
    pub const fn new() -> Self {
        Self {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// An encoder that refuses messages longer than `max_message_len` (capped at `u32::MAX`, the
    /// most a frame header can announce).
    pub const fn with_max_message_len(max_message_len: usize) -> Self {
        Self { max_message_len }
    }

    /// The limit on one message's length.
    pub const fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// The header for a payload of `len` bytes with `flags`, after the limit check.
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`] over the limit or over `u32::MAX`.
    pub fn header(&self, flags: u8, len: usize) -> Result<FrameHeader, EncodeError> {
        let max = self.max_message_len.min(u32::MAX as usize);
        let too_large = EncodeError::MessageTooLarge { len, max };
        if len > max {
            return Err(too_large);
        }
        let len = u32::try_from(len).map_err(|_| too_large.clone())?;
        FrameHeader::new(flags, len).map_err(|_| too_large)
    }

    /// The header for `len` bytes with flags an envelope already allowed (a [`Frame`]'s, or
    /// this encoder's own), after the limit check.
    fn sized_header(&self, flags: u8, len: usize) -> Result<FrameHeader, EncodeError> {
        let max = self.max_message_len.min(u32::MAX as usize);
        match u32::try_from(len) {
            Ok(len32) if len <= max => Ok(FrameHeader::from_validated(flags, len32)),
            _ => Err(EncodeError::MessageTooLarge { len, max }),
        }
    }

    /// Writes an uncompressed message: header, then payload.
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`], [`EncodeError::BufferTooSmall`]; nothing is written.
    pub fn encode_message(&self, payload: &[u8], dst: &mut impl BufMut) -> Result<(), EncodeError> {
        self.encode_raw(0, payload, dst)
    }

    /// Writes a message whose payload is already compressed with the call's `grpc-encoding`.
    ///
    /// # Errors
    ///
    /// As [`FrameEncoder::encode_message`].
    pub fn encode_compressed(
        &self,
        payload: &[u8],
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        self.encode_raw(FLAG_COMPRESSED, payload, dst)
    }

    /// Writes a Connect end-stream message (flag `0x02`) whose payload is the already encoded
    /// end-stream JSON.
    ///
    /// # Errors
    ///
    /// As [`FrameEncoder::encode_message`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = Vec::new();
    /// grpc_lambda_core::FrameEncoder::new().encode_end_stream(b"{}", &mut out)?;
    /// assert_eq!(out, b"\x02\x00\x00\x00\x02{}");
    /// # Ok::<(), grpc_lambda_core::EncodeError>(())
    /// ```
    pub fn encode_end_stream(
        &self,
        payload: &[u8],
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        self.encode_raw(FLAG_END_STREAM, payload, dst)
    }

    /// Writes a frame as it is, whatever envelope's flags it carries.
    ///
    /// # Errors
    ///
    /// As [`FrameEncoder::encode_message`].
    pub fn encode_frame(&self, frame: &Frame, dst: &mut impl BufMut) -> Result<(), EncodeError> {
        self.encode_raw(frame.flags(), frame.payload(), dst)
    }

    fn encode_raw(
        &self,
        flags: u8,
        payload: &[u8],
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        let header = self.sized_header(flags, payload.len())?;
        check_room(HEADER_LEN.saturating_add(payload.len()), dst)?;
        header.encode(dst);
        dst.put_slice(payload);
        Ok(())
    }

    /// The header and the payload as two `Bytes`, for a vectored write: the payload is not copied.
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`].
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// let (header, payload) = grpc_lambda_core::FrameEncoder::new()
    ///     .split(Bytes::from_static(b"abc"))?;
    /// assert_eq!(&header[..], b"\x00\x00\x00\x00\x03");
    /// assert_eq!(&payload[..], b"abc");
    /// # Ok::<(), grpc_lambda_core::EncodeError>(())
    /// ```
    pub fn split(&self, payload: Bytes) -> Result<(Bytes, Bytes), EncodeError> {
        let header = self.header(0, payload.len())?;
        Ok((Bytes::copy_from_slice(&header.to_bytes()), payload))
    }

    /// Writes a prost message as one frame, encoding it straight into `dst` after its header: no
    /// intermediate buffer. The length comes from [`prost::Message::encoded_len`].
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`], [`EncodeError::BufferTooSmall`]; nothing is written.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[derive(Clone, PartialEq, prost::Message)]
    /// # struct Reply { #[prost(string, tag = "1")] message: String }
    /// let mut out = bytes::BytesMut::new();
    /// grpc_lambda_core::FrameEncoder::new()
    ///     .encode_prost(&Reply { message: "ok".into() }, &mut out)?;
    /// assert_eq!(&out[..], b"\x00\x00\x00\x00\x04\x0a\x02ok");
    /// # Ok::<(), grpc_lambda_core::EncodeError>(())
    /// ```
    #[cfg(feature = "prost")]
    pub fn encode_prost<M: prost::Message>(
        &self,
        message: &M,
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        let len = message.encoded_len();
        let header = self.header(0, len)?;
        check_room(HEADER_LEN.saturating_add(len), dst)?;
        header.encode(dst);
        message.encode_raw(dst);
        Ok(())
    }

    /// Writes a gRPC-Web trailer frame carrying `trailers`.
    ///
    /// The trailer block is not held to the message limit (it is metadata, bounded by the
    /// caller), only to what a frame header can announce.
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`] past `u32::MAX`, [`EncodeError::BufferTooSmall`].
    pub fn encode_trailers(
        &self,
        trailers: &Metadata,
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        let len = trailers::encoded_len(trailers);
        let header = Self::with_max_message_len(u32::MAX as usize)
            .header(crate::frame::FLAG_TRAILERS, len)?;
        check_room(HEADER_LEN.saturating_add(len), dst)?;
        header.encode(dst);
        trailers::encode(trailers, dst);
        Ok(())
    }

    /// Writes the trailer frame that ends a gRPC-Web response: `status` as `grpc-status`,
    /// `grpc-message` and `grpc-status-details-bin`, then `extra` (custom trailers).
    ///
    /// # Errors
    ///
    /// As [`FrameEncoder::encode_trailers`].
    pub fn encode_status(
        &self,
        status: &Status,
        extra: &Metadata,
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        let mut trailers = status.to_trailers();
        trailers.extend(extra.clone());
        self.encode_trailers(&trailers, dst)
    }

    /// The gRPC-Web trailer frame carrying `trailers`, in a [`Bytes`] of its own, allocated at
    /// its size. The frame of a call that ended `OK` with no other trailers (most calls) is a
    /// constant: no allocation, no encoding.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_core::{Code, FrameEncoder, Status};
    ///
    /// let ok = FrameEncoder::new().trailer_frame(&Status::new(Code::Ok, "").to_trailers())?;
    /// assert_eq!(&ok[..], b"\x80\0\0\0\x10grpc-status: 0\r\n");
    /// # Ok::<(), grpc_lambda_core::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::MessageTooLarge`] for a trailer block past `u32::MAX` bytes.
    pub fn trailer_frame(&self, trailers: &Metadata) -> Result<Bytes, EncodeError> {
        let ok = Code::Ok.as_header_value().as_bytes();
        if trailers.len() == 1 && trailers.iter().all(|entry| entry == (GRPC_STATUS, ok)) {
            return Ok(Bytes::from_static(OK_TRAILER_FRAME));
        }
        let mut frame =
            BytesMut::with_capacity(HEADER_LEN.saturating_add(trailers::encoded_len(trailers)));
        self.encode_trailers(trailers, &mut frame)?;
        Ok(frame.freeze())
    }
}

/// The trailer frame of a call that ended `OK` with nothing else.
const OK_TRAILER_FRAME: &[u8] = b"\x80\0\0\0\x10grpc-status: 0\r\n";

fn check_room(needed: usize, dst: &impl BufMut) -> Result<(), EncodeError> {
    let remaining = dst.remaining_mut();
    if remaining < needed {
        return Err(EncodeError::BufferTooSmall { needed, remaining });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Envelope;

    #[test]
    fn end_stream_frames_are_written_with_their_flag_and_limit() {
        let encoder = FrameEncoder::with_max_message_len(4);
        let mut out = BytesMut::new();
        encoder.encode_end_stream(b"{}", &mut out).unwrap();
        assert_eq!(&out[..], b"\x02\x00\x00\x00\x02{}");
        let compressed = Frame::new_in(0x03, Bytes::from_static(b"ab"), Envelope::Connect).unwrap();
        encoder.encode_frame(&compressed, &mut out).unwrap();
        assert_eq!(&out[7..], b"\x03\x00\x00\x00\x02ab");
        assert_eq!(
            encoder.encode_end_stream(b"{ \"\" }", &mut out),
            Err(EncodeError::MessageTooLarge { len: 6, max: 4 })
        );
        assert_eq!(out.len(), 14);
        // `header` keeps gRPC and gRPC-Web's flags.
        assert!(encoder.header(FLAG_END_STREAM, 0).is_err());
    }

    #[test]
    fn the_ok_trailer_frame_is_what_the_encoder_writes() {
        let ok = Status::new(Code::Ok, "").to_trailers();
        let mut encoded = BytesMut::new();
        FrameEncoder::new()
            .encode_trailers(&ok, &mut encoded)
            .unwrap();
        assert_eq!(OK_TRAILER_FRAME, &encoded[..]);
        assert_eq!(FrameEncoder::new().trailer_frame(&ok).unwrap(), encoded);
        // Anything more than the bare status is encoded.
        let with_message = Status::new(Code::Ok, "fine").to_trailers();
        let mut expected = BytesMut::new();
        FrameEncoder::new()
            .encode_trailers(&with_message, &mut expected)
            .unwrap();
        assert_eq!(
            FrameEncoder::new().trailer_frame(&with_message).unwrap(),
            expected
        );
        let mut spelled_otherwise = Metadata::new();
        spelled_otherwise.append("grpc-status", "00").unwrap();
        assert_eq!(
            &FrameEncoder::new()
                .trailer_frame(&spelled_otherwise)
                .unwrap()[5..],
            b"grpc-status: 00\r\n"
        );
    }

    #[test]
    fn message_bytes_are_exact() {
        let mut out = BytesMut::new();
        FrameEncoder::new().encode_message(b"", &mut out).unwrap();
        FrameEncoder::new()
            .encode_compressed(b"xyz", &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x03xyz");
    }

    #[test]
    fn over_the_limit_writes_nothing_and_names_the_numbers() {
        let encoder = FrameEncoder::with_max_message_len(4);
        let mut out = BytesMut::new();
        let err = encoder.encode_message(b"12345", &mut out).unwrap_err();
        assert_eq!(err, EncodeError::MessageTooLarge { len: 5, max: 4 });
        assert_eq!(
            err.to_string(),
            "message of 5 bytes is over the limit of 4 bytes"
        );
        assert!(out.is_empty());
        encoder.encode_message(b"1234", &mut out).unwrap();
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn a_fixed_buffer_that_is_too_small_is_an_error_not_a_panic() {
        let mut storage = [0u8; 6];
        let mut dst = &mut storage[..];
        let err = FrameEncoder::new()
            .encode_message(b"ab", &mut dst)
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::BufferTooSmall {
                needed: 7,
                remaining: 6
            }
        );
        assert_eq!(storage, [0; 6]);
    }

    #[test]
    fn trailer_frame_bytes_are_exact() {
        let mut md = Metadata::new();
        md.append("grpc-status", "0").unwrap();
        md.append("x-a", "b").unwrap();
        let mut out = BytesMut::new();
        FrameEncoder::new().encode_trailers(&md, &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"\x80\x00\x00\x00\x18grpc-status: 0\r\nx-a: b\r\n"
        );
    }
}
