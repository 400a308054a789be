//! The Lambda Invoke API: `POST /2015-03-31/functions/{name}/invocations`, SigV4-signed.
//!
//! The same client talks to AWS, to `cargo lambda watch` and to the proxy's embedded Lambda
//! service (`grpc-lambda-local`); only the endpoint changes. Its answers are read as the Invoke API
//! reference describes them:
//!
//! - `200` with `X-Amz-Function-Error`: the function failed; the payload is
//!   `{"errorType", "errorMessage"}` (`Sandbox.Timedout` for a timeout,
//!   `Function.ResponseSizeTooLarge` for a response over 6 MB);
//! - `200` otherwise: the payload is the function's HTTP response;
//! - `404 ResourceNotFoundException`, `429 TooManyRequestsException`,
//!   `413 RequestTooLargeException`, and any other error with its type and message.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use super::answer::classify;
use super::event::{encode_event, parse_prelude, prelude_end, PRELUDE_SEPARATOR};
use super::function::FunctionRef;
use super::stream::PayloadStream;
use super::{BoxFuture, Upstream, UpstreamReply, UpstreamRequest};
use crate::client::HttpClient;
#[cfg(feature = "aws")]
use crate::credentials::CredentialSource;
use crate::error::{InvokeError, LAMBDA_REQUEST_LIMIT, LAMBDA_RESPONSE_LIMIT};

/// The X-Ray trace header, passed on as the Invoke request's header; it also reaches the
/// function among the event's headers.
pub use grpc_lambda_protocol::TRACE_HEADER;

/// The most response bytes read from the Invoke API: Lambda's own limit plus room for the
/// envelope. Lambda enforces the limit; this only bounds memory if an endpoint does not.
pub const MAX_INVOKE_RESPONSE: usize = LAMBDA_RESPONSE_LIMIT + 64 * 1024;

/// A route's target: one function behind the Invoke API.
pub struct LambdaTarget {
    client: HttpClient,
    endpoint: String,
    function: FunctionRef,
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    region: String,
    label: String,
    streaming: bool,
    #[cfg(feature = "aws")]
    credentials: Option<Arc<CredentialSource>>,
}

impl LambdaTarget {
    /// A target for `function` at `endpoint` (`https://lambda.<region>.amazonaws.com` when
    /// `None`) in `region`, unsigned until [`LambdaTarget::signed_with`] gives it credentials.
    pub(crate) fn new(
        client: HttpClient,
        function: FunctionRef,
        endpoint: Option<String>,
        region: String,
    ) -> LambdaTarget {
        let endpoint = endpoint.unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        LambdaTarget {
            client,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            label: format!("lambda:{function}"),
            function,
            region,
            streaming: false,
            #[cfg(feature = "aws")]
            credentials: None,
        }
    }

    /// Signs the invocations with SigV4 and the credentials of `source` (feature `aws`).
    #[cfg(feature = "aws")]
    pub(crate) fn signed_with(mut self, source: Arc<CredentialSource>) -> LambdaTarget {
        self.credentials = Some(source);
        self
    }

    /// Invokes with `InvokeWithResponseStream` (`true`) instead of `Invoke`: the function's
    /// messages reach the client as the function writes them.
    pub(crate) fn response_streaming(mut self, on: bool) -> LambdaTarget {
        self.streaming = on;
        self
    }

    /// The invocation URL: `Invoke`, or `InvokeWithResponseStream` for a streaming target.
    pub(crate) fn url(&self) -> String {
        let operation = if self.streaming {
            "2021-11-15/functions/{}/response-streaming-invocations"
        } else {
            "2015-03-31/functions/{}/invocations"
        };
        let mut url = format!(
            "{}/{}",
            self.endpoint,
            operation.replace("{}", &self.function.function.replace(':', "%3A"))
        );
        if let Some(qualifier) = &self.function.qualifier {
            url.push_str("?Qualifier=");
            url.push_str(qualifier);
        }
        url
    }

