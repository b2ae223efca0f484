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

impl ChunkHeader {
    /// Writes `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[`
    /// as serde_json writes those fields of a chunk.
    fn write_start(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut *out, &self.id)?;
        out.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        serde_json::to_writer(&mut *out, &self.created)?;
        out.extend_from_slice(b",\"model\":");
        serde_json::to_writer(&mut *out, &self.model)?;
        out.extend_from_slice(b",\"choices\":[");
        Ok(())
    }
}

/// What opens a one-choice chunk, up to its `delta`: serialized per chunk from a
/// [`ChunkHeader`], or copied from a [`StreamHeader`], which serialized it once.
pub trait ChoiceStart {
    fn write_choice_start(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

const CHOICE_OPEN: &[u8] = b"{\"index\":0,\"delta\":";

impl ChoiceStart for ChunkHeader {
    fn write_choice_start(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.write_start(out)?;
        out.extend_from_slice(CHOICE_OPEN);
        Ok(())
    }
}

/// A stream's [`ChunkHeader`] with the opening its chunks repeat, serialized once (and
/// again only when the id changes), so a delta costs the escaping of its own text only.
#[derive(Debug, Clone)]
pub struct StreamHeader {
    header: ChunkHeader,
    choice_start: Vec<u8>,
}

impl StreamHeader {
    pub fn new(header: ChunkHeader) -> Self {
        let mut choice_start = Vec::new();
        // Serializing strings and an integer into a `Vec` does not fail.
        let _ = header.write_choice_start(&mut choice_start);
        Self {
            header,
            choice_start,
        }
    }

    pub fn header(&self) -> &ChunkHeader {
        &self.header
    }

    /// The answer's id became known (OpenRouter's response id).
    pub fn set_id(&mut self, id: &str) {
        let header = ChunkHeader {
            id: id.to_owned(),
            model: std::mem::take(&mut self.header.model),
            created: self.header.created,
        };
        *self = Self::new(header);
    }
}

impl ChoiceStart for StreamHeader {
    fn write_choice_start(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(&self.choice_start);
        Ok(())
    }
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

/// The closing usage chunk. Chunks with a choice are written in place
/// ([`Frames::push_delta`]).
#[derive(Serialize)]
struct UsageChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [(); 0],
    usage: &'a Usage,
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

    /// A chunk with one choice carrying `delta` (and a finish reason when it ends):
    /// `{…header…,"choices":[{"index":0,"delta":{…},"logprobs":null,"finish_reason":…}]}`,
    /// written in place: the opening from `header`, the delta, the choice's close.
    pub fn push_delta(
        &mut self,
        header: &impl ChoiceStart,
        delta: &Delta<'_>,
        finish_reason: Option<FinishReason>,
    ) {
        let mark = self.bytes.len();
        self.bytes.extend_from_slice(b"data: ");
        let written = header
            .write_choice_start(&mut self.bytes)
            .and_then(|()| serde_json::to_writer(&mut self.bytes, delta))
            .and_then(|()| {
                self.bytes
                    .extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
                serde_json::to_writer(&mut self.bytes, &finish_reason)
            });
        match written {
            Ok(()) => self.bytes.extend_from_slice(b"}]}\n\n"),
            // Only a broken `Serialize` fails; never send half a frame.
            Err(_) => self.bytes.truncate(mark),
        }
    }

    /// The closing usage chunk: no choices, as OpenAI sends with `include_usage`.
    pub fn push_usage(&mut self, header: &ChunkHeader, usage: &Usage) {
        self.push_json(&UsageChunk {
            id: &header.id,
            object: "chat.completion.chunk",
            created: header.created,
            model: &header.model,
            choices: [],
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

    /// A chunk with one choice as serde serializes it, as the frames were once made: the
    /// in-place writer must give the same bytes.
    #[derive(Serialize)]
    struct SerializedChunk<'a> {
        id: &'a str,
        object: &'static str,
        created: u64,
        model: &'a str,
        choices: [SerializedChoice<'a>; 1],
    }

    #[derive(Serialize)]
    struct SerializedChoice<'a> {
        index: u32,
        delta: &'a Delta<'a>,
        logprobs: Option<()>,
        finish_reason: Option<FinishReason>,
    }

    fn serialized(header: &ChunkHeader, delta: &Delta<'_>, reason: Option<FinishReason>) -> String {
        let chunk = SerializedChunk {
            id: &header.id,
            object: "chat.completion.chunk",
            created: header.created,
            model: &header.model,
            choices: [SerializedChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: reason,
            }],
        };
        format!("data: {}\n\n", serde_json::to_string(&chunk).expect("JSON"))
    }

    #[test]
    fn delta_chunks_are_written_byte_for_byte_as_serde_serializes_them() {
        let headers = [
            ChunkHeader {
                id: "gen-1764633600-Ab3dE5gH7jK9mN1pQ3sT".into(),
                model: "openai/gpt-5-mini".into(),
                created: 1_764_633_600,
            },
            ChunkHeader {
                id: "a\"b\\c\n\u{1}é😀".into(),
                model: "</script>\u{7f}\t".into(),
                created: u64::MAX,
            },
            ChunkHeader {
                id: String::new(),
                model: String::new(),
                created: 0,
            },
        ];
        let image = ChatImage::new("data:image/png;base64,AAAA".into());
        let deltas = [
            Delta::start(),
            Delta::default(),
            Delta::content("plain"),
            Delta::content("\"quoted\"\n\r\t\\ café × 😀 \u{0}\u{1f}"),
            Delta::refusal("no"),
            Delta::reasoning("think\n"),
            Delta::tool_call(ToolCallDelta::first(2, "call_\"1", "f", "")),
            Delta::tool_call(ToolCallDelta::arguments(0, "{\"a\":1}")),
            Delta::images(std::slice::from_ref(&image)),
        ];
        let reasons = [
            None,
            Some(FinishReason::Stop),
            Some(FinishReason::ToolCalls),
            Some(FinishReason::Length),
            Some(FinishReason::ContentFilter),
        ];
        for header in &headers {
            let mut stream = StreamHeader::new(ChunkHeader {
                id: "before".into(),
                ..header.clone()
            });
            stream.set_id(&header.id);
            assert_eq!(stream.header(), header);
            for delta in &deltas {
                for reason in reasons {
                    let expected = serialized(header, delta, reason);
                    let mut per_chunk = Frames::default();
                    per_chunk.push_delta(header, delta, reason);
                    let mut per_stream = Frames::default();
                    per_stream.push_delta(&stream, delta, reason);
                    assert_eq!(per_chunk.as_bytes(), expected.as_bytes());
                    assert_eq!(per_stream.as_bytes(), expected.as_bytes());
                }
            }
        }
    }

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
