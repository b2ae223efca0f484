//! The stream pipeline (SSE decoder and translator) on arbitrary sequences of payloads (raw
//! text, or event-like JSON built from the Responses event vocabulary, with usage counts
//! near `u64::MAX`), cut anywhere: never a panic, the frames do not depend on the cuts,
//! every output is a whole SSE frame, and the stream always ends with exactly one `[DONE]`.
//! Half the inputs are chat-endpoint streams instead (chunks built from the Chat
//! Completions vocabulary: deltas, reasoning details, tool calls, images, errors, usage)
//! through the chat pipeline, under the same rules.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use orpipe_fuzz::{object, usage, value, word};
use orpipe_guest::openai::Frames;
use orpipe_guest::pipeline::StreamPipeline;
use orpipe_guest::translate::to_chunks::{ChunkTranslator, StreamContext};
use serde_json::Value;

#[derive(Debug)]
struct Payloads {
    /// A `/chat/completions` stream (`StreamPipeline::for_chat`).
    chat: bool,
    payloads: Vec<String>,
    /// Where the network cuts the body (piece lengths).
    cuts: Vec<u8>,
}

const EVENTS: &[&str] = &[
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.output_text.annotation.added",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
];

const ITEMS: &[&str] = &[
    "message",
    "reasoning",
    "function_call",
    "web_search_call",
    "x",
];

fn event(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    let mut event = object(u, 2)?;
    event.insert("type".into(), Value::String((*u.choose(EVENTS)?).into()));
    if u.ratio(3, 4)? {
        event.insert("output_index".into(), Value::from(u.int_in_range(0..=3u8)?));
    }
    if u.ratio(1, 2)? {
        event.insert("delta".into(), Value::String(word(u)?));
    }
    if u.ratio(1, 2)? {
        let mut item = object(u, 3)?;
        item.insert("type".into(), Value::String((*u.choose(ITEMS)?).into()));
        if u.ratio(1, 2)? {
            item.insert("content".into(), value(u, 3)?);
        }
        event.insert("item".into(), Value::Object(item));
    }
    if u.ratio(1, 4)? {
        let mut response = object(u, 3)?;
        if u.ratio(1, 2)? {
            response.insert("usage".into(), usage(u)?);
        }
        event.insert("response".into(), Value::Object(response));
    }
    Ok(Value::Object(event))
}

const DELTA_FIELDS: &[&str] = &[
    "content",
    "reasoning",
    "refusal",
    "reasoning_details",
    "tool_calls",
    "images",
    "annotations",
    "role",
];

const FINISH_REASONS: &[&str] = &["stop", "length", "tool_calls", "content_filter", "error"];

/// A chat chunk: a choice whose delta has some of the chat fields, each a plausible or an
/// arbitrary value; sometimes a finish reason, a usage or an error.
fn chat_chunk(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    let mut delta = serde_json::Map::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let field = *u.choose(DELTA_FIELDS)?;
        let plausible = match field {
            "reasoning_details" => serde_json::json!([{"type": "reasoning.text", "text": word(u)?,
                "signature": word(u)?, "index": u.int_in_range(0..=2u8)?}]),
            "tool_calls" => serde_json::json!([{"index": u.int_in_range(0..=2u8)?, "id": word(u)?,
                "function": {"name": word(u)?, "arguments": word(u)?}}]),
            "images" => serde_json::json!([{"type": "image_url", "image_url": {"url": word(u)?}}]),
            "annotations" => serde_json::json!([{"type": "url_citation",
                "url_citation": {"url": word(u)?, "title": word(u)?}}]),
            _ => Value::String(word(u)?),
        };
        let value = if u.ratio(3, 4)? { plausible } else { value(u, 2)? };
        delta.insert(field.into(), value);
    }
    let mut choice = serde_json::Map::new();
    choice.insert("index".into(), Value::from(0));
    choice.insert("delta".into(), Value::Object(delta));
    if u.ratio(1, 5)? {
        choice.insert("finish_reason".into(), Value::String((*u.choose(FINISH_REASONS)?).into()));
    }
    let mut chunk = object(u, 2)?;
    chunk.insert("id".into(), Value::String(word(u)?));
    chunk.insert("choices".into(), Value::Array(vec![Value::Object(choice)]));
    if u.ratio(1, 6)? {
        chunk.insert("usage".into(), usage(u)?);
    }
    if u.ratio(1, 10)? {
        chunk.insert("error".into(), value(u, 2)?);
    }
    Ok(Value::Object(chunk))
}

impl<'a> Arbitrary<'a> for Payloads {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let chat = bool::arbitrary(u)?;
        let len = u.int_in_range(0..=24)?;
        let mut payloads = Vec::new();
        for _ in 0..len {
            payloads.push(match u.choose_index(8)? {
                0 => String::arbitrary(u)?,
                1 => value(u, 0)?.to_string(),
                _ if chat => chat_chunk(u)?.to_string(),
                _ => event(u)?.to_string(),
            });
        }
        Ok(Payloads {
            chat,
            payloads,
            cuts: Vec::arbitrary(u)?,
        })
    }
}

/// The payloads as an SSE body: one event each, a payload's lines as `data:` lines.
fn body(payloads: &[String]) -> Vec<u8> {
    let mut body = String::new();
    for payload in payloads {
        for line in payload.split(['\n', '\r']) {
            body.push_str("data: ");
            body.push_str(line);
            body.push('\n');
        }
        body.push('\n');
    }
    body.into_bytes()
}

fn run<'a>(chat: bool, pieces: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    let translator = ChunkTranslator::new(StreamContext {
        model: "client/model".into(),
        created: 1,
        fallback_id: "chatcmpl-fuzz".into(),
        error_id: "00000000000000f2".into(),
        timestamp: "2026-01-01T00:00:00Z".into(),
    });
    let mut pipeline = if chat {
        StreamPipeline::for_chat(translator)
    } else {
        StreamPipeline::new(translator)
    };
    let mut out = Frames::default();
    for piece in pieces {
        out.append(&mut pipeline.push(piece));
    }
    out.append(&mut pipeline.finish());
    assert!(pipeline.finish().is_empty(), "the answer closes once");
    out.to_strings()
}

fuzz_target!(|input: Payloads| {
    let body = body(&input.payloads);
    let frames = run(input.chat, std::iter::once(body.as_slice()));
    let mut pieces = Vec::new();
    let mut rest = body.as_slice();
    for cut in input.cuts.iter().map(|c| usize::from(*c)) {
        let (piece, tail) = rest.split_at(cut.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    assert_eq!(
        run(input.chat, pieces.into_iter()),
        frames,
        "frames depend on where the bytes were cut"
    );
    for frame in &frames {
        assert!(
            frame.starts_with("data: ") && frame.ends_with("\n\n"),
            "not an SSE frame: {frame:?}"
        );
        let data = &frame["data: ".len()..frame.len() - 2];
        assert!(
            data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok(),
            "frame is not JSON: {frame:?}"
        );
    }
    let done = frames
        .iter()
        .filter(|f| f.as_str() == "data: [DONE]\n\n")
        .count();
    assert_eq!(done, 1, "exactly one [DONE]");
    assert_eq!(frames.last().map(String::as_str), Some("data: [DONE]\n\n"));
});
