//! Responses stream events → Chat Completions chunks, one event at a time.
//!
//! State is kept per output item (`output_index`), never as a "current item", because
//! OpenRouter may finish items out of order. The translator tolerates what real streams
//! do (API.md §3.6): unknown events, keep-alives, text only in the final payload, a stream
//! that ends without `response.completed`, errors inside normal-looking events.
//!
//! This module never performs I/O: `&str` payloads in, finished SSE frames out.

use super::citations::{Citations, message_annotations};
use crate::artifacts::capture::Capture;
use crate::errors::cards::{CardContext, CardTemplates, stream_failure_card};
use crate::markers;
use crate::openai::{ChunkHeader, DONE_FRAME, Usage, frame};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct StreamContext {
    /// The model id the client asked for; every chunk repeats it.
    pub model: String,
    pub created: u64,
    /// Chunk id until OpenRouter's response id is known.
    pub fallback_id: String,
    /// Shown on the error card if the answer breaks off, and logged by the caller.
    pub error_id: String,
    /// When the request arrived (ISO 8601), for the error card.
    pub timestamp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Message,
    Reasoning,
    FunctionCall { tool_index: usize },
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

pub struct ChunkTranslator {
    header: ChunkHeader,
    error_id: String,
    timestamp: String,
    failure: Option<(String, String)>,
    response_id: Option<String>,
    started: bool,
    items: BTreeMap<u64, ItemState>,
    tool_calls: usize,
    sent_text: bool,
    usage: Option<Usage>,
    finished: bool,
    unreadable_events: usize,
    capture: Option<Capture>,
    citations: Citations,
    templates: CardTemplates,
}

impl ChunkTranslator {
    pub fn new(ctx: StreamContext) -> Self {
        Self {
            header: ChunkHeader {
                id: ctx.fallback_id,
                model: ctx.model,
                created: ctx.created,
            },
            error_id: ctx.error_id,
            timestamp: ctx.timestamp,
            failure: None,
            response_id: None,
            started: false,
            items: BTreeMap::new(),
            tool_calls: 0,
            sent_text: false,
            usage: None,
            finished: false,
            unreadable_events: 0,
            capture: None,
            citations: Citations::default(),
            templates: CardTemplates::default(),
        }
    }

    /// Renders error cards with the operator's templates instead of the defaults.
    pub fn with_templates(mut self, templates: CardTemplates) -> Self {
        self.templates = templates;
        self
    }

    /// Keeps the answer's reasoning items as artifacts, each announced by a marker line
    /// in the content where it finished.
    pub fn with_capture(mut self, capture: Capture) -> Self {
        self.capture = Some(capture);
        self
    }

    /// The captured artifacts (empty without a capture), once the stream has ended.
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }

    fn announce(&mut self, id: &str, frames: &mut Vec<String>) {
        let text = markers::marker_insert(id, self.sent_text);
        frames.push(frame(&self.header.delta(json!({"content": text}), None)));
    }

    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    /// The `(code, message)` of the failure that ended the answer, if one did.
    pub fn failure(&self) -> Option<&(String, String)> {
        self.failure.as_ref()
    }

    /// Payloads that were not JSON objects; they are skipped, and counted for the log.
    pub fn unreadable_events(&self) -> usize {
        self.unreadable_events
    }

    /// Translates one SSE `data:` payload into the frames to send, in order.
    pub fn on_data(&mut self, data: &str) -> Vec<String> {
        if self.finished {
            return Vec::new();
        }
        let event: Value = match serde_json::from_str(data) {
            Ok(event @ Value::Object(_)) => event,
            _ => {
                self.unreadable_events += 1;
                return Vec::new();
            }
        };
        let mut frames = Vec::new();
        self.on_event(&event, &mut frames);
        frames
    }

    /// Ends the answer early (a deadline passed): the partial text stays, the error card
    /// and error frame follow; `finish` then adds `[DONE]`. Nothing if already ended.
    pub fn abort(&mut self, code: &str, message: &str) -> Vec<String> {
        let mut frames = Vec::new();
        if !self.finished {
            self.fail(code, message, &mut frames);
        }
        frames
    }

    /// The upstream body ended. Closes the answer (or reports it broken) and ends with `[DONE]`.
    pub fn finish(&mut self) -> Vec<String> {
        let mut frames = Vec::new();
        if !self.finished {
            let all_items_done =
                !self.items.is_empty() && self.items.values().all(|item| item.done);
            if self.started && all_items_done {
                // OpenRouter sometimes closes a complete stream without `response.completed`
                // (no usage then); every item finished, so the answer is whole.
                let reason = self.finish_reason_from_items();
                frames.push(frame(&self.header.delta(json!({}), Some(reason))));
            } else {
                self.fail(
                    "stream_interrupted",
                    "the connection to OpenRouter ended before the answer was complete",
                    &mut frames,
                );
            }
            self.finished = true;
        }
        frames.push(DONE_FRAME.to_owned());
        frames
    }

    fn on_event(&mut self, event: &Value, frames: &mut Vec<String>) {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some((code, message)) = embedded_error(kind, event) {
            self.ensure_started(event, frames);
            return self.fail(&code, &message, frames);
        }
        match kind {
            "response.created" | "response.in_progress" => self.ensure_started(event, frames),
            "response.output_item.added" => self.item_added(event, frames),
            "response.output_item.done" => self.item_done(event, frames),
            "response.output_text.delta" => self.text_delta(event, "content", frames),
            "response.refusal.delta" => self.text_delta(event, "refusal", frames),
            // `response.reasoning.delta` is an older name some docs still use.
            "response.reasoning_text.delta" | "response.reasoning.delta" => {
                self.text_delta(event, "reasoning_content", frames)
            }
            "response.reasoning_summary_text.delta" => self.summary_delta(event, frames),
            "response.function_call_arguments.delta" => self.arguments_delta(event, frames),
            "response.completed" | "response.done" => self.complete(event, None, frames),
            "response.incomplete" => {
                let reason = event
                    .pointer("/response/incomplete_details/reason")
                    .and_then(Value::as_str);
                let finish = if reason == Some("content_filter") {
                    "content_filter"
                } else {
                    "length"
                };
                self.complete(event, Some(finish), frames);
            }
            "response.output_text.annotation.added" => {
                self.ensure_started(event, frames);
                self.cite(event.get("annotation"), frames);
            }
            "response.content_part.done" => {
                let annotations = event
                    .pointer("/part/annotations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                self.cite(annotations, frames);
            }
            // Deliberately ignored, because they carry nothing a Chat Completions client
            // needs or repeat what was already sent (API.md §3.2):
            // - `response.content_part.added`, `response.reasoning_summary_part.added`/`.done`:
            //   part boundaries (summary parts are separated in `summary_delta`);
            // - `response.output_text.done`, `response.refusal.done`,
            //   `response.reasoning_text.done`, `response.reasoning_summary_text.done`,
            //   `response.function_call_arguments.done`: the full text of what was streamed
            //   (anything never streamed is sent from `output_item.done` or the final payload);
            // - `response.custom_tool_call_input.*`, `response.web_search_call.*`,
            //   `response.image_generation_call.*`, `response.code_interpreter_call*`,
            //   `response.apply_patch_call_operation_diff.*`, `response.fusion_call.*`:
            //   progress of tools OpenRouter runs itself;
            // - `response.debug` and anything unknown.
            _ => {}
        }
    }

    fn ensure_started(&mut self, event: &Value, frames: &mut Vec<String>) {
        if self.started {
            return;
        }
        if let Some(id) = event.pointer("/response/id").and_then(Value::as_str) {
            self.header.id = id.to_owned();
            self.response_id = Some(id.to_owned());
        }
        self.started = true;
        frames.push(frame(
            &self
                .header
                .delta(json!({"role": "assistant", "content": ""}), None),
        ));
    }

    fn item_added(&mut self, event: &Value, frames: &mut Vec<String>) {
        self.ensure_started(event, frames);
        let Some(index) = event.get("output_index").and_then(Value::as_u64) else {
            return;
        };
        let item = event.get("item").unwrap_or(&Value::Null);
        let kind = match item.get("type").and_then(Value::as_str) {
            Some("message") => ItemKind::Message,
            Some("reasoning") => ItemKind::Reasoning,
            Some("function_call") => {
                let tool_index = self.tool_calls;
                self.tool_calls += 1;
                frames.push(self.tool_call_frame(tool_index, item, ""));
                ItemKind::FunctionCall { tool_index }
            }
            _ => ItemKind::Other,
        };
        self.items.insert(
            index,
            ItemState {
                kind,
                done: false,
                streamed: false,
                last_summary_index: None,
            },
        );
    }

    fn item_done(&mut self, event: &Value, frames: &mut Vec<String>) {
        let Some(index) = event.get("output_index").and_then(Value::as_u64) else {
            return;
        };
        let item = event.get("item").unwrap_or(&Value::Null);
        if let Some(id) = self.capture.as_mut().and_then(|c| c.item_done(item)) {
            self.announce(&id, frames);
        }
        let state = self.items.entry(index).or_insert(ItemState {
            kind: ItemKind::Other,
            done: false,
            streamed: false,
            last_summary_index: None,
        });
        state.done = true;
        if !state.streamed {
            self.fill_unstreamed(index, item, frames);
        }
        if item.get("type").and_then(Value::as_str) == Some("message") {
            self.cite(message_annotations(item), frames);
            self.mark_phase(item, frames);
        }
    }

    /// After a message that carried a `phase`, its phase marker, so a later turn can send
    /// the phase back (only when artifacts are kept: markers are for replay).
    fn mark_phase(&mut self, item: &Value, frames: &mut Vec<String>) {
        let Some(phase) = item.get("phase").and_then(Value::as_str) else {
            return;
        };
        let line = markers::phase_marker_line(phase);
        if self.capture.is_none() || !markers::is_phase_marker(&line) {
            return;
        }
        let text = format!("\n\n{line}\n\n");
        frames.push(frame(&self.header.delta(json!({"content": text}), None)));
    }

    /// What arrives only with the finished item is sent now (quirk Q3), not at
    /// `response.completed`, which may never come (quirk Q2).
    fn fill_unstreamed(&mut self, index: u64, item: &Value, frames: &mut Vec<String>) {
        let Some(state) = self.items.get_mut(&index) else {
            return;
        };
        match state.kind {
            ItemKind::FunctionCall { tool_index } => {
                state.streamed = true;
                if let Some(arguments) = item
                    .get("arguments")
                    .and_then(Value::as_str)
                    .filter(|a| !a.is_empty())
                {
                    let delta = json!({"tool_calls": [{"index": tool_index, "function": {"arguments": arguments}}]});
                    frames.push(frame(&self.header.delta(delta, None)));
                }
            }
            ItemKind::Message => {
                let text = message_text(item);
                if !text.is_empty() {
                    state.streamed = true;
                    self.sent_text = true;
                    frames.push(frame(&self.header.delta(json!({"content": text}), None)));
                }
            }
            ItemKind::Reasoning | ItemKind::Other => {}
        }
    }

    fn text_delta(&mut self, event: &Value, field: &str, frames: &mut Vec<String>) {
        let Some(text) = event
            .get("delta")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return;
        };
        self.ensure_started(event, frames);
        if let Some(item) = event
            .get("output_index")
            .and_then(Value::as_u64)
            .and_then(|i| self.items.get_mut(&i))
        {
            item.streamed = true;
        }
        if field == "content" {
            self.sent_text = true;
        }
        let delta = if field == "reasoning_content" {
            reasoning_delta(text)
        } else {
            json!({ field: text })
        };
        frames.push(frame(&self.header.delta(delta, None)));
    }

    fn summary_delta(&mut self, event: &Value, frames: &mut Vec<String>) {
        let summary_index = event.get("summary_index").and_then(Value::as_u64);
        let item = event
            .get("output_index")
            .and_then(Value::as_u64)
            .and_then(|i| self.items.get_mut(&i));
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
            frames.push(frame(&self.header.delta(reasoning_delta("\n\n"), None)));
        }
        self.text_delta(event, "reasoning_content", frames);
    }

    fn arguments_delta(&mut self, event: &Value, frames: &mut Vec<String>) {
        let Some(index) = event.get("output_index").and_then(Value::as_u64) else {
            return;
        };
        let Some(arguments) = event
            .get("delta")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        let Some(state) = self.items.get_mut(&index) else {
            return;
        };
        let ItemKind::FunctionCall { tool_index } = state.kind else {
            return;
        };
        state.streamed = true;
        let delta =
            json!({"tool_calls": [{"index": tool_index, "function": {"arguments": arguments}}]});
        frames.push(frame(&self.header.delta(delta, None)));
    }

    fn tool_call_frame(&self, tool_index: usize, item: &Value, arguments: &str) -> String {
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let delta = json!({"tool_calls": [{
            "index": tool_index, "id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments},
        }]});
        frame(&self.header.delta(delta, None))
    }

    /// `response.completed` / `response.incomplete`: fill in what was never streamed,
    /// then the finish chunk and the usage chunk.
    fn complete(&mut self, event: &Value, finish: Option<&str>, frames: &mut Vec<String>) {
        self.ensure_started(event, frames);
        let response = event.get("response").unwrap_or(&Value::Null);
        let output = response
            .get("output")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut has_tool_calls = self.tool_calls > 0;
        for (position, item) in output.iter().enumerate() {
            let index = position as u64;
            let streamed = self.items.get(&index).is_some_and(|s| s.streamed);
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    let text = message_text(item);
                    if !streamed && !text.is_empty() {
                        self.sent_text = true;
                        frames.push(frame(&self.header.delta(json!({"content": text}), None)));
                    }
                    self.cite(message_annotations(item), frames);
                }
                Some("function_call") => {
                    has_tool_calls = true;
                    if !self.items.contains_key(&index) {
                        // A call that appears only in the final payload.
                        let tool_index = self.tool_calls;
                        self.tool_calls += 1;
                        let arguments = item
                            .get("arguments")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        frames.push(self.tool_call_frame(tool_index, item, arguments));
                    }
                }
                _ => {}
            }
        }
        let late = self
            .capture
            .as_mut()
            .map(|c| c.final_output(output))
            .unwrap_or_default();
        for id in late {
            self.announce(&id, frames);
        }
        let reason = finish.unwrap_or(if has_tool_calls { "tool_calls" } else { "stop" });
        frames.push(frame(&self.header.delta(json!({}), Some(reason))));
        if let Some(usage) = response.get("usage").and_then(Usage::from_responses) {
            frames.push(frame(&self.header.usage(&usage)));
            self.usage = Some(usage);
        }
        self.finished = true;
    }

    /// Sends the url citations among `annotations` that were not sent yet.
    fn cite<'a>(
        &mut self,
        annotations: impl IntoIterator<Item = &'a Value>,
        frames: &mut Vec<String>,
    ) {
        let citations = self.citations.new_ones(annotations);
        if !citations.is_empty() {
            frames.push(frame(
                &self.header.delta(json!({"annotations": citations}), None),
            ));
        }
    }

    fn finish_reason_from_items(&self) -> &'static str {
        if self.tool_calls > 0 {
            "tool_calls"
        } else {
            "stop"
        }
    }

    /// Ends the answer with an error card (partial text stays above it) and an error
    /// frame, which the `openai` SDKs raise as an `APIError`.
    fn fail(&mut self, code: &str, message: &str, frames: &mut Vec<String>) {
        let card = stream_failure_card(
            code,
            message,
            &CardContext {
                error_id: &self.error_id,
                timestamp: &self.timestamp,
                model: &self.header.model,
            },
            &self.templates,
        );
        let separator = if self.sent_text { "\n\n" } else { "" };
        frames.push(frame(
            &self
                .header
                .delta(json!({"content": format!("{separator}{card}")}), None),
        ));
        frames.push(frame(&json!({"error": {
            "message": format!("{message} (error id {})", self.error_id),
            "type": "upstream_error",
            "code": code,
            "param": null,
            "error_id": self.error_id,
        }})));
        self.failure = Some((code.to_owned(), message.to_owned()));
        self.finished = true;
    }
}

