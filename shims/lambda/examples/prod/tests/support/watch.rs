//! The example as a real process: `cargo lambda watch` builds and runs the `prod` binary behind
//! its Lambda Runtime API, and answers on loopback through its Invoke API and its Function URL
//! emulation (`/lambda-url/prod/...`). Requests are plain HTTP/1.1 over a `TcpStream`, one per
//! connection, each bounded in time.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where cargo-lambda is: `$CARGO_LAMBDA`, PATH, or the Python user base.
pub fn cargo_lambda() -> Option<PathBuf> {
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

/// cargo-lambda, or `None` after saying why the test is skipped; a failure instead when
/// `CI=true` or `GRPC_LAMBDA_REQUIRE_PROCESS_TEST=1`.
pub fn cargo_lambda_or_skip() -> Option<PathBuf> {
    let found = cargo_lambda();
    if found.is_none() {
        let message = "cargo-lambda is not installed: skipping the process test \
                       (scripts/install-test-tools.sh installs it)";
        let required = std::env::var_os("GRPC_LAMBDA_REQUIRE_PROCESS_TEST").is_some()
            || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!required, "{message}");
        eprintln!("{message}");
    }
    found
}

/// The longest the first call waits: the build of the `prod` binary (a no-op when `cargo test`
/// built it with the same features) and its start.
pub const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest any later call waits for its answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `cargo lambda watch`, in its own process group so that it and the function it started are
/// stopped together, by that group's id.
pub struct Watch {
    child: Child,
    pub port: u16,
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

/// An HTTP/1.1 response: status, header entries in order (names lower case), the body
/// de-chunked.
pub use grpc_lambda_test_support::aws_event::HttpResponse;

impl Watch {
    /// `cargo lambda watch --ignore-changes --bin prod` on a free loopback port, with `extra`
    /// arguments. Logs go outside the package folder: a file written there would restart the
    /// function.
    pub fn start(cargo_lambda: &PathBuf, extra: &[&str]) -> Watch {
        use std::os::unix::process::CommandExt;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap();
        Watch { child, port, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request, with `headers` after `host`, `content-length` and `connection: close`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<HttpResponse, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(timeout)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        stream.write_all(body).map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| e.to_string())?;
        parse_http_response(&response)
    }

    /// [`Watch::request`] repeated until the function answers: cargo-lambda may not listen yet,
    /// or still be building the function, for up to [`FIRST_CALL_TIMEOUT`].
    pub fn first_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let started = Instant::now();
        loop {
            match self.request(method, path, headers, body, FIRST_CALL_TIMEOUT) {
                Ok(response) => return response,
                Err(_) if started.elapsed() < FIRST_CALL_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(err) => panic!("no answer from cargo lambda watch: {err}\n{}", self.log()),
            }
        }
    }

    /// POSTs `event` to the Invoke endpoint and returns the response body (a 200 only).
    pub fn invoke(&self, event: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
        let response = self.request(
            "POST",
            "/2015-03-31/functions/prod/invocations",
            &[("content-type", "application/json")],
            event,
            timeout,
        )?;
        if response.status != 200 {
            return Err(format!(
                "HTTP {} {:?}\n{}",
                response.status,
                response.headers,
                String::from_utf8_lossy(&response.body)
            ));
        }
        Ok(response.body)
    }
}

/// An HTTP/1.1 response (its body by content-length, chunked, or to the end), or why it is not
/// one.
pub fn parse_http_response(response: &[u8]) -> Result<HttpResponse, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {:?}", String::from_utf8_lossy(response)))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = response[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .map_err(|err| format!("bad chunk size: {err}"))?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size).ok_or("chunk cut short")?);
            rest = rest.get(size + 2..).ok_or("chunk cut short")?;
        }
        body = decoded;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
