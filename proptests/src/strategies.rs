//! proptest strategies: messages, frames, trailer blocks, metadata, statuses and chunkings.
//!
//! Sizes are kept small so a suite of a few hundred cases runs in seconds in a debug build; the
//! limits they are tested against are small too, so "over the limit" is reached often.

use std::time::Duration;

use bytes::Bytes;
use grpc_lambda_core::{Code, Frame, Metadata, Status};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::chunking::Chunking;

/// A proptest configuration running `cases` cases, unless `PROPTEST_CASES` says otherwise.
pub fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// A message payload: mostly short, sometimes a few KiB.
pub fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..48),
        1 => vec(any::<u8>(), 0..3000),
    ]
    .prop_map(Bytes::from)
}

/// A frame: a message, a compressed message, or a trailer frame with a valid block.
pub fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        3 => payload().prop_map(Frame::message),
        1 => payload().prop_map(Frame::compressed_message),
        1 => metadata().prop_map(|md| {
            let mut block = Vec::new();
            grpc_lambda_core::trailers::encode(&md, &mut block);
            Frame::trailers_block(block.into())
        }),
    ]
}

/// A few frames.
pub fn frames() -> impl Strategy<Value = Vec<Frame>> {
    vec(frame(), 0..6)
}

/// A message limit: small ones, so that frames pass them, and gRPC's default.
pub fn limit() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(16),
        Just(100),
        Just(1024),
        Just(grpc_lambda_core::DEFAULT_MAX_MESSAGE_LEN),
        0usize..4096,
    ]
}

/// A way to cut a stream: every kind, with small sizes.
pub fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        Just(Chunking::EveryByte),
        (1usize..16).prop_map(Chunking::Fixed),
        vec(0usize..24, 1..8).prop_map(Chunking::Sizes),
        any::<u64>().prop_map(Chunking::Seeded),
    ]
}

/// Several ways to cut a stream.
pub fn chunkings() -> impl Strategy<Value = Vec<Chunking>> {
    vec(chunking(), 1..4)
}

/// A metadata name: `0-9 a-z _ - .`, lower case as `Metadata` keeps it.
pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("grpc-status".to_string()),
        Just("grpc-message".to_string()),
        Just("grpc-status-details-bin".to_string()),
        "[0-9a-z_.-]{1,16}",
        "[a-z]{1,8}-bin",
    ]
}

/// A metadata value that survives a trailer block unchanged: printable ASCII, tab and obs-text
/// bytes, not starting or ending with whitespace (a trailer reader trims it, as HTTP does).
pub fn value() -> impl Strategy<Value = Bytes> {
    let byte = prop_oneof![
        8 => 0x21u8..=0x7e,
        1 => Just(b' '),
        1 => Just(b'\t'),
        1 => 0x80u8..=0xff,
    ];
    vec(byte, 0..24).prop_map(|mut value| {
        while value.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
            value.pop();
        }
        while value.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            value.remove(0);
        }
        Bytes::from(value)
    })
}

/// Metadata with up to 8 entries, names possibly repeated.
pub fn metadata() -> impl Strategy<Value = Metadata> {
    vec((name(), value()), 0..8).prop_map(|entries| {
        let mut md = Metadata::new();
        for (name, value) in entries {
            md.append(&name, value)
                .expect("generated entries are valid");
        }
        md
    })
}

/// A trailer block as a peer might write it: the canonical form with upper-case names, bare LF
/// line ends, blank lines, whitespace around values, and a missing final line end mixed in.
pub fn lenient_block() -> impl Strategy<Value = (Metadata, Bytes)> {
    (
        metadata(),
        vec((any::<bool>(), any::<bool>(), 0usize..3, 0usize..3), 8),
        any::<bool>(),
    )
        .prop_map(|(md, styles, final_line_end)| {
            let mut block = Vec::new();
            let count = md.len();
            for (i, ((name, value), (upper, lf_only, spaces, blank))) in
                md.iter_bytes().zip(styles).enumerate()
            {
                for _ in 0..blank {
                    block.extend_from_slice(b"\r\n");
                }
                if upper {
                    block.extend(name.to_ascii_uppercase());
                } else {
                    block.extend_from_slice(name);
                }
                block.extend_from_slice(b":");
                block.extend(std::iter::repeat_n(b' ', spaces));
                block.extend_from_slice(value);
                block.extend(std::iter::repeat_n(b'\t', spaces % 2));
                let last = i + 1 == count;
                if !last || final_line_end {
                    block.extend_from_slice(if lf_only { b"\n" } else { b"\r\n" });
                }
            }
            (md, Bytes::from(block))
        })
}

