//! The limits the proxy holds every client to, with their defaults: sizes, the memory budget,
//! timeouts for request bodies and connections, and the connection cap. Read from flags and the
//! config file's `[limits]` by [`crate::config`]; the README's table lists each with its flag.

use std::time::Duration;

/// Limits on what a client may send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` per connection.
    pub max_concurrent_streams: u32,
    /// HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE` (and the HTTP/1.1 header buffer), bytes.
    pub max_header_list_size: u32,
    /// The largest request body, bytes. Lambda's 6 MB event limit, with base64's 4/3, allows
    /// about 4.5 MiB of messages.
    pub max_request_bytes: usize,
    /// The largest single request message, bytes.
    pub max_message_bytes: usize,
    /// A deadline for calls that carry none, and a cap on those that do.
    pub max_timeout: Option<Duration>,
    /// How long a client that sent whole messages may keep its request stream open without
    /// sending more before the call is taken for bidirectional (a client waiting for a response
    /// before it half-closes) and answered `UNIMPLEMENTED`. Zero: wait for the half-close.
    /// Routes with `bidi = "half-duplex"` always wait.
    pub half_close_wait: Duration,
    /// Request and response bytes all calls together may hold ([`crate::budget`]).
    pub max_bytes_in_flight: usize,
    /// How long a request body may take to arrive when the client sets no `grpc-timeout` (and
    /// no `max_timeout` applies). A `half-duplex` route may set its own.
    pub request_body_timeout: Duration,
    /// How long a new connection has for its TLS handshake and its first bytes.
    pub first_bytes_timeout: Duration,
    /// How long a connection may stay with no open stream before it is sent GOAWAY (HTTP/2) or
    /// closed (HTTP/1.1).
    pub idle_timeout: Duration,
    /// Client connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
}

/// The default [`Limits::half_close_wait`].
pub const DEFAULT_HALF_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The default [`Limits::request_body_timeout`]: 30 s, the time a request of the largest size
/// (4.5 MiB) takes at about 150 KiB/s.
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The default [`Limits::first_bytes_timeout`]: 10 s for a TLS handshake or a client's first
/// bytes, generous for a client across the world and short for a connection that says nothing.
pub const DEFAULT_FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`Limits::idle_timeout`]: 2 minutes with no open stream. gRPC clients reconnect
/// on GOAWAY by themselves when they next call.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The default [`Limits::max_connections`]: well under the usual 1 Mi descriptors of a
/// container, and above what one proxy serves at once (each connection carries up to
/// `max_concurrent_streams` calls). Lower it where `ulimit -n` is lower.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent_streams: 1000,
            max_header_list_size: 16 * 1024,
            max_request_bytes: 4608 * 1024,
            max_message_bytes: 4608 * 1024,
            max_timeout: None,
            half_close_wait: DEFAULT_HALF_CLOSE_WAIT,
            max_bytes_in_flight: crate::budget::DEFAULT_MAX_BYTES_IN_FLIGHT,
            request_body_timeout: DEFAULT_REQUEST_BODY_TIMEOUT,
            first_bytes_timeout: DEFAULT_FIRST_BYTES_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}
