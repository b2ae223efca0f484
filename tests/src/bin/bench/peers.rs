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
use std::path::{Path, PathBuf};
use std::time::Duration;

use orpipe_testkit::harness::{ProcessCpu, ProcessMemory, process_cpu};
use orpipe_testkit::stats::{Summary, summarize};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::peer_process::{
    PeerProcess, free_port, peer_dir, pin_process, pinned, start_and_read_url, start_and_wait,
    tree_cpu, tree_memory,
};
use super::{Args, GATEWAY_KEY, Path as Wire, PathResults, Target, UPSTREAM_KEY, run_batches};

/// The peers' pinned versions (the one place they are kept).
const PEERS_ENV: &str = include_str!("../../../../scripts/peers.env");
/// TensorZero's launcher (writes its config, starts the embedded gateway).
const TENSORZERO_LAUNCHER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/peers/tensorzero_gateway.py"
);
const LITELLM_KEY: &str = "sk-litellm-bench";
/// A client core above this share of its time means the client, not the gateway, was the limit.
const CLIENT_BOUND_SHARE: f64 = 0.9;

/// One column of requests: a baseline straight to the mock, or a gateway.
struct Lane {
    name: String,
    version: String,
    stream: Target,
    whole: Target,
    /// Requests per phase (LiteLLM gets fewer: it is slow).
    quota: usize,
    /// Which baseline lane to subtract (`None` for the baselines themselves).
    baseline: Option<usize>,
    process: Option<Process>,
    idle_memory: Option<ProcessMemory>,
    streamed: PathResults,
    whole_results: WholeResults,
    /// Gateway CPU during the streamed and the whole-answer phase.
    cpu: [Option<Duration>; 2],
}

enum Process {
    Orpipe(Orpipe),
    Peer(PeerProcess),
}

impl Process {
    fn pid(&self) -> u32 {
        match self {
            Process::Orpipe(orpipe) => orpipe.pid(),
            Process::Peer(peer) => peer.pid(),
        }
    }
}

#[derive(Debug, Default)]
struct WholeResults {
    latency: Vec<Duration>,
    requests: usize,
    errors: BTreeMap<String, usize>,
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

    print_table(args, &lanes, &absent, client_share);
    Ok(())
}

/// Runs `count` whole-answer requests to `target`, at most `concurrency` at a time.
async fn run_whole(
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

/// The gateways, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Orpipe,
    Nginx,
    TensorZero,
    LiteLlm,
}

enum Started {
    Running {
        process: Process,
        /// Chat Completions URL.
        url: String,
        bearer: &'static str,
        model: String,
    },
    NotInstalled(String),
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Orpipe => "orpipe",
            Peer::Nginx => "nginx (floor)",
            Peer::TensorZero => "TensorZero",
            Peer::LiteLlm => "LiteLLM",
        }
    }

    async fn start(
        self,
        args: &Args,
        mock: &MockOpenRouter,
        core: Option<usize>,
    ) -> anyhow::Result<Started> {
        let peers = tools_dir().join("peers");
        match self {
            Peer::Orpipe => {
                let orpipe = Orpipe::spawn(
                    &args.orpipe,
                    &mock.base_url(),
                    &[("ORPIPE_API_KEYS", GATEWAY_KEY)],
                )
                .await?;
                let url = orpipe.url("/v1/chat/completions");
                Ok(Started::Running {
                    process: Process::Orpipe(orpipe),
                    url,
                    bearer: GATEWAY_KEY,
                    model: args.model.clone(),
                })
            }
            Peer::Nginx => {
                let Some(nginx) = find_nginx() else {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                };
                let dir = peer_dir("nginx")?;
                let port = free_port()?;
                std::fs::write(dir.join("nginx.conf"), nginx_config(&dir, port, mock))?;
                let mut command = pinned(core, &nginx);
                command
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .args(["-g", "daemon off;"]);
                let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
                let ready = format!("http://127.0.0.1:{port}/ready");
                let process = start_and_wait(command, dir, &ready, Duration::from_secs(20)).await?;
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: UPSTREAM_KEY,
                    model: args.model.clone(),
                })
            }
            Peer::TensorZero => {
                let python = peers.join("tensorzero/bin/python");
                if !python.exists() {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                }
                let dir = peer_dir("tensorzero")?;
                let mut command = pinned(core, &python);
                command
                    .arg(TENSORZERO_LAUNCHER)
                    .arg(mock.base_url())
                    .arg(&dir);
                let (process, base) =
                    start_and_read_url(command, dir, Duration::from_secs(60)).await?;
                let url = format!("{base}/chat/completions");
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: UPSTREAM_KEY,
                    model: "tensorzero::model_name::bench".into(),
                })
            }
            Peer::LiteLlm => {
                let litellm = peers.join("litellm/bin/litellm");
                if !litellm.exists() {
                    return Ok(Started::NotInstalled(
                        "not installed (bash scripts/peers.sh install)".into(),
                    ));
                }
                let dir = peer_dir("litellm")?;
                let port = free_port()?;
                std::fs::write(dir.join("config.yaml"), litellm_config(mock))?;
                let mut command = pinned(core, &litellm);
                command
                    .arg("--config")
                    .arg(dir.join("config.yaml"))
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--num_workers",
                        "1",
                    ])
                    .envs([
                        ("LITELLM_LOG", "ERROR"),
                        ("LITELLM_MODE", "PRODUCTION"),
                        ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
                    ]);
                let ready = format!("http://127.0.0.1:{port}/health/liveliness");
                // LiteLLM imports a great deal before it listens: allow minutes on a busy machine.
                let process =
                    start_and_wait(command, dir, &ready, Duration::from_secs(240)).await?;
                let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
                Ok(Started::Running {
                    process: Process::Peer(process),
                    url,
                    bearer: LITELLM_KEY,
                    model: "bench".into(),
                })
            }
        }
    }

    /// The version this run used, as far as the bench knows it.
    fn version(self) -> String {
        match self {
            Peer::Orpipe => "this build".into(),
            Peer::Nginx => std::process::Command::new(find_nginx().unwrap_or_default())
                .arg("-v")
                .output()
                .map(|out| {
                    String::from_utf8_lossy(&out.stderr)
                        .trim()
                        .trim_start_matches("nginx version: ")
                        .to_owned()
                })
                .unwrap_or_default(),
            Peer::TensorZero => pinned_version("TENSORZERO_VERSION"),
            Peer::LiteLlm => pinned_version("LITELLM_VERSION"),
        }
    }
}

fn tools_dir() -> PathBuf {
    match std::env::var_os("ORPIPE_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/orpipe-tools")
        }
    }
}

fn pinned_version(key: &str) -> String {
    PEERS_ENV
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// One worker, no buffering, keep-alive upstream, no access log: nginx at its leanest.
fn nginx_config(dir: &Path, port: u16, mock: &MockOpenRouter) -> String {
    let dir = dir.display();
    format!(
        r#"worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream mock {{ server {mock}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location = /ready {{ return 200 "ok"; }}
        location = /v1/chat/completions {{
            proxy_pass http://mock/api/v1/chat/completions;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"#,
        mock = mock.addr()
    )
}

/// One model, `bench`, through LiteLLM's Chat -> Responses bridge (`openai/responses/...`).
fn litellm_config(mock: &MockOpenRouter) -> String {
    format!(
        "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/responses/gpt-4o-mini\n      api_base: {}\n      api_key: {UPSTREAM_KEY}\ngeneral_settings:\n  master_key: {LITELLM_KEY}\n",
        mock.base_url()
    )
}

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

fn print_table(
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
