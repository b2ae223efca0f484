//! Streaming benchmark: what orpipe adds to time-to-first-byte and to the gaps between
//! events, measured black-box against a direct baseline (METHOD.md §3).
//!
//! One process runs the mock OpenRouter (synthetic paced streams) and the driver; orpipe runs
//! as a child. Rounds alternate a batch of direct Responses streams to the mock with a batch
//! of Chat Completions streams through orpipe, so drift hits both paths alike. It reports
//! figures and makes no judgement: there are no thresholds here.
//!
//! `cargo run --release -p orpipe-testkit --bin bench -- --orpipe target/release/orpipe`
//!
//! `--mode admission` runs the other bench, in `admission.rs`: it saturates orpipe's
//! admission control and counts 503s and intact, mixed-up or truncated streams.
//! `--mode peers` (`peers.rs`) runs orpipe beside nginx, TensorZero and LiteLLM.
//! `--mode tool-round` (`tool_round.rs`) measures what one round of the tool loop adds.
//! `--mode paced-streams` (`paced_streams.rs`) holds thousands of paced streams open at
//! once and sweeps streams throughput.

mod admission;
mod fd_limit;
mod paced_report;
mod paced_streams;
mod peer_process;
mod peer_start;
mod peers;
mod peers_json;
mod peers_report;
mod peers_throughput;
mod stream_probe;
mod stream_wave;
mod streams_throughput;
mod tool_round;
mod tool_round_report;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use orpipe_guest::sse::SseEvent;
use orpipe_testkit::harness::{ProcessCpu, ProcessMemory};
use orpipe_testkit::stats::{Summary, summarize};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply, StreamOutcome, StreamResult};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The key orpipe is told to accept (`ORPIPE_API_KEYS`) and the driver sends.
const GATEWAY_KEY: &str = "sk-orpipe-bench";
/// Any key but the mock's bad one works upstream.
const UPSTREAM_KEY: &str = "sk-or-v1-bench";

/// Which bench to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Streaming overhead against the direct baseline.
    Stream,
    /// Overload: far more streams in flight than orpipe admits (see admission.rs).
    Admission,
    /// orpipe beside nginx, TensorZero and LiteLLM (see peers.rs).
    Peers,
    /// What one round of the tool loop (an MCP call) adds (see tool_round.rs).
    ToolRound,
    /// Thousands of concurrent paced streams, memory per open stream, streams throughput
    /// (see paced_streams.rs).
    PacedStreams,
}

