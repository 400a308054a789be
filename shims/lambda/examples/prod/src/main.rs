//! The example function: `api.Prod` served from Lambda.

use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::run(ProdServer::new(ProdService)).await
}
