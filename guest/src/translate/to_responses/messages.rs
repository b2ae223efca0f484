//! Chat Completions `messages[]` → Responses `input[]` items (FEATURES §4.1).
//!
//! | message | items |
//! |---|---|
//! | `system` / `developer` | a message with that role and `input_text` parts, text byte for byte (a string `""` still gives one empty part) |
//! | `user` | a message with input parts (see `parts`) |
//! | `assistant` | its text as a message of `output_text` parts (if any), then one `function_call` per `tool_calls` entry |
//! | `tool` | a `function_call_output` for `tool_call_id` (or `id`, `call_id`); without any call id it is skipped |
//!
//! Hidden marker lines (see `markers`) never reach the model: in an assistant message each
//! artifact marker becomes the stored item it names (from `Replay`), put back where it
//! stood in the turn (`assistant_replay`), and in every other message markers are removed
//! as text (a user may paste them).
//!
//! A message with no content parts is skipped. Call ids a client left out are made up as
//! `call_<ULID>_<index>`; outputs get `fc_output_<ULID>` ids (see `ids`). Pairing calls with
//! outputs is `pairs`' job. The deprecated `functions` API (`function` messages, an
//! assistant `function_call`) is refused with a pointer to `tools`.

use super::assistant_replay::replayed_assistant_items;
use super::ids;
use super::invalid;
use super::parts::{PartContext, translate_part};
use crate::errors::GatewayError;
use crate::markers;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::HashMap;

/// Stored items for the markers in a request's history, by artifact id, ready to insert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    pub items: HashMap<String, Value>,
    /// The model takes `phase` on assistant messages: phase markers split the text into
    /// messages with their phase instead of being stripped.
    pub phases: bool,
}

/// Every message's items, in conversation order (before `pairs::sanitize_input`).
pub fn messages_to_input(messages: &[Value], replay: &Replay) -> Result<Vec<Value>, GatewayError> {
    let mut items = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let Value::Object(message) = message else {
            return Err(invalid(format!("messages[{index}] must be an object")));
        };
        let role = match message.get("role") {
            Some(Value::String(role)) => role.as_str(),
            _ => return Err(invalid(format!("messages[{index}] needs a string `role`"))),
        };
        match role {
            "system" | "developer" => {
                items.extend(content_message(
                    index,
                    message,
                    role,
                    PartContext::Instructions,
                )?);
            }
            "user" => items.extend(content_message(
                index,
                message,
                role,
                PartContext::UserInput,
            )?),
            "assistant" => assistant_items(index, message, replay, &mut items)?,
            "tool" => items.extend(tool_output(index, message)?),
            "function" => {
                return Err(invalid(format!(
                    "messages[{index}]: `function` messages belong to the deprecated functions API; send `tools`, assistant `tool_calls` and `tool` messages instead"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "messages[{index}] has an unknown role {other:?}"
                )));
            }
        }
    }
    Ok(items)
}

/// A `message` item for `role`, or nothing when the message has no parts.
fn content_message(
    index: usize,
    message: &Map<String, Value>,
    role: &str,
    context: PartContext,
) -> Result<Option<Value>, GatewayError> {
    let parts = content_parts(index, message, context)?;
    if parts.is_empty() {
        return Ok(None);
    }
    // Built by hand: `json!` would serialize (deep-copy) `parts`, which can hold a
    // ~60 MiB inline image.
    let mut item = Map::new();
    item.insert("type".into(), Value::from("message"));
    item.insert("role".into(), Value::from(role));
    item.insert("content".into(), Value::Array(parts));
    Ok(Some(Value::Object(item)))
}

fn content_parts(
    index: usize,
    message: &Map<String, Value>,
    context: PartContext,
) -> Result<Vec<Value>, GatewayError> {
    match message.get("content") {
        None | Some(Value::Null) => Ok(Vec::new()),
        // An assistant's empty text (as sent alongside `tool_calls`) is no message at all;
        // elsewhere an empty string is kept as sent.
        Some(Value::String(text)) if text.is_empty() && context == PartContext::Assistant => {
            Ok(Vec::new())
        }
        Some(text @ Value::String(_)) => Ok(vec![translate_part(
            &format!("messages[{index}].content"),
            &without_markers(text),
            context,
        )?]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| {
                translate_part(
                    &format!("messages[{index}].content[{j}]"),
                    &without_markers(part),
                    context,
                )
            })
            .collect(),
        Some(_) => Err(invalid(format!(
            "messages[{index}].content must be a string or an array of parts"
        ))),
    }
}

/// A string or text part with its marker lines removed (borrowed when it has none).
fn without_markers(part: &Value) -> Cow<'_, Value> {
    let hidden = |text: &str| text.contains("]: #");
    match part {
        Value::String(text) if hidden(text) => Cow::Owned(Value::String(markers::strip(text))),
        Value::Object(fields)
            if fields.get("type").and_then(Value::as_str) == Some("text")
                && fields
                    .get("text")
                    .and_then(Value::as_str)
                    .is_some_and(hidden) =>
        {
            let mut fields = fields.clone();
            if let Some(Value::String(text)) = fields.get_mut("text") {
                *text = markers::strip(text);
            }
            Cow::Owned(Value::Object(fields))
        }
        _ => Cow::Borrowed(part),
    }
}

