//! `grpc-lambda-proxy`: see `--help`.

use clap::Parser;
use grpc_lambda_proxy::config::{Args, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_args(Args::parse()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("grpc-lambda-proxy: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let running = match grpc_lambda_proxy::server::start(config).await {
        Ok(running) => running,
        Err(err) => {
            eprintln!("grpc-lambda-proxy: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!(
        "{}",
        serde_json::json!({
            "msg": "listening",
            "addr": running.addr.to_string(),
            "admin": running.admin_addr.map(|a| a.to_string()),
            "local_lambda": running.local_endpoint,
        })
    );
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(err) => {
                eprintln!("grpc-lambda-proxy: cannot watch SIGTERM: {err}");
                return std::process::ExitCode::FAILURE;
            }
        };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!(
        "{}",
        serde_json::json!({"msg": "shutting down", "in_flight": running.metrics().in_flight()})
    );
    running.shutdown();
    running.wait().await;
    std::process::ExitCode::SUCCESS
}
