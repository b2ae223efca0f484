//! What a finished response means for the turn: answer done, run server tools and ask
//! again, hand the turn to the client, or stop at the round limit. [`ToolRounds`] counts
//! the rounds of one turn; it is fed each response's output items in order. Pure.

use super::calls::{ToolCall, split_calls};
use crate::responses::OutputItem;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundOutcome {
    /// No function calls: this response is the answer.
    Done,
    /// Only server-tool calls: run them, append them and their outputs to the input
    /// (`continuation::next_round`) and send the next request.
    RunServerTools(Vec<ToolCall>),
    /// At least one client-tool call: the turn ends with `tool_calls` for the client
    /// (only `client` shown to it). The `server` calls of the same response are run and
    /// their outputs stored first, so the next turn replays them.
    HandToClient {
        server: Vec<ToolCall>,
        client: Vec<ToolCall>,
    },
    /// Server-tool calls beyond the round limit: not run. Send one more request
    /// (`continuation::synthesis_round`) whose outputs say so and which offers no tools,
    /// and show `notices::round_limit_notice` to the user.
    RoundLimit { skipped: Vec<ToolCall> },
    /// The synthesis request still called server tools: end the turn here with
    /// `notices::gave_up_notice` (the calls are not run).
    GaveUp,
}

/// The rounds of one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRounds {
    max_rounds: u32,
    /// Responses seen so far.
    responses: u32,
    /// Rounds whose server calls ran.
    tool_rounds: u32,
    /// The round limit was reached; the current request is the synthesis one.
    synthesizing: bool,
}

impl ToolRounds {
    /// `max_rounds`: how many times in one turn orpipe runs server tools and asks again.
    pub fn new(max_rounds: u32) -> Self {
        Self {
            max_rounds,
            responses: 0,
            tool_rounds: 0,
            synthesizing: false,
        }
    }

    /// Decides what the response with `output` (its output items) leads to;
    /// `is_server_tool` claims the function names orpipe runs.
    pub fn finish_response(
        &mut self,
        output: &[Value],
        is_server_tool: impl Fn(&str) -> bool,
    ) -> RoundOutcome {
        self.responses = self.responses.saturating_add(1);
        let calls = split_calls(output, is_server_tool);
        if calls.is_empty() {
            return RoundOutcome::Done;
        }
        if !calls.client.is_empty() {
            return RoundOutcome::HandToClient {
                server: calls.server,
                client: calls.client,
            };
        }
        if self.synthesizing {
            return RoundOutcome::GaveUp;
        }
        if self.tool_rounds >= self.max_rounds {
            self.synthesizing = true;
            return RoundOutcome::RoundLimit {
                skipped: calls.server,
            };
        }
        self.tool_rounds = self.tool_rounds.saturating_add(1);
        RoundOutcome::RunServerTools(calls.server)
    }

    pub fn max_rounds(&self) -> u32 {
        self.max_rounds
    }

    /// Responses seen in this turn (the Responses requests made so far).
    pub fn responses(&self) -> u32 {
        self.responses
    }

    /// Rounds whose server tools ran.
    pub fn tool_rounds(&self) -> u32 {
        self.tool_rounds
    }

    /// Whether an empty final answer gets `notices::NO_FINAL_ANSWER`: tools ran (or were
    /// stopped) before it, and it has no text.
    pub fn answer_missing(&self, output: &[Value]) -> bool {
        (self.tool_rounds > 0 || self.synthesizing) && !has_answer(output)
    }
}

/// Whether `output` has a message with text or a refusal.
pub fn has_answer(output: &[Value]) -> bool {
    output.iter().any(|item| match OutputItem::of(item) {
        OutputItem::Message(message) => {
            !message.text().trim().is_empty() || !message.refusal().trim().is_empty()
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(call_id: &str, name: &str) -> Value {
        json!({"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"})
    }

    fn answer(text: &str) -> Value {
        json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text}]})
    }

    fn is_server(name: &str) -> bool {
        name.starts_with("mcp__")
    }

    fn ids(calls: &[ToolCall]) -> Vec<&str> {
        calls.iter().map(|c| c.call_id.as_str()).collect()
    }

    #[test]
    fn a_response_without_calls_is_done() {
        let mut rounds = ToolRounds::new(8);
        assert_eq!(
            rounds.finish_response(&[answer("hi")], is_server),
            RoundOutcome::Done
        );
        assert_eq!(rounds.responses(), 1);
        assert!(
            !rounds.answer_missing(&[]),
            "no tools ran: nothing to explain"
        );
    }

    #[test]
    fn server_calls_run_until_the_answer() {
        let mut rounds = ToolRounds::new(8);
        let outcome =
            rounds.finish_response(&[call("a", "mcp__x"), call("b", "mcp__y")], is_server);
        let RoundOutcome::RunServerTools(calls) = outcome else {
            panic!("run: {outcome:?}")
        };
        assert_eq!(ids(&calls), ["a", "b"]);
        assert_eq!(
            rounds.finish_response(&[answer("done")], is_server),
            RoundOutcome::Done
        );
        assert_eq!((rounds.responses(), rounds.tool_rounds()), (2, 1));
        assert!(!rounds.answer_missing(&[answer("done")]));
        assert!(rounds.answer_missing(&[answer("  ")]));
        assert!(!rounds.answer_missing(&[json!({"type": "message",
            "content": [{"type": "refusal", "refusal": "no"}]})]));
    }

    #[test]
    fn a_client_call_hands_the_turn_over_with_the_server_calls_to_run_first() {
        let mut rounds = ToolRounds::new(8);
        let outcome = rounds.finish_response(
            &[
                call("s1", "mcp__x"),
                call("c1", "get_weather"),
                call("s2", "mcp__y"),
            ],
            is_server,
        );
        let RoundOutcome::HandToClient { server, client } = outcome else {
            panic!("hand over: {outcome:?}")
        };
        assert_eq!(ids(&server), ["s1", "s2"]);
        assert_eq!(ids(&client), ["c1"]);
    }

    #[test]
    fn the_round_limit_stops_the_calls_then_allows_one_synthesis_request() {
        let mut rounds = ToolRounds::new(2);
        let calls = [call("a", "mcp__x")];
        for _ in 0..2 {
            assert!(matches!(
                rounds.finish_response(&calls, is_server),
                RoundOutcome::RunServerTools(_)
            ));
        }
        let outcome = rounds.finish_response(&[call("z", "mcp__x")], is_server);
        assert!(
            matches!(&outcome, RoundOutcome::RoundLimit { skipped } if ids(skipped) == ["z"]),
            "{outcome:?}"
        );
        assert_eq!(
            rounds.finish_response(&calls, is_server),
            RoundOutcome::GaveUp,
            "the synthesis request called tools again"
        );
        assert_eq!((rounds.responses(), rounds.tool_rounds()), (4, 2));
    }

    #[test]
    fn the_synthesis_request_may_still_answer_or_hand_over() {
        let mut rounds = ToolRounds::new(0);
        assert!(matches!(
            rounds.finish_response(&[call("a", "mcp__x")], is_server),
            RoundOutcome::RoundLimit { .. }
        ));
        assert!(
            rounds.answer_missing(&[]),
            "the stopped tools explain the empty answer"
        );
        assert!(matches!(
            rounds
                .clone()
                .finish_response(&[call("c", "client")], is_server),
            RoundOutcome::HandToClient { .. }
        ));
        assert_eq!(
            rounds.finish_response(&[answer("ok")], is_server),
            RoundOutcome::Done
        );
    }
}
