//! Streaming: `chat.completion.chunk` objects, each sent as one SSE frame.

use super::{ChatAnnotation, ChatImage, FinishReason, Usage};
use serde::Serialize;

/// The fields every chunk of one stream shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHeader {
    pub id: String,
    pub model: String,
    pub created: u64,
}

/// The `delta` of one chunk; absent fields are left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<&'a str>,
    /// Reasoning goes out under both names clients read: `reasoning_content` (Open WebUI,
    /// DeepSeek-style clients) and `reasoning` (OpenRouter's own Chat Completions field).
    /// Clients take one of them, never both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<[ToolCallDelta<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<&'a [ChatAnnotation]>,
    /// Generated images, in the form OpenRouter's Chat Completions API sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<&'a [ChatImage]>,
}

impl<'a> Delta<'a> {
    /// The first chunk of an answer.
    pub fn start() -> Self {
        Self {
            role: Some("assistant"),
            content: Some(""),
            ..Self::default()
        }
    }

    pub fn content(text: &'a str) -> Self {
        Self {
            content: Some(text),
            ..Self::default()
        }
    }

    pub fn refusal(text: &'a str) -> Self {
        Self {
            refusal: Some(text),
            ..Self::default()
        }
    }

    pub fn reasoning(text: &'a str) -> Self {
        Self {
            reasoning_content: Some(text),
            reasoning: Some(text),
            ..Self::default()
        }
    }

    pub fn tool_call(call: ToolCallDelta<'a>) -> Self {
        Self {
            tool_calls: Some([call]),
            ..Self::default()
        }
    }

    pub fn annotations(annotations: &'a [ChatAnnotation]) -> Self {
        Self {
            annotations: Some(annotations),
            ..Self::default()
        }
    }

    pub fn images(images: &'a [ChatImage]) -> Self {
        Self {
            images: Some(images),
            ..Self::default()
        }
    }
}

/// One fragment of a tool call: the first names it (`id`, `type`, `name`), later ones add
/// arguments.
#[derive(Debug, Clone, Serialize)]
pub struct ToolCallDelta<'a> {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub function: FunctionDelta<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub arguments: &'a str,
}

impl<'a> ToolCallDelta<'a> {
    pub fn first(index: usize, id: &'a str, name: &'a str, arguments: &'a str) -> Self {
        Self {
            index,
            id: Some(id),
            kind: Some("function"),
            function: FunctionDelta {
                name: Some(name),
                arguments,
            },
        }
    }

    pub fn arguments(index: usize, arguments: &'a str) -> Self {
        Self {
            index,
            id: None,
            kind: None,
            function: FunctionDelta {
                name: None,
                arguments,
            },
        }
    }
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [Choice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a Usage>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    delta: &'a Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<FinishReason>,
}

/// A chunk with no choices that carries an Open WebUI event (`owui::events`); the empty
/// `choices` keep it a valid chunk for SDKs.
#[derive(Serialize)]
struct EventChunk<'a, E> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [(); 0],
    event: &'a E,
}

/// The error frame that ends a broken answer; the `openai` SDKs raise it as an `APIError`.
#[derive(Serialize)]
struct ErrorFrame<'a> {
    error: ErrorFrameBody<'a>,
}

#[derive(Serialize)]
struct ErrorFrameBody<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'a str,
    param: Option<()>,
    error_id: &'a str,
}

/// SSE frames for the client, in order, as the bytes to write: `data: <json>\n\n` each
/// (JSON never holds a raw newline, so a frame is one line).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Frames {
    bytes: Vec<u8>,
}

pub const DONE_FRAME: &str = "data: [DONE]\n\n";

impl Frames {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn append(&mut self, other: &mut Frames) {
        self.bytes.append(&mut other.bytes);
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Each frame as text, for tests and tools.
    pub fn to_strings(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.bytes)
            .split_inclusive("\n\n")
            .map(str::to_owned)
            .collect()
    }

    pub fn push_done(&mut self) {
        self.bytes.extend_from_slice(DONE_FRAME.as_bytes());
    }

    fn push_json(&mut self, value: &impl Serialize) {
        let mark = self.bytes.len();
        self.bytes.extend_from_slice(b"data: ");
        match serde_json::to_writer(&mut self.bytes, value) {
            Ok(()) => self.bytes.extend_from_slice(b"\n\n"),
            // Only a broken `Serialize` fails; never send half a frame.
            Err(_) => self.bytes.truncate(mark),
        }
    }

