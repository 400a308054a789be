//! The interop function: `grpc.testing.TestService` served from Lambda, tonic's generated
//! server handed to the shim as a `tower::Service`.

use grpc_lambda_example_interop::{
    grpc_testing::test_service_server::TestServiceServer, InteropService,
};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::run(TestServiceServer::new(InteropService)).await
}
