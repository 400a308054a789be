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

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime};

use crate::event::{Event, EventError, EventJsonError};

/// An event as read, under its invocation's request id.
type Read = (String, Result<Event, EventError>);

/// The environment variable through which Lambda Managed Instances say how many invocations one
/// execution environment takes at once. Unset, unparsable or `1`: one at a time.
pub(crate) const MAX_CONCURRENCY_ENV: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// How many invocations the runtime serves at once: [`MAX_CONCURRENCY_ENV`] as
/// `lambda_runtime` reads it (a whole number above 0), else 1.
pub(crate) fn max_concurrency() -> usize {
    std::env::var(MAX_CONCURRENCY_ENV)
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
        .filter(|&limit| limit > 0)
        .map_or(1, |limit| limit as usize)
}

/// The tokio runtime for a function's `main`, shaped by how Lambda runs it.
///
/// Classic Lambda hands an execution environment one invocation at a time: one thread then
/// serves it (tokio's current-thread runtime), so the Runtime API client, the shim and the
/// service never hand work across threads and the allocator keeps one arena. Against
/// `#[tokio::main]`'s runtime of one thread per CPU, the example function measured its start
/// 0.3 ms sooner, its warm 1 KiB call 0.65 of the time and its peak memory around a 3 MiB call
/// 0.70 (`benches/README.md`, "The function profile"). Under Lambda Managed Instances
/// (`AWS_LAMBDA_MAX_CONCURRENCY` above 1) invocations overlap and the environment has several CPUs:
/// the runtime is then tokio's multi-threaded one, a worker per CPU. Blocking work belongs on
/// `tokio::task::spawn_blocking` on either; `tokio::task::block_in_place`, which needs the
/// multi-threaded runtime, panics on the current-thread one (the shim answers that call
/// `INTERNAL`, as for any handler's panic).
///
/// ```no_run
/// # async fn serve() -> Result<(), lambda_runtime::Error> { Ok(()) }
/// fn main() -> Result<(), lambda_runtime::Error> {
///     grpc_lambda::runtime()?.block_on(serve()) // serve(): `grpc_lambda::run(…)`
/// }
/// ```
///
/// # Errors
///
/// When the operating system refuses the runtime's threads or its I/O driver.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

/// The events [`ReadEvents`] read, each waiting for its own handler call, by request id.
///
/// The runtime has at most `capacity` invocations in flight (one per long-poll loop: one, or
/// `AWS_LAMBDA_MAX_CONCURRENCY` under Lambda Managed Instances), and each takes its event as soon
/// as its handler is called, so the store holds at most that many. An event whose handler was
/// never called (the runtime failed the invocation first) is not kept for ever: it is the oldest
/// when a new event needs its slot, and is dropped then.
#[derive(Clone, Debug)]
struct Handoff {
    events: Arc<Mutex<VecDeque<Read>>>,
    capacity: usize,
}