/// Benchmark orpipe's streaming overhead against a direct-to-mock baseline, or (with
/// `--mode admission`) its behaviour under overload.
#[derive(Debug, Clone, Parser)]
struct Args {
    /// Path to the orpipe binary (build it with --release).
    #[arg(long)]
    orpipe: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Stream)]
    mode: Mode,
    /// Admission mode: orpipe's ORPIPE_MAX_CONCURRENT.
    #[arg(long, default_value_t = 8)]
    max_concurrent: usize,
    /// Admission mode: orpipe's ORPIPE_MAX_QUEUED.
    #[arg(long, default_value_t = 8)]
    max_queued: usize,
    /// Admission mode: orpipe's ORPIPE_QUEUE_TIMEOUT_MS.
    #[arg(long, default_value_t = 30_000)]
    queue_timeout_ms: u64,
    /// Admission mode: how long a client that got a 503 waits before its next request.
    #[arg(long, default_value_t = 100)]
    refused_pause_ms: u64,
    /// Streams in flight at once, per batch.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured streams per path (direct and through orpipe).
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Text deltas per stream.
    #[arg(long, default_value_t = 64)]
    tokens: usize,
    /// Milliseconds between deltas.
    #[arg(long, default_value_t = 20)]
    pace_ms: u64,
    /// Milliseconds the mock waits before `response.created`.
    #[arg(long, default_value_t = 0)]
    ttft_ms: u64,
    /// Unmeasured streams per path before the measured rounds.
    #[arg(long, default_value_t = 32)]
    warmup: usize,
    /// Stop starting rounds after this many seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
    /// Model named in the requests.
    #[arg(long, default_value = "openai/gpt-4o-mini")]
    model: String,
    /// Peers mode: requests per phase for LiteLLM (about 40 ms of CPU per stream).
    #[arg(long, default_value_t = 50)]
    litellm_requests: usize,
    /// Peers mode: whole answers per gateway and concurrency (16, 64) in the throughput
    /// phase (LiteLLM: at most --litellm-requests). Paced-streams mode: unpaced streams per
    /// lane and concurrency (1, 16, 64, 256) in its throughput sweep. 0 skips the phase.
    #[arg(long, default_value_t = 2000)]
    throughput_requests: usize,
    /// Peers and paced-streams modes: the core the gateway is pinned to (`taskset`).
    #[arg(long, default_value_t = 1)]
    gateway_core: usize,
    /// Peers and paced-streams modes: the core this process (mock and client) is pinned to.
    #[arg(long, default_value_t = 0)]
    client_core: usize,
    /// Tokio worker threads for the mock and the driver (orpipe gets the rest of the machine).
    #[arg(long, default_value_t = 1)]
    driver_threads: usize,
    /// Paced-streams mode: the numbers of concurrent streams to step through (those up to
    /// --max-streams).
    #[arg(long, value_delimiter = ',', default_values_t = [500, 1000, 2000, 5000])]
    steps: Vec<usize>,
    /// Paced-streams mode: the largest step (run even when not in --steps); 0 skips the
    /// paced steps.
    #[arg(long, default_value_t = 5000)]
    max_streams: usize,
    /// Paced-streams mode: the streams of a step start evenly spread over this many ms
    /// (default: half a stream's duration, so all are open during the second half).
    #[arg(long)]
    ramp_ms: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.driver_threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    match args.mode {
        Mode::Stream => runtime.block_on(run(args)),
        Mode::Admission => runtime.block_on(admission::run(&args)),
        Mode::Peers => runtime.block_on(peers::run(&args)),
        Mode::ToolRound => runtime.block_on(tool_round::run(&args)),
        Mode::PacedStreams => runtime.block_on(paced_streams::run(&args)),
    }
}

/// Which way a stream goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Responses API straight to the mock: the baseline.
    Direct,
    /// Chat Completions chunks: through orpipe (which calls the mock's Responses API) or
    /// another gateway, or from the mock's own `/chat/completions`.
    Chat,
}

/// Where to send a stream and how to recognise its text events.
#[derive(Clone)]
struct Target {
    path: Path,
    url: String,
    body: Value,
    bearer: &'static str,
}

impl Target {
    fn direct(mock: &MockOpenRouter, model: &str) -> Self {
        Self {
            path: Path::Direct,
            url: mock.responses_url(),
            body: json!({ "model": model, "stream": true, "input": "hi" }),
            bearer: UPSTREAM_KEY,
        }
    }

    fn through(orpipe: &Orpipe, model: &str) -> Self {
        Self {
            path: Path::Chat,
            url: orpipe.url("/v1/chat/completions"),
            body: json!({
                "model": model, "stream": true,
                "messages": [{ "role": "user", "content": "hi" }],
            }),
            bearer: GATEWAY_KEY,
        }
    }

    /// Whether a data event carries generated text on this path.
    fn is_text(&self, event: &Value) -> bool {
        match self.path {
            Path::Direct => {
                event.get("type").and_then(Value::as_str) == Some("response.output_text.delta")
            }
            Path::Chat => event
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .is_some_and(|text| !text.is_empty()),
        }
    }
}

/// What one stream showed.
#[derive(Debug, Default)]
struct Sample {
    /// First data event of any kind.
    ttfb: Option<Duration>,
    /// First text event.
    ttft: Option<Duration>,
    /// Between consecutive text events: where a 40 ms Nagle stall shows up.
    text_gaps: Vec<Duration>,
    error: Option<String>,
}

/// All samples of one path.
#[derive(Debug, Default)]
struct PathResults {
    ttfb: Vec<Duration>,
    ttft: Vec<Duration>,
    text_gaps: Vec<Duration>,
    /// Chat chunks or Responses events received (data frames, `[DONE]` excluded).
    data_frames: u64,
    streams: usize,
    errors: BTreeMap<String, usize>,
}

