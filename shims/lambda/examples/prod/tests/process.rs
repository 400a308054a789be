//! The example as a real process under a Lambda Runtime API: `cargo lambda watch` builds and runs
//! the `prod` binary, and every sample event shape × protocol × method is sent to its Invoke
//! endpoint (`/2015-03-31/functions/prod/invocations`). Each response must equal, byte for byte,
//! what the same shim answers in process (which `matrix.rs` checks frame by frame), and one is
//! compared with a literal.
//!
//! cargo-lambda comes from `scripts/install-test-tools.sh`. Without it the test is skipped with a
//! message, unless `CI=true` or `GRPC_LAMBDA_REQUIRE_PROCESS_TEST=1` makes that a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grpc_lambda::{lambda_runtime::Context, Shim};
use grpc_lambda_example_prod::{api::prod_server::ProdServer, ProdService};
use support::matrix;

/// Where cargo-lambda is: `$CARGO_LAMBDA`, PATH, or the Python user base.
fn cargo_lambda() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("cargo-lambda"))
        .find(|candidate| candidate.is_file());
    on_path.or_else(|| {
        let output = Command::new("python3")
            .args(["-m", "site", "--user-base"])
            .output()
            .ok()?;
        let base = String::from_utf8(output.stdout).ok()?;
        let candidate = PathBuf::from(base.trim()).join("bin").join("cargo-lambda");
        candidate.is_file().then_some(candidate)
    })
}

/// `cargo lambda watch`, in its own process group so that it and the function it started are
/// stopped together, by that group's id.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signalled = Command::new("kill").args(["-TERM", "--", &group]).status();
        if !signalled.is_ok_and(|status| status.success()) {
            // No `kill` to reach the group: at least stop cargo-lambda itself.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(cargo_lambda: &PathBuf) -> Watch {
        use std::os::unix::process::CommandExt;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Logs go outside the package folder: a file written there would restart the function.
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cargo-lambda-watch-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--bin",
                "prod",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap();
        Watch { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs `event` to the Invoke endpoint and returns the response body.
    fn invoke(&self, event: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(timeout)).unwrap();
        stream.set_nodelay(true).unwrap();
        let head = format!(
            "POST /2015-03-31/functions/prod/invocations HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.port,
            event.len()
        );
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        stream.write_all(event).map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| e.to_string())?;
        parse_http_response(&response)
    }
}

/// The body of an HTTP/1.1 response (content-length or chunked), or why there is none.
fn parse_http_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {:?}", String::from_utf8_lossy(response)))?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let mut body = response[split + 4..].to_vec();
    if !head.starts_with("http/1.1 200") {
        return Err(format!("{head}\n{}", String::from_utf8_lossy(&body)));
    }
    if head.contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = decoded;
    }
    Ok(body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_answers_through_cargo_lambda_watch_byte_for_byte() {
    let Some(cargo_lambda) = cargo_lambda() else {
        let message = "cargo-lambda is not installed: skipping the process test \
                       (scripts/install-test-tools.sh installs it)";
        let required = std::env::var_os("GRPC_LAMBDA_REQUIRE_PROCESS_TEST").is_some()
            || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!required, "{message}");
        eprintln!("{message}");
        return;
    };
    let watch = Watch::start(&cargo_lambda);
    let shim = Shim::new(ProdServer::new(ProdService));

    // One literal answer, checked by eye once: the proxy's event format, Alive.
    let literal_event = br#"{"grpcLambda":1,"path":"/api.Prod/Alive","headers":[["content-type","application/grpc-web+proto"],["x-echo","hi"]],"body":"AAAAAAYKBHRlc3Q=","isBase64Encoded":true}"#;
    let expected = r#"{"grpcLambda":1,"statusCode":200,"headers":[["content-type","application/grpc-web+proto"],["x-echo","hi"]],"body":"AAAAABMKEUhlbGxvLCB3b3JsZC50ZXN0gAAAACRncnBjLXN0YXR1czogMA0KeC1lY2hvLXRyYWlsZXI6IGhpDQo=","isBase64Encoded":true}"#;

    // The first call waits for the build (a no-op when `cargo test` built the binary) and start.
    let started = Instant::now();
    let first = loop {
        match watch.invoke(literal_event, Duration::from_secs(600)) {
            Ok(body) => break body,
            // Not listening yet, or the function is still being built.
            Err(_) if started.elapsed() < Duration::from_secs(600) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("no answer from cargo lambda watch: {err}\n{}", watch.log()),
        }
    };
    assert_eq!(String::from_utf8_lossy(&first), expected);
    let in_process = shim
        .invoke(&literal_event[..], &Context::default())
        .await
        .unwrap();
    assert_eq!(first, in_process);

    let mut warm = Vec::new();
    for call in matrix() {
        let event = serde_json::to_vec(&call.event).unwrap();
        let sent = Instant::now();
        let answer = watch
            .invoke(&event, Duration::from_secs(30))
            .unwrap_or_else(|err| panic!("{}: {err}\n{}", call.context, watch.log()));
        warm.push(sent.elapsed());
        let expected = shim
            .invoke(event.clone(), &Context::default())
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&expected),
            "{}",
            call.context
        );
    }

    // Events the shim cannot serve are the invocation's error, named, through the real runtime.
    for (event, error_type, message) in [
        (
            &br#"{"rawPath": 7}"#[..],
            "grpc_lambda::InvalidEvent",
            "event field `rawPath` at byte 12: expected a string or null",
        ),
        (
            br#"{"detail-type": "Scheduled Event"}"#,
            "grpc_lambda::UnknownEvent",
            "is not an HTTP event",
        ),
    ] {
        let answer = match watch.invoke(event, Duration::from_secs(30)) {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(err) => err,
        };
        assert!(
            answer.contains(error_type) && answer.contains(message),
            "{answer}"
        );
    }
    warm.sort();
    eprintln!(
        "{} invocations through cargo lambda watch: median {:?}, max {:?} per call (loopback, debug build)",
        warm.len(),
        warm[warm.len() / 2],
        warm[warm.len() - 1]
    );
}
