//! Where the proxy's AWS credentials come from, through `aws-config`'s chains: each source that
//! works offline (environment, profile file, assume-role from a profile, web identity, the
//! container endpoint, `credential_process`) signs the invocation a loopback Invoke endpoint
//! receives. STS and the container endpoint are stand-ins on loopback; each test fails if its
//! stand-in was never asked. Each proxy is a process of its own, with an environment of its own
//! (`AWS_EC2_METADATA_DISABLED=true`, `HOME` and the shared files in a fresh directory), so
//! nothing leaves the machine and no test sees another's variables.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

/// Connections a stand-in serves before it stops accepting.
const STAND_IN_MAX_CONNECTIONS: usize = 64;

/// The invocation's answer: the function's HTTP response, a gRPC-Web body holding only the
/// trailer frame `grpc-status: 0`.
const INVOKE_ANSWER: &str = r#"{"statusCode":200,"headers":{"content-type":"application/grpc-web+proto"},"body":"gAAAAA9ncnBjLXN0YXR1czogMA0K","isBase64Encoded":true}"#;

/// One request a stand-in received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// An HTTP/1.1 server on loopback answering every request with `answer`, keeping what it saw.
struct StandIn {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    async fn start(answer: fn(&Seen) -> (u16, &'static str, String)) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            for _ in 0..STAND_IN_MAX_CONNECTIONS {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let record = record.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let record = record.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let seen = Seen {
                            path: parts.uri.to_string(),
                            headers: parts.headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        };
                        let (status, content_type, text) = answer(&seen);
                        record.lock().unwrap().push(seen);
                        Ok::<_, hyper::Error>(
                            Response::builder()
                                .status(status)
                                .header("content-type", content_type)
                                .body(Full::new(Bytes::from(text)))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        StandIn { addr, seen, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn invoke_answer(_: &Seen) -> (u16, &'static str, String) {
    (200, "application/json", INVOKE_ANSWER.to_owned())
}

/// STS: `AssumeRole` and `AssumeRoleWithWebIdentity` as the Query protocol answers them.
fn sts_answer(seen: &Seen) -> (u16, &'static str, String) {
    let action = if seen.body.contains("Action=AssumeRoleWithWebIdentity") {
        "AssumeRoleWithWebIdentity"
    } else if seen.body.contains("Action=AssumeRole") {
        "AssumeRole"
    } else {
        return (
            400,
            "text/plain",
            format!("unexpected STS call: {}", seen.body),
        );
    };
    let xml = format!(
        r#"<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/app/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIA{action}</AccessKeyId>
      <SecretAccessKey>sts-secret</SecretAccessKey>
      <SessionToken>sts-token-{action}</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
  </{action}Result>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</{action}Response>"#
    );
    (200, "text/xml", xml)
}

/// The container credentials endpoint (ECS, EKS Pod Identity), which wants its token.
fn container_answer(seen: &Seen) -> (u16, &'static str, String) {
    if seen.headers.get("authorization").map(|v| v.as_bytes()) != Some(b"container-token") {
        return (401, "text/plain", "no token".to_owned());
    }
    let json = r#"{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"container-secret","Token":"container-session","Expiration":"2099-01-01T00:00:00Z"}"#;
    (200, "application/json", json.to_owned())
}

/// A fresh directory for one test's `HOME` and shared files.
fn scratch(name: &str) -> PathBuf {
    let dir = support::target_dir()
        .join("credentials-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The environment every proxy here gets, and the shared files in `dir` (empty unless written).
fn base_env(dir: &std::path::Path) -> Vec<(String, String)> {
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    for file in [&config, &credentials] {
        if !file.exists() {
            std::fs::write(file, "").unwrap();
        }
    }
    vec![
        ("HOME".into(), dir.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            credentials.display().to_string(),
        ),
    ]
}

/// Starts a proxy whose catch-all route invokes `prod` at `invoke`, with `env` and `flags`,
/// makes one gRPC call through it, and returns the requests `invoke` received.
async fn one_call(invoke: &StandIn, env: &[(String, String)], flags: &[&str]) -> Vec<Seen> {
    let endpoint = invoke.url();
    let mut argv = vec![
        "--quiet",
        "--route",
        "/=prod",
        "--lambda-endpoint",
        &endpoint,
    ];
    argv.extend_from_slice(flags);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let proxy = support::ProxyProcess::spawn_with_env(&argv, &env);
    let answer = support::raw_call(
        proxy.addr,
        true,
        "/api.Prod/Alive",
        &support::GRPC,
        support::frame(b""),
    )
    .await;
    assert_eq!(
        answer.grpc_status(),
        Some("0"),
        "{} {:?}",
        answer.grpc_message(),
        proxy.log_lines()
    );
    invoke.seen()
}

/// The invocation was signed with `access_key` for `region`, with `token` as its session token.
fn assert_signed(seen: &[Seen], access_key: &str, region: &str, token: Option<&str>) {
    assert_eq!(seen.len(), 1, "one invocation: {seen:?}");
    let request = &seen[0];
    assert_eq!(
        request.path, "/2015-03-31/functions/prod/invocations",
        "{request:?}"
    );
    let authorization = request
        .headers
        .get("authorization")
        .unwrap_or_else(|| panic!("the invocation is not signed: {request:?}"))
        .to_str()
        .unwrap();
    let prefix = format!("AWS4-HMAC-SHA256 Credential={access_key}/");
    assert!(authorization.starts_with(&prefix), "{authorization}");
    let scope = format!("/{region}/lambda/aws4_request, SignedHeaders=");
    assert!(authorization.contains(&scope), "{authorization}");
    assert!(request.headers.contains_key("x-amz-date"), "{request:?}");
    assert_eq!(
        request
            .headers
            .get("x-amz-security-token")
            .map(|v| v.to_str().unwrap()),
        token,
        "{request:?}"
    );
}

fn with(mut env: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    env.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// The environment of a proxy whose credentials come from the container endpoint `container`.
fn container_env(dir: &std::path::Path, container: &StandIn) -> Vec<(String, String)> {
    let uri = format!("{}/v2/credentials/task", container.url());
    with(
        base_env(dir),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_signs() {
    let dir = scratch("environment");
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(
        base_env(&dir),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-token"),
            ("AWS_REGION", "eu-west-3"),
        ],
    );
    let seen = one_call(&invoke, &env, &[]).await;
    assert_signed(&seen, "AKIAENVIRONMENT", "eu-west-3", Some("env-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_file_signs_with_the_profile_region() {
    let dir = scratch("profile");
    std::fs::write(
        dir.join("credentials"),
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n\
         [dev]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    std::fs::write(dir.join("config"), "[profile dev]\nregion = ap-south-1\n").unwrap();
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(base_env(&dir), &[("AWS_PROFILE", "dev")]);
    let seen = one_call(&invoke, &env, &[]).await;
    assert_signed(&seen, "AKIAPROFILE", "ap-south-1", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_assumes_a_role_through_sts() {
    let dir = scratch("assume-role");
    std::fs::write(
        dir.join("credentials"),
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config"),
        "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\n\
         source_profile = base\nrole_session_name = session\nregion = eu-north-1\n",
    )
    .unwrap();
    let sts = StandIn::start(sts_answer).await;
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(
        base_env(&dir),
        &[("AWS_PROFILE", "app"), ("AWS_ENDPOINT_URL_STS", &sts.url())],
    );
    let seen = one_call(&invoke, &env, &[]).await;
    assert_signed(
        &seen,
        "ASIAAssumeRole",
        "eu-north-1",
        Some("sts-token-AssumeRole"),
    );
    let asked = sts.seen();
    assert_eq!(asked.len(), 1, "STS asked once: {asked:?}");
    assert!(
        asked[0]
            .body
            .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp"),
        "{:?}",
        asked[0]
    );
    // The source profile's keys sign the AssumeRole call.
    let authorization = asked[0].headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIABASE/"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/eu-north-1/sts/aws4_request"),
        "{authorization}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_identity_through_sts() {
    let dir = scratch("web-identity");
    let token = dir.join("token");
    std::fs::write(&token, "eyJ.web-identity.token").unwrap();
    let sts = StandIn::start(sts_answer).await;
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(
        base_env(&dir),
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &token.display().to_string()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa"),
            ("AWS_ROLE_SESSION_NAME", "pod"),
            ("AWS_REGION", "us-west-2"),
            ("AWS_ENDPOINT_URL_STS", &sts.url()),
        ],
    );
    // The Invoke endpoint is on loopback: only the flag lets the whole chain run.
    let seen = one_call(&invoke, &env, &["--full-credential-chain"]).await;
    assert_signed(
        &seen,
        "ASIAAssumeRoleWithWebIdentity",
        "us-west-2",
        Some("sts-token-AssumeRoleWithWebIdentity"),
    );
    let asked = sts.seen();
    assert_eq!(asked.len(), 1, "STS asked once: {asked:?}");
    assert!(
        asked[0]
            .body
            .contains("WebIdentityToken=eyJ.web-identity.token"),
        "{:?}",
        asked[0]
    );
    assert!(
        asked[0].body.contains("RoleSessionName=pod"),
        "{:?}",
        asked[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_endpoint() {
    let dir = scratch("container");
    let container = StandIn::start(container_answer).await;
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(
        container_env(&dir, &container),
        &[("AWS_REGION", "ca-central-1")],
    );
    let seen = one_call(&invoke, &env, &["--full-credential-chain"]).await;
    assert_signed(
        &seen,
        "ASIACONTAINER",
        "ca-central-1",
        Some("container-session"),
    );
    let asked = container.seen();
    assert_eq!(
        asked.len(),
        1,
        "the container endpoint asked once: {asked:?}"
    );
    assert_eq!(asked[0].path, "/v2/credentials/task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_process() {
    let dir = scratch("process");
    let marker = dir.join("ran");
    let script = dir.join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho ran >> '{}'\n\
             echo '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \
             \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\", \
             \"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile tool]\ncredential_process = {}\nregion = sa-east-1\n",
            script.display()
        ),
    )
    .unwrap();
    let invoke = StandIn::start(invoke_answer).await;
    let env = with(base_env(&dir), &[("AWS_PROFILE", "tool")]);
    let seen = one_call(&invoke, &env, &[]).await;
    assert_signed(&seen, "ASIAPROCESS", "sa-east-1", Some("process-token"));
    let runs = std::fs::read_to_string(&marker).expect("the process ran");
    assert_eq!(runs, "ran\n", "the process ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_endpoint_asks_no_metadata_service_and_goes_unsigned() {
    let dir = scratch("loopback");
    let container = StandIn::start(container_answer).await;
    let invoke = StandIn::start(invoke_answer).await;
    let env = container_env(&dir, &container);
    let seen = one_call(&invoke, &env, &[]).await;
    assert_eq!(seen.len(), 1, "one invocation: {seen:?}");
    assert!(
        !seen[0].headers.contains_key("authorization"),
        "{:?}",
        seen[0]
    );
    assert!(
        container.seen().is_empty(),
        "the container endpoint was asked for a loopback endpoint"
    );
}
