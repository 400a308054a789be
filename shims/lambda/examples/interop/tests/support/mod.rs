//! Starting the proxy binary with the interop function behind its embedded Lambda Runtime API,
//! tonic clients for it, and the rule for missing external tools.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use grpc_lambda_example_interop::grpc_testing::test_service_client::TestServiceClient;
use grpc_lambda_example_interop::grpc_testing::unimplemented_service_client::UnimplementedServiceClient;

pub use grpc_lambda_test_support::{python, python_has, require};

/// Builds the proxy binary once per test binary and returns its path.
pub fn proxy_binary() -> PathBuf {
    grpc_lambda_test_support::workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy")
}

/// The proxy binary serving the interop function (`--local-function`), stopped with SIGTERM
/// when dropped. Its stderr (one JSON line per call) is kept for the assertions.
pub struct Proxy {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts the proxy on a free loopback port with the interop function and `flags`.
    pub fn start(flags: &[&str]) -> Proxy {
        let proxy = proxy_binary();
        let function = env!("CARGO_BIN_EXE_interop");
        let mut child = Command::new(proxy)
            .args(["--listen", "127.0.0.1:0", "--local-function", function])
            .args(["--local-name", "interop", "--local-concurrency", "2"])
            .args(["--shutdown-grace", "2"])
            .args(flags)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the proxy binary runs");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (listening_tx, listening_rx) = mpsc::channel::<String>();
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("\"listening\"") {
                    let _ = listening_tx.send(line.clone());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let listening = listening_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the proxy logs its listening line");
        let json: serde_json::Value = serde_json::from_str(&listening).unwrap();
        let addr = json["addr"].as_str().unwrap().parse().unwrap();
        Proxy { child, addr, lines }
    }

    /// The proxy's call log lines so far, parsed.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|json| json["msg"] == "call")
            .collect()
    }

    /// Waits up to `within` for the call log to hold `count` lines for `method` with `status`.
    pub fn wait_for_calls(&self, method: &str, status: &str, count: usize, within: Duration) {
        let start = Instant::now();
        loop {
            let seen = self
                .calls()
                .iter()
                .filter(|call| call["method"] == method && call["status"] == status)
                .count();
            if seen >= count {
                return;
            }
            assert!(
                start.elapsed() < within,
                "expected {count} {status} calls to {method}, saw {seen}; log: {:#?}",
                self.calls()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A tonic channel to the proxy.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("the proxy accepts connections")
    }

    /// A `TestService` client.
    pub async fn client(&self) -> TestServiceClient<tonic::transport::Channel> {
        TestServiceClient::new(self.channel().await)
    }

    /// An `UnimplementedService` client.
    pub async fn unimplemented_client(
        &self,
    ) -> UnimplementedServiceClient<tonic::transport::Channel> {
        UnimplementedServiceClient::new(self.channel().await)
    }

    /// A `TestService` client over a plain hyper HTTP/2 connection: no client-side deadline
    /// enforcement, so a `DEADLINE_EXCEEDED` it sees came from the server side.
    pub fn plain_client(
        &self,
    ) -> TestServiceClient<
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            tonic::body::Body,
        >,
    > {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http();
        let origin: http::Uri = format!("http://{}", self.addr).parse().unwrap();
        TestServiceClient::with_origin(client, origin)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SIGTERM lets the proxy stop its function processes; SIGKILL only if it hangs.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
