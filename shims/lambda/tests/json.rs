//! The JSON transcoder on the example's `api.Prod` and on a message with every kind of field whose
//! JSON form differs from protobuf's (`tests/data/json/kinds.proto`): byte for byte both ways, and
//! each error naming its problem.
#![cfg(feature = "json")]

use grpc_lambda::json::{DescriptorError, Descriptors, Idempotency, JsonError};
use prost::Message;

const LIMIT: usize = 4 << 20;

fn prod() -> Descriptors {
    let set = protox::compile(["prod.proto"], ["examples/prod/proto"]).unwrap();
    Descriptors::decode(&set.encode_to_vec()).unwrap()
}

fn kinds() -> Descriptors {
    let set = protox::compile(["kinds.proto"], ["tests/data/json"]).unwrap();
    Descriptors::decode(&set.encode_to_vec()).unwrap()
}

#[test]
fn every_method_of_the_example_is_indexed_by_path() {
    let descriptors = prod();
    let mut paths: Vec<&str> = descriptors.methods().map(|method| method.path()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/api.Prod/Alive", "/api.Prod/Count", "/api.Prod/Fail"]
    );

    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    assert_eq!(alive.idempotency(), Idempotency::NoSideEffects);
    assert_eq!(alive.input().full_name(), "api.AliveRequest");
    assert_eq!(alive.output().full_name(), "api.AliveResponse");
    assert!(!alive.is_server_streaming() && !alive.is_client_streaming());

    let fail = descriptors.method("/api.Prod/Fail").unwrap();
    assert_eq!(fail.idempotency(), Idempotency::Unknown);

    let count = descriptors.method("/api.Prod/Count").unwrap();
    assert!(count.is_server_streaming() && !count.is_client_streaming());
    assert_eq!(count.input().full_name(), "api.CountRequest");
    assert_eq!(count.output().full_name(), "api.CountResponse");

    for missing in [
        "/api.Prod/Nope",
        "/api.Nope/Alive",
        "api.Prod/Alive",
        "/twirp/api.Prod/Alive",
        "",
    ] {
        assert!(descriptors.method(missing).is_none(), "{missing}");
    }
}

#[test]
fn idempotent_and_client_streaming_methods_are_read_from_their_options() {
    let descriptors = kinds();
    let put = descriptors.method("/kinds.Kitchen/Put").unwrap();
    assert_eq!(put.idempotency(), Idempotency::Idempotent);
    let stream = descriptors.method("/kinds.Kitchen/Stream").unwrap();
    assert!(stream.is_client_streaming() && stream.is_server_streaming());
    assert_eq!(stream.idempotency(), Idempotency::Unknown);
}

#[test]
fn example_requests_become_protobuf_byte_for_byte() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    assert_eq!(
        alive
            .request_from_json(br#"{"message":" Hi."}"#, LIMIT)
            .unwrap(),
        b"\x0a\x04 Hi."
    );
    assert_eq!(alive.request_from_json(b" {} ", LIMIT).unwrap(), b"");

    let count = descriptors.method("/api.Prod/Count").unwrap();
    let expected = b"\x08\x03\x10\x0a";
    // lowerCamelCase, the proto name, numbers as strings: all the same message.
    for json in [
        r#"{"n":3,"delayMs":10}"#,
        r#"{"n":3,"delay_ms":10}"#,
        r#"{"n":"3","delayMs":"10"}"#,
        "{\n  \"delayMs\": 10,\n  \"n\": 3\n}\n",
    ] {
        assert_eq!(
            count.request_from_json(json.as_bytes(), LIMIT).unwrap(),
            expected,
            "{json}"
        );
    }
}

#[test]
fn example_responses_become_json_byte_for_byte() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    assert_eq!(
        alive
            .response_to_json(b"\x0a\x11Hello, world. Hi.")
            .unwrap(),
        br#"{"message":"Hello, world. Hi."}"#
    );
    assert_eq!(alive.response_to_json(b"").unwrap(), b"{}");

    let count = descriptors.method("/api.Prod/Count").unwrap();
    assert_eq!(
        count.response_to_json(b"\x08\x02\x12\x012").unwrap(),
        br#"{"n":2,"message":"2"}"#
    );
    // A negative int32 is ten bytes on the wire and a plain number in JSON.
    assert_eq!(
        count
            .response_to_json(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
            .unwrap(),
        br#"{"n":-1}"#
    );
    // Fields the descriptors do not know are dropped.
    assert_eq!(
        count.response_to_json(b"\x08\x01\x18\x07").unwrap(),
        br#"{"n":1}"#
    );
}

