//! An anchor of the cost lines: the example's `api.Prod` tonic server on `lambda-grpc-web`, as
//! its README serves it (`serve_apigw_http`, streamed answers).

use grpc_lambda_example_prod::api::prod_server::ProdServer;
use grpc_lambda_example_prod::ProdService;
use lambda_grpc_web::LambdaServer;

#[tokio::main]
async fn main() -> Result<(), lambda_grpc_web::lambda_runtime::Error> {
    LambdaServer::builder()
        .add_service(ProdServer::new(ProdService))
        .serve_apigw_http()
        .await
}
