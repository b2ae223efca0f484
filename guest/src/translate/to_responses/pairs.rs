//! The last step before sending `input[]` (the original's sanitizer, FEATURES §4.6): drop
//! items OpenRouter cannot replay, minimize tool items, and repair call/output pairs so
//! the provider never sees an output without its call or a forgotten call.
//!
//! Pair repair, per `call_id` (the k-th output answers the k-th call):
//! * an output with no call is dropped, as are outputs beyond the number of calls;
//! * an output that comes **before** its call (out of order) is moved right after the call;
//! * a call with no output that comes before the last user message (an interior orphan:
//!   a later turn started without its result) gets the stub output
//!   `[Tool output unavailable -- not recorded in conversation history.]` right after it;
//! * a call with no output after the last user message is the current turn's pending call
//!   and is left alone.
//!
//! Pure; never fails: it only removes or adds items.

use serde_json::{Value, json};
use std::collections::HashMap;

/// The stub output for an interior call whose result the conversation lost.
pub const ORPHAN_STUB_OUTPUT: &str =
    "[Tool output unavailable -- not recorded in conversation history.]";

/// Item types the original never replays (their content is already in the text).
const NON_REPLAYABLE: &[&str] = &[
    "image_generation_call",
    "openrouter:image_generation",
    "openrouter:web_search",
    "openrouter:web_fetch",
    "openrouter:datetime",
    "web_search_call",
    "file_search_call",
    "local_shell_call",
];

pub fn sanitize_input(items: Vec<Value>) -> Vec<Value> {
    let minimized = items
        .into_iter()
        .filter(|item| !NON_REPLAYABLE.contains(&item_type(item)))
        .filter_map(minimize)
        .collect();
    repair_pairs(minimized)
}

