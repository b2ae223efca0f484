//! Generates a realistic OpenRouter text stream of any length (the benchmark's upstream).
//!
//! The event sequence and field set follow `stream_text.sse` (API.md §3.4 "Text only"), so
//! the gateway does the same work per event as with real traffic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use super::reply::{Split, SyntheticStream};
use super::script::{CompiledStream, ScriptBuilder};

/// Used when the request names no model.
pub(super) const DEFAULT_MODEL: &str = "openai/gpt-4o-mini";
/// Prompt size reported in usage; the mock does not tokenize.
const INPUT_TOKENS: u64 = 14;
/// gpt-4o-mini's prices per token, in units of 1e-8 USD so sums stay exact before the one
/// division that turns them into dollars (no `3.2999999999999997e-6` in the output).
const PROMPT_PRICE: u64 = 15;
const COMPLETION_PRICE: u64 = 60;
const PRICE_UNITS_PER_USD: f64 = 1e8;

/// The last text in a Responses `input`: the string itself, or the last `text` field of
/// its items (the newest message's content).
fn last_input_text(input: &Value) -> Option<String> {
    match input {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => items.iter().rev().find_map(last_input_text),
        Value::Object(fields) => match fields.get("text") {
            Some(Value::String(text)) => Some(text.clone()),
            _ => fields.get("content").and_then(last_input_text),
        },
        _ => None,
    }
}

/// The model to name in the answer (the requested one) and the text of each delta (the
/// prompt itself when the spec echoes it).
fn model_and_delta<'a>(spec: &SyntheticStream, request: Option<&'a Value>) -> (&'a str, String) {
    let model = request
        .and_then(|body| body.get("model"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_MODEL);
    let delta = match request.and_then(|body| last_input_text(body.get("input")?)) {
        Some(prompt) if spec.echo_prompt => format!(" {prompt}"),
        _ => spec.delta.clone(),
    };
    (model, delta)
}

/// Compiles one synthetic stream; `request` is the `/responses` body the gateway sent.
pub(crate) fn compile_synthetic(spec: &SyntheticStream, request: Option<&Value>) -> CompiledStream {
    let (model, delta) = model_and_delta(spec, request);
    let ids = StreamIds::next();
    let message = ids.message.as_str();
    let mut events = EventWriter::default();
    let mut script = ScriptBuilder::default();

    script.wait(spec.ttft);
    let created = ids.response(model, Vec::new(), None);
    script.write(events.next("response.created", &Envelope { response: &created }));
    script.write(events.next("response.in_progress", &Envelope { response: &created }));
    let empty_item = MessageItem::new(message, "in_progress", Vec::new());
    script.write(events.next(
        "response.output_item.added",
        &ItemEvent {
            output_index: 0,
            item: &empty_item,
        },
    ));
    let empty_part = OutputText::new("");
    script.write(events.next(
        "response.content_part.added",
        &PartEvent {
            output_index: 0,
            item_id: message,
            content_index: 0,
            part: &empty_part,
        },
    ));
    for index in 0..spec.tokens {
        if index > 0 {
            script.wait(spec.pace);
        }
        script.write(events.next(
            "response.output_text.delta",
            &TextDelta {
                output_index: 0,
                item_id: message,
                content_index: 0,
                delta: &delta,
                logprobs: [],
            },
        ));
    }

    let text = delta.repeat(spec.tokens);
    let part = OutputText::new(&text);
    let item = MessageItem::new(message, "completed", vec![part.clone()]);
    script.write(events.next(
        "response.output_text.done",
        &TextDone {
            output_index: 0,
            item_id: message,
            content_index: 0,
            text: &text,
            logprobs: [],
        },
    ));
    script.write(events.next(
        "response.content_part.done",
        &PartEvent {
            output_index: 0,
            item_id: message,
            content_index: 0,
            part: &part,
        },
    ));
    script.write(events.next(
        "response.output_item.done",
        &ItemEvent {
            output_index: 0,
            item: &item,
        },
    ));
    let completed = ids.response(model, vec![item], Some(Usage::new(spec.tokens as u64)));
    script.write(events.next(
        "response.completed",
        &Envelope {
            response: &completed,
        },
    ));
    script.write(&b"data: [DONE]\n\n"[..]);

    CompiledStream {
        steps: script.finish(Split::Whole),
        generation_id: Some(ids.generation),
    }
}

/// The whole-answer counterpart of [`compile_synthetic`], for a request without
/// `stream: true`: the completed response object (all deltas joined), sent at once.
pub(crate) fn synthetic_whole(spec: &SyntheticStream, request: Option<&Value>) -> Vec<u8> {
    let (model, delta) = model_and_delta(spec, request);
    let ids = StreamIds::next();
    let text = delta.repeat(spec.tokens);
    let item = MessageItem::new(&ids.message, "completed", vec![OutputText::new(&text)]);
    let completed = ids.response(model, vec![item], Some(Usage::new(spec.tokens as u64)));
    // Serializing these plain structs cannot fail; an empty body would show in tests.
    serde_json::to_vec(&completed).unwrap_or_else(|error| {
        eprintln!("mock OpenRouter: serializing a synthetic answer: {error}");
        Vec::new()
    })
}

/// Serializes events as `data:` blocks with consecutive `sequence_number`s from 0.
#[derive(Default)]
struct EventWriter {
    sequence: u64,
}

impl EventWriter {
    fn next(&mut self, kind: &str, fields: &impl Serialize) -> Vec<u8> {
        let event = Event {
            kind,
            fields,
            sequence_number: self.sequence,
        };
        self.sequence += 1;
        let mut block = b"data: ".to_vec();
        // Serializing these plain structs cannot fail; an empty event would show in tests.
        if let Err(error) = serde_json::to_writer(&mut block, &event) {
            eprintln!("mock OpenRouter: serializing a synthetic event: {error}");
        }
        block.extend_from_slice(b"\n\n");
        block
    }
}

// The wire types below are structs rather than `json!` values so that keys keep OpenRouter's
// order (`type` first, `sequence_number` last): serde_json's map would sort them, and a
// gateway may rightly rely on nothing about order, but the benchmark should feed it real shapes.

#[derive(Serialize)]
struct Event<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    fields: T,
    sequence_number: u64,
}

