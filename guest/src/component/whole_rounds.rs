//! The tool loop for a whole (non-streaming) answer: each round's response is read
//! whole; when it calls server tools, `tool_turn` runs them and asks again. The rounds
//! become one Responses body (`merged`): every round's output in order, each server call
//! followed by its output, orpipe's notices as messages, and the usage summed, which
//! `to_completion::completion_of_turn` turns into the one completion the client gets.

use super::RequestCtx;
use super::tool_turn::{Advance, Progress, ToolTurn};
use crate::errors::GatewayError;
use crate::openai::Usage;
use crate::owui::events::Event;
use crate::responses::Response;
use crate::tool_loop::RoundsUsage;
use crate::tool_loop::notices::NO_FINAL_ANSWER;
use crate::tool_loop::rounds::has_answer;
use serde_json::{Map, Value, json};

/// The rounds of one turn, merged; `usage` is every round's.
pub(super) struct Merged {
    pub body: Vec<u8>,
    pub usage: Option<Usage>,
}

/// What the loop adds to a whole answer: notices as messages; the kept items are
/// already in the merged output, so nothing else.
#[derive(Default)]
struct WholeProgress {
    notices: Vec<String>,
    kept: Vec<Value>,
}

impl Progress for WholeProgress {
    fn event(&mut self, _event: &Event) {}

    fn notice(&mut self, text: &str) {
        self.notices.push(text.to_owned());
    }

    fn keep(&mut self, items: &[Value]) {
        self.kept.extend_from_slice(items);
    }
}

/// Reads `first` (the first round's body, already read) and every round that follows.
pub(super) fn read_rounds(
    ctx: &RequestCtx,
    turn: &mut ToolTurn,
    first: Vec<u8>,
    limit: usize,
) -> Result<Merged, GatewayError> {
    let mut output: Vec<Value> = Vec::new();
    let mut usage = RoundsUsage::default();
    let mut body = first;
    let mut rounds = 0u32;
    loop {
        let mut response = parse(&body)?;
        let round_usage = serde_json::from_value::<Response>(Value::Object(response.clone()))
            .ok()
            .and_then(|r| r.usage().map(Usage::from));
        usage.add(round_usage.as_ref());
        let round_output = match response.remove("output") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let calls_server_tools = round_output.iter().any(|item| {
            item.get("type").and_then(Value::as_str) == Some("function_call")
                && item
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| turn.owns(name))
        });
        let failed = response
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|status| status != "completed");
        if !calls_server_tools || failed {
            if rounds > 0 && !has_answer(&round_output) && !failed {
                push_separated(&mut output, round_output);
                push_notice(&mut output, NO_FINAL_ANSWER);
            } else {
                push_separated(&mut output, round_output);
            }
            return Ok(merge(response, output, usage.total().cloned()));
        }
        let mut progress = WholeProgress::default();
        let advance = turn.advance(ctx, &round_output, &mut progress)?;
        push_separated(&mut output, with_outputs(round_output, &progress.kept));
        for notice in &progress.notices {
            push_notice(&mut output, notice);
        }
        match advance {
            Advance::Finish => return Ok(merge(response, output, usage.total().cloned())),
            Advance::Next(next) => {
                rounds = rounds.saturating_add(1);
                body = next.body.read_to_end(limit)?;
            }
        }
    }
}

fn parse(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(GatewayError::UpstreamProtocol(
            "the response is not a JSON object".into(),
        )),
        Err(e) => Err(GatewayError::UpstreamProtocol(format!(
            "the response is not JSON: {e}"
        ))),
    }
}

/// The round's output with each kept call followed by its kept output (by `call_id`).
fn with_outputs(round_output: Vec<Value>, kept: &[Value]) -> Vec<Value> {
    let output_of = |call_id: &str| {
        kept.iter().find(|item| {
            item.get("type").and_then(Value::as_str) == Some("function_call_output")
                && item.get("call_id").and_then(Value::as_str) == Some(call_id)
        })
    };
    let mut items = Vec::with_capacity(round_output.len() + kept.len());
    for item in round_output {
        let answer = item
            .get("call_id")
            .and_then(Value::as_str)
            .filter(|_| item.get("type").and_then(Value::as_str) == Some("function_call"))
            .and_then(output_of)
            .cloned();
        items.push(item);
        items.extend(answer);
    }
    items
}

/// Appends a round's items, with a paragraph break when text stands on both sides.
fn push_separated(output: &mut Vec<Value>, round: Vec<Value>) {
    if has_answer(output) && has_answer(&round) {
        output.push(text_message("\n\n"));
    }
    output.extend(round);
}

fn push_notice(output: &mut Vec<Value>, text: &str) {
    let separator = if has_answer(output) { "\n\n" } else { "" };
    output.push(text_message(&format!("{separator}{text}")));
}

fn text_message(text: &str) -> Value {
    json!({"type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": text}]})
}

/// The last response with every round's output.
fn merge(mut last: Map<String, Value>, output: Vec<Value>, usage: Option<Usage>) -> Merged {
    last.insert("output".into(), Value::Array(output));
    Merged {
        body: serde_json::to_vec(&Value::Object(last)).unwrap_or_default(),
        usage,
    }
}
