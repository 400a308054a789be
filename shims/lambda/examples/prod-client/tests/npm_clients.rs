//! The example function called by stock clients from npm and by curl, through every sample event
//! shape and through the proxy: connect-es's Connect transport (binary and JSON; unary, errors
//! with details, metadata both ways, server streaming, deadlines, gzip, GET), its gRPC-Web transport
//! (binary and JSON), twirp-ts's Twirp client (JSON and protobuf), and curl with JSON, a Connect
//! GET and the errors a hand-written request earns.
//!
//! - Behind each sample event in `shims/lambda/tests/data/aws-events/` (API Gateway REST API with
//!   and without a stage or custom domain, HTTP API, Function URL, ALB, VPC Lattice): the `prod`
//!   binary runs under a local Lambda service (`grpc-lambda-local`, the Runtime API the function
//!   polls, the Invoke API the front door calls), and a front door played by the test
//!   ([`grpc_lambda_test_support::front_door`]) puts each client request into the sample's shape
//!   and the answer back into HTTP. That translation is the test's; the clients and the
//!   function are real.
//! - Through `grpc-lambda-proxy --local-function`, which runs the function itself.
//! - Through `cargo lambda watch`'s Function URL emulation (`/lambda-url/prod/`).
//!
//! `Fail`'s `grpc-status-details-bin` is a `google.rpc.Status` carrying a `google.rpc.ErrorInfo`,
//! which every protocol's error must carry as a detail, with the echoed metadata.
//!
//! The clients are `shims/lambda/examples/clients/calls.mjs` (one Node run per front door makes
//! every call and prints each outcome as JSON, compared here field for field) after `npm ci`
//! from its committed `package-lock.json`. npm (with Node) and curl come from
//! `scripts/install-test-tools.sh`; without them the tests are skipped with a message, unless
//! `CI=true` makes that a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod support;

use grpc_lambda_local::{LocalConfig, LocalLambda};
use grpc_lambda_test_support::front_door::{FrontDoor, Invoke};
use grpc_lambda_test_support::{
    cargo_lambda, find_on_path, npm_ci, require, stop_process_group, workspace_binary,
    workspace_dir,
};
use serde_json::{json, Map, Value};
use support::{start_proxy, start_watch, Server};

/// How long one Node run (every call of one front door) may take.
const NODE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most a curl call may take, in seconds.
const CURL_MAX_TIME: &str = "30";

fn clients_dir() -> PathBuf {
    workspace_dir().join("shims/lambda/examples/clients")
}

fn events_dir() -> PathBuf {
    workspace_dir().join("shims/lambda/tests/data/aws-events")
}

/// Whether node, npm and curl are there (or, under CI, a failure saying which is not), and the
/// clients installed.
fn tools() -> bool {
    if !require("npm (Debian package npm)", find_on_path(&["npm"]).is_some())
        || !require(
            "node (Debian package nodejs)",
            find_on_path(&["node"]).is_some(),
        )
        || !require(
            "curl (Debian package curl)",
            find_on_path(&["curl"]).is_some(),
        )
    {
        return false;
    }
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    // The generated code is committed: the clients need the runtime packages only.
    let installed = INSTALLED.get_or_init(|| npm_ci(&clients_dir(), &["--omit=dev"]));
    if let Err(err) = installed {
        panic!("installing the Node clients failed: {err}");
    }
    true
}

