//! Streaming base64 equals the `base64` crate under every chunking: encoding, decoding, padded
//! segments back to back as gRPC-Web-text sends them, and a frame stream carried that way.

use grpc_lambda_proptests::check::{check_base64_decode, check_base64_encode, check_web_text};
use grpc_lambda_proptests::strategies::{base64_like, chunking, config, stream};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(512))]

    /// Any bytes encode as the `base64` crate encodes them, whole or streamed, and decode back,
    /// each chunk a padded segment.
    #[test]
    fn encoding_equals_the_base64_crate(data in vec(any::<u8>(), 0..300), chunking in chunking()) {
        check_base64_encode(&data, &chunking);
    }

    /// Near-base64 decodes exactly when the `base64` crate decodes it, to the same bytes, with the
    /// same error whole or streamed.
    #[test]
    fn decoding_equals_the_base64_crate(text in base64_like(), chunking in chunking()) {
        check_base64_decode(&text, &chunking);
    }

    /// Valid text, then one byte changed: the error is found wherever the cuts fall.
    #[test]
    fn damaged_text_fails_the_same_under_every_chunking(
        data in vec(any::<u8>(), 1..64),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"=A/+ -_\x00\n".to_vec()),
        chunking in chunking(),
    ) {
        let mut text = grpc_lambda_core::base64::encode(&data).to_vec();
        let i = at.index(text.len());
        text[i] = byte;
        check_base64_decode(&text, &chunking);
    }

    /// A frame stream sent as gRPC-Web-text, in segments and in pieces, decodes to the frames
    /// read from the binary stream.
    #[test]
    fn web_text_carries_frames_unchanged(
        stream in stream(),
        segments in chunking(),
        transport in chunking(),
    ) {
        check_web_text(&stream, 1 << 20, &segments, &transport);
    }
}
