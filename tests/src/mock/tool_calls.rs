//! A model that calls tools when the prompt tells it to, for the tests of the tools orpipe
//! runs itself (issue 10). The contract the tool-loop tests rely on:
//!
//! - `function_call_output` items after the last user message: the model answers the text
//!   `Tool results: <out1> | <out2> | …` (those outputs, in order).
//! - Else the last user message's cues `[mock:call <name-part> <json-args>]` (arguments
//!   without `]`; none given: `{}`) become one `function_call` each, in order. The name is
//!   the first offered function tool whose name contains `<name-part>`, else `<name-part>`
//!   itself (a model calling a tool it was not offered); the arguments are sent as written,
//!   valid JSON or not; `call_id`s are `call_<n>`, unique across all answers.
//! - `[mock:loop]` in the last user message: a model that never stops. After tool
//!   results it calls the first cue's tool again, until the request says
//!   `tool_choice: "none"`; then (results or not) it answers `Stopped calling tools.`.
//! - Anything else: `None`, so the mock's usual reply answers.
//!
//! Every answer reports the same usage (10 in, 5 out, 15 total, $0.001), so a test can sum
//! rounds. `tool_stream.rs` renders the answer as a stream or a whole response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::tool_stream;
use super::{MockOpenRouter, ReplyChooser};

/// What the looping model says once it is told not to call tools any more.
pub const LOOP_STOPPED_TEXT: &str = "Stopped calling tools.";
/// How the model's answer to tool results starts.
pub const TOOL_RESULTS_PREFIX: &str = "Tool results: ";
const LOOP_CUE: &str = "[mock:loop]";
const CALL_CUE: &str = "[mock:call";

/// The chooser for [`MockOpenRouter::set_reply_chooser`] implementing the module's contract.
pub fn tool_calling_chooser() -> ReplyChooser {
    Arc::new(|request| {
        let request = request?;
        let turn = plan(request)?;
        Some(tool_stream::reply(&turn, request))
    })
}

impl MockOpenRouter {
    /// `/responses` answers like a model that calls tools on cue (`tool_calls.rs`); queued
    /// replies still come first.
    pub fn answer_tool_calls(&self) {
        self.set_reply_chooser(tool_calling_chooser());
    }
}

/// What the model does in one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Turn {
    Call(Vec<PlannedCall>),
    Say(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedCall {
    pub(crate) name: String,
    pub(crate) call_id: String,
    pub(crate) arguments: String,
}

/// One `[mock:call …]` cue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cue {
    name_part: String,
    arguments: String,
}

/// The model's turn for this request, or `None` when no rule applies.
pub(crate) fn plan(request: &Value) -> Option<Turn> {
    let input = request.get("input")?;
    let (user_text, after_user) = split_at_last_user(input);
    let cues = parse_cues(&user_text);
    let outputs = tool_outputs(after_user);
    if user_text.contains(LOOP_CUE) {
        if request.get("tool_choice").and_then(Value::as_str) == Some("none") {
            return Some(Turn::Say(LOOP_STOPPED_TEXT.to_owned()));
        }
        if let (false, Some(first)) = (outputs.is_empty(), cues.first()) {
            return Some(Turn::Call(vec![call_for(first, request)]));
        }
    }
    if !outputs.is_empty() {
        return Some(Turn::Say(format!(
            "{TOOL_RESULTS_PREFIX}{}",
            outputs.join(" | ")
        )));
    }
    if cues.is_empty() {
        return None;
    }
    Some(Turn::Call(
        cues.iter().map(|cue| call_for(cue, request)).collect(),
    ))
}

/// The text of the last user message and the items after it. A string `input` is one
/// user message; without any user message every item counts as "after".
fn split_at_last_user(input: &Value) -> (String, &[Value]) {
    let items = match input {
        Value::String(text) => return (text.clone(), &[]),
        Value::Array(items) => items.as_slice(),
        _ => return (String::new(), &[]),
    };
    let last_user = items
        .iter()
        .rposition(|item| item.get("role").and_then(Value::as_str) == Some("user"));
    match last_user {
        Some(index) => {
            let text = items
                .get(index)
                .and_then(|item| item.get("content"))
                .map(content_text)
                .unwrap_or_default();
            (text, items.get(index + 1..).unwrap_or_default())
        }
        None => (String::new(), items),
    }
}

/// A message's content (or a tool output): a string, or the `text` of its parts joined by
/// newlines.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The `output` of every `function_call_output` item, in order.
fn tool_outputs(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("function_call_output"))
        .map(|item| item.get("output").map(content_text).unwrap_or_default())
        .collect()
}

/// Every `[mock:call <name-part> <json-args>]` in `text`, in order. A cue without a name
/// or without its closing `]` is ignored.
pub(crate) fn parse_cues(text: &str) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(CALL_CUE) {
        let after = rest.get(start + CALL_CUE.len()..).unwrap_or_default();
        let Some(end) = after.find(']') else {
            break;
        };
        rest = after.get(end + 1..).unwrap_or_default();
        let body = after.get(..end).unwrap_or_default();
        // `[mock:callx …]` is not a cue: the name must be set apart by white space.
        if !body.starts_with(char::is_whitespace) {
            continue;
        }
        let body = body.trim_start();
        let (name_part, arguments) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        if name_part.is_empty() {
            continue;
        }
        let arguments = arguments.trim();
        cues.push(Cue {
            name_part: name_part.to_owned(),
            arguments: if arguments.is_empty() {
                "{}".to_owned()
            } else {
                arguments.to_owned()
            },
        });
    }
    cues
}

