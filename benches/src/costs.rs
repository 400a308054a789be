//! L1–L4: what a Lambda user pays for a function before and around its calls, ours against the
//! anchors, each a real function binary started as a process by the local Lambda
//! (`grpc-lambda-local`, as the proxy's `--local-function` runs one; see [`crate::invoke`]).
//!
//! ```text
//!  perf-report ─ cargo build --profile function -p <package>, one package at a time
//!      │
//!      ├─ LocalLambda: sh -c 'exec <function binary>' (AWS_LAMBDA_RUNTIME_API=…) ── t0 (spawned)
//!      │     Invoke API ← the 1 KiB call, sent at once (it waits in the queue)
//!      │     Runtime API:
//!      │       GET  invocation/next   (the first)            ── t1   L1 init = t1 − t0
//!      │     the 1 KiB call's answer, whole, at the caller   ── t2   L3 cold call = t2 − t0
//!      │     the same for a 3 MiB call; VmHWM of the process        L4 peak RSS
//!      └─ stop (the process is killed)
//! ```
//!
//! t0 is taken by the local Lambda just before it spawns `sh`, so L1 and L3 include the shell's
//! start and its `exec`, the same for every function.
//!
//! - L1 init: process start → the function's first `GET /runtime/invocation/next`.
//! - L2 size of the binary, stripped (the `function` profile strips).
//! - L3 cold call: process start → the first answer (a 1 KiB unary `Alive`, gRPC-Web through a
//!   Function URL event) complete at the caller.
//! - L4 peak RSS: `VmHWM` of the function process after one 1 KiB and one 3 MiB call.
//!
//! The functions ([`FUNCTIONS`]): ours (the example function), `lambda_http` + `tonic-web` and
//! `lambda-grpc-web` serving the same `Prod` service, and the floor, a bare
//! `lambda_runtime::run(service_fn(echo))`. Each is a package of its own, built alone, so that
//! cargo's feature unification gives each exactly the features it asks for.
//!
//! Each round starts every function once, in an order rotated from round to round, so that a
//! noisy neighbour hits every side alike; a line is the median over the rounds of ours ÷ the
//! other function of the same round.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::affinity;
use crate::invoke::{grpc_status, Answer, Failure, Local};
use crate::lambda::{expected_frame, function_url_event};
use crate::{median, Line, Settings};

/// The profile the functions are built with, unless [`PROFILE_VAR`] names another.
pub const PROFILE: &str = "function";

/// The environment variable that names another profile to build the functions with (`release`,
/// to see what the `function` profile buys).
pub const PROFILE_VAR: &str = "GRPC_LAMBDA_BENCH_PROFILE";

/// Starts of each function in a full report (the median of at least 100).
pub const FULL_STARTS: usize = 101;

/// The message of the cold call (L3), and the first call of L4.
pub const SMALL_LEN: usize = 1024;

/// The message of L4's second call.
pub const LARGE_LEN: usize = 3 * 1024 * 1024;

/// What a function answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serves {
    /// The example's `api.Prod` service, gRPC-Web in HTTP API / Function URL events.
    Prod,
    /// Each event, as it came (the floor).
    Echo,
}

/// A function of the comparison: the package that builds it, and what it is built with.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// Its name in the report.
    pub name: &'static str,
    /// The package, built alone (`cargo build -p`).
    pub package: &'static str,
    /// The binary.
    pub bin: &'static str,
    /// What it answers.
    pub serves: Serves,
    /// The features it is built with, for the report.
    pub features: &'static str,
    /// Cargo's feature flags for its build.
    pub cargo_features: &'static [&'static str],
}

/// Ours: the example function (`shims/lambda/examples/prod`) without its default `json`
/// feature: gRPC, gRPC-Web, and Connect and Twirp with protobuf, as a function that needs no
/// JSON clients builds it (`json` adds prost-reflect and the descriptors' decoding at start-up;
/// its cost is in `benches/README.md`).
pub const OURS: Function = Function {
    name: "ours",
    package: "grpc-lambda-example-prod",
    bin: "prod",
    serves: Serves::Prod,
    features: "the example without `json` (`--no-default-features`): grpc-lambda + gzip; \
               lambda_runtime without tracing, + concurrency-tokio; tonic `codegen` only; tokio \
               time; on `grpc_lambda::runtime()`: one thread (a worker per CPU under Managed \
               Instances)",
    cargo_features: &["--no-default-features"],
};

