//! The length-prefixed message: a 5-byte header and the payload it announces.
//!
//! PROTOCOL-HTTP2.md: "Length-Prefixed-Message → Compressed-Flag Message-Length Message";
//! "Compressed-Flag → 0 / 1 ; encoded as 1 byte unsigned integer";
//! "Message-Length → {length of Message} ; encoded as 4 byte unsigned integer (big endian)".
//! PROTOCOL-WEB.md adds the trailers frame: "the MSB (0x80) of the first byte of a data frame
//! indicates that the frame contains trailers". The Connect protocol's streaming envelope adds
//! the end-stream message: "Flags … the end-stream bit (0b00000010)", the last message of a
//! response, carrying its error and trailers as JSON.
//!
//! Each flag belongs to one protocol ([`Envelope`]): `0x01` to all three, `0x80` to gRPC-Web only,
//! `0x02` to Connect streaming only. A reader told its envelope refuses the others' flags by
//! name; a reader told none reads gRPC and gRPC-Web frames (`0x01`, `0x80`), as it always has.

use bytes::{BufMut, Bytes};
use core::fmt;

use crate::metadata::Metadata;
use crate::trailers::{self, TrailersError};

/// Bytes in a frame header: one flags byte and a big-endian `u32` length.
pub const HEADER_LEN: usize = 5;

/// The default limit on one message's length, gRPC's default maximum receive message size
/// ("4 MiB", grpc-core `GRPC_DEFAULT_MAX_RECV_MESSAGE_LENGTH`).
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024;

/// Flag bit: the payload is compressed with the call's `grpc-encoding`.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit: the frame is a gRPC-Web trailer block, not a message.
pub const FLAG_TRAILERS: u8 = 0x80;
/// Flag bit: the frame is a Connect end-stream message (JSON carrying the error and trailers),
/// not a message. Connect streaming only.
pub const FLAG_END_STREAM: u8 = 0x02;
/// Every flag bit gRPC and gRPC-Web define: what a reader told no [`Envelope`] accepts. The rest
/// are reserved and refused.
pub const KNOWN_FLAGS: u8 = FLAG_COMPRESSED | FLAG_TRAILERS;
/// Every flag bit some envelope defines: what a [`Frame`] may carry.
const ANY_ENVELOPE_FLAGS: u8 = FLAG_COMPRESSED | FLAG_TRAILERS | FLAG_END_STREAM;

/// Whose envelope a frame is: the protocol decides which flag bits it may set.
///
/// | envelope | `0x01` compressed | `0x02` end-stream | `0x80` trailers |
/// | --- | --- | --- | --- |
/// | [`Envelope::Grpc`] | yes | no | no |
/// | [`Envelope::GrpcWeb`] | yes | no | yes |
/// | [`Envelope::Connect`] | yes | yes | no |
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::frame::{Envelope, FrameHeader, HeaderError};
///
/// assert_eq!(Envelope::Connect.allowed_flags(), 0x03);
/// let end_stream = [0x02, 0, 0, 0, 2];
/// assert!(FrameHeader::parse_in(end_stream, Envelope::Connect)?.is_end_stream());
/// let err = FrameHeader::parse_in(end_stream, Envelope::GrpcWeb).unwrap_err();
/// assert_eq!(err, HeaderError::FlagNotAllowed { flags: 0x02, envelope: Envelope::GrpcWeb });
/// assert!(err.to_string().contains("gRPC-Web"));
/// # Ok::<(), HeaderError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// gRPC over HTTP/2: `0x01` only; the status travels in HTTP/2 trailers.
    Grpc,
    /// gRPC-Web, binary or text: `0x01` and the trailer frame's `0x80`.
    GrpcWeb,
    /// Connect streaming (`application/connect+proto|+json`): `0x01` and the end-stream `0x02`.
    Connect,
}

impl Envelope {
    /// Every envelope, for iteration in tests and tables.
    pub const ALL: [Envelope; 3] = [Envelope::Grpc, Envelope::GrpcWeb, Envelope::Connect];

    /// The flag bits this envelope allows; a frame setting any other bit is refused.
    pub const fn allowed_flags(self) -> u8 {
        match self {
            Envelope::Grpc => FLAG_COMPRESSED,
            Envelope::GrpcWeb => FLAG_COMPRESSED | FLAG_TRAILERS,
            Envelope::Connect => FLAG_COMPRESSED | FLAG_END_STREAM,
        }
    }

