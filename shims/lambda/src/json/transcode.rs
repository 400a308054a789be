//! One message type's JSON ↔ protobuf transcoding, with protobuf's canonical JSON mapping.

use std::fmt;

use prost_reflect::prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

use super::error::{from_serde, JsonError};

/// The canonical JSON mapping when writing: lowerCamelCase field names, 64-bit integers as
/// strings, enums by name, fields at their default value left out (the mapping's default).
const SERIALIZE: SerializeOptions = SerializeOptions::new()
    .stringify_64_bit_integers(true)
    .use_enum_numbers(false)
    .use_proto_field_name(false)
    .skip_default_fields(true);

/// A message type from the descriptors, and how strict its JSON reader is.
///
/// From [`RpcMethod::input`](super::RpcMethod::input), [`RpcMethod::output`](super::RpcMethod::output)
/// or [`Descriptors::message`](super::Descriptors::message).
#[derive(Clone)]
pub struct MessageType {
    descriptor: MessageDescriptor,
    pub(super) deny_unknown_fields: bool,
}

impl MessageType {
    pub(super) fn new(descriptor: MessageDescriptor, deny_unknown_fields: bool) -> Self {
        Self {
            descriptor,
            deny_unknown_fields,
        }
    }

    /// The message's full name, e.g. `api.AliveRequest`.
    pub fn full_name(&self) -> &str {
        self.descriptor.full_name()
    }

    /// Reads `json`, one JSON value of this message type in protobuf's canonical JSON mapping
    /// (either the lowerCamelCase or the original field names; 64-bit integers as strings or
    /// numbers; enums by name or number; well-known types in their special forms), and returns its
    /// protobuf encoding.
    ///
    /// The encoded length is checked against `max_len` before any output is written, so a message
    /// over the limit costs no output buffer.
    ///
    /// # Errors
    ///
    /// - [`JsonError::Malformed`]: not JSON, or more than one value, with the byte offset;
    /// - [`JsonError::UnknownField`]: a field the message does not have, by name (unless unknown
    ///   fields are allowed);
    /// - [`JsonError::InvalidValue`]: a value that does not fit its field, with the byte offset;
    /// - [`JsonError::MessageTooLarge`]: the encoding is longer than `max_len`, with both numbers.
    pub fn json_to_proto(&self, json: &[u8], max_len: usize) -> Result<Vec<u8>, JsonError> {
        let options = DeserializeOptions::new().deny_unknown_fields(self.deny_unknown_fields);
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let message = DynamicMessage::deserialize_with_options(
            self.descriptor.clone(),
            &mut deserializer,
            &options,
        )
        .and_then(|message| deserializer.end().map(|()| message))
        .map_err(|error| from_serde(&error, json))?;
        let len = message.encoded_len();
        if len > max_len {
            return Err(JsonError::MessageTooLarge { len, max: max_len });
        }
        let mut proto = Vec::with_capacity(len);
        message.encode_raw(&mut proto);
        Ok(proto)
    }

    /// Decodes `proto`, this message type's protobuf encoding, and writes it as JSON in protobuf's
    /// canonical JSON mapping: lowerCamelCase field names, 64-bit integers as strings, enums by
    /// name, `bytes` as standard base64, well-known types in their special forms, fields at their
    /// default value left out. Fields the descriptors do not know are left out too.
    ///
    /// # Errors
    ///
    /// - [`JsonError::Decode`]: `proto` is not a valid encoding of the message;
    /// - [`JsonError::Unrepresentable`]: a value the JSON mapping has no form for (a
    ///   `Timestamp` past year 9999, an `Any` of a type the descriptors do not define).
    pub fn proto_to_json(&self, proto: &[u8]) -> Result<Vec<u8>, JsonError> {
        let message = DynamicMessage::decode(self.descriptor.clone(), proto).map_err(|source| {
            JsonError::Decode {
                message: self.full_name().to_owned(),
                source,
            }
        })?;
        // JSON is usually a little longer than protobuf (names, quotes, base64); one reservation
        // covers the common case, and the vector grows past it if needed.
        let mut json = Vec::with_capacity(proto.len().saturating_add(proto.len() / 2) + 16);
        let mut serializer = serde_json::Serializer::new(&mut json);
        message
            .serialize_with_options(&mut serializer, &SERIALIZE)
            .map_err(|error| JsonError::Unrepresentable {
                message: self.full_name().to_owned(),
                reason: error.to_string(),
            })?;
        Ok(json)
    }
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageType")
            .field("full_name", &self.full_name())
            .field("deny_unknown_fields", &self.deny_unknown_fields)
            .finish()
    }
}
