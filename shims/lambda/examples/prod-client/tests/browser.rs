//! The example web page (`shims/lambda/examples/web/`) in a real browser: headless Chromium loads
//! it from one origin and it calls the example function on another with connect-es's gRPC-Web
//! transport, so every call is preceded by a CORS preflight. The page must show the `Alive`
//! answer and the three messages of a streamed `Count`, and Chromium's network log must show the
//! preflight (`OPTIONS`).
//!
//! - through the proxy's gRPC-Web port, the function behind its embedded Lambda Runtime API;
//! - through `cargo lambda watch`'s Function URL emulation (`/lambda-url/prod/`), as a browser
//!   calls a Function URL on AWS.
//!
//! The page is built here as a user builds it: `npm ci` (the committed `package-lock.json`), then
//! `npm run build` (protoc-gen-es through buf, then esbuild). npm and Chromium come from
//! `scripts/install-test-tools.sh`; without them the tests are skipped with a message, unless
//! `CI=true` makes that a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use grpc_lambda_test_support::{cargo_lambda, find_on_path, npm, npm_ci, require, workspace_dir};
use support::{start_proxy, start_watch, Server};

/// How long Chromium may take to load the page and make its calls.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
/// The page's own budget in Chromium's virtual time: the DOM is read once the page is idle or
/// this has passed (network fetches pause virtual time).
const VIRTUAL_TIME_BUDGET_MS: u32 = 30_000;
/// How long the page's static server keeps serving at most.
const STATIC_SERVER_LIFETIME: Duration = Duration::from_secs(900);
/// The most a request head to the static server may take.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// What the page shows when both calls succeeded, as Chromium serializes it.
const EXPECTED: [&str; 3] = [
    r#"<output id="alive">Hello, world. from a browser</output>"#,
    r#"<ol id="count"><li>1: 1</li><li>2: 2</li><li>3: 3</li></ol>"#,
    r#"<output id="status">done</output>"#,
];

fn web_dir() -> PathBuf {
    workspace_dir().join("shims/lambda/examples/web")
}

/// Chromium's binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
fn chromium() -> Option<PathBuf> {
    match std::env::var_os("CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)),
        None => find_on_path(&["chromium", "chromium-browser"]),
    }
}

/// Whether the tools are there (or, under CI, a failure saying which is not).
fn tools() -> Option<PathBuf> {
    let npm = find_on_path(&["npm"]);
    if !require("npm (Debian package npm)", npm.is_some()) {
        return None;
    }
    let browser = chromium();
    if !require("Chromium (Debian package chromium)", browser.is_some()) {
        return None;
    }
    browser
}

/// `npm ci` (unless `node_modules` is current) and `npm run build`, once per test binary.
fn build_page() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        npm_ci(&web_dir(), &[])?;
        npm(&web_dir(), &["run", "--silent", "build"])
    });
    if let Err(err) = built {
        panic!("building the page failed: {err}");
    }
}

/// Serves the page (`index.html`, `dist/app.js`) on its own loopback origin.
struct StaticServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    fn start() -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            while !stopped.load(Ordering::Relaxed) && start.elapsed() < STATIC_SERVER_LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = serve_file(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        StaticServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request on `stream`: the two files of the page, 404 for anything else.
fn serve_file(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let file = match path {
        "/" | "/index.html" => Some(("index.html", "text/html; charset=utf-8")),
        "/dist/app.js" => Some(("dist/app.js", "text/javascript; charset=utf-8")),
        _ => None,
    };
    let (status, content_type, body) = match file {
        Some((name, content_type)) => match std::fs::read(web_dir().join(name)) {
            Ok(body) => ("200 OK", content_type, body),
            Err(_) => ("404 Not Found", "text/plain", b"not built".to_vec()),
        },
        None => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

/// Loads the page with `endpoint` in headless Chromium and returns the DOM it serialized and
/// its network log.
fn load_page(browser: &Path, endpoint: &str) -> (String, String) {
    let page = StaticServer::start();
    let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "chromium-profile-{}-{}",
        std::process::id(),
        page.port
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let net_log = profile.join("netlog.json");
    let url = format!(
        "http://127.0.0.1:{}/index.html?endpoint={endpoint}",
        page.port
    );
    let mut chromium_process = Server::spawn(
        {
            let mut command = Command::new(browser);
            command
                .args([
                    "--headless",
                    // Chromium's sandbox cannot start as root, which CI machines often are.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-extensions",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(format!("--log-net-log={}", net_log.display()))
                .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
                .args(["--dump-dom", &url]);
            command
        },
        "chromium",
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = chromium_process.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < BROWSER_TIMEOUT,
            "Chromium still running after {BROWSER_TIMEOUT:?}:\n{}",
            chromium_process.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "Chromium: {status}\n{}",
        chromium_process.log()
    );
    let dom = chromium_process.output();
    let net_log = std::fs::read_to_string(&net_log).unwrap_or_default();
    drop(page);
    let _ = std::fs::remove_dir_all(&profile);
    (dom, net_log)
}

/// The page's assertions: both answers shown, and the browser's preflight to `path_prefix`.
fn assert_page(dom: &str, net_log: &str, path_prefix: &str, server_log: &str) {
    for expected in EXPECTED {
        assert!(
            dom.contains(expected),
            "the page does not show {expected}\npage:\n{dom}\nserver:\n{server_log}"
        );
    }
    for method in ["Alive", "Count"] {
        let preflight = format!("OPTIONS {path_prefix}api.Prod/{method} HTTP/1.1");
        assert!(
            net_log.contains(&preflight),
            "Chromium's network log has no {preflight:?}"
        );
    }
}

#[test]
fn the_page_calls_the_function_through_the_proxy_grpc_web_port() {
    let Some(browser) = tools() else { return };
    build_page();
    let (server, port) = start_proxy();

    let (dom, net_log) = load_page(&browser, &format!("http://127.0.0.1:{port}"));
    let log = server.log();
    assert_page(&dom, &net_log, "/", &log);
    // The proxy saw both calls as gRPC-Web, and both ended OK.
    for method in ["/api.Prod/Alive", "/api.Prod/Count"] {
        assert!(
            log.lines().any(|line| line.contains(method)
                && line.contains(r#""protocol":"application/grpc-web+proto""#)
                && line.contains(r#""status":"OK""#)),
            "no OK gRPC-Web call to {method} in the proxy's log:\n{log}"
        );
    }
}

#[test]
fn the_page_calls_the_function_url_under_cargo_lambda_watch() {
    let Some(browser) = tools() else { return };
    let cargo_lambda = cargo_lambda();
    if !require("cargo-lambda (PyPI)", cargo_lambda.is_some()) {
        return;
    }
    build_page();
    let (watch, port) = start_watch(&cargo_lambda.unwrap());

    let endpoint = format!("http://127.0.0.1:{port}/lambda-url/prod/");
    let (dom, net_log) = load_page(&browser, &endpoint);
    assert_page(&dom, &net_log, "/lambda-url/prod/", &watch.log());
}
