//! `--mode paced-streams`: how many paced streams orpipe holds open at once on one core,
//! what each open stream costs in memory, and its streams throughput (issue 12).
//!
//! orpipe runs pinned to `--gateway-core`, this process (mock and client) to
//! `--client-core`, as in `--mode peers`. orpipe's admission limits are raised above the
//! largest step (`ORPIPE_MAX_CONCURRENT`, `ORPIPE_MAX_QUEUED`), and this process raises its
//! soft descriptor limit to the hard one; orpipe raises its own the same way at start.
//!
//! 1. Idle memory: orpipe starts once on a fresh data directory (it compiles the guest and
//!    writes the compile cache), then again on the same directory (it loads the cache, as
//!    any restart does); idle RSS is read after each start.
//! 2. Paced steps: for each `N` of `--steps` up to `--max-streams`, a wave of `N` streams
//!    straight to the mock (the baseline at that load), then a wave of `N` through orpipe,
//!    each stream `--tokens` deltas every `--pace-ms` (see `stream_wave.rs`).
//! 3. Streams throughput: unpaced streams, closed loop (see `streams_throughput.rs`).
//!
//! It prints the tables, then one JSON line with every figure. No thresholds.
//!
//! `target/release/bench --orpipe target/release/orpipe --mode paced-streams --max-streams 5000`

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use orpipe_testkit::harness::ProcessMemory;
use orpipe_testkit::{MockOpenRouter, Orpipe, Reply};

use super::fd_limit::{FdLimit, fd_limit, raise_own_soft_limit};
use super::paced_report::{PacedReport, StepResult};
use super::peer_process::pin_process;
use super::stream_probe::{ProbeClient, ProbeTarget};
use super::stream_wave::run_wave;
use super::streams_throughput::{CONCURRENCIES, sweep};
use super::{Args, GATEWAY_KEY, Target};

/// Admission slots beyond the largest step: warm-up and the odd straggler.
const SLOT_MARGIN: usize = 64;
/// Pause between waves, so the gateway's after-response work (usage rows) is done.
const SETTLE: Duration = Duration::from_secs(1);
/// Descriptors each open stream costs the bench (client side and mock side).
const FDS_PER_STREAM: u64 = 2;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let bench_fds = raise_own_soft_limit();
    if let Err(error) = &bench_fds {
        eprintln!("descriptor limit not raised: {error:#}");
    }
    if let Err(error) = pin_process(std::process::id(), args.client_core) {
        eprintln!("not pinned to core {}: {error:#}", args.client_core);
    }
    let steps = steps(args);
    let largest = steps.iter().copied().max().unwrap_or(0);
    if let Ok(limit) = &bench_fds {
        let needed = largest as u64 * FDS_PER_STREAM + 256;
        if limit.soft < needed {
            eprintln!(
                "warning: {largest} streams need about {needed} descriptors here; the soft limit is {}",
                limit.soft
            );
        }
    }

    let mock = MockOpenRouter::start().await?;
    mock.set_default_reply(paced_reply(args));
    // Enough for the largest step and for the sweep's highest concurrency, so admission
    // never refuses a stream of either (a 503 would count as a failed stream).
    let sweep_largest = if args.throughput_requests > 0 {
        CONCURRENCIES.iter().copied().max().unwrap_or(0)
    } else {
        0
    };
    let slots = (largest.max(sweep_largest) + SLOT_MARGIN).to_string();
    let env = [
        ("ORPIPE_API_KEYS", GATEWAY_KEY),
        ("ORPIPE_MAX_CONCURRENT", slots.as_str()),
        ("ORPIPE_MAX_QUEUED", slots.as_str()),
    ];
    let data_dir = fresh_data_dir()?;
    let result = measure(args, &mock, &env, &data_dir, &steps, bench_fds.ok()).await;
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        eprintln!("could not remove {}: {error}", data_dir.display());
    }
    let report = result?;
    report.print();
    println!("{}", report.json());
    Ok(())
}

/// The steps to run: `--steps` up to `--max-streams`, and `--max-streams` itself when it
/// lies beyond them.
fn steps(args: &Args) -> Vec<usize> {
    let mut steps: Vec<usize> = args
        .steps
        .iter()
        .copied()
        .filter(|&n| n > 0 && n <= args.max_streams)
        .collect();
    steps.sort_unstable();
    steps.dedup();
    if args.max_streams > 0 && steps.last().is_none_or(|&last| last < args.max_streams) {
        steps.push(args.max_streams);
    }
    steps
}

fn paced_reply(args: &Args) -> Reply {
    Reply::synthetic(args.tokens)
        .pace(Duration::from_millis(args.pace_ms))
        .ttft(Duration::from_millis(args.ttft_ms))
        .into()
}

