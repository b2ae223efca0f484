//! The guest's answer pipeline alone, natively: a 10,000-event Responses stream through
//! `StreamPipeline` (SSE decoder and chunk translator), fed in network-sized pieces. Prints events per
//! CPU-second (this process's CPU time) and per wall-second; asserts nothing.
//!
//! `cargo build --release -p orpipe-testkit --bin pipeline-bench && target/release/pipeline-bench`

use std::time::{Duration, Instant};

use clap::Parser;
use orpipe_guest::pipeline::StreamPipeline;
use orpipe_guest::translate::to_chunks::{ChunkTranslator, StreamContext};
use orpipe_testkit::harness::process_cpu;
use serde_json::json;

/// Answer pipeline throughput on a synthetic transcript.
#[derive(Debug, Parser)]
struct Args {
    /// Events in the transcript (deltas make up nearly all of them).
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Times the whole transcript goes through a fresh pipeline.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Also writes the frames of one run to this file, so two builds' outputs can be
    /// compared byte for byte.
    #[arg(long)]
    frames_out: Option<std::path::PathBuf>,
    /// Writes every event's keys in alphabetical order (`type` then comes last, as in the
    /// events the chat adapter makes) instead of `type` first, as OpenRouter sends them.
    #[arg(long)]
    sorted_keys: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let transcript = transcript(args.events, args.sorted_keys);
    let pieces = read_sizes(transcript.len());
    // One untimed run so the figures do not include first-touch page faults.
    let mut first = Vec::new();
    let frames = run_once(&transcript, &pieces, |bytes| first.extend_from_slice(bytes));
    if let Some(path) = &args.frames_out {
        std::fs::write(path, &first)?;
    }
    let cpu_before = process_cpu(std::process::id())?.total();
    let wall = Instant::now();
    let mut bytes_out = 0;
    for _ in 0..args.iterations {
        bytes_out += run_once(&transcript, &pieces, |_| {});
    }
    let wall = wall.elapsed();
    let cpu = process_cpu(std::process::id())?.total() - cpu_before;
    let total_events = (args.events * args.iterations) as f64;
    let per_second = |d: Duration| total_events / d.as_secs_f64().max(1e-9);
    println!(
        "transcript: {} events, {} bytes, {} reads of 1-4 KiB; {} bytes of frames per run",
        args.events,
        transcript.len(),
        pieces.len(),
        frames
    );
    println!(
        "{} iterations: CPU {:.3} s, wall {:.3} s ({} bytes out)",
        args.iterations,
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        bytes_out
    );
    println!(
        "events per CPU-second: {:.0}; per wall-second: {:.0}",
        per_second(cpu),
        per_second(wall)
    );
    println!(
        "{}",
        json!({"events": args.events, "iterations": args.iterations,
               "cpu_secs": cpu.as_secs_f64(), "wall_secs": wall.as_secs_f64(),
               "events_per_cpu_sec": per_second(cpu), "events_per_wall_sec": per_second(wall)})
    );
    Ok(())
}

/// Runs the transcript through a fresh pipeline, one `push` per piece, as the component
/// does per upstream read; hands each read's frames to `sink` and returns their length.
fn run_once(transcript: &[u8], pieces: &[usize], mut sink: impl FnMut(&[u8])) -> usize {
    let mut pipeline = StreamPipeline::new(ChunkTranslator::new(StreamContext {
        model: "client/model".into(),
        created: 1,
        fallback_id: "chatcmpl-bench".into(),
        error_id: "00000000000000b1".into(),
        timestamp: "2026-12-02T00:00:00Z".into(),
    }));
    let mut out = 0;
    let mut rest = transcript;
    for &size in pieces {
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let frames = pipeline.push(piece);
        sink(frames.as_bytes());
        out += frames.as_bytes().len();
    }
    let last = pipeline.finish();
    sink(last.as_bytes());
    out + last.as_bytes().len()
}

/// Read sizes between 1 and 4 KiB from a fixed sequence, covering `len` bytes.
fn read_sizes(len: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut covered = 0;
    let mut state: u32 = 0x9e37_79b9;
    while covered < len {
        // xorshift: deterministic, so every run (before and after a change) reads alike.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = 1024 + (state % 3073) as usize;
        sizes.push(size);
        covered += size;
    }
    sizes
}

