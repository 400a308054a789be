//! Client connections: accepted up to a cap, given a short time for their first request, sent
//! GOAWAY (HTTP/2) or closed (HTTP/1.1) once idle with no open stream, or once a response the
//! proxy handed over has waited `idle_timeout` for the client to make room for it (a client that
//! keeps its window at 0), and closed outright when they do not finish closing. Keep-alive pings
//! alone close nothing (a live client answers them), so a connection's life is bounded by what
//! it does, not by whether it answers.
//!
//! ```text
//!  accept ──cap (max_connections)──▶ TLS handshake ──┐  (first_bytes_timeout)
//!         └─ over the cap: closed                    ▼
//!          serve ── no stream open for first_bytes_timeout (no request yet) or idle_timeout,
//!                   or a response not taken for idle_timeout
//!                   ──▶ GOAWAY / close ──▶ still open after CLOSE_GRACE: dropped
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body::{Body, Frame as HttpFrame, SizeHint};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};

use crate::grpc::ProxyBody;
use crate::invoke::BoxFuture;
use crate::metrics::Metrics;

/// How long a connection told to close (GOAWAY, or a close after the current response) may take
/// before it is dropped: enough for a client to answer the GOAWAY's PING and read its last
/// frames, short enough that a client that never reads cannot hold the connection.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves one request of a connection.
pub(crate) type Handler = Arc<
    dyn Fn(Request<Incoming>, SocketAddr) -> BoxFuture<'static, Response<ProxyBody>> + Send + Sync,
>;

#[cfg(feature = "tls")]
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
pub(crate) type Acceptor = ();