/// Any of the shapes OpenRouter uses for a failure inside the stream (API.md §5.4, Q6).
fn embedded_error(kind: &str, event: &Value) -> Option<(String, String)> {
    let top_error = event.get("error").filter(|e| e.is_object());
    let response_error = event.pointer("/response/error").filter(|e| e.is_object());
    let failed_response =
        event.pointer("/response/status").and_then(Value::as_str) == Some("failed");
    let error = match kind {
        // The spec's `error` event carries `code` and `message` at its top level.
        "response.failed" | "response.error" | "error" => {
            top_error.or(response_error).unwrap_or(event)
        }
        _ if failed_response => response_error.unwrap_or(&Value::Null),
        _ => top_error.or(response_error)?,
    };
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("OpenRouter reported an error")
        .to_owned();
    let code = error
        .get("code")
        .and_then(|c| {
            c.as_str()
                .map(str::to_owned)
                .or_else(|| c.as_u64().map(|n| n.to_string()))
        })
        .unwrap_or_else(|| "upstream_error".to_owned());
    Some((code, message))
}

/// Reasoning goes out under both names clients read: `reasoning_content` (Open WebUI,
/// DeepSeek-style clients) and `reasoning` (OpenRouter's own Chat Completions field).
/// Clients take one of them, never both.
fn reasoning_delta(text: &str) -> Value {
    json!({"reasoning_content": text, "reasoning": text})
}

