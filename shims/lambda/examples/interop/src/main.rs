//! The interop function: `grpc.testing.TestService` served from Lambda.
//!
//! Through the routes generated beside tonic's server: unary and server-streaming methods call
//! the service directly, client-streaming and bidirectional ones go to tonic's server, the
//! router's fallback. With `GRPC_LAMBDA_INTEROP_SERVE=tower` the whole service runs as tonic's
//! server, a `tower::Service`; the interop tests run both.

use grpc_lambda_example_interop::{
    grpc_testing::{test_service_lambda, test_service_server::TestServiceServer},
    InteropService,
};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    let serve = std::env::var("GRPC_LAMBDA_INTEROP_SERVE").unwrap_or_default();
    match serve.as_str() {
        "" | "routes" => grpc_lambda::run(test_service_lambda::router(InteropService)).await,
        "tower" => grpc_lambda::run(TestServiceServer::new(InteropService)).await,
        other => Err(format!(
            "GRPC_LAMBDA_INTEROP_SERVE={other:?}: expected \"routes\" (the default) or \"tower\""
        )
        .into()),
    }
}