impl Handoff {
    /// A store for `capacity` invocations in flight (at least one).
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            events: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
            capacity,
        }
    }

    fn put(&self, request_id: String, event: Result<Event, EventError>) {
        let mut events = self.lock();
        if events.len() >= self.capacity {
            // Every invocation in flight has taken its event but the oldest, which no handler
            // will take: its invocation ended before the handler ran.
            events.pop_front();
        }
        events.push_back((request_id, event));
    }

    /// The event read for `request_id`, once.
    fn take(&self, request_id: &str) -> Option<Result<Event, EventError>> {
        let mut events = self.lock();
        let position = events.iter().position(|(id, _)| id == request_id)?;
        events.remove(position).map(|(_, event)| event)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Read>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
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
///
/// Invocations are served one at a time, or [`max_concurrency`] at once when Lambda Managed
/// Instances ask for it ([`MAX_CONCURRENCY_ENV`]): the runtime then runs that many long-poll
/// loops, each with its own clone of the handler, and every per-invocation value (the event, the
/// Lambda context with its deadline and X-Ray trace id, the `Trailers`) travels with its own
/// call.
pub(crate) async fn run<F, Fut, R, B, S, D, E>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Event, lambda_runtime::Context) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<R, EventError>> + Send + 'static,
    R: lambda_runtime::IntoFunctionResponse<B, S> + Send + 'static,
    B: serde::Serialize + Send + 'static,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<Bytes> + Send + 'static,
    E: Into<lambda_runtime::Error> + Send + std::fmt::Debug + 'static,
{
    let handoff = Handoff::new(max_concurrency());
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
        .run_concurrent()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Result<Event, EventError> {
        Event::from_slice(br#"{"grpcLambda": 1}"#).map_err(EventError::Json)
    }

    #[test]
    fn one_at_a_time_an_event_is_taken_once_and_an_untaken_one_is_replaced() {
        let handoff = Handoff::new(1);
        handoff.put("a".to_owned(), event());
        assert!(handoff.take("b").is_none(), "another invocation's event");
        assert_eq!(handoff.take("a"), Some(event()));
        assert!(handoff.take("a").is_none(), "taken once");
        // An event never taken is replaced by the next, not kept.
        handoff.put("c".to_owned(), event());
        handoff.put("d".to_owned(), event());
        assert_eq!(handoff.len(), 1);
        assert!(handoff.take("c").is_none());
        assert!(handoff.take("d").is_some());
        assert_eq!(handoff.len(), 0);
    }

    #[test]
    fn concurrent_events_are_each_taken_by_their_own_id_in_any_order() {
        let handoff = Handoff::new(8);
        let ids: Vec<String> = (0..8).map(|i| format!("request-{i}")).collect();
        for id in &ids {
            handoff.put(id.clone(), event());
        }
        assert_eq!(handoff.len(), 8);
        // Taken out of order, each by its own id, once.
        for i in [5, 0, 7, 2, 1, 6, 3, 4] {
            assert_eq!(handoff.take(&ids[i]), Some(event()), "{}", ids[i]);
            assert!(handoff.take(&ids[i]).is_none());
        }
        assert_eq!(handoff.len(), 0);
    }

    #[test]
    fn an_event_never_taken_is_dropped_when_its_slot_is_needed() {
        let handoff = Handoff::new(3);
        handoff.put("orphan".to_owned(), event());
        for round in 0..100 {
            let id = format!("r{round}");
            handoff.put(id.clone(), event());
            assert!(handoff.len() <= 3, "never more than the concurrency limit");
            if round % 2 == 0 {
                assert!(handoff.take(&id).is_some());
            }
        }
        assert!(handoff.take("orphan").is_none(), "dropped, not leaked");
        assert!(handoff.len() <= 3);
    }

    #[test]
    fn the_limit_is_read_as_the_runtime_reads_it() {
        // One test owns the variable, so that tests running in parallel do not see it change.
        for (value, limit) in [
            (None, 1),
            (Some("8"), 8),
            (Some(" 4 "), 1),
            (Some("0"), 1),
            (Some("-2"), 1),
            (Some("many"), 1),
        ] {
            match value {
                Some(value) => std::env::set_var(MAX_CONCURRENCY_ENV, value),
                None => std::env::remove_var(MAX_CONCURRENCY_ENV),
            }
            assert_eq!(max_concurrency(), limit, "{value:?}");
            // The runtime follows the limit: one thread for one invocation at a time, a worker
            // per CPU when invocations overlap.
            let flavor = runtime().unwrap().handle().runtime_flavor();
            let expected = if limit > 1 {
                tokio::runtime::RuntimeFlavor::MultiThread
            } else {
                tokio::runtime::RuntimeFlavor::CurrentThread
            };
            assert_eq!(flavor, expected, "{value:?}");
        }
        std::env::remove_var(MAX_CONCURRENCY_ENV);
    }
}