fn message_text(item: &Value) -> String {
    item.get("content")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("output_text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::{SseDecoder, SseEvent};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/",
                $name
            ))
        };
    }

    /// Runs a whole upstream body through decoder and translator, fed in `piece`-byte reads.
    fn translate(body: &str, piece: usize) -> Vec<String> {
        translate_capturing(body, piece, None).0
    }

    fn translate_capturing(
        body: &str,
        piece: usize,
        capture: Option<Capture>,
    ) -> (Vec<String>, Option<Capture>) {
        let mut decoder = SseDecoder::new();
        let mut translator = ChunkTranslator::new(StreamContext {
            model: "client/model".into(),
            created: 1,
            fallback_id: "chatcmpl-fallback".into(),
            error_id: "00000000000000e1".into(),
            timestamp: "2026-11-25T05:00:00Z".into(),
        });
        if let Some(capture) = capture {
            translator = translator.with_capture(capture);
        }
        let mut frames = Vec::new();
        for chunk in body.as_bytes().chunks(piece) {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event().expect("no oversize event") {
                match event {
                    SseEvent::Data(data) => frames.extend(translator.on_data(&data)),
                    SseEvent::Done | SseEvent::Comment => {}
                }
            }
        }
        if let Some(SseEvent::Data(data)) = decoder.finish() {
            frames.extend(translator.on_data(&data));
        }
        frames.extend(translator.finish());
        (frames, translator.take_capture())
    }

    #[test]
    fn an_aborted_answer_keeps_its_text_and_ends_with_card_error_and_done() {
        let mut translator = ChunkTranslator::new(StreamContext {
            model: "m".into(),
            created: 1,
            fallback_id: "f".into(),
            error_id: "00000000000000e2".into(),
            timestamp: "2026-12-02T00:00:00Z".into(),
        });
        let mut frames = Vec::new();
        let body = fixture!("stream_text.sse");
        for data in body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .take(5)
        {
            frames.extend(translator.on_data(data));
        }
        frames.extend(translator.abort("deadline_exceeded", "too slow"));
        assert!(translator.abort("again", "ignored").is_empty());
        frames.extend(translator.finish());
        let chunks = chunks(&frames);
        let error = chunks
            .iter()
            .find(|c| c.get("error").is_some())
            .expect("error frame");
        assert_eq!(error["error"]["code"], "deadline_exceeded");
        let content = joined(&chunks, "content");
        assert!(content.contains("00000000000000e2"), "{content}");
        assert_eq!(
            translator.failure().map(|f| f.0.as_str()),
            Some("deadline_exceeded")
        );
    }

    #[test]
    fn captured_reasoning_is_announced_by_a_marker_before_the_text() {
        let body = fixture!("stream_reasoning_summary.sse");
        let (frames, capture) = translate_capturing(
            body,
            7,
            Some(Capture::new(|| "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H".into())),
        );
        let chunks = chunks(&frames);
        let content = joined(&chunks, "content");
        assert!(
            content.starts_with(
                "[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #\n\nThe train travels **150 miles** (60 mph × 2.5 hours)."
            ),
            "{content:?}"
        );
        assert_eq!(
            crate::markers::split(&content)[0],
            crate::markers::Segment::Marker("01KB4Y1Q6ZC3N9TQ7R4X8W2M5H")
        );
        let captured = capture.expect("capture").into_captured();
        assert_eq!(captured.len(), 1);
        let item = &captured[0].item;
        assert_eq!(item["type"], "reasoning");
        assert!(
            item["encrypted_content"]
                .as_str()
                .is_some_and(|c| c.starts_with("gAAAA"))
        );
        // The message carried `phase: final_answer`; its marker follows the text.
        assert!(
            content.ends_with("hours).\n\n[P:final_answer]: #\n\n"),
            "{content:?}"
        );
        // Without a capture the same stream carries no marker.
        assert!(!joined(&chunks_of(body), "content").contains("]: #"));
    }

    fn chunks_of(body: &str) -> Vec<Value> {
        chunks(&translate(body, 64))
    }

    fn chunks(frames: &[String]) -> Vec<Value> {
        assert_eq!(
            frames.last().map(String::as_str),
            Some(DONE_FRAME),
            "ends with [DONE]"
        );
        assert_eq!(
            frames.iter().filter(|f| f.as_str() == DONE_FRAME).count(),
            1
        );
        frames[..frames.len() - 1]
            .iter()
            .map(|f| {
                serde_json::from_str(f.strip_prefix("data: ").expect("data frame").trim_end())
                    .expect("JSON")
            })
            .collect()
    }

    fn joined(chunks: &[Value], field: &str) -> String {
        chunks
            .iter()
            .filter_map(|c| {
                c.pointer(&format!("/choices/0/delta/{field}"))
                    .and_then(Value::as_str)
            })
            .collect()
    }

    fn finish_reasons(chunks: &[Value]) -> Vec<&str> {
        chunks
            .iter()
            .filter_map(|c| {
                c.pointer("/choices/0/finish_reason")
                    .and_then(Value::as_str)
            })
            .collect()
    }

    fn usage_chunks(chunks: &[Value]) -> Vec<&Value> {
        chunks.iter().filter(|c| c.get("usage").is_some()).collect()
    }

    /// The `response.completed` usage of a fixture, for comparison.
    fn fixture_usage(body: &str) -> Value {
        let completed = body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|e| e["type"] == "response.completed")
            .expect("fixture has response.completed");
        Usage::from_responses(&completed["response"]["usage"])
            .expect("usage")
            .to_openai()
    }

    const STREAMS: [&str; 7] = [
        fixture!("stream_text.sse"),
        fixture!("stream_reasoning.sse"),
        fixture!("stream_reasoning_summary.sse"),
        fixture!("stream_tool_call.sse"),
        fixture!("stream_web_search_citations.sse"),
        fixture!("stream_error_midstream.sse"),
        fixture!("stream_error_event.sse"),
    ];

    #[test]
    fn every_fixture_translates_the_same_however_the_bytes_are_split() {
        for body in STREAMS {
            let whole = translate(body, body.len());
            assert_eq!(translate(body, 1), whole);
            assert_eq!(translate(body, 7), whole);
        }
    }

    #[test]
    fn plain_text_streams_as_content_then_stop_then_usage() {
        let body = fixture!("stream_text.sse");
        let chunks = chunks(&translate(body, 64));
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert!(
            chunks[0]["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("gen-")),
            "OpenRouter's id"
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["model"] == "client/model" && c["id"] == chunks[0]["id"])
        );
        assert_eq!(
            joined(&chunks, "content"),
            "Hello! How can I help you today?"
        );
        assert_eq!(finish_reasons(&chunks), ["stop"]);
        let usage = usage_chunks(&chunks);
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0]["usage"], fixture_usage(body));
        assert_eq!(usage[0]["choices"], json!([]));
        assert_eq!(
            chunks.last().map(|c| c.get("usage").is_some()),
            Some(true),
            "usage is last"
        );
    }

    #[test]
    fn reasoning_text_and_summaries_stream_as_reasoning_content() {
        for body in [
            fixture!("stream_reasoning.sse"),
            fixture!("stream_reasoning_summary.sse"),
        ] {
            let chunks = chunks(&translate(body, 64));
            let reasoning = joined(&chunks, "reasoning_content");
            assert_eq!(
                joined(&chunks, "reasoning"),
                reasoning,
                "the same text under both names"
            );
            let content = joined(&chunks, "content");
            assert!(!reasoning.is_empty() && !content.is_empty());
            let first_content = chunks.iter().position(|c| {
                c.pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            });
            let last_reasoning = chunks
                .iter()
                .rposition(|c| c.pointer("/choices/0/delta/reasoning_content").is_some());
            assert!(last_reasoning < first_content);
            assert_eq!(finish_reasons(&chunks), ["stop"]);
            assert_eq!(usage_chunks(&chunks)[0]["usage"], fixture_usage(body));
        }
        let chunks = chunks(&translate(fixture!("stream_reasoning.sse"), 64));
        assert!(
            joined(&chunks, "reasoning_content")
                .starts_with("The user asks whether 1995 was 30 years ago.")
        );
        assert_eq!(
            joined(&chunks, "content"),
            "Yes. As of 2025, 1995 was exactly 30 years ago."
        );
    }

    #[test]
    fn parallel_tool_calls_get_stable_indexes_and_finish_with_tool_calls() {
        let body = fixture!("stream_tool_call.sse");
        let chunks = chunks(&translate(body, 64));
        let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
        for chunk in &chunks {
            for call in chunk
                .pointer("/choices/0/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let entry = calls
                    .entry(call["index"].as_u64().expect("index"))
                    .or_default();
                if let Some(id) = call["id"].as_str() {
                    entry.0 = id.to_owned();
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    entry.1 = name.to_owned();
                }
                entry.2 += call
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
            }
        }
        assert_eq!(calls.len(), 2, "{calls:?}");
        for (id, name, arguments) in calls.values() {
            assert!(!id.is_empty() && !name.is_empty());
            serde_json::from_str::<Value>(arguments).expect("arguments join into JSON");
        }
        assert_eq!(finish_reasons(&chunks), ["tool_calls"]);
        assert_eq!(usage_chunks(&chunks).len(), 1);
    }

    #[test]
    fn web_search_citations_arrive_once_each_after_the_text() {
        let chunks = chunks(&translate(fixture!("stream_web_search_citations.sse"), 64));
        assert_eq!(
            joined(&chunks, "content"),
            "According to the official Rust blog, the latest stable release is listed on its releases page. The GitHub releases page mirrors the same version."
        );
        assert_eq!(finish_reasons(&chunks), ["stop"]);
        let annotations: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c.pointer("/choices/0/delta/annotations"))
            .filter_map(Value::as_array)
            .flatten()
            .collect();
        assert_eq!(annotations.len(), 2, "{annotations:?}");
        assert_eq!(
            annotations[0],
            &json!({"type": "url_citation", "url_citation": {
                "url": "https://blog.rust-lang.org/releases/latest/",
                "title": "Rust Blog: latest release", "start_index": 0, "end_index": 94,
                "content": "Announcing the latest stable Rust release.\n[...]\nUpdate with `rustup update stable`."
            }})
        );
        assert_eq!(
            annotations[1]["url_citation"]["url"],
            "https://github.com/rust-lang/rust/releases"
        );
        let last_text = chunks.iter().rposition(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        });
        let first_citation = chunks
            .iter()
            .position(|c| c.pointer("/choices/0/delta/annotations").is_some());
        assert!(last_text < first_citation);
    }

    #[test]
    fn citations_only_in_the_final_payload_are_still_sent_once() {
        let citation = r#"{"type":"url_citation","url":"https://x.example/","title":"X","start_index":0,"end_index":4}"#;
        let body = [
            r#"data: {"type":"response.created","response":{"id":"gen-c","output":[]}}"#.to_owned(),
            r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#.to_owned(),
            r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Text"}"#.to_owned(),
            format!(
                r#"data: {{"type":"response.completed","response":{{"id":"gen-c","output":[{{"type":"message","content":[{{"type":"output_text","text":"Text","annotations":[{citation},{citation}]}}]}}]}}}}"#
            ),
        ]
        .join("\n\n");
        let chunks = chunks(&translate(&body, 11));
        let annotations: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c.pointer("/choices/0/delta/annotations"))
            .collect();
        assert_eq!(annotations.len(), 1);
        assert_eq!(annotations[0][0]["url_citation"]["title"], "X");
        assert_eq!(joined(&chunks, "content"), "Text");
    }

    #[test]
    fn errors_mid_stream_keep_the_partial_text_then_notice_error_frame_and_done() {
        for (body, heading) in [
            (
                fixture!("stream_error_midstream.sse"),
                "### 🔴 OpenRouter service error",
            ),
            (
                fixture!("stream_error_event.sse"),
                "### ⏸️ Rate limit reached",
            ),
        ] {
            let chunks = chunks(&translate(body, 64));
            let errors: Vec<&Value> = chunks.iter().filter(|c| c.get("error").is_some()).collect();
            assert_eq!(errors.len(), 1);
            assert!(
                errors[0]["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            let content = joined(&chunks, "content");
            assert!(content.contains(heading), "{content}");
            assert!(
                content.contains("`00000000000000e1`"),
                "the card carries the error id"
            );
            assert_eq!(errors[0]["error"]["error_id"], "00000000000000e1");
            assert!(finish_reasons(&chunks).is_empty());
            assert!(
                chunks.last().is_some_and(|c| c.get("error").is_some()),
                "nothing after the error"
            );
        }
    }

    #[test]
    fn each_error_shape_reports_its_own_code_and_message() {
        let midstream = chunks(&translate(fixture!("stream_error_midstream.sse"), 64));
        let error = &midstream.last().expect("chunks")["error"];
        assert_eq!(error["code"], "server_error");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Provider disconnected unexpectedly"))
        );
        let event = chunks(&translate(fixture!("stream_error_event.sse"), 64));
        assert_eq!(
            event.last().expect("chunks")["error"]["code"],
            "rate_limit_exceeded"
        );
        // Q6: an error inside a normal-looking event ends the answer too.
        let embedded = [
            r#"data: {"type":"response.created","response":{"id":"gen-q6","status":"in_progress","error":null}}"#,
            r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Par"}"#,
            r#"data: {"type":"response.in_progress","response":{"id":"gen-q6","status":"in_progress","error":{"code":"server_error","message":"gone"}}}"#,
            r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"is"}"#,
        ]
        .join("\n\n");
        let chunks = chunks(&translate(&embedded, 9));
        assert!(
            joined(&chunks, "content").starts_with("Par\n\n### 🔴 OpenRouter service error\ngone")
        );
        assert_eq!(
            chunks.last().expect("chunks")["error"]["code"],
            "server_error"
        );
        assert_eq!(
            chunks.iter().filter(|c| c.get("error").is_some()).count(),
            1
        );
    }

    #[test]
    fn text_only_in_the_finished_item_survives_a_missing_terminal_event() {
        let body = [
            r#"data: {"type":"response.created","response":{"id":"gen-q2q3","output":[]}}"#,
            r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#,
            r#"data: {"type":"response.content_part.added","output_index":0,"part":{"type":"output_text","text":""}}"#,
            r#"data: {"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"late"}]}}"#,
        ]
        .join("\n\n");
        let without_terminal = chunks(&translate(&body, 3));
        assert_eq!(joined(&without_terminal, "content"), "late");
        assert_eq!(finish_reasons(&without_terminal), ["stop"]);
        assert!(without_terminal.iter().all(|c| c.get("error").is_none()));
        // With the terminal event as well, the text is still sent once.
        let completed = format!(
            "{body}\n\n{}",
            r#"data: {"type":"response.completed","response":{"id":"gen-q2q3","output":[{"type":"message","content":[{"type":"output_text","text":"late"}]}]}}"#
        );
        assert_eq!(
            joined(&chunks(&translate(&completed, 64)), "content"),
            "late"
        );
    }

    #[test]
    fn a_stream_cut_short_reports_the_interruption() {
        let body = fixture!("stream_text.sse");
        let cut = &body[..body
            .find("response.output_text.done")
            .expect("has a done event")];
        let cut = &cut[..cut.rfind("\n\n").expect("event boundary")];
        let chunks = chunks(&translate(cut, 64));
        assert!(joined(&chunks, "content").starts_with("Hello"));
        assert_eq!(
            chunks.last().expect("chunks")["error"]["code"],
            "stream_interrupted"
        );
        let nothing = chunks_of_empty();
        assert_eq!(
            nothing.last().expect("chunks")["error"]["code"],
            "stream_interrupted"
        );
    }

    fn chunks_of_empty() -> Vec<Value> {
        chunks(&translate(": only a keep-alive\n\n", 4))
    }

    #[test]
    fn a_complete_stream_without_its_terminal_event_still_closes_normally() {
        let chunks = chunks(&translate(fixture!("stream_eof_without_completed.sse"), 64));
        assert!(!joined(&chunks, "content").is_empty());
        assert_eq!(finish_reasons(&chunks), ["stop"]);
        assert!(usage_chunks(&chunks).is_empty(), "no usage was reported");
        assert!(chunks.iter().all(|c| c.get("error").is_none()));
    }

    #[test]
    fn incomplete_answers_finish_with_length() {
        let chunks = chunks(&translate(fixture!("stream_incomplete.sse"), 64));
        assert_eq!(finish_reasons(&chunks), ["length"]);
    }

    #[test]
    fn text_present_only_in_the_final_payload_is_still_delivered() {
        let body = [
            r#"data: {"type":"response.created","response":{"id":"gen-q3","output":[]}}"#,
            r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message","content":[]}}"#,
            r#"data: {"type":"response.completed","response":{"id":"gen-q3","output":[{"type":"message","content":[{"type":"output_text","text":"only here"}]}],"usage":{"input_tokens":1,"output_tokens":2}}}"#,
        ]
        .join("\n\n");
        let chunks = chunks(&translate(&body, 5));
        assert_eq!(joined(&chunks, "content"), "only here");
        assert_eq!(finish_reasons(&chunks), ["stop"]);
    }

    #[test]
    fn unknown_events_and_garbage_payloads_are_skipped() {
        let mut translator = ChunkTranslator::new(StreamContext {
            model: "m".into(),
            created: 0,
            fallback_id: "f".into(),
            error_id: "e".into(),
            timestamp: "t".into(),
        });
        assert!(translator.on_data("not json").is_empty());
        assert!(
            translator
                .on_data(r#"{"type":"response.fusion_call.thinking","x":1}"#)
                .is_empty()
        );
        assert!(translator.on_data("[1,2]").is_empty());
        assert_eq!(translator.unreadable_events(), 2);
    }
}
