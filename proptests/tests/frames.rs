//! Frames: encode → decode round trips, encoded length equals bytes written, any split of any input
//! gives the same frames and errors as one chunk and as the reference reader, and anything over a
//! limit is an error, never a partial success.

use bytes::Bytes;
use grpc_lambda_core::{DecodeError, FrameDecoder, HEADER_LEN};
use grpc_lambda_proptests::check::{check_decoder, check_encoded_stream, check_frames, FrameSpec};
use grpc_lambda_proptests::chunking::Chunking;
use grpc_lambda_proptests::strategies::{self, chunking, chunkings, config, frames, limit, stream};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(512))]

    /// Frames within the limit come back as they went, however the stream is cut; the encoder
    /// writes exactly `encoded_len` bytes per frame.
    #[test]
    fn encode_then_decode_round_trips(frames in frames(), chunkings in chunkings()) {
        check_frames(&frames, grpc_lambda_core::DEFAULT_MAX_MESSAGE_LEN, &chunkings);
    }

    /// Any stream, valid or damaged, decodes under any chunking to what it decodes to in one
    /// chunk and to what the reference reader reads, with the same error at the same offset.
    #[test]
    fn any_split_gives_the_same_frames(stream in stream(), limit in limit(), chunking in chunking()) {
        check_decoder(&stream, limit, &chunking);
    }

    /// Raw bytes, too.
    #[test]
    fn any_bytes_decode_the_same_under_any_split(
        stream in proptest::collection::vec(any::<u8>(), 0..64),
        limit in limit(),
        chunking in chunking(),
    ) {
        check_decoder(&Bytes::from(stream), limit, &chunking);
    }

    /// Every prefix of a valid stream yields its whole frames and then "need more": `finish`
    /// names the cut frame, never a wrong one.
    #[test]
    fn every_prefix_needs_more(frames in frames(), cut in any::<prop::sample::Index>(), chunking in chunking()) {
        let wire = check_frames(&frames, usize::MAX, &[Chunking::Whole]);
        let prefix = wire.slice(..cut.index(wire.len() + 1));
        check_decoder(&prefix, usize::MAX, &chunking);
    }

    /// Over a limit, the encoder refuses a message and writes nothing; the decoder refuses a frame
    /// (a trailer frame too) at its header and returns nothing of it, even when all of it arrived.
    #[test]
    fn over_the_limit_is_an_error_never_a_partial_success(
        frames in frames(),
        limit in prop_oneof![Just(0usize), 1usize..64],
        chunking in chunking(),
    ) {
        let specs: Vec<FrameSpec> = frames
            .iter()
            .map(|frame| {
                let payload = frame.payload().to_vec();
                if frame.is_trailers() {
                    let md = frame.trailers().expect("generated blocks are valid");
                    FrameSpec::Trailers(
                        md.iter_bytes().map(|(n, v)| (n.to_vec(), v.to_vec())).collect(),
                    )
                } else if frame.is_compressed() {
                    FrameSpec::Compressed(payload)
                } else {
                    FrameSpec::Message(payload)
                }
            })
            .collect();
        check_encoded_stream(&specs, limit, &chunking);
    }

    /// A header announcing more than the limit fails at once, at every split of the header, with
    /// only the header received; and keeps failing.
    #[test]
    fn a_large_header_fails_before_its_payload(
        len in 1u32..,
        limit in 0usize..65536,
        split in 0usize..=HEADER_LEN,
    ) {
        prop_assume!(u64::from(len) > limit as u64);
        let header = Bytes::copy_from_slice(&[&[0u8][..], &len.to_be_bytes()].concat());
        let mut decoder = FrameDecoder::with_max_message_len(limit);
        decoder.push(header.slice(..split));
        let err = DecodeError::MessageTooLarge { len, max: limit, offset: 0 };
        let first = decoder.decode();
        if split < HEADER_LEN {
            prop_assert_eq!(first, Ok(None));
        } else {
            prop_assert_eq!(first, Err(err.clone()));
        }
        decoder.push(header.slice(split..));
        prop_assert_eq!(decoder.decode(), Err(err.clone()));
        decoder.push(Bytes::from(vec![0u8; 32]));
        prop_assert_eq!(decoder.decode(), Err(err.clone()));
        prop_assert_eq!(decoder.finish(), Err(err));
    }
}

#[test]
fn filled_frames_pass_a_64_kib_limit() {
    let specs = [
        FrameSpec::Filled {
            len: 64 * 1024,
            byte: 1,
        },
        FrameSpec::Filled {
            len: 64 * 1024 + 1,
            byte: 2,
        },
        FrameSpec::Message(b"after".to_vec()),
    ];
    for chunking in Chunking::standard_set() {
        check_encoded_stream(&specs, 64 * 1024, &chunking);
    }
}

#[test]
fn strategies_reach_every_frame_kind() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut kinds = [false; 3];
    for _ in 0..200 {
        for frame in strategies::frames()
            .new_tree(&mut runner)
            .unwrap()
            .current()
        {
            kinds[usize::from(frame.is_compressed()) + 2 * usize::from(frame.is_trailers())] = true;
        }
    }
    assert_eq!(kinds, [true; 3]);
}
