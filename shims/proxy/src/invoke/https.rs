//! An HTTPS front door (API Gateway, a Lambda Function URL, an ALB), spoken to in gRPC-Web.
//!
//! The call is `POST <base URL>/package.Service/Method` with `content-type:
//! application/grpc-web+proto`; the response body (messages, then the trailer frame) is read as
//! it arrives, never buffered whole.

use grpc_lambda_core::metadata::{format_timeout, GRPC_TIMEOUT};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};

use super::event::hop_content_type;
use super::{BoxFuture, Upstream, UpstreamReply, UpstreamRequest};
use std::sync::Arc;

use crate::client::HttpClient;
use crate::error::InvokeError;

/// A route's target: a front door's base URL.
pub(crate) struct FrontDoorTarget {
    client: HttpClient,
    base: String,
}

impl FrontDoorTarget {
    /// A target for `base` (`https://abc.execute-api.eu-west-1.amazonaws.com/prod`); the call's
    /// path is appended to it.
    pub(crate) fn new(client: HttpClient, base: &str) -> FrontDoorTarget {
        FrontDoorTarget {
            client,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn send(&self, request: UpstreamRequest) -> Result<UpstreamReply, InvokeError> {
        let (method, url) = match &request.connect_get {
            Some(query) => (
                Method::GET,
                format!("{}{}?{query}", self.base, request.path),
            ),
            None => (Method::POST, format!("{}{}", self.base, request.path)),
        };
        let mut http_request = Request::builder()
            .method(method)
            .uri(&url)
            .body(Full::new(request.body.clone()))
            .map_err(|source| InvokeError::BuildRequest {
                url: url.clone(),
                source: Arc::new(source),
            })?;
        let headers = http_request.headers_mut();
        for (name, value) in &request.metadata {
            headers.append(name.clone(), value.clone());
        }
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(hop_content_type(request.codec)),
        );
        headers.insert("x-grpc-web", HeaderValue::from_static("1"));
        if let Some(left) = request.time_left() {
            if let Ok(value) = HeaderValue::try_from(format_timeout(left).as_str()) {
                headers.insert(GRPC_TIMEOUT, value);
            }
        }
        let response =
            self.client
                .request(http_request)
                .await
                .map_err(|source| InvokeError::Unreachable {
                    endpoint: self.base.clone(),
                    source: Arc::new(source),
                })?;
        let (parts, body) = response.into_parts();
        let endpoint = self.base.clone();
        let body = body
            .map_err(move |source| InvokeError::ResponseCut {
                endpoint: endpoint.clone(),
                source: Arc::new(source),
            })
            .boxed();
        Ok(UpstreamReply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

impl Upstream for FrontDoorTarget {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        Box::pin(self.send(request))
    }

    fn name(&self) -> &str {
        &self.base
    }
}
