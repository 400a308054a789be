//! The fuzz targets' inputs and what each target checks.
//!
//! Every input is read from the raw fuzz bytes by a fixed, documented layout (a few control bytes
//! at the front, the data after them), so a seed is easy to write by hand and a crash file reads
//! the same way here as in the target. `Debug` prints Rust that rebuilds the input: paste it into a
//! test as `input.check()` to reproduce a crash. [`TARGETS`] lists every target, for the
//! regression test that replays the seeds and saved crashes.
//!
//! ```
//! use grpc_lambda_proptests::chunking::Chunking;
//! use grpc_lambda_proptests::fuzz_checks::{FrameDecoderInput, FuzzInput, Limit};
//!
//! let input = FrameDecoderInput::read(b"\x02\x01\x80\x00\x00\x00\x04x: y");
//! assert_eq!(
//!     format!("{input:?}"),
//!     r#"FrameDecoderInput { limit: Limit::Kib1, chunking: Chunking::EveryByte, stream: b"\x80\x00\x00\x00\x04x: y".to_vec() }"#
//! );
//! input.check();
//! ```

use std::fmt;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use grpc_lambda_core::{Code, Status, DEFAULT_MAX_MESSAGE_LEN};

use crate::check::{self, ByteStr, FrameSpec};
use crate::chunking::{Chunking, Reader};
pub use crate::envelope::{ConnectGetInput, EnvelopeInput};
pub use crate::lambda_event::LambdaEventInput;
pub use crate::proxy_response::ProxyResponseInput;

/// What every fuzz input does: read itself from raw bytes, and run its checks.
pub trait FuzzInput: fmt::Debug + Sized {
    /// Reads the input from raw fuzz bytes by its layout. Any bytes are an input.
    fn read(data: &[u8]) -> Self;
    /// Runs the checks, panicking on the first failure.
    fn check(&self);
}

/// Implements `Arbitrary` as [`FuzzInput::read`] over all the bytes, so libFuzzer and the
/// regression test read a file the same way.
macro_rules! arbitrary_by_layout {
    ($($input:ty),* $(,)?) => {$(
        impl<'a> Arbitrary<'a> for $input {
            fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
                let len = u.len();
                Ok(<$input as FuzzInput>::read(u.bytes(len)?))
            }

            fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
                Ok(<$input as FuzzInput>::read(u.take_rest()))
            }
        }
    )*};
}

arbitrary_by_layout!(
    FrameDecoderInput,
    FrameRoundTripInput,
    TrailersInput,
    MetadataInput,
    GzipInput,
    Base64Input,
    LambdaEventInput,
    ProxyResponseInput,
    EnvelopeInput,
    ConnectGetInput,
);

/// One fuzz target: its name (the file in `fuzz/fuzz_targets/`, the directory of its corpus and
/// regressions) and how to run one input file through its checks.
#[derive(Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Reads an input file as the target does and checks it.
    pub run: fn(&[u8]),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn run<T: for<'a> Arbitrary<'a> + FuzzInput>(data: &[u8]) {
    // As `libfuzzer_sys::fuzz_target!` does it.
    if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(data)) {
        input.check();
    }
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "frame_decoder",
        run: run::<FrameDecoderInput>,
    },
    Target {
        name: "frame_round_trip",
        run: run::<FrameRoundTripInput>,
    },
    Target {
        name: "trailers",
        run: run::<TrailersInput>,
    },
    Target {
        name: "metadata",
        run: run::<MetadataInput>,
    },
    Target {
        name: "gzip",
        run: run::<GzipInput>,
    },
    Target {
        name: "base64_stream",
        run: run::<Base64Input>,
    },
    Target {
        name: "lambda_event",
        run: run::<LambdaEventInput>,
    },
    Target {
        name: "proxy_response",
        run: run::<ProxyResponseInput>,
    },
    Target {
        name: "envelope",
        run: run::<EnvelopeInput>,
    },
    Target {
        name: "connect_get",
        run: run::<ConnectGetInput>,
    },
];

/// The message limit a fuzz input runs with. Small limits make "never past the limit" bite on
/// inputs of a few KiB.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Nothing but empty messages.
    Zero,
    /// 16 bytes.
    Bytes16,
    /// 1 KiB.
    Kib1,
    /// 64 KiB.
    Kib64,
    /// gRPC's default, 4 MiB.
    Default,
}

