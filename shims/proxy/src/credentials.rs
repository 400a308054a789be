//! The AWS credential chain and SigV4 signing (feature `aws`).
//!
//! Credentials are looked up in the order the AWS SDKs use, and cached until five minutes before
//! they expire:
//!
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`),
//!    profile `AWS_PROFILE` or `default`, static keys;
//! 3. the container endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI`, with
//!    `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`): ECS, EKS Pod Identity, Lambda itself;
//! 4. the EC2 instance metadata service, IMDSv2 (unless `AWS_EC2_METADATA_DISABLED=true`).
//!
//! For a loopback endpoint (`cargo lambda watch`, the embedded service) only 1 and 2 are tried,
//! and a call goes unsigned when they find nothing: no request leaves the machine.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use tokio::sync::Mutex;

use crate::client::HttpClient;
use crate::error::InvokeError;

/// A set of AWS credentials.
#[derive(Clone)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// When temporary credentials expire.
    pub expires: Option<SystemTime>,
    /// Where they were found, for logs.
    pub source: &'static str,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The chain, with its cache.
pub struct CredentialChain {
    client: HttpClient,
    cached: Mutex<Option<Credentials>>,
}

/// How long before expiry cached credentials are refreshed.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// How long the container and instance metadata endpoints get to answer.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

impl CredentialChain {
    /// A chain that uses `client` for the container and instance metadata endpoints.
    pub fn new(client: HttpClient) -> CredentialChain {
        CredentialChain {
            client,
            cached: Mutex::new(None),
        }
    }

    /// Credentials, from the cache or the chain. `Ok(None)` for a loopback endpoint with none in
    /// the environment or the profile file.
    ///
    /// # Errors
    ///
    /// [`InvokeError::Credentials`] naming every place looked in, for a remote endpoint.
    pub async fn get(&self, loopback: bool) -> Result<Option<Credentials>, InvokeError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expires
                .is_none_or(|expires| SystemTime::now() + REFRESH_BEFORE < expires);
            if fresh {
                return Ok(Some(credentials.clone()));
            }
        }
        let mut tried = Vec::new();
        let found = match from_env() {
            Some(found) => Some(found),
            None => {
                tried.push("environment (AWS_ACCESS_KEY_ID)".to_owned());
                match from_profile_file(&mut tried) {
                    Some(found) => Some(found),
                    None if loopback => None,
                    None => match self.container(&mut tried).await {
                        Some(found) => Some(found),
                        None => self.imds(&mut tried).await,
                    },
                }
            }
        };
        match found {
            Some(found) => {
                *cached = Some(found.clone());
                Ok(Some(found))
            }
            None if loopback => Ok(None),
            None => Err(InvokeError::Credentials {
                reason: format!("looked in {}", tried.join("; ")),
            }),
        }
    }

    async fn fetch(&self, request: Request<Full<Bytes>>) -> Result<Bytes, String> {
        let response = tokio::time::timeout(METADATA_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer in {} s", METADATA_TIMEOUT.as_secs()))?
            .map_err(|err| crate::error::error_chain(&err))?;
        let status = response.status();
        let body = tokio::time::timeout(METADATA_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| "the answer was cut".to_owned())?
            .map_err(|err| err.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        Ok(body)
    }

    async fn container(&self, tried: &mut Vec<String>) -> Option<Credentials> {
        let uri = match (
            std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            std::env::var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        ) {
            (Ok(full), _) => full,
            (_, Ok(relative)) => format!("http://169.254.170.2{relative}"),
            _ => {
                tried.push("container endpoint (not configured)".to_owned());
                return None;
            }
        };
        let token = std::env::var("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .ok()
            .or_else(|| {
                std::env::var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                    .ok()
                    .and_then(|path| std::fs::read_to_string(path).ok())
                    .map(|token| token.trim().to_owned())
            });
        let mut request = Request::builder().method(Method::GET).uri(&uri);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let request = request.body(Full::new(Bytes::new())).ok()?;
        match self.fetch(request).await {
            Ok(body) => parse_json_credentials(&body, "container endpoint").or_else(|| {
                tried.push(format!("container endpoint {uri} (unreadable answer)"));
                None
            }),
            Err(err) => {
                tried.push(format!("container endpoint {uri} ({err})"));
                None
            }
        }
    }

    async fn imds(&self, tried: &mut Vec<String>) -> Option<Credentials> {
        if std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        {
            tried.push("instance metadata (disabled)".to_owned());
            return None;
        }
        const BASE: &str = "http://169.254.169.254";
        let result: Result<Credentials, String> = async {
            let token = Request::builder()
                .method(Method::PUT)
                .uri(format!("{BASE}/latest/api/token"))
                .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?;
            let token = self.fetch(token).await?;
            let token = String::from_utf8_lossy(&token).trim().to_owned();
            let get = |path: String| {
                Request::builder()
                    .method(Method::GET)
                    .uri(format!("{BASE}{path}"))
                    .header("x-aws-ec2-metadata-token", &token)
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())
            };
            let roles = self
                .fetch(get("/latest/meta-data/iam/security-credentials/".into())?)
                .await?;
            let roles = String::from_utf8_lossy(&roles).into_owned();
            let role = roles
                .lines()
                .next()
                .ok_or("no instance role")?
                .trim()
                .to_owned();
            let body = self
                .fetch(get(format!(
                    "/latest/meta-data/iam/security-credentials/{role}"
                ))?)
                .await?;
            parse_json_credentials(&body, "instance metadata")
                .ok_or_else(|| "unreadable answer".into())
        }
        .await;
        match result {
            Ok(credentials) => Some(credentials),
            Err(err) => {
                tried.push(format!("instance metadata ({err})"));
                None
            }
        }
    }
}

fn from_env() -> Option<Credentials> {
    let access_key_id = std::env::var("AWS_ACCESS_KEY_ID")
        .ok()
        .filter(|v| !v.is_empty())?;
    let secret_access_key = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
    Some(Credentials {
        access_key_id,
        secret_access_key,
        session_token: std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|v| !v.is_empty()),
        expires: None,
        source: "environment",
    })
}

