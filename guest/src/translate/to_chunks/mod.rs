//! Responses stream events → Chat Completions chunks, one event at a time.
//!
//! State is kept per output item (`output_index`, in [`items`]), never as a "current
//! item", because OpenRouter may finish items out of order. The translator tolerates what
//! real streams do (API.md §3.6): unknown events, keep-alives, text only in the final
//! payload, a stream that ends without `response.completed`, errors inside
//! normal-looking events. Payloads that are not events are skipped and counted.
//!
//! This module never performs I/O: `&str` payloads in, finished SSE frames out. The
//! rules it shares with whole answers live with the types: the finish reason in
//! [`FinishReason`], failures in [`StreamEvent::failure`], texts in
//! the Responses `Message`, citations in [`super::citations`], the phase marker in
//! [`super::phase`].

#[cfg(test)]
mod event_tests;
mod items;
#[cfg(test)]
mod round_tests;
mod rounds;
#[cfg(test)]
mod tests;

use super::citations::Citations;
use super::image_output::ImageOutput;
use crate::artifacts::capture::Capture;
use crate::errors::cards::{
    CardContext, CardTemplates, ErrorClass, ModelFacts, StreamFailure, stream_failure_card,
};
use crate::markers;
use crate::openai::{ChunkHeader, Delta, FinishReason, Frames, StreamHeader, Usage};
use crate::owui::events::OpenWebUiEvents;
use crate::owui::status_line::Timing;
use crate::responses::{Annotation, Response, StreamEvent};
use items::Items;

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

/// The `(code, message)` of the failure that ended an answer.
pub type Failure = (String, String);

pub struct ChunkTranslator {
    /// Every chunk's id, model and time, with the opening of a delta chunk serialized once.
    header: StreamHeader,
    error_id: String,
    timestamp: String,
    failure: Option<Failure>,
    response_id: Option<String>,
    started: bool,
    items: Items,
    /// Some answer text went out (markers and error cards then start on a new paragraph).
    sent_text: bool,
    /// Bytes of content sent so far: where a captured item finished, for its replay.
    text_bytes: usize,
    /// The last two bytes of content sent, so the marker block adds only the line breaks
    /// the text lacks.
    text_tail: [u8; 2],
    /// Ids of captured artifacts, for the marker block that ends the answer.
    pending_markers: Vec<String>,
    usage: Option<Usage>,
    finished: bool,
    unreadable_events: usize,
    capture: Option<Capture>,
    citations: Citations,
    templates: CardTemplates,
    /// Open WebUI's event chunks, for Open WebUI only; `None` for every other client,
    /// whose stream then costs one branch per item or citation and nothing per delta.
    events: Option<OpenWebUiEvents>,
    image_output: ImageOutput,
    /// Generated images shown so far (they are numbered for the client).
    images: usize,
    /// The catalog's facts about the model (its limits), for the error card.
    facts: Option<ModelFacts>,
    /// The tool loop's state when server tools are offered (`with_tool_loop`).
    rounds: Option<rounds::Rounds>,
    /// The class of the error card that ended the answer, if one did.
    failure_class: Option<ErrorClass>,
}

impl ChunkTranslator {
    pub fn new(ctx: StreamContext) -> Self {
        Self {
            header: StreamHeader::new(ChunkHeader {
                id: ctx.fallback_id,
                model: ctx.model,
                created: ctx.created,
            }),
            error_id: ctx.error_id,
            timestamp: ctx.timestamp,
            failure: None,
            response_id: None,
            started: false,
            items: Items::default(),
            sent_text: false,
            text_bytes: 0,
            text_tail: [0; 2],
            pending_markers: Vec::new(),
            usage: None,
            finished: false,
            unreadable_events: 0,
            capture: None,
            citations: Citations::default(),
            templates: CardTemplates::default(),
            events: None,
            image_output: ImageOutput::default(),
            images: 0,
            facts: None,
            rounds: None,
            failure_class: None,
        }
    }

    /// What the catalog says about the model, shown on an error card (name, limits).
    pub fn with_facts(mut self, facts: Option<ModelFacts>) -> Self {
        self.facts = facts;
        self
    }

    /// How generated images reach the client (Markdown too, the size cap).
    pub fn with_image_output(mut self, image_output: ImageOutput) -> Self {
        self.image_output = image_output;
        self
    }

