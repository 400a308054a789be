//! The load test's stub upstream: a Lambda Invoke API on loopback that answers every
//! invocation at once, running the same handler as `load_direct` on the event's request.
//! Usage: `load_stub 127.0.0.1:PORT`; point the proxy at it with `--lambda-endpoint`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[allow(missing_docs, clippy::all, clippy::pedantic, dead_code)]
mod api {
    tonic::include_proto!("api");
}

#[path = "support/load_handler.rs"]
mod load_handler;

#[path = "support/stub_function.rs"]
mod stub_function;
use stub_function::answer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50062".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                let payload = request.into_body().collect().await.map(|c| c.to_bytes());
                let response = match payload.map_err(|e| e.to_string()).and_then(|p| answer(&p)) {
                    Ok(json) => http::Response::new(Full::new(json)),
                    Err(err) => {
                        let mut response = http::Response::new(Full::new(Bytes::from(err)));
                        *response.status_mut() = http::StatusCode::BAD_REQUEST;
                        response
                    }
                };
                Ok::<_, Infallible>(response)
            });
            // HTTP/1.1, or HTTP/2 with prior knowledge for a proxy started with --lambda-h2c.
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder.http2().max_concurrent_streams(1000);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
