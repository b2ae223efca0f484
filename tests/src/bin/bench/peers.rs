//! `--mode peers`: orpipe side by side with nginx (the floor: a plain `proxy_pass`, no
//! translation), TensorZero's gateway and LiteLLM's proxy, against the same mock.
//!
//! Every gateway takes Chat Completions. orpipe, TensorZero (`api_type = "responses"`) and
//! LiteLLM (`openai/responses/...`) translate to the mock's Responses API, so their baseline
//! is a direct Responses call; nginx forwards to the mock's `/chat/completions`, so its
//! baseline is a direct Chat call. Each gateway is pinned to `--gateway-core`, this process
//! (mock and client) to `--client-core`. Requests go out in interleaved rounds (a batch per
//! lane, the order rotating), first streamed, then whole answers. Peers come from
//! `bash scripts/peers.sh install`; one that is missing is reported, not fatal. No thresholds.
//!
//! `taskset -c 0 target/release/bench --orpipe target/release/orpipe --mode peers --concurrency 1`

use std::collections::BTreeMap;
use std::time::Duration;

use orpipe_testkit::harness::{ProcessCpu, ProcessMemory, process_cpu};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::peer_process::{PeerProcess, cpu_spent, pin_process, tree_cpu, tree_memory};
use super::peer_start::{Peer, Started};
use super::{Args, Path as Wire, PathResults, Target, UPSTREAM_KEY, run_batches, run_bounded};
use super::{peers_json, peers_report, peers_throughput};

/// One column of requests: a baseline straight to the mock, or a gateway.
pub(super) struct Lane {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) stream: Target,
    pub(super) whole: Target,
    /// Requests per phase (LiteLLM gets fewer: it is slow).
    pub(super) quota: usize,
    /// Which baseline lane to subtract (`None` for the baselines themselves).
    pub(super) baseline: Option<usize>,
    pub(super) process: Option<Process>,
    pub(super) idle_memory: Option<ProcessMemory>,
    pub(super) streamed: PathResults,
    pub(super) whole_results: WholeResults,
    /// Gateway CPU during the streamed and the whole-answer phase.
    pub(super) cpu: [Option<Duration>; 2],
}

pub(super) enum Process {
    Orpipe(Orpipe),
    Peer(PeerProcess),
}

