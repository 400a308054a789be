//! The call path: a client's request → an [`UpstreamRequest`] → a target → the response in the
//! client's protocol.
//!
//! ```text
//!  path checked (crate::path) ──▶ routed ──▶ body read (crate::request: limits, budget, time)
//!    ──▶ UpstreamRequest ──▶ target ──▶ response (crate::response: frames, trailers)
//! ```
//!
//! Native gRPC needs HTTP/2 (its status travels in trailers); gRPC-Web works over HTTP/1.1 and
//! HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use grpc_lambda_core::base64;
use grpc_lambda_core::metadata::{parse_timeout, GRPC_TIMEOUT};
use grpc_lambda_core::{Code, ContentType, Status};
use grpc_lambda_protocol::cors::Cors;
use grpc_lambda_protocol::{Malformed, ACCEPTED_ENCODINGS};
use http::header::{HeaderValue, CONTENT_TYPE, ORIGIN};
use http::{Method, Request, Response, Version};
use http_body::Body;

use crate::budget::Budget;
use crate::config::Limits;
use crate::error::InvokeError;
use crate::invoke::{UpstreamReply, UpstreamRequest};
use crate::metrics::{CallRecord, Metrics};
use crate::request::{BodyRules, Deadline};
use crate::response::{error_response, not_a_call, preflight, respond};
use crate::route::{Route, Router};

pub(crate) use crate::response::ProxyBody;

/// The proxy: routes, limits, metrics.
pub struct Proxy {
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    budget: Arc<Budget>,
    log_calls: bool,
    cors: Cors,
}

impl Proxy {
    /// A proxy over `router`, holding calls' bytes within `budget`.
    pub fn new(
        router: Router,
        limits: Limits,
        metrics: Arc<Metrics>,
        budget: Arc<Budget>,
        log_calls: bool,
    ) -> Proxy {
        Proxy {
            router,
            limits,
            metrics,
            budget,
            log_calls,
            cors: Cors::default(),
        }
    }

