//! The tool loop's side of the stream (issue 10): one client stream spans every round of
//! a turn. Calls to server tools (which orpipe runs) are never shown as `tool_calls`; a
//! response that calls them is *held* at `response.completed` (no finish, no usage chunk,
//! no `[DONE]`) until the component decides: another round ([`ChunkTranslator::next_round`])
//! or the end of the turn ([`ChunkTranslator::release`]). Usage is summed over the
//! rounds, so the one usage chunk covers the whole turn. Pure.

use super::ChunkTranslator;
use crate::openai::{Delta, FinishReason, Frames, Usage};
use crate::owui::events::Event;
use crate::responses::{OutputItem, Response};
use crate::tool_loop::RoundsUsage;
use crate::tool_loop::notices::NO_FINAL_ANSWER;
use crate::tool_loop::rounds::has_answer;
use serde_json::Value;
use std::collections::BTreeSet;

/// The loop's state in one answer.
#[derive(Debug, Default)]
pub(super) struct Rounds {
    /// The client's function names: every other call is orpipe's to run (a server tool,
    /// or a name nobody offered, which the loop answers with an error for the model).
    client_tools: BTreeSet<String>,
    /// The output of a finished response that called server tools, until the decision.
    held: Option<Vec<Value>>,
    /// A response is held (its output may have been taken already).
    holding: bool,
    usage: RoundsUsage,
    /// Responses that were followed by another round.
    continued: u32,
    /// The next text starts a new paragraph: text from an earlier round stands above.
    separate: bool,
}

impl Rounds {
    pub(super) fn is_server_tool(&self, name: &str) -> bool {
        !self.client_tools.contains(name)
    }

    fn calls_server_tools(&self, output: &[Value]) -> bool {
        output.iter().any(|item| match OutputItem::of(item) {
            OutputItem::FunctionCall(call) => self.is_server_tool(&call.name),
            _ => false,
        })
    }
}

impl ChunkTranslator {
    /// Runs the tool loop's way: calls of any function but the client's (`client_tools`)
    /// are hidden from the client, and a response that makes them is held for the
    /// component's decision.
    pub fn with_tool_loop(mut self, client_tools: BTreeSet<String>) -> Self {
        self.rounds = Some(Rounds {
            client_tools,
            ..Rounds::default()
        });
        self
    }

    /// Whether a call of `name` is the loop's to run (hidden from the client).
    pub(super) fn is_server_call(&self, name: &str) -> bool {
        self.rounds.as_ref().is_some_and(|r| r.is_server_tool(name))
    }

    /// The output items of the response that called server tools, once it completed.
    pub fn take_held(&mut self) -> Option<Vec<Value>> {
        self.rounds.as_mut().and_then(|r| r.held.take())
    }

    /// At `response.completed`: the round's usage joins the turn's; `true` when the
    /// response is held (it called server tools), so no finish is sent yet. A response
    /// after tool rounds that has no text gets the "no final answer" notice.
    pub(super) fn end_of_response(
        &mut self,
        response: Option<&Response>,
        cut_short: bool,
        out: &mut Frames,
    ) -> bool {
        let round_usage = response.and_then(Response::usage).map(Usage::from);
        let Some(rounds) = self.rounds.as_mut() else {
            self.usage = round_usage;
            return false;
        };
        rounds.usage.add(round_usage.as_ref());
        self.usage = rounds.usage.total().cloned();
        let output = response.map(Response::output).unwrap_or_default();
        if !cut_short && rounds.calls_server_tools(output) {
            rounds.held = Some(output.to_vec());
            rounds.holding = true;
            self.finished = true;
            return true;
        }
        if rounds.continued > 0 && !has_answer(output) {
            self.notice(NO_FINAL_ANSWER, out);
        }
        false
    }

    /// The held response is followed by another one on the same stream: the item state
    /// starts again (output indexes restart), everything said so far stays.
    pub fn next_round(&mut self) {
        if let Some(rounds) = self.rounds.as_mut() {
            rounds.held = None;
            rounds.holding = false;
            rounds.continued = rounds.continued.saturating_add(1);
            rounds.separate = self.sent_text;
        }
        self.items = Default::default();
        self.finished = false;
    }

    /// Ends a held response as the end of the turn: the artifacts' markers, the finish
    /// (`tool_calls` when the client has calls to run) and the turn's usage.
    pub fn release(&mut self, out: &mut Frames) {
        let Some(rounds) = self.rounds.as_mut() else {
            return;
        };
        if !std::mem::take(&mut rounds.holding) {
            return;
        }
        rounds.held = None;
        self.flush_markers(out);
        let reason = FinishReason::whole(self.items.tool_calls() > 0);
        out.push_delta(&self.header, &Delta::default(), Some(reason));
        if let Some(usage) = &self.usage {
            out.push_usage(self.header.header(), usage);
        }
        self.finished = true;
    }

    /// Before the first text of a round that follows text: the paragraph break.
    pub(super) fn separate_rounds(&mut self, out: &mut Frames) {
        let Some(rounds) = self.rounds.as_mut() else {
            return;
        };
        if std::mem::take(&mut rounds.separate) {
            self.count_text("\n\n");
            out.push_delta(&self.header, &Delta::content("\n\n"), None);
        }
    }

    /// A paragraph of orpipe's own in the answer (a round limit reached, …).
    pub fn notice(&mut self, text: &str, out: &mut Frames) {
        self.ensure_started(None, out);
        let separator = if self.sent_text { "\n\n" } else { "" };
        self.sent_text = true;
        self.content(&format!("{separator}{text}"), out);
    }

    /// Keeps server tools' calls and outputs as artifacts at the current place in the
    /// text, announced in the marker block like reasoning, so later turns replay them.
    pub fn keep_items(&mut self, items: &[Value]) {
        let offset = self.text_bytes;
        let Some(capture) = self.capture.as_mut() else {
            return;
        };
        let ids: Vec<String> = items
            .iter()
            .map(|item| capture.keep(item, offset))
            .collect();
        self.pending_markers.extend(ids);
    }

    /// An Open WebUI event (a tool's status); nothing for other clients.
    pub fn push_event(&mut self, event: &Event, out: &mut Frames) {
        if self.events.is_some() {
            self.ensure_started(None, out);
            out.push_event(self.header.header(), event);
        }
    }

    /// Whether Open WebUI's events are sent in this answer.
    pub fn sends_events(&self) -> bool {
        self.events.is_some()
    }
}