/// The anchor `lambda_http` + `tonic-web` (`benches/functions/lambda-http-tonic-web`).
pub const LAMBDA_HTTP: Function = Function {
    name: "lambda_http + tonic-web",
    package: "grpc-lambda-bench-lambda-http-tonic-web",
    bin: "bench-lambda-http-tonic-web",
    serves: Serves::Prod,
    features: "lambda_http without default features, + apigw_http (no tracing); tonic-web; the \
               example's tonic service; `#[tokio::main]`: a worker per CPU",
    cargo_features: &[],
};

/// The anchor `lambda-grpc-web` 0.4 (`benches/functions/lambda-grpc-web`).
pub const LAMBDA_GRPC_WEB: Function = Function {
    name: "lambda-grpc-web",
    package: "grpc-lambda-bench-lambda-grpc-web",
    bin: "bench-lambda-grpc-web",
    serves: Serves::Prod,
    features: "lambda-grpc-web 0.4 + transport-apigw-http and its defaults (catch-panic, \
               deadline; lambda_http's and lambda_runtime's defaults: every event source, \
               tracing); the example's tonic service; `#[tokio::main]`: a worker per CPU",
    cargo_features: &[],
};

/// The floor: `lambda_runtime::run(service_fn(echo))` (`benches/functions/floor`).
pub const FLOOR: Function = Function {
    name: "floor",
    package: "grpc-lambda-bench-floor",
    bin: "bench-floor",
    serves: Serves::Echo,
    features: "lambda_runtime without default features (no tracing); serde_json; \
               `#[tokio::main]`: a worker per CPU",
    cargo_features: &[],
};

/// Ours as `cargo lambda build` builds the example, with its default `json` feature: JSON
/// clients and Connect GET, prost-reflect and the service's descriptors decoded at start-up.
/// Measured beside the others, with no goal of its own.
pub const OURS_JSON: Function = Function {
    name: "ours + json",
    package: "grpc-lambda-example-prod",
    bin: "prod",
    serves: Serves::Prod,
    features: "the example with its default features: ours + `json` (prost-reflect; \
               `Descriptors::decode` in `main`)",
    cargo_features: &[],
};

/// Every function of the L lines: ours first; the goals are ours ÷ the next three.
pub const FUNCTIONS: [Function; 5] = [OURS, LAMBDA_HTTP, LAMBDA_GRPC_WEB, FLOOR, OURS_JSON];

/// The workspace's root, where `cargo build` finds `[profile.function]`.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Builds `function` with `profile` (its package alone) and returns the binary's path.
///
/// # Errors
///
/// A message when cargo fails or names no binary.
pub fn build(function: &Function, profile: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args([
            "--profile",
            profile,
            "-p",
            function.package,
            "--bin",
            function.bin,
        ])
        .args(function.cargo_features)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cargo build -p {}: {err}", function.package))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build --profile {profile} -p {} failed: {}",
            function.package, output.status
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == function.bin)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| {
            format!(
                "cargo built no binary {} in {}",
                function.bin, function.package
            )
        })
}

/// The events of one start and what answers them.
pub struct Calls {
    small: Bytes,
    large: Bytes,
}

impl Calls {
    /// The Function URL events calling `/api.Prod/Alive` with [`SMALL_LEN`] and [`LARGE_LEN`]
    /// messages.
    pub fn new() -> Self {
        Self {
            small: function_url_event(SMALL_LEN),
            large: function_url_event(LARGE_LEN),
        }
    }
}

impl Default for Calls {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks `answer` answers `event` (carrying a `len`-byte message) as `serves` should.
///
/// # Errors
///
/// What is wrong with it.
pub fn check(serves: Serves, event: &Bytes, len: usize, answer: &Answer) -> Result<(), String> {
    match serves {
        Serves::Echo => {
            let parse = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes);
            match (parse(event), parse(&answer.payload)) {
                (Ok(sent), Ok(got)) if sent == got => Ok(()),
                _ => Err("the echo is not the event".to_owned()),
            }
        }
        Serves::Prod => {
            let (status, body) = answer.http()?;
            let expected = expected_frame(len);
            if status != 200 || !body.starts_with(&expected) {
                return Err(format!(
                    "status {status}, a body of {} bytes that is not the expected message of {}",
                    body.len(),
                    expected.len()
                ));
            }
            match grpc_status(&body[expected.len()..]) {
                Some("0") => Ok(()),
                other => Err(format!("grpc-status {other:?} after the message, not 0")),
            }
        }
    }
}

