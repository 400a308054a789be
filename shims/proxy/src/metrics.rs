//! Per-call records: one structured `tracing` event per call, and the Prometheus counters.

use std::sync::Arc;
use std::time::Instant;

use grpc_lambda_core::Code;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The prefix of every series the proxy exports.
const PREFIX: &str = "grpc_lambda_proxy";

/// The route label of calls that matched no route or whose path is not a method path: one
/// label for all of them, so a client cannot grow the counters with paths of its choosing.
pub const UNROUTED: &str = "(unrouted)";

/// A label value from the configuration (a route pattern, a target name), escaped as the
/// text format asks (`\\`, `\"`, `\n`) when written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ConfiguredLabel(Arc<str>);

impl EncodeLabelValue for ConfiguredLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The labels of `grpc_lambda_proxy_calls_total`: all bounded by the configuration (routes,
/// targets) or the protocol (17 codes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    route: ConfiguredLabel,
    target: ConfiguredLabel,
    code: &'static str,
}

/// The label of `grpc_lambda_proxy_failures_total`: a kind from [`crate::error`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailureLabels {
    kind: &'static str,
}

/// The proxy's series, served by the admin port as Prometheus text.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    in_flight: Gauge,
    open_connections: Gauge,
    refused_connections: Counter,
    /// Set from the budget when rendered.
    bytes_in_flight: Option<(Arc<crate::budget::Budget>, Gauge)>,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::build(None)
    }
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Empty counters that also report how much of `budget` is in use.
    pub(crate) fn with_budget(budget: Arc<crate::budget::Budget>) -> Metrics {
        Metrics::build(Some(budget))
    }

    fn build(budget: Option<Arc<crate::budget::Budget>>) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let calls = Family::<CallLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let in_flight = Gauge::default();
        let open_connections = Gauge::default();
        let refused_connections = Counter::default();
        let latency = Histogram::new(BUCKETS);
        // Registered in the order the series were always served in.
        registry.register(
            "calls",
            "Calls finished, by route pattern, target and gRPC status.",
            calls.clone(),
        );
        registry.register(
            "failures",
            "Calls the proxy or Lambda failed, by kind.",
            failures.clone(),
        );
        registry.register("calls_in_flight", "Calls being served.", in_flight.clone());
        registry.register(
            "connections",
            "Client connections open now.",
            open_connections.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once: the proxy held max_connections.",
            refused_connections.clone(),
        );
        let bytes_in_flight = budget.map(|budget| {
            let gauge = Gauge::default();
            registry.register(
                "bytes_in_flight",
                "Request and response bytes held, against max_bytes_in_flight.",
                gauge.clone(),
            );
            (budget, gauge)
        });
        registry.register(
            "call_duration_seconds",
            "Call latency, request to last byte.",
            latency.clone(),
        );
        Metrics {
            registry,
            calls,
            failures,
            in_flight,
            open_connections,
            refused_connections,
            bytes_in_flight,
            latency,
        }
    }

    /// A connection was accepted (`true`) or closed (`false`).
    pub(crate) fn connection(&self, open: bool) {
        if open {
            self.open_connections.inc();
        } else {
            self.open_connections.dec();
        }
    }

    /// A connection was closed at once because the proxy holds its maximum.
    pub(crate) fn connection_refused(&self) {
        self.refused_connections.inc();
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        u64::try_from(self.open_connections.get()).unwrap_or(0)
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> u64 {
        u64::try_from(self.in_flight.get()).unwrap_or(0)
    }

    fn record(
        &self,
        route: &Arc<str>,
        target: &Arc<str>,
        code: Code,
        error: Option<&'static str>,
        seconds: f64,
    ) {
        // The labels share the route's strings: no copy once a route and target were seen.
        let labels = CallLabels {
            route: ConfiguredLabel(route.clone()),
            target: ConfiguredLabel(target.clone()),
            code: code.as_str(),
        };
        self.calls.get_or_create(&labels).inc();
        if let Some(kind) = error {
            self.failures.get_or_create(&FailureLabels { kind }).inc();
        }
        self.latency.observe(seconds);
    }

    /// The series in the Prometheus text exposition format.
    ///
    /// # Examples
    ///
    /// ```
    /// let metrics = grpc_lambda_proxy::metrics::Metrics::new();
    /// assert!(metrics.render().contains("grpc_lambda_proxy_calls_in_flight 0"));
    /// ```
    pub fn render(&self) -> String {
        if let Some((budget, gauge)) = &self.bytes_in_flight {
            gauge.set(i64::try_from(budget.in_use()).unwrap_or(i64::MAX));
        }
        let mut out = String::with_capacity(2048);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        out
    }
}

/// The target label of calls that were never routed.
pub const NO_TARGET: &str = "-";

/// One call being served. When dropped (the response's last byte sent, or the client gone) it
/// emits one `tracing` event (`msg = "call"`) and counts the call; a call dropped before its status is known is `CANCELLED`.
pub(crate) struct CallRecord {
    metrics: Arc<Metrics>,
    /// The request path, cut to [`grpc_lambda_protocol::path::QUOTED_PATH_MAX`] for the log line.
    method: String,
    /// The route pattern the call is counted under ([`UNROUTED`] until routed).
    route: Arc<str>,
    /// The target's name ([`NO_TARGET`] until routed).
    target: Arc<str>,
    protocol: &'static str,
    start: Instant,
    code: Option<Code>,
    error: Option<&'static str>,
    log: bool,
}

