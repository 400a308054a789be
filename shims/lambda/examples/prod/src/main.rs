//! The example function: `api.Prod` served from Lambda.
//!
//! Through the routes `grpc-lambda-build` generated beside tonic's server (`build.rs`): the
//! service's methods are called without tonic's HTTP-level server. The same service as a
//! `tower::Service`, which is how to serve it behind `tower` layers, is one change away:
//! `grpc_lambda::run(api::prod_server::ProdServer::new(ProdService))`. The service's answers
//! reach clients byte for byte the same either way.

use grpc_lambda_example_prod::{api::prod_lambda, ProdService};

#[tokio::main]
async fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::run(prod_lambda::router(ProdService)).await
}
