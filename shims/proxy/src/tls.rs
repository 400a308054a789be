//! TLS for the listener (rustls, ALPN `h2` then `http/1.1`) and PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificates in a PEM file.
///
/// # Errors
///
/// A message naming the file when it cannot be read or holds no certificate.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("certificate file {}: {err}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|err| format!("certificate file {}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "certificate file {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
///
/// A message naming the file when it cannot be read or holds no key.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|err| format!("key file {}: {err}", path.display()))
}

/// A server configuration for a certificate chain and key, offering `h2` then `http/1.1`.
///
/// # Errors
///
/// A message naming the file or the reason rustls refused the pair.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = read_certs(cert)?;
    let private_key = read_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| format!("TLS setup: {err}"))?
    .with_no_client_auth()
    .with_single_cert(certs, private_key)
    .map_err(|err| {
        format!(
            "certificate {} and key {} do not make a usable pair: {err}",
            cert.display(),
            key.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