impl Process {
    pub(super) fn pid(&self) -> u32 {
        match self {
            Process::Orpipe(orpipe) => orpipe.pid(),
            Process::Peer(peer) => peer.pid(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct WholeResults {
    pub(super) latency: Vec<Duration>,
    pub(super) requests: usize,
    pub(super) errors: BTreeMap<String, usize>,
}

/// Index of the direct Responses lane, the baseline of the translating gateways.
const RESPONSES_BASELINE: usize = 0;
/// Index of the direct Chat lane, nginx's baseline.
const CHAT_BASELINE: usize = 1;

/// The two measured phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Streamed = 0,
    Whole = 1,
}

impl Lane {
    fn new(
        name: String,
        path: Wire,
        url: String,
        body: impl Fn(bool) -> Value,
        bearer: &'static str,
    ) -> Self {
        Lane {
            name,
            version: String::new(),
            stream: Target {
                path,
                url: url.clone(),
                body: body(true),
                bearer,
            },
            whole: Target {
                path,
                url,
                body: body(false),
                bearer,
            },
            quota: 0,
            baseline: None,
            process: None,
            idle_memory: None,
            streamed: PathResults::default(),
            whole_results: WholeResults::default(),
            cpu: [None; 2],
        }
    }

    /// Requests done in `phase` so far.
    fn done(&self, phase: Phase) -> usize {
        match phase {
            Phase::Streamed => self.streamed.streams,
            Phase::Whole => self.whole_results.requests,
        }
    }

    fn gateway_cpu(&self) -> Option<ProcessCpu> {
        self.process
            .as_ref()
            .and_then(|process| tree_cpu(process.pid()))
    }
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    if let Err(error) = pin_process(std::process::id(), args.client_core) {
        eprintln!("not pinned to core {}: {error:#}", args.client_core);
    }
    let mock = MockOpenRouter::start().await?;
    mock.set_default_reply(
        Reply::synthetic(args.tokens)
            .pace(Duration::from_millis(args.pace_ms))
            .ttft(Duration::from_millis(args.ttft_ms)),
    );
    let mut lanes = baseline_lanes(args, &mock);
    let absent = start_gateways(args, &mock, &mut lanes).await;

    let expected = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    let client = HttpClient::new().with_timeout(Duration::from_secs(60) + expected * 4);
    let warmup = args.warmup.min(10);
    eprintln!("warming up: {warmup} requests per lane and phase");
    for lane in &lanes {
        run_batches(
            &client,
            &lane.stream,
            warmup,
            1,
            args.tokens,
            &mut PathResults::default(),
        )
        .await;
        run_whole(
            &client,
            &lane.whole,
            warmup,
            1,
            &mut WholeResults::default(),
        )
        .await;
    }
    let client_share = [
        run_phase(args, &client, &mut lanes, Phase::Streamed).await,
        run_phase(args, &client, &mut lanes, Phase::Whole).await,
    ];
    // A lane held below --requests (LiteLLM) is held to its quota here too.
    let throughput = peers_throughput::measure(&client, &lanes, |lane| {
        if lane.quota < args.requests {
            lane.quota.min(args.throughput_requests)
        } else {
            args.throughput_requests
        }
    })
    .await;

    peers_report::print_table(args, &lanes, &absent, client_share);
    peers_throughput::print(&throughput);
    println!(
        "{}",
        peers_json::json(args, &lanes, &absent, client_share, &throughput)
    );
    Ok(())
}

/// The direct-to-mock lanes, at [`RESPONSES_BASELINE`] and [`CHAT_BASELINE`].
fn baseline_lanes(args: &Args, mock: &MockOpenRouter) -> Vec<Lane> {
    let model = args.model.clone();
    let responses = move |stream| json!({ "model": model, "stream": stream, "input": "hi" });
    let model = args.model.clone();
    let chat = move |stream| chat_body(&model, stream);
    let mut lanes = vec![
        Lane::new(
            "direct Responses (baseline)".into(),
            Wire::Direct,
            mock.responses_url(),
            responses,
            UPSTREAM_KEY,
        ),
        Lane::new(
            "direct Chat (nginx's baseline)".into(),
            Wire::Chat,
            mock.chat_completions_url(),
            chat,
            UPSTREAM_KEY,
        ),
    ];
    for lane in &mut lanes {
        lane.quota = args.requests;
    }
    lanes
}

fn chat_body(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] })
}

/// Starts every gateway, pinned, and adds a lane for each that runs; returns the others
/// with the reason (not installed, failed to start).
async fn start_gateways(
    args: &Args,
    mock: &MockOpenRouter,
    lanes: &mut Vec<Lane>,
) -> Vec<(String, String)> {
    let mut absent = Vec::new();
    for peer in [Peer::Orpipe, Peer::Nginx, Peer::TensorZero, Peer::LiteLlm] {
        eprintln!("starting {}", peer.name());
        let (process, url, bearer, model) =
            match peer.start(args, mock, Some(args.gateway_core)).await {
                Ok(Started::Running {
                    process,
                    url,
                    bearer,
                    model,
                }) => (process, url, bearer, model),
                Ok(Started::NotInstalled(why)) => {
                    absent.push((peer.name().to_owned(), why));
                    continue;
                }
                Err(error) => {
                    absent.push((
                        peer.name().to_owned(),
                        format!("failed to start: {error:#}"),
                    ));
                    continue;
                }
            };
        let pid = process.pid();
        if let Err(error) = pin_process(pid, args.gateway_core) {
            eprintln!("{}: not pinned: {error:#}", peer.name());
        }
        let mut lane = Lane::new(
            peer.name().into(),
            Wire::Chat,
            url,
            |stream| chat_body(&model, stream),
            bearer,
        );
        lane.version = peer.version();
        lane.quota = match peer {
            Peer::LiteLlm => args.requests.min(args.litellm_requests),
            Peer::Orpipe | Peer::Nginx | Peer::TensorZero => args.requests,
        };
        lane.baseline = Some(match peer {
            Peer::Nginx => CHAT_BASELINE,
            Peer::Orpipe | Peer::TensorZero | Peer::LiteLlm => RESPONSES_BASELINE,
        });
        lane.idle_memory = tree_memory(pid);
        lane.process = Some(process);
        lanes.push(lane);
    }
    absent
}

