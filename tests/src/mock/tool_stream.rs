//! The tool-calling model's answer (`tool_calls.rs`) as OpenRouter would send it: an SSE
//! stream shaped like `stream_tool_call.sse` and `stream_text.sse` when the request asks
//! for `stream: true`, else the completed response object.
//!
//! Per function call: `response.output_item.added` (empty arguments), the arguments in
//! `response.function_call_arguments.delta` pieces, `…arguments.done` (name and
//! arguments), `response.output_item.done`. A text answer: the message item, its content
//! part and the text deltas. `response.completed` carries every item and the fixed usage.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{Value, json};

use super::Reply;
use super::synthetic::{DEFAULT_MODEL, StreamIds, alphanumeric};
use super::tool_calls::Turn;

/// The usage every answer reports, so a test can add rounds up.
const INPUT_TOKENS: u64 = 10;
const OUTPUT_TOKENS: u64 = 5;
const COST: f64 = 0.001;
/// The most bytes of arguments or text per delta event (real streams cut anywhere).
const DELTA_BYTES: usize = 12;

/// The reply for `turn`, streamed or whole as `request` asks.
pub(crate) fn reply(turn: &Turn, request: &Value) -> Reply {
    let ids = StreamIds::next();
    let items = items(turn, &ids);
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL);
    let response = |status: &'static str, output: Vec<Item>, usage: Option<Value>| Envelope {
        id: &ids.generation,
        object: "response",
        created_at: ids.created_at,
        model,
        status,
        completed_at: (status == "completed").then_some(ids.created_at),
        output,
        error: None,
        incomplete_details: None,
        tools: request.get("tools").cloned().unwrap_or_else(|| json!([])),
        tool_choice: request
            .get("tool_choice")
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        parallel_tool_calls: true,
        usage,
    };
    let completed = response("completed", items.clone(), Some(usage()));
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return Reply::json(200, serialized(&completed));
    }
    let mut events = Events::default();
    let created = response("in_progress", Vec::new(), None);
    events.push(
        "response.created",
        json!({ "response": serialized(&created) }),
    );
    events.push(
        "response.in_progress",
        json!({ "response": serialized(&created) }),
    );
    for (index, item) in items.iter().enumerate() {
        item_events(&mut events, index, item);
    }
    events.push(
        "response.completed",
        json!({ "response": serialized(&completed) }),
    );
    events.blocks.push("data: [DONE]\n\n".to_owned());
    Reply::Events {
        blocks: events.blocks,
        generation_id: Some(ids.generation.clone()),
    }
}

/// The output items of `turn`, completed.
fn items(turn: &Turn, ids: &StreamIds) -> Vec<Item> {
    match turn {
        Turn::Call(calls) => calls
            .iter()
            .map(|call| Item::FunctionCall {
                id: format!(
                    "fc_tmp_{}",
                    alphanumeric(next_item_seed(), 10).to_lowercase()
                ),
                status: "completed",
                call_id: call.call_id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            })
            .collect(),
        Turn::Say(text) => vec![Item::Message {
            id: ids.message.clone(),
            status: "completed",
            role: "assistant",
            content: vec![OutputText::new(text)],
        }],
    }
}

/// A seed for item ids unique across answers.
fn next_item_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x7f3a_91c5);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// The events of one completed item at `index`, from its empty start to its end.
fn item_events(events: &mut Events, index: usize, item: &Item) {
    match item {
        Item::FunctionCall {
            id,
            call_id,
            name,
            arguments,
            ..
        } => {
            let started = Item::FunctionCall {
                id: id.clone(),
                status: "in_progress",
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: String::new(),
            };
            events.push(
                "response.output_item.added",
                json!({"output_index": index, "item": serialized(&started)}),
            );
            for piece in pieces(arguments) {
                events.push(
                    "response.function_call_arguments.delta",
                    json!({"output_index": index, "item_id": id, "delta": piece}),
                );
            }
            events.push(
                "response.function_call_arguments.done",
                json!({"output_index": index, "item_id": id, "name": name, "arguments": arguments}),
            );
        }
        Item::Message { id, content, .. } => {
            let text = content.first().map(|part| part.text.as_str()).unwrap_or("");
            let started = Item::Message {
                id: id.clone(),
                status: "in_progress",
                role: "assistant",
                content: Vec::new(),
            };
            events.push(
                "response.output_item.added",
                json!({"output_index": index, "item": serialized(&started)}),
            );
            let part = |text: &str| serialized(&OutputText::new(text));
            let at = json!({"output_index": index, "item_id": id, "content_index": 0});
            events.push_with(
                &at,
                "response.content_part.added",
                json!({"part": part("")}),
            );
            for piece in pieces(text) {
                events.push_with(
                    &at,
                    "response.output_text.delta",
                    json!({"delta": piece, "logprobs": []}),
                );
            }
            events.push_with(
                &at,
                "response.output_text.done",
                json!({"text": text, "logprobs": []}),
            );
            events.push_with(
                &at,
                "response.content_part.done",
                json!({"part": part(text)}),
            );
        }
    }
    events.push(
        "response.output_item.done",
        json!({"output_index": index, "item": serialized(item)}),
    );
}

/// `text` cut into pieces of at most [`DELTA_BYTES`] bytes, on character boundaries.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + DELTA_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.extend(text.get(start..end));
        start = end;
    }
    pieces
}