    /// Sends Open WebUI's event chunks (statuses, sources in place of annotations, the
    /// final status line); only for a client known to be Open WebUI.
    pub fn with_events(mut self, events: OpenWebUiEvents) -> Self {
        self.events = Some(events);
        self
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

    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    /// The `(code, message)` of the failure that ended the answer, if one did.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The class of the error card that ended the answer, if one did.
    pub fn failure_class(&self) -> Option<ErrorClass> {
        self.failure_class
    }

    /// Payloads that were not readable events (not JSON, not an object, or a known event
    /// with fields of another shape); they are skipped, and counted for the log.
    pub fn unreadable_events(&self) -> usize {
        self.unreadable_events
    }

    /// Translates one SSE `data:` payload, appending the frames to send to `out`.
    pub fn on_data(&mut self, data: &str, out: &mut Frames) {
        if self.finished {
            return;
        }
        match StreamEvent::from_json(data) {
            Ok(event) => self.on_event(&event, data, out),
            Err(_) => self.unreadable_events += 1,
        }
    }

    /// Ends the answer early (a deadline passed): the partial text stays, the error card
    /// and error frame follow; `finish` then adds `[DONE]`. Nothing if already ended.
    pub fn abort(&mut self, code: &str, message: &str, out: &mut Frames) {
        if !self.finished {
            self.fail(code, message, out);
        }
    }

    /// Whether an output item (or text) has arrived: the model started answering.
    pub fn output_started(&self) -> bool {
        self.items.any() || self.sent_text
    }

    /// The upstream body ended. Closes the answer (or reports it broken) and ends with `[DONE]`.
    pub fn finish(&mut self, out: &mut Frames) {
        self.finish_at(None, out);
    }

    /// [`Self::finish`], told when the answer happened (for Open WebUI's status line,
    /// which comes last before `[DONE]`).
    pub fn finish_at(&mut self, timing: Option<&Timing>, out: &mut Frames) {
        // A response held for the tool loop that nobody continued ends the turn as it is.
        self.release(out);
        if !self.finished {
            if self.started && self.items.all_done() {
                // OpenRouter sometimes closes a complete stream without `response.completed`
                // (no usage then); every item finished, so the answer is whole.
                self.flush_markers(out);
                let reason = FinishReason::whole(self.items.tool_calls() > 0);
                out.push_delta(&self.header, &Delta::default(), Some(reason));
            } else {
                self.fail(
                    "stream_interrupted",
                    "the connection to OpenRouter ended before the answer was complete",
                    out,
                );
            }
            self.finished = true;
        }
        if let Some(events) = &mut self.events {
            for event in events.closing(timing, self.usage.as_ref()) {
                out.push_event(self.header.header(), &event);
            }
        }
        out.push_done();
    }

    fn on_event(&mut self, event: &StreamEvent<'_>, data: &str, out: &mut Frames) {
        if let Some(error) = event.failure() {
            self.ensure_started(event.response(), out);
            let code = error.code.as_deref().unwrap_or("upstream_error");
            let message = error
                .message
                .as_deref()
                .unwrap_or("OpenRouter reported an error");
            return self.fail_with(code, message, Some(data), out);
        }
        match event {
            StreamEvent::Created(_) | StreamEvent::InProgress(_) => {
                self.ensure_started(event.response(), out)
            }
            StreamEvent::ItemAdded(added) => self.item_added(added, out),
            StreamEvent::ItemDone(done) => self.item_done(done, out),
            StreamEvent::TextDelta(delta) => self.text_delta(delta, Delta::content, out),
            StreamEvent::RefusalDelta(delta) => self.text_delta(delta, Delta::refusal, out),
            StreamEvent::ReasoningDelta(delta) => self.text_delta(delta, Delta::reasoning, out),
            StreamEvent::SummaryDelta(delta) => self.summary_delta(delta, out),
            StreamEvent::ArgumentsDelta(delta) => self.arguments_delta(delta, out),
            StreamEvent::Completed(_) => self.complete(event.response(), None, out),
            StreamEvent::Incomplete(_) => {
                let reason = event.response().and_then(Response::incomplete_reason);
                self.complete(event.response(), Some(FinishReason::cut_short(reason)), out);
            }
            StreamEvent::AnnotationAdded(added) => {
                self.ensure_started(None, out);
                let annotation = added.annotation.as_ref().and_then(|a| a.valid());
                self.cite(annotation, out);
            }
            StreamEvent::ContentPartDone(done) => {
                let part = done.part.as_ref().and_then(|p| p.valid());
                self.cite(part.into_iter().flat_map(|p| p.annotations()), out);
            }
            // Failures were handled above; see `StreamEvent::Unknown` for what is ignored.
            StreamEvent::Failed(_) | StreamEvent::Error(_) | StreamEvent::Unknown => {}
        }
    }

    /// The role chunk opens the answer, under OpenRouter's response id when it is known.
    fn ensure_started(&mut self, response: Option<&Response>, out: &mut Frames) {
        if self.started {
            return;
        }
        if let Some(id) = response.and_then(Response::id) {
            self.header.set_id(id);
            self.response_id = Some(id.to_owned());
        }
        self.started = true;
        out.push_delta(&self.header, &Delta::start(), None);
    }

    fn content(&mut self, text: &str, out: &mut Frames) {
        self.separate_rounds(out);
        self.count_text(text);
        out.push_delta(&self.header, &Delta::content(text), None);
    }

    /// Keeps the length and the end of the content sent.
    fn count_text(&mut self, text: &str) {
        self.text_bytes += text.len();
        match text.as_bytes() {
            [.., a, b] => self.text_tail = [*a, *b],
            [b] => self.text_tail = [self.text_tail[1], *b],
            [] => {}
        }
    }

    /// A captured artifact's marker waits for the block that ends the answer.
    fn announce(&mut self, id: String) {
        self.pending_markers.push(id);
    }

    /// The marker lines of the answer's artifacts, in one block after its text (FEATURES
    /// §5.6): plain-text clients read the answer first. Each item's place in the text is
    /// stored with it (`artifacts::capture::TEXT_OFFSET_FIELD`) for replay.
    fn flush_markers(&mut self, out: &mut Frames) {
        if self.pending_markers.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.pending_markers);
        let tail: &[u8] = if self.text_bytes == 0 {
            &[]
        } else if self.text_bytes == 1 {
            &self.text_tail[1..]
        } else {
            &self.text_tail
        };
        let block = markers::marker_block(&ids, std::str::from_utf8(tail).unwrap_or("x"));
        self.content(&block, out);
    }

