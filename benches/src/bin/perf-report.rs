//! Paired-run ratios of ours against the anchors, one line per goal:
//!
//! ```text
//! cargo run --release -p grpc-lambda-benches --bin perf-report [-- --quick] [base64|frames|lambda|streaming|costs|l5…]
//! ```
//!
//! Each line reads `P<n> <what> : <ratio> (goal <= <goal>)` (or `>=` where ours must be that many
//! times faster), `L<n>` for the costs of a function (start, size, memory; `costs`, which builds
//! the function binaries with `cargo build --profile function` first; `l5`, warm calls through
//! the proxy, builds the example function the same way); the exit status is 1 when
//! a goal is missed.

use grpc_lambda_benches::{
    base64, connect, costs, frames, lambda, streaming, warm, Line, Settings,
};

/// One area of the report: its lines, measured with the given settings.
type Area = fn(&Settings) -> Vec<Line>;

/// P5: the invocation on its own against `lambda_http` + `tonic-web`, then (with the default
/// `lambda-grpc-web` feature) through a Runtime API against `lambda-grpc-web`.
fn lambda_area(settings: &Settings) -> Vec<Line> {
    let lines = lambda::report(settings);
    #[cfg(feature = "lambda-grpc-web")]
    let lines = [
        lines,
        grpc_lambda_benches::lambda_grpc_web::report(settings),
    ]
    .concat();
    lines
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // P6 runs this binary again as the Lambda function it streams from.
    if args.iter().any(|arg| arg == streaming::FUNCTION_ARG) {
        streaming::run_function();
        return;
    }
    // P5 through a Runtime API runs it as each of its functions.
    #[cfg(feature = "lambda-grpc-web")]
    if let [flag, name] = &args[..] {
        if flag == grpc_lambda_benches::lambda_grpc_web::FUNCTION_ARG {
            if let Err(err) = grpc_lambda_benches::lambda_grpc_web::run_function(name) {
                eprintln!("{err}");
                std::process::exit(1);
            }
            return;
        }
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    // Optional area names (base64, frames, lambda, connect, streaming, costs, l5) run only those areas.
    let only: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let settings = if quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    println!(
        "perf-report ({}: {} paired rounds of ~{} ms samples; medians)",
        if quick { "quick" } else { "full" },
        settings.rounds,
        settings.sample.as_millis()
    );
    let mut missed = 0;
    let areas: [(&str, Area); 7] = [
        ("base64", base64::report),
        ("frames", frames::report),
        ("lambda", lambda_area),
        ("connect", connect::report),
        ("streaming", streaming::report),
        ("costs", costs::report),
        ("l5", warm::report),
    ];
    for (name, area) in areas {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        for line in area(&settings) {
            print!("{line}");
            if !line.met() {
                missed += 1;
            }
        }
    }
    if missed > 0 {
        println!("{missed} goal(s) missed");
        std::process::exit(1);
    }
}
