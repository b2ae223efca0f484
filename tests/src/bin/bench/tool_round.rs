//! `--mode tool-round`: what one round of orpipe's tool loop (issue 10) adds to an answer.
//!
//! In-process: the mock OpenRouter playing a tool-calling model (`answer_tool_calls`) and
//! the mock MCP server (`MockMcpServer`, tool `ok`); orpipe runs as a child offering that
//! tool. Each iteration, one at a time and in alternating order, streams a chat request
//! without a tool call ("plain") and one whose prompt makes the model call `ok` once
//! ("tool": two upstream rounds and one MCP call), then replays straight to the mock the
//! three upstream requests orpipe made (plain, the call round, the results round) as the
//! direct baseline. The MCP mock times its own handling of each request.
//!
//! orpipe's own time for one tool round = (tool − plain through orpipe)
//! − (call + results − plain, direct to the mock) − the MCP mock's service time.
//! Figures only; no thresholds (`tool_round_report.rs` prints them).

use std::time::Duration;

use anyhow::{Context, bail};
use orpipe_testkit::{
    HttpClient, MockMcpServer, MockOpenRouter, Orpipe, Reply, StreamResult, TOOL_RESULTS_PREFIX,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::tool_round_report::{Report, Samples};
use super::{Args, GATEWAY_KEY, UPSTREAM_KEY, first_line};

const ADMIN_KEY: &str = "sk-orpipe-bench-admin";
/// The MCP server's name in orpipe's configuration: the tool is offered as `b__ok`.
const SERVER: &str = "b";
/// The prompt that makes the mock model call `ok` once, then answer with its output.
const TOOL_PROMPT: &str = r#"Echo it. [mock:call ok {"text":"x"}]"#;
/// The plain answer: as short and unpaced as the model's answer after the tool round.
const PLAIN_TOKENS: usize = 4;
/// Start-up, catalog import and the first MCP refresh, on a busy machine.
const READY_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn run(args: &Args) -> anyhow::Result<()> {
    let mock = MockOpenRouter::start().await?;
    mock.answer_tool_calls();
    mock.set_default_reply(Reply::synthetic(PLAIN_TOKENS));
    let mcp = MockMcpServer::start().await?;
    let servers =
        json!([{"name": SERVER, "url": mcp.url(), "internal": true, "tools": ["ok"]}]).to_string();
    let orpipe = Orpipe::spawn(
        &args.orpipe,
        &mock.base_url(),
        &[
            ("ORPIPE_API_KEYS", GATEWAY_KEY),
            ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
            ("ORPIPE_MCP_SERVERS", servers.as_str()),
        ],
    )
    .await?;
    let client = HttpClient::new().with_timeout(Duration::from_secs(30));
    wait_until_ready(&client, &orpipe, &args.model).await?;

    let plain = chat_body(&args.model, "hi");
    let tool = chat_body(&args.model, TOOL_PROMPT);
    let chat_url = orpipe.url("/v1/chat/completions");
    eprintln!("warming up: {} requests per kind", args.warmup);
    let mut discard = Samples::default();
    for _ in 0..args.warmup.max(1) {
        through(&client, &orpipe, &chat_url, &plain, false, &mut discard).await;
        through(&client, &orpipe, &chat_url, &tool, true, &mut discard).await;
    }
    if let Some((kind, count)) = discard.errors.iter().next() {
        bail!(
            "warm-up failed ({count}× {kind}); orpipe log:\n{}",
            orpipe.stderr_log()
        );
    }
    let upstream = Upstream::captured(&mock)?;
    let mcp_seen = mcp.service_times().len();

    let mut samples = Samples::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    for round in 0..args.requests {
        if Instant::now() >= deadline {
            break;
        }
        let tool_first = round % 2 == 1;
        for is_tool in [tool_first, !tool_first] {
            let body = if is_tool { &tool } else { &plain };
            through(&client, &orpipe, &chat_url, body, is_tool, &mut samples).await;
        }
        upstream.replay(&client, &mock, &mut samples).await;
        if (round + 1) % 50 == 0 {
            eprintln!("{} / {} iterations", round + 1, args.requests);
        }
    }
    let elapsed = started.elapsed();
    for (method, took) in mcp.service_times().into_iter().skip(mcp_seen) {
        if method == "tools/call" {
            samples.mcp_call.push(took);
        } else {
            *samples.mcp_other.entry(method).or_default() += 1;
        }
    }
    Report {
        samples: &samples,
        elapsed,
    }
    .print();
    Ok(())
}

fn chat_body(model: &str, prompt: &str) -> Value {
    json!({
        "model": model, "stream": true,
        "messages": [{ "role": "user", "content": prompt }],
    })
}

/// Waits until orpipe lists the MCP server as up, then loads the model catalog (fitting
/// keeps `tools` only for a model the catalog says can call them).
async fn wait_until_ready(client: &HttpClient, orpipe: &Orpipe, model: &str) -> anyhow::Result<()> {
    let until = Instant::now() + READY_WAIT;
    loop {
        let listed = client
            .get(&orpipe.url("/admin/mcp/tools"), Some(ADMIN_KEY))
            .await
            .ok()
            .and_then(|response| response.json().ok());
        let state = listed
            .as_ref()
            .and_then(|body| body.pointer("/servers/0/state"))
            .and_then(Value::as_str);
        match state {
            Some("up") => break,
            Some("unknown") | None if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => bail!("the MCP server is not up: {listed:?}"),
        }
    }
    let models = client
        .get(&orpipe.url("/v1/models"), Some(GATEWAY_KEY))
        .await?;
    anyhow::ensure!(
        models.text().contains(model),
        "orpipe does not list {model}: {}",
        models.text()
    );
    Ok(())
}

/// One streamed chat request through orpipe: its total time (head to the end of the
/// stream) and orpipe's CPU time around it, or an error kind.
async fn through(
    client: &HttpClient,
    orpipe: &Orpipe,
    url: &str,
    body: &Value,
    is_tool: bool,
    samples: &mut Samples,
) {
    let cpu_before = orpipe.cpu().ok();
    let started = Instant::now();
    let outcome = client.stream_sse(url, body, Some(GATEWAY_KEY)).await;
    let took = started.elapsed();
    let cpu = orpipe
        .cpu()
        .ok()
        .zip(cpu_before)
        .map(|(after, before)| after.total().saturating_sub(before.total()));
    let expected = is_tool.then_some(TOOL_RESULTS_PREFIX);
    match outcome.map_err(|e| format!("request failed: {}", first_line(&e.to_string()))) {
        Ok(stream) => match failure(&stream, expected) {
            None => samples.add_through(is_tool, took, cpu),
            Some(kind) => samples.error(kind),
        },
        Err(kind) => samples.error(kind),
    }
}

/// Why a stream does not count, or `None`: 200, `[DONE]`, and (`expected`) the text.
fn failure(stream: &StreamResult, expected: Option<&str>) -> Option<String> {
    if stream.status != 200 {
        return Some(format!("HTTP {}", stream.status));
    }
    if !stream.saw_done() {
        return Some("no [DONE]".into());
    }
    // The answer's text, joined from its deltas (the mock cuts it every few bytes).
    let text: String = stream
        .json_events()
        .unwrap_or_default()
        .iter()
        .filter_map(|chunk| {
            chunk
                .pointer("/choices/0/delta/content")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    match expected {
        Some(prefix) if !text.contains(prefix) => Some("no tool results in the answer".into()),
        _ => None,
    }
}

/// The Responses requests orpipe sent upstream, replayed straight to the mock.
struct Upstream {
    plain: Value,
    /// The tool request's first round (the model calls `ok`).
    call: Value,
    /// Its second round (the model answers with the output).
    results: Value,
}

impl Upstream {
    /// The last request of each kind the mock recorded during the warm-up.
    fn captured(mock: &MockOpenRouter) -> anyhow::Result<Upstream> {
        let (mut plain, mut call, mut results) = (None, None, None);
        for request in mock.responses_requests() {
            let body = request
                .json()
                .context("an upstream body that is not JSON")?;
            let text = body["input"].to_string();
            if text.contains("function_call_output") {
                results = Some(body);
            } else if text.contains("[mock:call") {
                call = Some(body);
            } else {
                plain = Some(body);
            }
        }
        match (plain, call, results) {
            (Some(plain), Some(call), Some(results)) => Ok(Upstream {
                plain,
                call,
                results,
            }),
            _ => bail!("the warm-up did not make all three kinds of upstream request"),
        }
    }

    /// Streams each body straight to the mock, timing it as [`through`] does.
    async fn replay(&self, client: &HttpClient, mock: &MockOpenRouter, samples: &mut Samples) {
        let url = mock.responses_url();
        let mut took = [Duration::ZERO; 3];
        for (slot, body) in took
            .iter_mut()
            .zip([&self.plain, &self.call, &self.results])
        {
            let started = Instant::now();
            let outcome = client.stream_sse(&url, body, Some(UPSTREAM_KEY)).await;
            *slot = started.elapsed();
            match outcome {
                Ok(stream) if stream.status == 200 && stream.saw_done() => {}
                Ok(stream) => return samples.error(format!("direct: HTTP {}", stream.status)),
                Err(error) => {
                    return samples.error(format!("direct: {}", first_line(&error.to_string())));
                }
            }
        }
        let [plain, call, results] = took;
        samples.add_direct(plain, call, results);
    }
}
