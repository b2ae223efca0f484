//! The outputs of one round's server calls as the model reads them: one
//! `function_call_output` item per call, in call order whatever order the calls finished
//! in. A tool's failure becomes a text the model can act on ("tool X failed: …"), never an
//! abort; every text is cut to the output cap with a note. Pure.

use super::calls::ToolCall;
use crate::mcp::tools::{ToolOutput, cap_text};
use serde_json::{Value, json};
use std::fmt::Display;

/// What running one call gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    Output(ToolOutput),
    /// The call produced no output; the reason is written for the model
    /// (`ToolCallError`'s text, a timeout, an open breaker).
    Failed(String),
}

impl CallResult {
    /// From what `McpTools::call` returns.
    pub fn of<E: Display>(result: Result<ToolOutput, E>) -> Self {
        match result {
            Ok(output) => Self::Output(output),
            Err(error) => Self::Failed(error.to_string()),
        }
    }

    /// The call took longer than the per-call timeout.
    pub fn timed_out(secs: u64) -> Self {
        Self::Failed(format!("it did not finish within {secs} s"))
    }
}

/// The model's text for `call`'s result, at most `max_bytes` plus the truncation note.
pub fn output_text(call: &ToolCall, result: CallResult, max_bytes: usize) -> String {
    let name = &call.name;
    match result {
        CallResult::Output(ToolOutput {
            text,
            is_error,
            truncated,
        }) => {
            let text = if is_error {
                format!("tool {name} reported an error: {text}")
            } else if text.trim().is_empty() {
                format!("(tool {name} returned no output)")
            } else {
                text
            };
            // Already cut by the MCP client, with its note: cutting again would cut the note.
            if truncated {
                text
            } else {
                cap_text(text, max_bytes).0
            }
        }
        CallResult::Failed(reason) => {
            cap_text(format!("tool {name} failed: {reason}"), max_bytes).0
        }
    }
}

/// The `function_call_output` input item answering `call_id`.
pub fn output_item(call_id: &str, text: String) -> Value {
    json!({"type": "function_call_output", "call_id": call_id, "output": text})
}

/// The results of one round, gathered as calls finish (in any order), given back in the
/// order of the calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundResults {
    calls: Vec<ToolCall>,
    results: Vec<Option<CallResult>>,
}

impl RoundResults {
    pub fn new(calls: Vec<ToolCall>) -> Self {
        let results = calls.iter().map(|_| None).collect();
        Self { calls, results }
    }

    pub fn calls(&self) -> &[ToolCall] {
        &self.calls
    }

    /// Records what the call at `index` (its position in the round) gave. An index out of
    /// range is ignored; a second result for one call replaces the first.
    pub fn record(&mut self, index: usize, result: CallResult) {
        if let Some(slot) = self.results.get_mut(index) {
            *slot = Some(result);
        }
    }

    /// Whether every call has a result.
    pub fn complete(&self) -> bool {
        self.results.iter().all(Option::is_some)
    }

    /// One `function_call_output` per call, in call order; a call with no recorded result
    /// (its batch was abandoned) reads as failed, so no call is left unanswered.
    pub fn into_output_items(self, max_bytes: usize) -> Vec<Value> {
        self.calls
            .into_iter()
            .zip(self.results)
            .map(|(call, result)| {
                let result = result.unwrap_or_else(|| {
                    CallResult::Failed("it was not run (the request ran out of time)".into())
                });
                let text = output_text(&call, result, max_bytes);
                output_item(&call.call_id, text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::error::ToolCallError;

    fn call(call_id: &str, name: &str) -> ToolCall {
        ToolCall {
            call_id: call_id.into(),
            name: name.into(),
            arguments: "{}".into(),
        }
    }

    fn output(text: &str, is_error: bool, truncated: bool) -> CallResult {
        CallResult::Output(ToolOutput {
            text: text.into(),
            is_error,
            truncated,
        })
    }

    #[test]
    fn outputs_come_back_in_call_order_whatever_the_finishing_order() {
        let mut results =
            RoundResults::new(vec![call("a", "t1"), call("b", "t2"), call("c", "t3")]);
        results.record(2, output("three", false, false));
        results.record(0, output("one", false, false));
        assert!(!results.complete());
        results.record(1, output("two", false, false));
        results.record(9, output("ignored", false, false));
        assert!(results.complete());
        assert_eq!(
            results.into_output_items(100),
            [
                json!({"type": "function_call_output", "call_id": "a", "output": "one"}),
                json!({"type": "function_call_output", "call_id": "b", "output": "two"}),
                json!({"type": "function_call_output", "call_id": "c", "output": "three"}),
            ]
        );
    }

    #[test]
    fn a_call_without_a_result_is_answered_as_failed() {
        let results = RoundResults::new(vec![call("a", "docs__search")]);
        let items = results.into_output_items(100);
        let text = items
            .first()
            .and_then(|i| i["output"].as_str())
            .unwrap_or_default();
        assert!(
            text.starts_with("tool docs__search failed: it was not run"),
            "{text}"
        );
    }

    #[test]
    fn failures_become_texts_for_the_model() {
        let c = call("a", "docs__search");
        let unknown = CallResult::of::<ToolCallError>(Err(ToolCallError::UnknownTool("x".into())));
        assert_eq!(
            output_text(&c, unknown, 1000),
            "tool docs__search failed: there is no tool named \"x\""
        );
        assert_eq!(
            output_text(&c, CallResult::timed_out(30), 1000),
            "tool docs__search failed: it did not finish within 30 s"
        );
        assert_eq!(
            output_text(&c, output("bad input", true, false), 1000),
            "tool docs__search reported an error: bad input"
        );
        assert_eq!(
            output_text(&c, output(" ", false, false), 1000),
            "(tool docs__search returned no output)"
        );
        assert_eq!(
            output_text(
                &c,
                CallResult::of::<String>(Ok(ToolOutput {
                    text: "fine".into(),
                    is_error: false,
                    truncated: false,
                })),
                1000
            ),
            "fine"
        );
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_with_a_note() {
        let c = call("a", "t");
        // "é" is two bytes: a cut at 5 bytes falls inside the third one.
        let text = output_text(&c, output("ééééé", false, false), 5);
        assert!(
            text.starts_with("éé\n[output truncated by orpipe: 4 of 10 bytes shown]"),
            "{text}"
        );
        let failed = output_text(&c, CallResult::Failed("x".repeat(100)), 20);
        assert!(
            failed.starts_with("tool t failed: xxxxx\n[output truncated"),
            "{failed}"
        );
    }

    #[test]
    fn an_output_the_client_already_cut_keeps_its_note() {
        let c = call("a", "t");
        let cut = "abc\n[output truncated by orpipe: 3 of 9 bytes shown]";
        assert_eq!(output_text(&c, output(cut, false, true), 3), cut);
        assert_eq!(
            output_text(&c, output(cut, true, true), 3),
            format!("tool t reported an error: {cut}")
        );
    }
}
