//! The per-item state machine: items are added, stream text or arguments, and finish,
//! each under its `output_index`; the final payload fills in whatever never streamed.

use super::ChunkTranslator;
use crate::openai::{Delta, FinishReason, Frames, ToolCallDelta};
use crate::responses::{DeltaEvent, ItemEvent, OutputItem, Response};
use crate::translate::phase;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Message,
    Reasoning,
    FunctionCall {
        tool_index: usize,
    },
    /// A call to a server tool: orpipe runs it, the client never sees it.
    ServerCall,
    Other,
}

#[derive(Debug)]
struct ItemState {
    kind: ItemKind,
    done: bool,
    /// Text or arguments already sent for this item, so the final payload only fills gaps.
    streamed: bool,
    last_summary_index: Option<u64>,
}

impl ItemState {
    fn new(kind: ItemKind) -> Self {
        Self {
            kind,
            done: false,
            streamed: false,
            last_summary_index: None,
        }
    }
}

/// The answer's items by `output_index`, and how many tool calls it made.
#[derive(Debug, Default)]
pub(super) struct Items {
    by_index: BTreeMap<u64, ItemState>,
    tool_calls: usize,
}

impl Items {
    /// At least one item, and every item finished.
    pub(super) fn all_done(&self) -> bool {
        !self.by_index.is_empty() && self.by_index.values().all(|item| item.done)
    }

    pub(super) fn tool_calls(&self) -> usize {
        self.tool_calls
    }

    /// At least one item was added.
    pub(super) fn any(&self) -> bool {
        !self.by_index.is_empty()
    }

    fn next_tool_index(&mut self) -> usize {
        let index = self.tool_calls;
        self.tool_calls += 1;
        index
    }

    fn mark_streamed(&mut self, index: Option<u64>) {
        if let Some(item) = index.and_then(|i| self.by_index.get_mut(&i)) {
            item.streamed = true;
        }
    }
}

impl ChunkTranslator {
    pub(super) fn item_added(&mut self, event: &ItemEvent, out: &mut Frames) {
        self.ensure_started(None, out);
        let Some(index) = event.output_index() else {
            return;
        };
        let item = OutputItem::of(&event.item);
        let kind = match &item {
            OutputItem::Message(_) => ItemKind::Message,
            OutputItem::Reasoning(_) => ItemKind::Reasoning,
            OutputItem::FunctionCall(call) if self.is_server_call(&call.name) => {
                ItemKind::ServerCall
            }
            OutputItem::FunctionCall(call) => {
                let tool_index = self.items.next_tool_index();
                let first = ToolCallDelta::first(tool_index, &call.call_id, &call.name, "");
                out.push_delta(&self.header, &Delta::tool_call(first), None);
                ItemKind::FunctionCall { tool_index }
            }
            OutputItem::WebSearch(_)
            | OutputItem::Image(_)
            | OutputItem::ServerTool(_)
            | OutputItem::Unknown => ItemKind::Other,
        };
        self.items.by_index.insert(index, ItemState::new(kind));
        if let Some(status) = self
            .events
            .as_mut()
            .and_then(|e| e.item_added(index, &item))
        {
            out.push_event(self.header.header(), &status);
        }
    }

    pub(super) fn item_done(&mut self, event: &ItemEvent, out: &mut Frames) {
        let Some(index) = event.output_index() else {
            return;
        };
        let offset = self.text_bytes;
        if let Some(id) = self
            .capture
            .as_mut()
            .and_then(|c| c.item_done(&event.item, offset))
        {
            self.announce(id);
        }
        let state = self
            .items
            .by_index
            .entry(index)
            .or_insert(ItemState::new(ItemKind::Other));
        state.done = true;
        let item = OutputItem::of(&event.item);
        if !state.streamed {
            self.fill_unstreamed(index, &item, out);
        }
        if let Some(status) = self.events.as_mut().and_then(|e| e.item_done(index, &item)) {
            out.push_event(self.header.header(), &status);
        }
        if let OutputItem::Image(call) = &item {
            self.image(call, out);
        }
        if let OutputItem::Message(message) = &item {
            self.cite(message.annotations(), out);
            let capturing = self.capture.is_some();
            if let Some(marker) = phase::marker_after_message(message.phase(), capturing) {
                self.content(&marker, out);
            }
        }
    }

    /// What arrives only with the finished item is sent now (quirk Q3), not at
    /// `response.completed`, which may never come (quirk Q2).
    fn fill_unstreamed(&mut self, index: u64, item: &OutputItem<'_>, out: &mut Frames) {
        let Some(state) = self.items.by_index.get_mut(&index) else {
            return;
        };
        match (state.kind, item) {
            (ItemKind::FunctionCall { tool_index }, _) => {
                state.streamed = true;
                let arguments = match item {
                    OutputItem::FunctionCall(call) => call.arguments.as_ref(),
                    _ => "",
                };
                if !arguments.is_empty() {
                    let call = ToolCallDelta::arguments(tool_index, arguments);
                    out.push_delta(&self.header, &Delta::tool_call(call), None);
                }
            }
            (ItemKind::Message, OutputItem::Message(message)) => {
                let text = message.text();
                if !text.is_empty() {
                    state.streamed = true;
                    self.sent_text = true;
                    self.content(&text, out);
                }
            }
            _ => {}
        }
    }

