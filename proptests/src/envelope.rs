//! Each protocol's envelope: a frame whose flag one protocol allows and another does not is read
//! by the first and refused by the second, however the stream is cut; and the Connect GET query
//! reader, which never allocates past its message limit.

use std::fmt;

use bytes::Bytes;
use grpc_lambda_core::decode::frames_in;
use grpc_lambda_core::{DecodeError, Envelope};
use grpc_lambda_protocol::connect::{parse_get_query, QueryError};

use crate::check::{check_counter_in, decode_chunks_in, ByteStr, Take, ALLOCATION_SLACK};
use crate::chunking::{Chunking, Reader};
use crate::counting_alloc::largest_allocation;
use crate::fuzz_checks::{FuzzInput, Limit};
use crate::model;

/// What a decoder reading `envelope` must get right on any input, however it is cut: the same
/// frames and error as the reference reader, by every way of taking frames out (owned, lent,
/// alternating, and [`frames_in`] over the whole stream), and a `FrameCounter` reading the
/// same envelope counting the same; only `envelope`'s flags on what it returns; no allocation past the limit (plus [`ALLOCATION_SLACK`]).
pub fn check_decoder_in(
    stream: &Bytes,
    max_message_len: usize,
    chunking: &Chunking,
    envelope: Envelope,
) {
    let expected = model::frames_in(stream, max_message_len, Some(envelope));
    let chunks = chunking.cut(stream);
    let bound = max_message_len.saturating_add(ALLOCATION_SLACK);
    for (chunks, name) in [
        (std::slice::from_ref(stream), "whole"),
        (&chunks[..], "cut"),
    ] {
        for take in [Take::Owned, Take::Lent, Take::Alternating] {
            let (decoded, largest) =
                decode_chunks_in(chunks, max_message_len, take, Some(envelope));
            assert_eq!(
                decoded, expected,
                "{envelope}, {name}, {take:?}, {chunking:?} of {stream:?}"
            );
            if let Some(largest) = largest {
                assert!(
                    largest <= bound,
                    "largest allocation {largest} bytes, limit {max_message_len}"
                );
            }
        }
    }
    check_counter_in(&chunks, max_message_len, &expected, Some(envelope));
    let mut lent = frames_in(stream, max_message_len, envelope);
    for frame in &expected.frames {
        let read = lent.next().expect("a frame").expect("no error");
        assert_eq!(read.to_frame(), *frame);
    }
    let error = lent
        .next()
        .map(|read| read.expect_err("only an error after the frames"));
    assert_eq!(error, expected.error, "frames_in, {envelope}");
    for frame in &expected.frames {
        assert!(model::allowed_flags(Some(envelope)).contains(&frame.flags()));
        assert_eq!(frame.is_end_stream(), frame.flags() & 0x02 != 0);
    }
}

/// What each envelope makes of one stream, decoded whole: a stream whose frames carry only flags
/// of every protocol reads the same in all; the first frame with a flag one protocol lacks stops
/// that protocol there, with the flag, the protocol and the frame's offset named.
pub fn check_each_protocol_reads_only_its_flags(stream: &Bytes, max_message_len: usize) {
    for envelope in Envelope::ALL {
        let expected = model::frames_in(stream, max_message_len, Some(envelope));
        let (decoded, _) = decode_chunks_in(
            std::slice::from_ref(stream),
            max_message_len,
            Take::Owned,
            Some(envelope),
        );
        assert_eq!(decoded, expected, "{envelope}");
        if let Some(DecodeError::FlagNotAllowed {
            flags,
            envelope: named,
            ..
        }) = decoded.error
        {
            assert_eq!(named, envelope);
            assert!(!model::allowed_flags(Some(envelope)).contains(&flags));
            let text = DecodeError::FlagNotAllowed {
                flags,
                envelope,
                offset: 0,
            }
            .to_string();
            assert!(text.contains(envelope.name()), "{text}");
            assert!(text.contains(&format!("0x{flags:02x}")), "{text}");
        }
    }
}

/// `envelope`: raw bytes into a decoder reading one protocol's envelope, with a limit, in chunks.
///
/// Layout: `[envelope: byte % 3 = gRPC, gRPC-Web, Connect][limit: 1][chunking][stream: the rest]`.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvelopeInput {
    /// The envelope the decoder reads.
    pub envelope: Envelope,
    /// The decoder's message limit.
    pub limit: Limit,
    /// How the stream is cut.
    pub chunking: Chunking,
    /// The stream.
    pub stream: Vec<u8>,
}

impl FuzzInput for EnvelopeInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        let envelope = match reader.byte() % 3 {
            0 => Envelope::Grpc,
            1 => Envelope::GrpcWeb,
            _ => Envelope::Connect,
        };
        Self {
            envelope,
            limit: Limit::read(&mut reader),
            chunking: Chunking::read(&mut reader),
            stream: reader.rest().to_vec(),
        }
    }

    /// [`check_decoder_in`], then [`check_each_protocol_reads_only_its_flags`].
    fn check(&self) {
        let stream = Bytes::copy_from_slice(&self.stream);
        check_decoder_in(&stream, self.limit.bytes(), &self.chunking, self.envelope);
        check_each_protocol_reads_only_its_flags(&stream, self.limit.bytes());
    }
}

impl fmt::Debug for EnvelopeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EnvelopeInput {{ envelope: Envelope::{:?}, limit: {:?}, chunking: {:?}, stream: {:?} }}",
            self.envelope,
            self.limit,
            self.chunking,
            ByteStr(&self.stream)
        )
    }
}

/// What the Connect GET query reader must get right on any query: no panic; a message it
/// returns is within the limit; one over the limit is refused with both numbers; no allocation
/// past the limit, plus [`ALLOCATION_SLACK`] and a short parameter's longest copy.
pub fn check_get_query(query: &str, max_message_len: usize) {
    let (result, largest) = largest_allocation(|| parse_get_query(query, max_message_len));
    match &result {
        Ok(get) => assert!(get.message.len() <= max_message_len),
        Err(QueryError::MessageTooLarge { len, max }) => {
            assert!(*len > *max && *max == max_message_len);
        }
        Err(_) => {}
    }
    if let Some(largest) = largest {
        // An error's text quotes a short value cut, so it stays small whatever the query.
        let bound = max_message_len.saturating_add(ALLOCATION_SLACK);
        assert!(
            largest <= bound,
            "largest allocation {largest} bytes, limit {max_message_len}: {result:?}"
        );
    }
}

/// `connect_get`: a query string into the Connect GET reader with a limit.
///
/// Layout: `[limit: 1][query: the rest, read as UTF-8 lossily]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectGetInput {
    /// The message limit.
    pub limit: Limit,
    /// The query, without `?`.
    pub query: String,
}

impl FuzzInput for ConnectGetInput {
    fn read(data: &[u8]) -> Self {
        let mut reader = Reader::new(data);
        Self {
            limit: Limit::read(&mut reader),
            query: String::from_utf8_lossy(reader.rest()).into_owned(),
        }
    }

    /// [`check_get_query`].
    fn check(&self) {
        check_get_query(&self.query, self.limit.bytes());
    }
}

impl fmt::Debug for ConnectGetInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConnectGetInput {{ limit: {:?}, query: {:?}.into() }}",
            self.limit, self.query
        )
    }
}
