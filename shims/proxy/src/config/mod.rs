//! Configuration: command-line flags, and optionally a TOML file (flags win).
//!
//! ```toml
//! listen = "127.0.0.1:50051"
//! admin = "127.0.0.1:9901"
//!
//! [tls]                      # optional: serve HTTPS (ALPN h2 and http/1.1)
//! cert = "cert.pem"
//! key = "key.pem"
//!
//! [limits]
//! max_concurrent_streams = 1000
//! max_header_list_size = 16384
//! max_request_bytes = 4718592
//! max_message_bytes = 4718592
//! half_close_wait_secs = 1.0   # a silent, open request stream after whole messages: bidi
//! max_bytes_in_flight = 268435456   # request and response bytes held by all calls
//! request_body_timeout_secs = 30.0  # for the request body, when the client sets no grpc-timeout
//! first_bytes_timeout_secs = 10.0   # TLS handshake / first request bytes of a new connection
//! idle_timeout_secs = 120.0         # GOAWAY to a connection with no open stream
//! max_connections = 4096            # more are closed at once
//!
//! [lambda]
//! region = "eu-west-1"
//! endpoint = "http://127.0.0.1:9000"   # cargo lambda watch
//! h2c = false                          # HTTP/2 prior knowledge to an http:// endpoint
//! full_credential_chain = false        # the whole AWS chain even for a loopback endpoint
//!
//! [[routes]]
//! match = "api.Prod"         # every method of the service
//! lambda = "arn:aws:lambda:eu-west-1:123456789012:function:prod:live"
//!
//! [[routes]]
//! match = "/api.Prod/Count"  # server streaming: InvokeWithResponseStream, messages as written
//! lambda = "prod"
//! streaming = true
//!
//! [[routes]]
//! match = "chat.Chat"        # bidirectional methods: all requests first, then all responses
//! lambda = "chat"
//! bidi = "half-duplex"       # or "unimplemented": answered UNIMPLEMENTED with the reason
//! request_body_timeout_secs = 300.0   # a half-duplex route's own wait for the request stream
//!
//! [[routes]]
//! match = "/api.Prod/Fail"   # one method
//! url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use crate::error::ConfigError;
pub use args::Args;
use file::FileConfig;

mod args;
mod file;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

pub use crate::limits::{
    Limits, DEFAULT_FIRST_BYTES_TIMEOUT, DEFAULT_HALF_CLOSE_WAIT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_BODY_TIMEOUT,
};

/// Where a route sends calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetConfig {
    /// A Lambda function: name, `name:qualifier` or ARN.
    Lambda(String),
    /// An HTTPS front door (API Gateway, a Function URL) spoken to in gRPC-Web.
    Url(String),
    /// The function started with `--local-function`.
    Local,
}

impl TargetConfig {
    /// Reads a target: `https://…`/`http://…` (front door), `local`, or a Lambda function.
    pub fn parse(text: &str) -> TargetConfig {
        let text = text.trim();
        if text.starts_with("https://") || text.starts_with("http://") {
            TargetConfig::Url(text.to_owned())
        } else if text == "local" {
            TargetConfig::Local
        } else {
            TargetConfig::Lambda(text.strip_prefix("lambda:").unwrap_or(text).to_owned())
        }
    }
}

/// One route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    /// The pattern ([`crate::route::Pattern::parse`]).
    pub pattern: String,
    /// The target.
    pub target: TargetConfig,
    /// Invoke with `InvokeWithResponseStream` (Lambda and local targets): messages reach the
    /// client as the function writes them.
    pub streaming: bool,
    /// What bidirectional calls on this route get.
    pub bidi: BidiPolicy,
    /// The route's own [`Limits::request_body_timeout`] (`half-duplex` routes only).
    pub request_body_timeout: Option<Duration>,
}

