//! One wave of `N` paced streams, their starts spread evenly over a ramp shorter than a
//! stream, so that all `N` are open at once for a while (the plateau) and their deltas fall
//! evenly within each pace interval instead of all on the same tick.
//!
//! While the wave runs, a sampler reads the gateway's resident memory and this process's
//! count of open streams every few milliseconds: the memory at the plateau (every stream
//! of the wave open) is what the per-stream memory figure is made of.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use orpipe_testkit::harness::{process_cpu, process_memory};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::fd_limit::open_fds;
use super::peer_process::{cpu_spent, tree_cpu};
use super::stream_probe::{ProbeClient, ProbeTarget, StreamTrace};

/// How often the sampler reads the gateway's memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Everything one wave measured.
#[derive(Debug, Default)]
pub(super) struct WaveResult {
    pub(super) streams: usize,
    pub(super) completed: usize,
    pub(super) failures: BTreeMap<String, usize>,
    /// Text deltas expected (`streams × tokens`) and received.
    pub(super) deltas_expected: u64,
    pub(super) deltas_received: u64,
    /// Streams without `[DONE]`.
    pub(super) done_missing: usize,
    pub(super) ttfb: Vec<Duration>,
    pub(super) text_gaps: Vec<Duration>,
    /// Send to end of body, complete streams only.
    pub(super) whole: Vec<Duration>,
    pub(super) elapsed: Duration,
    /// Most streams this process had open at once.
    pub(super) peak_open: usize,
    /// The gateway's highest RSS while all the wave's streams were open (KiB).
    pub(super) plateau_rss_kib: Option<u64>,
    /// The gateway's highest RSS during the wave, whatever was open (KiB).
    pub(super) peak_rss_kib: Option<u64>,
    /// The gateway's open descriptors at the plateau.
    pub(super) plateau_fds: Option<usize>,
    /// Gateway CPU over the wave (process tree; 10 ms ticks).
    pub(super) gateway_cpu: Option<Duration>,
    /// This process's CPU (client and mock) over the wave.
    pub(super) client_cpu: Option<Duration>,
}

impl WaveResult {
    pub(super) fn failed(&self) -> usize {
        self.failures.values().sum()
    }

    /// Text deltas that never arrived (failed streams included).
    pub(super) fn deltas_lost(&self) -> u64 {
        self.deltas_expected.saturating_sub(self.deltas_received)
    }

    /// A CPU time as a share of the wave's wall time (1.0 = one whole core).
    pub(super) fn share(&self, cpu: Option<Duration>) -> Option<f64> {
        let wall = self.elapsed.as_secs_f64();
        cpu.filter(|_| wall > 0.0)
            .map(|cpu| cpu.as_secs_f64() / wall)
    }

    fn add(&mut self, trace: StreamTrace, tokens: usize) {
        self.streams += 1;
        self.deltas_received += trace.text_events.min(tokens) as u64;
        if !trace.saw_done {
            self.done_missing += 1;
        }
        self.ttfb.extend(trace.ttfb);
        match trace.failure(tokens) {
            None => {
                self.completed += 1;
                self.whole.push(trace.whole);
            }
            Some(kind) => *self.failures.entry(kind).or_default() += 1,
        }
        self.text_gaps.extend(trace.text_gaps);
    }
}

/// What the sampler saw.
#[derive(Debug, Default)]
struct Samples {
    peak_open: usize,
    plateau_rss_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
    plateau_fds: Option<usize>,
}

/// Runs `streams` streams to `target`, started evenly over `ramp`, all read to the end.
pub(super) async fn run_wave(
    client: &ProbeClient,
    target: &ProbeTarget,
    streams: usize,
    ramp: Duration,
    tokens: usize,
    gateway_pid: Option<u32>,
) -> WaveResult {
    let open = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample(
        gateway_pid,
        streams,
        Arc::clone(&open),
        Arc::clone(&stop),
    ));
    let gateway_before = gateway_pid.and_then(tree_cpu);
    let own_before = process_cpu(std::process::id()).ok();
    let started = Instant::now();

    let mut tasks = JoinSet::new();
    for index in 0..streams {
        let offset = ramp.mul_f64(index as f64 / streams.max(1) as f64);
        let (client, target, open) = (client.clone(), target.clone(), Arc::clone(&open));
        tasks.spawn(async move {
            tokio::time::sleep_until(started + offset).await;
            open.fetch_add(1, Ordering::SeqCst);
            let trace = client.stream(&target).await;
            open.fetch_sub(1, Ordering::SeqCst);
            trace
        });
    }
    let mut result = WaveResult {
        deltas_expected: (streams * tokens) as u64,
        ..WaveResult::default()
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(trace) => result.add(trace, tokens),
            Err(error) => {
                result.streams += 1;
                *result
                    .failures
                    .entry(format!("driver task failed: {error}"))
                    .or_default() += 1;
            }
        }
    }
    result.elapsed = started.elapsed();
    let own_after = process_cpu(std::process::id()).ok();
    let gateway_after = gateway_pid.and_then(tree_cpu);
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.unwrap_or_default();

    result.peak_open = samples.peak_open;
    result.plateau_rss_kib = samples.plateau_rss_kib;
    result.peak_rss_kib = samples.peak_rss_kib;
    result.plateau_fds = samples.plateau_fds;
    result.gateway_cpu = cpu_spent(gateway_before, gateway_after);
    result.client_cpu = cpu_spent(own_before, own_after);
    result
}

/// Reads the gateway's RSS and this process's open streams until `stop`.
async fn sample(
    gateway_pid: Option<u32>,
    streams: usize,
    open: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Samples {
    let mut samples = Samples::default();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::SeqCst) {
        tick.tick().await;
        let now_open = open.load(Ordering::SeqCst);
        samples.peak_open = samples.peak_open.max(now_open);
        let Some(pid) = gateway_pid else { continue };
        let Ok(memory) = process_memory(pid) else {
            continue;
        };
        samples.peak_rss_kib = samples.peak_rss_kib.max(Some(memory.rss_kib));
        if streams > 0 && now_open >= streams {
            if samples
                .plateau_rss_kib
                .is_none_or(|rss| memory.rss_kib > rss)
            {
                samples.plateau_fds = open_fds(pid);
            }
            samples.plateau_rss_kib = samples.plateau_rss_kib.max(Some(memory.rss_kib));
        }
    }
    samples
}
