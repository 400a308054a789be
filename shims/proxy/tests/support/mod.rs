//! Helpers shared by the end-to-end tests: building the example function, starting the proxy,
//! a tonic client, and the rule for missing external tools.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use grpc_lambda_proxy::config::{Args, Config};
use grpc_lambda_proxy::server::Running;

/// The generated `api` client and server.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod api {
    tonic::include_proto!("api");
}

pub use api::prod_client::ProdClient;

pub use grpc_lambda_test_support::{python, python_has, python_usable, require, target_dir};

/// Builds the example function once per test binary and returns its path.
pub fn prod_binary() -> PathBuf {
    grpc_lambda_test_support::workspace_binary("grpc-lambda-example-prod", "prod")
}

/// The fake function (Python, standard library only) used for the failure rows.
pub fn fake_function() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/fake_function.py");
    format!("exec python3 {}", script.display())
}

/// Starts a proxy in process with these flags (a free port is chosen for `--listen`).
pub async fn start(flags: &[&str]) -> Running {
    let mut argv = vec!["grpc-lambda-proxy", "--listen", "127.0.0.1:0", "--quiet"];
    argv.extend_from_slice(flags);
    let config = Config::from_args(Args::parse_from(argv)).expect("valid flags");
    grpc_lambda_proxy::server::start(config)
        .await
        .expect("the proxy starts")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tonic client for `addr`.
pub async fn client(addr: std::net::SocketAddr) -> ProdClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("the proxy accepts connections");
    ProdClient::new(channel)
        .max_decoding_message_size(8 * 1024 * 1024)
        .max_encoding_message_size(8 * 1024 * 1024)
}

/// A client over a plain hyper HTTP/2 connection, with no client-side deadline enforcement.
pub fn plain_client(
    addr: std::net::SocketAddr,
) -> ProdClient<
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        tonic::body::Body,
    >,
> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let origin: http::Uri = format!("http://{addr}").parse().unwrap();
    ProdClient::with_origin(client, origin)
        .max_decoding_message_size(8 * 1024 * 1024)
        .max_encoding_message_size(8 * 1024 * 1024)
}
