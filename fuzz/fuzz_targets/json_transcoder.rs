//! Arbitrary bytes as the JSON of the example's messages (`api.Prod`) and of `kinds.Kinds` (every
//! field kind whose JSON form differs from protobuf's): never a panic; a message that is read
//! stays within the limit, writes back as JSON, and that JSON reads back to the same message.
//!
//! Input: byte 0 picks the message type (and bit 7 allows unknown fields), byte 1 the message
//! limit (255: none), the rest is the JSON.
#![no_main]

use std::sync::OnceLock;

use grpc_lambda::json::{Descriptors, MessageType};
use libfuzzer_sys::fuzz_target;
use protox::prost::Message;

/// Messages whose protobuf encoding is a function of their JSON: no map fields, so the bytes
/// written twice are equal.
const WITHOUT_MAPS: [&str; 4] = [
    "api.AliveRequest",
    "api.AliveResponse",
    "api.CountRequest",
    "api.CountResponse",
];
/// Has a map field: written twice, the same length (entries may come in another order).
const WITH_MAPS: &str = "kinds.Kinds";

struct Types {
    strict: Vec<MessageType>,
    lenient: Vec<MessageType>,
}

fn types() -> &'static Types {
    static TYPES: OnceLock<Types> = OnceLock::new();
    TYPES.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shims/lambda");
        let set = protox::compile(
            ["prod.proto", "kinds.proto"],
            [
                format!("{root}/examples/prod/proto"),
                format!("{root}/tests/data/json"),
            ],
        )
        .expect("the example's and the tests' protos compile");
        let strict = Descriptors::decode(&set.encode_to_vec()).expect("valid descriptors");
        let lenient = strict.clone().allow_unknown_fields(true);
        let names = WITHOUT_MAPS.iter().copied().chain([WITH_MAPS]);
        let pick = |descriptors: &Descriptors| {
            names
                .clone()
                .map(|name| descriptors.message(name).expect("message defined"))
                .collect()
        };
        Types {
            strict: pick(&strict),
            lenient: pick(&lenient),
        }
    })
}

fuzz_target!(|input: &[u8]| {
    let [pick, limit, json @ ..] = input else {
        return;
    };
    let types = types();
    let family = if pick & 0x80 == 0 {
        &types.strict
    } else {
        &types.lenient
    };
    let index = usize::from(pick & 0x7f) % family.len();
    let message_type = &family[index];
    let max_len = if *limit == u8::MAX {
        usize::MAX
    } else {
        usize::from(*limit)
    };

    let proto = match message_type.json_to_proto(json, max_len) {
        Ok(proto) => proto,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert!(proto.len() <= max_len, "{} > {max_len}", proto.len());
    let written = message_type
        .proto_to_json(&proto)
        .unwrap_or_else(|error| panic!("a message read from JSON writes as JSON: {error}"));
    let again = message_type
        .json_to_proto(&written, usize::MAX)
        .unwrap_or_else(|error| panic!("JSON the transcoder wrote reads back: {error}"));
    if message_type.full_name() == WITH_MAPS {
        assert_eq!(again.len(), proto.len());
    } else {
        assert_eq!(again, proto);
    }
});
