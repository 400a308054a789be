//! Any `kinds.Kinds` message (`tests/data/json/kinds.proto`), encoded by prost from a struct
//! written here independently of the transcoder, survives protobuf → JSON → protobuf: it decodes
//! to the same struct, and the JSON written a second time is the same bytes.
#![cfg(feature = "json")]

use std::collections::BTreeMap;

use grpc_lambda::json::{Descriptors, MessageType};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use prost::Message;

/// `kinds.Kinds`, field for field.
#[derive(Clone, PartialEq, Message)]
struct Kinds {
    #[prost(int64, tag = "1")]
    big: i64,
    #[prost(uint64, tag = "2")]
    ubig: u64,
    #[prost(sint32, tag = "3")]
    small: i32,
    #[prost(int32, tag = "4")]
    color: i32,
    #[prost(message, optional, tag = "5")]
    at: Option<Seconds>,
    #[prost(bytes = "vec", tag = "6")]
    blob: Vec<u8>,
    #[prost(fixed64, repeated, tag = "7")]
    ids: Vec<u64>,
    #[prost(btree_map = "string, int64", tag = "8")]
    counts: BTreeMap<String, i64>,
    #[prost(message, optional, tag = "9")]
    inner: Option<Inner>,
    #[prost(double, tag = "10")]
    ratio: f64,
    #[prost(bool, tag = "11")]
    flag: bool,
    #[prost(string, tag = "12")]
    snake_case_name: String,
    #[prost(message, optional, tag = "13")]
    took: Option<Seconds>,
    #[prost(message, optional, tag = "14")]
    maybe: Option<Int64Value>,
    #[prost(int32, repeated, tag = "15")]
    colors: Vec<i32>,
    #[prost(oneof = "Choice", tags = "16, 17")]
    choice: Option<Choice>,
}

/// `google.protobuf.Timestamp` and `google.protobuf.Duration` share this wire shape.
#[derive(Clone, PartialEq, Message)]
struct Seconds {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
struct Inner {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct Int64Value {
    #[prost(int64, tag = "1")]
    value: i64,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Choice {
    #[prost(string, tag = "16")]
    Text(String),
    #[prost(int32, tag = "17")]
    Number(i32),
}

/// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, the range JSON can write.
fn timestamp() -> impl Strategy<Value = Seconds> {
    (-62_135_596_800_i64..=253_402_300_799, 0..1_000_000_000_i32)
        .prop_map(|(seconds, nanos)| Seconds { seconds, nanos })
}

/// ±10 000 years, nanos of the seconds' sign.
fn duration() -> impl Strategy<Value = Seconds> {
    (-315_576_000_000_i64..=315_576_000_000, 0..1_000_000_000_i32).prop_map(|(seconds, nanos)| {
        let nanos = if seconds < 0 { -nanos } else { nanos };
        Seconds { seconds, nanos }
    })
}

fn ratio() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("NaN is not equal to itself", |x| !x.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
    ]
}

fn kinds() -> impl Strategy<Value = Kinds> {
    let numbers = (
        any::<i64>(),
        any::<u64>(),
        any::<i32>(),
        any::<i32>(),
        ratio(),
        any::<bool>(),
    );
    let messages = (
        proptest::option::of(timestamp()),
        proptest::option::of(duration()),
        proptest::option::of(".*".prop_map(|name| Inner { name })),
        proptest::option::of(any::<i64>().prop_map(|value| Int64Value { value })),
        proptest::option::of(prop_oneof![
            ".*".prop_map(Choice::Text),
            any::<i32>().prop_map(Choice::Number)
        ]),
    );
    let collections = (
        vec(any::<u8>(), 0..40),
        vec(any::<u64>(), 0..5),
        btree_map(".{0,8}", any::<i64>(), 0..4),
        vec(any::<i32>(), 0..5),
        ".*",
    );
    (numbers, messages, collections).prop_map(
        |(
            (big, ubig, small, color, ratio, flag),
            (at, took, inner, maybe, choice),
            (blob, ids, counts, colors, snake_case_name),
        )| Kinds {
            big,
            ubig,
            small,
            color,
            at,
            blob,
            ids,
            counts,
            inner,
            ratio,
            flag,
            snake_case_name,
            took,
            maybe,
            colors,
            choice,
        },
    )
}

fn message_type() -> MessageType {
    let set = protox::compile(["kinds.proto"], ["tests/data/json"]).unwrap();
    let descriptors = Descriptors::decode(&set.encode_to_vec()).unwrap();
    descriptors.message("kinds.Kinds").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_message_survives_protobuf_to_json_and_back(message in kinds()) {
        let message_type = message_type();
        let proto = message.encode_to_vec();
        let json = message_type.proto_to_json(&proto).unwrap();
        let back = message_type.json_to_proto(&json, proto.len()).unwrap_or_else(|error| {
            panic!("{error} in {}", String::from_utf8_lossy(&json))
        });
        prop_assert_eq!(&Kinds::decode(back.as_slice()).unwrap(), &message);
        // Maps aside (their JSON order is unspecified), the canonical form is a fixed point.
        if message.counts.len() <= 1 {
            prop_assert_eq!(&back, &proto);
            prop_assert_eq!(message_type.proto_to_json(&back).unwrap(), json);
        }
    }
}
