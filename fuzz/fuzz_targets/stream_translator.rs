//! The stream translator on arbitrary sequences of payloads (raw text, or event-like JSON
//! built from the Responses event vocabulary): never a panic, every output is a whole SSE
//! frame, and the stream always ends with exactly one `[DONE]`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use orpipe_fuzz::{object, usage, value, word};
use orpipe_guest::openai::Frames;
use orpipe_guest::translate::to_chunks::{ChunkTranslator, StreamContext};
use serde_json::Value;

#[derive(Debug)]
struct Payloads(Vec<String>);

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

impl<'a> Arbitrary<'a> for Payloads {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=24)?;
        let mut payloads = Vec::new();
        for _ in 0..len {
            payloads.push(match u.choose_index(8)? {
                0 => String::arbitrary(u)?,
                1 => value(u, 0)?.to_string(),
                _ => event(u)?.to_string(),
            });
        }
        Ok(Payloads(payloads))
    }
}

fuzz_target!(|payloads: Payloads| {
    let mut translator = ChunkTranslator::new(StreamContext {
        model: "client/model".into(),
        created: 1,
        fallback_id: "chatcmpl-fuzz".into(),
        error_id: "00000000000000f2".into(),
        timestamp: "2026-01-01T00:00:00Z".into(),
    });
    let mut out = Frames::default();
    for payload in &payloads.0 {
        translator.on_data(payload, &mut out);
    }
    translator.finish(&mut out);
    let frames = out.to_strings();
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
