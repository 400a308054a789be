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

/// Starts a proxy in process with `flags`, no configured routes, and `routes` (pattern, target)
/// to targets of the test's own.
pub async fn start_with_targets(
    flags: &[&str],
    routes: Vec<(
        &str,
        std::sync::Arc<dyn grpc_lambda_proxy::invoke::Upstream>,
    )>,
) -> Running {
    let mut argv = vec![
        "grpc-lambda-proxy",
        "--listen",
        "127.0.0.1:0",
        "--quiet",
        "--no-routes",
    ];
    argv.extend_from_slice(flags);
    let config = Config::from_args(Args::parse_from(argv)).expect("valid flags");
    let routes = routes
        .into_iter()
        .map(|(pattern, target)| (grpc_lambda_proxy::route::Pattern::parse(pattern), target))
        .collect();
    grpc_lambda_proxy::server::start_with_routes(config, routes)
        .await
        .expect("the proxy starts")
}

/// A target's answer: HTTP 200, `messages` (gRPC-Web frames), then the trailer frame
/// `grpc-status:0`.
pub fn ok_reply(messages: &[u8]) -> grpc_lambda_proxy::invoke::UpstreamReply {
    use http_body_util::BodyExt as _;
    let mut body = messages.to_vec();
    body.extend_from_slice(b"\x80\0\0\0\x0fgrpc-status:0\r\n");
    grpc_lambda_proxy::invoke::UpstreamReply {
        status: http::StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: http_body_util::Full::new(bytes::Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    }
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

/// The proxy binary, run as a process: what a client on the network meets.
pub struct ProxyProcess {
    child: std::process::Child,
    /// The proxy's address.
    pub addr: std::net::SocketAddr,
    /// The admin port, when `--admin` was given.
    pub admin: Option<std::net::SocketAddr>,
    log: std::sync::Arc<std::sync::Mutex<Log>>,
}

/// What the proxy wrote on stderr: every line but the per-call ones, and the per-call lines
/// up to [`CALL_LINES_KEPT`] (a flood of calls writes too many to keep).
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    calls: usize,
}

/// Per-call log lines kept for the tests to read.
pub const CALL_LINES_KEPT: usize = 2000;

impl ProxyProcess {
    /// Starts `grpc-lambda-proxy` with `flags` (and `--listen 127.0.0.1:0`) and waits up to 60 s
    /// for its `listening` line.
    pub fn spawn(flags: &[&str]) -> ProxyProcess {
        let binary =
            grpc_lambda_test_support::workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy");
        ProxyProcess::spawn_command(std::process::Command::new(binary), flags)
    }

    /// As [`ProxyProcess::spawn`], with only `PATH` and `env` in the proxy's environment.
    pub fn spawn_with_env(flags: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        let binary =
            grpc_lambda_test_support::workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy");
        let mut command = std::process::Command::new(binary);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.envs(env.iter().copied());
        ProxyProcess::spawn_command(command, flags)
    }

    fn spawn_command(mut command: std::process::Command, flags: &[&str]) -> ProxyProcess {
        use std::io::BufRead as _;
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(flags)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the proxy binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Log::default()));
        let (ready, listening) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("\"msg\":\"listening\"") {
                    let _ = ready.send(line.clone());
                }
                let mut log = sink.lock().unwrap();
                if line.starts_with("{\"msg\":\"call\"") || line.contains("\"msg\":\"call\"") {
                    log.calls += 1;
                    if log.calls > CALL_LINES_KEPT {
                        continue;
                    }
                }
                log.lines.push(line);
            }
        });
        let line = match listening.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no listening line: {:?}", log.lock().unwrap().lines);
            }
        };
        let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        ProxyProcess {
            child,
            addr: value["addr"].as_str().unwrap().parse().unwrap(),
            admin: value["admin"].as_str().map(|a| a.parse().unwrap()),
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid()))
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// The stderr lines so far (per-call lines up to [`CALL_LINES_KEPT`]).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().lines.clone()
    }

    /// The admin port's `/metrics` text.
    pub async fn metrics(&self) -> String {
        use http_body_util::BodyExt as _;
        let admin = self.admin.expect("started with --admin");
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let response = client
            .get(format!("http://{admin}/metrics").parse().unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the Prometheus sample `line_start` (a metric name with its labels) in `text`.
pub fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
}

/// A response read whole: HTTP status, headers, body bytes, trailers.
#[derive(Debug)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: bytes::Bytes,
    /// The trailers (native gRPC).
    pub trailers: http::HeaderMap,
}

impl RawAnswer {
    /// `grpc-status` from the trailers, or from the headers (Trailers-Only).
    pub fn grpc_status(&self) -> Option<&str> {
        self.trailers
            .get("grpc-status")
            .or_else(|| self.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
    }

    /// `grpc-message`, percent-decoded as far as the tests need (`%20`-style escapes).
    pub fn grpc_message(&self) -> String {
        let raw = self
            .trailers
            .get("grpc-message")
            .or_else(|| self.headers.get("grpc-message"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut out = Vec::new();
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'%', Some(hex)) => {
                    let hex = std::str::from_utf8(hex).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A gRPC message frame (flags 0) around `payload`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One POST over HTTP/2 (`http2 = true`, prior knowledge) or HTTP/1.1 to `path` with `headers`
/// and `body`, read whole.
pub async fn raw_call(
    addr: std::net::SocketAddr,
    http2: bool,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> RawAnswer {
    raw_request(addr, http2, http::Method::POST, path, headers, body).await
}

/// One request of `method` to `path` (with its query) over HTTP/2 (`http2 = true`, prior
/// knowledge) or HTTP/1.1, with `headers` and `body`, read whole.
pub async fn raw_request(
    addr: std::net::SocketAddr,
    http2: bool,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> RawAnswer {
    use http_body_util::BodyExt as _;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(http2)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("an answer within 30 s")
        .expect("an HTTP answer");
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.expect("the whole body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    RawAnswer {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    }
}

/// The headers of a native gRPC call.
pub const GRPC: [(&str, &str); 2] = [("content-type", "application/grpc"), ("te", "trailers")];

impl ProxyProcess {
    /// The proxy binary running the example function (`prod`) behind its embedded runtime, on
    /// the catch-all route, with `extra` flags.
    pub fn with_prod(extra: &[&str]) -> ProxyProcess {
        let command = format!("exec {}", prod_binary().display());
        let mut flags = vec!["--local-function", command.as_str(), "--local-name", "prod"];
        flags.extend_from_slice(extra);
        ProxyProcess::spawn(&flags)
    }

    /// Waits up to `within` for the metric `name` to read `value`; panics with the metrics if
    /// it does not.
    pub async fn wait_for_sample(&self, name: &str, value: f64, within: Duration) {
        let until = std::time::Instant::now() + within;
        loop {
            let metrics = self.metrics().await;
            if sample(&metrics, name) == Some(value) {
                return;
            }
            assert!(
                std::time::Instant::now() < until,
                "{name} is not {value}: {metrics}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
