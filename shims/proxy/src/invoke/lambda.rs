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

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body::Body as _;
use http_body_util::{BodyExt, Full, Limited};

use super::event::{
    decode_response, encode_event, parse_prelude, prelude_end, snippet, PRELUDE_SEPARATOR,
};
use super::{BoxFuture, Upstream, UpstreamReply, UpstreamRequest};
use crate::client::HttpClient;
#[cfg(feature = "aws")]
use crate::credentials::CredentialChain;
use crate::error::error_chain;
use crate::error::{InvokeError, LAMBDA_REQUEST_LIMIT, LAMBDA_RESPONSE_LIMIT};
use grpc_lambda_core::eventstream::MessageDecoder;

/// The X-Ray trace header, passed on as the Invoke request's header; it also reaches the
/// function among the event's headers.
pub use grpc_lambda_protocol::TRACE_HEADER;

/// The most response bytes read from the Invoke API: Lambda's own limit plus room for the
/// envelope. Lambda enforces the limit; this only bounds memory if an endpoint does not.
pub const MAX_INVOKE_RESPONSE: usize = LAMBDA_RESPONSE_LIMIT + 64 * 1024;

/// A function: a name, a partial ARN or a full ARN, and a qualifier (version or alias).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    /// The name or ARN as the route gave it, without a qualifier suffix.
    pub function: String,
    /// The version or alias, if any.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `arn:aws:lambda:region:account:function:name[:qualifier]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grpc_lambda_proxy::invoke::lambda::FunctionRef;
    ///
    /// let f = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:prod:live");
    /// assert_eq!(f.function, "arn:aws:lambda:eu-west-1:123456789012:function:prod");
    /// assert_eq!(f.qualifier.as_deref(), Some("live"));
    /// assert_eq!(f.region(), Some("eu-west-1"));
    /// assert_eq!(FunctionRef::parse("prod").qualifier, None);
    /// ```
    pub fn parse(text: &str) -> FunctionRef {
        let parts: Vec<&str> = text.split(':').collect();
        let (function, qualifier) = match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", _, qualifier] => {
                let cut = text.len() - qualifier.len() - 1;
                (text.get(..cut).unwrap_or(text), Some(*qualifier))
            }
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => (text, None),
        };
        FunctionRef {
            function: function.to_owned(),
            qualifier: qualifier.filter(|q| !q.is_empty()).map(str::to_owned),
        }
    }

    /// The region named by a full ARN.
    pub fn region(&self) -> Option<&str> {
        let mut parts = self.function.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_), Some("lambda"), Some(region)) if !region.is_empty() => {
                Some(region)
            }
            _ => None,
        }
    }

    /// The function's name (the last part of an ARN).
    pub fn name(&self) -> &str {
        self.function.rsplit(':').next().unwrap_or(&self.function)
    }
}

impl std::fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(qualifier) => write!(f, "{}:{qualifier}", self.function),
            None => f.write_str(&self.function),
        }
    }
}

/// A route's target: one function behind the Invoke API.
pub struct LambdaTarget {
    client: HttpClient,
    endpoint: String,
    function: FunctionRef,
    region: String,
    label: String,
    streaming: bool,
    #[cfg(feature = "aws")]
    credentials: Arc<CredentialChain>,
    #[cfg(not(feature = "aws"))]
    credentials: Arc<()>,
}

impl LambdaTarget {
    /// A target for `function` at `endpoint` (`https://lambda.<region>.amazonaws.com` when
    /// `None`), signing for `region`.
    #[cfg(feature = "aws")]
    pub fn new(
        client: HttpClient,
        function: FunctionRef,
        endpoint: Option<String>,
        region: String,
        credentials: Arc<CredentialChain>,
    ) -> LambdaTarget {
        let endpoint = endpoint.unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        LambdaTarget {
            client,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            label: format!("lambda:{function}"),
            function,
            region,
            streaming: false,
            credentials,
        }
    }

    /// A target for `function` at `endpoint`, unsigned (without the `aws` feature, only
    /// endpoints that do not check signatures, such as `cargo lambda watch`, answer).
    #[cfg(not(feature = "aws"))]
    pub fn new(
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
            credentials: Arc::new(()),
        }
    }

    /// Invokes with `InvokeWithResponseStream` (`true`) instead of `Invoke`: the function's
    /// messages reach the client as the function writes them.
    pub fn response_streaming(mut self, on: bool) -> LambdaTarget {
        self.streaming = on;
        self
    }

    /// The invocation URL: `Invoke`, or `InvokeWithResponseStream` for a streaming target.
    pub fn url(&self) -> String {
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
                .map_err(|err| InvokeError::InvalidRequest {
                    code: grpc_lambda_core::Code::Internal,
                    reason: format!(
                        "cannot build the invocation request for {}: {err}",
                        self.url()
                    ),
                })?;
        self.sign(&mut http_request, &event).await?;
        let response =
            self.client
                .request(http_request)
                .await
                .map_err(|err| InvokeError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    error: error_chain(&err),
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
                    InvokeError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        error: format!("the response was cut: {err}"),
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
        let loopback = is_loopback(&self.endpoint);
        let Some(credentials) = self.credentials.get(loopback).await? else {
            return Ok(());
        };
        crate::credentials::sign(request, body, &credentials, &self.region, "lambda")
    }

    #[cfg(not(feature = "aws"))]
    async fn sign(&self, _: &mut Request<Full<Bytes>>, _: &[u8]) -> Result<(), InvokeError> {
        let _ = (&self.credentials, &self.region);
        Ok(())
    }
}