fn from_profile_file(tried: &mut Vec<String>) -> Option<Credentials> {
    let path = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".aws/credentials"))
        })?;
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let Ok(text) = std::fs::read_to_string(&path) else {
        tried.push(format!("{} (not readable)", path.display()));
        return None;
    };
    let found = parse_profile(&text, &profile);
    if found.is_none() {
        tried.push(format!(
            "{} (no keys for profile {profile:?})",
            path.display()
        ));
    }
    found
}

/// Static keys of `profile` in an INI credentials file.
fn parse_profile(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut key, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            in_profile = section == profile || section == format!("profile {profile}");
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            let value = value.trim().to_owned();
            match name.trim() {
                "aws_access_key_id" => key = Some(value),
                "aws_secret_access_key" => secret = Some(value),
                "aws_session_token" => token = Some(value),
                _ => {}
            }
        }
    }
    Some(Credentials {
        access_key_id: key?,
        secret_access_key: secret?,
        session_token: token,
        expires: None,
        source: "profile file",
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

fn parse_json_credentials(body: &[u8], source: &'static str) -> Option<Credentials> {
    let json: JsonCredentials = serde_json::from_slice(body).ok()?;
    Some(Credentials {
        access_key_id: json.access_key_id,
        secret_access_key: json.secret_access_key,
        session_token: json.token,
        expires: json.expiration.as_deref().and_then(parse_rfc3339),
        source,
    })
}

/// `2024-01-02T03:04:05Z` (the only form the metadata endpoints use) as a time.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(b.get(range)?).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days since 1970-01-01, for the proleptic Gregorian calendar.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs)
        .ok()
        .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Signs `request` with SigV4 for `service` in `region`.
///
/// # Errors
///
/// [`InvokeError::Credentials`] when the signer refuses the request.
pub fn sign(
    request: &mut Request<Full<Bytes>>,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    service: &str,
) -> Result<(), InvokeError> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let failed = |err: &dyn std::fmt::Display| InvokeError::Credentials {
        reason: format!("signing failed: {err}"),
    };
    let identity = aws_credential_types::Credentials::new(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        credentials.session_token.clone(),
        credentials.expires,
        credentials.source,
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|err| failed(&err))?
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
    .map_err(|err| failed(&err))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|err| failed(&err))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_expiry() {
        let text = "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n\n[other]\naws_access_key_id=O\naws_secret_access_key=OS\naws_session_token=T\n";
        let default = parse_profile(text, "default").unwrap();
        assert_eq!(default.access_key_id, "AK");
        let other = parse_profile(text, "other").unwrap();
        assert_eq!(other.session_token.as_deref(), Some("T"));
        assert!(parse_profile(text, "missing").is_none());
        let t = parse_rfc3339("2024-01-02T03:04:05Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_704_164_645
        );
    }

    #[test]
    fn a_signed_request_carries_an_authorization_header() {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/prod/invocations")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
            expires: None,
            source: "test",
        };
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