impl PathResults {
    fn add(&mut self, sample: Sample, data_frames: u64) {
        self.streams += 1;
        self.data_frames += data_frames;
        self.ttfb.extend(sample.ttfb);
        self.ttft.extend(sample.ttft);
        self.text_gaps.extend(sample.text_gaps);
        if let Some(kind) = sample.error {
            *self.errors.entry(kind).or_default() += 1;
        }
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mock = MockOpenRouter::start().await?;
    mock.set_default_reply(
        Reply::synthetic(args.tokens)
            .pace(Duration::from_millis(args.pace_ms))
            .ttft(Duration::from_millis(args.ttft_ms)),
    );
    let orpipe = Orpipe::spawn(
        &args.orpipe,
        &mock.base_url(),
        &[("ORPIPE_API_KEYS", GATEWAY_KEY)],
    )
    .await?;
    let idle_memory = orpipe.memory().ok();

    let expected = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    let client = HttpClient::new().with_timeout(Duration::from_secs(30) + expected * 2);
    let direct = Target::direct(&mock, &args.model);
    let through = Target::through(&orpipe, &args.model);

    eprintln!("warming up: {} streams per path", args.warmup);
    let mut discard = PathResults::default();
    run_batches(
        &client,
        &direct,
        args.warmup,
        args.concurrency,
        args.tokens,
        &mut discard,
    )
    .await;
    run_batches(
        &client,
        &through,
        args.warmup,
        args.concurrency,
        args.tokens,
        &mut discard,
    )
    .await;
    mock.clear_requests();

    let cpu_before = orpipe.cpu().ok();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut direct_results = PathResults::default();
    let mut orpipe_results = PathResults::default();
    let mut round = 0_usize;
    while direct_results.streams < args.requests && Instant::now() < deadline {
        let batch = args.concurrency.min(args.requests - direct_results.streams);
        // Alternate which path goes first so neither always runs on a warmer machine.
        let order = if round.is_multiple_of(2) {
            [
                (&direct, &mut direct_results),
                (&through, &mut orpipe_results),
            ]
        } else {
            [
                (&through, &mut orpipe_results),
                (&direct, &mut direct_results),
            ]
        };
        for (target, results) in order {
            run_batches(&client, target, batch, batch, args.tokens, results).await;
        }
        round += 1;
        if round.is_multiple_of(5) {
            eprintln!(
                "{} / {} streams per path",
                direct_results.streams, args.requests
            );
        }
    }
    let elapsed = started.elapsed();
    let cpu_after = orpipe.cpu().ok();
    let final_memory = orpipe.memory().ok();

    let report = Report {
        args: &args,
        direct: &direct_results,
        orpipe: &orpipe_results,
        elapsed,
        idle_memory,
        final_memory,
        cpu: cpu_before
            .zip(cpu_after)
            .map(|(before, after)| CpuUse { before, after }),
    };
    report.print_table();
    println!("{}", report.json());
    Ok(())
}

/// Runs `count` streams to `target`, at most `concurrency` at a time.
async fn run_batches(
    client: &HttpClient,
    target: &Target,
    count: usize,
    concurrency: usize,
    tokens: usize,
    results: &mut PathResults,
) {
    run_bounded(
        count,
        concurrency,
        || {
            let (client, target) = (client.clone(), target.clone());
            async move {
                let outcome = client
                    .stream_sse(&target.url, &target.body, Some(target.bearer))
                    .await;
                measure(&target, tokens, outcome)
            }
        },
        |joined| match joined {
            Ok((sample, frames)) => results.add(sample, frames),
            Err(error) => results.add(
                Sample {
                    error: Some(format!("driver task failed: {error}")),
                    ..Sample::default()
                },
                0,
            ),
        },
    )
    .await;
}

/// Runs `count` tasks made by `make`, at most `concurrency` at a time, handing each
/// result to `collect` as it finishes.
async fn run_bounded<T, Fut>(
    count: usize,
    concurrency: usize,
    mut make: impl FnMut() -> Fut,
    mut collect: impl FnMut(Result<T, tokio::task::JoinError>),
) where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut started = 0;
    let mut in_flight = JoinSet::new();
    while started < count || !in_flight.is_empty() {
        while started < count && in_flight.len() < concurrency {
            in_flight.spawn(make());
            started += 1;
        }
        match in_flight.join_next().await {
            Some(joined) => collect(joined),
            None => break,
        }
    }
}

