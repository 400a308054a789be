//! Each protocol's envelope flags, the Connect and Twirp error JSON, and the Connect GET query:
//! a frame with a flag one protocol allows and another does not is read by the first and refused
//! by the second; frames of each protocol round-trip; error bodies and queries round-trip; nothing
//! is read past a limit.

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::status::TwirpCode;
use grpc_lambda_core::{
    Code, DecodeError, Envelope, Frame, FrameDecoder, FrameEncoder, Metadata, HEADER_LEN,
};
use grpc_lambda_proptests::counting_alloc::{self, CountingAllocator};
use grpc_lambda_proptests::envelope::{check_decoder_in, check_each_protocol_reads_only_its_flags};
use grpc_lambda_proptests::model;
use grpc_lambda_proptests::strategies::{chunking, config, limit, name};
use grpc_lambda_protocol::connect::{parse_get_query, GetCompression, QueryError};
use grpc_lambda_protocol::json::{
    connect_end_stream_json, connect_error_json, read_connect_end_stream, read_connect_error,
    read_twirp_error, status_with_details, twirp_error_json, ErrorDetail,
};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn allocations_are_measured() {
    assert!(counting_alloc::is_installed());
}

/// Every flags byte some protocol defines.
const DEFINED: [u8; 6] = [0x00, 0x01, 0x02, 0x03, 0x80, 0x81];

fn envelope() -> impl Strategy<Value = Envelope> {
    prop::sample::select(Envelope::ALL.to_vec())
}

/// Frames with any defined flags, as `(flags, payload)`.
fn flagged_frames() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop::sample::select(DEFINED.to_vec()),
            prop::collection::vec(any::<u8>(), 0..24),
        ),
        0..6,
    )
}

