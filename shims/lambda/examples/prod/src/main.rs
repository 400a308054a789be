//! The example function: `api.Prod` served from Lambda, tonic's generated server handed to the
//! shim as a `tower::Service` (the one way to serve a tonic service: interceptors and `tower`
//! layers around the server run on every call), to gRPC, gRPC-Web, Connect and Twirp clients.

use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};

fn main() -> Result<(), grpc_lambda::lambda_runtime::Error> {
    let shim = grpc_lambda::Shim::new(ProdServer::new(ProdService));
    // JSON clients and Connect GET: the one line, with the descriptors `build.rs` wrote.
    #[cfg(feature = "json")]
    let shim = shim.json(grpc_lambda::json::Descriptors::decode(
        grpc_lambda_example_prod::FILE_DESCRIPTOR_SET,
    )?);
    // One thread while Lambda sends one invocation at a time; a worker per CPU under Lambda
    // Managed Instances.
    grpc_lambda::runtime()?.block_on(shim.run())
}
