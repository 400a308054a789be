//! The interop function: `grpc.testing.TestService` served from Lambda.

use grpc_lambda_example_interop::{
    grpc_testing::test_service_server::TestServiceServer, InteropService,
};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::run(TestServiceServer::new(InteropService)).await
}
