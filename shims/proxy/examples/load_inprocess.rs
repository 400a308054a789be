//! The load test's in-process variant: the proxy's whole call path — the HTTP API 2.0 event
//! built and base64-encoded, the function's JSON response parsed, base64-decoded and cut into
//! frames, real HTTP/2 trailers — with a stub Lambda that runs in the same process, so no network
//! hop is measured. The stub does what `load_stub` does: parse the event, run the handler, answer
//! JSON. Usage: `load_inprocess 127.0.0.1:PORT [ADMIN_ADDR]`.

use std::sync::Arc;

use clap::Parser;
use grpc_lambda_proxy::config::{Args, Config};
use grpc_lambda_proxy::error::InvokeError;
use grpc_lambda_proxy::invoke::{event, BoxFuture, Upstream, UpstreamReply, UpstreamRequest};
use grpc_lambda_proxy::route::Pattern;

#[allow(missing_docs, clippy::all, clippy::pedantic, dead_code)]
mod api {
    tonic::include_proto!("api");
}

#[path = "support/load_handler.rs"]
mod load_handler;

#[path = "support/stub_function.rs"]
mod stub_function;

/// A function answering in the proxy's process: a stub's JSON, read as an `Invoke` answer.
struct InProcessLambda;

impl Upstream for InProcessLambda {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        let payload = event::encode_event(&request);
        let reply = match stub_function::answer(&payload) {
            Ok(json) => event::decode_response(&json),
            Err(reason) => Err(InvokeError::InvalidResponse { reason }),
        };
        Box::pin(async move { reply })
    }

    fn name(&self) -> &str {
        "in-process"
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50063".to_owned());
    let mut argv = vec![
        "load_inprocess".to_owned(),
        "--listen".to_owned(),
        listen,
        "--quiet".to_owned(),
        "--no-routes".to_owned(),
    ];
    if let Some(admin) = std::env::args().nth(2) {
        argv.extend(["--admin".to_owned(), admin]);
    }
    let config = Config::from_args(Args::parse_from(argv))?;
    let target: Arc<dyn Upstream> = Arc::new(InProcessLambda);
    let running =
        grpc_lambda_proxy::server::start_with_routes(config, vec![(Pattern::parse("/"), target)])
            .await?;
    running.wait().await;
    Ok(())
}
