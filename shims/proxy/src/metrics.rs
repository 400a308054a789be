//! Per-call records: one structured `tracing` event per call, and the Prometheus counters.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use grpc_lambda_core::{Code, ContentType};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route label of calls that matched no route or whose path is not a method path: one
/// label for all of them, so a client cannot grow the counters with paths of its choosing.
pub const UNROUTED: &str = "(unrouted)";

/// Calls of one route, per target: a count per code (indexed by the code's number).
type ByTarget = HashMap<String, [u64; 17]>;

/// Counters the admin port serves as Prometheus text.
#[derive(Default)]
pub struct Metrics {
    /// route pattern → target → count per code (indexed by the code's number). Both keys come
    /// from the configuration, so the map's size is bounded by it.
    calls: Mutex<HashMap<Arc<str>, ByTarget>>,
    open_connections: AtomicU64,
    refused_connections: AtomicU64,
    bytes_in_flight: Option<Arc<crate::budget::Budget>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    in_flight: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Empty counters that also report how much of `budget` is in use.
    pub fn with_budget(budget: Arc<crate::budget::Budget>) -> Metrics {
        Metrics {
            bytes_in_flight: Some(budget),
            ..Metrics::default()
        }
    }

    /// A connection was accepted (`true`) or closed (`false`).
    pub fn connection(&self, open: bool) {
        if open {
            self.open_connections.fetch_add(1, Ordering::Relaxed);
        } else {
            self.open_connections.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A connection was closed at once because the proxy holds its maximum.
    pub fn connection_refused(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Calls finished with `code` (all methods and targets).
    pub fn calls_with(&self, code: Code) -> u64 {
        let index = code_index(code);
        self.calls
            .lock()
            .map(|calls| {
                calls
                    .values()
                    .flat_map(HashMap::values)
                    .filter_map(|counts| counts.get(index))
                    .sum()
            })
            .unwrap_or(0)
    }

    fn record(
        &self,
        route: &Arc<str>,
        target: &str,
        code: Code,
        error: Option<&'static str>,
        seconds: f64,
    ) {
        if let Ok(mut calls) = self.calls.lock() {
            // Look up before inserting: no allocation once a route and target were seen.
            if !calls.contains_key(route) {
                calls.insert(route.clone(), HashMap::new());
            }
            if let Some(targets) = calls.get_mut(route) {
                if !targets.contains_key(target) {
                    targets.insert(target.to_owned(), [0; 17]);
                }
                if let Some(count) = targets
                    .get_mut(target)
                    .and_then(|counts| counts.get_mut(code_index(code)))
                {
                    *count += 1;
                }
            }
        }
        if let Some(kind) = error {
            if let Ok(mut errors) = self.errors.lock() {
                *errors.entry(kind).or_default() += 1;
            }
        }
        // One increment per call: buckets hold their own range, and are summed when rendered.
        if let Some(bucket) = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .and_then(|i| self.buckets.get(i))
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text exposition format.
    ///
    /// # Examples
    ///
    /// ```
    /// let metrics = grpc_lambda_proxy::metrics::Metrics::new();
    /// assert!(metrics.render().contains("grpc_lambda_proxy_calls_in_flight 0"));
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP grpc_lambda_proxy_calls_total Calls finished, by route pattern, target and gRPC status.\n");
        out.push_str("# TYPE grpc_lambda_proxy_calls_total counter\n");
        if let Ok(calls) = self.calls.lock() {
            let sorted: BTreeMap<_, BTreeMap<_, _>> = calls
                .iter()
                .map(|(route, targets)| (route, targets.iter().collect()))
                .collect();
            for (route, targets) in sorted {
                for (target, counts) in targets {
                    for (code, n) in Code::ALL.iter().zip(counts.iter()) {
                        if *n == 0 {
                            continue;
                        }
                        let _ = writeln!(
                            out,
                            "grpc_lambda_proxy_calls_total{{route=\"{}\",target=\"{}\",code=\"{}\"}} {n}",
                            escape(route),
                            escape(target),
                            code.as_str()
                        );
                    }
                }
            }
        }
        out.push_str(
            "# HELP grpc_lambda_proxy_failures_total Calls the proxy or Lambda failed, by kind.\n",
        );
        out.push_str("# TYPE grpc_lambda_proxy_failures_total counter\n");
        if let Ok(errors) = self.errors.lock() {
            for (kind, n) in errors.iter() {
                let _ = writeln!(
                    out,
                    "grpc_lambda_proxy_failures_total{{kind=\"{kind}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP grpc_lambda_proxy_calls_in_flight Calls being served.\n");
        out.push_str("# TYPE grpc_lambda_proxy_calls_in_flight gauge\n");
        let _ = writeln!(
            out,
            "grpc_lambda_proxy_calls_in_flight {}",
            self.in_flight()
        );
        out.push_str("# HELP grpc_lambda_proxy_connections Client connections open now.\n");
        out.push_str("# TYPE grpc_lambda_proxy_connections gauge\n");
        let _ = writeln!(
            out,
            "grpc_lambda_proxy_connections {}",
            self.open_connections()
        );
        out.push_str("# HELP grpc_lambda_proxy_connections_refused_total Connections closed at once: the proxy held max_connections.\n");
        out.push_str("# TYPE grpc_lambda_proxy_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "grpc_lambda_proxy_connections_refused_total {}",
            self.refused_connections.load(Ordering::Relaxed)
        );
        if let Some(budget) = &self.bytes_in_flight {
            out.push_str("# HELP grpc_lambda_proxy_bytes_in_flight Request and response bytes held, against max_bytes_in_flight.\n");
            out.push_str("# TYPE grpc_lambda_proxy_bytes_in_flight gauge\n");
            let _ = writeln!(out, "grpc_lambda_proxy_bytes_in_flight {}", budget.in_use());
        }
        out.push_str(
            "# HELP grpc_lambda_proxy_call_duration_seconds Call latency, request to last byte.\n",
        );
        out.push_str("# TYPE grpc_lambda_proxy_call_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "grpc_lambda_proxy_call_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "grpc_lambda_proxy_call_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "grpc_lambda_proxy_call_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "grpc_lambda_proxy_call_duration_seconds_count {count}");
        out
    }
}

/// A code's position in [`Code::ALL`] (its number, for the 17 defined codes).
fn code_index(code: Code) -> usize {
    usize::try_from(code.as_i32()).unwrap_or(2).min(16)
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One call being served. When dropped (the response's last byte sent, or the client gone) it
/// emits one `tracing` event (`msg = "call"`) and counts the call; a call dropped before its status is known is `CANCELLED`.
pub struct CallRecord {
    metrics: Arc<Metrics>,
    /// The request path, cut to [`crate::path::QUOTED_PATH_MAX`] for the log line.
    method: String,
    /// The route pattern the call is counted under ([`UNROUTED`] until routed).
    route: Arc<str>,
    target: Option<Arc<dyn crate::invoke::Upstream>>,
    protocol: ContentType,
    start: Instant,
    code: Option<Code>,
    error: Option<&'static str>,
    log: bool,
}

impl CallRecord {
    /// Starts recording a call to `path` (only quoted, cut, in the log line).
    pub fn new(
        metrics: Arc<Metrics>,
        path: &str,
        protocol: ContentType,
        start: Instant,
        log: bool,
    ) -> CallRecord {
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        thread_local! {
            static UNROUTED_LABEL: Arc<str> = Arc::from(UNROUTED);
        }
        CallRecord {
            metrics,
            method: if log {
                crate::path::quoted(path).into_owned()
            } else {
                String::new()
            },
            route: UNROUTED_LABEL.with(Arc::clone),
            target: None,
            protocol,
            start,
            code: None,
            error: None,
            log,
        }
    }

    /// Names the route and its target once routed.
    pub fn set_route(&mut self, route: &crate::route::Route) {
        self.route = route.pattern.clone();
        self.target = Some(route.target.clone());
    }

    /// Notes a failure kind ([`crate::error::InvokeError::kind`]).
    pub fn set_error(&mut self, kind: &'static str) {
        self.error = Some(kind);
    }

    /// Notes the status.
    pub fn set_code(&mut self, code: Code) {
        self.code = Some(code);
    }

    /// Notes the status and hands the record on.
    pub fn finish_with(mut self, code: Code) -> CallRecord {
        self.code = Some(code);
        self
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        // Dropped before a status was known: the client went away (reset the stream or closed
        // the connection).
        let code = self.code.unwrap_or_else(|| {
            self.error = Some(crate::error::CANCELLED_KIND);
            Code::Cancelled
        });
        let elapsed = self.start.elapsed().as_secs_f64();
        let target = self.target.as_ref().map_or("-", |target| target.name());
        self.metrics
            .record(&self.route, target, code, self.error, elapsed);
        if self.log {
            tracing::info!(
                msg = "call",
                method = self.method.as_str(),
                route = &*self.route,
                target = target,
                protocol = self.protocol.as_str(),
                status = code.as_str(),
                code = code.as_i32(),
                error = self.error,
                latency_ms = (elapsed * 1e6).round() / 1e3,
            );
        }
    }
}
