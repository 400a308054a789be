//! The listeners: HTTP/2 (prior knowledge or ALPN `h2`) and HTTP/1.1 on one port, TLS optional;
//! the admin port (Prometheus metrics, `grpc.health.v1`); graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use grpc_lambda_core::{Code, FrameDecoder, FrameEncoder, Status};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::budget::Budget;
use crate::config::{BidiPolicy, Config, ConfigError, Limits, TargetConfig};
use crate::conn::{accept_loop, ConnectionLimits, Handler, Serving};
use crate::error::{InvokeError, StartError};
use crate::grpc::{Proxy, ProxyBody};
use crate::invoke::function::{is_loopback, FunctionRef};
use crate::invoke::https::FrontDoorTarget;
use crate::invoke::lambda::LambdaTarget;
#[cfg(feature = "local")]
use crate::invoke::local::LocalLambda;
use crate::invoke::{
    full_body, BidiUnimplemented, BoxFuture, HalfDuplex, Upstream, UpstreamReply, UpstreamRequest,
};
use crate::metrics::Metrics;
use crate::route::{Pattern, Router};

/// A running proxy.
pub struct Running {
    /// The proxy's address.
    pub addr: SocketAddr,
    /// The admin server's address.
    pub admin_addr: Option<SocketAddr>,
    /// The embedded Lambda service's Invoke endpoint, when a local function runs.
    pub local_endpoint: Option<String>,
    metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
    admin_stop: watch::Sender<bool>,
    admin_done: Option<tokio::task::JoinHandle<()>>,
    #[cfg(feature = "local")]
    local: Option<LocalLambda>,
}

impl Running {
    /// Stops accepting connections and asks the open ones to finish their calls.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Waits until every connection closed (or the grace period ran out), then stops the local
    /// function.
    pub async fn wait(self) {
        let _ = self.done.await;
        // The admin port stays up through the grace period (health answers NOT_SERVING), and
        // stops once the calls are done.
        let _ = self.admin_stop.send(true);
        if let Some(admin) = self.admin_done {
            let _ = admin.await;
        }
        #[cfg(feature = "local")]
        if let Some(local) = &self.local {
            local.stop();
        }
    }

    /// The proxy's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// The region when neither the configuration, the function's ARN nor the AWS chain names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A Lambda target for `function` at `endpoint`: its region and, with the `aws` feature, its
/// credentials, from the chain its endpoint calls for.
async fn lambda_target(
    config: &Config,
    #[cfg(feature = "aws")] aws: &crate::credentials::AwsChains,
    client: crate::client::HttpClient,
    function: FunctionRef,
    endpoint: Option<String>,
) -> LambdaTarget {
    let configured = config.region.as_deref().or(function.region());
    #[cfg(feature = "aws")]
    {
        use crate::credentials::Reach;
        let loopback = endpoint.as_deref().is_some_and(is_loopback);
        let reach = if loopback && !config.full_credential_chain {
            Reach::Loopback
        } else {
            Reach::Remote
        };
        let region = match configured {
            Some(region) => region.to_owned(),
            None => aws
                .region(reach)
                .await
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        };
        let credentials = aws.credentials(reach).await;
        LambdaTarget::new(client, function, endpoint, region).signed_with(credentials)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = is_loopback;
        let region = configured
            .map(str::to_owned)
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        LambdaTarget::new(client, function, endpoint, region)
    }
}

/// Starts the proxy (and the local function, and the admin server) as configured.
///
/// # Errors
///
/// [`StartError`] naming what could not start: a port, a certificate, the local function
/// service.
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_with_routes(config, Vec::new()).await
}