#[derive(Serialize)]
struct Envelope<'a> {
    response: &'a ResponseObject<'a>,
}

#[derive(Serialize)]
struct ItemEvent<'a> {
    output_index: u32,
    item: &'a MessageItem<'a>,
}

#[derive(Serialize)]
struct PartEvent<'a> {
    output_index: u32,
    item_id: &'a str,
    content_index: u32,
    part: &'a OutputText<'a>,
}

#[derive(Serialize)]
struct TextDelta<'a> {
    output_index: u32,
    item_id: &'a str,
    content_index: u32,
    delta: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct TextDone<'a> {
    output_index: u32,
    item_id: &'a str,
    content_index: u32,
    text: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct MessageItem<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    role: &'static str,
    content: Vec<OutputText<'a>>,
}

impl<'a> MessageItem<'a> {
    fn new(id: &'a str, status: &'static str, content: Vec<OutputText<'a>>) -> Self {
        Self {
            id,
            kind: "message",
            status,
            role: "assistant",
            content,
        }
    }
}

#[derive(Serialize, Clone)]
struct OutputText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    annotations: [(); 0],
    logprobs: [(); 0],
}

impl<'a> OutputText<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            kind: "output_text",
            text,
            annotations: [],
            logprobs: [],
        }
    }
}

/// The response object of `response.created` / `response.completed`, field for field as in
/// `stream_text.sse`.
#[derive(Serialize)]
struct ResponseObject<'a> {
    id: &'a str,
    object: &'static str,
    created_at: u64,
    model: &'a str,
    status: &'static str,
    completed_at: Option<u64>,
    output: Vec<MessageItem<'a>>,
    error: Option<()>,
    incomplete_details: Option<()>,
    tools: [(); 0],
    tool_choice: &'static str,
    parallel_tool_calls: bool,
    max_output_tokens: Option<u64>,
    temperature: u8,
    top_p: u8,
    presence_penalty: u8,
    frequency_penalty: u8,
    top_logprobs: u8,
    max_tool_calls: Option<u64>,
    metadata: serde_json::Map<String, Value>,
    background: bool,
    previous_response_id: Option<()>,
    service_tier: &'static str,
    truncation: &'static str,
    store: bool,
    instructions: Option<()>,
    text: Value,
    reasoning: Option<()>,
    safety_identifier: Option<()>,
    prompt_cache_key: Option<()>,
    prompt_cache_options: Option<()>,
    usage: Option<Usage>,
}

