//! CORS for browsers calling with gRPC-Web, as the proxy answers it too: defined in
//! `grpc-lambda-protocol`, re-exported here for the builder's [`Shim::cors`](crate::Shim::cors).

pub use grpc_lambda_protocol::cors::{
    Cors, ALLOW_METHODS, DEFAULT_ALLOW_HEADERS, DEFAULT_MAX_AGE_SECS, EXPOSE_HEADERS,
};
