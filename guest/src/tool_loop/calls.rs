//! The function calls of a finished response, split into the ones orpipe runs (server
//! tools) and the ones the client runs. Which names are server tools is the caller's
//! predicate (`McpTools::owns` in the component), so this stays pure.

use crate::responses::{FunctionCall, OutputItem};
use serde_json::Value;

/// One `function_call` item, owned (it outlives the response it came from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub call_id: String,
    pub name: String,
    /// The arguments as the model wrote them: one JSON text, not checked here.
    pub arguments: String,
}

impl ToolCall {
    fn of(call: &FunctionCall<'_>) -> Option<Self> {
        // An output is paired with its call by the exact `call_id`: a call without one
        // cannot be answered, so it is neither run nor handed on (the continuation drops
        // it too).
        if call.call_id.trim().is_empty() {
            return None;
        }
        Some(Self {
            call_id: call.call_id.to_string(),
            name: call.name.to_string(),
            arguments: call.arguments.to_string(),
        })
    }
}

/// A response's calls, each list in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitCalls {
    pub server: Vec<ToolCall>,
    pub client: Vec<ToolCall>,
}

impl SplitCalls {
    pub fn is_empty(&self) -> bool {
        self.server.is_empty() && self.client.is_empty()
    }
}

/// The answerable `function_call` items of `output`; `is_server_tool` claims a name.
pub fn split_calls(output: &[Value], is_server_tool: impl Fn(&str) -> bool) -> SplitCalls {
    let mut split = SplitCalls::default();
    for call in output.iter().filter_map(answerable_call) {
        if is_server_tool(&call.name) {
            split.server.push(call);
        } else {
            split.client.push(call);
        }
    }
    split
}

/// The call an output item stands for, when it is a `function_call` with a call id.
pub(super) fn answerable_call(item: &Value) -> Option<ToolCall> {
    match OutputItem::of(item) {
        OutputItem::FunctionCall(call) => ToolCall::of(&call),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(call_id: &str, name: &str) -> Value {
        json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
            "name": name, "arguments": "{\"q\":1}", "status": "completed"})
    }

    #[test]
    fn calls_are_split_by_the_predicate_in_output_order() {
        let output = [
            json!({"type": "reasoning", "encrypted_content": "x"}),
            call("c1", "docs__search"),
            json!({"type": "message", "role": "assistant", "content": []}),
            call("c2", "get_weather"),
            call("c3", "calc__add"),
        ];
        let split = split_calls(&output, |name| name.contains("__"));
        let ids = |calls: &[ToolCall]| calls.iter().map(|c| c.call_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&split.server), ["c1", "c3"]);
        assert_eq!(ids(&split.client), ["c2"]);
        assert_eq!(
            split.server.first().map(|c| c.arguments.as_str()),
            Some("{\"q\":1}")
        );
    }

    #[test]
    fn no_calls_is_empty() {
        let output = [
            json!({"type": "message", "content": []}),
            json!("odd"),
            json!(null),
        ];
        assert!(split_calls(&output, |_| true).is_empty());
    }

    #[test]
    fn calls_without_a_call_id_or_of_a_wrong_shape_are_ignored() {
        let output = [
            json!({"type": "function_call", "name": "a", "arguments": "{}"}),
            json!({"type": "function_call", "call_id": "  ", "name": "a"}),
            json!({"type": "function_call", "call_id": "c", "name": 7}),
            json!({"type": "function_call", "call_id": "c9", "name": "a"}),
        ];
        let split = split_calls(&output, |_| true);
        assert_eq!(
            split.server,
            [ToolCall {
                call_id: "c9".into(),
                name: "a".into(),
                arguments: String::new(),
            }]
        );
    }
}
