//! A whole (non-streaming) answer over several rounds, as one Responses `output`: every
//! round's items in order, each server call followed by its `function_call_output` (so
//! `to_completion::completion_of_turn` keeps both where they stood), a paragraph break
//! between rounds' texts, and orpipe's notices as messages. Pure.

use super::rounds::has_answer;
use serde_json::{Value, json};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct MergedOutput {
    items: Vec<Value>,
}

impl MergedOutput {
    /// Appends a round's `output`, with each call in `outputs` (by `call_id`) followed by
    /// its output item.
    pub fn push_round(&mut self, output: Vec<Value>, outputs: &[Value]) {
        let output_of = |call_id: &str| {
            outputs.iter().find(|item| {
                item.get("type").and_then(Value::as_str) == Some("function_call_output")
                    && item.get("call_id").and_then(Value::as_str) == Some(call_id)
            })
        };
        let mut round = Vec::with_capacity(output.len() + outputs.len());
        for item in output {
            let answer = item
                .get("call_id")
                .and_then(Value::as_str)
                .filter(|_| item.get("type").and_then(Value::as_str) == Some("function_call"))
                .and_then(output_of)
                .cloned();
            round.push(item);
            round.extend(answer);
        }
        if has_answer(&self.items) && has_answer(&round) {
            self.items.push(text_message("\n\n"));
        }
        self.items.extend(round);
    }

    /// A paragraph of orpipe's own.
    pub fn push_notice(&mut self, text: &str) {
        let separator = if has_answer(&self.items) { "\n\n" } else { "" };
        self.items.push(text_message(&format!("{separator}{text}")));
    }

    pub fn into_items(self) -> Vec<Value> {
        self.items
    }
}

fn text_message(text: &str) -> Value {
    json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": text}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> Value {
        text_message(text)
    }

    fn call(id: &str) -> Value {
        json!({"type": "function_call", "call_id": id, "name": "calc__add", "arguments": "{}"})
    }

    fn output(id: &str, text: &str) -> Value {
        json!({"type": "function_call_output", "call_id": id, "output": text})
    }

    #[test]
    fn each_call_is_followed_by_its_output_and_texts_are_separated() {
        let mut merged = MergedOutput::default();
        merged.push_round(
            vec![said("Looking."), call("a"), call("b")],
            &[output("b", "2"), output("a", "1")],
        );
        merged.push_round(vec![said("Done.")], &[]);
        merged.push_notice("A notice.");
        assert_eq!(
            merged.into_items(),
            [
                said("Looking."),
                call("a"),
                output("a", "1"),
                call("b"),
                output("b", "2"),
                said("\n\n"),
                said("Done."),
                said("\n\nA notice."),
            ]
        );
    }

    #[test]
    fn no_break_without_text_before_and_a_call_without_output_stays_alone() {
        let mut merged = MergedOutput::default();
        merged.push_round(vec![call("a")], &[]);
        merged.push_notice("Stopped.");
        merged.push_round(vec![said("Answer.")], &[]);
        assert_eq!(
            merged.into_items(),
            [call("a"), said("Stopped."), said("\n\n"), said("Answer.")]
        );
    }
}