    async fn invoke(&self, request: UpstreamRequest) -> Result<UpstreamReply, InvokeError> {
        let event = encode_event(&request);
        if event.len() > LAMBDA_REQUEST_LIMIT {
            return Err(InvokeError::RequestTooLarge {
                len: event.len(),
                limit: LAMBDA_REQUEST_LIMIT,
            });
        }
        let event_len = event.len();
        let event = Bytes::from(event);
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.url())
            .header("content-type", "application/json")
            .header("x-amz-invocation-type", "RequestResponse");
        // The client's first value only: the Invoke API takes one trace header.
        if let Some(trace) = request.metadata.get(TRACE_HEADER) {
            builder = builder.header(TRACE_HEADER, trace.clone());
        }
        let mut http_request =
            builder
                .body(Full::new(event.clone()))
                .map_err(|source| InvokeError::BuildRequest {
                    url: self.url(),
                    source: Arc::new(source),
                })?;
        self.sign(&mut http_request, &event).await?;
        let response =
            self.client
                .request(http_request)
                .await
                .map_err(|source| InvokeError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    source: Arc::new(source),
                })?;
        let (parts, body) = response.into_parts();
        if self.streaming && parts.status == StatusCode::OK {
            return self.read_stream(body, event_len).await;
        }
        let payload = Limited::new(body, MAX_INVOKE_RESPONSE)
            .collect()
            .await
            .map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    InvokeError::ResponseTooLarge {
                        message: format!(
                            "the Invoke API answered more than {MAX_INVOKE_RESPONSE} bytes"
                        ),
                    }
                } else {
                    InvokeError::ResponseCut {
                        endpoint: self.endpoint.clone(),
                        source: Arc::from(err),
                    }
                }
            })?
            .to_bytes();
        classify(
            &self.function,
            parts.status,
            &parts.headers,
            &payload,
            event_len,
        )
    }

    /// Reads an `InvokeWithResponseStream` answer up to the end of the function's prelude and
    /// returns the rest as the reply body, chunk by chunk as it arrives. A function that does
    /// not stream answers one buffered payload, read as `Invoke`'s.
    async fn read_stream(
        &self,
        body: hyper::body::Incoming,
        event_len: usize,
    ) -> Result<UpstreamReply, InvokeError> {
        let mut payloads = PayloadStream::new(body.boxed(), self.endpoint.clone());
        let mut head = BytesMut::new();
        loop {
            match std::future::poll_fn(|cx| payloads.poll_payload(cx)).await {
                Some(Ok(chunk)) => {
                    // The separator may straddle two chunks: search from 7 bytes back.
                    let from = head.len().saturating_sub(PRELUDE_SEPARATOR.len() - 1);
                    head.extend_from_slice(&chunk);
                    if head.first() == Some(&b'{') {
                        if let Some(end) = head.get(from..).and_then(prelude_end) {
                            let end = from + end;
                            let (status, headers) =
                                parse_prelude(head.get(..end).unwrap_or_default())?;
                            let rest = head.split_off(end + PRELUDE_SEPARATOR.len()).freeze();
                            payloads.first = (!rest.is_empty()).then_some(rest);
                            return Ok(UpstreamReply {
                                status,
                                headers,
                                body: payloads.boxed(),
                            });
                        }
                    }
                    if head.len() > MAX_INVOKE_RESPONSE {
                        return Err(InvokeError::ResponseTooLarge {
                            message: format!(
                                "the function's stream has no response prelude in its first {MAX_INVOKE_RESPONSE} bytes"
                            ),
                        });
                    }
                }
                Some(Err(err)) => return Err(err),
                None => {
                    let payload = head.freeze();
                    return classify(
                        &self.function,
                        StatusCode::OK,
                        &http::HeaderMap::new(),
                        &payload,
                        event_len,
                    );
                }
            }
        }
    }

    #[cfg(feature = "aws")]
    async fn sign(
        &self,
        request: &mut Request<Full<Bytes>>,
        body: &[u8],
    ) -> Result<(), InvokeError> {
        let Some(source) = &self.credentials else {
            return Ok(());
        };
        match source.get().await? {
            Some(credentials) => {
                crate::credentials::sign(request, body, &credentials, &self.region, "lambda")
            }
            None => Ok(()),
        }
    }

    #[cfg(not(feature = "aws"))]
    async fn sign(&self, _: &mut Request<Full<Bytes>>, _: &[u8]) -> Result<(), InvokeError> {
        Ok(())
    }
}

impl Upstream for LambdaTarget {
    fn call(&self, request: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, InvokeError>> {
        Box::pin(self.invoke(request))
    }

    fn name(&self) -> &str {
        &self.label
    }
}
