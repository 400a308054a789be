//! The README's first quick-start command, as a user runs it: `scripts/serve-local.sh` builds the
//! proxy, the example function and `prod-client`, serves the function behind the proxy's embedded
//! Lambda Runtime API, and the client's call succeeds. `--once` stops it after the call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grpc_lambda_test_support::{free_port, stop_process_group, workspace_binary, workspace_dir};

/// How long the script may take, its builds included (the test's own build made them fresh).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// The script in its own process group, stopped with everything it started, by that group's id.
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        stop_process_group(&mut self.0);
    }
}

#[test]
fn serve_local_serves_the_example_and_a_call_succeeds() {
    let listen = format!("127.0.0.1:{}", free_port());
    let admin = format!("127.0.0.1:{}", free_port());
    let out = std::env::temp_dir().join(format!("serve-local-{}.out", std::process::id()));
    let err = out.with_extension("err");
    let mut script = Script(
        Command::new("bash")
            .arg(workspace_dir().join("scripts/serve-local.sh"))
            .arg("--once")
            .env("SERVE_LOCAL_LISTEN", &listen)
            .env("SERVE_LOCAL_ADMIN", &admin)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = script.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < SCRIPT_TIMEOUT,
            "serve-local.sh --once still running after {SCRIPT_TIMEOUT:?}; stderr:\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
    assert!(
        status.success(),
        "serve-local.sh --once: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        stdout,
        format!(
            "serving api.Prod on {listen} (gRPC, gRPC-Web); metrics and health on {admin}\n\
             Alive: Hello, world. from prod-client\n\
             Count: 1 of 3\nCount: 2 of 3\nCount: 3 of 3\n"
        ),
        "stderr:\n{stderr}"
    );
    // The proxy logged both calls as OK, and stopped after them.
    for method in ["/api.Prod/Alive", "/api.Prod/Count"] {
        assert!(
            stderr.lines().any(|line| line.contains(method)
                && line.contains(r#""status":"OK""#)
                && line.contains(r#""target":"lambda:prod""#)),
            "no OK call to {method} in the proxy's log:\n{stderr}"
        );
    }
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn the_client_names_a_server_it_cannot_reach() {
    let client = workspace_binary("grpc-lambda-example-prod-client", "prod-client");
    // A port nothing listens on: bound, then released.
    let address = format!("http://127.0.0.1:{}", free_port());
    let output = Command::new(client)
        .args(["--wait-secs", "0", &address])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "prod-client: cannot connect to {address} after 0 s: "
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn serve_local_names_an_address_already_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let output = Command::new("bash")
        .arg(workspace_dir().join("scripts/serve-local.sh"))
        .arg("--once")
        .env("SERVE_LOCAL_LISTEN", &listen)
        .env("SERVE_LOCAL_ADMIN", format!("127.0.0.1:{}", free_port()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "serve-local.sh: something already listens on {listen} (another serve-local.sh?); \
             set SERVE_LOCAL_LISTEN to another address\n"
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