fn item_type(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn call_id(item: &Value) -> Option<&str> {
    item.get("call_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// `function_call` → `{type, call_id, name, arguments}`; `function_call_output` →
/// `{type, call_id, output}`: the portable shapes every provider accepts. A tool item
/// without a usable call id cannot be paired and is dropped.
fn minimize(item: Value) -> Option<Value> {
    match item_type(&item) {
        "function_call" => {
            let id = call_id(&item).or_else(|| {
                item.get("id")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
            })?;
            let name = item.get("name").and_then(Value::as_str)?.trim();
            let arguments = match item.get("arguments") {
                Some(Value::String(arguments)) => arguments.clone(),
                None | Some(Value::Null) => "{}".to_owned(),
                Some(other) => other.to_string(),
            };
            Some(
                json!({"type": "function_call", "call_id": id, "name": name, "arguments": arguments}),
            )
        }
        "function_call_output" => {
            let id = call_id(&item)?;
            let output = match item.get("output") {
                Some(output @ (Value::String(_) | Value::Array(_))) => output.clone(),
                None | Some(Value::Null) => json!(""),
                Some(other) => json!(other.to_string()),
            };
            Some(json!({"type": "function_call_output", "call_id": id, "output": output}))
        }
        _ => Some(item),
    }
}

/// What happens to each item position.
enum Fate {
    Keep,
    Drop,
    /// A call followed by this output (moved from earlier, or a stub).
    KeepThenAppend(Value),
}

fn repair_pairs(items: Vec<Value>) -> Vec<Value> {
    let last_user = items.iter().rposition(|item| {
        item_type(item) == "message" && item.get("role").is_some_and(|r| r == "user")
    });
    let mut calls: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut outputs: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        match (item_type(item), call_id(item)) {
            ("function_call", Some(id)) => calls.entry(id).or_default().push(i),
            ("function_call_output", Some(id)) => outputs.entry(id).or_default().push(i),
            _ => {}
        }
    }
    let mut fates: Vec<Fate> = items.iter().map(|_| Fate::Keep).collect();
    for (id, output_positions) in &outputs {
        let call_positions = calls.get(id).map(Vec::as_slice).unwrap_or_default();
        for (k, &output_at) in output_positions.iter().enumerate() {
            match call_positions.get(k) {
                None => set_fate(&mut fates, output_at, Fate::Drop),
                Some(&call_at) if output_at < call_at => {
                    let moved = items.get(output_at).cloned().unwrap_or(Value::Null);
                    set_fate(&mut fates, output_at, Fate::Drop);
                    set_fate(&mut fates, call_at, Fate::KeepThenAppend(moved));
                }
                Some(_) => {}
            }
        }
    }
    for (id, call_positions) in &calls {
        let answered = outputs.get(id).map_or(0, Vec::len);
        for &call_at in call_positions.iter().skip(answered) {
            if last_user.is_some_and(|user_at| call_at < user_at) {
                let stub = json!({"type": "function_call_output", "call_id": id, "output": ORPHAN_STUB_OUTPUT});
                set_fate(&mut fates, call_at, Fate::KeepThenAppend(stub));
            }
        }
    }
    let mut repaired = Vec::with_capacity(items.len());
    for (item, fate) in items.into_iter().zip(fates) {
        match fate {
            Fate::Keep => repaired.push(item),
            Fate::Drop => {}
            Fate::KeepThenAppend(output) => {
                repaired.push(item);
                repaired.push(output);
            }
        }
    }
    repaired
}

fn set_fate(fates: &mut [Fate], at: usize, fate: Fate) {
    if let Some(slot) = fates.get_mut(at) {
        *slot = fate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }
    fn call(id: &str) -> Value {
        json!({"type": "function_call", "call_id": id, "name": "f", "arguments": "{}"})
    }
    fn output(id: &str, text: &str) -> Value {
        json!({"type": "function_call_output", "call_id": id, "output": text})
    }
    fn stub(id: &str) -> Value {
        output(id, ORPHAN_STUB_OUTPUT)
    }

    /// FEATURES §11.2 C4.
    #[test]
    fn c4_sanitizer_minimizes_replayed_items_and_drops_non_replayable() {
        let input = json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather"}], "encrypted_content": "gAAAA...", "content": [], "status": "completed"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_9", "output": "-2C snow", "id": "X", "status": "completed"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {}}]);
        let expected = json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather"}], "encrypted_content": "gAAAA...", "content": [], "status": "completed"},
            {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "-2C snow"}]);
        let items = input.as_array().expect("array").clone();
        assert_eq!(Value::Array(sanitize_input(items)), expected);
    }

    /// FEATURES §4.6 step 5 (the original's case p1) and §4.1's orphans, plus out-of-order pairs.
    #[test]
    fn orphan_and_out_of_order_pairs_are_repaired() {
        let cases: Vec<(&str, Vec<Value>, Vec<Value>)> = vec![
            (
                "an interior unanswered call gets the stub right after it",
                vec![
                    user("a"),
                    call("c1"),
                    call("c2"),
                    output("c2", "ok"),
                    user("b"),
                ],
                vec![
                    user("a"),
                    call("c1"),
                    stub("c1"),
                    call("c2"),
                    output("c2", "ok"),
                    user("b"),
                ],
            ),
            (
                "a trailing unanswered call (current turn) is left alone",
                vec![user("a"), call("c1")],
                vec![user("a"), call("c1")],
            ),
            (
                "an output without a call is dropped",
                vec![user("a"), output("ghost", "x"), user("b")],
                vec![user("a"), user("b")],
            ),
            (
                "an output before its call is moved right after the call",
                vec![user("a"), output("c1", "early"), call("c1"), user("b")],
                vec![user("a"), call("c1"), output("c1", "early"), user("b")],
            ),
            (
                "surplus outputs for one call are dropped",
                vec![
                    user("a"),
                    call("c1"),
                    output("c1", "one"),
                    output("c1", "two"),
                ],
                vec![user("a"), call("c1"), output("c1", "one")],
            ),
            (
                "a reused call id pairs in order; the second interior call gets a stub",
                vec![
                    user("a"),
                    call("c1"),
                    output("c1", "one"),
                    call("c1"),
                    user("b"),
                ],
                vec![
                    user("a"),
                    call("c1"),
                    output("c1", "one"),
                    call("c1"),
                    stub("c1"),
                    user("b"),
                ],
            ),
            (
                "a call without a user message after it is left alone even with none before",
                vec![call("c1")],
                vec![call("c1")],
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(sanitize_input(input), expected, "{name}");
        }
    }

    #[test]
    fn tool_items_without_usable_ids_are_dropped_and_others_kept() {
        let items = vec![
            json!({"type": "function_call", "id": "fc_only", "name": "f", "arguments": {"a": 1}}),
            json!({"type": "function_call", "call_id": "c", "arguments": "{}"}),
            json!({"type": "function_call_output", "output": "x"}),
            json!({"type": "reasoning", "id": "rs", "summary": []}),
        ];
        assert_eq!(
            sanitize_input(items),
            vec![
                json!({"type": "function_call", "call_id": "fc_only", "name": "f", "arguments": "{\"a\":1}"}),
                json!({"type": "reasoning", "id": "rs", "summary": []}),
            ]
        );
    }
}
