//! The event read from the bytes the Lambda runtime received.
//!
//! `lambda_runtime` hands a handler its event through `serde_json` (wrapped in
//! `serde_path_to_error`), which for a 1 KiB gRPC call cost more than the shim's own work. A
//! layer on the runtime ([`Runtime::layer`], its documented hook for middleware) sees each
//! invocation first, as the bytes of the Runtime API's answer: it reads the [`Event`] from them
//! with [`Event::from_slice`] and leaves it for the handler, keyed by request id, in place of the
//! JSON (the runtime then deserializes a bare `null`). Everything else stays the runtime's: the
//! Runtime API client, error reports, panics caught, the tracing span, response streaming. (The
//! runtime's trace-level log of the raw event now shows `null`.)

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime};

use crate::event::{Event, EventError, EventJsonError};

/// An event as read, under its invocation's request id.
type Read = (String, Result<Event, EventError>);

/// The event [`ReadEvents`] read last, waiting for its handler call. One slot: the runtime
/// serves one invocation at a time ([`Runtime::run`]), and an event whose handler was never
/// called (the runtime failed the invocation first) is replaced by the next rather than kept.
#[derive(Clone, Debug, Default)]
struct Handoff(Arc<Mutex<Option<Read>>>);

impl Handoff {
    fn put(&self, request_id: String, event: Result<Event, EventError>) {
        *self.lock() = Some((request_id, event));
    }

    /// The event read for `request_id`, if it is the one waiting.
    fn take(&self, request_id: &str) -> Option<Result<Event, EventError>> {
        let mut slot = self.lock();
        if slot.as_ref()?.0 != request_id {
            return None;
        }
        slot.take().map(|(_, event)| event)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Read>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The layer: reads each invocation's event before the runtime's own handling.
#[derive(Clone, Debug)]
struct ReadEvents(Handoff);

impl<S> Layer<S> for ReadEvents {
    type Service = ReadEvent<S>;

    fn layer(&self, inner: S) -> ReadEvent<S> {
        ReadEvent {
            inner,
            handoff: self.0.clone(),
        }
    }
}

/// [`ReadEvents`] around the runtime's service.
#[derive(Clone, Debug)]
struct ReadEvent<S> {
    inner: S,
    handoff: Handoff,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for ReadEvent<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        // This runs before the runtime's panic guard: a panic here would end the function.
        // The reader is fuzzed not to panic; should it, the invocation fails instead.
        let event = std::panic::catch_unwind(|| Event::from_bytes(&invocation.body))
            .unwrap_or_else(|_| Err(EventJsonError::reader_panicked()))
            .map_err(EventError::Json);
        self.handoff
            .put(invocation.context.request_id.clone(), event);
        invocation.body = Bytes::from_static(b"null");
        self.inner.call(invocation)
    }
}

/// The Lambda error report for an event the shim cannot serve.
pub(crate) fn diagnostic(err: &EventError) -> Diagnostic {
    let error_type = match err {
        EventError::Json(_) => "grpc_lambda::InvalidEvent",
        _ => "grpc_lambda::UnknownEvent",
    };
    Diagnostic {
        error_type: error_type.into(),
        error_message: err.to_string(),
    }
}

/// Runs `handle` on every invocation's [`Event`], under `lambda_runtime` as
/// `lambda_runtime::run` sets it up (with its tracing layer), the event read by [`ReadEvents`].
pub(crate) async fn run<F, Fut, R, B, S, D, E>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Event, lambda_runtime::Context) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R, EventError>> + Send,
    R: lambda_runtime::IntoFunctionResponse<B, S>,
    B: serde::Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<Bytes> + Send,
    E: Into<lambda_runtime::Error> + Send + std::fmt::Debug,
{
    let handoff = Handoff::default();
    let waiting = handoff.clone();
    let handler = lambda_runtime::service_fn(move |invocation: LambdaEvent<()>| {
        let event = waiting.take(&invocation.context.request_id);
        // Boxed: the handler's future (several KB) is then moved as a pointer through the
        // runtime's layers, each of which wraps the future it is handed by value.
        let answer =
            event.map(|event| event.map(|event| Box::pin(handle(event, invocation.context))));
        async move {
            let Some(answer) = answer else {
                return Err(Diagnostic {
                    error_type: "grpc_lambda::Internal".into(),
                    error_message: "the invocation's event was not read".into(),
                });
            };
            answer
                .map_err(|err| diagnostic(&err))?
                .await
                .map_err(|err| diagnostic(&err))
        }
    });
    Runtime::new(handler)
        .layer(ReadEvents(handoff))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .run()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handoff_gives_each_event_to_its_own_invocation_once() {
        let handoff = Handoff::default();
        let event = || Event::from_slice(br#"{"grpcLambda": 1}"#).map_err(EventError::Json);
        handoff.put("a".to_owned(), event());
        assert!(handoff.take("b").is_none(), "another invocation's event");
        assert_eq!(handoff.take("a"), Some(event()));
        assert!(handoff.take("a").is_none(), "taken once");
        // An event never taken is replaced by the next, not kept.
        handoff.put("c".to_owned(), event());
        handoff.put("d".to_owned(), event());
        assert!(handoff.take("c").is_none());
        assert!(handoff.take("d").is_some());
    }
}