/// The ramp: `--ramp-ms`, or half a stream's duration, so every stream of a wave is open
/// during the second half.
fn ramp(args: &Args) -> Duration {
    let stream = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    args.ramp_ms.map_or(stream / 2, Duration::from_millis)
}

async fn measure(
    args: &Args,
    mock: &MockOpenRouter,
    env: &[(&str, &str)],
    data_dir: &Path,
    steps: &[usize],
    bench_fds: Option<FdLimit>,
) -> anyhow::Result<PacedReport> {
    eprintln!("starting orpipe on a fresh data directory (compiles the guest)");
    let cold = Orpipe::spawn_in(&args.orpipe, &mock.base_url(), env, Some(data_dir)).await?;
    let cold_idle = cold.memory().ok();
    wait_for_compile_cache(data_dir).await;
    drop(cold);
    eprintln!("starting orpipe again on the same directory (loads the compile cache)");
    let orpipe = Orpipe::spawn_in(&args.orpipe, &mock.base_url(), env, Some(data_dir)).await?;
    if let Err(error) = pin_process(orpipe.pid(), args.gateway_core) {
        eprintln!("orpipe not pinned to core {}: {error:#}", args.gateway_core);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warm_idle = orpipe.memory().ok();
    let gateway_fds = fd_limit(orpipe.pid()).ok();

    let stream = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    let client = ProbeClient::new(Duration::from_secs(60) + stream * 4);
    let model = &args.model;
    let direct = ProbeTarget::of(&Target::direct(mock, model))?;
    let through = ProbeTarget::of(&Target::through(&orpipe, model))?;
    let pid = Some(orpipe.pid());
    let ramp = ramp(args);

    eprintln!("warming up: {} streams per path", args.warmup);
    for target in [&direct, &through] {
        run_wave(&client, target, args.warmup, ramp, args.tokens, None).await;
    }
    let after_warmup = orpipe.memory().ok();

    let mut results: Vec<StepResult> = Vec::new();
    for &n in steps {
        eprintln!("paced step: {n} streams, direct to the mock");
        let direct_wave = run_wave(&client, &direct, n, ramp, args.tokens, None).await;
        tokio::time::sleep(SETTLE).await;
        eprintln!("paced step: {n} streams through orpipe");
        let through_wave = run_wave(&client, &through, n, ramp, args.tokens, pid).await;
        mock.clear_requests();
        eprintln!(
            "  {n} streams: {} complete, {} failed, {} deltas lost",
            through_wave.completed,
            through_wave.failed(),
            through_wave.deltas_lost()
        );
        results.push(StepResult {
            streams: n,
            direct: direct_wave,
            orpipe: through_wave,
        });
        tokio::time::sleep(SETTLE).await;
    }

    let mut throughput = Vec::new();
    if args.throughput_requests > 0 {
        mock.set_default_reply(Reply::synthetic(args.tokens));
        let warmup = args.warmup.min(args.throughput_requests);
        for target in [&direct, &through] {
            run_wave(&client, target, warmup, Duration::ZERO, args.tokens, None).await;
        }
        let n = args.throughput_requests;
        throughput.extend(
            sweep(
                &client,
                "direct Responses (baseline)",
                &direct,
                n,
                args.tokens,
                None,
            )
            .await,
        );
        throughput.extend(sweep(&client, "orpipe", &through, n, args.tokens, pid).await);
        mock.clear_requests();
    }

    Ok(PacedReport {
        tokens: args.tokens,
        pace_ms: args.pace_ms,
        ttft_ms: args.ttft_ms,
        ramp,
        gateway_core: args.gateway_core,
        client_core: args.client_core,
        warmup: args.warmup,
        bench_fds,
        gateway_fds,
        idle: IdleMemory {
            cold: cold_idle,
            warm: warm_idle,
            after_warmup,
        },
        steps: results,
        throughput,
        final_memory: orpipe.memory().ok(),
    })
}

/// orpipe's resident memory before any step.
#[derive(Debug, Clone, Copy)]
pub(super) struct IdleMemory {
    /// Just after a start that compiled the guest.
    pub(super) cold: Option<ProcessMemory>,
    /// Just after a start that loaded the compile cache: the idle figure.
    pub(super) warm: Option<ProcessMemory>,
    /// After the warm-up streams.
    pub(super) after_warmup: Option<ProcessMemory>,
}

/// Waits (up to 30 s) until the compile cache holds an artifact, so the second start
/// loads it; a start without one only compiles again (reported as such by the figures).
async fn wait_for_compile_cache(data_dir: &Path) {
    let cache = data_dir.join("cache");
    let has_artifact = || {
        std::fs::read_dir(&cache).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().ends_with(".cwasm"))
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !has_artifact() {
        if tokio::time::Instant::now() >= deadline {
            eprintln!("no compile cache artifact after 30 s; the second start compiles too");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fresh_data_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("orpipe-bench-paced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
