//! The example function (`api.Prod`, as `shims/lambda/examples/prod` serves it), as a binary of
//! this package: the costs harness's tests start it as a process against their Runtime API.

use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};

fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    grpc_lambda::runtime()?.block_on(grpc_lambda::run(ProdServer::new(ProdService)))
}
