//! A Responses request → the equivalent Chat Completions request (the original pipe's
//! `_responses_payload_to_chat_completions_payload`, FEATURES §4.8, case C27), for
//! sending a request to OpenRouter's `/chat/completions` when `/responses` cannot take it.
//!
//! Pure and total: anything it does not recognise is left out, never an error. The
//! component calls it for requests routed to the chat endpoint (`translate::endpoint`).
//!
//! - `instructions` → a leading `system` message; `message` items → messages (user parts
//!   back to `text` / `image_url` / `input_audio` / `file` / `video_url`; other roles' text
//!   joined); consecutive `function_call` items → one assistant message with `tool_calls`
//!   (content `null`); `function_call_output` → `tool` messages; reasoning items dropped,
//!   their `reasoning_details` carried on the next assistant message (signatures).
//! - `max_output_tokens` → `max_tokens`; `text.format` → `response_format` (`json_schema`
//!   wrapped as `{"json_schema": {name, schema, …}}`; an explicit `response_format` wins);
//!   `text.verbosity` → `verbosity`; `top_k`, `seed`, `top_logprobs`, `max_tokens` rounded
//!   to integers; tools and `tool_choice` back to their Chat Completions forms.
//! - Passed through: routing, identity and sampling fields both APIs share (`PASS_THROUGH`);
//!   `plugins` without `fusion`.

use serde_json::{Map, Value, json};

const PASS_THROUGH: &[&str] = &[
    "model",
    "models",
    "preset",
    "user",
    "session_id",
    "metadata",
    "provider",
    "route",
    "debug",
    "image_config",
    "modalities",
    "transforms",
    "stop_server_tools_when",
    "trace",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "min_p",
    "top_a",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "logit_bias",
    "logprobs",
    "structured_outputs",
    "reasoning",
    "include_reasoning",
    "reasoning_effort",
    "web_search_options",
    "parallel_tool_calls",
    "response_format",
    "verbosity",
];

const INTEGERS: &[&str] = &["top_k", "seed", "top_logprobs", "max_tokens"];

pub fn chat_request_from_responses(body: &Value) -> Value {
    let Some(body) = body.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for key in PASS_THROUGH {
        if let Some(value) = body.get(*key).filter(|v| !v.is_null()) {
            out.insert((*key).to_owned(), value.clone());
        }
    }
    if let Some(Value::Array(plugins)) = body.get("plugins") {
        let kept: Vec<Value> = plugins
            .iter()
            .filter(|p| p.get("id").and_then(Value::as_str) != Some("fusion"))
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("plugins".into(), Value::Array(kept));
        }
    }
    if let Some(limit) = body.get("max_output_tokens").filter(|v| v.is_number()) {
        out.insert("max_tokens".into(), limit.clone());
    }
    if let Some(top_k) = body.get("top_k").filter(|v| v.is_number()) {
        out.insert("top_k".into(), top_k.clone());
    }
    if let Some(seed) = body.get("seed").filter(|v| v.is_number()) {
        out.insert("seed".into(), seed.clone());
    }
    for key in INTEGERS {
        if let Some(n) = out.get(*key).and_then(Value::as_f64) {
            out.insert((*key).to_owned(), json!(n.round() as i64));
        }
    }
    text_settings(body, &mut out);
    if let Some(Value::Array(tools)) = body.get("tools") {
        out.insert(
            "tools".into(),
            Value::Array(tools.iter().map(chat_tool).collect()),
        );
    }
    if let Some(choice) = body.get("tool_choice").filter(|v| !v.is_null()) {
        out.insert("tool_choice".into(), chat_tool_choice(choice));
    }
    out.insert("messages".into(), Value::Array(messages(body)));
    Value::Object(out)
}

/// The body for OpenRouter's `/chat/completions`: the translated Responses body converted
/// back, plus the request's chat-only fields (`endpoint::take_chat_only`); a stream asks
/// for its usage chunk.
pub fn chat_body(responses: &Value, chat_only: Map<String, Value>) -> Value {
    let mut chat = chat_request_from_responses(responses);
    if let Some(body) = chat.as_object_mut() {
        body.extend(chat_only);
        if body.get("stream").and_then(Value::as_bool) == Some(true) {
            let options = body.entry("stream_options").or_insert_with(|| json!({}));
            if let Some(options) = options.as_object_mut() {
                options.insert("include_usage".into(), Value::Bool(true));
            }
        }
    }
    chat
}

