//! The example function (`api.Prod`, as `shims/lambda/examples/prod` serves it), as a binary of
//! this package: the costs harness's tests start it as a process against their Runtime API.

use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};

fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(grpc_lambda::run(ProdServer::new(ProdService)))
}