impl Limit {
    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Limit::Zero => 0,
            Limit::Bytes16 => 16,
            Limit::Kib1 => 1024,
            Limit::Kib64 => 64 * 1024,
            Limit::Default => DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// One byte: `byte % 5` picks `Zero`, `Bytes16`, `Kib1`, `Kib64`, `Default`.
    pub fn read(reader: &mut Reader<'_>) -> Limit {
        match reader.byte() % 5 {
            0 => Limit::Zero,
            1 => Limit::Bytes16,
            2 => Limit::Kib1,
            3 => Limit::Kib64,
            _ => Limit::Default,
        }
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Zero => "Limit::Zero",
            Limit::Bytes16 => "Limit::Bytes16",
            Limit::Kib1 => "Limit::Kib1",
            Limit::Kib64 => "Limit::Kib64",
            Limit::Default => "Limit::Default",
        })
    }
}

/// `frame_decoder`: raw bytes into a `FrameDecoder` with a limit, in chunks.
///
/// Layout: `[limit: 1][chunking: see Chunking::read][stream: the rest]`.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameDecoderInput {
    /// The decoder's message limit.
    pub limit: Limit,
    /// How the stream is cut.
    pub chunking: Chunking,
    /// The stream.
    pub stream: Vec<u8>,
}

impl FuzzInput for FrameDecoderInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        Self {
            limit: Limit::read(&mut reader),
            chunking: Chunking::read(&mut reader),
            stream: reader.rest().to_vec(),
        }
    }

    /// [`check::check_decoder`].
    fn check(&self) {
        check::check_decoder(
            &Bytes::copy_from_slice(&self.stream),
            self.limit.bytes(),
            &self.chunking,
        );
    }
}

impl fmt::Debug for FrameDecoderInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FrameDecoderInput {{ limit: {:?}, chunking: {:?}, stream: {:?} }}",
            self.limit,
            self.chunking,
            ByteStr(&self.stream)
        )
    }
}

/// The most frames a [`FrameRoundTripInput`] holds.
pub const MAX_FRAMES: usize = 64;
/// The most bytes all `Filled` frames of one input hold together.
pub const MAX_FILLED_BYTES: usize = 8 * 1024;

/// `frame_round_trip`: frames encoded with a limit, decoded in chunks with the same limit.
///
/// Layout: `[limit: 1][chunking][frames...]`, each frame `[kind: 1]` then by `kind % 4`:
/// `0` message and `1` compressed message: `[len: 1][payload: len]`; `2` filled message:
/// `[which % 4: 1]` for a length of the limit minus one, the limit, the limit plus one, or
/// `[len: 1]`, then `[byte: 1]` (all filled frames of an input hold at most
/// [`MAX_FILLED_BYTES`]); `3` trailers: `[count % 8: 1]` then per entry
/// `[len: 1][name][len: 1][value]`.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameRoundTripInput {
    /// The encoder's and the decoder's limit.
    pub limit: Limit,
    /// How the encoded stream is cut.
    pub chunking: Chunking,
    /// The frames.
    pub frames: Vec<FrameSpec>,
}

impl FuzzInput for FrameRoundTripInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        let limit = Limit::read(&mut reader);
        let chunking = Chunking::read(&mut reader);
        let mut frames = Vec::new();
        let mut filled_budget = MAX_FILLED_BYTES;
        while !reader.is_empty() && frames.len() < MAX_FRAMES {
            frames.push(match reader.byte() % 4 {
                0 => FrameSpec::Message(reader.short_bytes().to_vec()),
                1 => FrameSpec::Compressed(reader.short_bytes().to_vec()),
                2 => {
                    // Lengths at the limit are what matter; anything else stays short.
                    let len = match reader.byte() % 4 {
                        0 => limit.bytes().saturating_sub(1),
                        1 => limit.bytes(),
                        2 => limit.bytes().saturating_add(1),
                        _ => usize::from(reader.byte()),
                    }
                    .min(filled_budget);
                    filled_budget -= len;
                    FrameSpec::Filled {
                        len,
                        byte: reader.byte(),
                    }
                }
                _ => {
                    let count = reader.byte() % 8;
                    FrameSpec::Trailers(
                        (0..count)
                            .map(|_| {
                                let name = reader.short_bytes().to_vec();
                                (name, reader.short_bytes().to_vec())
                            })
                            .collect(),
                    )
                }
            });
        }
        Self {
            limit,
            chunking,
            frames,
        }
    }

    /// [`check::check_encoded_stream`].
    fn check(&self) {
        check::check_encoded_stream(&self.frames, self.limit.bytes(), &self.chunking);
    }
}

impl fmt::Debug for FrameRoundTripInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FrameRoundTripInput {{ limit: {:?}, chunking: {:?}, frames: vec!{:?} }}",
            self.limit, self.chunking, self.frames
        )
    }
}

