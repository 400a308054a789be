//! The function processes: each started with the Lambda environment and its own Runtime API,
//! restarted when it exits, killed when an invocation outlives the function timeout.

use std::future::Future as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::state::{Outcome, ProcessStart, Shared};

/// A process that exits sooner than this after starting waits [`RESTART_DELAY`] before the next
/// start, so a function that dies at once does not restart in a tight loop.
const QUICK_EXIT: Duration = Duration::from_secs(1);
/// The wait before restarting a process that exited within [`QUICK_EXIT`].
const RESTART_DELAY: Duration = Duration::from_millis(500);
/// The wait before retrying a command that could not be started.
const SPAWN_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Runs process `instance`, restarting it when it exits or is killed.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    instance: usize,
    runtime_addr: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) {
    let config = &shared.config;
    loop {
        if *stopped.borrow() {
            return;
        }
        let started = Instant::now();
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(&config.command)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &config.function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", config.function),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{instance}"))
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            // Lambda Managed Instances: invocations one process takes at once (a runtime that
            // honours it opens that many long polls on `next`).
            .env(
                "AWS_LAMBDA_MAX_CONCURRENCY",
                config.max_concurrency.max(1).to_string(),
            )
            .env("_HANDLER", "bootstrap")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if std::env::var_os("AWS_REGION").is_none() {
            command.env("AWS_REGION", "us-east-1");
        }
        // A kill meant for the process before this one (a second of its invocations timing out,
        // or one that exited while its kill was on the way) must not reach this one.
        if let Some(kill) = shared.kill.get(instance) {
            let stale = kill.notified();
            tokio::pin!(stale);
            std::future::poll_fn(|cx| {
                let _ = stale.as_mut().poll(cx);
                std::task::Poll::Ready(())
            })
            .await;
        }
        if let Some(start) = shared.lock().starts.get_mut(instance) {
            *start = ProcessStart {
                spawned: Some(Instant::now()),
                ..ProcessStart::default()
            };
        }
        let mut child = match command.spawn() {
            Ok(child) => {
                if let Some(start) = shared.lock().starts.get_mut(instance) {
                    start.pid = child.id();
                }
                child
            }
            Err(err) => {
                eprintln!(
                    "{}",
                    serde_json::json!({"msg": "local function did not start", "command": config.command, "error": err.to_string()})
                );
                shared.fail_instance(instance, || Outcome::Error {
                    error_type: "Runtime.InvalidEntrypoint".to_owned(),
                    message: err.to_string(),
                });
                tokio::time::sleep(SPAWN_RETRY_DELAY).await;
                continue;
            }
        };
        let kill = match shared.kill.get(instance) {
            Some(kill) => kill,
            None => return,
        };
        let status = tokio::select! {
            status = child.wait() => status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            _ = kill.notified() => {
                let _ = child.kill().await;
                "killed after the function timeout".to_owned()
            }
            _ = stopped.changed() => {
                let _ = child.kill().await;
                return;
            }
        };
        shared.fail_instance(instance, || Outcome::Error {
            error_type: "Runtime.ExitError".to_owned(),
            message: format!("RequestId: the function process exited: {status}"),
        });
        if started.elapsed() < QUICK_EXIT {
            tokio::time::sleep(RESTART_DELAY).await;
        }
    }
}
