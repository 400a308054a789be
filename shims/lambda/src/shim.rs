//! [`Shim`]: the handler and the settings every call runs under (CORS, the message limit, the
//! deadline's safety margin, response streaming). The entry points that serve invocations with
//! it are in `entry.rs`.

use std::time::Duration;

use grpc_lambda_core::DEFAULT_MAX_MESSAGE_LEN;

use crate::deadline::DEFAULT_SAFETY_MARGIN;
use crate::service::Handler;
use crate::streaming;
use grpc_lambda_protocol::cors::Cors;

/// The shim around a handler, with its settings.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grpc_lambda::{Cors, Router, Shim};
///
/// let shim = Shim::new(Router::new())
///     .cors(Cors::allow_origins(["https://app.example.com"]))
///     .max_message_len(8 * 1024 * 1024)
///     .safety_margin(Duration::from_millis(100));
/// # let _ = shim;
/// ```
#[derive(Debug)]
pub struct Shim<H> {
    pub(crate) handler: H,
    pub(crate) cors: Cors,
    pub(crate) max_message_len: usize,
    pub(crate) safety_margin: Duration,
    pub(crate) response_streaming: bool,
    /// The service's descriptors, for JSON clients and Connect GET (feature `json`).
    #[cfg(feature = "json")]
    pub(crate) descriptors: Option<crate::json::Descriptors>,
}

impl<H: Handler> Shim<H> {
    /// The shim with default settings.
    pub fn new(handler: H) -> Self {
        Self {
            handler,
            cors: Cors::default(),
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            safety_margin: DEFAULT_SAFETY_MARGIN,
            response_streaming: streaming::enabled_by_env(),
            #[cfg(feature = "json")]
            descriptors: None,
        }
    }

    /// Serves JSON clients (Connect and Twirp `application/json`, `application/connect+json`,
    /// `application/grpc-web+json`, `application/grpc+json`) and Connect GET, from the
    /// service's descriptors: each JSON message is transcoded to protobuf before the call and
    /// back after it, so the service stays a protobuf service; a method marked
    /// `idempotency_level = NO_SIDE_EFFECTS` may be called with GET. Without descriptors, a JSON
    /// call or a GET is refused, naming why.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let service = grpc_lambda::Router::new();
    /// # const FILE_DESCRIPTOR_SET: &[u8] = &[];
    /// // FILE_DESCRIPTOR_SET: the `FileDescriptorSet` the build script wrote
    /// // (`include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"))`).
    /// let descriptors = grpc_lambda::json::Descriptors::decode(FILE_DESCRIPTOR_SET)?;
    /// let shim = grpc_lambda::Shim::new(service).json(descriptors);
    /// # Ok::<(), grpc_lambda::json::DescriptorError>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn json(mut self, descriptors: crate::json::Descriptors) -> Self {
        self.descriptors = Some(descriptors);
        self
    }

    /// Answers through Lambda response streaming where the caller reads a stream: a Function
    /// URL in `RESPONSE_STREAM` mode and the grpc-lambda proxy. Each message leaves the function
    /// as the handler produces it, the trailer frame last; API Gateway, ALB and VPC Lattice
    /// still get buffered answers. Default: off, or on when the environment variable
    /// [`streaming::RESPONSE_STREAMING_ENV`] (`GRPC_LAMBDA_RESPONSE_STREAMING`) is `1` or `true`.
    ///
    /// Turn it on only for a Function URL whose invoke mode is `RESPONSE_STREAM` (a `BUFFERED`
    /// one would show the stream's prelude to the client). The bytes of the body are the same
    /// either way. See [`streaming`].
    pub fn response_streaming(mut self, on: bool) -> Self {
        self.response_streaming = on;
        self
    }

    /// Which browser origins may call (default: any).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }

    /// The largest request message, in bytes, and the largest response message of a
    /// [`Router`](crate::Router)'s prost handlers (default 4 MiB, gRPC's default). A tonic service's responses
    /// are bounded as tonic's server bounds them (by default
    /// not at all), and every answer by the front door's payload limit.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// The time kept back from Lambda's deadline to send the answer (default 50 ms).
    pub fn safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = margin;
        self
    }
}
