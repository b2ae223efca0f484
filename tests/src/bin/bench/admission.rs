//! `--mode admission`: overload. orpipe runs with `--max-concurrent` instance slots and
//! `--max-queued` queue places while the driver keeps `--concurrency` streams in flight
//! (choose it well above the sum). Every request carries its own tag, which the mock echoes
//! as the text of every delta, so a stream that got another request's text is caught.
//!
//! It prints requests sent, 200s, 503s (and whether they carried `Retry-After`), other
//! statuses, streams that completed intact, and mixed-up or truncated ones (which should
//! be 0), the latency of the 503s and of the intact streams; then one JSON line. No thresholds.

use std::collections::BTreeMap;
use std::time::Duration;

use orpipe_testkit::stats::{Summary, summarize};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply, StreamOutcome, StreamResult};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Args, GATEWAY_KEY, first_line};

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// 200, the request's own text in full, a usage chunk, `[DONE]`, a clean end.
    Intact,
    /// 200 and a complete stream, but with text that is not this request's.
    MixedUp,
    /// 200, but the stream ended early, broke, or lacked usage or `[DONE]`.
    Truncated(String),
    /// 503 from admission control; `true` if it carried a `Retry-After`.
    Refused {
        retry_after: bool,
    },
    OtherStatus(u16),
    /// No response head (connection refused or reset, timeout).
    Transport(String),
}

#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    intact: usize,
    mixed_up: usize,
    truncated: BTreeMap<String, usize>,
    refused: usize,
    refused_without_retry_after: usize,
    other_status: BTreeMap<u16, usize>,
    transport: BTreeMap<String, usize>,
    /// Time to the 503.
    refusal_latency: Vec<Duration>,
    /// Time to the end of an intact stream.
    stream_latency: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, elapsed: Duration) {
        self.sent += 1;
        match outcome {
            Outcome::Intact => {
                self.intact += 1;
                self.stream_latency.push(elapsed);
            }
            Outcome::MixedUp => self.mixed_up += 1,
            Outcome::Truncated(why) => *self.truncated.entry(why).or_default() += 1,
            Outcome::Refused { retry_after } => {
                self.refused += 1;
                if !retry_after {
                    self.refused_without_retry_after += 1;
                }
                self.refusal_latency.push(elapsed);
            }
            Outcome::OtherStatus(status) => *self.other_status.entry(status).or_default() += 1,
            Outcome::Transport(why) => *self.transport.entry(why).or_default() += 1,
        }
    }

    fn ok_200(&self) -> usize {
        self.intact + self.mixed_up + self.truncated.values().sum::<usize>()
    }
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.max_concurrent > 0,
        "--max-concurrent must be at least 1"
    );
    let mock = MockOpenRouter::start().await?;
    mock.set_default_reply(
        Reply::synthetic(args.tokens)
            .pace(Duration::from_millis(args.pace_ms))
            .ttft(Duration::from_millis(args.ttft_ms))
            .echo_prompt(),
    );
    let max_concurrent = args.max_concurrent.to_string();
    let max_queued = args.max_queued.to_string();
    let queue_timeout_ms = args.queue_timeout_ms.to_string();
    let orpipe = Orpipe::spawn(
        &args.orpipe,
        &mock.base_url(),
        &[
            ("ORPIPE_API_KEYS", GATEWAY_KEY),
            ("ORPIPE_MAX_CONCURRENT", &max_concurrent),
            ("ORPIPE_MAX_QUEUED", &max_queued),
            ("ORPIPE_QUEUE_TIMEOUT_MS", &queue_timeout_ms),
        ],
    )
    .await?;
    let expected = Duration::from_millis(args.ttft_ms + args.pace_ms * args.tokens as u64);
    let client = HttpClient::new().with_timeout(Duration::from_secs(60) + expected * 4);
    let url = orpipe.url("/v1/chat/completions");

    eprintln!(
        "admission bench: {} requests, {} in flight, orpipe admits {} + {} queued",
        args.requests, args.concurrency, args.max_concurrent, args.max_queued
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut tally = Tally::default();
    let mut in_flight = JoinSet::new();
    let mut next = 0_usize;
    while (next < args.requests && Instant::now() < deadline) || !in_flight.is_empty() {
        while next < args.requests && in_flight.len() < args.concurrency {
            let (client, url, model, tokens) =
                (client.clone(), url.clone(), args.model.clone(), args.tokens);
            let refused_pause = Duration::from_millis(args.refused_pause_ms);
            let tag = format!("req{next:06}");
            in_flight.spawn(async move {
                let body = json!({
                    "model": model, "stream": true,
                    "messages": [{ "role": "user", "content": tag }],
                });
                let begun = Instant::now();
                let outcome = client.stream_sse(&url, &body, Some(GATEWAY_KEY)).await;
                let (outcome, elapsed) = (classify(outcome, &tag, tokens), begun.elapsed());
                if matches!(outcome, Outcome::Refused { .. }) {
                    // A refused client pauses before its next request, as a real one
                    // honouring Retry-After would (shortened, to keep the pressure on),
                    // instead of spinning the driver's CPU on instant 503s.
                    tokio::time::sleep(refused_pause).await;
                }
                (outcome, elapsed)
            });
            next += 1;
        }
        match in_flight.join_next().await {
            Some(Ok((outcome, elapsed))) => tally.add(outcome, elapsed),
            Some(Err(error)) => tally.add(
                Outcome::Transport(format!("driver task failed: {error}")),
                Duration::ZERO,
            ),
            None => break,
        }
        if tally.sent.is_multiple_of(500) {
            eprintln!("{} / {} requests", tally.sent, args.requests);
        }
    }
    let elapsed = started.elapsed();
    let healthy = client
        .get(&orpipe.url("/healthz"), None)
        .await
        .is_ok_and(|r| r.status == 200);
    print_report(args, &tally, elapsed, healthy);
    Ok(())
}