fn text_settings(body: &Map<String, Value>, out: &mut Map<String, Value>) {
    let Some(text) = body.get("text").and_then(Value::as_object) else {
        return;
    };
    if let Some(verbosity) = text.get("verbosity").filter(|v| v.is_string()) {
        out.entry("verbosity").or_insert_with(|| verbosity.clone());
    }
    let Some(format) = text.get("format").and_then(Value::as_object) else {
        return;
    };
    let converted = match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => {
            let mut schema = format.clone();
            schema.remove("type");
            json!({"type": "json_schema", "json_schema": schema})
        }
        Some(_) => Value::Object(format.clone()),
        None => return,
    };
    out.entry("response_format").or_insert(converted);
}

fn chat_tool(tool: &Value) -> Value {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return tool.clone();
    }
    let mut function = Map::new();
    for key in ["name", "description", "parameters", "strict"] {
        if let Some(value) = tool.get(key).filter(|v| !v.is_null()) {
            function.insert(key.into(), value.clone());
        }
    }
    json!({"type": "function", "function": function})
}

fn chat_tool_choice(choice: &Value) -> Value {
    match (
        choice.get("type").and_then(Value::as_str),
        choice.get("name"),
    ) {
        (Some("function"), Some(name)) => json!({"type": "function", "function": {"name": name}}),
        _ => choice.clone(),
    }
}

fn messages(body: &Map<String, Value>) -> Vec<Value> {
    let mut messages = Vec::new();
    if let Some(instructions) = body
        .get("instructions")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    let items = match body.get("input") {
        Some(Value::String(text)) => {
            messages.push(json!({"role": "user", "content": text}));
            return messages;
        }
        Some(Value::Array(items)) => items.as_slice(),
        _ => return messages,
    };
    // Replayed reasoning's `reasoning_details` (with their signatures) ride on the next
    // assistant message, the form the chat endpoint takes them back in.
    let mut details: Vec<Value> = Vec::new();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str);
        let role = item.get("role").and_then(Value::as_str);
        let before = messages.len();
        match (kind, role) {
            (Some("reasoning"), _) => {
                if let Some(Value::Array(entries)) = item.get("reasoning_details") {
                    details.extend(entries.iter().cloned());
                }
            }
            (Some("function_call"), _) => push_call(&mut messages, item),
            (Some("function_call_output"), _) => messages.push(json!({
                "role": "tool",
                "tool_call_id": item.get("call_id").cloned().unwrap_or(Value::Null),
                "content": match item.get("output") {
                    Some(Value::String(text)) => Value::String(text.clone()),
                    Some(other) => Value::String(other.to_string()),
                    None => Value::String(String::new()),
                },
            })),
            (Some("message") | None, Some(role)) => messages.push(message(role, item)),
            _ => {}
        }
        if messages.len() > before
            && !details.is_empty()
            && let Some(assistant) = messages
                .last_mut()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
                .and_then(Value::as_object_mut)
        {
            assistant.insert(
                "reasoning_details".into(),
                Value::Array(std::mem::take(&mut details)),
            );
        }
    }
    messages
}

