//! What `--mode paced-streams` prints: the idle memory, one row per step (orpipe, and the
//! direct baseline at the same load), the streams throughput sweep, and one JSON line.

use std::time::Duration;

use orpipe_testkit::harness::ProcessMemory;
use orpipe_testkit::stats::{Summary, summarize};
use serde_json::{Value, json};

use super::fd_limit::FdLimit;
use super::paced_streams::IdleMemory;
use super::peers_report::CLIENT_BOUND_SHARE;
use super::stream_wave::WaveResult;
use super::streams_throughput::{self, SweepRow};

/// One step: `streams` paced streams straight to the mock, then through orpipe.
pub(super) struct StepResult {
    pub(super) streams: usize,
    pub(super) direct: WaveResult,
    pub(super) orpipe: WaveResult,
}

pub(super) struct PacedReport {
    pub(super) tokens: usize,
    pub(super) pace_ms: u64,
    pub(super) ttft_ms: u64,
    pub(super) ramp: Duration,
    pub(super) gateway_core: usize,
    pub(super) client_core: usize,
    pub(super) warmup: usize,
    pub(super) bench_fds: Option<FdLimit>,
    pub(super) gateway_fds: Option<FdLimit>,
    pub(super) idle: IdleMemory,
    pub(super) steps: Vec<StepResult>,
    pub(super) throughput: Vec<SweepRow>,
    pub(super) final_memory: Option<ProcessMemory>,
}

impl StepResult {
    /// orpipe's TTFB p99 minus the direct wave's, in µs.
    fn added_ttfb_p99_us(&self) -> Option<i64> {
        let orpipe = summarize(&self.orpipe.ttfb)?.p99_us;
        let direct = summarize(&self.direct.ttfb)?.p99_us;
        Some(i64::try_from(orpipe).ok()? - i64::try_from(direct).ok()?)
    }

    /// Plateau RSS over the idle (warm start) RSS, per stream of the step, in KiB.
    fn kib_per_stream(&self, idle: Option<ProcessMemory>) -> Option<f64> {
        let plateau = self.orpipe.plateau_rss_kib?;
        let idle = idle?.rss_kib;
        Some((plateau as f64 - idle as f64) / self.streams as f64)
    }
}

/// Plateau RSS growth from the previous step to this one, per extra stream, in KiB.
fn marginal_kib(previous: Option<&StepResult>, step: &StepResult) -> Option<f64> {
    let previous = previous?;
    let extra = step
        .streams
        .checked_sub(previous.streams)
        .filter(|&n| n > 0)?;
    let grown = step.orpipe.plateau_rss_kib? as f64 - previous.orpipe.plateau_rss_kib? as f64;
    Some(grown / extra as f64)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn triple(summary: Option<Summary>) -> String {
    summary.map_or("n/a".into(), |s| {
        format!(
            "{:.2} / {:.2} / {:.2}",
            ms(s.p50_us),
            ms(s.p99_us),
            ms(s.max_us)
        )
    })
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
}

fn percent(share: Option<f64>) -> String {
    share.map_or("n/a".into(), |share| format!("{:.0}%", share * 100.0))
}

fn bound(share: Option<f64>) -> &'static str {
    if share.is_some_and(|share| share >= CLIENT_BOUND_SHARE) {
        "yes"
    } else {
        "no"
    }
}

fn limit_text(limit: Option<FdLimit>) -> String {
    let value = |n: u64| {
        if n == u64::MAX {
            "unlimited".to_owned()
        } else {
            n.to_string()
        }
    };
    limit.map_or("n/a".into(), |l| {
        format!("soft {} / hard {}", value(l.soft), value(l.hard))
    })
}

