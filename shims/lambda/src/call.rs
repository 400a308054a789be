//! The call under its deadline: the handler's future polled with its panics caught, and stopped
//! with `DEADLINE_EXCEEDED` once the budget is spent. What it had answered stays in the
//! [`Reply`], which outlives it.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::reply::Reply;
use crate::request::Call;
use crate::service::Handler;

/// Serves `call` with `handler` into `reply`, under the call's deadline.
///
/// # Errors
///
/// [`Error::DeadlineExceeded`] past the deadline, [`Error::Panic`] when the handler panicked,
/// and whatever the handler's own serving failed with.
pub(crate) async fn serve<H: Handler>(
    handler: &H,
    call: Call,
    reply: &mut Reply,
) -> Result<(), Error> {
    let (deadline, started) = (call.deadline, call.started);
    let mut serve = CatchPanic(pin!(handler.serve(call, reply)));
    let Some(deadline) = deadline else {
        return serve.await;
    };
    // The budget runs from `started`; the timer is only armed for a call that does not finish
    // in its first poll. Most unary calls do, and creating and dropping the timer, and reading
    // the clock it runs on, is a visible part of a small invocation.
    let first = poll_fn(|cx| Poll::Ready(Pin::new(&mut serve).poll(cx))).await;
    if let Poll::Ready(result) = first {
        return result;
    }
    let spent = SystemTime::now()
        .duration_since(started)
        .unwrap_or(Duration::ZERO);
    let left = deadline.budget.saturating_sub(spent);
    let Some(expires) = tokio::time::Instant::now().checked_add(left) else {
        // A budget past what the clock can represent never runs out.
        return serve.await;
    };
    match tokio::time::timeout_at(expires, serve).await {
        Ok(result) => result,
        Err(_elapsed) => Err(Error::DeadlineExceeded(deadline)),
    }
}

/// A handler's future whose panic becomes an `INTERNAL` answer instead of a failed invocation
/// (which the front door would turn into an opaque 502).
struct CatchPanic<'a, F>(Pin<&'a mut F>);

impl<F: Future<Output = Result<(), Error>>> Future for CatchPanic<'_, F> {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                Poll::Ready(Err(Error::Panic(reason)))
            }
        }
    }
}
