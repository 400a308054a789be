//! The call path: a client's request → an [`UpstreamRequest`] → a target → the response in the
//! client's protocol.
//!
//! ```text
//!  protocol and path read (read_call) ──▶ routed ──▶ body read (crate::request: limits,
//!    budget, time) ──▶ UpstreamRequest (crate::call: the gRPC-Web hop) ──▶ target
//!    ──▶ response (crate::response: frames, trailers; crate::connect: Connect and Twirp)
//! ```
//!
//! Native gRPC needs HTTP/2 (its status travels in trailers); gRPC-Web, Connect and Twirp work
//! over HTTP/1.1 and HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use grpc_lambda_core::{base64, Code, Envelope, Status};
use grpc_lambda_protocol::cors::Cors;
use grpc_lambda_protocol::{read_call, ErrorForm, NotACall, Protocol, Refusal, ACCEPTED_ENCODINGS};
use http::header::{HeaderValue, CONTENT_TYPE, ORIGIN};
use http::{HeaderMap, Method, Request, Response, Version};
use http_body::Body;

use crate::budget::Budget;
use crate::call::Wire;
use crate::config::Limits;
use crate::connect::{error_answer, respond_unary};
use crate::error::InvokeError;
use crate::invoke::{UpstreamReply, UpstreamRequest};
use crate::metrics::{CallRecord, Metrics};
use crate::request::{BodyRules, Deadline};
use crate::response::{not_a_call, preflight, respond};
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

    /// Serves one HTTP request: a gRPC, gRPC-Web, Connect or Twirp call, or a CORS preflight.
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
        let path = request.uri().path();
        let (wire, routed) =
            match read_call(request.method(), path, content_type, request.uri().query()) {
                Ok(call) => {
                    let canonical = call.path.canonical();
                    let routed =
                        self.router
                            .lookup(canonical)
                            .ok_or_else(|| InvokeError::NoRoute {
                                path: grpc_lambda_protocol::path::quoted(path).into_owned(),
                            });
                    (Wire::of(&call), routed)
                }
                Err(refusal) => match (refusal.protocol(), refusal.reason()) {
                    (Some(protocol), NotACall::Path(err)) => (
                        Wire::refused(protocol, content_type),
                        Err(InvokeError::NotAMethodPath {
                            path: grpc_lambda_protocol::path::quoted(path).into_owned(),
                            reason: err.clone(),
                        }),
                    ),
                    _ => return refusal_answer(&refusal),
                },
            };
        let mut record = CallRecord::new(
            self.metrics.clone(),
            path,
            wire.label(),
            start,
            self.log_calls,
        );
        if request.version() < Version::HTTP_2 && wire.is_native() {
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
                    wire.label(),
                    request.version()
                ),
            );
            record.set_error("http1_native_grpc");
            return error_answer(
                wire,
                &status,
                HeaderMap::new(),
                record.finish_with(status.code()),
            );
        }
        let route = match routed {
            Ok(route) => route,
            Err(err) => return self.refuse(wire, &err, record),
        };
        record.set_route(route);
        match self.call(request, wire, route, remote).await {
            Ok((reply, deadline)) if wire.is_bare() => {
                respond_unary(reply, wire, deadline, &self.budget, record).await
            }
            Ok((reply, deadline)) => respond(reply, wire, deadline, &self.budget, record).await,
            Err(err) => self.refuse(wire, &err, record),
        }
    }

    /// The answer, in the client's protocol, for a call that failed before a reply, counted
    /// with its kind.
    fn refuse(&self, wire: Wire, err: &InvokeError, mut record: CallRecord) -> Response<ProxyBody> {
        record.set_error(err.kind());
        let mut headers = HeaderMap::new();
        if let InvokeError::UnsupportedEncoding { .. } = err {
            headers.insert(
                "grpc-accept-encoding",
                HeaderValue::from_static(ACCEPTED_ENCODINGS),
            );
        }
        error_answer(
            wire,
            &err.to_status(),
            headers,
            record.finish_with(err.code()),
        )
    }

    async fn call<B>(
        &self,
        request: Request<B>,
        wire: Wire,
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
        let compressed = crate::call::compressed(wire, &parts.headers)?;
        let timeout = crate::call::timeout(wire, &parts.headers)?;
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
                max_wire: if wire.is_text() {
                    base64::encoded_len(max)
                } else {
                    max
                },
                max_message: self.limits.max_message_bytes,
                frames: !wire.is_text() && !wire.is_bare(),
                half_close_wait: (!target.half_duplex()
                    && (wire.is_native() || wire.protocol == Protocol::GrpcWeb)
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
                envelope: (wire.protocol == Protocol::ConnectStream).then_some(Envelope::Connect),
            };
            // The request's bytes are held until the target answered.
            let mut held = self.budget.reservation();
            let (body, compressed) = match wire.protocol {
                Protocol::ConnectUnaryGet => (Bytes::new(), false),
                // A Connect or Twirp client's gzip is inflated here, as the function inflates
                // it from that client directly; gRPC's stays for the service, as gRPC's does.
                Protocol::ConnectUnary | Protocol::Twirp => {
                    let mut message = crate::request::read_message(body, &rules, &mut held).await?;
                    if compressed {
                        message = crate::request::inflate(&message, rules.max_message, &mut held)?;
                    }
                    (crate::request::frame(&message, false)?, false)
                }
                _ => {
                    let body = crate::request::read_request(
                        body,
                        &rules,
                        wire.is_text(),
                        compressed,
                        &mut held,
                    )
                    .await?;
                    if compressed && wire.protocol == Protocol::ConnectStream {
                        let body = crate::request::inflate_frames(
                            &body,
                            rules.max_message,
                            self.limits.max_request_bytes,
                            &mut held,
                        )?;
                        (body, false)
                    } else {
                        (body, compressed)
                    }
                }
            };
            let metadata = grpc_lambda_protocol::request_metadata(parts.headers);
            let request = UpstreamRequest {
                path: self.canonical_path(parts.uri.path()),
                metadata: crate::call::hop_metadata(wire, metadata, compressed),
                body,
                deadline: deadline.map(|d| d.at),
                source_ip: remote.ip().to_string(),
                codec: wire.codec,
                connect_get: (wire.protocol == Protocol::ConnectUnaryGet)
                    .then(|| parts.uri.query().unwrap_or_default().to_owned()),
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

    /// `/<pkg.Service>/<Method>` of a path `read_call` accepted (Twirp's prefix removed).
    fn canonical_path(&self, path: &str) -> String {
        grpc_lambda_protocol::method_path(path)
            .map(|method| method.canonical().to_owned())
            .unwrap_or_else(|_| path.to_owned())
    }
}

/// The answer to a request that is not a call: in the form of the protocol it was read as, or
/// an HTTP status and text (with `grpc-status`) when it is none's.
fn refusal_answer(refusal: &Refusal) -> Response<ProxyBody> {
    match refusal.error_form() {
        ErrorForm::Http => not_a_call(refusal.reason()),
        ErrorForm::Grpc => {
            // Trailers-Only: HTTP 200, the status in the headers.
            let mut response = Response::new(ProxyBody::empty());
            grpc_lambda_protocol::metadata_to_headers(
                &refusal.status().to_trailers(),
                response.headers_mut(),
            );
            response
        }
        ErrorForm::Connect | ErrorForm::ConnectEndStream | ErrorForm::Twirp => {
            let json = Bytes::from(refusal.json_body().unwrap_or_default());
            let (body, content_type) = if refusal.error_form() == ErrorForm::ConnectEndStream {
                (
                    crate::response::end_stream_message(json),
                    "application/connect+json",
                )
            } else {
                (json, "application/json")
            };
            let mut response = Response::new(ProxyBody::bytes(body));
            *response.status_mut() = refusal.http_status();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
    }
}
