//! What the end-to-end suites of the workspace share: workspace binaries built once per test
//! binary, the rule for external tools (fail under CI, skip with a reason elsewhere), and the
//! Python clients' shared module, the npm installs of the Node clients, and a front door played
//! by the test ([`front_door`], over [`aws_event`]).
//!
//! ```no_run
//! use grpc_lambda_test_support::{python, python_has, require, workspace_binary};
//!
//! let proxy = workspace_binary("grpc-lambda-proxy", "grpc-lambda-proxy");
//! if require("grpcio (Python)", python_has("grpc")) {
//!     let output = python("tests/python/client.py").arg("127.0.0.1:50051").output();
//! }
//! # let _ = proxy;
//! ```

pub mod aws_event;
pub mod front_door;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace root.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_dir().join("target"),
    }
}

/// Builds `bin` of workspace package `package` (debug profile) once per test binary and returns
/// its path. Panics naming the package when the build fails.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, String), PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    // A test that panicked while holding the lock leaves the map as it was: still usable.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = (package.to_owned(), bin.to_owned());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(workspace_dir())
        .status()
        .unwrap_or_else(|err| panic!("cargo build -p {package}: {err}"));
    assert!(status.success(), "building {package} ({bin}) failed");
    let path = target_dir().join("debug").join(bin);
    assert!(path.exists(), "no {bin} binary at {}", path.display());
    built.insert(key, path.clone());
    path
}

/// Whether an external tool is usable. When it is not: panics under CI (`CI=true` or `1`), where
/// `scripts/install-test-tools.sh` has installed everything, and otherwise prints why the test is
/// skipped and answers `false`.
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

/// Whether `python3` runs at all.
pub fn python_usable() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `python3` can import `module`.
pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The directory of the Python module the clients share (`protowire.py`).
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// `python3 script` with the shared module importable.
pub fn python(script: impl AsRef<Path>) -> Command {
    let mut command = Command::new("python3");
    command.arg(script.as_ref()).env("PYTHONPATH", python_dir());
    command
}

/// Where cargo-lambda is: `$CARGO_LAMBDA`, `PATH`, or the Python user base (where
/// `scripts/install-test-tools.sh` installs it from PyPI).
pub fn cargo_lambda() -> Option<PathBuf> {
    pip_tool("cargo-lambda", "CARGO_LAMBDA")
}

/// Where a command installed from PyPI is: `$env_var` when set, else on `PATH`, else in the
/// `bin` folder of the Python user base (where `pip install --user` puts it).
pub fn pip_tool(name: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    find_on_path(&[name]).or_else(|| {
        let output = Command::new("python3")
            .args(["-m", "site", "--user-base"])
            .output()
            .ok()?;
        let base = String::from_utf8(output.stdout).ok()?;
        let candidate = PathBuf::from(base.trim()).join("bin").join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// The first of `names` found as a file in a directory of `PATH`.
pub fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A loopback port free at the time of the call: bound, then released.
///
/// # Panics
///
/// When no loopback port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// Stops `child`, started as the leader of its own process group (`process_group(0)`), with
/// everything it started: SIGTERM to the group, by the group's id, then waits for `child`.
/// Without a `kill` command to reach the group, kills `child` alone.
pub fn stop_process_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let signalled = Command::new("kill").args(["-TERM", "--", &group]).status();
    if !signalled.is_ok_and(|status| status.success()) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    grpc_lambda_core::base64::encode_to_string(bytes, &mut out);
    out
}

/// Standard base64, padded or not; `None` when `text` is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    grpc_lambda_core::base64::decode(text.as_bytes())
        .ok()
        .map(|bytes| bytes.to_vec())
}

/// Whether `node_modules` in `dir` was installed from the current `package-lock.json` (npm writes
/// its own copy, `node_modules/.package-lock.json`, when it installs).
pub fn npm_installed_from_current_lock(dir: &Path) -> bool {
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

/// `npm ci` in `dir` with `args` added, unless `node_modules` is current: the versions of the
/// committed `package-lock.json`, from the npm registry.
///
/// # Errors
///
/// npm's status and output when it fails or cannot be started.
pub fn npm_ci(dir: &Path, args: &[&str]) -> Result<(), String> {
    if npm_installed_from_current_lock(dir) {
        return Ok(());
    }
    npm(
        dir,
        &[&["ci", "--no-audit", "--no-fund", "--loglevel=error"], args].concat(),
    )
}

/// `npm ARGS` in `dir`.
///
/// # Errors
///
/// npm's status and output when it fails or cannot be started.
pub fn npm(dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|err| format!("npm {args:?}: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "npm {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