/// Interleaved rounds until every lane has its quota of `phase` requests (or the time is
/// up); records each gateway's CPU over the phase and returns this process's share of its
/// core (mock and client).
async fn run_phase(
    args: &Args,
    client: &HttpClient,
    lanes: &mut [Lane],
    phase: Phase,
) -> Option<f64> {
    eprintln!("{phase:?} phase");
    let before: Vec<Option<ProcessCpu>> = lanes.iter().map(Lane::gateway_cpu).collect();
    let own_before = process_cpu(std::process::id()).ok();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut round = 0_usize;
    loop {
        let mut progressed = false;
        // Rotate which lane goes first, so none always runs on a warmer (or busier) machine.
        let first = round % lanes.len().max(1);
        let (head, tail) = lanes.split_at_mut(first);
        for lane in tail.iter_mut().chain(head.iter_mut()) {
            let batch = args
                .concurrency
                .min(lane.quota.saturating_sub(lane.done(phase)));
            if batch == 0 {
                continue;
            }
            progressed = true;
            match phase {
                Phase::Streamed => {
                    run_batches(
                        client,
                        &lane.stream,
                        batch,
                        batch,
                        args.tokens,
                        &mut lane.streamed,
                    )
                    .await
                }
                Phase::Whole => {
                    run_whole(client, &lane.whole, batch, batch, &mut lane.whole_results).await
                }
            }
        }
        round += 1;
        if !progressed || Instant::now() >= deadline {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let own_after = process_cpu(std::process::id()).ok();
    for (lane, before) in lanes.iter_mut().zip(before) {
        let used = cpu_spent(before, lane.gateway_cpu());
        if let Some(slot) = lane.cpu.get_mut(phase as usize) {
            *slot = used;
        }
    }
    cpu_spent(own_before, own_after).map(|spent| spent.as_secs_f64() / elapsed)
}

/// Runs `count` whole-answer requests to `target`, at most `concurrency` at a time.
pub(super) async fn run_whole(
    client: &HttpClient,
    target: &Target,
    count: usize,
    concurrency: usize,
    results: &mut WholeResults,
) {
    run_bounded(
        count,
        concurrency,
        || {
            let (client, target) = (client.clone(), target.clone());
            async move {
                let begun = Instant::now();
                let response = client
                    .post_json(&target.url, &target.body, Some(target.bearer))
                    .await;
                (begun.elapsed(), check_whole(&target, response))
            }
        },
        |joined| {
            results.requests += 1;
            match joined {
                Ok((elapsed, None)) => results.latency.push(elapsed),
                Ok((_, Some(error))) => *results.errors.entry(error).or_default() += 1,
                Err(error) => {
                    *results
                        .errors
                        .entry(format!("driver task failed: {error}"))
                        .or_default() += 1
                }
            }
        },
    )
    .await;
}

/// The error kind of a whole answer, or `None` if it carried text.
fn check_whole(
    target: &Target,
    response: anyhow::Result<orpipe_testkit::HttpResponse>,
) -> Option<String> {
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            return Some(format!(
                "request failed: {}",
                super::first_line(&error.to_string())
            ));
        }
    };
    if response.status != 200 {
        return Some(format!("HTTP {}", response.status));
    }
    let Ok(body) = response.json() else {
        return Some("answer is not JSON".into());
    };
    let text = match target.path {
        Wire::Direct => body.pointer("/output/0/content/0/text"),
        Wire::Chat => body.pointer("/choices/0/message/content"),
    };
    match text.and_then(Value::as_str) {
        Some(text) if !text.is_empty() => None,
        _ => Some("no text in the answer".into()),
    }
}
