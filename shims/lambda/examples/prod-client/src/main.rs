//! `prod-client`: a native gRPC client for the example function (`api.Prod`), so that a call can
//! be shown succeeding with nothing but the Rust toolchain. `scripts/serve-local.sh` runs it
//! against the proxy it starts.
//!
//! ```text
//! prod-client [--message TEXT] [--count N] [--wait-secs S] [ADDRESS]
//! ```
//!
//! It calls `Alive` with `TEXT` and `Count` for `N` streamed messages, printing each answer:
//!
//! ```text
//! Alive: Hello, world. from prod-client
//! Count: 1 of 3
//! Count: 2 of 3
//! Count: 3 of 3
//! ```
//!
//! `ADDRESS` defaults to `http://127.0.0.1:50051` (HTTP/2 cleartext). Until `--wait-secs` have
//! passed, a refused connection is retried, so the client can be started with the server.
//! The exit status is 0 when both calls succeed, 1 when a call fails (its gRPC status printed),
//! 2 when the arguments are wrong. `--help` prints the usage.
#![deny(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};

/// The client and messages generated from `shims/lambda/examples/prod/proto/prod.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod api {
    tonic::include_proto!("api");
}

use api::prod_client::ProdClient;
use api::{AliveRequest, CountRequest};

/// Where `scripts/serve-local.sh` serves the example: the proxy's default listen address.
const DEFAULT_ADDRESS: &str = "http://127.0.0.1:50051";
/// The message sent to `Alive` unless `--message` says otherwise.
const DEFAULT_MESSAGE: &str = " from prod-client";
/// How many messages `Count` streams unless `--count` says otherwise.
const DEFAULT_COUNT: i32 = 3;
/// How long a refused connection is retried unless `--wait-secs` says otherwise.
const DEFAULT_WAIT_SECS: u64 = 60;
/// The pause between two connection attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// How long each call may take: the first one also starts the function process.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: prod-client [--message TEXT] [--count N] [--wait-secs S] [ADDRESS]
  ADDRESS        the proxy (or any api.Prod server), default http://127.0.0.1:50051
  --message      appended to \"Hello, world.\" by Alive, default \" from prod-client\"
  --count        how many messages Count streams, default 3 (0 skips the call)
  --wait-secs    how long a refused connection is retried, default 60
  -h, --help     this text";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    /// Make the calls.
    Call(Options),
    /// Print the usage.
    Help,
}

/// Where to call and with what.
#[derive(Debug, PartialEq)]
struct Options {
    address: String,
    message: String,
    count: i32,
    wait: Duration,
}

/// Reads the command line (without the program name).
///
/// # Errors
///
/// A message naming the argument that is unknown, lacks its value, or has a value that is not
/// a number in range.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        address: DEFAULT_ADDRESS.to_owned(),
        message: DEFAULT_MESSAGE.to_owned(),
        count: DEFAULT_COUNT,
        wait: Duration::from_secs(DEFAULT_WAIT_SECS),
    };
    let mut address = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--message" => options.message = value("--message")?,
            "--count" => {
                let text = value("--count")?;
                options.count = text
                    .parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        format!("--count {text:?} is not a number from 0 to {}", i32::MAX)
                    })?;
            }
            "--wait-secs" => {
                let text = value("--wait-secs")?;
                let secs = text
                    .parse::<u64>()
                    .map_err(|_| format!("--wait-secs {text:?} is not a number of seconds"))?;
                options.wait = Duration::from_secs(secs);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ if address.is_some() => return Err(format!("a second address {arg:?}")),
            _ => address = Some(arg),
        }
    }
    if let Some(address) = address {
        options.address = address;
    }
    Ok(Command::Call(options))
}

/// Connects to `address`, retrying a refused connection until `wait` has passed.
async fn connect(address: &str, wait: Duration) -> Result<Channel, String> {
    let endpoint = Endpoint::from_shared(address.to_owned())
        .map_err(|err| format!("{address:?} is not a URI: {err}"))?
        .timeout(CALL_TIMEOUT);
    let start = Instant::now();
    loop {
        match endpoint.connect().await {
            Ok(channel) => return Ok(channel),
            Err(err) if start.elapsed() >= wait => {
                return Err(format!(
                    "cannot connect to {address} after {} s: {err}",
                    wait.as_secs()
                ))
            }
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    }
}

/// Makes both calls, printing each answer as it arrives.
async fn call(options: &Options) -> Result<(), String> {
    let channel = connect(&options.address, options.wait).await?;
    let mut client = ProdClient::new(channel);
    let failed = |method: &str, status: tonic::Status| {
        format!("{method} failed: {:?}: {}", status.code(), status.message())
    };

    let alive = client
        .alive(AliveRequest {
            message: options.message.clone(),
        })
        .await
        .map_err(|status| failed("Alive", status))?;
    println!("Alive: {}", alive.into_inner().message);

    if options.count == 0 {
        return Ok(());
    }
    let mut stream = client
        .count(CountRequest {
            n: options.count,
            delay_ms: 0,
        })
        .await
        .map_err(|status| failed("Count", status))?
        .into_inner();
    let mut received = 0;
    while let Some(answer) = stream
        .message()
        .await
        .map_err(|status| failed("Count", status))?
    {
        received += 1;
        println!("Count: {} of {}", answer.message, options.count);
    }
    if received != options.count {
        return Err(format!(
            "Count ended after {received} of {} messages",
            options.count
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Command::Call(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("prod-client: {err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match call(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("prod-client: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn defaults_call_the_local_proxy() {
        assert_eq!(
            parse(args(&[])).unwrap(),
            Command::Call(Options {
                address: "http://127.0.0.1:50051".to_owned(),
                message: " from prod-client".to_owned(),
                count: 3,
                wait: Duration::from_secs(60),
            })
        );
        assert_eq!(
            parse(args(&["--count", "1", "--help"])).unwrap(),
            Command::Help
        );
    }

    #[test]
    fn every_option_and_the_address() {
        let options = parse(args(&[
            "--count",
            "0",
            "http://127.0.0.1:6000",
            "--message",
            "!",
            "--wait-secs",
            "5",
        ]))
        .unwrap();
        assert_eq!(
            options,
            Command::Call(Options {
                address: "http://127.0.0.1:6000".to_owned(),
                message: "!".to_owned(),
                count: 0,
                wait: Duration::from_secs(5),
            })
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            parse(args(&["--count", "-1"])).unwrap_err(),
            "--count \"-1\" is not a number from 0 to 2147483647"
        );
        assert_eq!(
            parse(args(&["--wait-secs", "soon"])).unwrap_err(),
            "--wait-secs \"soon\" is not a number of seconds"
        );
        assert_eq!(
            parse(args(&["--message"])).unwrap_err(),
            "--message needs a value"
        );
        assert_eq!(
            parse(args(&["--verbose"])).unwrap_err(),
            "unknown option \"--verbose\""
        );
        assert_eq!(
            parse(args(&["a", "b"])).unwrap_err(),
            "a second address \"b\""
        );
    }
}