    /// A generated image: in `images`, and in the text when asked or when it was left out.
    fn image(&mut self, call: &crate::responses::ImageCall, out: &mut Frames) {
        self.images += 1;
        let shown = self.image_output.show(call, self.images);
        if let Some(text) = shown.text {
            let separator = if self.sent_text { "\n\n" } else { "" };
            self.sent_text = true;
            self.content(&format!("{separator}{text}\n\n"), out);
        }
        if let Some(image) = shown.image {
            out.push_delta(
                &self.header,
                &Delta::images(std::slice::from_ref(&image)),
                None,
            );
        }
    }

    /// Sends the url citations among `annotations` that were not sent yet: as
    /// `delta.annotations`, or to Open WebUI as `source` events instead (it would turn
    /// the annotations into the same sources again).
    fn cite<'a>(
        &mut self,
        annotations: impl IntoIterator<Item = &'a Annotation>,
        out: &mut Frames,
    ) {
        let citations = self.citations.new_ones(annotations);
        if citations.is_empty() {
            return;
        }
        match &mut self.events {
            Some(events) => {
                for source in events.sources(&citations) {
                    out.push_event(self.header.header(), &source);
                }
            }
            None => out.push_delta(&self.header, &Delta::annotations(&citations), None),
        }
    }

    /// Ends the answer with an error card (partial text stays above it) and an error
    /// frame, which the `openai` SDKs raise as an `APIError`.
    fn fail(&mut self, code: &str, message: &str, out: &mut Frames) {
        self.fail_with(code, message, None, out);
    }

    /// [`Self::fail`] for a failure upstream reported in `event` (its payload), whose
    /// details (provider, request id, streaming fields) go on the card.
    fn fail_with(&mut self, code: &str, message: &str, event: Option<&str>, out: &mut Frames) {
        self.flush_markers(out);
        let (class, card) = stream_failure_card(
            &StreamFailure {
                code,
                message,
                event,
            },
            &CardContext {
                error_id: &self.error_id,
                timestamp: &self.timestamp,
                model: &self.header.header().model,
                facts: self.facts.as_ref(),
            },
            &self.templates,
        );
        let separator = if self.sent_text { "\n\n" } else { "" };
        self.content(&format!("{separator}{card}"), out);
        let message_with_id = format!("{message} (error id {})", self.error_id);
        out.push_error(code, &message_with_id, &self.error_id);
        self.failure = Some((code.to_owned(), message.to_owned()));
        self.failure_class = Some(class);
        self.finished = true;
    }
}