/// The whole text of an assistant message whose content is text only (a string or text
/// parts), when it holds hidden marker lines.
fn assistant_text_with_markers(message: &Map<String, Value>) -> Option<String> {
    let text = match message.get("content")? {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(
                |p| match (p.get("type").and_then(Value::as_str), p.get("text")) {
                    (Some("text"), Some(Value::String(text))) => Some(text.as_str()),
                    _ => None,
                },
            )
            .collect::<Option<String>>()?,
        _ => return None,
    };
    text.contains("]: #").then_some(text)
}

/// The assistant's text first, then its tool calls (the order the model produced them).
fn assistant_items(
    index: usize,
    message: &Map<String, Value>,
    replay: &Replay,
    items: &mut Vec<Value>,
) -> Result<(), GatewayError> {
    if message.get("function_call").is_some_and(|f| !f.is_null()) {
        return Err(invalid(format!(
            "messages[{index}]: assistant `function_call` belongs to the deprecated functions API; send `tool_calls` instead"
        )));
    }
    match assistant_text_with_markers(message) {
        Some(text) => replayed_assistant_items(&text, replay, items),
        None => items.extend(content_message(
            index,
            message,
            "assistant",
            PartContext::Assistant,
        )?),
    }
    match message.get("tool_calls") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                items.push(function_call(index, j, call)?);
            }
            Ok(())
        }
        Some(_) => Err(invalid(format!(
            "messages[{index}].tool_calls must be an array"
        ))),
    }
}

fn function_call(index: usize, j: usize, call: &Value) -> Result<Value, GatewayError> {
    let at = format!("messages[{index}].tool_calls[{j}]");
    let Value::Object(call) = call else {
        return Err(invalid(format!("{at} must be an object")));
    };
    match call.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "function" => {}
        Some(other) => {
            return Err(invalid(format!(
                "{at}: only `function` tool calls can be sent, not {other}"
            )));
        }
    }
    let call_id = match call.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => ids::missing_call_id(index, j),
    };
    let Some(Value::Object(function)) = call.get("function") else {
        return Err(invalid(format!("{at} needs a `function` object")));
    };
    let name = match function.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim(),
        _ => return Err(invalid(format!("{at}.function needs a `name`"))),
    };
    let arguments = match function.get("arguments") {
        Some(Value::String(arguments)) => arguments.clone(),
        None | Some(Value::Null) => "{}".to_owned(),
        // Some clients send the parsed object; Responses wants the JSON text.
        Some(other) => other.to_string(),
    };
    Ok(json!({
        "type": "function_call",
        "id": call_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }))
}

fn tool_output(index: usize, message: &Map<String, Value>) -> Result<Option<Value>, GatewayError> {
    let call_id =
        ["tool_call_id", "id", "call_id"]
            .iter()
            .find_map(|key| match message.get(*key) {
                Some(Value::String(id)) if !id.trim().is_empty() => Some(id.trim()),
                _ => None,
            });
    // The original skips outputs nothing can be paired with.
    let Some(call_id) = call_id else {
        return Ok(None);
    };
    let output = tool_output_value(index, message.get("content"))?;
    Ok(Some(json!({
        "type": "function_call_output",
        "id": ids::function_call_output_id(call_id, index),
        "call_id": call_id,
        "output": output,
    })))
}

