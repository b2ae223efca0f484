//! The table `--mode peers` prints: each gateway's figures over its baseline.

use std::time::Duration;

use orpipe_testkit::stats::{Summary, summarize};

use super::Args;
use super::peer_process::tree_memory;
use super::peers::Lane;

/// A client core above this share of its time means the client, not the gateway, was the limit.
pub(super) const CLIENT_BOUND_SHARE: f64 = 0.9;

/// Picks one figure (p50, p99, max) out of a summary.
type Pick = fn(&Summary) -> u64;
const P50: Pick = |s| s.p50_us;
const P99: Pick = |s| s.p99_us;
const MAX: Pick = |s| s.max_us;

/// `gateway − baseline` of one figure, in ms; the baseline's own figure for a baseline row.
fn cell(
    lane: &[Vec<Duration>; 2],
    base: Option<&[Vec<Duration>; 2]>,
    which: usize,
    picks: &[Pick],
) -> String {
    let own = lane.get(which).and_then(|samples| summarize(samples));
    let base = base
        .and_then(|b| b.get(which))
        .and_then(|samples| summarize(samples));
    let Some(own) = own else { return "n/a".into() };
    picks
        .iter()
        .map(|pick| match &base {
            Some(base) => {
                let added = i128::from(pick(&own)) - i128::from(pick(base));
                format!("{:+.2}", added as f64 / 1000.0)
            }
            None => format!("{:.2}", pick(&own) as f64 / 1000.0),
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

fn per_thousand(cpu: Option<Duration>, requests: usize) -> String {
    match cpu {
        Some(cpu) if requests > 0 => format!("{:.2}", cpu.as_secs_f64() * 1000.0 / requests as f64),
        _ => "n/a".into(),
    }
}

pub(super) fn print_table(
    args: &Args,
    lanes: &[Lane],
    absent: &[(String, String)],
    client_share: [Option<f64>; 2],
) {
    println!(
        "side-by-side bench: {} tokens every {} ms (ttft {} ms), concurrency {}, up to {} requests per lane and phase (LiteLLM {}); gateways on core {}, mock and client on core {}",
        args.tokens,
        args.pace_ms,
        args.ttft_ms,
        args.concurrency,
        args.requests,
        args.litellm_requests,
        args.gateway_core,
        args.client_core
    );
    println!(
        "Latencies in ms, p50 / p99 / max; gateway rows are added over their baseline row, baseline rows are absolute. CPU: gateway process tree, s per 1,000 requests (10 ms tick resolution)."
    );
    println!();
    println!(
        "| lane | version | streams (errors) | TTFB | TTFT | frame gap | whole answers (errors) | whole answer | CPU s/1k streamed | CPU s/1k whole | RSS idle / peak MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for lane in lanes {
        let base = lane.baseline.and_then(|index| lanes.get(index));
        let stream = [lane.streamed.ttfb.clone(), lane.streamed.ttft.clone()];
        let stream_base = base.map(|b| [b.streamed.ttfb.clone(), b.streamed.ttft.clone()]);
        let gaps = [
            lane.streamed.text_gaps.clone(),
            lane.whole_results.latency.clone(),
        ];
        let gaps_base = base.map(|b| {
            [
                b.streamed.text_gaps.clone(),
                b.whole_results.latency.clone(),
            ]
        });
        let memory = match (
            lane.idle_memory,
            lane.process.as_ref().and_then(|p| tree_memory(p.pid())),
        ) {
            (Some(idle), Some(now)) => format!(
                "{:.1} / {:.1}",
                idle.rss_kib as f64 / 1024.0,
                now.peak_rss_kib as f64 / 1024.0
            ),
            _ => "".into(),
        };
        println!(
            "| {} | {} | {} ({}) | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
            lane.name,
            lane.version,
            lane.streamed.streams,
            lane.streamed.error_count(),
            cell(&stream, stream_base.as_ref(), 0, &[P50, P99, MAX]),
            cell(&stream, stream_base.as_ref(), 1, &[P50, P99, MAX]),
            cell(&gaps, gaps_base.as_ref(), 0, &[P50, P99, MAX]),
            lane.whole_results.requests,
            lane.whole_results.errors.values().sum::<usize>(),
            cell(&gaps, gaps_base.as_ref(), 1, &[P50, P99, MAX]),
            if lane.process.is_some() {
                per_thousand(lane.cpu[0], lane.streamed.streams)
            } else {
                String::new()
            },
            if lane.process.is_some() {
                per_thousand(lane.cpu[1], lane.whole_results.requests)
            } else {
                String::new()
            },
            memory,
        );
    }
    for (name, why) in absent {
        println!("| {name} | {why} | | | | | | | | | |");
    }
    println!();
    let share = |phase: usize| {
        client_share[phase].map_or("n/a".to_owned(), |share| {
            let bound = if share >= CLIENT_BOUND_SHARE {
                "yes: the client was the limit"
            } else {
                "no"
            };
            format!("{:.0}% of its core ({bound})", share * 100.0)
        })
    };
    println!(
        "client and mock CPU: streamed phase {}, whole-answer phase {}",
        share(0),
        share(1)
    );
    for lane in lanes {
        if !lane.streamed.errors.is_empty() || !lane.whole_results.errors.is_empty() {
            println!(
                "errors, {}: streamed {:?}, whole {:?}",
                lane.name, lane.streamed.errors, lane.whole_results.errors
            );
        }
    }
}
