//! Chat Completions request → Responses request.
//!
//! Message mapping follows the original Python pipe (its FEATURES §4.1): every message
//! becomes an `input[]` item, and `system`/`developer` messages stay messages with their
//! role (rather than being folded into `instructions`), so their position in the
//! conversation and their text are kept byte for byte. User text is `input_text`,
//! assistant text `output_text`. Parameters the Responses API names differently are
//! renamed (`max_tokens` → `max_output_tokens`); nothing is sent as `null`.
//!
//! This module never performs I/O. Anything it cannot translate faithfully is an
//! `InvalidRequest` naming the field, never a silent drop.

use crate::errors::GatewayError;
use serde_json::{Map, Value, json};

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

pub fn translate_request(body: &[u8]) -> Result<TranslatedRequest, GatewayError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(request) = request else {
        return Err(invalid("the request body must be a JSON object"));
    };
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.trim().is_empty() => model.clone(),
        Some(Value::String(_)) | None => return Err(invalid("`model` is required")),
        Some(_) => return Err(invalid("`model` must be a string")),
    };
    let stream = optional_bool(&request, "stream")?.unwrap_or(false);
    let messages = match request.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) | None => {
            return Err(invalid("`messages` must hold at least one message"));
        }
        Some(_) => return Err(invalid("`messages` must be an array")),
    };
    let input = messages
        .iter()
        .enumerate()
        .map(|(i, message)| translate_message(i, message))
        .collect::<Result<Vec<_>, _>>()?;

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.clone()));
    out.insert("input".into(), Value::Array(input));
    out.insert("stream".into(), Value::Bool(stream));
    copy_number(&request, "temperature", &mut out, "temperature")?;
    copy_number(&request, "top_p", &mut out, "top_p")?;
    // `max_completion_tokens` is the current OpenAI name; it wins over the legacy one.
    for name in ["max_tokens", "max_completion_tokens"] {
        if let Some(limit) = optional_u64(&request, name)? {
            out.insert("max_output_tokens".into(), json!(limit));
        }
    }
    if let Some(user) = optional_str(&request, "user")? {
        // OpenRouter caps the end-user id; longer ones would be rejected.
        out.insert(
            "user".into(),
            Value::String(user.chars().take(128).collect()),
        );
    }
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

fn translate_message(index: usize, message: &Value) -> Result<Value, GatewayError> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("messages[{index}] needs a string `role`")))?;
    let content = message.get("content").unwrap_or(&Value::Null);
    match role {
        "system" | "developer" | "user" => Ok(json!({
            "type": "message",
            "role": role,
            "content": text_parts(index, content, "input_text")?,
        })),
        "assistant" => {
            if message.get("tool_calls").is_some_and(|c| !c.is_null()) {
                return Err(invalid(format!(
                    "messages[{index}]: assistant `tool_calls` are not supported yet"
                )));
            }
            Ok(json!({
                "type": "message",
                "role": "assistant",
                "content": text_parts(index, content, "output_text")?,
            }))
        }
        "tool" | "function" => Err(invalid(format!(
            "messages[{index}]: `{role}` messages are not supported yet"
        ))),
        other => Err(invalid(format!(
            "messages[{index}] has an unknown role {other:?}"
        ))),
    }
}

/// A message's text as Responses content parts of `part_type`.
fn text_parts(index: usize, content: &Value, part_type: &str) -> Result<Vec<Value>, GatewayError> {
    let part = |text: &str| json!({"type": part_type, "text": text});
    match content {
        Value::String(text) => Ok(vec![part(text)]),
        Value::Null => Ok(Vec::new()),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| match (p.get("type").and_then(Value::as_str), p.get("text")) {
                (Some("text"), Some(Value::String(text))) => Ok(part(text)),
                (Some("text"), _) => Err(invalid(format!("messages[{index}].content[{j}] needs a string `text`"))),
                (Some(other), _) => Err(invalid(format!(
                    "messages[{index}].content[{j}]: content part type {other:?} is not supported yet"
                ))),
                (None, _) => Err(invalid(format!("messages[{index}].content[{j}] needs a `type`"))),
            })
            .collect(),
        _ => Err(invalid(format!("messages[{index}].content must be a string or an array of parts"))),
    }
}

