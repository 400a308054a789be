//! JSON clients of a protobuf service: transcoding between protobuf's canonical JSON mapping and
//! the protobuf bytes the service reads and writes (feature `json`).
//!
//! A tonic server served as a `tower::Service` over bytes never sees message types, so JSON
//! (Connect and Twirp `application/json`, `application/connect+json`, `application/grpc-web+json`,
//! `application/grpc+json`) is transcoded around the call, from the service's
//! `FileDescriptorSet`. The function's `build.rs` writes the set next to the generated code:
//!
//! ```text
//! // build.rs (`use protox::prost::Message;` for `encode_to_vec`)
//! let descriptors = protox::compile(["prod.proto"], ["proto"])?;
//! let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
//! std::fs::write(out_dir.join("prod_descriptor.bin"), descriptors.encode_to_vec())?;
//! tonic_prost_build::configure().compile_fds(descriptors)?;
//!
//! // main.rs
//! const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/prod_descriptor.bin"));
//! ```
//!
//! and hands it over once, at start-up; each call then finds its method with one hash lookup:
//!
//! ```
//! use grpc_lambda::json::{Descriptors, Idempotency, JsonError};
//! # use prost::Message;
//! # let set = protox::compile(["prod.proto"], ["examples/prod/proto"]).unwrap();
//! # let file_descriptor_set = set.encode_to_vec();
//!
//! // `file_descriptor_set`: FILE_DESCRIPTOR_SET above (here compiled by the test itself).
//! let descriptors = Descriptors::decode(&file_descriptor_set)?;
//!
//! let alive = descriptors.method("/api.Prod/Alive").expect("api.Prod defines Alive");
//! assert_eq!(alive.idempotency(), Idempotency::NoSideEffects);
//! assert!(!alive.is_server_streaming());
//!
//! // A JSON request becomes the protobuf bytes the service reads...
//! let proto = alive.request_from_json(br#"{"message": " Hi."}"#, 4 << 20)?;
//! assert_eq!(proto, b"\x0a\x04 Hi.");
//! // ...and the protobuf response becomes JSON.
//! let json = alive.response_to_json(b"\x0a\x11Hello, world. Hi.")?;
//! assert_eq!(json, br#"{"message":"Hello, world. Hi."}"#);
//!
//! // A field the message does not have is refused, by name.
//! let error = alive.request_from_json(br#"{"mesage": "typo"}"#, 4 << 20).unwrap_err();
//! assert!(matches!(&error, JsonError::UnknownField { name, .. } if name == "mesage"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors are [`JsonError`]s naming the problem (the byte offset of malformed JSON, the unknown
//! field's name, both lengths of a message over the limit); the shim answers them in the caller's
//! protocol.

mod descriptors;
mod error;
mod transcode;

/// The longest JSON request message the shim transcodes (1 MiB), whatever the message limit:
/// JSON is read into a dynamic message before it is written as protobuf, and a dynamic message
/// can take tens of bytes for each byte of JSON (a number in a repeated field is two bytes of
/// JSON and a `Value` of 40 or more), so the JSON limit, not the message limit, is what bounds
/// a call's memory. A longer message is refused `RESOURCE_EXHAUSTED` with both numbers.
pub const MAX_JSON_MESSAGE_LEN: usize = 1024 * 1024;

pub use descriptors::{DescriptorError, Descriptors, Idempotency, RpcMethod};
pub use error::JsonError;
pub use transcode::MessageType;