/// `trailers`: a raw gRPC-Web trailer block, alone and in a trailer frame cut in chunks.
///
/// Layout: `[chunking][block: the rest]`.
#[derive(Clone, PartialEq, Eq)]
pub struct TrailersInput {
    /// How the trailer frame is cut.
    pub chunking: Chunking,
    /// The block.
    pub block: Vec<u8>,
}

impl FuzzInput for TrailersInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        Self {
            chunking: Chunking::read(&mut reader),
            block: reader.rest().to_vec(),
        }
    }

    /// [`check::check_trailer_block`].
    fn check(&self) {
        check::check_trailer_block(&Bytes::copy_from_slice(&self.block), &self.chunking);
    }
}

impl fmt::Debug for TrailersInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TrailersInput {{ chunking: {:?}, block: {:?} }}",
            self.chunking,
            ByteStr(&self.block)
        )
    }
}

/// `metadata`: one of the values gRPC gives meaning to inside metadata.
///
/// Layout: `[which % 9: 1]` then: `0` `grpc-timeout` text, `1` a duration to format
/// (`[secs: 8][nanos: 4]`, little-endian), `2` one `-bin` value, `3` a `-bin` header of
/// comma-separated values, `4` `grpc-message` text to decode, `5` a message to encode (the rest,
/// as UTF-8 with invalid bytes replaced), `6` a `content-type`, `7` `grpc-status` text, `8` a
/// status to carry in a trailer frame (`[code % 17: 1][len: 1][message][details: the rest]`, the
/// message trimmed of spaces at both ends).
#[derive(Clone, PartialEq, Eq)]
pub enum MetadataInput {
    /// `grpc-timeout` text.
    Timeout(Vec<u8>),
    /// A duration to format as `grpc-timeout`.
    Duration(Duration),
    /// One `-bin` value.
    BinaryValue(Vec<u8>),
    /// A `-bin` header value, possibly several values joined by commas.
    BinaryValues(Vec<u8>),
    /// `grpc-message` text to decode.
    PercentDecode(Vec<u8>),
    /// A message to percent-encode.
    PercentEncode(String),
    /// A `content-type` value.
    ContentType(Vec<u8>),
    /// `grpc-status` text.
    Code(Vec<u8>),
    /// A status to send in a trailer frame and read back.
    Status {
        /// The code, 0 to 16.
        code: i32,
        /// The message.
        message: String,
        /// The details.
        details: Vec<u8>,
    },
}

impl FuzzInput for MetadataInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        let which = reader.byte() % 9;
        let mut rest = || reader.rest().to_vec();
        match which {
            0 => MetadataInput::Timeout(rest()),
            1 => {
                let secs = reader.u64();
                let nanos = reader.u32() % 1_000_000_000;
                MetadataInput::Duration(Duration::new(secs, nanos))
            }
            2 => MetadataInput::BinaryValue(rest()),
            3 => MetadataInput::BinaryValues(rest()),
            4 => MetadataInput::PercentDecode(rest()),
            5 => MetadataInput::PercentEncode(String::from_utf8_lossy(&rest()).into_owned()),
            6 => MetadataInput::ContentType(rest()),
            7 => MetadataInput::Code(rest()),
            _ => {
                let code = i32::from(reader.byte() % 17);
                let message = String::from_utf8_lossy(reader.short_bytes()).into_owned();
                MetadataInput::Status {
                    code,
                    message,
                    details: reader.rest().to_vec(),
                }
            }
        }
    }

    /// The matching check in [`check`].
    fn check(&self) {
        match self {
            MetadataInput::Timeout(value) => check::check_timeout_text(value),
            MetadataInput::Duration(duration) => check::check_timeout_duration(*duration),
            MetadataInput::BinaryValue(value) => check::check_binary_value(value),
            MetadataInput::BinaryValues(value) => check::check_binary_values(value),
            MetadataInput::PercentDecode(value) => check::check_percent_decode(value),
            MetadataInput::PercentEncode(message) => check::check_percent_encode(message),
            MetadataInput::ContentType(value) => check::check_content_type(value),
            MetadataInput::Code(value) => check::check_code_text(value),
            MetadataInput::Status {
                code,
                message,
                details,
            } => {
                let status = Status::new(Code::from_i32(*code), message.clone())
                    .with_details(Bytes::copy_from_slice(details));
                check::check_status(&status, &[Chunking::Whole, Chunking::EveryByte]);
            }
        }
    }
}