fn classify(outcome: anyhow::Result<StreamResult>, tag: &str, tokens: usize) -> Outcome {
    let stream = match outcome {
        Ok(stream) => stream,
        Err(error) => return Outcome::Transport(first_line(&error.to_string()).to_owned()),
    };
    match stream.status {
        200 => {}
        503 => {
            return Outcome::Refused {
                retry_after: stream.headers.contains_key("retry-after"),
            };
        }
        other => return Outcome::OtherStatus(other),
    }
    match &stream.outcome {
        StreamOutcome::Ended => {}
        StreamOutcome::TimedOut => return Outcome::Truncated("timed out".into()),
        StreamOutcome::BodyError(_) => return Outcome::Truncated("body error".into()),
        StreamOutcome::DecodeError(_) => return Outcome::Truncated("SSE decode error".into()),
    }
    if !stream.saw_done() {
        return Outcome::Truncated("no [DONE]".into());
    }
    let chunks: Vec<Value> = stream
        .data()
        .into_iter()
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect();
    if !chunks.iter().any(|chunk| chunk["usage"].is_object()) {
        return Outcome::Truncated("no usage chunk".into());
    }
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk.pointer("/choices/0/delta/content")?.as_str())
        .collect();
    let content = orpipe_testkit::markers::strip(&content);
    let expected = format!(" {tag}").repeat(tokens);
    if content == expected {
        Outcome::Intact
    } else if content.len() < expected.len() && expected.starts_with(content.as_str()) {
        Outcome::Truncated("text cut short".into())
    } else {
        Outcome::MixedUp
    }
}

fn millis(summary: Option<&Summary>, pick: fn(&Summary) -> u64) -> String {
    summary.map_or("n/a".into(), |s| {
        format!("{:.1} ms", pick(s) as f64 / 1000.0)
    })
}

fn print_report(args: &Args, tally: &Tally, elapsed: Duration, healthy: bool) {
    let refusals = summarize(&tally.refusal_latency);
    let streams = summarize(&tally.stream_latency);
    let truncated: usize = tally.truncated.values().sum();
    println!(
        "orpipe admission bench: {} in flight against {} slots + {} queue places (timeout {} ms), {} tokens every {} ms, {:.1} s",
        args.concurrency,
        args.max_concurrent,
        args.max_queued,
        args.queue_timeout_ms,
        args.tokens,
        args.pace_ms,
        elapsed.as_secs_f64()
    );
    println!("requests sent        {}", tally.sent);
    println!("200                  {}", tally.ok_200());
    println!(
        "503                  {} ({} without Retry-After)",
        tally.refused, tally.refused_without_retry_after
    );
    println!("other statuses       {:?}", tally.other_status);
    println!("transport errors     {:?}", tally.transport);
    println!("streams intact       {}", tally.intact);
    println!("streams mixed up     {}", tally.mixed_up);
    println!("streams truncated    {truncated} {:?}", tally.truncated);
    println!(
        "503 latency          p50 {}, p99 {}, max {}",
        millis(refusals.as_ref(), |s| s.p50_us),
        millis(refusals.as_ref(), |s| s.p99_us),
        millis(refusals.as_ref(), |s| s.max_us)
    );
    println!(
        "intact stream time   p50 {}, p99 {}, max {}",
        millis(streams.as_ref(), |s| s.p50_us),
        millis(streams.as_ref(), |s| s.p99_us),
        millis(streams.as_ref(), |s| s.max_us)
    );
    println!("healthy after run    {healthy}");
    println!(
        "{}",
        json!({
            "bench": "orpipe-admission",
            "config": {
                "concurrency": args.concurrency,
                "requests": args.requests,
                "max_concurrent": args.max_concurrent,
                "max_queued": args.max_queued,
                "queue_timeout_ms": args.queue_timeout_ms,
                "tokens": args.tokens,
                "pace_ms": args.pace_ms,
                "ttft_ms": args.ttft_ms,
                "refused_pause_ms": args.refused_pause_ms,
            },
            "elapsed_s": elapsed.as_secs_f64(),
            "sent": tally.sent,
            "status_200": tally.ok_200(),
            "status_503": tally.refused,
            "status_503_without_retry_after": tally.refused_without_retry_after,
            "other_statuses": tally.other_status,
            "transport_errors": tally.transport,
            "intact": tally.intact,
            "mixed_up": tally.mixed_up,
            "truncated": tally.truncated,
            "refusal_latency": refusals,
            "stream_latency": streams,
            "healthy_after": healthy,
        })
    );
}
