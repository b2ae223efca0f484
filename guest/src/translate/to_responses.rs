//! Chat Completions request → Responses request.
//!
//! The pipeline, one pure step per module:
//! 1. `messages`: every message becomes `input[]` items (FEATURES §4.1). `system` and
//!    `developer` messages stay messages with their role (rather than being folded into
//!    `instructions`), so their position and text are kept byte for byte.
//! 2. `parts`: content parts (text, images, audio, files, video) → Responses parts (§4.2).
//! 3. `pairs`: the original's sanitizer (§4.6): non-replayable items dropped, tool items
//!    minimized to `{type, call_id, …}`, orphan and out-of-order call/output pairs repaired.
//! 4. `params` and `tools`: every parameter → its Responses field (§4.5); `schema` converts
//!    strict tool schemas (§6.2); `ids` makes the original's ULID-like ids, deterministically.
//!
//! Parameters and what becomes of them:
//!
//! | Chat Completions | Responses |
//! |---|---|
//! | `temperature`, `top_p`, `frequency_penalty`, `presence_penalty` | same names |
//! | `top_k` (number or numeric string) | `top_k` as a float, as the original sends it |
//! | `max_tokens`, `max_completion_tokens` (wins) | `max_output_tokens` (kept: the original's default of clearing it is not followed) |
//! | `reasoning_effort`, `reasoning{effort, max_tokens, exclude, enabled, summary}`, `include_reasoning: false` | `reasoning{…}`; `summary: "auto"` added when reasoning is asked for and not hidden |
//! | `response_format`, `verbosity` | `text.format` (flat `json_schema`), `text.verbosity` |
//! | `tools`, `tool_choice`, `parallel_tool_calls`, `web_search_options` | flat function tools (strict schemas when `strict`), Responses `tool_choice`, same, an `openrouter:web_search` tool |
//! | `user` (string, or an object's `id`) | `user`, at most 128 characters |
//! | `session_id`, `metadata` | `session_id` (≤256 characters), `metadata` (pairs breaking the Responses limits left out) |
//! | `provider`, `models`, `plugins`; custom params `model_fallback`, `openrouter_provider_{order,only,ignore}`; legacy `transforms` | `provider`, `models`, `plugins` (merged as the original does; `transforms` → the `context-compression` plugin) |
//! | `logprobs`, `top_logprobs` | `top_logprobs` (unless `logprobs` is false) |
//! | `instructions`, `include`, `max_tool_calls`, `prompt_cache_key`, `safety_identifier`, `service_tier`, `stop_server_tools_when`, `trace`, `truncation`, `cache_control` | passed through: Responses fields a client may send as extra parameters |
//!
//! Dropped, because the Responses API has no equivalent and losing them does not change
//! what the answer means: `stream_options` (usage is always sent), `n: 1`, `seed`,
//! `logit_bias`, `min_p`, `top_a`, `repetition_penalty`, `prediction` (sampling and latency
//! hints that are best effort even where supported), `store` (OpenRouter is stateless),
//! `usage`, `modalities: ["text"]`, message `name`s, assistant `reasoning_details` and
//! `annotations` (their replay is a later step), and every unknown field.
//!
//! Refused with an `InvalidRequest`, because dropping them would silently change the answer
//! a client relies on: `n > 1` (fewer choices than asked for), a non-empty `stop` (the
//! answer would run past the stop sequence), `audio` and non-text `modalities` (no audio or
//! image output), the deprecated `functions`/`function_call` (the model would not see the
//! functions), and any part or message this module cannot translate faithfully.
//!
//! This module never performs I/O and never panics on input.

mod assistant_replay;
mod ids;
mod messages;
mod pairs;
mod params;
mod parts;
mod schema;
mod tools;

use crate::errors::GatewayError;
use serde_json::{Map, Value};

pub use messages::Replay;
pub(crate) use tools::is_web_search_tool_type;

#[derive(Debug, Clone, PartialEq)]
pub struct TranslatedRequest {
    /// The model id the client asked for.
    pub model: String,
    pub stream: bool,
    /// The Responses request body.
    pub body: Value,
}

fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest(message.into())
}

/// Translates a request body whose history replays nothing.
pub fn translate_request(body: &[u8]) -> Result<TranslatedRequest, GatewayError> {
    translate_request_with(parse_request(body)?, &Replay::default())
}

/// The request body as a JSON object.
pub fn parse_request(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))?;
    match request {
        Value::Object(request) => Ok(request),
        _ => Err(invalid("the request body must be a JSON object")),
    }
}

/// Translates a parsed request, inserting `replay`'s stored items where the history's
/// markers name them.
pub fn translate_request_with(
    request: Map<String, Value>,
    replay: &Replay,
) -> Result<TranslatedRequest, GatewayError> {
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        Some(Value::String(_)) | None => return Err(invalid("`model` is required")),
        Some(_) => return Err(invalid("`model` must be a string")),
    };
    let stream = params::optional_bool(&request, "stream")?.unwrap_or(false);
    let messages = match request.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) | None => {
            return Err(invalid("`messages` must hold at least one message"));
        }
        Some(_) => return Err(invalid("`messages` must be an array")),
    };
    let input = pairs::sanitize_input(messages::messages_to_input(messages, replay)?);
    if input.is_empty() {
        return Err(invalid(
            "`messages` hold nothing to send: every message is empty",
        ));
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.clone()));
    out.insert("input".into(), Value::Array(input));
    out.insert("stream".into(), Value::Bool(stream));
    params::translate_parameters(&request, &mut out)?;
    Ok(TranslatedRequest {
        model,
        stream,
        body: Value::Object(out),
    })
}

/// Backs the component's `inspect.translate-request` export.
pub fn translate_request_json(body: &str) -> Result<String, String> {
    translate_request(body.as_bytes())
        .map(|t| t.body.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