/// The call a cue stands for, under the first offered function name containing its part.
fn call_for(cue: &Cue, request: &Value) -> PlannedCall {
    let name = offered_functions(request)
        .into_iter()
        .find(|name| name.contains(&cue.name_part))
        .unwrap_or(cue.name_part.as_str())
        .to_owned();
    PlannedCall {
        name,
        call_id: next_call_id(),
        arguments: cue.arguments.clone(),
    }
}

/// The `name` of each `{"type": "function"}` entry of the request's `tools`.
fn offered_functions(request: &Value) -> Vec<&str> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter(|tool| tool.get("type").and_then(Value::as_str) == Some("function"))
                .filter_map(|tool| tool.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn next_call_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    format!("call_{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    fn output(call_id: &str, text: &str) -> Value {
        json!({"type": "function_call_output", "call_id": call_id, "output": text})
    }

    fn calls(turn: Option<Turn>) -> Vec<(String, String)> {
        match turn {
            Some(Turn::Call(calls)) => calls.into_iter().map(|c| (c.name, c.arguments)).collect(),
            other => panic!("expected calls, got {other:?}"),
        }
    }

    const TOOLS: &str = r#"[{"type":"web_search"},{"type":"function","name":"kb__search"},
                            {"type":"function","name":"calc__add"},{"type":"function","name":"calc__add_many"}]"#;

    #[test]
    fn cues_are_read_in_order_with_their_arguments() {
        let cues = parse_cues(
            "first [mock:call add {\"a\": 1, \"b\": 2}] then [mock:call  search {\"q\":\"x y\"} ] \
             and [mock:call bare] but not [mock:callx {}] nor [mock:call ] nor [mock:call open",
        );
        let got: Vec<(&str, &str)> = cues
            .iter()
            .map(|c| (c.name_part.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("add", "{\"a\": 1, \"b\": 2}"),
                ("search", "{\"q\":\"x y\"}"),
                ("bare", "{}")
            ]
        );
        assert!(parse_cues("no cue here [mock:loop]").is_empty());
    }

    #[test]
    fn cues_become_calls_to_the_first_offered_tool_that_matches() {
        let tools: Value = serde_json::from_str(TOOLS).expect("tools");
        let request = json!({
            "input": [user("old [mock:call nothing {}]"),
                      {"type": "message", "role": "assistant", "content": "hi"},
                      user("go [mock:call add {\"a\":1}] [mock:call search {\"q\":\"k\"}] [mock:call nope {bad]")],
            "tools": tools,
        });
        assert_eq!(
            calls(plan(&request)),
            [
                ("calc__add".to_owned(), "{\"a\":1}".to_owned()),
                ("kb__search".to_owned(), "{\"q\":\"k\"}".to_owned()),
                ("nope".to_owned(), "{bad".to_owned()),
            ]
        );
        // Call ids are unique, within an answer and across answers.
        let mut ids = Vec::new();
        for _ in 0..2 {
            if let Some(Turn::Call(calls)) = plan(&request) {
                ids.extend(calls.into_iter().map(|c| c.call_id));
            }
        }
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (6, 6));
        assert!(ids.iter().all(|id| id.starts_with("call_")));
    }

    #[test]
    fn tool_outputs_after_the_last_user_message_are_answered_in_order() {
        let request = json!({
            "input": [
                output("call_0", "stale"),
                user("go [mock:call add {}]"),
                {"type": "function_call", "call_id": "call_1", "name": "calc__add", "arguments": "{}"},
                {"type": "function_call", "call_id": "call_2", "name": "calc__add", "arguments": "{}"},
                output("call_1", "3"),
                {"type": "function_call_output", "call_id": "call_2",
                 "output": [{"type": "input_text", "text": "three"}]},
            ],
            "tool_choice": "none",
        });
        assert_eq!(
            plan(&request),
            Some(Turn::Say("Tool results: 3 | three".into()))
        );
    }

    #[test]
    fn a_looping_model_calls_again_until_tool_choice_is_none() {
        let tools: Value = serde_json::from_str(TOOLS).expect("tools");
        let mut input = vec![user(
            "[mock:loop] [mock:call add {\"a\":1}] [mock:call search {}]",
        )];
        let mut request = json!({"input": input.clone(), "tools": tools, "tool_choice": "auto"});
        // First round: every cue.
        assert_eq!(calls(plan(&request)).len(), 2);
        input.push(output("call_1", "1"));
        input.push(output("call_2", "2"));
        request["input"] = json!(input);
        // Then the first cue's tool, again and again.
        assert_eq!(
            calls(plan(&request)),
            [("calc__add".to_owned(), "{\"a\":1}".to_owned())]
        );
        request["tool_choice"] = json!("none");
        assert_eq!(plan(&request), Some(Turn::Say(LOOP_STOPPED_TEXT.into())));
    }

    #[test]
    fn without_cues_or_outputs_the_usual_reply_answers() {
        assert_eq!(plan(&json!({"input": "hello"})), None);
        assert_eq!(plan(&json!({"input": [user("hello")]})), None);
        assert_eq!(plan(&json!({"model": "x"})), None);
        assert_eq!(
            calls(plan(&json!({"input": "[mock:call add {}]"}))),
            [("add".to_owned(), "{}".to_owned())]
        );
    }
}
