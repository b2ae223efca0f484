//! `POST /api/v1/chat/completions`: OpenRouter's Chat Completions API, synthetic only.
//!
//! orpipe never calls it; the peers of the side-by-side bench do (nginx proxies to it,
//! LiteLLM's and TensorZero's plain OpenAI paths call it). It answers with the same
//! [`SyntheticStream`] options as `/responses` (the mock's default reply when it is synthetic,
//! else [`DEFAULT_TOKENS`] deltas): a stream is a role-and-text chunk per delta, paced like the
//! Responses stream, a `finish_reason` chunk, a usage chunk and `[DONE]`; a whole answer is
//! one `chat.completion` object after the `ttft` pause. Programmed replies (the queue) are
//! for `/responses` only and are left untouched.

use serde::Serialize;
use serde_json::Value;

use super::reply::{Split, SyntheticStream};
use super::script::{ScriptBuilder, Step};
use super::synthetic::{DEFAULT_MODEL, StreamIds, Usage};

/// Deltas per answer when the mock's default reply is not synthetic.
pub(crate) const DEFAULT_TOKENS: usize = 8;

/// The answer to one chat call: the steps of its body and whether it is an event stream.
pub(crate) struct ChatAnswer {
    pub(crate) steps: Vec<Step>,
    pub(crate) event_stream: bool,
}

/// Builds the answer to `request` (the parsed body, if it parsed) from `spec`.
pub(crate) fn answer_chat(spec: &SyntheticStream, request: Option<&Value>) -> ChatAnswer {
    let model = request
        .and_then(|body| body.get("model"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL);
    let streaming = request
        .and_then(|body| body.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ids = StreamIds::next();
    let mut script = ScriptBuilder::default();
    script.wait(spec.ttft);
    if streaming {
        stream_steps(spec, &ids, model, &mut script);
    } else {
        script.write(json_bytes(&whole_answer(spec, &ids, model)));
    }
    ChatAnswer {
        steps: script.finish(Split::Whole),
        event_stream: streaming,
    }
}

fn stream_steps(spec: &SyntheticStream, ids: &StreamIds, model: &str, script: &mut ScriptBuilder) {
    let chunk = |choices, usage| Chunk::new(ids, model, choices, usage);
    for index in 0..spec.tokens {
        if index > 0 {
            script.wait(spec.pace);
        }
        let delta = Delta {
            role: "assistant",
            content: &spec.delta,
        };
        script.write(sse_block(&chunk(
            vec![ChunkChoice::delta(delta, None)],
            None,
        )));
    }
    let end = Delta {
        role: "assistant",
        content: "",
    };
    script.write(sse_block(&chunk(
        vec![ChunkChoice::delta(end, Some("stop"))],
        None,
    )));
    script.write(sse_block(&chunk(
        Vec::new(),
        Some(ChatUsage::new(spec.tokens)),
    )));
    script.write(&b"data: [DONE]\n\n"[..]);
}

fn whole_answer<'a>(spec: &SyntheticStream, ids: &'a StreamIds, model: &'a str) -> Completion<'a> {
    Completion {
        id: &ids.generation,
        provider: "OpenAI",
        model,
        object: "chat.completion",
        created: ids.created_at,
        choices: [WholeChoice {
            index: 0,
            logprobs: None,
            finish_reason: "stop",
            native_finish_reason: "stop",
            message: Message {
                role: "assistant",
                content: spec.delta.repeat(spec.tokens),
                refusal: None,
                reasoning: None,
            },
        }],
        usage: ChatUsage::new(spec.tokens),
    }
}

fn sse_block(value: &impl Serialize) -> Vec<u8> {
    let mut block = b"data: ".to_vec();
    block.extend_from_slice(&json_bytes(value));
    block.extend_from_slice(b"\n\n");
    block
}

fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    // Serializing these plain structs cannot fail; an empty body would show in tests.
    serde_json::to_vec(value).unwrap_or_else(|error| {
        eprintln!("mock OpenRouter: serializing a chat answer: {error}");
        Vec::new()
    })
}

// Wire types: structs keep OpenRouter's key order (see synthetic.rs).

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    provider: &'static str,
    model: &'a str,
    object: &'static str,
    created: u64,
    choices: Vec<ChunkChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<ChatUsage>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
    native_finish_reason: Option<&'static str>,
    logprobs: Option<()>,
}

impl<'a> Chunk<'a> {
    fn new(
        ids: &'a StreamIds,
        model: &'a str,
        choices: Vec<ChunkChoice<'a>>,
        usage: Option<ChatUsage>,
    ) -> Self {
        Self {
            id: &ids.generation,
            provider: "OpenAI",
            model,
            object: "chat.completion.chunk",
            created: ids.created_at,
            choices,
            usage,
        }
    }
}

impl<'a> ChunkChoice<'a> {
    fn delta(delta: Delta<'a>, finish_reason: Option<&'static str>) -> Self {
        Self {
            index: 0,
            delta,
            finish_reason,
            native_finish_reason: finish_reason,
            logprobs: None,
        }
    }
}

#[derive(Serialize)]
struct Delta<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    provider: &'static str,
    model: &'a str,
    object: &'static str,
    created: u64,
    choices: [WholeChoice; 1],
    usage: ChatUsage,
}

#[derive(Serialize)]
struct WholeChoice {
    index: u32,
    logprobs: Option<()>,
    finish_reason: &'static str,
    native_finish_reason: &'static str,
    message: Message,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: String,
    refusal: Option<()>,
    reasoning: Option<()>,
}

/// Chat Completions usage, with OpenRouter's `cost`; the same figures as the Responses usage.
#[derive(Serialize)]
struct ChatUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    cost: f64,
}

impl ChatUsage {
    fn new(tokens: usize) -> Self {
        let usage = Usage::new(tokens as u64);
        Self {
            prompt_tokens: usage.input_tokens,
            completion_tokens: usage.output_tokens,
            total_tokens: usage.total_tokens,
            cost: usage.cost,
        }
    }
}
