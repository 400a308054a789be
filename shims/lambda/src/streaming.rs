//! Lambda response streaming: each response message leaves the function as it is produced.
//!
//! Turned on with [`crate::Shim::response_streaming`] or the environment variable
//! [`RESPONSE_STREAMING_ENV`] (`1`/`true`). Only the callers that read a streamed response get
//! one: a Function URL whose invoke mode is `RESPONSE_STREAM`, and the grpc-lambda proxy (which
//! calls `InvokeWithResponseStream`, or the buffered Invoke API, and reads both). Every other
//! front door (API Gateway, ALB, VPC Lattice) gets the usual buffered JSON answer, so one
//! function can sit behind all of them.
//!
//! ```text
//!  Runtime API POST /invocation/ID/response       Lambda-Runtime-Function-Response-Mode: streaming
//!    {"statusCode":200,"headers":{"content-type":"application/grpc-web+proto",…},"cookies":[]}
//!    \0\0\0\0\0\0\0\0                                  the prelude ends (lambda_runtime writes both)
//!    [0x00 len][message 1]  ← as soon as the handler yields it
//!    [0x00 len][message 2]  ← …
//!    [0x80 len][grpc-status: 0\r\n…]                  the trailer frame, last
//! ```
//!
//! The body is raw gRPC-Web bytes (base64 only for `application/grpc-web-text`): the same bytes a
//! buffered answer carries base64-encoded in its `body` field. Messages that are ready together
//! are written together; a message is never held back waiting for the next one.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use grpc_lambda_core::base64;
use http::HeaderMap;
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;

/// The environment variable that turns response streaming on (`1` or `true`) when the shim is
/// built with [`crate::Shim::new`] or [`crate::run`].
pub const RESPONSE_STREAMING_ENV: &str = "GRPC_LAMBDA_RESPONSE_STREAMING";

/// Lambda's limit for a streamed response, in bytes (see
/// `grpc_lambda_protocol::LAMBDA_STREAMED_RESPONSE_LIMIT`).
pub use grpc_lambda_protocol::LAMBDA_STREAMED_RESPONSE_LIMIT as LAMBDA_STREAMING_RESPONSE_LIMIT;

/// Messages already waiting are joined into one write up to this many bytes.
const COALESCE_MAX: usize = 64 * 1024;

/// Whether [`RESPONSE_STREAMING_ENV`] asks for streaming.
pub(crate) fn enabled_by_env() -> bool {
    std::env::var(RESPONSE_STREAMING_ENV).is_ok_and(|value| {
        let value = value.trim();
        value == "1" || value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("yes")
    })
}

/// The producing end: the handler's messages, then the trailer frame.
#[derive(Debug)]
pub struct Sink {
    head: Option<oneshot::Sender<HeaderMap>>,
    chunks: mpsc::UnboundedSender<Bytes>,
    text: Option<base64::Encoder>,
    sent: bool,
    rewrite: Option<Rewrite>,
    failed: Option<Error>,
}

/// What each chunk of messages becomes before it is written, for a caller whose framing or
/// codec is not the service's (a Connect stream): the service's gRPC frames in, the caller's
/// out, or the error that ends the stream.
pub(crate) struct Rewrite(pub(crate) Box<dyn FnMut(Bytes) -> Result<Bytes, Error> + Send>);

impl std::fmt::Debug for Rewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rewrite")
    }
}

impl Sink {
    /// A sink, the receiver of the response's metadata (sent once, before the first message or
    /// at the end), and the stream the Lambda runtime writes from.
    pub(crate) fn new(text: bool) -> (Sink, oneshot::Receiver<HeaderMap>, ChunkStream) {
        let (head, head_rx) = oneshot::channel();
        let (chunks, rx) = mpsc::unbounded_channel();
        let sink = Sink {
            head: Some(head),
            chunks,
            text: text.then(base64::Encoder::new),
            sent: false,
            rewrite: None,
            failed: None,
        };
        (sink, head_rx, ChunkStream { rx })
    }

    /// The sink, each chunk rewritten by `rewrite` before it is written.
    pub(crate) fn with_rewrite(mut self, rewrite: Rewrite) -> Self {
        self.rewrite = Some(rewrite);
        self
    }

    /// Why a chunk could not be rewritten, if one could not: nothing was written after it.
    pub(crate) fn take_failure(&mut self) -> Option<Error> {
        self.failed.take()
    }

    /// Whether a message went out.
    pub(crate) fn sent_any(&self) -> bool {
        self.sent
    }

    /// Sends one chunk of framed messages; the metadata goes first if it has not.
    pub(crate) fn send(&mut self, headers: &HeaderMap, chunk: Bytes) {
        self.open(headers);
        self.sent = true;
        if self.failed.is_some() {
            return;
        }
        let chunk = match self.rewrite.as_mut() {
            Some(Rewrite(rewrite)) => match rewrite(chunk) {
                Ok(chunk) => chunk,
                Err(err) => {
                    self.failed = Some(err);
                    return;
                }
            },
            None => chunk,
        };
        self.write(chunk);
    }

