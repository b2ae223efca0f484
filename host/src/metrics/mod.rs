//! The Prometheus metrics of one orpipe process (docs/metrics.md lists every one).
//!
//! The host measures what it sees itself (HTTP requests, latency, admission, instances,
//! traps); what only the guest knows (tokens, cost, outcomes, error classes, retries,
//! breaker trips) arrives as the guest's structured log events (`guest_events.rs`), read
//! from the lines it writes anyway, so counting costs the guest no extra host call.
//!
//! Nothing here fails a request: recording is a few atomic operations, and a label the
//! guest sends that is not what the host expects is counted under `other`.

mod endpoint;
mod guest_events;
mod routes;
mod timed_body;

pub use endpoint::{METRICS_PATH, metrics_response, serve_metrics};
pub use guest_events::record_guest_event;
pub use routes::route_label;
pub use timed_body::TimedBody;

use crate::admission::{Admission, Rejected};
use crate::sandbox::TrapCause;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Latency buckets, in seconds: from a cached answer's half millisecond to a long
/// reasoning stream's ten minutes.
const LATENCY_BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 180.0, 600.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelOutcome {
    model: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelTokens {
    model: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabel {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<RouteStatus, Counter>,
    http_ttfb: Histograms<RouteLabel>,
    http_duration: Histograms<RouteLabel>,
    chat_completions: Family<ModelOutcome, Counter>,
    tokens: Family<ModelTokens, Counter>,
    cost: Family<ModelLabel, Counter<f64, AtomicU64>>,
    chat_failures: Family<ClassLabel, Counter>,
    stream_failures: Family<ClassLabel, Counter>,
    upstream_retries: Family<KindLabel, Counter>,
    breaker_trips: Counter,
    tool_calls: Family<OutcomeLabel, Counter>,
    tool_breaker_trips: Counter,
    admission_queued: Gauge,
    admission_wait: Histogram,
    admission_rejected: Family<ReasonLabel, Counter>,
    instances_alive: Gauge,
    instances_max: Gauge,
    guest_traps: Family<CauseLabel, Counter>,
    sql_deferred: Family<OutcomeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("orpipe"),
            http_requests: Family::default(),
            http_ttfb: Family::new_with_constructor(latency_histogram),
            http_duration: Family::new_with_constructor(latency_histogram),
            chat_completions: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            chat_failures: Family::default(),
            stream_failures: Family::default(),
            upstream_retries: Family::default(),
            breaker_trips: Counter::default(),
            tool_calls: Family::default(),
            tool_breaker_trips: Counter::default(),
            admission_queued: Gauge::default(),
            admission_wait: latency_histogram(),
            admission_rejected: Family::default(),
            instances_alive: Gauge::default(),
            instances_max: Gauge::default(),
            guest_traps: Family::default(),
            sql_deferred: Family::default(),
        };
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            self.http_requests.clone(),
        );
        r.register_with_unit(
            "http_time_to_first_byte",
            "Time from the request's arrival to the first byte of the response body",
            Unit::Seconds,
            self.http_ttfb.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time from the request's arrival to the end of the response body",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        r.register(
            "chat_completions",
            "Chat completions whose answer started, by model and how they ended",
            self.chat_completions.clone(),
        );
        r.register(
            "tokens",
            "Tokens OpenRouter reported, by model and kind (input, output, reasoning, cached)",
            self.tokens.clone(),
        );
        r.register(
            "cost_usd",
            "Cost OpenRouter reported, in US dollars, by model",
            self.cost.clone(),
        );
        r.register(
            "chat_failures",
            "Chat completions that failed before their answer started, by failure class",
            self.chat_failures.clone(),
        );
        r.register(
            "stream_failures",
            "Streamed answers cut short by a failure after they started (the card shown), by failure class",
            self.stream_failures.clone(),
        );
        r.register(
            "upstream_retries",
            "Upstream calls made again: after a transient failure or a refused reasoning effort",
            self.upstream_retries.clone(),
        );
        r.register(
            "breaker_trips",
            "Times a user's request breaker opened",
            self.breaker_trips.clone(),
        );
        r.register(
            "tool_calls",
            "Server (MCP) tool calls of the tool loop, by outcome: ran, failed, timed_out, switched_off",
            self.tool_calls.clone(),
        );
        r.register(
            "tool_breaker_trips",
            "Times a user's breaker for one server tool opened",
            self.tool_breaker_trips.clone(),
        );
        r.register(
            "admission_queued_requests",
            "Requests waiting for a free instance slot now",
            self.admission_queued.clone(),
        );
        r.register_with_unit(
            "admission_wait",
            "Time requests waited for an instance slot (0 when one was free)",
            Unit::Seconds,
            self.admission_wait.clone(),
        );
        r.register(
            "admission_rejected",
            "Requests refused by admission control (503), by reason",
            self.admission_rejected.clone(),
        );
        r.register(
            "instances_alive",
            "Guest instances alive now (requests and jobs)",
            self.instances_alive.clone(),
        );
        r.register(
            "instances_max",
            "Guest instances allowed at once (ORPIPE_MAX_CONCURRENT)",
            self.instances_max.clone(),
        );
        r.register(
            "guest_traps",
            "Guest instances stopped by a trap, by cause (cpu_limit, memory_limit, other)",
            self.guest_traps.clone(),
        );
        r.register(
            "sql_deferred_statements",
            "Statements queued with the sql `defer` call, by outcome: written (committed), failed (given up on, logged)",
            self.sql_deferred.clone(),
        );
    }

    /// The counters the deferred SQL writer (`caps::sql::deferred`) adds to; both exist
    /// (at 0) from the start, so a dashboard sees the series before the first write.
    pub fn sql_deferred(&self) -> SqlDeferredCounts {
        let counter = |outcome| {
            self.sql_deferred
                .get_or_create(&OutcomeLabel { outcome })
                .clone()
        };
        SqlDeferredCounts {
            written: counter("written"),
            failed: counter("failed"),
        }
    }

    /// One answered request, counted when its response head is ready.
    pub fn count_request(&self, route: &'static str, status: u16) {
        self.http_requests
            .get_or_create(&RouteStatus { route, status })
            .inc();
    }

    pub fn observe_time_to_first_byte(&self, route: &'static str, elapsed: Duration) {
        self.http_ttfb
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_duration(&self, route: &'static str, elapsed: Duration) {
        self.http_duration
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    /// One request's pass through admission control.
    pub fn observe_admission(&self, waited: Duration, refused: Option<Rejected>) {
        self.admission_wait.observe(waited.as_secs_f64());
        let Some(rejected) = refused else { return };
        let reason = match rejected {
            Rejected::QueueFull => "queue_full",
            Rejected::TimedOut => "timed_out",
            Rejected::Closed => "shutting_down",
        };
        self.admission_rejected
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    pub fn count_trap(&self, cause: TrapCause) {
        self.guest_traps
            .get_or_create(&CauseLabel {
                cause: cause.as_str(),
            })
            .inc();
    }

    /// Held by each guest instance's store: `instances_alive` counts the live ones.
    pub fn instance_alive(&self) -> InstanceAlive {
        self.instances_alive.inc();
        InstanceAlive(self.instances_alive.clone())
    }

    /// The text exposition (OpenMetrics 1.0 text, which Prometheus scrapes), with the
    /// gauges that are read rather than counted brought up to date first.
    pub fn render(&self, admission: &Admission) -> String {
        let queued = i64::try_from(admission.queued()).unwrap_or(i64::MAX);
        self.admission_queued.set(queued);
        let max = i64::try_from(admission.limits().max_concurrent).unwrap_or(i64::MAX);
        self.instances_max.set(max);
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Writing to a String cannot fail; should it ever, the scrape shows what was written.
            tracing::warn!(%error, "metrics not fully encoded");
        }
        text
    }
}

/// The scrape of `metrics` with an idle admission, for the tests of this module's parts.
#[cfg(test)]
fn scrape_for_test(metrics: &Metrics) -> String {
    let admission = Admission::new(crate::admission::Limits {
        max_concurrent: 1,
        max_queued: 0,
        queue_timeout: Duration::ZERO,
    });
    metrics.render(&admission)
}

/// What became of the statements queued with `defer`. Clones share their counts; a
/// `default()` one counts without being scraped (tests).
#[derive(Clone, Debug, Default)]
pub struct SqlDeferredCounts {
    /// Statements committed.
    pub written: Counter,
    /// Statements given up on: their transaction failed even alone (logged).
    pub failed: Counter,
}

/// One live guest instance; dropping it (with the store) counts it gone.
pub struct InstanceAlive(Gauge);

impl Drop for InstanceAlive {
    fn drop(&mut self) {
        self.0.dec();
    }
}