/// The request samples: every event in `aws-events/` but the response samples.
fn samples() -> Vec<(String, String)> {
    let mut samples: Vec<(String, String)> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .filter(|path| !path.to_string_lossy().ends_with("-response.json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 20, "the samples are missing: {samples:?}");
    samples
}

/// The echoed metadata as each call reports it.
fn echo_headers(content_type: &str) -> Value {
    json!({"content-type": content_type, "x-echo": "v1", "x-echo-bin": "AAECAw"})
}

fn echo_trailers() -> Value {
    json!({"x-echo-trailer": "v1", "x-echo-trailer-bin": "AAECAw"})
}

/// `Fail`'s error as connect-es reports it: its `google.rpc.ErrorInfo` detail (reason
/// `BAD_MESSAGE`, domain `example.grpc-lambda`; connect-es's base64 is padded), and every echo
/// in the metadata.
fn fail_error() -> Value {
    json!({"error": {
        "code": "invalid_argument",
        "message": "bad: x",
        "details": [{"type": "google.rpc.ErrorInfo", "value": "CgtCQURfTUVTU0FHRRITZXhhbXBsZS5ncnBjLWxhbWJkYQ=="}],
        "metadata": {"x-echo": "v1", "x-echo-bin": "AAECAw", "x-echo-trailer": "v1", "x-echo-trailer-bin": "AAECAw"},
    }})
}

/// Where the clients call the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    /// A front door's event straight to the function: the shim holds the deadline.
    Event,
    /// The proxy, which holds the deadline itself on the Lambda hop.
    Proxy,
    /// `cargo lambda watch`'s Function URL emulation: as [`Door::Event`], but it answers a
    /// request with `content-type: application/json` and a gzipped (binary) body with a 500 of
    /// its own before the function is called (it reads a JSON body as text). AWS's Function URLs
    /// pass such a body on base64-encoded, as the test's front door does.
    Watch,
}

/// The deadline error for the slow stream (`n: 3`, a second apart, 200 ms allowed), whichever
/// header (`grpc-timeout`, `connect-timeout-ms`) carried it. The shim answers with the first message, sent before
/// the deadline, and the echoed headers; the proxy, whose Lambda hop is buffered, with neither.
fn deadline_error(door: Door) -> Value {
    match door {
        Door::Event | Door::Watch => json!({"messages": [{"n": 1, "message": "1"}], "error": {
            "code": "deadline_exceeded",
            "message": "deadline exceeded: the call did not finish within the client's timeout (grpc-timeout or connect-timeout-ms) of 200ms",
            "details": [],
            "metadata": {"x-echo": "v1", "x-echo-bin": "AAECAw"},
        }}),
        // The proxy names both headers a client may have sent, whichever it was.
        Door::Proxy => json!({"messages": [], "error": {
            "code": "deadline_exceeded",
            "message": "the call's deadline (200 ms, the client's grpc-timeout or connect-timeout-ms) expired before the function answered",
            "details": [],
            "metadata": {},
        }}),
    }
}

/// What every call of `calls.mjs` must give, by name.
fn expected(door: Door) -> Map<String, Value> {
    let mut expected = Map::new();
    let count = json!([
        {"n": 1, "message": "1"}, {"n": 2, "message": "2"}, {"n": 3, "message": "3"}
    ]);
    for (codec, unary_type, stream_type, grpc_web_type) in [
        (
            "proto",
            "application/proto",
            "application/connect+proto",
            "application/grpc-web+proto",
        ),
        (
            "json",
            "application/json",
            "application/connect+json",
            "application/grpc-web+json",
        ),
    ] {
        let alive = |content_type| json!({"message": "Hello, world.x", "headers": echo_headers(content_type), "trailers": echo_trailers()});
        let stream = |content_type| json!({"messages": count, "headers": echo_headers(content_type), "trailers": echo_trailers()});
        let cases = [
            (format!("grpc_web.{codec}.alive"), alive(grpc_web_type)),
            (format!("grpc_web.{codec}.fail"), fail_error()),
            (format!("grpc_web.{codec}.count"), stream(grpc_web_type)),
            // gRPC-Web with protobuf reaches the service as gRPC does, compressed: the
            // example's tonic server accepts no gzip and answers as gRPC says a server must.
            // With JSON, the shim reads (and so inflates) the message before the service.
            (
                format!("grpc_web.{codec}.gzip_alive"),
                if codec == "proto" {
                    json!({"error": {"code": "unimplemented", "details": [], "message": "Content is compressed with `gzip` which isn't supported", "metadata": {}}})
                } else {
                    alive(grpc_web_type)
                },
            ),
            (format!("grpc_web.{codec}.deadline"), deadline_error(door)),
            (format!("connect.{codec}.alive"), alive(unary_type)),
            (format!("connect.{codec}.fail"), fail_error()),
            (format!("connect.{codec}.count"), stream(stream_type)),
            (format!("connect.{codec}.deadline"), deadline_error(door)),
            // The client holds the deadline too: whichever side ends the call first, the code.
            (
                format!("connect.{codec}.timeout"),
                json!({"error": {"code": "deadline_exceeded"}}),
            ),
            (format!("connect.{codec}.gzip_alive"), alive(unary_type)),
            (format!("connect.{codec}.gzip_count"), stream(stream_type)),
            (format!("connect.{codec}.get"), alive(unary_type)),
            (
                format!("twirp.{codec}.alive"),
                json!({"message": "Hello, world.x"}),
            ),
            (
                format!("twirp.{codec}.fail"),
                json!({"error": {"code": "invalid_argument", "msg": "bad: x", "meta": {}}}),
            ),
        ];
        for (name, value) in cases {
            expected.insert(name, value);
        }
    }
    if door == Door::Watch {
        expected.insert(
            "connect.json.gzip_alive".to_owned(),
            json!({"error": {"code": "unknown", "message": "HTTP 500", "details": [], "metadata": {}}}),
        );
    }
    expected
}

/// Runs `calls.mjs` against `base_url` and returns each call's outcome.
fn run_clients(base_url: &str) -> Result<Map<String, Value>, String> {
    let mut child = Command::new("node")
        .arg("calls.mjs")
        .arg(base_url)
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("node: {err}"))?;
    let start = Instant::now();
    while child.try_wait().map_err(|err| err.to_string())?.is_none() {
        if start.elapsed() > NODE_TIMEOUT {
            stop_process_group(&mut child);
            return Err(format!(
                "node calls.mjs {base_url}: still running after {NODE_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().map_err(|err| err.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "node calls.mjs {base_url}: {}\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    match serde_json::from_str(&stdout) {
        Ok(Value::Object(results)) => Ok(results),
        _ => Err(format!(
            "node calls.mjs {base_url} printed no JSON object:\n{stdout}"
        )),
    }
}

/// A call whose outcome differs from the expected one: its name, and what was expected and got.
type Difference = (String, String);

/// Each call whose outcome differs from the expected one.
fn differences(door: Door, got: &Map<String, Value>) -> Vec<Difference> {
    let expected = expected(door);
    let mut out = Vec::new();
    for (name, expected) in &expected {
        let Some(actual) = got.get(name) else {
            out.push((name.clone(), "not called".to_owned()));
            continue;
        };
        let same = if name.ends_with(".timeout") {
            actual["error"]["code"] == expected["error"]["code"]
        } else if door == Door::Proxy && name.ends_with(".deadline") {
            // The function's headers reach the proxy when it starts its answer, which can be
            // just before or just after the proxy's deadline: with or without them, the rest
            // of the error is the same.
            let mut actual = actual.clone();
            if actual["error"]["metadata"] == json!({"x-echo": "v1", "x-echo-bin": "AAECAw"}) {
                actual["error"]["metadata"] = json!({});
            }
            &actual == expected
        } else {
            actual == expected
        };
        if !same {
            out.push((
                name.clone(),
                format!("expected {expected}\n      got {actual}"),
            ));
        }
    }
    for name in got.keys().filter(|name| !expected.contains_key(*name)) {
        out.push((name.clone(), "not expected".to_owned()));
    }
    out
}

/// The differences of every front door, one block per call and outcome, naming the front doors
/// that gave it.
fn report(differences: &[(String, Difference)], doors: usize) -> String {
    let mut groups: Vec<(&Difference, Vec<&str>)> = Vec::new();
    for (door, difference) in differences {
        match groups.iter_mut().find(|(d, _)| *d == difference) {
            Some((_, doors)) => doors.push(door),
            None => groups.push((difference, vec![door])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
        .iter()
        .map(|((name, detail), which)| {
            let which = if which.len() == doors && doors > 1 {
                format!("all {doors} front doors")
            } else {
                format!("{which:?}")
            };
            format!("{name} through {which}:\n      {detail}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An HTTP response as curl printed it with `-i`.
struct CurlAnswer {
    status: u16,
    content_type: String,
    body: String,
}

fn curl(args: &[&str]) -> Result<CurlAnswer, String> {
    let output = Command::new("curl")
        .args(["-sS", "-i", "--max-time", CURL_MAX_TIME])
        .args(args)
        .output()
        .map_err(|err| format!("curl: {err}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "curl {args:?}: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("curl {args:?}: no HTTP head in {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("curl {args:?}: no status in {head:?}"))?;
    let content_type = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    Ok(CurlAnswer {
        status,
        content_type,
        body: body.to_owned(),
    })
}

/// curl's calls under `base_url` (ending in `/`), each one that differs from the expected answer
/// as a line: Connect and Twirp with JSON, a Connect GET, and the errors a hand-written request
/// can earn (malformed JSON and an unknown field named with their byte offsets, a GET of a method
/// with side effects, a Twirp method the service does not have).
fn curl_differences(base_url: &str) -> Vec<Difference> {
    let alive = format!("{base_url}api.Prod/Alive");
    let fail = format!("{base_url}api.Prod/Fail");
    let twirp = format!("{base_url}twirp/api.Prod/Alive");
    // `{"message":"x"}`, URL-encoded.
    let get = format!(
        "{base_url}api.Prod/Alive?connect=v1&encoding=json&message=%7B%22message%22%3A%22x%22%7D"
    );
    let get_fail = format!(
        "{base_url}api.Prod/Fail?connect=v1&encoding=json&message=%7B%22message%22%3A%22x%22%7D"
    );
    let twirp_fail = format!("{base_url}twirp/api.Prod/Fail");
    let twirp_nope = format!("{base_url}twirp/api.Prod/Nope");
    let json = |body| ["-H", "content-type: application/json", "--data", body];
    let json_post = json(r#"{"message":"x"}"#);
    let hello = r#"{"message":"Hello, world.x"}"#;
    let calls: Vec<(&str, Vec<&str>, u16, &str, &str)> = vec![
        (
            "curl Connect malformed JSON",
            [&json(r#"{"message":"#)[..], &[alive.as_str()]].concat(),
            400,
            "application/json",
            r#"{"code":"invalid_argument","message":"the request message is not valid JSON for its type: malformed JSON at byte 10: EOF while parsing a value"}"#,
        ),
        (
            "curl Connect unknown JSON field",
            [&json(r#"{"nope":"x"}"#)[..], &[alive.as_str()]].concat(),
            400,
            "application/json",
            r#"{"code":"invalid_argument","message":"the request message is not valid JSON for its type: unknown JSON field \"nope\" at byte 6"}"#,
        ),
        (
            "curl Connect GET of a method with side effects",
            vec![get_fail.as_str()],
            405,
            "application/json",
            r#"{"code":"unimplemented","message":"/api.Prod/Fail may not be called with GET: only a method marked idempotency_level = NO_SIDE_EFFECTS may; use POST"}"#,
        ),
        (
            "curl Twirp JSON error",
            [&json_post[..], &[twirp_fail.as_str()]].concat(),
            400,
            "application/json",
            r#"{"code":"invalid_argument","msg":"bad: x","meta":{}}"#,
        ),
        (
            "curl Twirp unknown method",
            [&json_post[..], &[twirp_nope.as_str()]].concat(),
            404,
            "application/json",
            r#"{"code":"bad_route","msg":"method /api.Prod/Nope is not in the service's descriptors","meta":{}}"#,
        ),
        (
            "curl Connect JSON POST",
            [&json_post[..], &[alive.as_str()]].concat(),
            200,
            "application/json",
            hello,
        ),
        (
            "curl Connect JSON error",
            [&json_post[..], &[fail.as_str()]].concat(),
            400,
            "application/json",
            r#"{"code":"invalid_argument","message":"bad: x","details":[{"type":"google.rpc.ErrorInfo","value":"CgtCQURfTUVTU0FHRRITZXhhbXBsZS5ncnBjLWxhbWJkYQ"}]}"#,
        ),
        (
            "curl Connect GET",
            vec![get.as_str()],
            200,
            "application/json",
            hello,
        ),
        (
            "curl Twirp JSON",
            [&json_post[..], &[twirp.as_str()]].concat(),
            200,
            "application/json",
            hello,
        ),
    ];
    let mut out = Vec::new();
    for (name, args, status, content_type, body) in calls {
        match curl(&args) {
            Ok(answer)
                if answer.status == status
                    && answer.content_type == content_type
                    && answer.body == body => {}
            Ok(answer) => out.push((
                name.to_owned(),
                format!(
                    "expected {status} {content_type} {body}\n      got {} {} {}",
                    answer.status,
                    answer.content_type,
                    answer.body.trim_end()
                ),
            )),
            Err(err) => out.push((name.to_owned(), err)),
        }
    }
    out
}

/// Every call through one front door at `base_url`: the Node clients' and curl's, each
/// difference as a line.
fn all_differences(door: Door, base_url: &str) -> Vec<Difference> {
    let mut out = match run_clients(base_url) {
        Ok(results) => differences(door, &results),
        Err(err) => vec![("node".to_owned(), err)],
    };
    out.extend(curl_differences(base_url));
    out
}

#[test]
fn npm_clients_call_the_function_through_every_sample_event_shape() {
    if !tools() {
        return;
    }
    let function = workspace_binary("grpc-lambda-example-prod", "prod");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lambda = runtime
        .block_on(LocalLambda::start(LocalConfig::new(
            format!("exec {}", function.display()),
            "prod",
        )))
        .unwrap();
    let invoke = Invoke::new(lambda.addr(), "prod");

    let mut failures = Vec::new();
    let mut passed = 0;
    let samples = samples();
    for (name, sample) in &samples {
        let door = FrontDoor::start(sample, invoke.clone()).unwrap();
        let base_url = door.base_url();
        let mut differences = all_differences(Door::Event, &base_url);
        // connect-es sent the side-effect-free `Alive` as a Connect GET.
        let prefix = base_url
            .trim_start_matches("http://")
            .split_once('/')
            .unwrap()
            .1;
        let get = format!("/{prefix}api.Prod/Alive?connect=v1&");
        let seen = door.seen();
        if !seen
            .iter()
            .any(|s| s.method == "GET" && s.target.starts_with(&get))
        {
            differences.push(("Connect GET".to_owned(), format!("no GET {get}…")));
        }
        if differences.is_empty() {
            passed += 1;
        }
        failures.extend(differences.into_iter().map(|d| (name.clone(), d)));
    }
    lambda.stop();
    eprintln!("{passed} sample event shapes passed every call");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        report(&failures, samples.len())
    );
}

/// Every call through the server `name` at `base_url`, which must give what `door` gives; its
/// log shown on failure.
fn assert_server(door: Door, name: &str, base_url: &str, server: &Server) {
    let differences: Vec<(String, Difference)> = all_differences(door, base_url)
        .into_iter()
        .map(|d| (name.to_owned(), d))
        .collect();
    assert!(
        differences.is_empty(),
        "{} failures through {name}:\n{}\nlog:\n{}",
        differences.len(),
        report(&differences, 1),
        server.log()
    );
}

#[test]
fn npm_clients_call_the_function_through_the_proxy() {
    if !tools() {
        return;
    }
    let (proxy, port) = start_proxy();
    assert_server(
        Door::Proxy,
        "the proxy",
        &format!("http://127.0.0.1:{port}/"),
        &proxy,
    );
}

#[test]
fn npm_clients_call_the_function_url_under_cargo_lambda_watch() {
    if !tools() {
        return;
    }
    let cargo_lambda = cargo_lambda();
    if !require("cargo-lambda (PyPI)", cargo_lambda.is_some()) {
        return;
    }
    let (watch, port) = start_watch(&cargo_lambda.unwrap());
    let base_url = format!("http://127.0.0.1:{port}/lambda-url/prod/");
    assert_server(
        Door::Watch,
        "cargo lambda watch's Function URL",
        &base_url,
        &watch,
    );
}

/// What a method is, as far as a client can tell: name, types, streaming, idempotency.
fn methods(file: &prost_types::FileDescriptorProto) -> Vec<(String, String, String, bool, i32)> {
    file.service
        .iter()
        .flat_map(|service| &service.method)
        .map(|m| {
            (
                m.name().to_owned(),
                m.input_type().to_owned(),
                m.output_type().to_owned(),
                m.server_streaming(),
                m.options
                    .as_ref()
                    .map_or(0, |o| o.idempotency_level() as i32),
            )
        })
        .collect()
}

/// A message's fields: name, number, type.
type Fields = Vec<(String, i32, i32)>;

/// Each message's fields.
fn messages(file: &prost_types::FileDescriptorProto) -> Vec<(String, Fields)> {
    file.message_type
        .iter()
        .map(|m| {
            let fields = m
                .field
                .iter()
                .map(|f| (f.name().to_owned(), f.number(), f.r#type() as i32))
                .collect();
            (m.name().to_owned(), fields)
        })
        .collect()
}

/// The committed `gen/prod_pb.js` (the clients run it as is, no build step) is what `npm run
/// generate` makes of the example's `prod.proto` today: the descriptor it embeds has the same
/// methods (`Alive` side-effect free, so connect-es may send it as a GET) and messages.
#[test]
fn the_committed_client_code_is_generated_from_the_examples_proto() {
    use prost::Message as _;
    let generated = std::fs::read_to_string(clients_dir().join("gen/prod_pb.js")).unwrap();
    let embedded = generated
        .split_once("fileDesc(\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(base64, _)| base64)
        .expect("gen/prod_pb.js embeds no descriptor");
    // Unpadded base64, as protoc-gen-es writes it.
    let padded = format!("{embedded}{}", "=".repeat((4 - embedded.len() % 4) % 4));
    let bytes = grpc_lambda_test_support::base64_decode(&padded).expect("the descriptor is base64");
    let embedded = prost_types::FileDescriptorProto::decode(&bytes[..]).unwrap();
    let proto_dir = workspace_dir().join("shims/lambda/examples/prod/proto");
    let compiled = protox::compile(["prod.proto"], [proto_dir]).unwrap();
    let compiled = compiled
        .file
        .iter()
        .find(|f| f.name() == "prod.proto")
        .unwrap();
    assert_eq!(
        methods(&embedded),
        methods(compiled),
        "gen/prod_pb.js is stale: run `npm run generate` in shims/lambda/examples/clients"
    );
    assert_eq!(messages(&embedded), messages(compiled));
    assert_eq!(
        methods(compiled)[0],
        (
            "Alive".to_owned(),
            ".api.AliveRequest".to_owned(),
            ".api.AliveResponse".to_owned(),
            false,
            prost_types::method_options::IdempotencyLevel::NoSideEffects as i32
        ),
        "prod.proto must mark Alive NO_SIDE_EFFECTS"
    );
}
