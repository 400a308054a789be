//! The service's descriptors, read once at start-up into one map from method path to what a call
//! needs: its message types, whether it streams, and its idempotency level.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use prost_reflect::{DescriptorPool, MethodDescriptor};

use super::transcode::MessageType;

/// Every method of every service in a `FileDescriptorSet`, by path, ready to transcode JSON.
///
/// Built once at start-up ([`Descriptors::decode`]); a call looks its method up with a single
/// hash lookup ([`Descriptors::method`]). Cloning is cheap (one reference count).
#[derive(Clone)]
pub struct Descriptors {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    methods: HashMap<Box<str>, RpcMethod>,
    pool: DescriptorPool,
    deny_unknown_fields: bool,
}

/// One RPC method: its path, message types, streaming and idempotency level.
#[derive(Clone)]
pub struct RpcMethod {
    path: Box<str>,
    input: MessageType,
    output: MessageType,
    client_streaming: bool,
    server_streaming: bool,
    idempotency: Idempotency,
}

/// A method's `idempotency_level` option (`google.protobuf.MethodOptions`, field 34).
///
/// Only [`Idempotency::NoSideEffects`] methods may be called with a Connect `GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// `IDEMPOTENCY_UNKNOWN`, the default: the method may have side effects.
    Unknown,
    /// `NO_SIDE_EFFECTS`: the method only reads; Connect `GET` and caches may be used.
    NoSideEffects,
    /// `IDEMPOTENT`: calling it twice has the effect of calling it once.
    Idempotent,
}

/// A `FileDescriptorSet` the transcoder cannot use.
#[derive(Debug)]
#[non_exhaustive]
pub enum DescriptorError {
    /// The bytes are not an encoded `FileDescriptorSet`, or its files do not resolve (a missing
    /// import, a type named but not defined).
    Invalid(prost_reflect::DescriptorError),
    /// The set is valid but defines no service, so there is no method to serve: most likely the
    /// wrong file was embedded.
    NoServices,
}

impl Descriptors {
    /// Reads an encoded `google.protobuf.FileDescriptorSet`, as `protox::compile(..)` or
    /// `tonic_prost_build::configure().file_descriptor_set_path(..)` write it, and indexes every
    /// method of every service it defines. Unknown JSON fields are refused
    /// ([`Descriptors::allow_unknown_fields`] to change it).
    ///
    /// # Errors
    ///
    /// [`DescriptorError::Invalid`] if the bytes are not a valid, self-contained descriptor set;
    /// [`DescriptorError::NoServices`] if it defines no service.
    pub fn decode(file_descriptor_set: &[u8]) -> Result<Self, DescriptorError> {
        let pool = DescriptorPool::decode(file_descriptor_set).map_err(DescriptorError::Invalid)?;
        let methods: HashMap<Box<str>, RpcMethod> = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .map(|method| {
                let method = RpcMethod::new(&method);
                (method.path.clone(), method)
            })
            .collect();
        if methods.is_empty() {
            return Err(DescriptorError::NoServices);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                methods,
                pool,
                deny_unknown_fields: true,
            }),
        })
    }

    /// Accepts (and drops) JSON fields a message does not define, when `allow` is true, as
    /// protobuf's JSON mapping lets a parser choose to. The default is to refuse them, naming the
    /// field, so a misspelt field is an error rather than a silently default value.
    #[must_use]
    pub fn allow_unknown_fields(mut self, allow: bool) -> Self {
        // Copies the map only if a clone shares it; start-up is the place for this.
        let inner = Arc::make_mut(&mut self.inner);
        inner.deny_unknown_fields = !allow;
        for method in inner.methods.values_mut() {
            method.input.deny_unknown_fields = !allow;
            method.output.deny_unknown_fields = !allow;
        }
        self
    }

    /// The method at `path`, `/<package.Service>/<Method>` (e.g. `/api.Prod/Alive`), if the
    /// descriptors define it.
    pub fn method(&self, path: &str) -> Option<&RpcMethod> {
        self.inner.methods.get(path)
    }

    /// Every method, in no particular order.
    pub fn methods(&self) -> impl Iterator<Item = &RpcMethod> {
        self.inner.methods.values()
    }

    /// The message type with the full name `name` (e.g. `api.AliveRequest`), for transcoding a
    /// message outside a call.
    pub fn message(&self, name: &str) -> Option<MessageType> {
        self.inner
            .pool
            .get_message_by_name(name)
            .map(|descriptor| MessageType::new(descriptor, self.inner.deny_unknown_fields))
    }
}

impl fmt::Debug for Descriptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<&str> = self.inner.methods.keys().map(|path| &**path).collect();
        paths.sort_unstable();
        f.debug_struct("Descriptors")
            .field("methods", &paths)
            .finish()
    }
}

impl RpcMethod {
    fn new(method: &MethodDescriptor) -> Self {
        let level = method
            .method_descriptor_proto()
            .options
            .as_ref()
            .and_then(|options| options.idempotency_level);
        Self {
            path: format!("/{}/{}", method.parent_service().full_name(), method.name()).into(),
            input: MessageType::new(method.input(), true),
            output: MessageType::new(method.output(), true),
            client_streaming: method.is_client_streaming(),
            server_streaming: method.is_server_streaming(),
            idempotency: Idempotency::from_level(level),
        }
    }

    /// The method's path, `/<package.Service>/<Method>`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The request message type.
    pub fn input(&self) -> &MessageType {
        &self.input
    }

    /// The response message type.
    pub fn output(&self) -> &MessageType {
        &self.output
    }

    /// Whether the client sends a stream of messages.
    pub fn is_client_streaming(&self) -> bool {
        self.client_streaming
    }

    /// Whether the server answers with a stream of messages.
    pub fn is_server_streaming(&self) -> bool {
        self.server_streaming
    }

    /// The method's `idempotency_level` option.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }

    /// A JSON request as the protobuf bytes the service reads: [`MessageType::json_to_proto`] of
    /// [`RpcMethod::input`].
    ///
    /// # Errors
    ///
    /// As [`MessageType::json_to_proto`].
    pub fn request_from_json(
        &self,
        json: &[u8],
        max_len: usize,
    ) -> Result<Vec<u8>, super::JsonError> {
        self.input().json_to_proto(json, max_len)
    }

    /// A protobuf response the service wrote as JSON: [`MessageType::proto_to_json`] of
    /// [`RpcMethod::output`].
    ///
    /// # Errors
    ///
    /// As [`MessageType::proto_to_json`].
    pub fn response_to_json(&self, proto: &[u8]) -> Result<Vec<u8>, super::JsonError> {
        self.output().proto_to_json(proto)
    }
}

impl fmt::Debug for RpcMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcMethod")
            .field("path", &self.path)
            .field("input", &self.input.full_name())
            .field("output", &self.output.full_name())
            .field("client_streaming", &self.client_streaming)
            .field("server_streaming", &self.server_streaming)
            .field("idempotency", &self.idempotency)
            .finish()
    }
}

impl Idempotency {
    /// `MethodOptions.IdempotencyLevel` numbers; an unknown number is [`Idempotency::Unknown`].
    fn from_level(level: Option<i32>) -> Self {
        match level {
            Some(1) => Self::NoSideEffects,
            Some(2) => Self::Idempotent,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(error) => write!(f, "invalid FileDescriptorSet: {error}"),
            Self::NoServices => f.write_str(
                "the FileDescriptorSet defines no service: embed the one built from the service's .proto files",
            ),
        }
    }
}

impl std::error::Error for DescriptorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Invalid(error) => Some(error),
            Self::NoServices => None,
        }
    }
}