/// What a route does with bidirectional-streaming calls. The proxy cannot tell a bidirectional
/// method from the wire (a client-streaming call looks the same), so a route says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BidiPolicy {
    /// Not stated: every call is one invocation of the whole request stream (read to the
    /// client's half-close), then the responses. A bidirectional client that half-closes gets
    /// its answers; one that waits for a response first waits until its deadline.
    #[default]
    Unstated,
    /// The route's bidirectional methods run half-duplex: all requests first (one invocation),
    /// then all responses, streamed.
    HalfDuplex,
    /// Calls on the route are answered `UNIMPLEMENTED` at once, naming the reason, without
    /// reading the request or invoking the function.
    Unimplemented,
}

/// The embedded Lambda service and the function process it runs (`--local-*` flags, `[local]`),
/// as `grpc_lambda_local` takes it (feature `local` runs it).
pub use grpc_lambda_local::LocalConfig;

/// The whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the proxy listens.
    pub listen: SocketAddr,
    /// Where the admin server (metrics, health) listens.
    pub admin: Option<SocketAddr>,
    /// Certificate and key files: serve TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Limits.
    pub limits: Limits,
    /// Routes, in order.
    pub routes: Vec<RouteConfig>,
    /// The Lambda endpoint override.
    pub lambda_endpoint: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// Speak HTTP/2 with prior knowledge to an `http://` Lambda endpoint (HTTPS endpoints
    /// negotiate it with ALPN anyway).
    pub lambda_h2c: bool,
    /// Look credentials up with the whole AWS chain (web identity, the container endpoint,
    /// instance metadata) even for a loopback Lambda endpoint, which otherwise gets only the
    /// environment and the shared files: an endpoint on loopback that forwards to AWS.
    pub full_credential_chain: bool,
    /// The embedded function.
    pub local: Option<LocalConfig>,
    /// Extra CA files to trust for HTTPS targets.
    pub ca_files: Vec<PathBuf>,
    /// One log line per call on stderr.
    pub log_calls: bool,
    /// How long calls in flight get to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

/// The longest time any setting takes: a year. Longer ones are refused rather than risk an
/// instant or a timer past what the clock can hold.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

fn seconds(value: f64, setting: &'static str) -> Result<Duration, ConfigError> {
    if value > MAX_SECONDS {
        return Err(ConfigError::TooManySeconds {
            setting,
            value,
            max: MAX_SECONDS,
        });
    }
    Duration::try_from_secs_f64(value).map_err(|_| ConfigError::Seconds { setting, value })
}

/// `value` seconds as a duration, or `default` when not given.
fn seconds_or(
    value: Option<f64>,
    setting: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    value.map_or(Ok(default), |secs| seconds(secs, setting))
}

