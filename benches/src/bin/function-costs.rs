//! L1, L3 and L4 of given builds of the example function, side by side: what a profile setting
//! buys (`benches/function-profile.sh` builds the variants and runs this).
//!
//! ```text
//! function-costs [--starts N] NAME=PATH…
//! ```
//!
//! Each round starts every build once (the order rotated from round to round) against a loopback
//! Runtime API, as `perf-report -- costs` does; each build's line is its size and its medians.

use std::path::PathBuf;

use grpc_lambda_benches::costs::{measure, Serves, FULL_STARTS};
use grpc_lambda_benches::median;

fn main() {
    let mut starts = FULL_STARTS;
    let mut builds: Vec<(String, PathBuf)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--starts" {
            match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => starts = n,
                None => fail("--starts needs a number of starts"),
            }
        } else if let Some((name, path)) = arg.split_once('=') {
            builds.push((name.to_owned(), PathBuf::from(path)));
        } else {
            fail(&format!("{arg:?} is not NAME=PATH"));
        }
    }
    if builds.is_empty() {
        fail("usage: function-costs [--starts N] NAME=PATH…");
    }
    let functions: Vec<_> = builds
        .iter()
        .map(|(_, path)| (path.as_path(), Serves::Prod))
        .collect();
    let measured = measure(&functions, starts).unwrap_or_else(|err| fail(&err));
    println!(
        "{:<28} {:>10} {:>10} {:>14} {:>14} {:>12} {:>14}   ({starts} starts each, medians)",
        "build",
        "bytes",
        "L1 init µs",
        "L3 cold call µs",
        "warm 1 KiB µs",
        "3 MiB call µs",
        "L4 peak RSS kB"
    );
    for ((name, path), starts) in builds.iter().zip(&measured) {
        let size = std::fs::metadata(path).map_or(0, |meta| meta.len());
        let of = |value: fn(&grpc_lambda_benches::costs::Start) -> f64| {
            median(&mut starts.iter().map(value).collect::<Vec<_>>())
        };
        println!(
            "{name:<28} {size:>10} {:>10.0} {:>14.0} {:>14.1} {:>12.0} {:>14.0}",
            of(|s| s.init.as_secs_f64() * 1e6),
            of(|s| s.cold_call.as_secs_f64() * 1e6),
            of(|s| s.warm_call.as_secs_f64() * 1e6),
            of(|s| s.large_call.as_secs_f64() * 1e6),
            of(|s| s.peak_rss as f64 / 1024.0),
        );
    }
}

fn fail(message: &str) -> ! {
    eprintln!("function-costs: {message}");
    std::process::exit(2)
}