#[test]
fn json_forms_of_64_bit_integers_enums_timestamps_and_bytes() {
    let kinds = kinds().message("kinds.Kinds").unwrap();
    // The protobuf bytes, written out by hand: field 1 int64 -1, field 2 uint64 2^64-1, field 3
    // sint32 -3 (zigzag 5), field 4 enum 1, field 5 Timestamp{1, 500_000_000}, field 6 bytes
    // 00 ff, field 12 string "s".
    let proto: &[u8] = b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\
        \x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\
        \x18\x05\
        \x20\x01\
        \x2a\x08\x08\x01\x10\x80\xca\xb5\xee\x01\
        \x32\x02\x00\xff\
        \x62\x01s";
    let json = br#"{"big":"-1","ubig":"18446744073709551615","small":-3,"color":"COLOR_RED","at":"1970-01-01T00:00:01.500Z","blob":"AP8=","snakeCaseName":"s"}"#;
    assert_eq!(kinds.proto_to_json(proto).unwrap(), json);
    assert_eq!(kinds.json_to_proto(json, LIMIT).unwrap(), proto);
}

#[test]
fn every_kind_of_field_round_trips_in_canonical_form() {
    let kinds = kinds().message("kinds.Kinds").unwrap();
    let json = br#"{"big":"9007199254740993","ids":["1","18446744073709551615"],"counts":{"a":"-5"},"inner":{"name":"n"},"ratio":"NaN","flag":true,"took":"1.000000001s","maybe":"7","colors":["COLOR_GREEN",5],"number":0}"#;
    let proto = kinds.json_to_proto(json, LIMIT).unwrap();
    assert_eq!(kinds.proto_to_json(&proto).unwrap(), json);
    // Other accepted forms give the same bytes: numbers for 64-bit integers and enums, the
    // original field names.
    let loose = br#"{"big":9007199254740993,"ids":[1,"18446744073709551615"],"counts":{"a":-5},"inner":{"name":"n"},"ratio":"NaN","flag":true,"took":"1.000000001s","maybe":7,"colors":[2,5],"number":0}"#;
    assert_eq!(kinds.json_to_proto(loose, LIMIT).unwrap(), proto);
}

#[test]
fn a_double_arrives_exactly_as_written() {
    let kinds = kinds().message("kinds.Kinds").unwrap();
    // serde_json's default float parser reads this one a unit in the last place off.
    let ratio: f64 = -5.307_190_959_908_170_6e104;
    let mut proto = vec![0x51];
    proto.extend_from_slice(&ratio.to_le_bytes());
    let json = br#"{"ratio":-5.3071909599081706e104}"#;
    assert_eq!(kinds.json_to_proto(json, LIMIT).unwrap(), proto);
    assert_eq!(
        kinds.proto_to_json(&proto).unwrap(),
        br#"{"ratio":-5.3071909599081706e+104}"#
    );
}

#[test]
fn an_unknown_field_is_refused_by_name_unless_allowed() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    let json = br#"{"message":"a","mesage":"b"}"#;
    let error = alive.request_from_json(json, LIMIT).unwrap_err();
    assert_eq!(
        error,
        JsonError::UnknownField {
            name: "mesage".into(),
            offset: 22
        }
    );
    assert_eq!(
        error.to_string(),
        r#"unknown JSON field "mesage" at byte 22"#
    );

    let nested = kinds().message("kinds.Kinds").unwrap();
    let error = nested
        .json_to_proto(br#"{"inner":{"nom":"x"}}"#, LIMIT)
        .unwrap_err();
    assert!(
        matches!(error, JsonError::UnknownField { ref name, .. } if name == "nom"),
        "{error}"
    );

    let lenient = prod().allow_unknown_fields(true);
    let alive = lenient.method("/api.Prod/Alive").unwrap();
    assert_eq!(alive.request_from_json(json, LIMIT).unwrap(), b"\x0a\x01a");
    let message = lenient.message("api.AliveRequest").unwrap();
    assert_eq!(
        message.json_to_proto(br#"{"x":[1,{}]}"#, LIMIT).unwrap(),
        b""
    );
}

#[test]
fn malformed_json_is_refused_with_the_byte_offset() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    let cases: [(&[u8], usize, &str); 5] = [
        (b"", 0, "EOF while parsing a value"),
        (b"{\"message\":\n  \"a\",}", 18, "trailing comma"),
        (b"{\"message\": \"a\"} {}", 17, "trailing characters"),
        (b"{\"message\": \"\xff\"}", 13, "invalid unicode code point"),
        (b"{\"message\": nul}", 15, "expected ident"),
    ];
    for (json, offset, reason) in cases {
        let error = alive.request_from_json(json, LIMIT).unwrap_err();
        assert_eq!(
            error,
            JsonError::Malformed {
                offset,
                reason: reason.into()
            },
            "{}",
            String::from_utf8_lossy(json)
        );
    }
}