/// Whether an endpoint URL points at this machine (no credentials needed, none looked up).
pub fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]")
}

#[derive(serde::Deserialize, Default)]
struct ErrorJson {
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default, rename = "errorMessage")]
    error_message: Option<String>,
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(default, rename = "Reason")]
    reason: Option<String>,
    #[serde(default, rename = "__type")]
    type_field: Option<String>,
}

/// Turns an Invoke API answer into a reply or the failure it reports.
///
/// # Errors
///
/// The [`InvokeError`] the answer stands for.
pub fn classify(
    function: &FunctionRef,
    status: StatusCode,
    headers: &http::HeaderMap,
    payload: &Bytes,
    event_len: usize,
) -> Result<UpstreamReply, InvokeError> {
    if status == StatusCode::OK {
        if headers.contains_key("x-amz-function-error") {
            let error: ErrorJson = serde_json::from_slice(payload).unwrap_or_default();
            let error_type = error.error_type.unwrap_or_else(|| "Unhandled".to_owned());
            let error_message = error.error_message.unwrap_or_else(|| snippet(payload));
            return Err(function_error(error_type, error_message));
        }
        return decode_response(payload);
    }
    let error: ErrorJson = serde_json::from_slice(payload).unwrap_or_default();
    let error_type = headers
        .get("x-amzn-errortype")
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned())
        .or(error.type_field)
        .unwrap_or_default();
    let message = error
        .message
        .or(error.error_message)
        .unwrap_or_else(|| snippet(payload));
    Err(match status.as_u16() {
        404 => InvokeError::FunctionNotFound {
            function: function.to_string(),
            message,
        },
        429 => InvokeError::Throttled {
            reason: match error.reason {
                Some(reason) => format!("{error_type} {reason}: {message}"),
                None => format!("{error_type}: {message}"),
            },
        },
        413 => InvokeError::RequestTooLarge {
            len: event_len,
            limit: LAMBDA_REQUEST_LIMIT,
        },
        status => InvokeError::Upstream {
            status,
            error_type,
            message,
        },
    })
}

/// The function's bytes out of an `InvokeWithResponseStream` event stream: `PayloadChunk`
/// payloads, in order; `InvokeComplete` ends it (with the function's error, if any).
struct PayloadStream {
    upstream: Option<http_body_util::combinators::BoxBody<Bytes, hyper::Error>>,
    decoder: MessageDecoder,
    first: Option<Bytes>,
    endpoint: String,
}

impl PayloadStream {
    fn new(
        upstream: http_body_util::combinators::BoxBody<Bytes, hyper::Error>,
        endpoint: String,
    ) -> PayloadStream {
        PayloadStream {
            upstream: Some(upstream),
            decoder: MessageDecoder::new(),
            first: None,
            endpoint,
        }
    }

    fn end(
        &mut self,
        item: Option<Result<Bytes, InvokeError>>,
    ) -> Poll<Option<Result<Bytes, InvokeError>>> {
        self.upstream = None;
        Poll::Ready(item)
    }