impl PacedReport {
    pub(super) fn print(&self) {
        println!(
            "paced-streams bench: {} deltas every {} ms (ttft {} ms), starts spread over {} ms; orpipe on core {}, mock and client on core {}",
            self.tokens,
            self.pace_ms,
            self.ttft_ms,
            self.ramp.as_millis(),
            self.gateway_core,
            self.client_core
        );
        println!(
            "descriptor limits: bench {}, orpipe {}",
            limit_text(self.bench_fds),
            limit_text(self.gateway_fds)
        );
        let rss = |memory: Option<ProcessMemory>| mib(memory.map(|m| m.rss_kib));
        println!(
            "orpipe idle RSS: {} MiB after a start that compiles the guest, {} MiB after a start that loads the compile cache; {} MiB after {} warm-up streams per path; peak (VmHWM) at the end {} MiB",
            rss(self.idle.cold),
            rss(self.idle.warm),
            rss(self.idle.after_warmup),
            self.warmup,
            mib(self.final_memory.map(|m| m.peak_rss_kib)),
        );
        println!();
        println!(
            "Paced steps through orpipe. Gaps and TTFB in ms (p50 / p99 / max); added TTFB = orpipe's p99 − the direct wave's p99 at the same N. RSS per stream = (plateau − idle after the cached start) / N; marginal = plateau growth from the previous step per extra stream."
        );
        println!();
        println!(
            "| N | completed (failed) | deltas lost | no [DONE] | frame gap | TTFB | added TTFB p99 | orpipe core | peak open | RSS plateau MiB | KiB per stream | marginal KiB | orpipe fds | client core | client-bound |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut previous: Option<&StepResult> = None;
        for step in &self.steps {
            let wave = &step.orpipe;
            println!(
                "| {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                step.streams,
                wave.completed,
                wave.failed(),
                wave.deltas_lost(),
                wave.done_missing,
                triple(summarize(&wave.text_gaps)),
                triple(summarize(&wave.ttfb)),
                step.added_ttfb_p99_us()
                    .map_or("n/a".into(), |us| format!("{:+.2}", us as f64 / 1000.0)),
                percent(wave.share(wave.gateway_cpu)),
                wave.peak_open,
                mib(wave.plateau_rss_kib),
                step.kib_per_stream(self.idle.warm)
                    .map_or("n/a".into(), |kib| format!("{kib:.1}")),
                marginal_kib(previous, step).map_or("".into(), |kib| format!("{kib:.1}")),
                wave.plateau_fds.map_or("n/a".into(), |n| n.to_string()),
                percent(wave.share(wave.client_cpu)),
                bound(wave.share(wave.client_cpu)),
            );
            previous = Some(step);
        }
        println!();
        println!(
            "The same steps straight to the mock (the baseline: what the client and mock manage alone):"
        );
        println!();
        println!(
            "| N | completed (failed) | deltas lost | frame gap | TTFB | client core | client-bound |"
        );
        println!("|---|---|---|---|---|---|---|");
        for step in &self.steps {
            let wave = &step.direct;
            println!(
                "| {} | {} ({}) | {} | {} | {} | {} | {} |",
                step.streams,
                wave.completed,
                wave.failed(),
                wave.deltas_lost(),
                triple(summarize(&wave.text_gaps)),
                triple(summarize(&wave.ttfb)),
                percent(wave.share(wave.client_cpu)),
                bound(wave.share(wave.client_cpu)),
            );
        }
        for step in &self.steps {
            for (path, wave) in [("direct", &step.direct), ("orpipe", &step.orpipe)] {
                if !wave.failures.is_empty() {
                    println!(
                        "failures, {path} at N = {}: {:?}",
                        step.streams, wave.failures
                    );
                }
            }
        }
        streams_throughput::print(&self.throughput);
    }

    pub(super) fn json(&self) -> Value {
        let memory = |m: Option<ProcessMemory>| m.map(|m| m.rss_kib);
        let mut previous: Option<&StepResult> = None;
        let mut steps = Vec::new();
        for step in &self.steps {
            steps.push(json!({
                "streams": step.streams,
                "orpipe": wave_json(&step.orpipe),
                "direct": wave_json(&step.direct),
                "added_ttfb_p99_us": step.added_ttfb_p99_us(),
                "rss_kib_per_stream": step.kib_per_stream(self.idle.warm),
                "rss_kib_per_extra_stream_marginal": marginal_kib(previous, step),
            }));
            previous = Some(step);
        }
        json!({
            "bench": "orpipe-paced-streams",
            "config": {
                "tokens": self.tokens,
                "pace_ms": self.pace_ms,
                "ttft_ms": self.ttft_ms,
                "ramp_ms": self.ramp.as_millis(),
                "gateway_core": self.gateway_core,
                "client_core": self.client_core,
                "warmup": self.warmup,
            },
            "fd_limits": {
                "bench": self.bench_fds.map(|l| json!({"soft": l.soft, "hard": l.hard})),
                "orpipe": self.gateway_fds.map(|l| json!({"soft": l.soft, "hard": l.hard})),
            },
            "orpipe_rss_kib": {
                "idle_compiled": memory(self.idle.cold),
                "idle_cached": memory(self.idle.warm),
                "after_warmup": memory(self.idle.after_warmup),
                "peak_at_end": self.final_memory.map(|m| m.peak_rss_kib),
            },
            "steps": steps,
            "streams_throughput": streams_throughput::json(&self.throughput),
        })
    }
}

fn wave_json(wave: &WaveResult) -> Value {
    json!({
        "streams": wave.streams,
        "completed": wave.completed,
        "failures": wave.failures,
        "deltas_expected": wave.deltas_expected,
        "deltas_lost": wave.deltas_lost(),
        "done_missing": wave.done_missing,
        "frame_gap": summarize(&wave.text_gaps),
        "ttfb": summarize(&wave.ttfb),
        "whole_stream": summarize(&wave.whole),
        "elapsed_s": wave.elapsed.as_secs_f64(),
        "peak_open": wave.peak_open,
        "plateau_rss_kib": wave.plateau_rss_kib,
        "peak_rss_kib": wave.peak_rss_kib,
        "plateau_fds": wave.plateau_fds,
        "gateway_cpu_s": wave.gateway_cpu.map(|cpu| cpu.as_secs_f64()),
        "gateway_core_share": wave.share(wave.gateway_cpu),
        "client_cpu_s": wave.client_cpu.map(|cpu| cpu.as_secs_f64()),
        "client_core_share": wave.share(wave.client_cpu),
        "client_bound": wave.share(wave.client_cpu).is_some_and(|s| s >= CLIENT_BOUND_SHARE),
    })
}