/// The limits on connections ([`crate::config::Limits`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    pub(crate) first_bytes_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// What a connection is doing: streams open, requests seen, when it last had none open.
struct Activity {
    born: Instant,
    open: AtomicUsize,
    requests: AtomicUsize,
    /// Milliseconds from `born` to the moment the last open stream ended.
    idle_since_ms: AtomicU64,
    /// Woken when the last open stream ends: the idle clock starts then, not at the next look.
    went_idle: Notify,
    /// Streams whose response handed the connection bytes that the connection has not yet
    /// asked past (it asks for more once the client's window has room), by stream number, with
    /// when that was.
    waiting_for_client: Mutex<BTreeMap<u64, Instant>>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            born: Instant::now(),
            open: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            went_idle: Notify::new(),
            waiting_for_client: Mutex::new(BTreeMap::new()),
        })
    }

    /// Stream `number` handed the connection something and waits to be asked again. The
    /// connection looks at least once per `idle_timeout`, so it sees this within two.
    fn note_waiting(&self, number: u64) {
        self.waiting().insert(number, Instant::now());
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Instant>> {
        self.waiting_for_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn idle_since(&self) -> Instant {
        self.born + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
    }

    /// When the connection is to close if nothing happens first: while a stream is open, only
    /// once a response has waited `idle_timeout` for the client to take it.
    fn closes_at(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.open.load(Ordering::Acquire) > 0 {
            let oldest = self.waiting().values().min().copied();
            return oldest.map(|since| since + limits.idle_timeout);
        }
        let limit = if self.requests.load(Ordering::Acquire) == 0 {
            limits.first_bytes_timeout
        } else {
            limits.idle_timeout
        };
        Some(self.idle_since() + limit)
    }
}

/// One stream of a connection, open until its response body is dropped.
struct StreamGuard(Arc<Activity>, u64);

impl StreamGuard {
    fn open(activity: &Arc<Activity>) -> StreamGuard {
        let number = activity.requests.fetch_add(1, Ordering::AcqRel) as u64;
        activity.open.fetch_add(1, Ordering::AcqRel);
        StreamGuard(activity.clone(), number)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.waiting().remove(&self.1);
        let since = u64::try_from(self.0.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.idle_since_ms.store(since, Ordering::Release);
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.went_idle.notify_one();
        }
    }
}

/// A response body that keeps its stream counted as open until it is sent or dropped, and
/// notes when it handed the connection bytes and was not asked for more.
pub(crate) struct Tracked {
    body: ProxyBody,
    stream: StreamGuard,
    /// The head or bytes were handed over and the connection has not asked again since.
    handed: bool,
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<HttpFrame<bytes::Bytes>, Infallible>>> {
        let this = self.get_mut();
        if std::mem::take(&mut this.handed) {
            this.stream.0.waiting().remove(&this.stream.1);
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(data))) = &frame {
            if data.is_data() {
                this.handed = true;
                this.stream.0.note_waiting(this.stream.1);
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Accepts connections until `serving.shutdown`, then gives the open ones `serving.grace` to
/// finish their calls.
pub(crate) async fn accept_loop(listener: TcpListener, tls: Option<Acceptor>, serving: Serving) {
    let mut shutdown = serving.shutdown.clone();
    let grace = serving.grace;
    let max = serving
        .limits
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors, most likely: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // At the cap: closed at once, so the descriptor is free again and the client sees
            // a reset rather than a connection that never answers.
            if let Some(metrics) = &serving.metrics {
                metrics.connection_refused();
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = serving.clone();
        // Without the `tls` feature the acceptor is `()`, and the clone a copy.
        #[cfg_attr(not(feature = "tls"), allow(clippy::clone_on_copy))]
        let tls = tls.clone();
        tokio::spawn(async move {
            connection.run(stream, remote, tls).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a permit until it is closed: all permits back means all closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace + CLOSE_GRACE, permits.acquire_many(all)).await;
}

/// What serving a listener's connections needs.
#[derive(Clone)]
pub(crate) struct Serving {
    /// Serves each request.
    pub(crate) handler: Handler,
    /// HTTP/1.1 and HTTP/2 settings.
    pub(crate) builder: Builder<TokioExecutor>,
    /// Timeouts and the cap.
    pub(crate) limits: ConnectionLimits,
    /// `true` once the proxy is shutting down.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// How long calls in flight get to finish once it is.
    pub(crate) grace: Duration,
    /// Where connections are counted (the admin port's own are not).
    pub(crate) metrics: Option<Arc<Metrics>>,
}

impl Serving {
    async fn run(self, stream: TcpStream, remote: SocketAddr, tls: Option<Acceptor>) {
        let metrics = self.metrics.clone();
        if let Some(metrics) = &metrics {
            metrics.connection(true);
        }
        match tls {
            #[cfg(feature = "tls")]
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.limits.first_bytes_timeout, acceptor.accept(stream));
                if let Ok(Ok(stream)) = handshake.await {
                    self.serve(TokioIo::new(stream), remote).await;
                }
            }
            #[cfg(not(feature = "tls"))]
            Some(()) => {}
            None => self.serve(TokioIo::new(stream), remote).await,
        }
        if let Some(metrics) = &metrics {
            metrics.connection(false);
        }
    }

    async fn serve<I>(mut self, io: I, remote: SocketAddr)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let handler = self.handler.clone();
        let streams = activity.clone();
        let service = service_fn(move |request| {
            let stream = StreamGuard::open(&streams);
            let answer = handler(request, remote);
            async move {
                let response = answer.await;
                // The response's head goes to the connection now; its body waits, like any bytes
                // handed over, until the connection asks for it (over HTTP/2, once the client's
                // window has room).
                stream.0.note_waiting(stream.1);
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    stream,
                    handed: true,
                }))
            }
        });
        let connection = self.builder.serve_connection(io, service).into_owned();
        tokio::pin!(connection);
        // Once told to close: the moment it is dropped if it has not closed by then.
        let mut drop_at: Option<Instant> = None;
        loop {
            // Look again at least once per idle limit: a stream's end restarts the idle clock,
            // and a response may have started waiting for its client since.
            let next_look = Instant::now() + self.limits.idle_timeout;
            let wake = drop_at.unwrap_or_else(|| {
                activity
                    .closes_at(&self.limits)
                    .map_or(next_look, |at| at.min(next_look))
            });
            tokio::select! {
                _ = connection.as_mut() => return,
                // The wake-up is computed again from the new state.
                _ = activity.went_idle.notified(), if drop_at.is_none() => {}
                changed = self.shutdown.changed(), if drop_at.is_none() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        connection.as_mut().graceful_shutdown();
                        drop_at = Some(Instant::now() + self.grace + CLOSE_GRACE);
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    if drop_at.is_some() {
                        return;
                    }
                    if activity
                        .closes_at(&self.limits)
                        .is_some_and(|at| at <= Instant::now())
                    {
                        connection.as_mut().graceful_shutdown();
                        drop_at = Some(Instant::now() + CLOSE_GRACE);
                    }
                }
            }
        }
    }
}