/// A status code, one of the 17.
pub fn code() -> impl Strategy<Value = Code> {
    (0i32..17).prop_map(Code::from_i32)
}

/// A status: any code, any text as message, any bytes as details.
///
/// The message never starts or ends with a space: the core sends those spaces unencoded and a
/// trailer reader trims them (`status_message_edge_spaces` in the regression tests, ignored until
/// the core percent-encodes them).
pub fn status() -> impl Strategy<Value = Status> {
    (code(), any::<String>(), vec(any::<u8>(), 0..32)).prop_map(|(code, message, details)| {
        Status::new(code, message).with_details(Bytes::from(details))
    })
}

/// A duration across every `grpc-timeout` unit's range, and past the largest.
pub fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..100_000_000).prop_map(Duration::from_nanos),
        (0u64..100_000_000).prop_map(Duration::from_micros),
        (0u64..100_000_000).prop_map(Duration::from_millis),
        (0u64..100_000_000).prop_map(Duration::from_secs),
        (0u64..100_000_000 * 3600, 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| Duration::new(secs, nanos)),
        any::<(u64, u32)>().prop_map(|(secs, nanos)| Duration::new(secs, nanos % 1_000_000_000)),
    ]
}

/// A `grpc-timeout` value as the grammar writes it.
pub fn timeout_text() -> impl Strategy<Value = String> {
    "[0-9]{1,8}[HMSmun]"
}

/// Bytes that are nearly a `grpc-timeout`: digits, units and a few other bytes, any length.
pub fn timeout_like() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            4 => b'0'..=b'9',
            2 => prop::sample::select(b"HMSmun".to_vec()),
            1 => any::<u8>(),
        ],
        0..12,
    )
}

/// Bytes that are nearly base64: the alphabet, padding, and a few others, any length.
pub fn base64_like() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            16 => prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()
            ),
            2 => Just(b'='),
            1 => prop::sample::select(b" ,\t-_\r\n.".to_vec()),
            1 => any::<u8>(),
        ],
        0..40,
    )
}

/// A `content-type` as clients send it, in any case, with or without a codec and parameters, and
/// near misses.
pub fn content_type_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "application/grpc",
            "application/grpc-web",
            "application/grpc-web-text",
            "application/json",
            "text/grpc",
            "application/grpc-webtext",
            "",
        ]),
        prop::sample::select(vec!["", "+proto", "+json", "+PROTO", "+", "+proto+x"]),
        prop::sample::select(vec!["", "; charset=utf-8", ";", " ; q=1"]),
        prop::sample::select(vec!["", " ", "\t"]),
        vec(any::<bool>(), 32),
    )
        .prop_map(|(media, codec, params, pad, upper)| {
            let text: String = format!("{media}{codec}")
                .chars()
                .zip(upper.into_iter().cycle())
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            format!("{pad}{text}{pad}{params}")
        })
}

/// A stream a decoder might be handed: valid frames, then damaged in one of a few ways (a byte
/// changed, cut short, garbage appended, a header announcing a huge length), or left alone.
pub fn stream() -> impl Strategy<Value = Bytes> {
    (
        frames(),
        0usize..5,
        any::<prop::sample::Index>(),
        any::<u8>(),
        vec(any::<u8>(), 0..12),
    )
        .prop_map(|(frames, damage, at, byte, garbage)| {
            let mut wire = bytes::BytesMut::new();
            for frame in &frames {
                grpc_lambda_core::FrameEncoder::new()
                    .encode_frame(frame, &mut wire)
                    .expect("small frames");
            }
            let mut wire = wire.to_vec();
            match damage {
                1 if !wire.is_empty() => {
                    let i = at.index(wire.len());
                    wire[i] = byte;
                }
                2 => wire.truncate(at.index(wire.len() + 1)),
                3 => wire.extend(garbage),
                4 => wire.extend([byte & 0x81, 0xff, 0xff, 0xff, byte]),
                _ => {}
            }
            Bytes::from(wire)
        })
}