fn usage() -> Value {
    json!({
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": OUTPUT_TOKENS,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        "cost": COST,
        "is_byok": false,
        "cost_details": {"upstream_inference_cost": COST},
    })
}

fn serialized(value: &impl Serialize) -> Value {
    // Plain structs and maps: serializing cannot fail; a null would show in the tests.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Event blocks with consecutive `sequence_number`s from 0.
#[derive(Default)]
struct Events {
    blocks: Vec<String>,
    sequence: u64,
}

impl Events {
    fn push(&mut self, kind: &str, fields: Value) {
        self.push_with(&Value::Null, kind, fields);
    }

    /// An event of `kind` with the fields of `common` and then of `fields`.
    fn push_with(&mut self, common: &Value, kind: &str, fields: Value) {
        let mut event = serde_json::Map::new();
        event.insert("type".into(), json!(kind));
        for source in [common, &fields] {
            if let Some(map) = source.as_object() {
                event.extend(map.clone());
            }
        }
        event.insert("sequence_number".into(), json!(self.sequence));
        self.sequence += 1;
        self.blocks
            .push(format!("data: {}\n\n", Value::Object(event)));
    }
}

// Items and the response object are structs so their keys keep OpenRouter's order in the
// final objects (serde_json's map sorts keys; events above are maps, order-free).

#[derive(Serialize, Clone)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    FunctionCall {
        id: String,
        status: &'static str,
        call_id: String,
        name: String,
        arguments: String,
    },
    Message {
        id: String,
        status: &'static str,
        role: &'static str,
        content: Vec<OutputText>,
    },
}

#[derive(Serialize, Clone)]
struct OutputText {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
    annotations: [(); 0],
    logprobs: [(); 0],
}

impl OutputText {
    fn new(text: &str) -> Self {
        Self {
            kind: "output_text",
            text: text.to_owned(),
            annotations: [],
            logprobs: [],
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    object: &'static str,
    created_at: u64,
    model: &'a str,
    status: &'static str,
    completed_at: Option<u64>,
    output: Vec<Item>,
    error: Option<()>,
    incomplete_details: Option<()>,
    tools: Value,
    tool_choice: Value,
    parallel_tool_calls: bool,
    usage: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::tool_calls::PlannedCall;

    fn events(reply: Reply) -> Vec<Value> {
        let Reply::Events { blocks, .. } = reply else {
            panic!("expected a stream");
        };
        assert_eq!(blocks.last().map(String::as_str), Some("data: [DONE]\n\n"));
        blocks
            .iter()
            .filter_map(|b| b.strip_prefix("data: "))
            .filter_map(|b| serde_json::from_str(b.trim()).ok())
            .collect()
    }

    #[test]
    fn calls_stream_like_openrouter_and_end_with_every_item_and_the_usage() {
        let turn = Turn::Call(vec![
            PlannedCall {
                name: "calc__add".into(),
                call_id: "call_7".into(),
                arguments: "{\"a\": 1, \"b\": 22222}".into(),
            },
            PlannedCall {
                name: "kb__search".into(),
                call_id: "call_8".into(),
                arguments: "{}".into(),
            },
        ]);
        let events = events(reply(&turn, &json!({"stream": true, "model": "m/x"})));
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        let deltas = "response.function_call_arguments.delta";
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                deltas,
                deltas,
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                deltas,
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(events[2]["item"]["arguments"], "");
        assert_eq!(events[2]["item"]["call_id"], "call_7");
        let joined: String = events[3..5]
            .iter()
            .filter_map(|e| e["delta"].as_str())
            .collect();
        assert_eq!(joined, "{\"a\": 1, \"b\": 22222}");
        assert_eq!(events[5]["name"], "calc__add");
        let sequence: Vec<u64> = events
            .iter()
            .filter_map(|e| e["sequence_number"].as_u64())
            .collect();
        assert_eq!(sequence, (0..12).collect::<Vec<_>>());
        let completed = &events[11]["response"];
        assert_eq!(completed["status"], "completed");
        assert_eq!(completed["model"], "m/x");
        assert_eq!(completed["output"][1]["name"], "kb__search");
        assert_eq!(completed["output"][1]["type"], "function_call");
        let usage = &completed["usage"];
        let figures = ["input_tokens", "output_tokens", "total_tokens", "cost"].map(|k| &usage[k]);
        assert_eq!(figures, [&json!(10), &json!(5), &json!(15), &json!(0.001)]);
    }

    #[test]
    fn text_streams_as_a_message_and_whole_answers_are_the_completed_response() {
        let turn = Turn::Say("Tool results: ünïcode | more text".into());
        let events = events(reply(&turn, &json!({"stream": true})));
        let text: String = events
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .filter_map(|e| e["delta"].as_str())
            .collect();
        assert_eq!(text, "Tool results: ünïcode | more text");
        let Reply::Json { status, body } = reply(&turn, &json!({"stream": false})) else {
            panic!("expected a whole answer");
        };
        assert_eq!(status, 200);
        assert_eq!(body["status"], "completed");
        assert_eq!(body["output"][0]["type"], "message");
        assert_eq!(body["output"][0]["content"][0]["text"], text);
        assert_eq!(body["usage"]["total_tokens"], 15);
    }
}
