//! Shared by the fuzz targets: "JSON-ish" values built from fuzzer bytes. Object keys and
//! strings are drawn mostly from the words orpipe's translators look for, so the fuzzer
//! reaches deep into the translation rules instead of bouncing off unknown fields.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Number, Value};

/// Field names and values the Chat Completions request translator and the Responses
/// stream translator react to.
pub const WORDS: &[&str] = &[
    // request fields
    "model",
    "messages",
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "function",
    "arguments",
    "type",
    "text",
    "image_url",
    "url",
    "detail",
    "input_audio",
    "data",
    "format",
    "file",
    "file_data",
    "file_id",
    "filename",
    "video_url",
    "refusal",
    "reasoning_content",
    "stream",
    "stream_options",
    "include_usage",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "stop",
    "seed",
    "n",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "parameters",
    "strict",
    "description",
    "response_format",
    "json_schema",
    "json_object",
    "schema",
    "properties",
    "required",
    "items",
    "enum",
    "reasoning",
    "reasoning_effort",
    "effort",
    "summary",
    "verbosity",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "metadata",
    "provider",
    "plugins",
    "web_search_options",
    "user_location",
    "cache_control",
    "modalities",
    "audio",
    "prediction",
    "store",
    "service_tier",
    "include_reasoning",
    "allowed_tools",
    "mode",
    "custom",
    "web_search",
    "session_id",
    "safety_identifier",
    "prompt_cache_key",
    "transforms",
    "models",
    "route",
    // roles and part types
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function_call",
    "function_call_output",
    "input_text",
    "input_image",
    "input_file",
    "input_audio",
    "output_text",
    "summary_text",
    "auto",
    "none",
    "required",
    "low",
    "medium",
    "high",
    "minimal",
    "xhigh",
    "object",
    "string",
    "array",
    "integer",
    "number",
    "boolean",
    "data:image/png;base64,iVBORw0KGgo=",
    "https://example.com/a.png",
    "mp3",
    "wav",
    // stream events and their fields
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.reasoning.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.annotation.added",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "response.error",
    "response.done",
    "error",
    "response",
    "item",
    "output_index",
    "content_index",
    "summary_index",
    "delta",
    "id",
    "call_id",
    "status",
    "completed",
    "in_progress",
    "failed",
    "incomplete",
    "usage",
    "input_tokens",
    "output_tokens",
    "output_tokens_details",
    "reasoning_tokens",
    "input_tokens_details",
    "cached_tokens",
    "cost",
    "output",
    "message",
    "code",
    "annotation",
    "annotations",
    "url_citation",
    "start_index",
    "end_index",
    "title",
    "encrypted_content",
    "incomplete_details",
    "reason",
    "max_output_tokens",
    "content_filter",
    "rs_1",
    "fc_1",
    "call_1",
    "msg_1",
    "",
];

/// A JSON value whose shape the fuzzer chooses.
#[derive(Debug)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        value(u, 0).map(Json)
    }
}

/// Deep enough for any real request; deeper only tests serde_json's recursion limit.
const MAX_DEPTH: usize = 8;

pub fn word(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    if u.ratio(7, 8)? {
        Ok((*u.choose(WORDS)?).to_owned())
    } else {
        String::arbitrary(u)
    }
}

pub fn value(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    let kinds = if depth >= MAX_DEPTH { 5 } else { 7 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(bool::arbitrary(u)?),
        2 => number(u)?,
        3 => Number::from_f64(f64::arbitrary(u)?).map_or(Value::Null, Value::Number),
        4 => Value::String(word(u)?),
        5 => {
            let len = u.int_in_range(0..=4)?;
            Value::Array(
                (0..len)
                    .map(|_| value(u, depth + 1))
                    .collect::<arbitrary::Result<_>>()?,
            )
        }
        _ => Value::Object(object(u, depth + 1)?),
    })
}

/// An integer: any `i64`, or one at the top of `u64` (where sums of token counts would
/// overflow).
pub fn number(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    Ok(if u.ratio(1, 2)? {
        Value::Number(Number::from(i64::arbitrary(u)?))
    } else {
        big_count(u)?
    })
}

/// A count within 255 of `u64::MAX`.
pub fn big_count(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    Ok(Value::Number(Number::from(
        u64::MAX - u64::from(u8::arbitrary(u)?),
    )))
}

/// A Responses `usage` object whose counts are small, huge or of another shape.
pub fn usage(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    let count = |u: &mut Unstructured<'_>| -> arbitrary::Result<Value> {
        Ok(match u.choose_index(4)? {
            0 => Value::from(u.int_in_range(0..=100_000u64)?),
            1 => big_count(u)?,
            2 => value(u, MAX_DEPTH)?,
            _ => Value::Null,
        })
    };
    let mut usage = Map::new();
    for field in ["input_tokens", "output_tokens", "total_tokens"] {
        if u.ratio(3, 4)? {
            usage.insert(field.into(), count(u)?);
        }
    }
    let cached = count(u)?;
    let reasoning = count(u)?;
    usage.insert(
        "input_tokens_details".into(),
        serde_json::json!({"cached_tokens": cached}),
    );
    usage.insert(
        "output_tokens_details".into(),
        serde_json::json!({"reasoning_tokens": reasoning}),
    );
    if u.ratio(1, 2)? {
        usage.insert("cost".into(), value(u, MAX_DEPTH)?);
    }
    Ok(Value::Object(usage))
}

pub fn object(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Map<String, Value>> {
    let len = u.int_in_range(0..=6)?;
    let mut map = Map::new();
    for _ in 0..len {
        let key = word(u)?;
        map.insert(key, value(u, depth)?);
    }
    Ok(map)
}
