//! The example function: `api.Prod` served from Lambda, tonic's generated server handed to the
//! shim as a `tower::Service` (the one way to serve a tonic service: interceptors and `tower`
//! layers around the server run on every call).

use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::run(ProdServer::new(ProdService)).await
}
