//! TLS for the listener (rustls, ALPN `h2` then `http/1.1`) and PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::StartError;

fn refused(what: String) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> StartError {
    move |source| StartError::Tls { what, source }
}

/// The certificates in a PEM file.
///
/// # Errors
///
/// [`StartError::Tls`] naming the file when it cannot be read or holds no certificate.
pub(crate) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, StartError> {
    let what = format!("certificate file {}", path.display());
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|err| refused(what.clone())(err.into()))?
        .collect::<Result<_, _>>()
        .map_err(|err| refused(what.clone())(err.into()))?;
    if certs.is_empty() {
        return Err(refused(what)("it holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, StartError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|err| refused(format!("key file {}", path.display()))(err.into()))
}

/// A server configuration for a certificate chain and key, offering `h2` then `http/1.1`.
///
/// # Errors
///
/// [`StartError::Tls`] naming the file or the reason rustls refused the pair.
pub(crate) fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let certs = read_certs(cert)?;
    let private_key = read_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| refused("TLS setup".into())(err.into()))?
    .with_no_client_auth()
    .with_single_cert(certs, private_key)
    .map_err(|err| {
        refused(format!(
            "certificate {} and key {} do not make a usable pair",
            cert.display(),
            key.display()
        ))(err.into())
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
