//! Values inside metadata: `grpc-timeout` and `grpc-message` percent-encoding round trips, `-bin`
//! values against the `base64` crate, content types and status codes against the reference, and
//! gzip held to its limit.

use grpc_lambda_proptests::check::{
    check_binary_encode, check_binary_value, check_binary_values, check_code_text,
    check_content_type, check_gzip_decompress, check_gzip_round_trip, check_percent_decode,
    check_percent_encode, check_timeout_duration, check_timeout_text,
};
use grpc_lambda_proptests::strategies::{
    base64_like, config, content_type_like, duration, timeout_like, timeout_text,
};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(1024))]

    /// Text in the grammar parses to what it says, and formats back to the same duration.
    #[test]
    fn grpc_timeout_text_round_trips(text in timeout_text()) {
        check_timeout_text(text.as_bytes());
    }

    /// Near misses are refused exactly when the reference refuses them.
    #[test]
    fn grpc_timeout_parses_as_the_reference(value in timeout_like()) {
        check_timeout_text(&value);
    }

    /// Any duration formats in the finest unit that fits, rounded up by less than one unit.
    #[test]
    fn grpc_timeout_formats_every_duration(duration in duration()) {
        check_timeout_duration(duration);
    }

    /// Any text percent-encodes to printable ASCII and decodes back.
    #[test]
    fn grpc_message_round_trips(message in any::<String>()) {
        check_percent_encode(&message);
    }

    /// Any bytes, `%` sprinkled in, decode as the reference decodes them, without failing.
    #[test]
    fn grpc_message_decodes_as_the_reference(
        value in vec(prop_oneof![3 => Just(b'%'), 3 => prop::sample::select(b"09afAFgz".to_vec()), 2 => any::<u8>()], 0..32),
    ) {
        check_percent_decode(&value);
    }

    /// Bytes encode to unpadded base64 as the `base64` crate does, and decode back.
    #[test]
    fn binary_values_round_trip(bytes in vec(any::<u8>(), 0..64)) {
        check_binary_encode(&bytes);
    }

    /// Near-base64 is accepted exactly when the `base64` crate accepts it, with the same bytes.
    #[test]
    fn binary_values_decode_as_the_base64_crate(value in base64_like()) {
        check_binary_value(&value);
        check_binary_values(&value);
    }

    /// Content types as clients send them, and near misses.
    #[test]
    fn content_types_parse_as_the_reference(value in content_type_like()) {
        check_content_type(value.as_bytes());
    }

    /// Any bytes as a content type.
    #[test]
    fn any_content_type_bytes_parse_as_the_reference(value in vec(any::<u8>(), 0..40)) {
        check_content_type(&value);
    }

    /// `grpc-status` is any decimal number, nothing else.
    #[test]
    fn status_codes_parse_decimal_only(value in vec(prop_oneof![3 => b'0'..=b'9', 1 => any::<u8>()], 0..12)) {
        check_code_text(&value);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// gzip: compressed data comes back within the limit and is refused past it, never truncated.
    #[test]
    fn gzip_round_trips_within_the_limit(data in vec(any::<u8>(), 0..2048), limit in 0usize..4096) {
        check_gzip_round_trip(&data, limit);
    }

    /// gzip: any bytes, never past the limit.
    #[test]
    fn gzip_any_bytes_stay_within_the_limit(
        data in vec(any::<u8>(), 0..256),
        limit in 0usize..4096,
    ) {
        let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        member.extend(data);
        check_gzip_decompress(&member, limit);
    }
}
