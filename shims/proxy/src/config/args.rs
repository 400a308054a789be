//! The command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use super::BidiPolicy;

/// Command-line flags.
#[derive(Parser, Debug, Default)]
#[command(
    name = "grpc-lambda-proxy",
    version,
    about = "Native gRPC (HTTP/2, real trailers) and gRPC-Web in, AWS Lambda invocations out"
)]
pub struct Args {
    /// A TOML configuration file (flags override it).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Listen address [default: 127.0.0.1:50051].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Admin address: /metrics (Prometheus) and grpc.health.v1.
    #[arg(long)]
    pub admin: Option<SocketAddr>,
    /// A route, `PATTERN=TARGET`: `/pkg.Svc/Method`, `pkg.Svc` or `/` to a function name or ARN,
    /// `https://front.door/base`, or `local`. Repeatable.
    #[arg(long = "route", short = 'r')]
    pub routes: Vec<String>,
    /// Send every call to this function (same as `--route /=FUNCTION`).
    #[arg(long)]
    pub function: Option<String>,
    /// Invoke the functions of the command-line routes with InvokeWithResponseStream, so
    /// server-streaming messages reach the client as the function writes them.
    #[arg(long)]
    pub response_streaming: bool,
    /// Bidirectional methods on the command-line routes: `half-duplex` (all requests in one
    /// invocation, then all responses) or `unimplemented` (answered UNIMPLEMENTED at once).
    #[arg(long, value_enum)]
    pub bidi: Option<BidiPolicy>,
    /// The Lambda Invoke API endpoint (e.g. `cargo lambda watch`'s http://127.0.0.1:9000).
    #[arg(long)]
    pub lambda_endpoint: Option<String>,
    /// The AWS region (else the function ARN's, AWS_REGION, AWS_DEFAULT_REGION, the profile's,
    /// instance metadata's, us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Speak HTTP/2 with prior knowledge (h2c) to an http:// Lambda endpoint.
    #[arg(long)]
    pub lambda_h2c: bool,
    /// Look AWS credentials up with the whole chain (web identity, container endpoint, instance
    /// metadata) even for a loopback --lambda-endpoint, which otherwise gets only the
    /// environment and the shared config and credentials files.
    #[arg(long)]
    pub full_credential_chain: bool,
    /// Run this function command locally behind an embedded Lambda Runtime API.
    #[arg(long)]
    pub local_function: Option<String>,
    /// The local function's name [default: function].
    #[arg(long)]
    pub local_name: Option<String>,
    /// The local function's timeout in seconds [default: 30].
    #[arg(long)]
    pub local_timeout: Option<f64>,
    /// Local function processes: execution environments, each a process of its own
    /// [default: 1]. Together with --local-max-concurrency this is the capacity: processes ×
    /// invocations per process run at once; more calls wait in the queue
    /// (--local-max-queue), and beyond it are throttled.
    #[arg(long)]
    pub local_concurrency: Option<usize>,
    /// Invocations one local function process takes at once, as Lambda Managed Instances run
    /// them: sets AWS_LAMBDA_MAX_CONCURRENCY for the function, whose runtime then polls for that
    /// many at once (grpc-lambda does) [default: 1, classic Lambda]. Capacity before calls
    /// queue: --local-concurrency × --local-max-concurrency.
    #[arg(long)]
    pub local_max_concurrency: Option<usize>,
    /// Invocations that may wait for a local process before being throttled [default: 1000].
    #[arg(long)]
    pub local_max_queue: Option<usize>,
    /// The embedded service's port [default: any].
    #[arg(long)]
    pub local_port: Option<u16>,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A CA certificate (PEM) to trust for HTTPS targets. Repeatable.
    #[arg(long)]
    pub ca_file: Vec<PathBuf>,
    /// HTTP/2 concurrent streams per connection [default: 1000].
    #[arg(long)]
    pub max_concurrent_streams: Option<u32>,
    /// Largest header list, bytes [default: 16384].
    #[arg(long)]
    pub max_header_list_size: Option<u32>,
    /// Largest request body, bytes [default: 4718592].
    #[arg(long)]
    pub max_request_bytes: Option<usize>,
    /// Largest request message, bytes [default: 4718592].
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Deadline for calls without grpc-timeout, and a cap for those with one, seconds.
    #[arg(long)]
    pub max_timeout: Option<f64>,
    /// Seconds a client that sent whole messages may hold its request stream open, silent,
    /// before the call is answered UNIMPLEMENTED as bidirectional; 0 waits for the half-close
    /// [default: 1].
    #[arg(long)]
    pub half_close_wait: Option<f64>,
    /// Request and response bytes all calls may hold at once [default: 268435456].
    #[arg(long)]
    pub max_bytes_in_flight: Option<usize>,
    /// Seconds a request body may take to arrive when the client sets no grpc-timeout
    /// [default: 30].
    #[arg(long)]
    pub request_body_timeout: Option<f64>,
    /// Seconds a new connection has for its TLS handshake and first bytes [default: 10].
    #[arg(long)]
    pub first_bytes_timeout: Option<f64>,
    /// Seconds a connection may stay with no open stream before GOAWAY [default: 120].
    #[arg(long)]
    pub idle_timeout: Option<f64>,
    /// Client connections open at once; more are closed when accepted [default: 4096].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds calls in flight get to finish after SIGTERM [default: 30].
    #[arg(long)]
    pub shutdown_grace: Option<f64>,
    /// No per-call log lines.
    #[arg(long)]
    pub quiet: bool,
    /// Start without routes (a program embedding the proxy adds its own).
    #[arg(long, hide = true)]
    pub no_routes: bool,
}