impl CallRecord {
    /// Starts recording a call to `path` (only quoted, cut, in the log line).
    pub(crate) fn new(
        metrics: Arc<Metrics>,
        path: &str,
        protocol: &'static str,
        start: Instant,
        log: bool,
    ) -> CallRecord {
        metrics.in_flight.inc();
        thread_local! {
            static UNROUTED_LABEL: Arc<str> = Arc::from(UNROUTED);
            static NO_TARGET_LABEL: Arc<str> = Arc::from(NO_TARGET);
        }
        CallRecord {
            metrics,
            method: if log {
                grpc_lambda_protocol::path::quoted(path).into_owned()
            } else {
                String::new()
            },
            route: UNROUTED_LABEL.with(Arc::clone),
            target: NO_TARGET_LABEL.with(Arc::clone),
            protocol,
            start,
            code: None,
            error: None,
            log,
        }
    }

    /// Names the route and its target once routed.
    pub(crate) fn set_route(&mut self, route: &crate::route::Route) {
        self.route = route.pattern.clone();
        self.target = route.target_name.clone();
    }

    /// Notes a failure kind ([`crate::error::InvokeError::kind`]).
    pub(crate) fn set_error(&mut self, kind: &'static str) {
        self.error = Some(kind);
    }

    /// Notes the status.
    pub(crate) fn set_code(&mut self, code: Code) {
        self.code = Some(code);
    }

    /// Notes the status and hands the record on.
    pub(crate) fn finish_with(mut self, code: Code) -> CallRecord {
        self.code = Some(code);
        self
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
        // Dropped before a status was known: the client went away (reset the stream or closed
        // the connection).
        let code = self.code.unwrap_or_else(|| {
            self.error = Some(crate::error::CANCELLED_KIND);
            Code::Cancelled
        });
        let elapsed = self.start.elapsed().as_secs_f64();
        self.metrics
            .record(&self.route, &self.target, code, self.error, elapsed);
        if self.log {
            tracing::info!(
                msg = "call",
                method = self.method.as_str(),
                route = &*self.route,
                target = &*self.target,
                protocol = self.protocol,
                status = code.as_str(),
                code = code.as_i32(),
                error = self.error,
                latency_ms = (elapsed * 1e6).round() / 1e3,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_route_target_and_code_with_labels_escaped() {
        let metrics = Metrics::new();
        let route: Arc<str> = Arc::from("/a.B/");
        let target: Arc<str> = Arc::from("https://h/\"x\"\\");
        metrics.record(&route, &target, Code::Ok, None, 0.002);
        metrics.record(&route, &target, Code::Ok, None, 0.002);
        metrics.record(&route, &target, Code::Unavailable, Some("throttled"), 20.0);
        let text = metrics.render();
        for line in [
            "# TYPE grpc_lambda_proxy_calls counter\n",
            "grpc_lambda_proxy_calls_total{route=\"/a.B/\",target=\"https://h/\\\"x\\\"\\\\\",code=\"OK\"} 2\n",
            "grpc_lambda_proxy_calls_total{route=\"/a.B/\",target=\"https://h/\\\"x\\\"\\\\\",code=\"UNAVAILABLE\"} 1\n",
            "grpc_lambda_proxy_failures_total{kind=\"throttled\"} 1\n",
            "grpc_lambda_proxy_calls_in_flight 0\n",
            "grpc_lambda_proxy_connections 0\n",
            "grpc_lambda_proxy_connections_refused_total 0\n",
            "grpc_lambda_proxy_call_duration_seconds_bucket{le=\"0.001\"} 0\n",
            "grpc_lambda_proxy_call_duration_seconds_bucket{le=\"0.0025\"} 2\n",
            "grpc_lambda_proxy_call_duration_seconds_bucket{le=\"10.0\"} 2\n",
            "grpc_lambda_proxy_call_duration_seconds_bucket{le=\"+Inf\"} 3\n",
            "grpc_lambda_proxy_call_duration_seconds_count 3\n",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        assert!(
            !text.contains("bytes_in_flight"),
            "no budget, no gauge: {text}"
        );
    }

    #[test]
    fn in_flight_and_connections_follow_their_events() {
        let metrics = Arc::new(Metrics::with_budget(crate::budget::Budget::new(1024)));
        metrics.connection(true);
        metrics.connection(true);
        metrics.connection(false);
        metrics.connection_refused();
        let record = CallRecord::new(
            metrics.clone(),
            "/a.B/C",
            "application/grpc",
            Instant::now(),
            false,
        );
        assert_eq!(metrics.in_flight(), 1);
        assert_eq!(metrics.open_connections(), 1);
        drop(record);
        assert_eq!(metrics.in_flight(), 0);
        let text = metrics.render();
        for line in [
            "grpc_lambda_proxy_connections 1\n",
            "grpc_lambda_proxy_connections_refused_total 1\n",
            "grpc_lambda_proxy_bytes_in_flight 0\n",
            "grpc_lambda_proxy_calls_total{route=\"(unrouted)\",target=\"-\",code=\"CANCELLED\"} 1\n",
            "grpc_lambda_proxy_failures_total{kind=\"cancelled\"} 1\n",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
    }
}