/// A realistic answer of `events` events: created, in_progress, a reasoning item with
/// reasoning deltas (about a sixth), a message with text deltas (the rest; some with
/// escapes and non-ASCII), keep-alive comments now and then, the `done` events and a
/// `response.completed` with the full output and usage, then `[DONE]`. Each event's
/// `type` comes first, the other keys follow sorted, unless `sorted_keys`.
fn transcript(events: usize, sorted_keys: bool) -> Vec<u8> {
    const ID: &str = "gen-1764633600-Ab3dE5gH7jK9mN1pQ3sT";
    const WORDS: &[&str] = &[
        " the",
        " answer",
        " is",
        " straightforward",
        ":",
        " we",
        " compute",
        " 2.5",
        " hours",
        " ×",
        " 60",
        " mph",
        " =",
        " **150 miles**",
        ".\n\n",
        " \"quoted\"",
        " café",
        " and",
        " then",
        " check",
    ];
    let response = |status: &str, output: serde_json::Value, usage: serde_json::Value| {
        json!({"id": ID, "object": "response", "created_at": 1_764_633_600,
               "model": "openai/gpt-5-mini", "status": status, "output": output,
               "error": null, "incomplete_details": null, "usage": usage})
    };
    // 11 events frame the two items; everything else is a delta.
    let deltas = events.saturating_sub(11);
    let reasoning_deltas = deltas / 6;
    let text_deltas = deltas - reasoning_deltas;
    let mut sequence = 0u64;
    let mut body = String::new();
    let mut emit = |mut event: serde_json::Value, body: &mut String| {
        event["sequence_number"] = json!(sequence);
        sequence += 1;
        body.push_str("data: ");
        let kind = match event.as_object_mut() {
            Some(fields) if !sorted_keys => fields.remove("type"),
            _ => None,
        };
        match kind {
            // `serde_json` sorts an object's keys; `type` goes in front by hand.
            Some(kind) => {
                let rest = event.to_string();
                body.push_str("{\"type\":");
                body.push_str(&kind.to_string());
                body.push(',');
                body.push_str(rest.strip_prefix('{').unwrap_or(&rest));
            }
            None => body.push_str(&event.to_string()),
        }
        body.push_str("\n\n");
        if sequence.is_multiple_of(500) {
            body.push_str(": \n\n");
        }
    };
    let in_progress = response("in_progress", json!([]), json!(null));
    emit(
        json!({"type": "response.created", "response": in_progress}),
        &mut body,
    );
    emit(
        json!({"type": "response.in_progress", "response": in_progress}),
        &mut body,
    );
    let rs_id = "rs_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    emit(
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": {"id": rs_id, "type": "reasoning", "status": "in_progress", "summary": []}}),
        &mut body,
    );
    let mut reasoning = String::new();
    for n in 0..reasoning_deltas {
        let delta = WORDS[n % WORDS.len()];
        reasoning.push_str(delta);
        emit(
            json!({"type": "response.reasoning_text.delta", "output_index": 0,
                   "item_id": rs_id, "content_index": 0, "delta": delta}),
            &mut body,
        );
    }
    let reasoning_item = json!({"id": rs_id, "type": "reasoning", "status": "completed",
        "summary": [], "content": [{"type": "reasoning_text", "text": reasoning}],
        "encrypted_content": "gAAAAABpZ3Vlc3Qtb3BhcXVlLWJsb2I.eyJlbmRwb2ludF9zbHVnIjoieCJ9"});
    emit(
        json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning_item}),
        &mut body,
    );
    let msg_id = "msg_tmp_k2j4h6g8f0";
    emit(
        json!({"type": "response.output_item.added", "output_index": 1,
               "item": {"id": msg_id, "type": "message", "role": "assistant",
                        "status": "in_progress", "content": []}}),
        &mut body,
    );
    emit(
        json!({"type": "response.content_part.added", "output_index": 1, "item_id": msg_id,
               "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        &mut body,
    );
    let mut text = String::new();
    for n in 0..text_deltas {
        let delta = WORDS[(n * 7) % WORDS.len()];
        text.push_str(delta);
        emit(
            json!({"type": "response.output_text.delta", "output_index": 1, "item_id": msg_id,
                   "content_index": 0, "delta": delta, "logprobs": []}),
            &mut body,
        );
    }
    emit(
        json!({"type": "response.output_text.done", "output_index": 1, "item_id": msg_id,
               "content_index": 0, "text": text, "logprobs": []}),
        &mut body,
    );
    let part = json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
    emit(
        json!({"type": "response.content_part.done", "output_index": 1, "item_id": msg_id,
               "content_index": 0, "part": part}),
        &mut body,
    );
    let message = json!({"id": msg_id, "type": "message", "role": "assistant",
        "status": "completed", "content": [part], "phase": "final_answer"});
    emit(
        json!({"type": "response.output_item.done", "output_index": 1, "item": message}),
        &mut body,
    );
    let usage = json!({"input_tokens": 9821, "input_tokens_details": {"cached_tokens": 4736},
        "output_tokens": deltas, "output_tokens_details": {"reasoning_tokens": reasoning_deltas},
        "total_tokens": 9821 + deltas, "cost": 0.002946316});
    emit(
        json!({"type": "response.completed",
               "response": response("completed", json!([reasoning_item, message]), usage)}),
        &mut body,
    );
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}