/// A string stays a string; text parts are joined (as Chat Completions reads them); parts
/// with images or files become a Responses part array; other JSON is sent as its text.
fn tool_output_value(index: usize, content: Option<&Value>) -> Result<Value, GatewayError> {
    match content {
        None | Some(Value::Null) => Ok(json!("")),
        Some(text @ Value::String(_)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let translated = parts
                .iter()
                .enumerate()
                .map(|(j, part)| {
                    translate_part(
                        &format!("messages[{index}].content[{j}]"),
                        part,
                        PartContext::UserInput,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let texts: Option<Vec<&str>> = translated
                .iter()
                .map(|part| match (part.get("type"), part.get("text")) {
                    (Some(kind), Some(Value::String(text))) if kind == "input_text" => {
                        Some(text.as_str())
                    }
                    _ => None,
                })
                .collect();
            Ok(match texts {
                Some(texts) => json!(texts.concat()),
                None => Value::Array(translated),
            })
        }
        Some(other) => Ok(json!(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(messages: Value) -> Result<Vec<Value>, GatewayError> {
        messages_to_input(messages.as_array().expect("array"), &Replay::default())
    }

    /// Replaces each `fc_output_<ULID>` id by a placeholder after checking its format.
    fn redact_output_ids(items: &mut [Value]) {
        for item in items {
            if let Some(Value::String(id)) = item.get_mut("id")
                && let Some(suffix) = id.strip_prefix("fc_output_")
            {
                assert!(ids::is_ulid_like(suffix), "{id}");
                *id = "fc_output_<ULID>".to_owned();
            }
        }
    }

    /// FEATURES §11.2 C1.
    #[test]
    fn c1_plain_conversation() {
        let items = input(json!([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"}, {"role": "user", "content": [{"type": "text", "text": "And 3+3?"}]}]))
        .expect("valid");
        assert_eq!(
            Value::Array(items),
            json!([{"type": "message", "role": "system", "content": [{"type": "input_text", "text": "You are terse."}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is 2+2?"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "4"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And 3+3?"}]}])
        );
    }

    /// FEATURES §11.2 C2 (the output id is `fc_output_<ULID>`; its format is asserted).
    #[test]
    fn c2_assistant_tool_calls_and_tool_result() {
        let mut items = input(json!([{"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C sunny"},
            {"role": "assistant", "content": "It is 18C and sunny."}]))
        .expect("valid");
        redact_output_ids(&mut items);
        assert_eq!(
            Value::Array(items),
            json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
                {"type": "function_call", "id": "call_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"},
                {"type": "function_call_output", "id": "fc_output_<ULID>", "call_id": "call_1", "output": "18C sunny"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It is 18C and sunny."}]}])
        );
    }

    #[test]
    fn assistant_text_comes_before_its_calls_and_call_shapes_are_normalized() {
        let items = input(
            json!([{"role": "assistant", "content": [{"type": "text", "text": "Let me check."}],
            "function_call": null,
            "tool_calls": [
                {"type": "function", "function": {"name": "a", "arguments": {"x": 1}}},
                {"id": " call_b ", "function": {"name": "b"}}]}]),
        )
        .expect("valid");
        let made_up = ids::missing_call_id(0, 0);
        assert_eq!(
            Value::Array(items),
            json!([{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
                {"type": "function_call", "id": made_up, "call_id": made_up, "name": "a", "arguments": "{\"x\":1}"},
                {"type": "function_call", "id": "call_b", "call_id": "call_b", "name": "b", "arguments": "{}"}])
        );
    }

    #[test]
    fn tool_outputs_keep_strings_join_text_parts_and_keep_media_parts() {
        let items = input(json!([
            {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "1"}, {"type": "text", "text": "2"}]},
            {"role": "tool", "id": "b", "content": [{"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://x.test/p.png"}}]},
            {"role": "tool", "call_id": "c", "content": null},
            {"role": "tool", "tool_call_id": "d", "content": {"ok": true}},
            {"role": "tool", "content": "no call id: skipped"}]))
        .expect("valid");
        let outputs: Vec<(&Value, &Value)> = items
            .iter()
            .map(|i| (&i["call_id"], &i["output"]))
            .collect();
        assert_eq!(
            outputs,
            vec![
                (&json!("a"), &json!("12")),
                (
                    &json!("b"),
                    &json!([{"type": "input_text", "text": "see"},
                    {"type": "input_image", "image_url": "https://x.test/p.png", "detail": "auto"}])
                ),
                (&json!("c"), &json!("")),
                (&json!("d"), &json!("{\"ok\":true}")),
            ]
        );
    }

    #[test]
    fn empty_messages_are_skipped_but_an_empty_system_string_is_kept() {
        let items = input(
            json!([{"role": "system", "content": ""}, {"role": "developer", "content": []},
            {"role": "assistant", "content": null}, {"role": "assistant", "content": ""},
            {"role": "user", "content": "x", "name": "ignored"}]),
        )
        .expect("valid");
        assert_eq!(
            Value::Array(items),
            json!([{"type": "message", "role": "system", "content": [{"type": "input_text", "text": ""}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}])
        );
    }

    #[test]
    fn malformed_messages_are_refused_with_their_index() {
        let cases = [
            (json!(["x"]), "messages[0] must be an object"),
            (
                json!([{"content": "x"}]),
                "messages[0] needs a string `role`",
            ),
            (json!([{"role": "wizard"}]), "\"wizard\""),
            (
                json!([{"role": "function", "name": "f", "content": "x"}]),
                "deprecated functions API",
            ),
            (
                json!([{"role": "assistant", "function_call": {"name": "f"}}]),
                "deprecated functions API",
            ),
            (
                json!([{"role": "user", "content": 5}]),
                "messages[0].content must be",
            ),
            (
                json!([{"role": "assistant", "tool_calls": {}}]),
                "tool_calls must be an array",
            ),
            (
                json!([{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}]),
                "only `function`",
            ),
            (
                json!([{"role": "assistant", "tool_calls": [{"id": "c"}]}]),
                "`function` object",
            ),
            (
                json!([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": " "}}]}]),
                "needs a `name`",
            ),
            (
                json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]),
                "messages[0].content[0]",
            ),
        ];
        for (messages, needle) in cases {
            let error = input(messages.clone()).expect_err("invalid");
            assert!(error.to_string().contains(needle), "{messages}: {error}");
        }
    }
}
