//! The next round's Responses request: the previous request body with the response's
//! output items and the server calls' outputs appended to its `input`, in the order the
//! original pipe used (FEATURES §6.3): reasoning that carries `encrypted_content`, the
//! assistant's messages, the `function_call` items, then one `function_call_output` per
//! call. Everything else in the body (model, tools, instructions, …) is kept. Pure.

use super::calls::{ToolCall, answerable_call};
use super::notices::skipped_call_output;
use super::outputs::output_item;
use crate::responses::{OutputItem, valid};
use serde_json::{Map, Value, json};

/// Appends `output` (the finished response's output items) and `call_outputs` (the
/// `function_call_output` items of its server calls, in call order) to `body`'s `input`.
pub fn next_round(body: &mut Map<String, Value>, output: &[Value], call_outputs: Vec<Value>) {
    let mut input = take_input(body);
    input.extend(output.iter().filter(|item| carried(item)).cloned());
    input.extend(call_outputs);
    body.insert("input".into(), Value::Array(input));
    release_forced_tool_choice(body);
}

/// The request after the round limit: the calls in `skipped` are answered with a stub
/// that says they were not run, and the model may call no tool (`tool_choice: none`; the
/// tools stay listed, as some providers refuse tool items in the input without them).
pub fn synthesis_round(
    body: &mut Map<String, Value>,
    output: &[Value],
    skipped: &[ToolCall],
    max_rounds: u32,
) {
    let stub = skipped_call_output(max_rounds);
    let outputs = skipped
        .iter()
        .map(|call| output_item(&call.call_id, stub.clone()))
        .collect();
    next_round(body, output, outputs);
    body.insert("tool_choice".into(), json!("none"));
}

/// The current `input` as a list; a plain string is the user's message.
fn take_input(body: &mut Map<String, Value>) -> Vec<Value> {
    match body.remove("input") {
        Some(Value::Array(items)) => items,
        Some(Value::String(text)) => {
            vec![json!({"type": "message", "role": "user", "content": text})]
        }
        _ => Vec::new(),
    }
}

/// Whether an output item goes into the next input. Reasoning without `encrypted_content`
/// is only text the model cannot use again; OpenRouter's own tool items (web search, …)
/// are not replayable (see `to_responses::pairs`); a call without a call id cannot be
/// paired with an output.
fn carried(item: &Value) -> bool {
    match OutputItem::of(item) {
        OutputItem::Message(_) => true,
        OutputItem::Reasoning(reasoning) => {
            valid(&reasoning.encrypted_content).is_some_and(|content| !content.is_empty())
        }
        OutputItem::FunctionCall(_) => answerable_call(item).is_some(),
        OutputItem::WebSearch(_)
        | OutputItem::Image(_)
        | OutputItem::ServerTool(_)
        | OutputItem::Unknown => false,
    }
}

/// A client's `tool_choice` of `required` or one named function would make every round
/// call a tool again: after the first round the model chooses.
fn release_forced_tool_choice(body: &mut Map<String, Value>) {
    let forced = match body.get("tool_choice") {
        Some(Value::String(choice)) => choice == "required",
        Some(Value::Object(_)) => true,
        _ => false,
    };
    if forced {
        body.insert("tool_choice".into(), json!("auto"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn call_item(call_id: &str) -> Value {
        json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
            "name": "docs__search", "arguments": "{}", "status": "completed"})
    }

    #[test]
    fn the_output_and_the_call_outputs_follow_the_previous_input() {
        let mut request = body(
            json!({"model": "m", "stream": true, "tools": [{"type": "function"}],
            "input": [{"type": "message", "role": "user", "content": "hi"}]}),
        );
        let reasoning = json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAA",
            "summary": []});
        let message = json!({"type": "message", "role": "assistant", "id": "msg_1",
            "content": [{"type": "output_text", "text": "Looking."}]});
        let output = [
            reasoning.clone(),
            message.clone(),
            call_item("c1"),
            call_item("c2"),
        ];
        let outputs = vec![
            output_item("c1", "one".into()),
            output_item("c2", "two".into()),
        ];
        next_round(&mut request, &output, outputs.clone());
        let expected = [
            vec![json!({"type": "message", "role": "user", "content": "hi"})],
            output.to_vec(),
            outputs,
        ]
        .concat();
        assert_eq!(request.get("input"), Some(&Value::Array(expected)));
        assert_eq!(request.get("model"), Some(&json!("m")));
        assert_eq!(request.get("tools"), Some(&json!([{"type": "function"}])));
    }

    #[test]
    fn items_the_next_round_cannot_use_are_left_out() {
        let mut request = body(json!({"input": []}));
        let output = [
            json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "x"}]}),
            json!({"type": "reasoning", "encrypted_content": ""}),
            json!({"type": "openrouter:web_search", "status": "completed"}),
            json!({"type": "web_search_call", "action": {"query": "q"}}),
            json!({"type": "image_generation_call", "result": "AAAA"}),
            json!({"type": "function_call", "name": "f", "arguments": "{}"}),
            json!({"type": "something_new"}),
            call_item("c1"),
        ];
        next_round(&mut request, &output, Vec::new());
        assert_eq!(request.get("input"), Some(&json!([call_item("c1")])));
    }

    #[test]
    fn a_string_or_missing_input_becomes_a_list() {
        let mut request = body(json!({"input": "hello"}));
        next_round(&mut request, &[], vec![output_item("c", "x".into())]);
        assert_eq!(
            request.get("input"),
            Some(
                &json!([{"type": "message", "role": "user", "content": "hello"},
                {"type": "function_call_output", "call_id": "c", "output": "x"}])
            )
        );
        let mut request = body(json!({"model": "m"}));
        next_round(&mut request, &[], Vec::new());
        assert_eq!(request.get("input"), Some(&json!([])));
    }

    #[test]
    fn a_forced_tool_choice_is_released_after_the_first_round() {
        for forced in [
            json!("required"),
            json!({"type": "function", "name": "docs__search"}),
        ] {
            let mut request = body(json!({"input": [], "tool_choice": forced}));
            next_round(&mut request, &[], Vec::new());
            assert_eq!(request.get("tool_choice"), Some(&json!("auto")), "{forced}");
        }
        for kept in [json!("auto"), json!("none")] {
            let mut request = body(json!({"input": [], "tool_choice": kept}));
            next_round(&mut request, &[], Vec::new());
            assert_eq!(request.get("tool_choice"), Some(&kept));
        }
        let mut request = body(json!({"input": []}));
        next_round(&mut request, &[], Vec::new());
        assert_eq!(request.get("tool_choice"), None, "not added when absent");
    }

    #[test]
    fn the_synthesis_round_answers_skipped_calls_with_the_stub_and_offers_no_tool() {
        let mut request = body(json!({"input": [], "tool_choice": "required",
            "tools": [{"type": "function", "name": "docs__search"}]}));
        let skipped = [ToolCall {
            call_id: "c1".into(),
            name: "docs__search".into(),
            arguments: "{}".into(),
        }];
        synthesis_round(&mut request, &[call_item("c1")], &skipped, 4);
        assert_eq!(
            request.get("input"),
            Some(&json!([
                call_item("c1"),
                output_item("c1", skipped_call_output(4))
            ]))
        );
        assert_eq!(request.get("tool_choice"), Some(&json!("none")));
        assert!(request.get("tools").is_some(), "the tools stay listed");
    }
}