    /// The protocol's name, as errors print it: `"gRPC"`, `"gRPC-Web"`, `"Connect streaming"`.
    pub const fn name(self) -> &'static str {
        match self {
            Envelope::Grpc => "gRPC",
            Envelope::GrpcWeb => "gRPC-Web",
            Envelope::Connect => "Connect streaming",
        }
    }

    /// Whether `flags` sets only bits this envelope allows.
    ///
    /// # Errors
    ///
    /// [`HeaderError::FlagNotAllowed`] naming the flags and this envelope.
    pub const fn check(self, flags: u8) -> Result<(), HeaderError> {
        if flags & !self.allowed_flags() != 0 {
            return Err(HeaderError::FlagNotAllowed {
                flags,
                envelope: self,
            });
        }
        Ok(())
    }

    /// What the allowed flags mean, for error messages.
    const fn allowed_text(self) -> &'static str {
        match self {
            Envelope::Grpc => "0x01 compressed",
            Envelope::GrpcWeb => "0x01 compressed and 0x80 trailers",
            Envelope::Connect => "0x01 compressed and 0x02 end-stream",
        }
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed frame header.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::FrameHeader;
///
/// let header = FrameHeader::parse([0x80, 0, 0, 0, 15])?;
/// assert!(header.is_trailers());
/// assert_eq!(header.len(), 15);
/// assert_eq!(header.to_bytes(), [0x80, 0, 0, 0, 15]);
/// # Ok::<(), grpc_lambda_core::frame::HeaderError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    flags: u8,
    len: u32,
}