/// Turns one stream into a sample and its count of data frames.
fn measure(target: &Target, tokens: usize, outcome: anyhow::Result<StreamResult>) -> (Sample, u64) {
    let stream = match outcome {
        Ok(stream) => stream,
        Err(error) => {
            let sample = Sample {
                error: Some(format!(
                    "request failed: {}",
                    first_line(&error.to_string())
                )),
                ..Sample::default()
            };
            return (sample, 0);
        }
    };
    let mut sample = Sample {
        ttfb: stream.ttfb,
        ..Sample::default()
    };
    let mut data_frames = 0_u64;
    let mut previous_text: Option<Duration> = None;
    let mut text_events = 0_usize;
    for frame in &stream.frames {
        let SseEvent::Data(data) = &frame.data else {
            continue;
        };
        data_frames += 1;
        let Ok(event) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if !target.is_text(&event) {
            continue;
        }
        text_events += 1;
        sample.ttft.get_or_insert(frame.at);
        if let Some(previous) = previous_text {
            sample.text_gaps.push(frame.at.saturating_sub(previous));
        }
        previous_text = Some(frame.at);
    }
    sample.error = classify_failure(&stream, text_events, tokens);
    (sample, data_frames)
}

/// The error kind of a stream, or `None` if it was complete.
fn classify_failure(stream: &StreamResult, text_events: usize, tokens: usize) -> Option<String> {
    if stream.status != 200 {
        return Some(format!("HTTP {}", stream.status));
    }
    match &stream.outcome {
        StreamOutcome::Ended => {}
        StreamOutcome::TimedOut => return Some("timed out".into()),
        StreamOutcome::BodyError(error) => return Some(format!("body error: {error}")),
        StreamOutcome::DecodeError(error) => return Some(format!("SSE decode error: {error}")),
    }
    if !stream.saw_done() {
        return Some("no [DONE]".into());
    }
    if text_events != tokens {
        return Some("text events != tokens".into());
    }
    None
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// orpipe's CPU time around the measured rounds.
struct CpuUse {
    before: ProcessCpu,
    after: ProcessCpu,
}

struct Report<'a> {
    args: &'a Args,
    direct: &'a PathResults,
    orpipe: &'a PathResults,
    elapsed: Duration,
    idle_memory: Option<ProcessMemory>,
    final_memory: Option<ProcessMemory>,
    cpu: Option<CpuUse>,
}

/// Picks one figure (p50, p99, max) out of a summary.
type SummaryField = fn(&Summary) -> u64;

/// The three latency metrics, each summarized per path.
struct Metric {
    name: &'static str,
    direct: Option<Summary>,
    orpipe: Option<Summary>,
}