/// Warm 1 KiB calls after the cold one: their median is [`Start::warm_call`].
pub const WARM_CALLS: usize = 21;

/// What one start of a function measured.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    /// L1: process start → first `GET invocation/next`.
    pub init: Duration,
    /// L3: process start → the 1 KiB call's answer complete.
    pub cold_call: Duration,
    /// The median of [`WARM_CALLS`] 1 KiB calls after the cold one, each from sending the
    /// event to the answer complete.
    pub warm_call: Duration,
    /// The 3 MiB call, from sending the event to the answer complete.
    pub large_call: Duration,
    /// The process's peak resident set after the 1 KiB call alone, in bytes.
    pub peak_rss_small: u64,
    /// L4: the process's peak resident set after the 1 KiB and the 3 MiB call, in bytes.
    pub peak_rss: u64,
}

/// Starts the binary at `path` on a fresh local Lambda with the 1 KiB call sent at once, then
/// calls it [`WARM_CALLS`] times with it and once with the 3 MiB event, checks the answers and
/// reads its peak RSS.
///
/// # Errors
///
/// A message naming what failed.
pub fn start(path: &Path, serves: Serves, calls: &Calls) -> Result<Start, String> {
    let name = path.file_name().map_or_else(
        || "function".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let failed = |what: &str, failure: Failure| {
        format!(
            "{name}, {what}: {}: {}",
            failure.error_type, failure.message
        )
    };
    let command = format!("exec '{}' >/dev/null 2>&1", path.display());
    let local = Local::start(&command, &name)?;
    let answer = local
        .invoke(&calls.small)
        .map_err(|failure| failed("the 1 KiB call", failure))?;
    let answered = Instant::now();
    let process = local.process();
    let spawned = process
        .spawned
        .ok_or_else(|| format!("{name} answered without a process"))?;
    let cold_call = answered.saturating_duration_since(spawned);
    let init = process
        .first_poll
        .map(|first| first.saturating_duration_since(spawned))
        .ok_or_else(|| format!("{name} answered without asking for an invocation"))?;
    let pid = process
        .pid
        .ok_or_else(|| format!("{name}: no process id"))?;
    check(serves, &calls.small, SMALL_LEN, &answer)
        .map_err(|err| format!("{name}, 1 KiB: {err}"))?;
    let peak_rss_small = peak_rss(pid)?;
    let mut warm = Vec::with_capacity(WARM_CALLS);
    for _ in 0..WARM_CALLS {
        let called = Instant::now();
        let answer = local
            .invoke(&calls.small)
            .map_err(|failure| failed("a warm 1 KiB call", failure))?;
        warm.push(called.elapsed().as_secs_f64());
        check(serves, &calls.small, SMALL_LEN, &answer)
            .map_err(|err| format!("{name}, warm 1 KiB: {err}"))?;
    }
    let warm_call = Duration::from_secs_f64(median(&mut warm));
    let called = Instant::now();
    let answer = local
        .invoke(&calls.large)
        .map_err(|failure| failed("the 3 MiB call", failure))?;
    let large_call = called.elapsed();
    let peak_rss = peak_rss(pid)?;
    check(serves, &calls.large, LARGE_LEN, &answer)
        .map_err(|err| format!("{name}, 3 MiB: {err}"))?;
    Ok(Start {
        init,
        cold_call,
        warm_call,
        large_call,
        peak_rss_small,
        peak_rss,
    })
}

/// `VmHWM` of process `pid`, in bytes.
fn peak_rss(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|err| format!("{path} (L4 needs Linux): {err}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("{path} has no VmHWM line in kB"))
}

/// Starts every function of `functions` once per round, `rounds` times, the order rotated each
/// round; returns each function's starts, round by round.
///
/// The caller's thread and every function process it starts (which inherit its CPUs) stay on one
/// CPU, as a Lambda function of up to 1,769 MB has one: a multi-threaded tokio runtime then
/// starts one worker, as it does in Lambda. Left to the scheduler on a shared machine, a start
/// took either about 1.7 ms or about 3.4 ms, and the median of 100 flipped between the two from
/// run to run (the same binary read 1.9 and 3.6 ms in one run).
///
/// # Errors
///
/// The first start that failed.
pub fn measure(functions: &[(&Path, Serves)], rounds: usize) -> Result<Vec<Vec<Start>>, String> {
    // The function processes inherit this thread's CPU: see `affinity`.
    let _pinned = affinity::Pinned::current_thread(affinity::first());
    let calls = Calls::new();
    let mut starts = vec![Vec::with_capacity(rounds); functions.len()];
    for round in 0..rounds {
        for turn in 0..functions.len() {
            let index = (round + turn) % functions.len();
            let (path, serves) = functions[index];
            starts[index].push(start(path, serves, &calls)?);
        }
    }
    Ok(starts)
}

/// The median of `values`, and the 10th and 90th percentiles (the spread in the details).
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    let mid = median(&mut sorted);
    let at = |q: f64| {
        sorted
            .get(((sorted.len().saturating_sub(1)) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (mid, at(0.1), at(0.9))
}

/// The median over the rounds of `ours[r] ÷ other[r]`.
fn paired_ratio(ours: &[f64], other: &[f64]) -> f64 {
    let mut ratios: Vec<f64> = ours.iter().zip(other).map(|(o, a)| o / a).collect();
    median(&mut ratios)
}

/// One measured quantity of every function, round by round: ours first.
struct Measured<'a> {
    id: &'static str,
    what: &'static str,
    unit: &'static str,
    scale: f64,
    values: Vec<Vec<f64>>,
    functions: &'a [Function],
}

impl Measured<'_> {
    /// A line per goal: ours ÷ `functions[index]` (median of the paired rounds) against `goal`.
    fn line(&self, index: usize, goal: f64) -> Line {
        Line {
            id: self.id,
            what: format!(
                "{}, ours ÷ {} (median of paired rounds)",
                self.what, self.functions[index].name
            ),
            ratio: paired_ratio(&self.values[0], &self.values[index]),
            goal,
            at_least: false,
            details: self.medians(),
            missed_because: None,
        }
    }

    /// What each function adds to the floor (`functions[floor]`): the median over the rounds of
    /// its value less the floor's of the same round.
    fn above(&self, floor: usize) -> String {
        let parts: Vec<String> = self
            .functions
            .iter()
            .zip(&self.values)
            .enumerate()
            .filter(|&(index, _)| index != floor)
            .map(|(_, (function, values))| {
                let mut differences: Vec<f64> = values
                    .iter()
                    .zip(&self.values[floor])
                    .map(|(value, floor)| value - floor)
                    .collect();
                format!(
                    "{} {:.3} {}",
                    function.name,
                    median(&mut differences) / self.scale,
                    self.unit
                )
            })
            .collect();
        format!(
            "above the floor (median of the rounds' differences): {}",
            parts.join(", ")
        )
    }

    /// Each function's median, with the spread of its starts.
    fn medians(&self) -> Vec<String> {
        self.functions
            .iter()
            .zip(&self.values)
            .map(|(function, values)| {
                let (mid, low, high) = summary(values);
                format!(
                    "{:<24} {:>10.2} {} (p10 {:.2}, p90 {:.2}, {} starts)",
                    function.name,
                    mid / self.scale,
                    self.unit,
                    low / self.scale,
                    high / self.scale,
                    values.len()
                )
            })
            .collect()
    }
}

/// L2: ours ÷ `functions[index]`, in bytes of the binaries.
fn size_line(
    functions: &[Function],
    sizes: &[u64],
    profile: &str,
    index: usize,
    goal: f64,
) -> Line {
    let details = functions
        .iter()
        .zip(sizes)
        .map(|(function, &size)| {
            format!(
                "{:<24} {:>10} bytes ({:.2} MB)",
                function.name,
                size,
                size as f64 / 1e6
            )
        })
        .collect();
    Line {
        id: "L2",
        what: format!(
            "binary size (profile `{profile}`), ours ÷ {}",
            functions[index].name
        ),
        ratio: sizes[0] as f64 / sizes[index] as f64,
        goal,
        at_least: false,
        details,
        missed_because: None,
    }
}

/// Why L1 and L3 miss half of an anchor.
const START_IS_THE_PROCESS: &str = "a start is the process's (exec, the loader, the runtime, the \
     Runtime API connection): each anchor reaches its first `next` within 0.05 ms of the floor, \
     a bare lambda_runtime function, and its first answer within 0.2 ms, so half of an anchor is below what any function on \
     lambda_runtime takes (benches/README.md, \"What the numbers say\")";

/// Why L2 misses.
const SIZE: &str = "Connect, Twirp and gzip took ours from 1.42 to 1.60 of the floor (their \
     translation about 45 KB of code, miniz_oxide and crc32fast about 40 KB), one invocation \
     loop for both answer modes brought it back to 1.57; no feature removes a protocol the \
     function serves (benches/README.md, L2)";

/// Why L4 misses.
const BUFFERED_CALL: &str = "lambda_runtime holds a buffered 3 MiB call's 4.2 MB event twice \
     while it gathers it (collect, then to_bytes) and the 4.2 MB answer twice while it sends \
     it (serde_json::to_vec of the written JSON): about 8.4 MB over a 3.4 MB process, 0.71 of \
     lambda_http + tonic-web by itself (benches/README.md, L4)";

/// The L lines: builds every function with the `function` profile (or [`PROFILE_VAR`]'s), then
/// starts each [`FULL_STARTS`] times (as many as `settings.rounds` with `--quick`).
///
/// # Panics
///
/// When a function does not build, start or answer.
pub fn report(settings: &Settings) -> Vec<Line> {
    let profile = std::env::var(PROFILE_VAR).unwrap_or_else(|_| PROFILE.to_owned());
    // Each binary copied beside the build under a name of its own: two builds of one package
    // with other features leave the same file.
    let paths: Vec<PathBuf> = FUNCTIONS
        .iter()
        .enumerate()
        .map(|(index, function)| {
            let built = build(function, &profile).unwrap_or_else(|err| panic!("{err}"));
            let kept = built.with_file_name(format!("costs-{index}-{}", function.bin));
            std::fs::copy(&built, &kept)
                .unwrap_or_else(|err| panic!("{} -> {}: {err}", built.display(), kept.display()));
            kept
        })
        .collect();
    println!("L lines: the functions, each built alone with `cargo build --profile {profile} -p <package>`:");
    for (function, path) in FUNCTIONS.iter().zip(&paths) {
        println!(
            "      {}: {} ({})",
            function.name,
            path.display(),
            function.features
        );
    }
    let sizes: Vec<u64> = paths
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .map(|meta| meta.len())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        })
        .collect();
    let rounds = settings.rounds.min(FULL_STARTS);
    let functions: Vec<(&Path, Serves)> = FUNCTIONS
        .iter()
        .zip(&paths)
        .map(|(function, path)| (path.as_path(), function.serves))
        .collect();
    let starts = measure(&functions, rounds).unwrap_or_else(|err| panic!("{err}"));
    let column = |of: fn(&Start) -> f64| -> Vec<Vec<f64>> {
        starts
            .iter()
            .map(|starts| starts.iter().map(of).collect())
            .collect()
    };
    let init = Measured {
        id: "L1",
        what: "init, process start → first GET invocation/next",
        unit: "ms",
        scale: 1e6,
        values: column(|s| s.init.as_nanos() as f64),
        functions: &FUNCTIONS,
    };
    let cold = Measured {
        id: "L3",
        what: "cold call, process start → 1 KiB Alive answered",
        unit: "ms",
        scale: 1e6,
        values: column(|s| s.cold_call.as_nanos() as f64),
        functions: &FUNCTIONS,
    };
    let warm = Measured {
        id: "L3",
        what: "a warm 1 KiB call",
        unit: "µs",
        scale: 1e3,
        values: column(|s| s.warm_call.as_nanos() as f64),
        functions: &FUNCTIONS,
    };
    let large = Measured {
        id: "L3",
        what: "a 3 MiB call",
        unit: "ms",
        scale: 1e6,
        values: column(|s| s.large_call.as_nanos() as f64),
        functions: &FUNCTIONS,
    };
    let rss = Measured {
        id: "L4",
        what: "peak RSS (VmHWM) after a 1 KiB and a 3 MiB call",
        unit: "MB",
        scale: 1e6,
        values: column(|s| s.peak_rss as f64),
        functions: &FUNCTIONS,
    };
    let rss_small = Measured {
        id: "L4",
        what: "peak RSS (VmHWM) after the 1 KiB call alone",
        unit: "MB",
        scale: 1e6,
        values: column(|s| s.peak_rss_small as f64),
        functions: &FUNCTIONS,
    };
    let (ours, http, grpc_web, floor, json) = (0, 1, 2, 3, 4);
    debug_assert_eq!(FUNCTIONS[ours].name, OURS.name);
    debug_assert_eq!(FUNCTIONS[json].name, OURS_JSON.name);
    let groups = [
        vec![
            init.line(floor, 1.2),
            init.line(http, 0.5).missed_because(START_IS_THE_PROCESS),
            {
                let mut line = init
                    .line(grpc_web, 0.5)
                    .missed_because(START_IS_THE_PROCESS);
                line.details.push(init.above(floor));
                line
            },
        ],
        vec![
            size_line(&FUNCTIONS, &sizes, &profile, floor, 1.5).missed_because(SIZE),
            size_line(&FUNCTIONS, &sizes, &profile, http, 0.7).missed_because(SIZE),
            {
                let mut line =
                    size_line(&FUNCTIONS, &sizes, &profile, grpc_web, 0.7).missed_because(SIZE);
                line.details.push(format!(
                    "ours + json ÷ floor {:.3} (no goal: what JSON clients cost)",
                    sizes[json] as f64 / sizes[floor] as f64
                ));
                line
            },
        ],
        vec![cold.line(http, 0.5).missed_because(START_IS_THE_PROCESS), {
            let mut line = cold
                .line(grpc_web, 0.5)
                .missed_because(START_IS_THE_PROCESS);
            line.details.push(cold.above(floor));
            line.details.push(format!(
                "then, in the same process: a warm 1 KiB call (the median of {WARM_CALLS}), \
                 local Lambda round trip included:"
            ));
            line.details.extend(warm.medians());
            line.details.push("and a 3 MiB call:".to_owned());
            line.details.extend(large.medians());
            line
        }],
        vec![rss.line(http, 0.6).missed_because(BUFFERED_CALL), {
            let mut line = rss.line(grpc_web, 0.6).missed_because(BUFFERED_CALL);
            line.details.push(rss.above(floor));
            line.details
                .push("peak RSS after the 1 KiB call alone:".to_owned());
            line.details.extend(rss_small.medians());
            line
        }],
    ];
    // The medians behind a group's lines are the same: printed below its last line only.
    groups
        .into_iter()
        .flat_map(|mut group| {
            let last = group.len() - 1;
            // A reason the group's lines share is printed once, below the last, when it
            // misses too.
            let why = (!group[last].met())
                .then_some(group[last].missed_because)
                .flatten();
            for line in &mut group[..last] {
                line.details.clear();
                if why.is_some() && line.missed_because == why {
                    line.missed_because = None;
                }
            }
            group
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_paired_rounds_pairs_each_round() {
        // Round by round ours is half the other, though their medians alone say 2/3.
        let ours = [1.0, 2.0, 40.0];
        let other = [2.0, 4.0, 80.0];
        assert_eq!(paired_ratio(&ours, &other), 0.5);
    }

    #[test]
    fn the_summary_is_the_median_and_the_tenth_percentiles() {
        let values: Vec<f64> = (1..=11).map(f64::from).rev().collect();
        assert_eq!(summary(&values), (6.0, 2.0, 10.0));
    }

    #[test]
    fn above_the_floor_is_the_median_of_each_rounds_difference() {
        let measured = Measured {
            id: "L1",
            what: "init",
            unit: "ms",
            scale: 1e6,
            // Ours adds 1 ms in every round, the anchor 2 ms, whatever the round's floor.
            values: vec![
                vec![2e6, 11e6, 4e6],
                vec![3e6, 12e6, 5e6],
                vec![1e6, 10e6, 3e6],
            ],
            functions: &[OURS, LAMBDA_HTTP, FLOOR],
        };
        assert_eq!(
            measured.above(2),
            "above the floor (median of the rounds' differences): ours 1.000 ms, \
             lambda_http + tonic-web 2.000 ms"
        );
    }

    #[test]
    fn peak_rss_reads_this_process() {
        let peak = peak_rss(std::process::id()).expect("VmHWM");
        assert!(peak > 1024 * 1024, "{peak} bytes");
    }
}
