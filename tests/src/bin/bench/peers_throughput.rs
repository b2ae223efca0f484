//! The throughput phase of `--mode peers`: whole answers at concurrency 16 and 64, one lane
//! at a time (a gateway alone on its core), reporting requests per second and p99, the
//! gateway's CPU per 1,000 answers, and whether the client core, not the gateway, was the
//! limit.

use std::time::Duration;

use orpipe_testkit::HttpClient;
use orpipe_testkit::harness::process_cpu;
use orpipe_testkit::stats::summarize;
use tokio::time::Instant;

use super::peer_process::{cpu_spent, tree_cpu};
use super::peers::{Lane, WholeResults, run_whole};
use super::peers_report::CLIENT_BOUND_SHARE;

/// The concurrencies measured.
pub(super) const CONCURRENCIES: [usize; 2] = [16, 64];

/// One lane at one concurrency.
pub(super) struct ThroughputRow {
    pub(super) lane: String,
    pub(super) concurrency: usize,
    pub(super) requests: usize,
    pub(super) errors: usize,
    pub(super) per_second: f64,
    pub(super) p99: Option<Duration>,
    /// The gateway's process tree over the row (`None` for the baselines).
    pub(super) gateway_cpu: Option<Duration>,
    /// This process's CPU (mock and client) over the wall time.
    pub(super) client_share: Option<f64>,
}

/// Runs `count(lane)` whole answers per lane and concurrency.
pub(super) async fn measure(
    client: &HttpClient,
    lanes: &[Lane],
    count: impl Fn(&Lane) -> usize,
) -> Vec<ThroughputRow> {
    let mut rows = Vec::new();
    for lane in lanes {
        for concurrency in CONCURRENCIES {
            let requests = count(lane);
            if requests == 0 {
                continue;
            }
            eprintln!("throughput: {} at concurrency {concurrency}", lane.name);
            let gateway_cpu = || lane.process.as_ref().and_then(|p| tree_cpu(p.pid()));
            let gateway_before = gateway_cpu();
            let own_before = process_cpu(std::process::id()).ok();
            let started = Instant::now();
            let mut results = WholeResults::default();
            run_whole(client, &lane.whole, requests, concurrency, &mut results).await;
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let own_after = process_cpu(std::process::id()).ok();
            let gateway_after = gateway_cpu();
            rows.push(ThroughputRow {
                lane: lane.name.clone(),
                concurrency,
                requests: results.requests,
                errors: results.errors.values().sum(),
                per_second: results.latency.len() as f64 / elapsed,
                p99: summarize(&results.latency).map(|s| Duration::from_micros(s.p99_us)),
                gateway_cpu: cpu_spent(gateway_before, gateway_after),
                client_share: cpu_spent(own_before, own_after)
                    .map(|spent| spent.as_secs_f64() / elapsed),
            });
        }
    }
    rows
}

pub(super) fn print(rows: &[ThroughputRow]) {
    if rows.is_empty() {
        return;
    }
    println!();
    println!(
        "Throughput, whole answers, one lane at a time (closed loop). Client-bound: this process (mock and client) used ≥ {:.0}% of its core.",
        CLIENT_BOUND_SHARE * 100.0
    );
    println!();
    println!(
        "| lane | concurrency | requests (errors) | answers/s | p99 ms | gateway CPU s/1k | client core | client-bound |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let share = row.client_share.unwrap_or_default();
        println!(
            "| {} | {} | {} ({}) | {:.0} | {} | {} | {:.0}% | {} |",
            row.lane,
            row.concurrency,
            row.requests,
            row.errors,
            row.per_second,
            row.p99.map_or("n/a".into(), |p99| format!(
                "{:.2}",
                p99.as_secs_f64() * 1000.0
            )),
            match row.gateway_cpu {
                Some(cpu) if row.requests > 0 =>
                    format!("{:.2}", cpu.as_secs_f64() * 1000.0 / row.requests as f64),
                _ => String::new(),
            },
            share * 100.0,
            if share >= CLIENT_BOUND_SHARE {
                "yes"
            } else {
                "no"
            },
        );
    }
}