    /// A chunk with one choice carrying `delta` (and a finish reason when it ends).
    pub fn push_delta(
        &mut self,
        header: &ChunkHeader,
        delta: &Delta<'_>,
        finish_reason: Option<FinishReason>,
    ) {
        let choice = Choice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        };
        self.push_chunk(header, &[choice], None);
    }

    /// The closing usage chunk: no choices, as OpenAI sends with `include_usage`.
    pub fn push_usage(&mut self, header: &ChunkHeader, usage: &Usage) {
        self.push_chunk(header, &[], Some(usage));
    }

    fn push_chunk(&mut self, header: &ChunkHeader, choices: &[Choice<'_>], usage: Option<&Usage>) {
        self.push_json(&Chunk {
            id: &header.id,
            object: "chat.completion.chunk",
            created: header.created,
            model: &header.model,
            choices,
            usage,
        });
    }

    /// An Open WebUI event chunk: `{…, "choices": [], "event": <event>}`.
    pub fn push_event(&mut self, header: &ChunkHeader, event: &impl Serialize) {
        self.push_json(&EventChunk {
            id: &header.id,
            object: "chat.completion.chunk",
            created: header.created,
            model: &header.model,
            choices: [],
            event,
        });
    }

    /// `{"error": {message, type: "upstream_error", code, param: null, error_id}}`.
    pub fn push_error(&mut self, code: &str, message: &str, error_id: &str) {
        self.push_json(&ErrorFrame {
            error: ErrorFrameBody {
                message,
                kind: "upstream_error",
                code,
                param: None,
                error_id,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn frames_are_single_data_lines() {
        let header = ChunkHeader {
            id: "gen-1".into(),
            model: "m".into(),
            created: 7,
        };
        let mut frames = Frames::default();
        frames.push_delta(&header, &Delta::content("a\nb"), None);
        let text = frames.to_strings().concat();
        assert!(text.starts_with("data: {") && text.ends_with("}\n\n"));
        assert_eq!(
            text.matches('\n').count(),
            2,
            "newlines inside content are escaped"
        );
        let chunk: Value =
            serde_json::from_str(text.strip_prefix("data: ").expect("frame")).expect("JSON");
        assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(
            chunk,
            json!({"id": "gen-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
                   "choices": [{"index": 0, "delta": {"content": "a\nb"}, "logprobs": null,
                                "finish_reason": null}]})
        );
    }

    #[test]
    fn tool_call_fragments_and_the_error_frame_have_the_openai_shape() {
        let header = ChunkHeader {
            id: "i".into(),
            model: "m".into(),
            created: 0,
        };
        let mut frames = Frames::default();
        frames.push_delta(
            &header,
            &Delta::tool_call(ToolCallDelta::first(1, "call_1", "f", "")),
            None,
        );
        frames.push_delta(
            &header,
            &Delta::tool_call(ToolCallDelta::arguments(1, "{}")),
            Some(FinishReason::ToolCalls),
        );
        frames.push_error("server_error", "gone", "e1");
        frames.push_done();
        let texts = frames.to_strings();
        assert_eq!(texts.len(), 4);
        let json_of = |text: &str| -> Value {
            serde_json::from_str(text.strip_prefix("data: ").expect("frame")).expect("JSON")
        };
        assert_eq!(
            json_of(&texts[0])["choices"][0]["delta"],
            json!({"tool_calls": [{"index": 1, "id": "call_1", "type": "function",
                                   "function": {"name": "f", "arguments": ""}}]})
        );
        assert_eq!(
            json_of(&texts[1])["choices"][0],
            json!({"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
                   "logprobs": null, "finish_reason": "tool_calls"})
        );
        assert_eq!(
            json_of(&texts[2]),
            json!({"error": {"message": "gone", "type": "upstream_error", "code": "server_error",
                             "param": null, "error_id": "e1"}})
        );
        assert_eq!(texts[3], DONE_FRAME);
    }

    #[test]
    fn an_event_chunk_has_no_choices() {
        let header = ChunkHeader {
            id: "gen-1".into(),
            model: "m".into(),
            created: 1,
        };
        let mut frames = Frames::default();
        frames.push_event(&header, &json!({"type": "status", "data": {"done": true}}));
        let text = frames.to_strings().concat();
        let chunk: Value =
            serde_json::from_str(text.strip_prefix("data: ").expect("frame")).expect("JSON");
        assert_eq!(
            chunk,
            json!({"id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [], "event": {"type": "status", "data": {"done": true}}})
        );
    }
}
