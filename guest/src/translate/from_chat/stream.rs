//! Chat Completions chunks → the Responses stream events orpipe's chunk translator reads,
//! so an answer from `/chat/completions` goes through the one stream pipeline (markers,
//! cards, usage, Open WebUI's events) like any other. Pure: payloads in, event payloads out.
//!
//! Each kind of output becomes an item under its own `output_index`: reasoning, the
//! message, one per tool call (ids `toolcall-<n>` when the provider sends none), one per
//! generated image (an `image_generation_call` whose `result` is the image's data URL).
//! The finish reason and the usage (which comes in a chunk after it) are held until the
//! stream ends; only then does `response.completed` (or `response.incomplete`) go out, so
//! a stream cut off before its finish reason still reads as interrupted.

use super::chunk::{
    ChatChunk, Message, entries, incomplete_reason, merge_details, responses_usage, text,
};
use crate::responses::valid;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
struct OpenText {
    index: u64,
    text: String,
}

#[derive(Debug, Default)]
struct OpenReasoning {
    index: u64,
    text: String,
    details: Vec<Map<String, Value>>,
}

#[derive(Debug)]
struct OpenCall {
    index: u64,
    call_id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
pub struct ChatEventAdapter {
    response_id: Option<String>,
    started: bool,
    next_index: u64,
    reasoning: Option<OpenReasoning>,
    message: Option<OpenText>,
    refusal: String,
    /// By the chat chunk's tool-call `index`.
    calls: BTreeMap<u64, OpenCall>,
    images: u64,
    finish_reason: Option<String>,
    usage: Option<Map<String, Value>>,
    ended: bool,
}

impl ChatEventAdapter {
    pub fn new() -> Self {
        Self::default()
    }

    /// One SSE `data:` payload of the chat stream: the events it stands for. A payload
    /// that is not a chunk passes through unchanged, so the translator counts it as
    /// unreadable (and an error object in it still ends the answer).
    pub fn push(&mut self, data: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
            out.push(data.to_owned());
            return out;
        };
        self.start(chunk.id(), &mut out);
        if let Some(error) = valid(&chunk.error) {
            self.ended = true;
            out.push(error_event(error, self.response_id.as_deref()));
            return out;
        }
        if let Some(choice) = chunk.choice() {
            if let Some(delta) = valid(&choice.delta) {
                self.delta(delta, &mut out);
            }
            if let Some(reason) = choice.finish_reason() {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        if let Some(usage) = valid(&chunk.usage) {
            self.usage = Some(usage.clone());
        }
        out
    }

    /// The stream ended (`[DONE]` or the end of the body): the open items close and the
    /// response completes, if the chat stream said how it finished. Once only.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.ended = true;
        let Some(reason) = self.finish_reason.clone() else {
            return out;
        };
        self.close_reasoning(&mut out);
        self.close_message(&mut out);
        for call in std::mem::take(&mut self.calls).into_values() {
            out.push(item_done(call.index, &call_item(&call)));
        }
        let usage = self.usage.as_ref().map(responses_usage);
        let id = self.response_id.clone().unwrap_or_default();
        out.push(
            match incomplete_reason(&reason) {
                Some(why) => json!({
                    "type": "response.incomplete",
                    "response": {"id": id, "status": "incomplete", "output": [],
                        "incomplete_details": {"reason": why}, "usage": usage},
                }),
                None => json!({
                    "type": "response.completed",
                    "response": {"id": id, "status": "completed", "output": [], "usage": usage},
                }),
            }
            .to_string(),
        );
        out
    }

    fn start(&mut self, id: Option<&str>, out: &mut Vec<String>) {
        if self.started {
            return;
        }
        self.started = true;
        self.response_id = id.map(str::to_owned);
        out.push(json!({"type": "response.created", "response": {"id": id}}).to_string());
    }

    fn delta(&mut self, delta: &Message, out: &mut Vec<String>) {
        let details: Vec<&Map<String, Value>> = entries(&delta.reasoning_details).collect();
        let reasoning = delta.reasoning_text(&details);
        if !reasoning.is_empty() || !details.is_empty() {
            self.reasoning_delta(&reasoning, &details, out);
        }
        let content = text(&delta.content);
        if !content.is_empty() {
            self.close_reasoning(out);
            let index = self.open_message(out);
            if let Some(message) = &mut self.message {
                message.text.push_str(content);
            }
            out.push(delta_event("response.output_text.delta", index, content));
        }
        let refusal = text(&delta.refusal);
        if !refusal.is_empty() {
            let index = self.open_message(out);
            self.refusal.push_str(refusal);
            out.push(delta_event("response.refusal.delta", index, refusal));
        }
        for annotation in entries(&delta.annotations).filter_map(|a| a.to_responses()) {
            out.push(
                json!({"type": "response.output_text.annotation.added", "annotation": annotation})
                    .to_string(),
            );
        }
        for call in entries(&delta.tool_calls) {
            self.tool_call_delta(call, out);
        }
        for url in entries(&delta.images).filter_map(|image| image.url()) {
            self.images += 1;
            let index = self.take_index();
            let item = image_item(self.response_id.as_deref(), self.images, url);
            out.push(item_added(index, &json!({"type": "image_generation_call"})));
            out.push(item_done(index, &item));
        }
    }

