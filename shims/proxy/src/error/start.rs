//! Why the proxy does not start: a configuration that is wrong, or a resource it cannot have.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A configuration that cannot run, naming the flag, file or key that is wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file cannot be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it reported.
        source: std::io::Error,
    },
    /// The configuration is not valid TOML, or holds a key or value the proxy does not know.
    Parse {
        /// The file, or `None` for a text given directly.
        path: Option<PathBuf>,
        /// What the TOML reader reported (with the line and column).
        source: toml::de::Error,
    },
    /// A number of seconds that is not one (negative, not finite).
    Seconds {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: f64,
    },
    /// A number of seconds longer than the longest setting, [`crate::config::MAX_SECONDS`].
    TooManySeconds {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: f64,
        /// The longest setting, seconds.
        max: f64,
    },
    /// A `[[routes]]` entry names no target or more than one.
    RouteTarget {
        /// The route's `match`.
        pattern: String,
    },
    /// A route that is not `half-duplex` sets its own `request_body_timeout_secs`.
    RouteBodyTimeout {
        /// The route's `match`.
        pattern: String,
    },
    /// A `--route` value that is not `PATTERN=TARGET`.
    RouteFlag {
        /// The value given.
        value: String,
    },
    /// `--bidi unimplemented` on the catch-all route would refuse every method.
    CatchAllUnimplemented,
    /// A route targets `local`, and no local function is configured.
    LocalWithoutFunction,
    /// No route at all.
    NoRoutes,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "config file {}: {source}", path.display())
            }
            ConfigError::Parse {
                path: Some(path),
                source,
            } => write!(f, "config file {}: {source}", path.display()),
            ConfigError::Parse { path: None, source } => write!(f, "config: {source}"),
            ConfigError::TooManySeconds {
                setting,
                value,
                max,
            } => write!(
                f,
                "{setting}: {value} seconds is over the longest setting, {max} seconds (a year)"
            ),
            ConfigError::Seconds { setting, value } => {
                write!(f, "{setting}: {value} is not a number of seconds")
            }
            ConfigError::RouteTarget { pattern } => write!(
                f,
                "route {pattern:?}: give exactly one of lambda = \"…\", url = \"…\", local = true"
            ),
            ConfigError::RouteBodyTimeout { pattern } => write!(
                f,
                "route {pattern:?}: request_body_timeout_secs is for routes with \
                 bidi = \"half-duplex\"; other routes use [limits] request_body_timeout_secs"
            ),
            ConfigError::RouteFlag { value } => write!(
                f,
                "--route {value:?}: expected PATTERN=TARGET, e.g. api.Prod=my-function"
            ),
            ConfigError::CatchAllUnimplemented => f.write_str(
                "--bidi unimplemented with the catch-all route of --local-function or --function \
                 would answer every method UNIMPLEMENTED: give the bidirectional methods a route \
                 of their own with an exact pattern in the config file (match = \
                 \"/package.Service/Method\", bidi = \"unimplemented\")",
            ),
            ConfigError::LocalWithoutFunction => {
                f.write_str("a route targets `local` but no --local-function is given")
            }
            ConfigError::NoRoutes => f.write_str(
                "no routes: give --route PATTERN=TARGET, --function NAME, --local-function CMD, \
                 or [[routes]] in the config file",
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Parse { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a configured proxy could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is inconsistent (one built by hand rather than read from flags or a file).
    Config(ConfigError),
    /// A port cannot be listened on.
    Bind {
        /// `listen` or `admin`.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// What the system reported.
        source: std::io::Error,
    },
    /// A file cannot be read.
    File {
        /// What the file is for (`CA file`, `certificate file`…).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What reading it reported.
        source: std::io::Error,
    },
    /// A PEM file holds nothing usable, or TLS refuses the certificates or the key.
    Tls {
        /// What was being set up, naming the files.
        what: String,
        /// What the PEM reader or rustls reported.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The embedded Lambda service did not start.
    Local {
        /// What it reported.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration needs a feature this build leaves out.
    Feature {
        /// The feature.
        feature: &'static str,
        /// What needs it.
        needed_for: &'static str,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(err) => err.fmt(f),
            StartError::Bind { what, addr, source } => write!(f, "{what} on {addr}: {source}"),
            StartError::File { what, path, source } => {
                write!(f, "{what} {}: {source}", path.display())
            }
            StartError::Tls { what, source } => write!(f, "{what}: {source}"),
            StartError::Local { source } => write!(f, "embedded Lambda service: {source}"),
            StartError::Feature {
                feature,
                needed_for,
            } => write!(
                f,
                "{needed_for} needs the proxy's `{feature}` feature, left out of this build"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } | StartError::File { source, .. } => Some(source),
            StartError::Tls { source, .. } | StartError::Local { source } => Some(&**source),
            StartError::Config(err) => Some(err),
            StartError::Feature { .. } => None,
        }
    }
}

/// For callers that report start-up failures as text.
impl From<ConfigError> for String {
    fn from(err: ConfigError) -> String {
        err.to_string()
    }
}

/// For callers that report start-up failures as text.
impl From<StartError> for String {
    fn from(err: StartError) -> String {
        err.to_string()
    }
}