/// Usage with cost, shaped like `response.completed.response.usage` (API.md §3.5).
#[derive(Serialize)]
pub(super) struct Usage {
    pub(super) input_tokens: u64,
    input_tokens_details: CachedTokens,
    pub(super) output_tokens: u64,
    output_tokens_details: ReasoningTokens,
    pub(super) total_tokens: u64,
    pub(super) cost: f64,
    is_byok: bool,
    cost_details: CostDetails,
}

#[derive(Serialize)]
struct CachedTokens {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct ReasoningTokens {
    reasoning_tokens: u64,
}

#[derive(Serialize)]
struct CostDetails {
    upstream_inference_cost: f64,
    upstream_inference_input_cost: f64,
    upstream_inference_output_cost: f64,
}

impl Usage {
    pub(super) fn new(output_tokens: u64) -> Self {
        let input_units = INPUT_TOKENS * PROMPT_PRICE;
        let output_units = output_tokens.saturating_mul(COMPLETION_PRICE);
        let dollars = |units: u64| units as f64 / PRICE_UNITS_PER_USD;
        let (input_cost, output_cost) = (dollars(input_units), dollars(output_units));
        let total_cost = dollars(input_units.saturating_add(output_units));
        Self {
            input_tokens: INPUT_TOKENS,
            input_tokens_details: CachedTokens { cached_tokens: 0 },
            output_tokens,
            output_tokens_details: ReasoningTokens {
                reasoning_tokens: 0,
            },
            total_tokens: INPUT_TOKENS + output_tokens,
            cost: total_cost,
            is_byok: false,
            cost_details: CostDetails {
                upstream_inference_cost: total_cost,
                upstream_inference_input_cost: input_cost,
                upstream_inference_output_cost: output_cost,
            },
        }
    }
}

/// The identifiers of one generated response, in OpenRouter's formats (API.md §3.3).
pub(super) struct StreamIds {
    pub(super) generation: String,
    pub(super) message: String,
    pub(super) created_at: u64,
}

impl StreamIds {
    pub(super) fn next() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let seed = COUNTER.fetch_add(1, Ordering::Relaxed);
        let created_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        Self {
            generation: format!("gen-{created_at}-{}", alphanumeric(seed, 20)),
            message: format!(
                "msg_tmp_{}",
                alphanumeric(seed ^ 0x5bd1_e995, 11).to_lowercase()
            ),
            created_at,
        }
    }

    /// The response object: in progress while `usage` is `None`, completed once it is known.
    fn response<'a>(
        &'a self,
        model: &'a str,
        output: Vec<MessageItem<'a>>,
        usage: Option<Usage>,
    ) -> ResponseObject<'a> {
        let completed = usage.is_some();
        ResponseObject {
            id: &self.generation,
            object: "response",
            created_at: self.created_at,
            model,
            status: if completed {
                "completed"
            } else {
                "in_progress"
            },
            completed_at: completed.then_some(self.created_at),
            output,
            error: None,
            incomplete_details: None,
            tools: [],
            tool_choice: "auto",
            parallel_tool_calls: true,
            max_output_tokens: None,
            temperature: 1,
            top_p: 1,
            presence_penalty: 0,
            frequency_penalty: 0,
            top_logprobs: 0,
            max_tool_calls: None,
            metadata: serde_json::Map::new(),
            background: false,
            previous_response_id: None,
            // OpenRouter echoes the requested tier first and reports the one used at the end.
            service_tier: if completed { "default" } else { "auto" },
            truncation: "disabled",
            store: false,
            instructions: None,
            text: json!({ "format": { "type": "text" } }),
            reasoning: None,
            safety_identifier: None,
            prompt_cache_key: None,
            prompt_cache_options: None,
            usage,
        }
    }
}

/// `len` letters and digits derived from `seed` (splitmix64), so ids look random but are unique.
pub(super) fn alphanumeric(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = state;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            mixed ^= mixed >> 31;
            let index = (mixed % ALPHABET.len() as u64) as usize;
            char::from(ALPHABET.get(index).copied().unwrap_or(b'0'))
        })
        .collect()
}
