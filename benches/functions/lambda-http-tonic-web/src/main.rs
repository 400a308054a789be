//! An anchor of the cost lines: the example's `api.Prod` tonic server behind `tonic-web`'s layer,
//! served from Lambda by `lambda_http::run` (buffered answers).

use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::ProdService;
use tonic_web::GrpcWebLayer;
use tower::Layer;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(GrpcWebLayer::new().layer(ProdServer::new(ProdService))).await
}