/// Starts the proxy with the configured routes and then `extra` routes to targets of the
/// caller's own (any [`Upstream`]): an in-process function, a test double, a load-test stub.
///
/// # Errors
///
/// As [`start`].
pub async fn start_with_routes(
    config: Config,
    extra: Vec<(Pattern, Arc<dyn Upstream>)>,
) -> Result<Running, StartError> {
    let client = crate::client::build(&crate::client::ClientOptions {
        ca_files: config.ca_files.clone(),
        http2_only: false,
    })?;
    let lambda_client = if config.lambda_h2c {
        crate::client::build(&crate::client::ClientOptions {
            ca_files: config.ca_files.clone(),
            http2_only: true,
        })?
    } else {
        client.clone()
    };
    #[cfg(feature = "aws")]
    let aws = crate::credentials::AwsChains::new(&config.ca_files)?;
    #[cfg(feature = "local")]
    let local = match &config.local {
        Some(local) => Some(crate::invoke::local::start(local).await?),
        None => None,
    };
    // The local function's name and Invoke endpoint.
    #[cfg(feature = "local")]
    let local_function = local
        .as_ref()
        .map(|local| (local.function().to_owned(), local.endpoint()));
    #[cfg(not(feature = "local"))]
    let local_function: Option<(String, String)> = match &config.local {
        Some(_) => {
            return Err(StartError::Feature {
                feature: "local",
                needed_for: "a local function",
            })
        }
        None => None,
    };
    let mut router = Router::new();
    for route in &config.routes {
        let target: Arc<dyn Upstream> = match &route.target {
            TargetConfig::Url(url) => Arc::new(FrontDoorTarget::new(client.clone(), url)),
            TargetConfig::Lambda(_) | TargetConfig::Local => {
                let (function, endpoint, client) = match (&route.target, &local_function) {
                    (TargetConfig::Lambda(function), _) => (
                        FunctionRef::parse(function),
                        config.lambda_endpoint.clone(),
                        lambda_client.clone(),
                    ),
                    (_, Some((function, endpoint))) => (
                        FunctionRef::parse(function),
                        Some(endpoint.clone()),
                        client.clone(),
                    ),
                    (_, None) => return Err(StartError::Config(ConfigError::LocalWithoutFunction)),
                };
                let target = lambda_target(
                    &config,
                    #[cfg(feature = "aws")]
                    &aws,
                    client,
                    function,
                    endpoint,
                )
                .await;
                Arc::new(target.response_streaming(route.streaming))
            }
        };
        let target: Arc<dyn Upstream> = match route.bidi {
            BidiPolicy::Unimplemented => Arc::new(BidiUnimplemented::new(target.name())),
            BidiPolicy::HalfDuplex => Arc::new(
                HalfDuplex::new(target).with_request_body_timeout(route.request_body_timeout),
            ),
            BidiPolicy::Unstated => target,
        };
        router.add(Pattern::parse(&route.pattern), target);
    }
    for (pattern, target) in extra {
        router.add(pattern, target);
    }
    let budget = Budget::new(config.limits.max_bytes_in_flight);
    let metrics = Arc::new(Metrics::with_budget(budget.clone()));
    let proxy = Arc::new(Proxy::new(
        router,
        config.limits.clone(),
        metrics.clone(),
        budget,
        config.log_calls,
    ));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (admin_stop, admin_stop_rx) = watch::channel(false);

    let bind_error = |what, addr| move |source| StartError::Bind { what, addr, source };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(bind_error("listen", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(bind_error("listen", config.listen))?;
    #[cfg(feature = "tls")]
    let tls = match &config.tls {
        Some((cert, key)) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(
            cert, key,
        )?)),
        None => None,
    };
    #[cfg(not(feature = "tls"))]
    let tls: Option<()> = match &config.tls {
        Some(_) => {
            return Err(StartError::Feature {
                feature: "tls",
                needed_for: "--tls-cert",
            })
        }
        None => None,
    };
    let handler: Handler = {
        let proxy = proxy.clone();
        Arc::new(move |request, remote| {
            let proxy = proxy.clone();
            Box::pin(async move { proxy.handle(request, remote).await })
        })
    };
    let main = tokio::spawn(accept_loop(
        listener,
        tls,
        Serving {
            handler,
            builder: builder(&config.limits),
            limits: connection_limits(&config.limits),
            shutdown: shutdown_rx.clone(),
            grace: config.shutdown_grace,
            metrics: Some(metrics.clone()),
        },
    ));

    let admin = match config.admin {
        Some(admin) => {
            let listener = TcpListener::bind(admin)
                .await
                .map_err(bind_error("admin listen", admin))?;
            let admin_addr = listener
                .local_addr()
                .map_err(bind_error("admin listen", admin))?;
            let handler = admin_handler(metrics.clone(), &config, shutdown_rx.clone());
            #[cfg(feature = "tls")]
            let no_tls: Option<tokio_rustls::TlsAcceptor> = None;
            #[cfg(not(feature = "tls"))]
            let no_tls: Option<()> = None;
            let task = tokio::spawn(accept_loop(
                listener,
                no_tls,
                Serving {
                    handler,
                    builder: builder(&Limits::default()),
                    limits: connection_limits(&Limits::default()),
                    shutdown: admin_stop_rx,
                    grace: Duration::from_secs(1),
                    metrics: None,
                },
            ));
            Some((admin_addr, task))
        }
        None => None,
    };
    let (admin_addr, admin_done) = match admin {
        Some((addr, task)) => (Some(addr), Some(task)),
        None => (None, None),
    };
    Ok(Running {
        addr,
        admin_addr,
        local_endpoint: local_function.map(|(_, endpoint)| endpoint),
        metrics,
        shutdown,
        done: main,
        admin_stop,
        admin_done,
        #[cfg(feature = "local")]
        local,
    })
}

fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.first_bytes_timeout)
        .max_buf_size((limits.max_header_list_size as usize).max(8192) + 8192);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_list_size)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

fn connection_limits(limits: &Limits) -> ConnectionLimits {
    ConnectionLimits {
        first_bytes_timeout: limits.first_bytes_timeout,
        idle_timeout: limits.idle_timeout,
        max_connections: limits.max_connections,
    }
}

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    /// 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN.
    #[prost(int32, tag = "1")]
    status: i32,
}

/// `grpc.health.v1.Health/Check`, answered in process: `SERVING` for `""` and every routed
/// service, `NOT_SERVING` once shutting down, `NOT_FOUND` for other services.
struct Health {
    services: Vec<String>,
    shutting_down: watch::Receiver<bool>,
}

impl Health {
    fn check(&self, request: &UpstreamRequest) -> Result<UpstreamReply, InvokeError> {
        let mut decoder = FrameDecoder::new();
        decoder.push(request.body.clone());
        let message = decoder.decode().ok().flatten();
        let service = message
            .and_then(|frame| {
                <HealthCheckRequest as prost::Message>::decode(frame.into_payload()).ok()
            })
            .map(|request| request.service)
            .unwrap_or_default();
        let known = service.is_empty() || self.services.contains(&service);
        let mut body = BytesMut::new();
        let encoder = FrameEncoder::new();
        let status = if !known {
            Status::new(Code::NotFound, format!("unknown service {service:?}"))
        } else {
            let serving = if *self.shutting_down.borrow() { 2 } else { 1 };
            encoder
                .encode_prost(&HealthCheckResponse { status: serving }, &mut body)
                .map_err(|err| InvokeError::InvalidResponse {
                    reason: err.to_string(),
                })?;
            Status::ok()
        };
        encoder
            .encode_status(&status, &grpc_lambda_core::Metadata::new(), &mut body)
            .map_err(|err| InvokeError::InvalidResponse {
                reason: err.to_string(),
            })?;
        Ok(UpstreamReply {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: full_body(body.freeze()),
        })
    }
}

impl Upstream for Health {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        let reply = self.check(&request);
        Box::pin(async move { reply })
    }

    fn name(&self) -> &str {
        "health"
    }
}

fn admin_handler(
    metrics: Arc<Metrics>,
    config: &Config,
    shutdown: watch::Receiver<bool>,
) -> Handler {
    let services = config
        .routes
        .iter()
        .filter_map(|route| match Pattern::parse(&route.pattern) {
            Pattern::Prefix(prefix) => Some(prefix.trim_matches('/').to_owned()),
            Pattern::Method(method) => method
                .trim_start_matches('/')
                .split('/')
                .next()
                .map(str::to_owned),
        })
        .filter(|service| !service.is_empty())
        .collect();
    let mut router = Router::new();
    router.add(
        Pattern::parse("/grpc.health.v1.Health/Check"),
        Arc::new(Health {
            services,
            shutting_down: shutdown,
        }),
    );
    let limits = Limits::default();
    let budget = Budget::new(limits.max_bytes_in_flight);
    let health = Arc::new(Proxy::new(
        router,
        limits,
        Arc::new(Metrics::new()),
        budget,
        false,
    ));
    Arc::new(move |request: Request<Incoming>, remote| {
        let metrics = metrics.clone();
        let health = health.clone();
        Box::pin(async move {
            if request.method() == http::Method::GET && request.uri().path() == "/metrics" {
                let mut response = Response::new(ProxyBody::bytes(Bytes::from(metrics.render())));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                return response;
            }
            health.handle(request, remote).await
        })
    })
}

#[cfg(all(test, not(feature = "local")))]
mod tests {
    use clap::Parser;

    use crate::config::{Args, Config};

    #[tokio::test]
    async fn a_build_without_the_local_feature_refuses_a_local_function() {
        let args = Args::parse_from([
            "grpc-lambda-proxy",
            "--listen",
            "127.0.0.1:0",
            "--local-function",
            "./bootstrap",
        ]);
        let config = Config::from_args(args).unwrap();
        let Err(err) = super::start(config).await else {
            panic!("a proxy without the local feature started a local function");
        };
        assert!(err.to_string().contains("`local` feature"), "{err}");
    }
}