impl Report<'_> {
    fn metrics(&self) -> [Metric; 3] {
        [
            Metric {
                name: "TTFB (first data event)",
                direct: summarize(&self.direct.ttfb),
                orpipe: summarize(&self.orpipe.ttfb),
            },
            Metric {
                name: "TTFT (first text event)",
                direct: summarize(&self.direct.ttft),
                orpipe: summarize(&self.orpipe.ttft),
            },
            Metric {
                name: "gap between text events",
                direct: summarize(&self.direct.text_gaps),
                orpipe: summarize(&self.orpipe.text_gaps),
            },
        ]
    }

    fn gateway_cpu(&self) -> Option<Duration> {
        self.cpu
            .as_ref()
            .map(|cpu| cpu.after.total().saturating_sub(cpu.before.total()))
    }

    fn print_table(&self) {
        let args = self.args;
        println!(
            "orpipe streaming bench: {} streams per path, concurrency {}, {} tokens every {} ms, ttft {} ms, {:.1} s",
            self.direct.streams,
            args.concurrency,
            args.tokens,
            args.pace_ms,
            args.ttft_ms,
            self.elapsed.as_secs_f64()
        );
        println!(
            "{:<26} {:>5} {:>12} {:>12} {:>12}",
            "metric", "", "direct", "orpipe", "added"
        );
        for metric in self.metrics() {
            let rows: [(&str, SummaryField); 3] = [
                ("p50", |s| s.p50_us),
                ("p99", |s| s.p99_us),
                ("max", |s| s.max_us),
            ];
            for (label, pick) in rows {
                let direct = metric.direct.as_ref().map(pick);
                let orpipe = metric.orpipe.as_ref().map(pick);
                println!(
                    "{:<26} {:>5} {:>12} {:>12} {:>12}",
                    metric.name,
                    label,
                    millis(direct),
                    millis(orpipe),
                    signed_millis(added(direct, orpipe)),
                );
            }
        }
        println!(
            "errors: direct {} {:?}, orpipe {} {:?}",
            self.direct.error_count(),
            self.direct.errors,
            self.orpipe.error_count(),
            self.orpipe.errors
        );
        let kib = |memory: Option<ProcessMemory>, pick: fn(&ProcessMemory) -> u64| {
            memory.as_ref().map_or("n/a".to_owned(), |m| {
                format!("{:.1} MiB", pick(m) as f64 / 1024.0)
            })
        };
        println!(
            "orpipe RSS: idle {}, peak (VmHWM) {}, after run {}",
            kib(self.idle_memory, |m| m.rss_kib),
            kib(self.final_memory, |m| m.peak_rss_kib),
            kib(self.final_memory, |m| m.rss_kib),
        );
        if let Some(cpu) = self.gateway_cpu() {
            let seconds = cpu.as_secs_f64();
            let rate = if seconds > 0.0 {
                format!("{:.0}", self.orpipe.data_frames as f64 / seconds)
            } else {
                "n/a".to_owned()
            };
            println!(
                "orpipe CPU: {seconds:.2} s for {} chunks out ({rate} chunks per CPU-second; 10 ms tick resolution)",
                self.orpipe.data_frames
            );
        }
    }

    fn json(&self) -> Value {
        let metric_json = |metric: &Metric| {
            let pick = |summary: Option<Summary>, get: SummaryField| summary.as_ref().map(get);
            json!({
                "direct": metric.direct,
                "orpipe": metric.orpipe,
                "added_p50_us": added(pick(metric.direct, |s| s.p50_us), pick(metric.orpipe, |s| s.p50_us)),
                "added_p99_us": added(pick(metric.direct, |s| s.p99_us), pick(metric.orpipe, |s| s.p99_us)),
            })
        };
        let [ttfb, ttft, gaps] = self.metrics();
        json!({
            "bench": "orpipe-stream",
            "config": {
                "concurrency": self.args.concurrency,
                "requests_per_path": self.args.requests,
                "tokens": self.args.tokens,
                "pace_ms": self.args.pace_ms,
                "ttft_ms": self.args.ttft_ms,
                "warmup": self.args.warmup,
                "model": self.args.model,
                "driver_threads": self.args.driver_threads,
            },
            "elapsed_s": self.elapsed.as_secs_f64(),
            "streams": { "direct": self.direct.streams, "orpipe": self.orpipe.streams },
            "ttfb": metric_json(&ttfb),
            "ttft": metric_json(&ttft),
            "text_gap": metric_json(&gaps),
            "errors": {
                "direct": self.direct.errors,
                "orpipe": self.orpipe.errors,
            },
            "orpipe_memory_kib": {
                "idle_rss": self.idle_memory.map(|m| m.rss_kib),
                "peak_rss": self.final_memory.map(|m| m.peak_rss_kib),
                "rss_after": self.final_memory.map(|m| m.rss_kib),
            },
            "orpipe_cpu_s": self.gateway_cpu().map(|cpu| cpu.as_secs_f64()),
            "orpipe_chunks_out": self.orpipe.data_frames,
        })
    }
}

/// orpipe − direct, in microseconds (negative when orpipe was faster).
fn added(direct: Option<u64>, orpipe: Option<u64>) -> Option<i64> {
    let (direct, orpipe) = (i64::try_from(direct?).ok()?, i64::try_from(orpipe?).ok()?);
    Some(orpipe - direct)
}

fn millis(micros: Option<u64>) -> String {
    micros.map_or("n/a".to_owned(), |us| {
        format!("{:.3} ms", us as f64 / 1000.0)
    })
}

fn signed_millis(micros: Option<i64>) -> String {
    micros.map_or("n/a".to_owned(), |us| {
        format!("{:+.3} ms", us as f64 / 1000.0)
    })
}