    fn reasoning_delta(
        &mut self,
        text: &str,
        details: &[&Map<String, Value>],
        out: &mut Vec<String>,
    ) {
        if self.reasoning.is_none() {
            let index = self.take_index();
            out.push(item_added(
                index,
                &json!({"type": "reasoning", "summary": []}),
            ));
            self.reasoning = Some(OpenReasoning {
                index,
                ..OpenReasoning::default()
            });
        }
        let Some(open) = &mut self.reasoning else {
            return;
        };
        for entry in details {
            merge_details(&mut open.details, entry);
        }
        if !text.is_empty() {
            open.text.push_str(text);
            out.push(delta_event(
                "response.reasoning_text.delta",
                open.index,
                text,
            ));
        }
    }

    fn tool_call_delta(&mut self, call: &super::chunk::ToolCall, out: &mut Vec<String>) {
        let position = valid(&call.index).copied().unwrap_or(0);
        let function = valid(&call.function);
        let arguments = function.map(|f| f.arguments()).unwrap_or_default();
        if !self.calls.contains_key(&position) {
            self.close_reasoning(out);
            let index = self.take_index();
            let call_id = call.call_id(position);
            let name = function
                .map(|f| text(&f.name).to_owned())
                .unwrap_or_default();
            let open = OpenCall {
                index,
                call_id,
                name,
                arguments: String::new(),
            };
            out.push(item_added(index, &call_item(&open)));
            self.calls.insert(position, open);
        }
        let Some(open) = self.calls.get_mut(&position) else {
            return;
        };
        if !arguments.is_empty() {
            open.arguments.push_str(&arguments);
            out.push(delta_event(
                "response.function_call_arguments.delta",
                open.index,
                &arguments,
            ));
        }
    }

    fn open_message(&mut self, out: &mut Vec<String>) -> u64 {
        if let Some(message) = &self.message {
            return message.index;
        }
        let index = self.take_index();
        out.push(item_added(
            index,
            &json!({"type": "message", "role": "assistant", "content": []}),
        ));
        self.message = Some(OpenText {
            index,
            text: String::new(),
        });
        index
    }

    fn close_reasoning(&mut self, out: &mut Vec<String>) {
        let Some(open) = self.reasoning.take() else {
            return;
        };
        let id = format!(
            "rs_{}_{}",
            self.response_id.as_deref().unwrap_or("chat"),
            open.index
        );
        let item = reasoning_item(id, &open.text, open.details);
        out.push(item_done(open.index, &item));
    }

    fn close_message(&mut self, out: &mut Vec<String>) {
        let Some(open) = self.message.take() else {
            return;
        };
        let mut content =
            vec![json!({"type": "output_text", "text": open.text, "annotations": []})];
        if !self.refusal.is_empty() {
            content.push(json!({"type": "refusal", "refusal": self.refusal}));
        }
        let item = json!({"type": "message", "role": "assistant", "status": "completed", "content": content});
        out.push(item_done(open.index, &item));
    }

    fn take_index(&mut self) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }
}

/// A reasoning item with its text (as `reasoning_text` content) and its merged
/// `reasoning_details`, which carry the signatures replay needs.
pub(super) fn reasoning_item(id: String, text: &str, details: Vec<Map<String, Value>>) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), json!("reasoning"));
    item.insert("id".into(), json!(id));
    item.insert("summary".into(), json!([]));
    if !text.is_empty() {
        item.insert(
            "content".into(),
            json!([{"type": "reasoning_text", "text": text}]),
        );
    }
    if !details.is_empty() {
        item.insert("reasoning_details".into(), json!(details));
    }
    Value::Object(item)
}

fn call_item(call: &OpenCall) -> Value {
    json!({
        "type": "function_call",
        "call_id": call.call_id,
        "name": call.name,
        "arguments": call.arguments,
    })
}

/// A generated image as the Responses API's `image_generation_call` item; `result`
/// holds the data URL as the chat API sent it.
pub(super) fn image_item(response_id: Option<&str>, number: u64, url: &str) -> Value {
    json!({
        "type": "image_generation_call",
        "id": format!("ig_{}_{number}", response_id.unwrap_or("chat")),
        "status": "completed",
        "result": url,
    })
}

/// A chat `error` object as the Responses `error` event (the original object under
/// `error`, so its metadata reaches the error card).
fn error_event(error: &Map<String, Value>, response_id: Option<&str>) -> String {
    let code = match error.get("code") {
        Some(Value::String(code)) => Value::String(code.clone()),
        Some(Value::Number(code)) => Value::String(code.to_string()),
        _ => Value::Null,
    };
    let mut body = error.clone();
    body.insert("code".into(), code.clone());
    json!({
        "type": "error",
        "code": code,
        "message": error.get("message").cloned().unwrap_or(Value::Null),
        "error": body,
        "response": {"id": response_id, "status": "failed"},
    })
    .to_string()
}

fn item_added(index: u64, item: &Value) -> String {
    json!({"type": "response.output_item.added", "output_index": index, "item": item}).to_string()
}

fn item_done(index: u64, item: &Value) -> String {
    json!({"type": "response.output_item.done", "output_index": index, "item": item}).to_string()
}

fn delta_event(kind: &str, index: u64, delta: &str) -> String {
    json!({"type": kind, "output_index": index, "delta": delta}).to_string()
}
