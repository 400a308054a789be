//! gRPC-Web trailer blocks: they round-trip in a trailer frame under every chunking, a block as a
//! lenient peer writes it reads as the canonical one, any bytes read as the reference reader reads
//! them, and a status survives the frame that carries it.

use bytes::Bytes;
use grpc_lambda_core::trailers;
use grpc_lambda_proptests::check::{
    check_metadata_round_trip, check_status, check_trailer_block, entries_of,
};
use grpc_lambda_proptests::strategies::{
    chunking, chunkings, config, lenient_block, metadata, status,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Bytes that are nearly a trailer block: names, colons, spaces, line ends and a few others.
fn block_like() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            8 => prop::sample::select(b"abcxyz019-_.".to_vec()),
            2 => prop::sample::select(b"ABZ".to_vec()),
            3 => Just(b':'),
            3 => Just(b' '),
            1 => Just(b'\t'),
            3 => Just(b'\n'),
            3 => Just(b'\r'),
            1 => any::<u8>(),
        ],
        0..64,
    )
}

proptest! {
    #![proptest_config(config(512))]

    /// Metadata in a trailer frame reads back the same, however the frame is cut.
    #[test]
    fn trailer_blocks_round_trip_under_every_chunking(md in metadata(), chunkings in chunkings()) {
        check_metadata_round_trip(&md, &chunkings);
    }

    /// Upper-case names, bare LF, blank lines, spaces around values and no final line end read as
    /// the canonical block reads, alone and in a frame cut anywhere.
    #[test]
    fn a_lenient_block_reads_as_the_canonical_one(
        (md, block) in lenient_block(),
        chunking in chunking(),
    ) {
        let read = trailers::decode(&block).expect("a lenient block is valid");
        prop_assert_eq!(entries_of(&read), entries_of(&md));
        check_trailer_block(&block, &chunking);
    }

    /// Any bytes read exactly as the reference reader reads them: the same entries, or the same
    /// error on the same line.
    #[test]
    fn any_block_reads_as_the_reference_reads_it(block in block_like(), chunking in chunking()) {
        check_trailer_block(&Bytes::from(block), &chunking);
    }

    /// Any code, any message (percent-encoded on the way), any details (base64 on the way).
    #[test]
    fn a_status_survives_its_trailer_frame(status in status(), chunkings in chunkings()) {
        check_status(&status, &chunkings);
    }
}