impl fmt::Debug for MetadataInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = |f: &mut fmt::Formatter<'_>, variant: &str, value: &[u8]| {
            write!(f, "MetadataInput::{variant}({:?})", ByteStr(value))
        };
        match self {
            MetadataInput::Timeout(v) => bytes(f, "Timeout", v),
            MetadataInput::Duration(d) => write!(
                f,
                "MetadataInput::Duration(Duration::new({}, {}))",
                d.as_secs(),
                d.subsec_nanos()
            ),
            MetadataInput::BinaryValue(v) => bytes(f, "BinaryValue", v),
            MetadataInput::BinaryValues(v) => bytes(f, "BinaryValues", v),
            MetadataInput::PercentDecode(v) => bytes(f, "PercentDecode", v),
            MetadataInput::PercentEncode(m) => {
                write!(f, "MetadataInput::PercentEncode({m:?}.to_string())")
            }
            MetadataInput::ContentType(v) => bytes(f, "ContentType", v),
            MetadataInput::Code(v) => bytes(f, "Code", v),
            MetadataInput::Status {
                code,
                message,
                details,
            } => write!(
                f,
                "MetadataInput::Status {{ code: {code}, message: {message:?}.to_string(), details: {:?} }}",
                ByteStr(details)
            ),
        }
    }
}

/// `gzip`: `grpc-encoding: gzip` payloads, decompressed under a limit.
///
/// Layout: `[limit: 1][mode % 2: 1][data: the rest]`; mode `0` decompresses the data as it is,
/// mode `1` compresses it first (a valid member, so the limit is what stops it).
#[derive(Clone, PartialEq, Eq)]
pub struct GzipInput {
    /// The decompression limit.
    pub limit: Limit,
    /// Whether `data` is compressed first.
    pub compress_first: bool,
    /// The payload.
    pub data: Vec<u8>,
}

impl FuzzInput for GzipInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        Self {
            limit: Limit::read(&mut reader),
            compress_first: reader.byte() % 2 == 1,
            data: reader.rest().to_vec(),
        }
    }

    /// [`check::check_gzip_round_trip`] or [`check::check_gzip_decompress`].
    fn check(&self) {
        if self.compress_first {
            check::check_gzip_round_trip(&self.data, self.limit.bytes());
        } else {
            check::check_gzip_decompress(&self.data, self.limit.bytes());
        }
    }
}

impl fmt::Debug for GzipInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GzipInput {{ limit: {:?}, compress_first: {}, data: {:?} }}",
            self.limit,
            self.compress_first,
            ByteStr(&self.data)
        )
    }
}

/// What a [`Base64Input`] does with its data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Base64Mode {
    /// Decode the data as base64 text.
    Decode,
    /// Encode the data.
    Encode,
    /// Send the data as a gRPC-Web-text frame stream.
    WebText,
}

/// `base64_stream`: streaming base64, differential against the `base64` crate.
///
/// Layout: `[mode % 3: 1][chunking][second chunking][data: the rest]`. Mode `0` decodes the data
/// as text cut by the first chunking; `1` encodes it cut by the first chunking (and decodes it
/// back, each chunk a padded segment); `2` reads it as a frame stream (limit 1 KiB) sent as
/// gRPC-Web-text, padded segments cut by the first chunking, the text cut by the second.
#[derive(Clone, PartialEq, Eq)]
pub struct Base64Input {
    /// What to do.
    pub mode: Base64Mode,
    /// How the data is cut.
    pub chunking: Chunking,
    /// How the text is cut on the way (`WebText` only).
    pub transport: Chunking,
    /// The data.
    pub data: Vec<u8>,
}

impl FuzzInput for Base64Input {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        let mode = match reader.byte() % 3 {
            0 => Base64Mode::Decode,
            1 => Base64Mode::Encode,
            _ => Base64Mode::WebText,
        };
        Self {
            mode,
            chunking: Chunking::read(&mut reader),
            transport: Chunking::read(&mut reader),
            data: reader.rest().to_vec(),
        }
    }

    /// [`check::check_base64_decode`], [`check::check_base64_encode`] or
    /// [`check::check_web_text`].
    fn check(&self) {
        match self.mode {
            Base64Mode::Decode => check::check_base64_decode(&self.data, &self.chunking),
            Base64Mode::Encode => check::check_base64_encode(&self.data, &self.chunking),
            Base64Mode::WebText => {
                check::check_web_text(&self.data, 1024, &self.chunking, &self.transport)
            }
        }
    }
}

impl fmt::Debug for Base64Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Base64Input {{ mode: Base64Mode::{:?}, chunking: {:?}, transport: {:?}, data: {:?} }}",
            self.mode,
            self.chunking,
            self.transport,
            ByteStr(&self.data)
        )
    }
}
