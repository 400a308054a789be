//! `grpc-lambda-proxy`: see `--help`.

use clap::Parser;
use grpc_lambda_proxy::config::{Args, Config};

/// The filter when `RUST_LOG` is unset: every call, start and stop.
const DEFAULT_LOG_FILTER: &str = "info";

/// Logs go to stderr, one JSON object per line: `{"timestamp":…,"level":"INFO","msg":"call",…}`.
/// `RUST_LOG` (an `EnvFilter` directive such as `warn` or `grpc_lambda_proxy=info`) filters them.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        // Our events carry a `target` field of their own (the Lambda or URL called).
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
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
    tracing::info!(
        msg = "listening",
        addr = %running.addr,
        admin = running.admin_addr.map(tracing::field::display),
        local_lambda = running.local_endpoint.as_deref(),
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
    tracing::info!(
        msg = "shutting down",
        in_flight = running.metrics().in_flight()
    );
    running.shutdown();
    running.wait().await;
    std::process::ExitCode::SUCCESS
}
