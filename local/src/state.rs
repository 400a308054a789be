//! The queue and the invocations in flight: what the Invoke API puts in and the Runtime API
//! takes out, and which process holds what.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::config::LocalConfig;

/// One piece of a streamed response: the function's bytes, or the error (type, message) that
/// ended it.
pub(crate) type StreamItem = Result<Bytes, (String, String)>;

/// What became of one invocation.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    /// The function's response, as it writes it (`InvokeWithResponseStream` only).
    Stream(mpsc::Receiver<StreamItem>),
    /// The function failed.
    Error { error_type: String, message: String },
}

/// One function process as the service last started it: what a measurement of a function's
/// start reads (the benches' init and peak memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessStart {
    /// When it was spawned.
    pub spawned: Option<Instant>,
    /// Its process id, once spawned.
    pub pid: Option<u32>,
    /// When it first asked for an invocation (`GET invocation/next`) after it was spawned.
    pub first_poll: Option<Instant>,
}

/// An invocation waiting for a process.
pub(crate) struct Pending {
    pub(crate) id: String,
    pub(crate) payload: Bytes,
    pub(crate) reply: oneshot::Sender<Outcome>,
    /// Invoked with `InvokeWithResponseStream`.
    pub(crate) streaming: bool,
    /// The caller's `X-Amzn-Trace-Id`, handed to the function as `Lambda-Runtime-Trace-Id`.
    pub(crate) trace_id: Option<http::HeaderValue>,
}

/// An invocation a process took.
pub(crate) struct InFlight {
    pub(crate) reply: oneshot::Sender<Outcome>,
    pub(crate) instance: usize,
    /// Invoked with `InvokeWithResponseStream`: the response is passed on as it arrives.
    pub(crate) streaming: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) queue: VecDeque<Pending>,
    pub(crate) in_flight: HashMap<String, InFlight>,
    /// The invocations each process holds: at most its `max_concurrency`, one per Runtime API
    /// long poll it has open.
    pub(crate) current: Vec<Vec<String>>,
    /// Responses being streamed: the process, and where a timeout is reported.
    pub(crate) streams: HashMap<String, (usize, mpsc::Sender<StreamItem>)>,
    /// Each process's last start.
    pub(crate) starts: Vec<ProcessStart>,
}

impl State {
    /// Process `instance` no longer holds invocation `id`.
    pub(crate) fn release(&mut self, instance: usize, id: &str) {
        if let Some(held) = self.current.get_mut(instance) {
            held.retain(|held| held != id);
        }
    }
}

/// What the servers and the supervisors share.
pub(crate) struct Shared {
    pub(crate) config: LocalConfig,
    state: Mutex<State>,
    /// Wakes the Runtime API's long polls: an invocation was queued.
    pub(crate) work: Notify,
    /// One per process: kill it (its invocation timed out).
    pub(crate) kill: Vec<Notify>,
}

impl Shared {
    /// Empty state for `concurrency` processes.
    pub(crate) fn new(config: LocalConfig, concurrency: usize) -> Shared {
        Shared {
            state: Mutex::new(State {
                current: vec![Vec::new(); concurrency],
                starts: vec![ProcessStart::default(); concurrency],
                ..State::default()
            }),
            work: Notify::new(),
            kill: (0..concurrency).map(|_| Notify::new()).collect(),
            config,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-updated in a way that
        // matters more than stopping: keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends invocation `id` with `outcome`; false when it is not in flight.
    pub(crate) fn complete(&self, id: &str, outcome: Outcome) -> bool {
        let mut state = self.lock();
        let Some(in_flight) = state.in_flight.remove(id) else {
            return false;
        };
        state.release(in_flight.instance, id);
        drop(state);
        let _ = in_flight.reply.send(outcome);
        true
    }

    /// Ends every invocation process `instance` holds with `outcome` (the process is gone).
    pub(crate) fn fail_instance(&self, instance: usize, outcome: impl Fn() -> Outcome) {
        let ids = self
            .lock()
            .current
            .get(instance)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            self.complete(&id, outcome());
        }
    }
}
