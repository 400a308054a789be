//! Shared by the tests that call the example as a user does: its servers as processes, each in
//! its own process group with its output in files, stopped with everything they started.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grpc_lambda_test_support::{free_port, stop_process_group, workspace_binary, workspace_dir};

/// How long a server may take to listen: `cargo lambda watch` compiles the function first.
pub const START_TIMEOUT: Duration = Duration::from_secs(600);

/// A process in its own process group (a server, or the browser), stopped with everything it
/// started, by that group's id. Its stdout and stderr go to files in the test's temporary folder.
pub struct Server {
    pub child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Server {
    pub fn spawn(mut command: Command, name: &str) -> Server {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let stdout = base.with_extension("out");
        let stderr = base.with_extension("err");
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {name}: {err}"));
        Server {
            child,
            stdout,
            stderr,
        }
    }

    /// What it wrote to stdout.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What it wrote to stdout and stderr.
    pub fn log(&self) -> String {
        self.output() + &std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until `ready` answers true, the process still running.
    pub fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let start = Instant::now();
        while !ready() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{what} exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "{what} not ready after {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_process_group(&mut self.child);
        let _ = std::fs::remove_file(&self.stdout);
        let _ = std::fs::remove_file(&self.stderr);
    }
}

pub fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// What `cargo lambda watch` answers a bare POST to `path`: its status line, once it has one.
pub fn status_line(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
         content-length: 2\r\nconnection: close\r\n\r\n{{}}"
    )
    .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().map(str::to_owned)
}

/// `grpc-lambda-proxy` on a free loopback port with the example function behind its embedded
/// Lambda Runtime API (`--local-function`), once it listens; and the port.
pub fn start_proxy() -> (Server, u16) {
    let proxy = workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy");
    let function = workspace_binary("grpc-lambda-example-prod", "prod");
    let port = free_port();
    let mut command = Command::new(proxy);
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--local-function", &format!("exec {}", function.display())])
        .args(["--local-name", "prod"]);
    let mut server = Server::spawn(command, "proxy");
    server.wait_until("the proxy", || accepts(port));
    (server, port)
}

/// `cargo lambda watch` serving the example on a free loopback port (Invoke API and Function URL
/// emulation under `/lambda-url/prod/`), once the function answers; and the port.
pub fn start_watch(cargo_lambda: &Path) -> (Server, u16) {
    let port = free_port();
    let mut command = Command::new(cargo_lambda);
    command
        .args(["lambda", "watch", "--ignore-changes", "--bin", "prod"])
        .args(["--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &port.to_string()])
        .current_dir(workspace_dir().join("shims/lambda/examples/prod"));
    let mut watch = Server::spawn(command, "cargo-lambda-watch");
    // Ready once the function answers an invocation (any status: `{}` is not an event it
    // reads); cargo-lambda compiles it first.
    watch.wait_until("cargo lambda watch", || {
        status_line(port, "/2015-03-31/functions/prod/invocations").is_some()
    });
    (watch, port)
}
