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
use crate::responses::ResponseUsage;
use crate::tool_loop::RoundsUsage;
use crate::tool_loop::merged::MergedOutput;
use crate::tool_loop::notices::NO_FINAL_ANSWER;
use crate::tool_loop::rounds::has_answer;
use serde::Deserialize;
use serde_json::{Map, Value};

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
    let mut merged = MergedOutput::default();
    let mut usage = RoundsUsage::default();
    let mut body = first;
    let mut rounds = 0u32;
    loop {
        let mut response = parse(&body)?;
        // Only the usage is read typed: the rest of the response stays one parse.
        let round_usage = response
            .get("usage")
            .and_then(|usage| ResponseUsage::deserialize(usage).ok())
            .map(|usage| Usage::from(&usage));
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
        // A missing status is taken as complete; `incomplete`, `failed`: the turn ends.
        let completed = response
            .get("status")
            .and_then(Value::as_str)
            .is_none_or(|status| status == "completed");
        if !calls_server_tools || !completed {
            let empty = rounds > 0 && completed && !has_answer(&round_output);
            merged.push_round(round_output, &[]);
            if empty {
                merged.push_notice(NO_FINAL_ANSWER);
            }
            return Ok(merge(response, merged, usage.total().cloned()));
        }
        let mut progress = WholeProgress::default();
        let advance = turn.advance(ctx, &round_output, &mut progress)?;
        merged.push_round(round_output, &progress.kept);
        for notice in &progress.notices {
            merged.push_notice(notice);
        }
        match advance {
            Advance::Finish => return Ok(merge(response, merged, usage.total().cloned())),
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

/// The last response with every round's output.
fn merge(mut last: Map<String, Value>, merged: MergedOutput, usage: Option<Usage>) -> Merged {
    last.insert("output".into(), Value::Array(merged.into_items()));
    Merged {
        body: serde_json::to_vec(&Value::Object(last)).unwrap_or_default(),
        usage,
    }
}
