//! AWS credentials and region for the Invoke API (feature `aws`), from `aws-config`'s chains, and
//! SigV4 signing with `aws-sigv4`.
//!
//! For an endpoint on AWS, credentials come from the AWS SDKs' default chain, in its order: the
//! environment (`AWS_ACCESS_KEY_ID`…); the shared config and credentials files (`AWS_PROFILE`,
//! static keys, `role_arn` with `source_profile` or `credential_source`, SSO, `credential_process`);
//! web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`: EKS IRSA); the container
//! endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`: ECS, EKS Pod Identity);
//! EC2 instance metadata (IMDSv2, unless `AWS_EC2_METADATA_DISABLED=true`). The region comes from
//! `AWS_REGION` / `AWS_DEFAULT_REGION`, the profile's `region`, then instance metadata.
//!
//! For a loopback endpoint (`cargo lambda watch`, the embedded Lambda service) only the
//! environment and the shared files are consulted, no metadata endpoint is asked, and a call goes
//! unsigned when they hold no credentials: nothing leaves the machine unless a profile says so.
//!
//! The chains' own requests (STS, SSO, the metadata endpoints) go through
//! `aws-smithy-http-client` on rustls with ring, the proxy's TLS stack; the invocations go
//! through the proxy's own client. Credentials are cached until [`REFRESH_BEFORE`] their expiry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::sync::{Mutex, OnceCell};

use crate::error::{InvokeError, StartError};

/// How long before their expiry cached credentials are refreshed.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Which chain a target gets: the whole one, or the one for an endpoint on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// An endpoint on AWS (or anywhere off this machine).
    Remote,
    /// A loopback endpoint: environment and shared files only; nothing found, unsigned.
    Loopback,
}

/// The region and credentials of one [`Reach`], resolved once.
struct Chain {
    region: Option<String>,
    credentials: Arc<CredentialSource>,
}

/// The chains, built when a target first needs them and shared by every target.
pub(crate) struct AwsChains {
    conf: ProviderConfig,
    remote: OnceCell<Chain>,
    loopback: OnceCell<Chain>,
}

impl AwsChains {
    /// Chains whose HTTPS requests trust the platform's roots and `ca_files`.
    pub(crate) fn new(ca_files: &[PathBuf]) -> Result<AwsChains, StartError> {
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
        let mut trust = tls::TrustStore::default();
        for path in ca_files {
            let pem = std::fs::read(path).map_err(|source| StartError::File {
                what: "CA file",
                path: path.clone(),
                source,
            })?;
            trust.add_pem_certificate(pem);
        }
        let context = tls::TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|err| StartError::Tls {
                what: "TLS setup for the AWS credential chain".into(),
                source: err.into(),
            })?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(context)
            .build_https();
        Ok(AwsChains {
            conf: ProviderConfig::without_region().with_http_client(http),
            remote: OnceCell::new(),
            loopback: OnceCell::new(),
        })
    }

    async fn chain(&self, reach: Reach) -> &Chain {
        let cell = match reach {
            Reach::Remote => &self.remote,
            Reach::Loopback => &self.loopback,
        };
        cell.get_or_init(|| async {
            let region = self.region_chain(reach).region().await;
            let conf = self.conf.clone().with_region(region.clone());
            let provider = match reach {
                Reach::Remote => SharedCredentialsProvider::new(
                    aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                        .configure(conf)
                        .build()
                        .await,
                ),
                Reach::Loopback => SharedCredentialsProvider::new(
                    CredentialsProviderChain::first_try(
                        "Environment",
                        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                    )
                    .or_else(
                        "Profile",
                        aws_config::profile::ProfileFileCredentialsProvider::builder()
                            .configure(&conf)
                            .build(),
                    ),
                ),
            };
            Chain {
                region: region.map(|region| region.as_ref().to_owned()),
                credentials: Arc::new(CredentialSource {
                    provider,
                    cached: Mutex::new(None),
                    unsigned_when_none: reach == Reach::Loopback,
                }),
            }
        })
        .await
    }

    fn region_chain(&self, reach: Reach) -> RegionProviderChain {
        let chain = RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(
            aws_config::profile::ProfileFileRegionProvider::builder()
                .configure(&self.conf)
                .build(),
        );
        match reach {
            Reach::Remote => chain.or_else(
                aws_config::imds::region::ImdsRegionProvider::builder()
                    .configure(&self.conf)
                    .build(),
            ),
            Reach::Loopback => chain,
        }
    }

    /// The region the chain of `reach` finds, if any.
    pub(crate) async fn region(&self, reach: Reach) -> Option<String> {
        self.chain(reach).await.region.clone()
    }

    /// The credentials of `reach`, shared by the targets that use them.
    pub(crate) async fn credentials(&self, reach: Reach) -> Arc<CredentialSource> {
        self.chain(reach).await.credentials.clone()
    }
}

/// A credential chain with its cache.
pub(crate) struct CredentialSource {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
    unsigned_when_none: bool,
}

impl CredentialSource {
    /// Credentials, from the cache or the chain; `Ok(None)` for a loopback endpoint when the
    /// environment and the shared files hold none.
    pub(crate) async fn get(&self) -> Result<Option<Credentials>, InvokeError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|expires| SystemTime::now() + REFRESH_BEFORE < expires);
            if fresh {
                return Ok(Some(credentials.clone()));
            }
        }
        match self.provider.provide_credentials().await {
            Ok(credentials) => {
                *cached = Some(credentials.clone());
                Ok(Some(credentials))
            }
            Err(CredentialsError::CredentialsNotLoaded(_)) if self.unsigned_when_none => Ok(None),
            Err(err) => Err(InvokeError::Credentials {
                source: Arc::new(err),
            }),
        }
    }
}

/// Signs `request` (whose body is `body`) with SigV4 for `service` in `region`.
pub(crate) fn sign(
    request: &mut Request<Full<Bytes>>,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    service: &str,
) -> Result<(), InvokeError> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| InvokeError::Signing {
        source: Arc::from(err),
    };
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|err| failed(err.into()))?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|err| failed(err.into()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|err| failed(err.into()))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_carries_an_authorization_header() {
        let mut request = Request::builder()
            .method(http::Method::POST)
            .uri("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/prod/invocations")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        sign(&mut request, b"{}", &credentials, "us-east-1", "lambda").unwrap();
        let auth = request.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/lambda/aws4_request"));
        assert!(request.headers().contains_key("x-amz-date"));
        assert_eq!(request.headers()["x-amz-security-token"], "token");
    }
}
