//! Typed views of what OpenRouter's Chat Completions API sends back: stream chunks and
//! whole completions share the choice shape (`delta` in one, `message` in the other).
//! Only the fields orpipe uses are read; any of them may be missing or of another shape
//! ([`Lenient`]), and the rest of the chunk is still used.

use crate::responses::{Lenient, valid};
use serde::Deserialize;
use serde_json::{Map, Value, json};

type LenientList<T> = Option<Lenient<Vec<Lenient<T>>>>;

pub(super) fn entries<T>(list: &LenientList<T>) -> impl Iterator<Item = &T> {
    valid(list)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Lenient::valid)
}

/// One `chat.completion.chunk`, or a whole `chat.completion` (then `message` is set).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ChatChunk {
    pub id: Option<Lenient<String>>,
    pub choices: LenientList<Choice>,
    pub usage: Option<Lenient<Map<String, Value>>>,
    /// A failure: mid-stream (`finish_reason: "error"` beside it) or a whole answer's.
    pub error: Option<Lenient<Map<String, Value>>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Choice {
    pub delta: Option<Lenient<Message>>,
    pub message: Option<Lenient<Message>>,
    pub finish_reason: Option<Lenient<String>>,
}

/// A `delta` or a `message`: the same fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Message {
    pub content: Option<Lenient<String>>,
    pub refusal: Option<Lenient<String>>,
    /// OpenRouter's reasoning text.
    pub reasoning: Option<Lenient<String>>,
    /// The same reasoning as structured entries, with signatures or encrypted data
    /// (`reasoning.text`, `reasoning.summary`, `reasoning.encrypted`), merged by `index`.
    pub reasoning_details: LenientList<Map<String, Value>>,
    pub tool_calls: LenientList<ToolCall>,
    /// Generated images: `{"type": "image_url", "image_url": {"url": "data:…"}}`.
    pub images: LenientList<Image>,
    pub annotations: LenientList<Annotation>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ToolCall {
    pub index: Option<Lenient<u64>>,
    pub id: Option<Lenient<String>>,
    pub function: Option<Lenient<Function>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Function {
    pub name: Option<Lenient<String>>,
    /// A JSON text; a few providers send an object instead.
    pub arguments: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Image {
    pub image_url: Option<Lenient<ImageUrl>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ImageUrl {
    pub url: Option<Lenient<String>>,
}

/// `{"type": "url_citation", "url_citation": {url, title, start_index, end_index}}`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Annotation {
    #[serde(rename = "type")]
    pub kind: Option<Lenient<String>>,
    pub url_citation: Option<Lenient<Map<String, Value>>>,
}

pub(super) fn text(field: &Option<Lenient<String>>) -> &str {
    valid(field).map(String::as_str).unwrap_or_default()
}

impl ChatChunk {
    pub fn id(&self) -> Option<&str> {
        valid(&self.id)
            .map(String::as_str)
            .filter(|id| !id.is_empty())
    }

    /// The first choice: OpenRouter answers one choice per request.
    pub fn choice(&self) -> Option<&Choice> {
        entries(&self.choices).next()
    }
}

impl Choice {
    pub fn finish_reason(&self) -> Option<&str> {
        valid(&self.finish_reason).map(String::as_str)
    }
}

impl Message {
    /// The reasoning text to show: the plain `reasoning` string, else the text of the
    /// `details` (the same chunk's `reasoning_details`).
    pub fn reasoning_text(&self, details: &[&Map<String, Value>]) -> String {
        match text(&self.reasoning) {
            "" => details_text(details),
            plain => plain.to_owned(),
        }
    }
}

impl ToolCall {
    /// The provider's call id, or `toolcall-<position>` when it sent none (the original's
    /// stand-in), so the client can still answer the call.
    pub fn call_id(&self, position: u64) -> String {
        valid(&self.id)
            .filter(|id| !id.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("toolcall-{position}"))
    }
}

/// The Responses `incomplete_details.reason` of a chat finish reason, when it cut the
/// answer short.
pub(super) fn incomplete_reason(finish_reason: &str) -> Option<&'static str> {
    match finish_reason {
        "length" => Some("max_output_tokens"),
        "content_filter" => Some("content_filter"),
        _ => None,
    }
}

impl Function {
    pub fn arguments(&self) -> String {
        match &self.arguments {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }
}

impl Image {
    pub fn url(&self) -> Option<&str> {
        valid(&self.image_url)
            .and_then(|image| valid(&image.url))
            .map(String::as_str)
            .filter(|url| !url.is_empty())
    }
}

impl Annotation {
    /// The Responses form of a url citation (`{type, url, title, start_index, end_index}`).
    pub fn to_responses(&self) -> Option<Value> {
        if valid(&self.kind).map(String::as_str) != Some("url_citation") {
            return None;
        }
        let citation = valid(&self.url_citation)?;
        citation.get("url").and_then(Value::as_str)?;
        let mut out = citation.clone();
        out.insert("type".into(), json!("url_citation"));
        Some(Value::Object(out))
    }
}

/// Chat usage → Responses usage (`prompt_tokens` → `input_tokens`, details renamed,
/// `cost` and anything else OpenRouter adds kept).
pub(super) fn responses_usage(usage: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (name, value) in usage {
        let renamed = match name.as_str() {
            "prompt_tokens" => "input_tokens",
            "completion_tokens" => "output_tokens",
            "prompt_tokens_details" => "input_tokens_details",
            "completion_tokens_details" => "output_tokens_details",
            other => other,
        };
        out.insert(renamed.to_owned(), value.clone());
    }
    Value::Object(out)
}

/// Merges streamed `reasoning_details` entries by their `index`: text and summary
/// fragments are joined, every other field (signature, id, format, data) is kept.
pub(super) fn merge_details(merged: &mut Vec<Map<String, Value>>, entry: &Map<String, Value>) {
    let index = entry.get("index").and_then(Value::as_u64);
    let slot = index.and_then(|i| {
        merged
            .iter_mut()
            .find(|m| m.get("index").and_then(Value::as_u64) == Some(i))
    });
    let Some(slot) = slot else {
        merged.push(entry.clone());
        return;
    };
    for (name, value) in entry {
        match (name.as_str(), slot.get_mut(name), value) {
            ("text" | "summary" | "data", Some(Value::String(had)), Value::String(more)) => {
                had.push_str(more);
            }
            (_, _, Value::Null) => {}
            _ => {
                slot.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The readable text of reasoning details (their `text` or `summary`), for a client
/// when the chunk carries no plain `reasoning` string.
pub(super) fn details_text(details: &[&Map<String, Value>]) -> String {
    details
        .iter()
        .filter_map(|d| {
            d.get("text")
                .or_else(|| d.get("summary"))
                .and_then(Value::as_str)
        })
        .collect()
}