/// A frame header that cannot be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The flags byte has bits set that neither gRPC nor gRPC-Web define.
    ReservedFlags {
        /// The whole flags byte as received.
        flags: u8,
    },
    /// The flags byte sets a bit the named protocol's envelope does not allow (a bit another
    /// protocol defines, such as Connect's `0x02` in a gRPC-Web body, or a reserved one).
    FlagNotAllowed {
        /// The whole flags byte as received.
        flags: u8,
        /// The envelope the frame was read as.
        envelope: Envelope,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedFlags { flags } => write!(
                f,
                "frame flags 0x{flags:02x} set reserved bits 0x{:02x} (only 0x01 compressed and 0x80 trailers are defined)",
                flags & !KNOWN_FLAGS
            ),
            Self::FlagNotAllowed { flags, envelope } => write!(
                f,
                "frame flags 0x{flags:02x} set bits 0x{:02x} that a {} envelope does not allow (it allows {})",
                flags & !envelope.allowed_flags(),
                envelope.name(),
                envelope.allowed_text()
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HeaderError {}

impl FrameHeader {
    /// A header for an uncompressed message of `len` bytes.
    pub const fn message(len: u32) -> Self {
        Self { flags: 0, len }
    }

    /// A header for a gRPC-Web trailer frame of `len` bytes.
    pub const fn trailers(len: u32) -> Self {
        Self {
            flags: FLAG_TRAILERS,
            len,
        }
    }

    /// A header for a Connect end-stream message of `len` bytes (flag `0x02`).
    pub const fn end_stream(len: u32) -> Self {
        Self {
            flags: FLAG_END_STREAM,
            len,
        }
    }

    /// A header from its parts, for the given protocol's envelope.
    ///
    /// # Errors
    ///
    /// [`HeaderError::FlagNotAllowed`] when `flags` sets a bit `envelope` does not allow.
    pub const fn new_in(flags: u8, len: u32, envelope: Envelope) -> Result<Self, HeaderError> {
        match envelope.check(flags) {
            Ok(()) => Ok(Self { flags, len }),
            Err(err) => Err(err),
        }
    }

    /// Parses the 5 header bytes of the given protocol's envelope.
    ///
    /// # Errors
    ///
    /// [`HeaderError::FlagNotAllowed`] when a flag bit `envelope` does not allow is set.
    pub const fn parse_in(
        bytes: [u8; HEADER_LEN],
        envelope: Envelope,
    ) -> Result<Self, HeaderError> {
        let [flags, a, b, c, d] = bytes;
        Self::new_in(flags, u32::from_be_bytes([a, b, c, d]), envelope)
    }

    /// A header from flags some envelope already allowed.
    pub(crate) const fn from_validated(flags: u8, len: u32) -> Self {
        Self { flags, len }
    }

    /// A header from its parts (gRPC and gRPC-Web flags: `0x01`, `0x80`).
    ///
    /// # Errors
    ///
    /// [`HeaderError::ReservedFlags`] when `flags` has a bit other than 0x01 and 0x80 set.
    pub const fn new(flags: u8, len: u32) -> Result<Self, HeaderError> {
        if flags & !KNOWN_FLAGS != 0 {
            return Err(HeaderError::ReservedFlags { flags });
        }
        Ok(Self { flags, len })
    }

    /// Parses the 5 header bytes.
    ///
    /// # Errors
    ///
    /// [`HeaderError::ReservedFlags`] when a reserved flag bit is set.
    pub const fn parse(bytes: [u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        let [flags, a, b, c, d] = bytes;
        Self::new(flags, u32::from_be_bytes([a, b, c, d]))
    }

    /// The 5 bytes of this header on the wire.
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [a, b, c, d] = self.len.to_be_bytes();
        [self.flags, a, b, c, d]
    }

    /// Writes the 5 header bytes into `dst`.
    ///
    /// # Panics
    ///
    /// When `dst` has less than [`HEADER_LEN`] bytes of room, as [`BufMut::put_slice`] does; a
    /// growable buffer (`BytesMut`, `Vec<u8>`) always has room.
    pub fn encode(self, dst: &mut impl BufMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// The flags byte.
    pub const fn flags(self) -> u8 {
        self.flags
    }

    /// The payload length the header announces.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> u32 {
        self.len
    }

    /// Whether the payload is compressed (flag 0x01).
    pub const fn is_compressed(self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Whether this is a gRPC-Web trailer frame (flag 0x80).
    pub const fn is_trailers(self) -> bool {
        self.flags & FLAG_TRAILERS != 0
    }

    /// Whether this is a Connect end-stream message (flag 0x02).
    pub const fn is_end_stream(self) -> bool {
        self.flags & FLAG_END_STREAM != 0
    }
}

/// One frame: a message, or a gRPC-Web trailer block.
///
/// The payload is a [`Bytes`]: when it came from a decoder it is, wherever the input allowed it, a
/// slice of the chunk it arrived in.
///
/// # Examples
///
/// ```
/// use grpc_lambda_core::Frame;
///
/// let frame = Frame::message(bytes::Bytes::from_static(b"\x08\x01"));
/// assert!(!frame.is_trailers());
/// assert_eq!(frame.header().to_bytes(), [0, 0, 0, 0, 2]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    flags: u8,
    payload: Bytes,
}

impl Frame {
    /// An uncompressed message frame.
    pub fn message(payload: Bytes) -> Self {
        Self { flags: 0, payload }
    }

    /// A message frame whose payload is compressed with the call's `grpc-encoding`.
    pub fn compressed_message(payload: Bytes) -> Self {
        Self {
            flags: FLAG_COMPRESSED,
            payload,
        }
    }

    /// A gRPC-Web trailer frame carrying an already encoded trailer block.
    pub fn trailers_block(payload: Bytes) -> Self {
        Self {
            flags: FLAG_TRAILERS,
            payload,
        }
    }

    /// A Connect end-stream message (flag `0x02`) carrying an already encoded JSON payload.
    ///
    /// # Examples
    ///
    /// ```
    /// let frame = grpc_lambda_core::Frame::end_stream(bytes::Bytes::from_static(b"{}"));
    /// assert!(frame.is_end_stream());
    /// assert_eq!(frame.header().to_bytes(), [0x02, 0, 0, 0, 2]);
    /// ```
    pub fn end_stream(payload: Bytes) -> Self {
        Self {
            flags: FLAG_END_STREAM,
            payload,
        }
    }

    /// A frame of the given protocol's envelope from a header's flags and a payload.
    ///
    /// # Errors
    ///
    /// [`HeaderError::FlagNotAllowed`] when `flags` sets a bit `envelope` does not allow.
    pub fn new_in(flags: u8, payload: Bytes, envelope: Envelope) -> Result<Self, HeaderError> {
        envelope.check(flags)?;
        Ok(Self { flags, payload })
    }

    /// A frame from a header's flags and a payload (gRPC and gRPC-Web flags: `0x01`, `0x80`).
    ///
    /// # Errors
    ///
    /// [`HeaderError::ReservedFlags`] when `flags` has a reserved bit set.
    pub fn new(flags: u8, payload: Bytes) -> Result<Self, HeaderError> {
        FrameHeader::new(flags, 0)?;
        Ok(Self { flags, payload })
    }

    /// A frame from flags a parsed header already validated.
    pub(crate) fn from_validated(flags: u8, payload: Bytes) -> Self {
        debug_assert_eq!(flags & !ANY_ENVELOPE_FLAGS, 0);
        Self { flags, payload }
    }

    /// The header this frame is sent with.
    ///
    /// Payloads longer than `u32::MAX` cannot be built by the decoder and are refused by the
    /// encoder; here such a length saturates.
    pub fn header(&self) -> FrameHeader {
        self.as_frame_ref().header()
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the payload is compressed (flag 0x01).
    pub fn is_compressed(&self) -> bool {
        self.as_frame_ref().is_compressed()
    }

    /// Whether this is a gRPC-Web trailer frame (flag 0x80).
    pub fn is_trailers(&self) -> bool {
        self.as_frame_ref().is_trailers()
    }

    /// Whether this is a Connect end-stream message (flag 0x02).
    pub fn is_end_stream(&self) -> bool {
        self.as_frame_ref().is_end_stream()
    }

    /// The payload bytes.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The payload, without a copy.
    pub fn into_payload(self) -> Bytes {
        self.payload
    }

    /// The bytes on the wire: header plus payload.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload.len())
    }

    /// Parses the payload of a trailer frame as a gRPC-Web trailer block.
    ///
    /// # Errors
    ///
    /// [`TrailersError::NotTrailers`] for a message frame, and the block's own errors.
    pub fn trailers(&self) -> Result<Metadata, TrailersError> {
        if !self.is_trailers() {
            return Err(TrailersError::NotTrailers);
        }
        trailers::decode(&self.payload)
    }
}

/// A frame borrowed from the decoder's input: the payload is a plain slice, with no reference
/// count taken. See [`crate::FrameDecoder::decode_ref`] and [`crate::decode::frames`].
///
/// # Examples
///
/// ```
/// let body = b"\x00\x00\x00\x00\x02hi";
/// let frame = grpc_lambda_core::decode::frames(body, 1024).next().unwrap()?;
/// assert_eq!(frame.payload(), b"hi");
/// assert_eq!(frame.to_frame(), grpc_lambda_core::Frame::message("hi".into()));
/// # Ok::<(), grpc_lambda_core::DecodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameRef<'a> {
    flags: u8,
    payload: &'a [u8],
}

impl<'a> FrameRef<'a> {
    /// A frame from flags a parsed header already validated.
    pub(crate) fn from_validated(flags: u8, payload: &'a [u8]) -> Self {
        debug_assert_eq!(flags & !ANY_ENVELOPE_FLAGS, 0);
        Self { flags, payload }
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the payload is compressed (flag 0x01).
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Whether this is a gRPC-Web trailer frame (flag 0x80).
    pub fn is_trailers(&self) -> bool {
        self.flags & FLAG_TRAILERS != 0
    }

    /// Whether this is a Connect end-stream message (flag 0x02).
    pub fn is_end_stream(&self) -> bool {
        self.flags & FLAG_END_STREAM != 0
    }

    /// The payload bytes, borrowed from the input.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The header this frame was sent with.
    pub fn header(&self) -> FrameHeader {
        FrameHeader::from_validated(
            self.flags,
            u32::try_from(self.payload.len()).unwrap_or(u32::MAX),
        )
    }

    /// An owned frame: the payload is copied.
    pub fn to_frame(&self) -> Frame {
        Frame::from_validated(self.flags, Bytes::copy_from_slice(self.payload))
    }

    /// An owned frame sharing `buffer`, the bytes this frame was read from: its payload is a
    /// slice of `buffer` (a reference count, not a copy). A payload that does not lie in
    /// `buffer` is copied.
    ///
    /// # Examples
    ///
    /// ```
    /// let body = bytes::Bytes::from_static(b"\x00\x00\x00\x00\x02hi");
    /// let lent = grpc_lambda_core::decode::frames(&body, 1024).next().unwrap()?;
    /// let frame = lent.share(&body);
    /// assert_eq!(frame.payload().as_ptr(), body[5..].as_ptr());
    /// # Ok::<(), grpc_lambda_core::DecodeError>(())
    /// ```
    pub fn share(&self, buffer: &Bytes) -> Frame {
        let within = buffer.as_ptr_range();
        let payload = self.payload.as_ptr_range();
        let payload = if within.start <= payload.start && payload.end <= within.end {
            buffer.slice_ref(self.payload)
        } else {
            Bytes::copy_from_slice(self.payload)
        };
        Frame::from_validated(self.flags, payload)
    }

    /// Parses the payload of a trailer frame (the block is copied once, so the values can be
    /// `Bytes`).
    ///
    /// # Errors
    ///
    /// As [`Frame::trailers`].
    pub fn trailers(&self) -> Result<Metadata, TrailersError> {
        self.to_frame().trailers()
    }
}

impl Frame {
    /// This frame as a [`FrameRef`] borrowing its payload.
    pub fn as_frame_ref(&self) -> FrameRef<'_> {
        FrameRef::from_validated(self.flags, &self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_frame_slices_its_buffer_and_copies_what_lies_outside() {
        let body = Bytes::from_static(b"\x01\x00\x00\x00\x02hi");
        let lent = FrameRef::from_validated(0x01, &body[5..]);
        let shared = lent.share(&body);
        assert!(shared.is_compressed());
        assert_eq!(shared.payload().as_ptr(), body[5..].as_ptr());
        let elsewhere = Bytes::from_static(b"hi");
        let copied = lent.share(&elsewhere);
        assert_eq!(&copied.payload()[..], b"hi");
        assert_ne!(copied.payload().as_ptr(), elsewhere.as_ptr());
        assert!(FrameRef::from_validated(0, &[])
            .share(&body)
            .payload()
            .is_empty());
    }

    #[test]
    fn header_round_trips_every_defined_flag() {
        for flags in [
            0u8,
            FLAG_COMPRESSED,
            FLAG_TRAILERS,
            FLAG_TRAILERS | FLAG_COMPRESSED,
        ] {
            for len in [0u32, 1, 255, 256, 65_536, u32::MAX] {
                let header = FrameHeader::new(flags, len).unwrap();
                assert_eq!(FrameHeader::parse(header.to_bytes()), Ok(header));
            }
        }
    }

    #[test]
    fn header_is_big_endian() {
        assert_eq!(
            FrameHeader::message(0x0102_0304).to_bytes(),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn each_flag_is_allowed_only_in_its_own_envelope() {
        let allowed = |flag: u8| -> [bool; 3] {
            Envelope::ALL
                .map(|envelope| FrameHeader::parse_in([flag, 0, 0, 0, 1], envelope).is_ok())
        };
        assert_eq!(allowed(0x00), [true, true, true]);
        assert_eq!(allowed(FLAG_COMPRESSED), [true, true, true]);
        assert_eq!(allowed(FLAG_TRAILERS), [false, true, false]);
        assert_eq!(allowed(FLAG_END_STREAM), [false, false, true]);
        assert_eq!(
            allowed(FLAG_END_STREAM | FLAG_COMPRESSED),
            [false, false, true]
        );
        for flags in 0u8..=255 {
            for envelope in Envelope::ALL {
                let result = FrameHeader::parse_in([flags, 0, 0, 0, 0], envelope);
                assert_eq!(result.is_ok(), flags & !envelope.allowed_flags() == 0);
            }
        }
        let err = FrameHeader::parse_in([0x80, 0, 0, 0, 0], Envelope::Connect).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame flags 0x80 set bits 0x80 that a Connect streaming envelope does not allow (it allows 0x01 compressed and 0x02 end-stream)"
        );
        let err = FrameHeader::parse_in([0x03, 0, 0, 0, 0], Envelope::Grpc).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame flags 0x03 set bits 0x02 that a gRPC envelope does not allow (it allows 0x01 compressed)"
        );
        // A reader told no envelope keeps gRPC and gRPC-Web's flags.
        assert!(FrameHeader::parse([0x02, 0, 0, 0, 0]).is_err());
        assert!(Frame::new(0x02, Bytes::new()).is_err());
    }

    #[test]
    fn end_stream_frames() {
        let header = FrameHeader::end_stream(7);
        assert_eq!(header.to_bytes(), [0x02, 0, 0, 0, 7]);
        assert!(header.is_end_stream() && !header.is_trailers() && !header.is_compressed());
        let frame = Frame::new_in(0x03, Bytes::from_static(b"{}"), Envelope::Connect).unwrap();
        assert!(frame.is_end_stream() && frame.is_compressed());
        assert!(frame.as_frame_ref().is_end_stream());
        assert!(!Frame::trailers_block(Bytes::new()).is_end_stream());
        assert_eq!(
            Frame::end_stream(Bytes::new()).header().to_bytes(),
            [2, 0, 0, 0, 0]
        );
    }

    #[test]
    fn reserved_flags_are_refused_by_name() {
        for flags in 0u8..=255 {
            let result = FrameHeader::parse([flags, 0, 0, 0, 0]);
            if flags & !KNOWN_FLAGS == 0 {
                assert!(result.is_ok());
            } else {
                let err = result.unwrap_err();
                assert_eq!(err, HeaderError::ReservedFlags { flags });
                let text = err.to_string();
                assert!(text.contains(&format!("0x{flags:02x}")), "{text}");
            }
        }
    }
}
