//! The framing core of grpc-lambda: gRPC and gRPC-Web messages over [`Bytes`], without std.
//!
//! Every call that crosses a Lambda front door passes through this crate twice: the request body is
//! base64-decoded and cut into length-prefixed messages, and the response is framed, closed with a
//! gRPC-Web trailer frame and base64-encoded again. It is written to be zero-copy where the input
//! allows it, to never panic on input, and to never allocate past a configured limit.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use grpc_lambda_core::{FrameDecoder, FrameEncoder, Metadata};
//!
//! // Encode one message and the gRPC-Web trailer frame that closes the response.
//! let encoder = FrameEncoder::new();
//! let mut body = BytesMut::new();
//! encoder.encode_message(b"hello", &mut body)?;
//! let mut trailers = Metadata::new();
//! trailers.append("grpc-status", "0")?;
//! encoder.encode_trailers(&trailers, &mut body)?;
//!
//! // Decode it again, fed in two arbitrary chunks.
//! let body = body.freeze();
//! let mut decoder = FrameDecoder::new();
//! decoder.push(body.slice(..3));
//! decoder.push(body.slice(3..));
//! let message = decoder.decode()?.expect("a whole message");
//! assert_eq!(message.payload(), &b"hello"[..]);
//! let trailer_frame = decoder.decode()?.expect("the trailer frame");
//! assert!(trailer_frame.is_trailers());
//! assert_eq!(trailer_frame.trailers()?.get("grpc-status"), Some(&b"0"[..]));
//! decoder.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Wire format
//!
//! ```text
//!  length-prefixed message (gRPC and gRPC-Web)
//!  +--------+--------+--------+--------+--------+------------------------+
//!  | flags  |      length (u32, big-endian)     |  payload (length bytes) |
//!  +--------+--------+--------+--------+--------+------------------------+
//!   flags: 0x01 compressed (grpc-encoding), 0x80 gRPC-Web trailer frame,
//!          0x02 Connect end-stream message, others reserved; each only in its own protocol
//!
//!  gRPC-Web trailer frame payload: "grpc-status: 0\r\ngrpc-message: \r\n"
//!  gRPC-Web-text: the whole stream base64-encoded, possibly as separately padded segments
//! ```
//!
//! # Modules
//!
//! - [`frame`]: the 5-byte header and the [`Frame`] it announces.
//! - [`decode`]: [`FrameDecoder`], incremental and zero-copy.
//! - [`encode`]: [`FrameEncoder`], into any [`bytes::BufMut`] or as two `Bytes` for vectored writes.
//! - [`trailers`]: the gRPC-Web trailer block.
//! - [`metadata`]: [`Metadata`], `grpc-timeout`, `-bin` values.
//! - [`status`]: the 17 codes, `grpc-message` percent-encoding, the HTTP-status mapping.
//! - [`content_type`]: `application/grpc`, `application/grpc-web`, `application/grpc-web-text`,
//!   each `+proto` or `+json`; Connect's `application/proto|json`, `application/connect+proto|json`;
//!   Twirp's `application/protobuf`.
//! - [`base64`]: streaming base64 over `Bytes`, on SIMD engines.
//! - `gzip` (feature `gzip`): `grpc-encoding: gzip` with the message limit applied to the output.
//! - `eventstream` (feature `eventstream`): the AWS event stream framing that Lambda's
//!   `InvokeWithResponseStream` answers with.
//!
//! # Features
//!
//! - `std` (default): `std::error::Error` impls, runtime CPU detection for base64.
//! - `prost`: `FrameEncoder::encode_prost`, a prost message encoded straight into its frame.
//! - `gzip`: the `gzip` module.
//! - `eventstream`: the `eventstream` module.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

extern crate alloc;

pub mod base64;
pub mod content_type;
pub mod decode;
pub mod encode;
#[cfg(feature = "eventstream")]
pub mod eventstream;
pub mod frame;
#[cfg(feature = "gzip")]
pub mod gzip;
pub mod metadata;
pub mod status;
pub mod trailers;

pub use bytes::Bytes;
pub use content_type::{Codec, ContentType, MediaType, Protocol};
pub use decode::{DecodeError, FrameDecoder};
pub use encode::{EncodeError, FrameEncoder};
pub use frame::{Envelope, Frame, FrameHeader, FrameRef, DEFAULT_MAX_MESSAGE_LEN, HEADER_LEN};
pub use metadata::{Metadata, MetadataError};
pub use status::{Code, Status};