fn optional_bool(request: &Map<String, Value>, name: &str) -> Result<Option<bool>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("`{name}` must be true or false"))),
    }
}

fn optional_str<'a>(
    request: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("`{name}` must be a string"))),
    }
}

fn optional_u64(request: &Map<String, Value>, name: &str) -> Result<Option<u64>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| invalid(format!("`{name}` must be a positive whole number"))),
    }
}

fn copy_number(
    request: &Map<String, Value>,
    name: &str,
    out: &mut Map<String, Value>,
    to: &str,
) -> Result<(), GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(value @ Value::Number(_)) => {
            out.insert(to.into(), value.clone());
            Ok(())
        }
        Some(_) => Err(invalid(format!("`{name}` must be a number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(request: Value) -> Result<TranslatedRequest, GatewayError> {
        translate_request(request.to_string().as_bytes())
    }

    #[test]
    fn roles_become_input_items_in_order_with_text_kept_exactly() {
        let t = translate(json!({
            "model": "openai/gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "  Be brief.\n"},
                {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "How far is the moon?"}
            ]
        }))
        .expect("valid");
        assert_eq!(t.model, "openai/gpt-4o-mini");
        assert!(!t.stream);
        assert_eq!(
            t.body,
            json!({
                "model": "openai/gpt-4o-mini",
                "stream": false,
                "input": [
                    {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "  Be brief.\n"}]},
                    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Use metric."}]},
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "Hi"}, {"type": "input_text", "text": "there"}]},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "How far is the moon?"}]}
                ]
            })
        );
    }

    #[test]
    fn sampling_and_length_parameters_are_renamed_and_nulls_never_sent() {
        let t = translate(json!({
            "model": "m", "stream": true, "temperature": 0.7, "top_p": 0.9,
            "max_tokens": 100, "max_completion_tokens": 64, "user": "u-1",
            "messages": [{"role": "user", "content": "x"}],
            "presence_penalty": null
        }))
        .expect("valid");
        assert!(t.stream);
        assert_eq!(t.body["temperature"], 0.7);
        assert_eq!(t.body["top_p"], 0.9);
        assert_eq!(
            t.body["max_output_tokens"], 64,
            "max_completion_tokens wins"
        );
        assert_eq!(t.body["user"], "u-1");
        assert!(t.body.get("max_tokens").is_none());
        assert!(
            t.body
                .as_object()
                .expect("object")
                .values()
                .all(|v| !v.is_null())
        );
    }

    #[test]
    fn bad_requests_say_which_field_is_wrong() {
        let cases = [
            (
                json!({"messages": [{"role": "user", "content": "x"}]}),
                "`model`",
            ),
            (json!({"model": "m"}), "`messages`"),
            (json!({"model": "m", "messages": []}), "`messages`"),
            (
                json!({"model": "m", "messages": [{"content": "x"}]}),
                "messages[0]",
            ),
            (
                json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
                "wizard",
            ),
            (
                json!({"model": "m", "temperature": "hot", "messages": [{"role": "user", "content": "x"}]}),
                "`temperature`",
            ),
            (
                json!({"model": "m", "max_tokens": -1, "messages": [{"role": "user", "content": "x"}]}),
                "`max_tokens`",
            ),
            (
                json!({"model": "m", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}),
                "`stream`",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
                "image_url",
            ),
            (
                json!({"model": "m", "messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]}),
                "`tool`",
            ),
        ];
        for (request, needle) in cases {
            let error = translate(request.clone()).expect_err("invalid");
            assert_eq!(error.http_status(), 400);
            assert!(error.to_string().contains(needle), "{request}: {error}");
        }
        for raw in [&b"{not json"[..], b"[1,2]", b""] {
            assert_eq!(
                translate_request(raw).expect_err("invalid").http_status(),
                400
            );
        }
    }

    #[test]
    fn the_json_entry_point_returns_the_body_or_the_reason() {
        let ok =
            translate_request_json(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
                .expect("ok");
        assert!(ok.contains("\"input_text\""));
        assert!(
            translate_request_json("{}")
                .expect_err("invalid")
                .contains("model")
        );
    }
}