#[test]
fn a_value_of_the_wrong_kind_is_refused_with_the_offset() {
    let descriptors = prod();
    let count = descriptors.method("/api.Prod/Count").unwrap();
    let error = count
        .request_from_json(br#"{"n":"three"}"#, LIMIT)
        .unwrap_err();
    assert!(
        matches!(error, JsonError::InvalidValue { offset: 11, .. }),
        "{error}"
    );
    let error = count
        .request_from_json(br#"{"n":4294967296}"#, LIMIT)
        .unwrap_err();
    assert!(matches!(error, JsonError::InvalidValue { .. }), "{error}");

    let kinds = kinds().message("kinds.Kinds").unwrap();
    for json in [
        &br#"{"color":"COLOR_BLUE"}"#[..],
        br#"{"at":"10000-01-01T00:00:00Z"}"#,
        br#"{"text":"a","number":1}"#,
        br#"{"blob":"not base64!"}"#,
    ] {
        let error = kinds.json_to_proto(json, LIMIT).unwrap_err();
        assert!(matches!(error, JsonError::InvalidValue { .. }), "{error}");
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let kinds = kinds().message("kinds.Kinds").unwrap();
    let mut json = b"{\"colors\":".to_vec();
    json.extend(std::iter::repeat_n(b'[', 100_000));
    let error = kinds.json_to_proto(&json, LIMIT).unwrap_err();
    assert!(
        matches!(
            error,
            JsonError::Malformed { .. } | JsonError::InvalidValue { .. }
        ),
        "{error}"
    );
}

#[test]
fn a_message_over_the_limit_is_refused_with_both_numbers() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    let json = format!(r#"{{"message":"{}"}}"#, "x".repeat(100));
    // 1 tag byte, 1 length byte, 100 bytes of text.
    assert_eq!(
        alive.request_from_json(json.as_bytes(), 102).unwrap().len(),
        102
    );
    let error = alive.request_from_json(json.as_bytes(), 101).unwrap_err();
    assert_eq!(error, JsonError::MessageTooLarge { len: 102, max: 101 });
    assert_eq!(
        error.to_string(),
        "message of 102 bytes (protobuf-encoded) is larger than the limit of 101 bytes"
    );
}

#[test]
fn protobuf_the_message_does_not_decode_from_is_named() {
    let descriptors = prod();
    let alive = descriptors.method("/api.Prod/Alive").unwrap();
    // A 5-byte string with 2 bytes present.
    let error = alive.response_to_json(b"\x0a\x05ab").unwrap_err();
    assert!(
        matches!(error, JsonError::Decode { ref message, .. } if message == "api.AliveResponse")
    );
    assert!(
        error
            .to_string()
            .starts_with("protobuf bytes are not a valid api.AliveResponse: "),
        "{error}"
    );
    // A string that is not UTF-8.
    let error = alive.response_to_json(b"\x0a\x01\xff").unwrap_err();
    assert!(matches!(error, JsonError::Decode { .. }), "{error}");
}

#[test]
fn a_timestamp_json_cannot_hold_is_named() {
    let kinds = kinds().message("kinds.Kinds").unwrap();
    // Timestamp { seconds: 2^40 }: past year 9999.
    let error = kinds
        .proto_to_json(b"\x2a\x07\x08\x80\x80\x80\x80\x80\x20")
        .unwrap_err();
    assert!(
        matches!(error, JsonError::Unrepresentable { ref message, .. } if message == "kinds.Kinds"),
        "{error}"
    );
}

#[test]
fn descriptor_sets_that_cannot_serve_are_refused() {
    let error = Descriptors::decode(b"\x0a\x03abc").unwrap_err();
    assert!(matches!(error, DescriptorError::Invalid(_)), "{error}");
    assert!(
        error.to_string().starts_with("invalid FileDescriptorSet: "),
        "{error}"
    );

    let no_services =
        protox::compile(["google/protobuf/timestamp.proto"], ["tests/data/json"]).unwrap();
    let error = Descriptors::decode(&no_services.encode_to_vec()).unwrap_err();
    assert!(matches!(error, DescriptorError::NoServices), "{error}");
}
