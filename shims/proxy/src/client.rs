//! The HTTP client every target shares: connection pooling, HTTP/1.1 and HTTP/2, and HTTPS with
//! the webpki roots plus any CA file the configuration names (feature `tls`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::StartError;

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// Idle connections kept per target host after a burst of calls. A burst opens as many
/// HTTP/1.1 connections as it has calls at once; past this many, they are closed as they fall
/// idle instead of holding their buffers (and file descriptors) until the idle timeout.
pub(crate) const MAX_IDLE_PER_HOST: usize = 64;

/// A pooled HTTP client whose requests carry a whole body.
pub(crate) type HttpClient = Client<Connector, Full<Bytes>>;

/// Options for [`build`].
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientOptions {
    /// PEM files of extra certificate authorities to trust (for a private front door, or tests).
    pub(crate) ca_files: Vec<std::path::PathBuf>,
    /// Speak HTTP/2 without ALPN (`http://` targets that only speak h2c).
    pub(crate) http2_only: bool,
}

/// A client with a connect timeout, TCP_NODELAY and up to [`MAX_IDLE_PER_HOST`] idle connections
/// per host kept for reuse.
///
/// # Errors
///
/// [`StartError`] naming the file when a CA file cannot be read or holds no certificate.
pub(crate) fn build(options: &ClientOptions) -> Result<HttpClient, StartError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    http.enforce_http(false);
    #[cfg(feature = "tls")]
    let connector = {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for path in &options.ca_files {
            let certs = crate::tls::read_certs(path)?;
            for cert in certs {
                roots.add(cert).map_err(|err| StartError::Tls {
                    what: format!("CA file {}", path.display()),
                    source: err.into(),
                })?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| StartError::Tls {
            what: "TLS setup".into(),
            source: err.into(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http)
    };
    #[cfg(not(feature = "tls"))]
    let connector = {
        if !options.ca_files.is_empty() {
            return Err(StartError::Feature {
                feature: "tls",
                needed_for: "a CA file",
            });
        }
        http
    };
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .http2_only(options.http2_only);
    Ok(builder.build(connector))
}