    /// Ends the stream: the metadata if nothing went yet, the trailer frame, the end of the
    /// base64 text.
    pub(crate) fn finish(mut self, headers: &HeaderMap, trailer_frame: Option<Bytes>) {
        self.open(headers);
        if let Some(frame) = trailer_frame {
            self.write(frame);
        }
        if let Some(encoder) = self.text.as_mut() {
            let out = encoder.finish_bytes();
            if !out.is_empty() {
                let _ = self.chunks.send(out);
            }
        }
    }

    fn open(&mut self, headers: &HeaderMap) {
        if let Some(head) = self.head.take() {
            let _ = head.send(headers.clone());
        }
    }

    fn write(&mut self, chunk: Bytes) {
        let chunk = match self.text.as_mut() {
            Some(encoder) => encoder.encode(&chunk),
            None => chunk,
        };
        // The receiver is gone only when the runtime stopped reading: nothing to do but drop.
        if !chunk.is_empty() {
            let _ = self.chunks.send(chunk);
        }
    }
}

/// The body the Lambda runtime streams: chunks as the handler produces them.
#[derive(Debug)]
pub struct ChunkStream {
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl ChunkStream {
    /// A stream of one chunk.
    pub(crate) fn once(bytes: Bytes) -> ChunkStream {
        let (tx, rx) = mpsc::unbounded_channel();
        if !bytes.is_empty() {
            let _ = tx.send(bytes);
        }
        ChunkStream { rx }
    }
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let first = match self.rx.poll_recv(cx) {
            Poll::Ready(Some(first)) => first,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if first.len() >= COALESCE_MAX {
            return Poll::Ready(Some(Ok(first)));
        }
        let Ok(second) = self.rx.try_recv() else {
            return Poll::Ready(Some(Ok(first)));
        };
        // Messages that were ready together go as one write (one HTTP chunk) instead of one
        // each: copied once into a buffer of their exact joint size.
        let mut ready = vec![first, second];
        let mut len = ready.iter().map(Bytes::len).sum::<usize>();
        while len < COALESCE_MAX {
            let Ok(next) = self.rx.try_recv() else {
                break;
            };
            len += next.len();
            ready.push(next);
        }
        // `concat` sizes its buffer to the sum first; the `Vec` becomes `Bytes` without a copy.
        Poll::Ready(Some(Ok(Bytes::from(ready.concat()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    async fn next(stream: &mut ChunkStream) -> Option<Bytes> {
        poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut *stream), cx))
            .await
            .map(|item| item.unwrap())
    }

    #[tokio::test]
    async fn metadata_goes_once_before_the_first_message() {
        let (mut sink, head, mut stream) = Sink::new(false);
        let mut headers = HeaderMap::new();
        headers.insert("x-a", http::HeaderValue::from_static("1"));
        assert!(!sink.sent_any());
        sink.send(&headers, Bytes::from_static(b"\0\0\0\0\x01a"));
        assert!(sink.sent_any());
        assert_eq!(head.await.unwrap(), headers);
        assert_eq!(next(&mut stream).await.unwrap(), &b"\0\0\0\0\x01a"[..]);
        sink.send(&HeaderMap::new(), Bytes::from_static(b"\0\0\0\0\x01b"));
        sink.send(&HeaderMap::new(), Bytes::from_static(b"\0\0\0\0\x01c"));
        sink.finish(&HeaderMap::new(), Some(Bytes::from_static(b"\x80\0\0\0\0")));
        // Ready together: joined.
        assert_eq!(
            next(&mut stream).await.unwrap(),
            &b"\0\0\0\0\x01b\0\0\0\0\x01c\x80\0\0\0\0"[..]
        );
        assert_eq!(next(&mut stream).await, None);
    }

    #[tokio::test]
    async fn a_large_message_goes_as_it_is() {
        let (mut sink, _head, mut stream) = Sink::new(false);
        let large = Bytes::from(vec![0; COALESCE_MAX]);
        sink.send(&HeaderMap::new(), large.clone());
        sink.finish(&HeaderMap::new(), Some(Bytes::from_static(b"\x80\0\0\0\0")));
        let first = next(&mut stream).await.unwrap();
        assert_eq!(first.as_ptr(), large.as_ptr(), "not copied");
        assert_eq!(first.len(), COALESCE_MAX);
        assert_eq!(next(&mut stream).await.unwrap(), &b"\x80\0\0\0\0"[..]);
        assert_eq!(next(&mut stream).await, None);
    }

    #[tokio::test]
    async fn text_is_one_base64_stream() {
        let (mut sink, _head, mut stream) = Sink::new(true);
        sink.send(&HeaderMap::new(), Bytes::from_static(b"\0\0\0\0\x01a"));
        sink.finish(&HeaderMap::new(), Some(Bytes::from_static(b"\x80\0\0\0\0")));
        let mut all = Vec::new();
        while let Some(chunk) = next(&mut stream).await {
            all.extend_from_slice(&chunk);
        }
        assert_eq!(
            base64::decode(&all).unwrap(),
            &b"\0\0\0\0\x01a\x80\0\0\0\0"[..]
        );
    }

    #[test]
    fn the_environment_switch_reads_common_spellings() {
        // Not set in the test environment.
        if std::env::var_os(RESPONSE_STREAMING_ENV).is_none() {
            assert!(!enabled_by_env());
        }
    }
}