fn wire(frames: &[(u8, Vec<u8>)]) -> Bytes {
    let mut out = BytesMut::new();
    for (flags, payload) in frames {
        out.extend_from_slice(&[*flags]);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.freeze()
}

/// A code Connect names (every code but OK).
fn error_code() -> impl Strategy<Value = Code> {
    prop::sample::select(Code::ALL[1..].to_vec())
}

fn details() -> impl Strategy<Value = Vec<ErrorDetail>> {
    prop::collection::vec(
        (
            "[a-z]{1,8}(\\.[A-Z][a-zA-Z]{0,8}){1,2}",
            prop::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(type_name, value)| ErrorDetail { type_name, value }),
        0..3,
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// A frame whose flag envelope A allows and B does not: A reads it, B refuses it at its
    /// offset naming the flag and B; every frame before it reads the same in both.
    #[test]
    fn a_flag_is_read_only_in_its_own_protocol(
        frames in flagged_frames(),
        chunking in chunking(),
    ) {
        let stream = wire(&frames);
        check_each_protocol_reads_only_its_flags(&stream, 64);
        for envelope in Envelope::ALL {
            let allowed = model::allowed_flags(Some(envelope));
            let mut decoder = FrameDecoder::new().with_envelope(envelope);
            for chunk in chunking.cut(&stream) {
                decoder.push(chunk);
            }
            let mut offset = 0u64;
            for (flags, payload) in &frames {
                let read = decoder.decode();
                if allowed.contains(flags) {
                    let frame = read.unwrap().unwrap();
                    prop_assert_eq!(frame.flags(), *flags);
                    prop_assert_eq!(&frame.payload()[..], &payload[..]);
                    offset += (HEADER_LEN + payload.len()) as u64;
                } else {
                    prop_assert_eq!(
                        read,
                        Err(DecodeError::FlagNotAllowed { flags: *flags, envelope, offset })
                    );
                    break;
                }
            }
        }
    }

    /// Any stream, in any envelope, cut any way: as the reference reader reads it.
    #[test]
    fn any_stream_decodes_as_the_reference_in_each_envelope(
        frames in flagged_frames(),
        tail in prop::collection::vec(any::<u8>(), 0..12),
        envelope in envelope(),
        limit in limit(),
        chunking in chunking(),
    ) {
        let mut stream = wire(&frames).to_vec();
        stream.extend_from_slice(&tail);
        check_decoder_in(&Bytes::from(stream), limit, &chunking, envelope);
    }

    /// Connect streaming frames (messages, compressed ones, the end-stream message) encode and
    /// decode back, and the end-stream payload reads as the status and trailers it was written from.
    #[test]
    fn connect_streams_round_trip(
        messages in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..32)), 0..4),
        code in prop::option::of(error_code()),
        message in ".{0,24}",
        trailers in prop::collection::vec((name(), "[ -~]{0,12}"), 0..4),
        chunking in chunking(),
    ) {
        let encoder = FrameEncoder::new();
        let mut body = BytesMut::new();
        for (compressed, payload) in &messages {
            if *compressed {
                encoder.encode_compressed(payload, &mut body).unwrap();
            } else {
                encoder.encode_message(payload, &mut body).unwrap();
            }
        }
        let status = match code {
            Some(code) => grpc_lambda_core::Status::new(code, message),
            None => grpc_lambda_core::Status::ok(),
        };
        let mut metadata = Metadata::new();
        for (name, value) in &trailers {
            let value = value.trim().to_owned();
            if name.starts_with("grpc-") || name.ends_with("-bin") {
                continue;
            }
            metadata.append(name, value).unwrap();
        }
        let end = connect_end_stream_json(&status, &metadata);
        encoder.encode_end_stream(&end, &mut body).unwrap();
        let body = body.freeze();

        let mut decoder = FrameDecoder::new().with_envelope(Envelope::Connect);
        for chunk in chunking.cut(&body) {
            decoder.push(chunk);
        }
        for (compressed, payload) in &messages {
            let frame = decoder.decode().unwrap().unwrap();
            prop_assert_eq!(frame.is_compressed(), *compressed);
            prop_assert!(!frame.is_end_stream());
            prop_assert_eq!(&frame.payload()[..], &payload[..]);
        }
        let last: Frame = decoder.decode().unwrap().unwrap();
        prop_assert!(last.is_end_stream());
        prop_assert_eq!(decoder.decode(), Ok(None));
        decoder.finish().unwrap();
        let (read_status, read_trailers) = read_connect_end_stream(last.payload()).unwrap();
        prop_assert_eq!(read_status, status);
        let mut expected: Vec<(String, Vec<u8>)> =
            metadata.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect();
        let mut read: Vec<(String, Vec<u8>)> =
            read_trailers.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect();
        // The JSON object groups values by name, in name order; each name's values keep theirs.
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        read.sort_by(|a, b| a.0.cmp(&b.0));
        prop_assert_eq!(read, expected);
    }

    /// A Connect error body reads back as the status it was written from, details included.
    #[test]
    fn connect_errors_round_trip(code in error_code(), message in "\\PC{0,32}", details in details()) {
        let status = status_with_details(code, &message, details);
        let body = connect_error_json(&status);
        prop_assert_eq!(read_connect_error(&body).unwrap(), status);
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    }

    /// A Twirp error body reads back as written.
    #[test]
    fn twirp_errors_round_trip(
        code in prop::sample::select(TwirpCode::ALL.to_vec()),
        msg in "\\PC{0,32}",
        meta in prop::collection::btree_map("[a-z]{1,6}", "\\PC{0,8}", 0..4),
    ) {
        let body = twirp_error_json(code, &msg, meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let read = read_twirp_error(&body).unwrap();
        prop_assert_eq!(read.code, code);
        prop_assert_eq!(read.msg, msg);
        prop_assert_eq!(read.meta, meta.into_iter().collect::<Vec<_>>());
    }

    /// A message put in a Connect GET query, percent-encoded or base64url, comes back; over the
    /// limit it is refused with both numbers.
    #[test]
    fn get_queries_round_trip(
        message in prop::collection::vec(any::<u8>(), 0..2000),
        base64 in any::<bool>(),
        padded in any::<bool>(),
        json in any::<bool>(),
        gzip in any::<bool>(),
        limit in 0usize..2100,
    ) {
        use base64::Engine as _;
        let text = if base64 {
            let engine = if padded {
                base64::engine::general_purpose::URL_SAFE
            } else {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
            };
            engine.encode(&message).replace('=', "%3D")
        } else {
            message.iter().map(|b| format!("%{b:02X}")).collect()
        };
        let query = format!(
            "connect=v1&encoding={}&message={text}{}{}",
            if json { "json" } else { "proto" },
            if base64 { "&base64=1" } else { "" },
            if gzip { "&compression=gzip" } else { "" },
        );
        let read = parse_get_query(&query, limit);
        if message.len() > limit {
            prop_assert_eq!(read, Err(QueryError::MessageTooLarge { len: message.len(), max: limit }));
        } else {
            let read = read.unwrap();
            prop_assert_eq!(read.message, message);
            prop_assert_eq!(read.compression, if gzip { GetCompression::Gzip } else { GetCompression::Identity });
        }
    }

    /// Any query: no panic, nothing over the limit, no allocation past it.
    #[test]
    fn any_query_stays_within_its_limit(query in "[a-z0-9=&%+/_A-Z-]{0,200}", limit in 0usize..64) {
        grpc_lambda_proptests::envelope::check_get_query(&query, limit);
    }
}
