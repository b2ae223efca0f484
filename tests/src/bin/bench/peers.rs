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
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::peer_process::{PeerProcess, pin_process, tree_cpu, tree_memory};
use super::peer_start::{Peer, Started};
use super::{Args, Path as Wire, PathResults, Target, UPSTREAM_KEY, run_batches};
use super::{peers_report, peers_throughput};

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
    let chat_body = |stream: bool, model: &str| {
        json!({ "model": model, "stream": stream,
                "messages": [{ "role": "user", "content": "hi" }] })
    };
    let direct = |wire, url: String, body: fn(bool) -> Value| Lane {
        name: String::new(),
        version: String::new(),
        stream: Target {
            path: wire,
            url: url.clone(),
            body: body(true),
            bearer: UPSTREAM_KEY,
        },
        whole: Target {
            path: wire,
            url,
            body: body(false),
            bearer: UPSTREAM_KEY,
        },
        quota: args.requests,
        baseline: None,
        process: None,
        idle_memory: None,
        streamed: PathResults::default(),
        whole_results: WholeResults::default(),
        cpu: [None; 2],
    };
    let mut lanes = vec![
        Lane {
            name: "direct Responses (baseline)".into(),
            ..direct(
                Wire::Direct,
                mock.responses_url(),
                |stream| json!({ "model": "openai/gpt-4o-mini", "stream": stream, "input": "hi" }),
            )
        },
        Lane {
            name: "direct Chat (nginx's baseline)".into(),
            ..direct(Wire::Chat, mock.chat_completions_url(), |stream| {
                json!({ "model": "openai/gpt-4o-mini", "stream": stream,
                        "messages": [{ "role": "user", "content": "hi" }] })
            })
        },
    ];
    let mut absent: Vec<(String, String)> = Vec::new();
    let gateway_core = Some(args.gateway_core);
    for peer in [Peer::Orpipe, Peer::Nginx, Peer::TensorZero, Peer::LiteLlm] {
        eprintln!("starting {}", peer.name());
        match peer.start(args, &mock, gateway_core).await {
            Ok(Started::Running {
                process,
                url,
                bearer,
                model,
            }) => {
                let pid = process.pid();
                if let Err(error) = pin_process(pid, args.gateway_core) {
                    eprintln!("{}: not pinned: {error:#}", peer.name());
                }
                let quota = match peer {
                    Peer::LiteLlm => args.requests.min(args.litellm_requests),
                    _ => args.requests,
                };
                lanes.push(Lane {
                    name: peer.name().into(),
                    version: peer.version(),
                    stream: Target {
                        path: Wire::Chat,
                        url: url.clone(),
                        body: chat_body(true, &model),
                        bearer,
                    },
                    whole: Target {
                        path: Wire::Chat,
                        url,
                        body: chat_body(false, &model),
                        bearer,
                    },
                    quota,
                    baseline: Some(usize::from(peer == Peer::Nginx)),
                    idle_memory: tree_memory(pid),
                    process: Some(process),
                    streamed: PathResults::default(),
                    whole_results: WholeResults::default(),
                    cpu: [None; 2],
                });
            }
            Ok(Started::NotInstalled(why)) => absent.push((peer.name().into(), why)),
            Err(error) => absent.push((peer.name().into(), format!("failed to start: {error:#}"))),
        }
    }

    let expected = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    let client = HttpClient::new().with_timeout(Duration::from_secs(60) + expected * 4);
    eprintln!(
        "warming up: {} requests per lane and phase",
        args.warmup.min(10)
    );
    for lane in &lanes {
        let mut discard = PathResults::default();
        let warmup = args.warmup.min(10);
        run_batches(&client, &lane.stream, warmup, 1, args.tokens, &mut discard).await;
        run_whole(
            &client,
            &lane.whole,
            warmup,
            1,
            &mut WholeResults::default(),
        )
        .await;
    }

    let mut client_share = [None; 2];
    for phase in [0, 1] {
        eprintln!("{} phase", ["streamed", "whole-answer"][phase]);
        let before: Vec<Option<ProcessCpu>> = lanes
            .iter()
            .map(|lane| lane.process.as_ref().and_then(|p| tree_cpu(p.pid())))
            .collect();
        let own_before = process_cpu(std::process::id()).ok();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(args.max_seconds);
        let mut round = 0_usize;
        loop {
            let mut order: Vec<usize> = (0..lanes.len()).collect();
            order.rotate_left(round % lanes.len().max(1));
            let mut progressed = false;
            for index in order {
                let Some(lane) = lanes.get_mut(index) else {
                    continue;
                };
                let done = if phase == 0 {
                    lane.streamed.streams
                } else {
                    lane.whole_results.requests
                };
                let batch = args.concurrency.min(lane.quota.saturating_sub(done));
                if batch == 0 {
                    continue;
                }
                progressed = true;
                if phase == 0 {
                    run_batches(
                        &client,
                        &lane.stream,
                        batch,
                        batch,
                        args.tokens,
                        &mut lane.streamed,
                    )
                    .await;
                } else {
                    run_whole(&client, &lane.whole, batch, batch, &mut lane.whole_results).await;
                }
            }
            round += 1;
            if !progressed || Instant::now() >= deadline {
                break;
            }
        }
        let elapsed = started.elapsed();
        let own_after = process_cpu(std::process::id()).ok();
        client_share[phase] = own_before.zip(own_after).map(|(before, after)| {
            after.total().saturating_sub(before.total()).as_secs_f64()
                / elapsed.as_secs_f64().max(1e-9)
        });
        for (lane, before) in lanes.iter_mut().zip(before) {
            let after = lane.process.as_ref().and_then(|p| tree_cpu(p.pid()));
            lane.cpu[phase] = before
                .zip(after)
                .map(|(b, a)| a.total().saturating_sub(b.total()));
        }
    }

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
    Ok(())
}

/// Runs `count` whole-answer requests to `target`, at most `concurrency` at a time.
pub(super) async fn run_whole(
    client: &HttpClient,
    target: &Target,
    count: usize,
    concurrency: usize,
    results: &mut WholeResults,
) {
    let mut started = 0;
    let mut in_flight = JoinSet::new();
    while started < count || !in_flight.is_empty() {
        while started < count && in_flight.len() < concurrency {
            let (client, target) = (client.clone(), target.clone());
            in_flight.spawn(async move {
                let begun = Instant::now();
                let response = client
                    .post_json(&target.url, &target.body, Some(target.bearer))
                    .await;
                (begun.elapsed(), check_whole(&target, response))
            });
            started += 1;
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
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
    }
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
