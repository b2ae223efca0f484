//! The streams throughput sweep: unpaced streams (all deltas written at once), closed loop
//! at concurrency 1, 16, 64 and 256, first straight to the mock (the client's own ceiling),
//! then through the gateway. Per row: streams per second, whole-stream time, the gateway's
//! CPU per 1,000 streams, and whether this process (mock and client) was the limit.

use std::collections::BTreeMap;
use std::time::Duration;

use orpipe_testkit::harness::process_cpu;
use orpipe_testkit::stats::{Summary, summarize};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::peer_process::{cpu_spent, tree_cpu};
use super::peers_report::CLIENT_BOUND_SHARE;
use super::run_bounded;
use super::stream_probe::{ProbeClient, ProbeTarget};

/// The concurrencies swept.
pub(super) const CONCURRENCIES: [usize; 4] = [1, 16, 64, 256];

/// One lane at one concurrency.
pub(super) struct SweepRow {
    pub(super) lane: &'static str,
    pub(super) concurrency: usize,
    pub(super) streams: usize,
    pub(super) failures: BTreeMap<String, usize>,
    pub(super) per_second: f64,
    /// Send to end of body, complete streams only.
    pub(super) whole: Option<Summary>,
    pub(super) gateway_cpu: Option<Duration>,
    /// This process's CPU (mock and client) over the wall time.
    pub(super) client_share: Option<f64>,
}

impl SweepRow {
    fn completed(&self) -> usize {
        self.streams - self.failures.values().sum::<usize>()
    }

    fn cpu_per_thousand(&self) -> Option<f64> {
        let cpu = self.gateway_cpu?;
        (self.streams > 0).then(|| cpu.as_secs_f64() * 1000.0 / self.streams as f64)
    }

    fn client_bound(&self) -> bool {
        self.client_share
            .is_some_and(|share| share >= CLIENT_BOUND_SHARE)
    }
}

/// Runs `streams` streams per concurrency to `target`; `gateway_pid` is `None` for the
/// direct lane.
pub(super) async fn sweep(
    client: &ProbeClient,
    lane: &'static str,
    target: &ProbeTarget,
    streams: usize,
    tokens: usize,
    gateway_pid: Option<u32>,
) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    for concurrency in CONCURRENCIES {
        eprintln!("streams throughput: {lane} at concurrency {concurrency}");
        let gateway_before = gateway_pid.and_then(tree_cpu);
        let own_before = process_cpu(std::process::id()).ok();
        let started = Instant::now();
        let mut whole = Vec::with_capacity(streams);
        let mut failures = BTreeMap::new();
        let mut done = 0;
        run_bounded(
            streams,
            concurrency,
            || {
                let (client, target) = (client.clone(), target.clone());
                async move { client.stream(&target).await }
            },
            |joined| {
                done += 1;
                let failure = match joined {
                    Ok(trace) => match trace.failure(tokens) {
                        None => {
                            whole.push(trace.whole);
                            return;
                        }
                        Some(kind) => kind,
                    },
                    Err(error) => format!("driver task failed: {error}"),
                };
                *failures.entry(failure).or_default() += 1;
            },
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let own_after = process_cpu(std::process::id()).ok();
        let gateway_after = gateway_pid.and_then(tree_cpu);
        rows.push(SweepRow {
            lane,
            concurrency,
            streams: done,
            per_second: whole.len() as f64 / elapsed,
            whole: summarize(&whole),
            failures,
            gateway_cpu: cpu_spent(gateway_before, gateway_after),
            client_share: cpu_spent(own_before, own_after)
                .map(|spent| spent.as_secs_f64() / elapsed),
        });
    }
    rows
}

pub(super) fn print(rows: &[SweepRow]) {
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "Streams throughput, unpaced, closed loop. Whole stream = request sent to end of body (ms). Client-bound: this process (mock and client) used ≥ {:.0}% of its core.",
        CLIENT_BOUND_SHARE * 100.0
    );
    println!();
    println!(
        "| lane | concurrency | streams (failed) | streams/s | whole stream p50 / p99 | gateway CPU s/1k | client core | client-bound |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let ms = |us: u64| us as f64 / 1000.0;
        println!(
            "| {} | {} | {} ({}) | {:.0} | {} | {} | {} | {} |",
            row.lane,
            row.concurrency,
            row.streams,
            row.streams - row.completed(),
            row.per_second,
            row.whole.map_or("n/a".into(), |s| format!(
                "{:.2} / {:.2}",
                ms(s.p50_us),
                ms(s.p99_us)
            )),
            row.cpu_per_thousand()
                .map_or(String::new(), |cpu| format!("{cpu:.2}")),
            row.client_share
                .map_or("n/a".into(), |share| format!("{:.0}%", share * 100.0)),
            if row.client_bound() { "yes" } else { "no" },
        );
    }
    for row in rows.iter().filter(|row| !row.failures.is_empty()) {
        println!(
            "failures, {} at concurrency {}: {:?}",
            row.lane, row.concurrency, row.failures
        );
    }
}

pub(super) fn json(rows: &[SweepRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                json!({
                    "lane": row.lane,
                    "concurrency": row.concurrency,
                    "streams": row.streams,
                    "completed": row.completed(),
                    "failures": row.failures,
                    "streams_per_s": row.per_second,
                    "whole_stream": row.whole,
                    "gateway_cpu_s": row.gateway_cpu.map(|cpu| cpu.as_secs_f64()),
                    "gateway_cpu_s_per_1k": row.cpu_per_thousand(),
                    "client_share": row.client_share,
                    "client_bound": row.client_bound(),
                })
            })
            .collect(),
    )
}
