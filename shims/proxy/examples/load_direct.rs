//! The load test's baseline: `api.Prod/Alive` served straight from a tonic server, with the same
//! handler as `load_stub`. Usage: `load_direct 127.0.0.1:PORT`.

use std::net::SocketAddr;

/// The generated `api` server.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod api {
    tonic::include_proto!("api");
}

#[path = "support/load_handler.rs"]
mod load_handler;

use api::prod_server::{Prod, ProdServer};
use api::{AliveRequest, AliveResponse, CountRequest, CountResponse};

struct Direct;

#[tonic::async_trait]
impl Prod for Direct {
    async fn alive(
        &self,
        request: tonic::Request<AliveRequest>,
    ) -> Result<tonic::Response<AliveResponse>, tonic::Status> {
        Ok(tonic::Response::new(AliveResponse {
            message: load_handler::alive(&request.get_ref().message),
        }))
    }

    async fn fail(
        &self,
        _: tonic::Request<AliveRequest>,
    ) -> Result<tonic::Response<AliveResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in the load test"))
    }

    type CountStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<CountResponse, tonic::Status>> + Send>,
    >;

    async fn count(
        &self,
        _: tonic::Request<CountRequest>,
    ) -> Result<tonic::Response<Self::CountStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in the load test"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50061".to_owned())
        .parse()?;
    tonic::transport::Server::builder()
        .max_concurrent_streams(1000)
        .add_service(ProdServer::new(Direct))
        .serve(addr)
        .await?;
    Ok(())
}
