//! The tool loop's rounds on one client stream.

use super::*;
use crate::pipeline::StreamPipeline;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn event(value: Value) -> String {
    format!("data: {value}\n\n")
}

/// A response that says `text` (when not empty) and calls each of `calls` (names).
fn response(id: &str, text: &str, calls: &[&str], cost: f64) -> String {
    let mut body = event(json!({"type": "response.created", "response": {"id": id}}));
    let mut output = Vec::new();
    if !text.is_empty() {
        let message = json!({"type": "message", "role": "assistant", "id": format!("msg_{id}"),
            "content": [{"type": "output_text", "text": text}]});
        body += &event(
            json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"type": "message", "role": "assistant", "content": []}}),
        );
        body += &event(
            json!({"type": "response.output_text.delta", "output_index": 0,
            "delta": text}),
        );
        body += &event(
            json!({"type": "response.output_item.done", "output_index": 0,
            "item": message}),
        );
        output.push(message);
    }
    for name in calls {
        let index = output.len();
        let call = json!({"type": "function_call", "id": format!("fc_{index}"),
            "call_id": format!("call_{id}_{index}"), "name": name, "arguments": "{\"q\":1}"});
        body += &event(
            json!({"type": "response.output_item.added", "output_index": index,
            "item": {"type": "function_call", "call_id": format!("call_{id}_{index}"),
                "name": name, "arguments": ""}}),
        );
        body += &event(json!({"type": "response.function_call_arguments.delta",
            "output_index": index, "delta": "{\"q\":1}"}));
        body += &event(
            json!({"type": "response.output_item.done", "output_index": index,
            "item": call}),
        );
        output.push(call);
    }
    body += &event(json!({"type": "response.completed", "response": {"id": id,
        "output": output, "usage": {"input_tokens": 10, "output_tokens": 5,
        "total_tokens": 15, "cost": cost}}}));
    body
}

fn pipeline(capture: bool) -> StreamPipeline {
    let mut translator = ChunkTranslator::new(StreamContext {
        model: "m".into(),
        created: 1,
        fallback_id: "f".into(),
        error_id: "e".into(),
        timestamp: "t".into(),
    })
    .with_tool_loop(BTreeSet::from(["get_weather".to_owned()]));
    if capture {
        let mut n = 0;
        translator = translator.with_capture(Capture::new(move || {
            n += 1;
            format!("01KB4Y1Q6ZC3N9TQ7R4X8W2M{n:02}")
        }));
    }
    StreamPipeline::new(translator)
}

fn chunks(frames: &Frames) -> Vec<Value> {
    frames
        .to_strings()
        .iter()
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn finishes(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .map(str::to_owned)
        .collect()
}

#[test]
fn server_calls_are_hidden_and_the_turn_spans_both_rounds_with_summed_usage() {
    let mut pipeline = pipeline(false);
    let mut frames = pipeline.push(response("r1", "Looking.", &["docs__search"], 0.25).as_bytes());
    let first = chunks(&frames);
    assert!(
        first
            .iter()
            .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()),
        "a server call is not the client's: {first:?}"
    );
    assert!(finishes(&first).is_empty(), "held: no finish yet");
    assert!(
        first
            .iter()
            .all(|c| c.get("usage").is_none() || c["usage"].is_null())
    );
    let held = pipeline.translator().take_held().expect("held output");
    assert_eq!(held.len(), 2, "the message and the call");
    assert_eq!(pipeline.translator().take_held(), None, "taken once");

    pipeline.next_round();
    frames.append(&mut pipeline.push(response("r2", "Found it.", &[], 0.5).as_bytes()));
    frames.append(&mut pipeline.finish());
    let all = chunks(&frames);
    assert_eq!(content(&all), "Looking.\n\nFound it.");
    assert_eq!(finishes(&all), ["stop"]);
    let usage = all
        .iter()
        .find_map(|c| c.get("usage").filter(|u| !u.is_null()));
    assert_eq!(usage.map(|u| u["total_tokens"].clone()), Some(json!(30)));
    assert_eq!(usage.map(|u| u["cost"].clone()), Some(json!(0.75)));
    let ids: BTreeSet<&str> = all.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["r1"],
        "one answer, one id"
    );
    assert_eq!(
        frames.to_strings().last().map(String::as_str),
        Some(crate::openai::DONE_FRAME)
    );
}

#[test]
fn a_client_call_beside_a_server_call_is_shown_and_the_release_finishes_with_tool_calls() {
    let mut pipeline = pipeline(true);
    let mut frames =
        pipeline.push(response("r1", "", &["docs__search", "get_weather"], 0.1).as_bytes());
    let held = pipeline
        .translator()
        .take_held()
        .expect("held: a server call is in it");
    assert_eq!(held.len(), 2);
    let kept = [
        json!({"type": "function_call", "call_id": "call_r1_0", "name": "docs__search"}),
        json!({"type": "function_call_output", "call_id": "call_r1_0", "output": "x"}),
    ];
    pipeline.translator().keep_items(&kept);
    pipeline.translator().release(&mut frames);
    frames.append(&mut pipeline.finish());
    let all = chunks(&frames);
    let calls: Vec<&Value> = all
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
                .as_str()
                .map(|_| c)
        })
        .collect();
    assert_eq!(calls.len(), 1, "only the client's call: {all:?}");
    assert_eq!(
        calls[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(finishes(&all), ["tool_calls"]);
    let text = content(&all);
    let markers = crate::markers::split(&text)
        .into_iter()
        .filter(|s| matches!(s, crate::markers::Segment::Marker(_)))
        .count();
    assert_eq!(markers, 2, "two markers: {text:?}");
    let captured = pipeline.take_capture().expect("capture").into_captured();
    assert_eq!(captured.len(), 2);
    assert_eq!(captured[1].item["type"], "function_call_output");
}

#[test]
fn an_empty_answer_after_tool_rounds_gets_the_notice_and_an_unreleased_hold_still_finishes() {
    let mut pipeline = pipeline(false);
    let mut frames = pipeline.push(response("r1", "", &["docs__search"], 0.1).as_bytes());
    assert!(pipeline.translator().take_held().is_some());
    pipeline.next_round();
    frames.append(&mut pipeline.push(response("r2", "", &[], 0.1).as_bytes()));
    frames.append(&mut pipeline.finish());
    let all = chunks(&frames);
    assert!(
        content(&all).contains("couldn't produce a final answer"),
        "{all:?}"
    );
    assert_eq!(finishes(&all), ["stop"]);

    // Nobody decided (the client left, say): finishing releases the held response.
    let mut pipeline = pipeline_without_capture();
    let mut frames = pipeline.push(response("r1", "Hm.", &["docs__search"], 0.1).as_bytes());
    frames.append(&mut pipeline.finish());
    let all = chunks(&frames);
    assert_eq!(finishes(&all), ["stop"]);
    assert_eq!(pipeline.usage().map(|u| u.total_tokens), Some(15));
}

fn pipeline_without_capture() -> StreamPipeline {
    pipeline(false)
}

#[test]
fn without_the_tool_loop_a_call_is_the_clients_as_before() {
    let translator = ChunkTranslator::new(StreamContext {
        model: "m".into(),
        created: 1,
        fallback_id: "f".into(),
        error_id: "e".into(),
        timestamp: "t".into(),
    });
    let mut pipeline = StreamPipeline::new(translator);
    let mut frames = pipeline.push(response("r1", "", &["docs__search"], 0.1).as_bytes());
    frames.append(&mut pipeline.finish());
    assert_eq!(pipeline.translator().take_held(), None);
    assert_eq!(finishes(&chunks(&frames)), ["tool_calls"]);
}