    fn poll_payload(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, InvokeError>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        loop {
            let Some(upstream) = self.upstream.as_mut() else {
                return Poll::Ready(None);
            };
            match self.decoder.decode() {
                Ok(Some(message)) => {
                    match (
                        message.header(":message-type"),
                        message.header(":event-type"),
                    ) {
                        (Some("event"), Some("PayloadChunk")) => {
                            if !message.payload.is_empty() {
                                return Poll::Ready(Some(Ok(message.payload)));
                            }
                        }
                        (Some("event"), Some("InvokeComplete")) => {
                            let complete: InvokeComplete =
                                serde_json::from_slice(&message.payload).unwrap_or_default();
                            let error =
                                complete
                                    .error_code
                                    .filter(|code| !code.is_empty())
                                    .map(|code| {
                                        let details = complete.error_details.unwrap_or_default();
                                        // The details may be the function's error JSON.
                                        let parsed: ErrorJson =
                                            serde_json::from_str(&details).unwrap_or_default();
                                        function_error(
                                            parsed.error_type.unwrap_or(code),
                                            parsed.error_message.unwrap_or(details),
                                        )
                                    });
                            return self.end(error.map(Err));
                        }
                        (Some("event"), _) => {}
                        (kind, _) => {
                            let error: ErrorJson =
                                serde_json::from_slice(&message.payload).unwrap_or_default();
                            let error_type = message
                                .header(":exception-type")
                                .or(message.header(":error-code"))
                                .unwrap_or(kind.unwrap_or("unknown"))
                                .to_owned();
                            let message_text = error
                                .message
                                .or(error.error_message)
                                .or(message.header(":error-message").map(str::to_owned))
                                .unwrap_or_else(|| snippet(&message.payload));
                            return self.end(Some(Err(InvokeError::Upstream {
                                status: 200,
                                error_type,
                                message: message_text,
                            })));
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(err) => {
                    return self.end(Some(Err(InvokeError::InvalidResponse {
                        reason: format!("InvokeWithResponseStream: {err}"),
                    })))
                }
            }
            match Pin::new(upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(&data);
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    let error = error_chain(&err);
                    return self.end(Some(Err(InvokeError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        error: format!("the response stream was cut: {error}"),
                    })));
                }
                Poll::Ready(None) => {
                    let reason = match self.decoder.finish() {
                        Err(err) => format!("InvokeWithResponseStream: {err}"),
                        Ok(()) => {
                            "InvokeWithResponseStream ended without InvokeComplete".to_owned()
                        }
                    };
                    return self.end(Some(Err(InvokeError::InvalidResponse { reason })));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl http_body::Body for PayloadStream {
    type Data = Bytes;
    type Error = InvokeError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, InvokeError>>> {
        self.get_mut()
            .poll_payload(cx)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

#[derive(serde::Deserialize, Default)]
struct InvokeComplete {
    #[serde(default, rename = "ErrorCode")]
    error_code: Option<String>,
    #[serde(default, rename = "ErrorDetails")]
    error_details: Option<String>,
}

/// The failure a function error of `error_type` stands for.
fn function_error(error_type: String, error_message: String) -> InvokeError {
    match error_type.as_str() {
        "Sandbox.Timedout" => InvokeError::FunctionTimeout {
            message: error_message,
        },
        _ if error_message.contains("Task timed out after") => InvokeError::FunctionTimeout {
            message: error_message,
        },
        "Function.ResponseSizeTooLarge" => InvokeError::ResponseTooLarge {
            message: error_message,
        },
        _ => InvokeError::FunctionError {
            error_type,
            error_message,
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> FunctionRef {
        FunctionRef::parse("prod")
    }

    #[test]
    fn function_refs() {
        assert_eq!(FunctionRef::parse("prod:live").to_string(), "prod:live");
        let arn = FunctionRef::parse("arn:aws:lambda:us-east-1:1:function:prod");
        assert_eq!(arn.qualifier, None);
        assert_eq!(arn.name(), "prod");
        assert!(is_loopback("http://127.0.0.1:9000"));
        assert!(is_loopback("http://localhost"));
        assert!(!is_loopback("https://lambda.us-east-1.amazonaws.com"));
    }

    #[test]
    fn invoke_api_errors_are_classified() {
        let json = |s: &str| Bytes::from(s.to_owned());
        let mut function_error = http::HeaderMap::new();
        function_error.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
        let cases = [
            (
                StatusCode::OK,
                function_error.clone(),
                json(
                    r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 1.00 seconds"}"#,
                ),
                "function_timeout",
            ),
            (
                StatusCode::OK,
                function_error.clone(),
                json(
                    r#"{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size (7000000 bytes) exceeded maximum allowed payload size (6291556 bytes)."}"#,
                ),
                "response_too_large",
            ),
            (
                StatusCode::OK,
                function_error,
                json(r#"{"errorType":"MyError","errorMessage":"boom"}"#),
                "function_error",
            ),
            (
                StatusCode::NOT_FOUND,
                http::HeaderMap::new(),
                json(
                    r#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:1:function:nope"}"#,
                ),
                "function_not_found",
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                http::HeaderMap::new(),
                json(
                    r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#,
                ),
                "throttled",
            ),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                http::HeaderMap::new(),
                json(
                    r#"{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}"#,
                ),
                "request_too_large",
            ),
            (
                StatusCode::FORBIDDEN,
                http::HeaderMap::new(),
                json(r#"{"Message":"User is not authorized"}"#),
                "upstream",
            ),
        ];
        for (status, headers, payload, kind) in cases {
            let err = classify(&f(), status, &headers, &payload, 7_000_000).unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
        }
    }
}