impl Config {
    /// The configuration from flags, and the file they name.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the flag, file or key that is wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use clap::Parser;
    /// use grpc_lambda_proxy::config::{Args, Config, TargetConfig};
    ///
    /// let args = Args::parse_from(["grpc-lambda-proxy", "--route", "api.Prod=prod:live"]);
    /// let config = Config::from_args(args)?;
    /// assert_eq!(config.routes[0].target, TargetConfig::Lambda("prod:live".into()));
    /// # Ok::<(), grpc_lambda_proxy::config::ConfigError>(())
    /// ```
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|source| ConfigError::Parse {
                    path: Some(path.clone()),
                    source,
                })?
            }
            None => FileConfig::default(),
        };
        Config::merge(args, file)
    }

    /// The configuration from a TOML text alone (no flags).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the key that is wrong.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let file = toml::from_str::<FileConfig>(text)
            .map_err(|source| ConfigError::Parse { path: None, source })?;
        Config::merge(Args::default(), file)
    }

    fn merge(args: Args, file: FileConfig) -> Result<Config, ConfigError> {
        let defaults = Limits::default();
        let max_timeout = match args.max_timeout.or(file.limits.max_timeout_secs) {
            Some(secs) => Some(seconds(secs, "max_timeout")?),
            None => None,
        };
        let limits = Limits {
            max_concurrent_streams: args
                .max_concurrent_streams
                .or(file.limits.max_concurrent_streams)
                .unwrap_or(defaults.max_concurrent_streams),
            max_header_list_size: args
                .max_header_list_size
                .or(file.limits.max_header_list_size)
                .unwrap_or(defaults.max_header_list_size),
            max_request_bytes: args
                .max_request_bytes
                .or(file.limits.max_request_bytes)
                .unwrap_or(defaults.max_request_bytes),
            max_message_bytes: args
                .max_message_bytes
                .or(file.limits.max_message_bytes)
                .unwrap_or(defaults.max_message_bytes),
            max_timeout,
            half_close_wait: seconds_or(
                args.half_close_wait.or(file.limits.half_close_wait_secs),
                "half_close_wait",
                defaults.half_close_wait,
            )?,
            max_bytes_in_flight: args
                .max_bytes_in_flight
                .or(file.limits.max_bytes_in_flight)
                .unwrap_or(defaults.max_bytes_in_flight),
            request_body_timeout: seconds_or(
                args.request_body_timeout
                    .or(file.limits.request_body_timeout_secs),
                "request_body_timeout",
                defaults.request_body_timeout,
            )?,
            first_bytes_timeout: seconds_or(
                args.first_bytes_timeout
                    .or(file.limits.first_bytes_timeout_secs),
                "first_bytes_timeout",
                defaults.first_bytes_timeout,
            )?,
            idle_timeout: seconds_or(
                args.idle_timeout.or(file.limits.idle_timeout_secs),
                "idle_timeout",
                defaults.idle_timeout,
            )?,
            max_connections: args
                .max_connections
                .or(file.limits.max_connections)
                .unwrap_or(defaults.max_connections),
        };
        let mut routes = Vec::new();
        for route in file.routes {
            let target = match (route.lambda, route.url, route.local) {
                (Some(function), None, false) => TargetConfig::Lambda(function),
                (None, Some(url), false) => TargetConfig::Url(url),
                (None, None, true) => TargetConfig::Local,
                _ => {
                    return Err(ConfigError::RouteTarget {
                        pattern: route.pattern,
                    })
                }
            };
            let request_body_timeout = match route.request_body_timeout_secs {
                Some(_) if route.bidi != BidiPolicy::HalfDuplex => {
                    return Err(ConfigError::RouteBodyTimeout {
                        pattern: route.pattern,
                    })
                }
                Some(secs) => Some(seconds(secs, "route request_body_timeout_secs")?),
                None => None,
            };
            routes.push(RouteConfig {
                pattern: route.pattern,
                target,
                streaming: route.streaming,
                bidi: route.bidi,
                request_body_timeout,
            });
        }
        for route in &args.routes {
            let (pattern, target) =
                route
                    .split_once('=')
                    .ok_or_else(|| ConfigError::RouteFlag {
                        value: route.clone(),
                    })?;
            routes.push(RouteConfig {
                pattern: pattern.to_owned(),
                target: TargetConfig::parse(target),
                streaming: args.response_streaming,
                bidi: args.bidi.unwrap_or_default(),
                request_body_timeout: None,
            });
        }
        if let Some(function) = &args.function {
            routes.push(RouteConfig {
                pattern: "/".to_owned(),
                target: TargetConfig::parse(function),
                streaming: args.response_streaming,
                bidi: args.bidi.unwrap_or_default(),
                request_body_timeout: None,
            });
        }
        let local = match (args.local_function, file.local) {
            (Some(command), file_local) => Some((command, file_local)),
            (None, Some(file_local)) => Some((file_local.command.clone(), Some(file_local))),
            (None, None) => None,
        };
        let local = match local {
            Some((command, file_local)) => {
                let timeout = args
                    .local_timeout
                    .or(file_local.as_ref().and_then(|l| l.timeout_secs))
                    .unwrap_or(grpc_lambda_local::DEFAULT_TIMEOUT.as_secs_f64());
                Some(LocalConfig {
                    command,
                    function: args
                        .local_name
                        .or(file_local.as_ref().and_then(|l| l.function.clone()))
                        .unwrap_or_else(|| "function".to_owned()),
                    timeout: seconds(timeout, "local timeout")?,
                    concurrency: args
                        .local_concurrency
                        .or(file_local.as_ref().and_then(|l| l.concurrency))
                        .unwrap_or(1)
                        .max(1),
                    max_concurrency: args
                        .local_max_concurrency
                        .or(file_local.as_ref().and_then(|l| l.max_concurrency))
                        .unwrap_or(1)
                        .max(1),
                    max_queue: args
                        .local_max_queue
                        .or(file_local.as_ref().and_then(|l| l.max_queue))
                        .unwrap_or(grpc_lambda_local::DEFAULT_MAX_QUEUE),
                    port: args
                        .local_port
                        .or(file_local.as_ref().and_then(|l| l.port))
                        .unwrap_or(0),
                })
            }
            None => None,
        };
        if local.is_some() && routes.is_empty() {
            routes.push(RouteConfig {
                pattern: "/".to_owned(),
                target: TargetConfig::Local,
                streaming: args.response_streaming,
                bidi: args.bidi.unwrap_or_default(),
                request_body_timeout: None,
            });
        }
        // A catch-all route that refuses every call is a configuration mistake: the flag was
        // meant for one method.
        if args.bidi == Some(BidiPolicy::Unimplemented)
            && routes
                .iter()
                .any(|r| r.bidi == BidiPolicy::Unimplemented && r.pattern == "/")
        {
            return Err(ConfigError::CatchAllUnimplemented);
        }
        if local.is_none() && routes.iter().any(|r| r.target == TargetConfig::Local) {
            return Err(ConfigError::LocalWithoutFunction);
        }
        if routes.is_empty() && !args.no_routes {
            return Err(ConfigError::NoRoutes);
        }
        let tls = match (args.tls_cert, args.tls_key, file.tls) {
            (Some(cert), Some(key), _) => Some((cert, key)),
            (_, _, Some(tls)) => Some((tls.cert, tls.key)),
            _ => None,
        };
        let mut ca_files = file.ca_files;
        ca_files.extend(args.ca_file);
        Ok(Config {
            listen: args.listen.or(file.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 50051)))
            }),
            admin: args.admin.or(file.admin),
            tls,
            limits,
            routes,
            lambda_endpoint: args.lambda_endpoint.or(file.lambda.endpoint),
            region: args.region.or(file.lambda.region),
            lambda_h2c: args.lambda_h2c || file.lambda.h2c.unwrap_or(false),
            full_credential_chain: args.full_credential_chain
                || file.lambda.full_credential_chain.unwrap_or(false),
            local,
            ca_files,
            log_calls: !args.quiet && file.log_calls.unwrap_or(true),
            shutdown_grace: seconds(
                args.shutdown_grace
                    .or(file.shutdown_grace_secs)
                    .unwrap_or(30.0),
                "shutdown grace",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn a_time_past_a_year_is_refused_naming_the_limit() {
        let err = Config::from_toml(
            "[limits]\nmax_timeout_secs = 1e19\n[[routes]]\nmatch = \"/\"\nlambda = \"f\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("max_timeout") && err.contains("a year"),
            "{err}"
        );
        let args = Args::parse_from(["p", "--function", "f", "--idle-timeout", "1e19"]);
        let err = Config::from_args(args).unwrap_err().to_string();
        assert!(err.contains("over the longest setting"), "{err}");
    }

    #[test]
    fn a_file_and_flags() {
        let config = Config::from_toml(
            r#"
            listen = "127.0.0.1:6000"
            [limits]
            max_concurrent_streams = 10
            [[routes]]
            match = "api.Prod"
            lambda = "prod"
            [[routes]]
            match = "/api.Prod/Fail"
            url = "https://example.com/prod"
            "#,
        )
        .unwrap();
        assert_eq!(config.listen.port(), 6000);
        assert_eq!(config.limits.max_concurrent_streams, 10);
        assert_eq!(config.routes.len(), 2);
        assert_eq!(
            config.routes[1].target,
            TargetConfig::Url("https://example.com/prod".into())
        );
        let err = Config::from_toml("[[routes]]\nmatch = \"/\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one of"), "{err}");
        let err = Config::from_toml("listen = 5").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        let args = Args::parse_from(["p", "--local-function", "./fn", "--local-timeout", "2"]);
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.routes[0].target, TargetConfig::Local);
        assert_eq!(config.local.unwrap().timeout, Duration::from_secs(2));
        let err = Config::from_args(Args::parse_from(["p"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no routes"), "{err}");
    }

    #[test]
    fn streaming_and_bidi_per_route() {
        let config = Config::from_toml(
            r#"
            [[routes]]
            match = "/api.Prod/Count"
            lambda = "prod"
            streaming = true
            [[routes]]
            match = "/chat.Chat/Talk"
            lambda = "chat"
            bidi = "half-duplex"
            [[routes]]
            match = "/chat.Chat/PingPong"
            lambda = "chat"
            bidi = "unimplemented"
            [[routes]]
            match = "/"
            lambda = "other"
            "#,
        )
        .unwrap();
        let routes = &config.routes;
        assert!(routes[0].streaming && routes[0].bidi == BidiPolicy::Unstated);
        assert!(!routes[1].streaming && routes[1].bidi == BidiPolicy::HalfDuplex);
        assert_eq!(routes[2].bidi, BidiPolicy::Unimplemented);
        assert!(!routes[3].streaming && routes[3].bidi == BidiPolicy::Unstated);
        let err = Config::from_toml("[[routes]]\nmatch = \"/\"\nlambda = \"f\"\nbidi = \"full\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bidi") || err.contains("variant"), "{err}");
        let args = Args::parse_from([
            "p",
            "--route",
            "api.Prod=prod",
            "--response-streaming",
            "--bidi",
            "half-duplex",
        ]);
        let config = Config::from_args(args).unwrap();
        assert!(config.routes[0].streaming);
        assert_eq!(config.routes[0].bidi, BidiPolicy::HalfDuplex);
    }

    #[test]
    fn the_limits_on_hostile_clients_from_a_file_and_flags() {
        let config = Config::from_toml(
            r#"
            [limits]
            max_bytes_in_flight = 1048576
            request_body_timeout_secs = 5.0
            first_bytes_timeout_secs = 2.0
            idle_timeout_secs = 60.0
            max_connections = 100
            [[routes]]
            match = "chat.Chat"
            lambda = "chat"
            bidi = "half-duplex"
            request_body_timeout_secs = 600.0
            "#,
        )
        .unwrap();
        let limits = &config.limits;
        assert_eq!(limits.max_bytes_in_flight, 1 << 20);
        assert_eq!(limits.request_body_timeout, Duration::from_secs(5));
        assert_eq!(limits.first_bytes_timeout, Duration::from_secs(2));
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
        assert_eq!(limits.max_connections, 100);
        assert_eq!(
            config.routes[0].request_body_timeout,
            Some(Duration::from_secs(600))
        );
        let err = Config::from_toml(
            "[[routes]]\nmatch = \"/\"\nlambda = \"f\"\nrequest_body_timeout_secs = 1.0\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bidi = \"half-duplex\""), "{err}");
        let args = Args::parse_from(["p", "--route", "/=f", "--max-connections", "7"]);
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.limits.max_connections, 7);
        assert_eq!(
            config.limits.max_bytes_in_flight,
            crate::budget::DEFAULT_MAX_BYTES_IN_FLIGHT
        );
    }

    #[test]
    fn bidi_unimplemented_on_a_catch_all_route_is_refused() {
        for flags in [
            &["p", "--local-function", "./fn", "--bidi", "unimplemented"][..],
            &["p", "--function", "f", "--bidi", "unimplemented"],
        ] {
            let err = Config::from_args(Args::parse_from(flags))
                .unwrap_err()
                .to_string();
            assert!(err.contains("exact pattern in the config file"), "{err}");
        }
        let args = Args::parse_from([
            "p",
            "--route",
            "/chat.Chat/Talk=f",
            "--bidi",
            "unimplemented",
        ]);
        assert!(Config::from_args(args).is_ok());
    }
}
