//! The one JSON line `--mode peers` prints after its tables: every figure of every lane,
//! absolute (µs), with each gateway's baseline named, so a script can subtract what it
//! likes; plus the throughput rows and the client's share of its core.

use std::time::Duration;

use orpipe_testkit::stats::summarize;
use serde_json::{Value, json};

use super::Args;
use super::peer_process::tree_memory;
use super::peers::Lane;
use super::peers_throughput::ThroughputRow;

fn seconds(cpu: Option<Duration>) -> Option<f64> {
    cpu.map(|cpu| cpu.as_secs_f64())
}

fn lane_json(lanes: &[Lane], lane: &Lane) -> Value {
    let now = lane.process.as_ref().and_then(|p| tree_memory(p.pid()));
    json!({
        "lane": lane.name,
        "version": lane.version,
        "baseline": lane.baseline.and_then(|index| lanes.get(index)).map(|b| &b.name),
        "streamed": {
            "requests": lane.streamed.streams,
            "errors": lane.streamed.errors,
            "ttfb": summarize(&lane.streamed.ttfb),
            "ttft": summarize(&lane.streamed.ttft),
            "text_gap": summarize(&lane.streamed.text_gaps),
            "gateway_cpu_s": seconds(lane.cpu[0]),
        },
        "whole": {
            "requests": lane.whole_results.requests,
            "errors": lane.whole_results.errors,
            "latency": summarize(&lane.whole_results.latency),
            "gateway_cpu_s": seconds(lane.cpu[1]),
        },
        "rss_kib": {
            "idle": lane.idle_memory.map(|m| m.rss_kib),
            "peak": now.map(|m| m.peak_rss_kib),
        },
    })
}

fn throughput_json(row: &ThroughputRow) -> Value {
    json!({
        "lane": row.lane,
        "concurrency": row.concurrency,
        "requests": row.requests,
        "errors": row.errors,
        "answers_per_s": row.per_second,
        "p99_us": row.p99.map(|p99| p99.as_micros()),
        "gateway_cpu_s": seconds(row.gateway_cpu),
        "client_share": row.client_share,
    })
}

pub(super) fn json(
    args: &Args,
    lanes: &[Lane],
    absent: &[(String, String)],
    client_share: [Option<f64>; 2],
    throughput: &[ThroughputRow],
) -> Value {
    json!({
        "bench": "orpipe-peers",
        "config": {
            "tokens": args.tokens,
            "pace_ms": args.pace_ms,
            "ttft_ms": args.ttft_ms,
            "concurrency": args.concurrency,
            "requests": args.requests,
            "litellm_requests": args.litellm_requests,
            "throughput_requests": args.throughput_requests,
            "gateway_core": args.gateway_core,
            "client_core": args.client_core,
        },
        "lanes": lanes.iter().map(|lane| lane_json(lanes, lane)).collect::<Vec<_>>(),
        "absent": absent.iter().map(|(name, why)| json!({"lane": name, "why": why})).collect::<Vec<_>>(),
        "client_share": { "streamed": client_share[0], "whole": client_share[1] },
        "throughput": throughput.iter().map(throughput_json).collect::<Vec<_>>(),
    })
}
