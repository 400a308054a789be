//! `InvokeWithResponseStream`'s answer: the function's bytes out of the event stream, chunk by
//! chunk as they arrive.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_lambda_core::eventstream::MessageDecoder;
use http_body::Body as _;

use super::answer::{function_error, ErrorJson};
use super::event::snippet;
use crate::error::InvokeError;

/// The function's bytes out of an `InvokeWithResponseStream` event stream: `PayloadChunk`
/// payloads, in order; `InvokeComplete` ends it (with the function's error, if any).
pub(super) struct PayloadStream {
    upstream: Option<http_body_util::combinators::BoxBody<Bytes, hyper::Error>>,
    decoder: MessageDecoder,
    pub(super) first: Option<Bytes>,
    endpoint: String,
}

impl PayloadStream {
    pub(super) fn new(
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

    pub(super) fn poll_payload(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, InvokeError>>> {
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
                    return self.end(Some(Err(InvokeError::ResponseCut {
                        endpoint: self.endpoint.clone(),
                        source: Arc::new(err),
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