    /// A text, refusal or reasoning delta, sent as the `delta` that `shape` makes of it.
    pub(super) fn text_delta<'t>(
        &mut self,
        event: &'t DeltaEvent<'_>,
        shape: fn(&'t str) -> Delta<'t>,
        out: &mut Frames,
    ) {
        let text: &str = &event.delta;
        if text.is_empty() {
            return;
        }
        self.ensure_started(None, out);
        self.items.mark_streamed(event.output_index());
        let delta = shape(text);
        if delta.content.is_some() {
            self.separate_rounds(out);
            self.sent_text = true;
            self.count_text(text);
        }
        out.push_delta(&self.header, &delta, None);
    }

    pub(super) fn summary_delta(&mut self, event: &DeltaEvent<'_>, out: &mut Frames) {
        let summary_index = crate::responses::valid(&event.summary_index).copied();
        let item = event
            .output_index()
            .and_then(|i| self.items.by_index.get_mut(&i));
        // Separate successive summary parts of one item, as the original pipe shows them.
        let separate = match item {
            Some(item) => {
                let new_part =
                    item.last_summary_index.is_some() && item.last_summary_index != summary_index;
                item.last_summary_index = summary_index;
                new_part
            }
            None => false,
        };
        if separate {
            out.push_delta(&self.header, &Delta::reasoning("\n\n"), None);
        }
        self.text_delta(event, Delta::reasoning, out);
    }

    pub(super) fn arguments_delta(&mut self, event: &DeltaEvent<'_>, out: &mut Frames) {
        let Some(index) = event.output_index() else {
            return;
        };
        if event.delta.is_empty() {
            return;
        }
        let Some(state) = self.items.by_index.get_mut(&index) else {
            return;
        };
        let ItemKind::FunctionCall { tool_index } = state.kind else {
            return;
        };
        state.streamed = true;
        let call = ToolCallDelta::arguments(tool_index, &event.delta);
        out.push_delta(&self.header, &Delta::tool_call(call), None);
    }

    /// `response.completed` / `response.incomplete` (`cut_short` then): fill in what was
    /// never streamed, then the finish chunk and the usage chunk.
    pub(super) fn complete(
        &mut self,
        response: Option<&Response>,
        cut_short: Option<FinishReason>,
        out: &mut Frames,
    ) {
        self.ensure_started(response, out);
        let output = response.map(Response::output).unwrap_or_default();
        let mut has_tool_calls = self.items.tool_calls > 0;
        for (position, item) in output.iter().enumerate() {
            let index = position as u64;
            let known = self.items.by_index.get(&index);
            let streamed = known.is_some_and(|s| s.streamed);
            match OutputItem::of(item) {
                OutputItem::Message(message) => {
                    let text = message.text();
                    if !streamed && !text.is_empty() {
                        self.sent_text = true;
                        self.content(&text, out);
                    }
                    self.cite(message.annotations(), out);
                }
                OutputItem::FunctionCall(call) if self.is_server_call(&call.name) => {}
                OutputItem::FunctionCall(call) => {
                    has_tool_calls = true;
                    if known.is_none() {
                        // A call that appears only in the final payload.
                        let tool_index = self.items.next_tool_index();
                        let first = ToolCallDelta::first(
                            tool_index,
                            &call.call_id,
                            &call.name,
                            &call.arguments,
                        );
                        out.push_delta(&self.header, &Delta::tool_call(first), None);
                    }
                }
                // An image that appears only in the final payload.
                OutputItem::Image(call) if known.is_none() => self.image(&call, out),
                OutputItem::Reasoning(_)
                | OutputItem::WebSearch(_)
                | OutputItem::Image(_)
                | OutputItem::ServerTool(_)
                | OutputItem::Unknown => {}
            }
        }
        let offset = self.text_bytes;
        let late = self
            .capture
            .as_mut()
            .map(|c| c.final_output(output, offset))
            .unwrap_or_default();
        for id in late {
            self.announce(id);
        }
        if self.end_of_response(response, cut_short.is_some(), out) {
            // Held for the tool loop: the component continues or releases it.
            return;
        }
        self.flush_markers(out);
        let reason = cut_short.unwrap_or(FinishReason::whole(has_tool_calls));
        out.push_delta(&self.header, &Delta::default(), Some(reason));
        if let Some(usage) = &self.usage {
            out.push_usage(self.header.header(), usage);
        }
        self.finished = true;
    }
}
