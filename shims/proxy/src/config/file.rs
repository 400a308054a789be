//! The TOML file's shape: every table and key, unknown ones refused.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::BidiPolicy;

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<SocketAddr>,
    pub(super) admin: Option<SocketAddr>,
    pub(super) tls: Option<FileTls>,
    #[serde(default)]
    pub(super) limits: FileLimits,
    #[serde(default)]
    pub(super) lambda: FileLambda,
    pub(super) local: Option<FileLocal>,
    #[serde(default)]
    pub(super) routes: Vec<FileRoute>,
    #[serde(default)]
    pub(super) ca_files: Vec<PathBuf>,
    pub(super) log_calls: Option<bool>,
    pub(super) shutdown_grace_secs: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTls {
    pub(super) cert: PathBuf,
    pub(super) key: PathBuf,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLimits {
    pub(super) max_concurrent_streams: Option<u32>,
    pub(super) max_header_list_size: Option<u32>,
    pub(super) max_request_bytes: Option<usize>,
    pub(super) max_message_bytes: Option<usize>,
    pub(super) max_timeout_secs: Option<f64>,
    pub(super) half_close_wait_secs: Option<f64>,
    pub(super) max_bytes_in_flight: Option<usize>,
    pub(super) request_body_timeout_secs: Option<f64>,
    pub(super) first_bytes_timeout_secs: Option<f64>,
    pub(super) idle_timeout_secs: Option<f64>,
    pub(super) max_connections: Option<usize>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLambda {
    pub(super) endpoint: Option<String>,
    pub(super) region: Option<String>,
    pub(super) h2c: Option<bool>,
    pub(super) full_credential_chain: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLocal {
    pub(super) command: String,
    pub(super) function: Option<String>,
    pub(super) timeout_secs: Option<f64>,
    pub(super) concurrency: Option<usize>,
    pub(super) max_concurrency: Option<usize>,
    pub(super) max_queue: Option<usize>,
    pub(super) port: Option<u16>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRoute {
    #[serde(rename = "match")]
    pub(super) pattern: String,
    pub(super) lambda: Option<String>,
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) local: bool,
    #[serde(default)]
    pub(super) streaming: bool,
    #[serde(default)]
    pub(super) bidi: BidiPolicy,
    pub(super) request_body_timeout_secs: Option<f64>,
}