/// Appends a call to the assistant message that holds the calls just before it, or starts one.
fn push_call(messages: &mut Vec<Value>, item: &Value) {
    let call = json!({
        "id": item.get("call_id").cloned().unwrap_or(Value::Null),
        "type": "function",
        "function": {
            "name": item.get("name").cloned().unwrap_or(Value::Null),
            "arguments": item.get("arguments").cloned().unwrap_or(json!("{}")),
        },
    });
    if let Some(Value::Array(calls)) = messages
        .last_mut()
        .filter(|m| m["role"] == "assistant" && m["content"].is_null())
        .and_then(|m| m.get_mut("tool_calls"))
    {
        calls.push(call);
        return;
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn message(role: &str, item: &Value) -> Value {
    let content = match item.get("content") {
        Some(Value::Array(parts)) if role == "user" => {
            Value::Array(parts.iter().filter_map(user_part).collect())
        }
        Some(Value::Array(parts)) => Value::String(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        Some(other) => other.clone(),
        None => Value::String(String::new()),
    };
    json!({"role": role, "content": content})
}

fn user_part(part: &Value) -> Option<Value> {
    let get = |key: &str| part.get(key).cloned().unwrap_or(Value::Null);
    Some(match part.get("type").and_then(Value::as_str)? {
        "input_text" | "text" => json!({"type": "text", "text": get("text")}),
        "input_image" => {
            let mut image = Map::new();
            image.insert("url".into(), get("image_url"));
            if let Some(detail) = part.get("detail") {
                image.insert("detail".into(), detail.clone());
            }
            json!({"type": "image_url", "image_url": image})
        }
        "input_audio" => json!({"type": "input_audio", "input_audio": get("input_audio")}),
        "input_file" => {
            let mut file = Map::new();
            for key in ["file_data", "file_id", "filename", "file_url"] {
                if let Some(value) = part.get(key).filter(|v| !v.is_null()) {
                    file.insert(key.into(), value.clone());
                }
            }
            json!({"type": "file", "file": file})
        }
        "input_video" => json!({"type": "video_url", "video_url": {"url": get("video_url")}}),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c27_responses_to_chat_completions() {
        let input = json!({"model": "anthropic/claude-sonnet-4.5", "stream": true, "instructions": "Be nice", "max_output_tokens": 1000, "top_k": 40.6, "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "auto"}]}, {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}, {"type": "function_call_output", "call_id": "c1", "output": "ok"}], "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}], "tool_choice": {"type": "function", "name": "f"}, "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}, "verbosity": "low"}});
        let expected = json!({"model": "anthropic/claude-sonnet-4.5", "stream": true, "top_k": 41, "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}}, "verbosity": "low", "max_tokens": 1000, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}], "tool_choice": {"type": "function", "function": {"name": "f"}}, "messages": [{"role": "system", "content": "Be nice"}, {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "auto"}}]}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "ok"}]});
        assert_eq!(chat_request_from_responses(&input), expected);
    }

    #[test]
    fn replayed_reasoning_details_ride_on_the_next_assistant_message() {
        let detail = json!({"type": "reasoning.text", "text": "t", "signature": "sig", "index": 0});
        let input = json!({"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "reasoning", "summary": [], "reasoning_details": [detail]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q2"}]},
            {"type": "reasoning", "summary": [], "reasoning_details": [detail]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
        ]});
        let out = chat_request_from_responses(&input);
        let messages = out["messages"].as_array().expect("messages");
        assert_eq!(messages[1]["reasoning_details"], json!([detail]));
        assert!(
            messages[2].get("reasoning_details").is_none(),
            "users carry none"
        );
        assert_eq!(messages[3]["reasoning_details"], json!([detail]));
        assert_eq!(messages[3]["tool_calls"][0]["id"], "c1");
    }

    #[test]
    fn parallel_calls_share_one_assistant_message_and_other_roles_keep_text() {
        let input = json!({"input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "x"}]},
            {"type": "unknown_item"}
        ], "plugins": [{"id": "fusion"}, {"id": "web"}], "seed": 3.4});
        let out = chat_request_from_responses(&input);
        let messages = out["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[0], json!({"role": "developer", "content": "ab"}));
        assert_eq!(
            messages[1],
            json!({"role": "assistant", "content": "checking"})
        );
        assert_eq!(messages[2]["tool_calls"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            messages[3]["content"],
            r#"[{"text":"x","type":"input_text"}]"#
        );
        assert_eq!(out["plugins"], json!([{"id": "web"}]));
        assert_eq!(out["seed"], 3);
        assert_eq!(
            chat_request_from_responses(&json!({"input": "hello"}))["messages"],
            json!([{"role": "user", "content": "hello"}])
        );
        assert_eq!(chat_request_from_responses(&json!([1])), json!({}));
    }
}