    /// Serves one HTTP request: a gRPC or gRPC-Web call, or a CORS preflight.
    pub async fn handle<B>(&self, request: Request<B>, remote: SocketAddr) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let start = Instant::now();
        let origin = request.headers().get(ORIGIN).cloned();
        let mut response = self.answer(request, remote, start).await;
        self.cors.apply(origin.as_ref(), response.headers_mut());
        response
    }

    /// The answer to one request, before CORS.
    async fn answer<B>(
        &self,
        request: Request<B>,
        remote: SocketAddr,
        start: Instant,
    ) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if request.method() == Method::OPTIONS {
            return preflight(&self.cors, request.headers());
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(HeaderValue::as_bytes);
        let content_type = match grpc_lambda_protocol::check_call(request.method(), content_type) {
            Ok(content_type) => content_type,
            Err(refusal) => return not_a_call(&refusal),
        };
        let mut record = CallRecord::new(
            self.metrics.clone(),
            request.uri().path(),
            content_type,
            start,
            self.log_calls,
        );
        if request.version() < Version::HTTP_2 && !content_type.is_web() {
            // Over HTTP/1.1 the status of a streamed answer could only travel in trailers, which
            // HTTP/1.1 peers send only when announced before the body: a client would read a
            // truncated answer as a success. The refusal is a Trailers-Only answer (HTTP 200,
            // grpc-status in the headers, no body): a gRPC client reads the code and the
            // message from it as it would from any status, where an HTTP error status would be
            // turned into a code of the client's guessing and lose the reason.
            let status = Status::new(
                Code::Unimplemented,
                format!(
                    "native gRPC ({}) needs HTTP/2, and this request came over {:?}: use an \
                     HTTP/2 connection (h2c prior knowledge, or TLS with ALPN h2), or gRPC-Web \
                     (application/grpc-web), which works over HTTP/1.1",
                    content_type.as_str(),
                    request.version()
                ),
            );
            record.set_error("http1_native_grpc");
            return error_response(content_type, &status, record.finish_with(status.code()));
        }
        let path = request.uri().path();
        let routed = match crate::path::classify(path) {
            Ok(_) => self
                .router
                .lookup(path)
                .ok_or_else(|| InvokeError::NoRoute {
                    path: crate::path::quoted(path).into_owned(),
                }),
            Err(reason) => Err(InvokeError::NotAMethodPath {
                path: crate::path::quoted(path).into_owned(),
                reason,
            }),
        };
        let route = match routed {
            Ok(route) => route,
            Err(err) => return self.refuse(content_type, &err, record),
        };
        record.set_route(route);
        match self.call(request, content_type, route, remote).await {
            Ok((reply, deadline)) => {
                respond(reply, content_type, deadline, &self.budget, record).await
            }
            Err(err) => self.refuse(content_type, &err, record),
        }
    }

    /// The Trailers-Only answer for a call that failed before a reply, counted with its kind.
    fn refuse(
        &self,
        content_type: ContentType,
        err: &InvokeError,
        mut record: CallRecord,
    ) -> Response<ProxyBody> {
        record.set_error(err.kind());
        let mut response = error_response(
            content_type,
            &err.to_status(),
            record.finish_with(err.code()),
        );
        if let InvokeError::UnsupportedEncoding { .. } = err {
            response.headers_mut().insert(
                "grpc-accept-encoding",
                HeaderValue::from_static(ACCEPTED_ENCODINGS),
            );
        }
        response
    }

    async fn call<B>(
        &self,
        request: Request<B>,
        content_type: ContentType,
        route: &Route,
        remote: SocketAddr,
    ) -> Result<(UpstreamReply, Option<Deadline>), InvokeError>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let target = &route.target;
        if let Some(refusal) = target.refusal() {
            return Err(refusal);
        }
        let (parts, body) = request.into_parts();
        let compressed = crate::request::check_encoding(
            parts
                .headers
                .get("grpc-encoding")
                .map(HeaderValue::as_bytes),
        )?;
        let timeout = match parts.headers.get(GRPC_TIMEOUT) {
            Some(value) => {
                Some(
                    parse_timeout(value.as_bytes()).map_err(|err| InvokeError::Malformed {
                        kind: Malformed::Timeout,
                        reason: format!("malformed grpc-timeout: {err}"),
                    })?,
                )
            }
            None => None,
        };
        let timeout = match (timeout, self.limits.max_timeout) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        };
        // A deadline too far away to be an `Instant` is no deadline.
        let deadline = timeout.and_then(|timeout| {
            Some(Deadline {
                at: Instant::now().checked_add(timeout)?,
                timeout,
            })
        });
        let work = async {
            let max = self.limits.max_request_bytes;
            let rules = BodyRules {
                max_wire: if content_type.is_text() {
                    base64::encoded_len(max)
                } else {
                    max
                },
                max_message: self.limits.max_message_bytes,
                frames: !content_type.is_text(),
                half_close_wait: (!target.half_duplex()
                    && !content_type.is_text()
                    && !self.limits.half_close_wait.is_zero())
                .then_some(self.limits.half_close_wait),
                // The body always has its own limit: a client's deadline is the client's choice
                // (`grpc-timeout: 99999999H`), so it cannot be what frees a stream that stopped
                // sending. The call's deadline, when shorter, still ends it first.
                arrive_within: Some(
                    target
                        .request_body_timeout()
                        .unwrap_or(self.limits.request_body_timeout),
                ),
            };
            // The request's bytes are held until the target answered.
            let mut held = self.budget.reservation();
            let body = crate::request::read_request(
                body,
                &rules,
                content_type.is_text(),
                compressed,
                &mut held,
            )
            .await?;
            let request = UpstreamRequest {
                path: parts.uri.path().to_owned(),
                metadata: grpc_lambda_protocol::request_metadata(parts.headers),
                body,
                deadline: deadline.map(|d| d.at),
                source_ip: remote.ip().to_string(),
            };
            let reply = target.call(request).await;
            drop(held);
            reply
        };
        let reply = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.at.into(), work)
                .await
                .map_err(|_| InvokeError::DeadlineExceeded {
                    timeout: deadline.timeout,
                })??,
            None => work.await?,
        };
        Ok((reply, deadline))
    }
}
