//! Helpers shared by the end-to-end tests: building the example function, starting the proxy,
//! a tonic client, and the rule for missing external tools.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
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

/// The workspace's target directory.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// Builds the example function once per test binary and returns its path.
pub fn prod_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "grpc-lambda-example-prod",
                    "--bin",
                    "prod",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the example function failed");
            let path = target_dir().join("debug/prod");
            assert!(path.exists(), "no example binary at {}", path.display());
            path
        })
        .clone()
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

/// Whether an external tool is usable; when it is not, fails under CI (`CI=true`) and otherwise
/// prints why the test is skipped.
pub fn require(tool: &str, usable: bool) -> bool {
    if usable {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{tool} is required under CI: run scripts/install-test-tools.sh"
    );
    eprintln!("SKIPPED: {tool} is not installed (scripts/install-test-tools.sh installs it)");
    false
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
