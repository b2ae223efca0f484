//! The answer's stream pipeline: upstream bytes in, client frames out. It owns the SSE
//! decoder and the chunk translator, so the component, the tests, the fuzzer and the
//! bench all run the same loop; the component only reads, writes and keeps deadlines.
//! Pure: no I/O, no clock.

use crate::artifacts::capture::Capture;
use crate::openai::{Frames, Usage};
use crate::owui::status_line::Timing;
use crate::sse::{SseDecoder, SseError, SseEvent, SseEventRef};
use crate::translate::from_chat::ChatEventAdapter;
use crate::translate::to_chunks::{ChunkTranslator, Failure};

/// Whether the pipeline still wants upstream bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Open,
    /// `[DONE]` arrived (or the pipeline finished): later bytes are not read.
    Ended,
    /// An event broke the decoder's limits; the answer ends as interrupted.
    Rejected(SseError),
}

pub struct StreamPipeline {
    decoder: SseDecoder,
    /// For an answer from `/chat/completions`: its chunks become Responses events first.
    chat: Option<ChatEventAdapter>,
    translator: ChunkTranslator,
    upstream: Upstream,
    finished: bool,
}

/// One upstream payload into the translator, through the chat adapter when there is one.
fn translate(
    chat: &mut Option<ChatEventAdapter>,
    translator: &mut ChunkTranslator,
    data: &str,
    out: &mut Frames,
) {
    match chat {
        Some(adapter) => {
            for event in adapter.push(data) {
                translator.on_data(&event, out);
            }
        }
        None => translator.on_data(data, out),
    }
}

/// The chat stream ended: what the adapter held back (the finish and the usage).
fn end_chat(
    chat: &mut Option<ChatEventAdapter>,
    translator: &mut ChunkTranslator,
    out: &mut Frames,
) {
    if let Some(adapter) = chat {
        for event in adapter.finish() {
            translator.on_data(&event, out);
        }
    }
}

impl StreamPipeline {
    pub fn new(translator: ChunkTranslator) -> Self {
        Self::with_decoder(SseDecoder::new(), translator)
    }

    /// For an answer streamed by OpenRouter's `/chat/completions`.
    pub fn for_chat(translator: ChunkTranslator) -> Self {
        let mut pipeline = Self::new(translator);
        pipeline.chat = Some(ChatEventAdapter::new());
        pipeline
    }

    /// With a decoder of another event size limit.
    pub fn with_decoder(decoder: SseDecoder, translator: ChunkTranslator) -> Self {
        Self {
            decoder,
            chat: None,
            translator,
            upstream: Upstream::Open,
            finished: false,
        }
    }

    /// One upstream read: the frames to write for it (possibly none).
    pub fn push(&mut self, bytes: &[u8]) -> Frames {
        let mut out = Frames::default();
        if self.upstream != Upstream::Open {
            return out;
        }
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_event_ref() {
                Ok(Some(SseEventRef::Data(data))) => {
                    translate(&mut self.chat, &mut self.translator, &data, &mut out)
                }
                Ok(Some(SseEventRef::Comment)) => {}
                Ok(Some(SseEventRef::Done)) => {
                    end_chat(&mut self.chat, &mut self.translator, &mut out);
                    self.upstream = Upstream::Ended;
                    break;
                }
                Ok(None) => break,
                Err(error) => {
                    self.upstream = Upstream::Rejected(error);
                    break;
                }
            }
        }
        out
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Ends the answer early (a deadline passed): the error card and error frame;
    /// [`StreamPipeline::finish`] then adds `[DONE]`. Nothing once the answer ended.
    pub fn abort(&mut self, code: &str, message: &str) -> Frames {
        let mut out = Frames::default();
        self.translator.abort(code, message, &mut out);
        out
    }

    /// The upstream body ended (or reading stopped): what an unterminated last event
    /// holds, then the close of the answer (or its interruption card) and `[DONE]`.
    /// Only the first call returns frames.
    pub fn finish(&mut self) -> Frames {
        self.finish_at(None)
    }

    /// [`Self::finish`], told when the answer happened: Open WebUI's status line (when
    /// the translator sends events) shows the times.
    pub fn finish_at(&mut self, timing: Option<&Timing>) -> Frames {
        let mut out = Frames::default();
        if self.finished {
            return out;
        }
        self.finished = true;
        if self.upstream == Upstream::Open {
            if let Some(SseEvent::Data(data)) = self.decoder.finish() {
                translate(&mut self.chat, &mut self.translator, &data, &mut out);
            }
            end_chat(&mut self.chat, &mut self.translator, &mut out);
            self.upstream = Upstream::Ended;
        }
        self.translator.finish_at(timing, &mut out);
        out
    }

    /// Whether the model started answering (an output item or text arrived); the
    /// component notes when, for the status line's speed.
    pub fn output_started(&self) -> bool {
        self.translator.output_started()
    }

    pub fn usage(&self) -> Option<&Usage> {
        self.translator.usage()
    }

    pub fn response_id(&self) -> Option<&str> {
        self.translator.response_id()
    }

    /// The `(code, message)` of the failure that ended the answer, if one did.
    pub fn failure(&self) -> Option<&Failure> {
        self.translator.failure()
    }

    /// The class of the error card that ended the answer, if one did.
    pub fn failure_class(&self) -> Option<crate::errors::cards::ErrorClass> {
        self.translator.failure_class()
    }

    /// Upstream payloads skipped because they were not readable events.
    pub fn unreadable_events(&self) -> usize {
        self.translator.unreadable_events()
    }

    /// The captured artifacts, once the answer has finished.
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.translator.take_capture()
    }

    /// The translator, for the tool loop's steps between rounds (held output, notices,
    /// kept items, tool statuses).
    pub fn translator(&mut self) -> &mut ChunkTranslator {
        &mut self.translator
    }

    /// Another `/responses` stream continues this answer (the tool loop's next round):
    /// a fresh decoder, the same translator.
    pub fn next_round(&mut self) {
        self.decoder = SseDecoder::new();
        self.chat = None;
        self.upstream = Upstream::Open;
        self.finished = false;
        self.translator.next_round();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::DONE_FRAME;
    use crate::translate::to_chunks::StreamContext;

    fn pipeline() -> StreamPipeline {
        StreamPipeline::new(ChunkTranslator::new(StreamContext {
            model: "m".into(),
            created: 1,
            fallback_id: "f".into(),
            error_id: "e".into(),
            timestamp: "t".into(),
        }))
    }

    const TEXT: &str = concat!(
        r#"data: {"type":"response.created","response":{"id":"gen-p"}}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.added","output_index":0,"item":{"type":"message"}}"#,
        "\n\n",
        r#"data: {"type":"response.output_text.delta","output_index":0,"delta":"Hi"}"#,
        "\n\n",
        r#"data: {"type":"response.completed","response":{"id":"gen-p","usage":{"input_tokens":1,"output_tokens":2}}}"#,
        "\n\n",
    );

    #[test]
    fn done_ends_reading_and_finish_closes_once() {
        let mut pipeline = pipeline();
        let first = pipeline.push(TEXT.as_bytes());
        assert_eq!(first.to_strings().len(), 4, "role, text, finish, usage");
        assert_eq!(pipeline.upstream(), &Upstream::Open);
        assert!(
            pipeline
                .push(b"data: [DONE]\n\ndata: {\"type\":\"error\"}\n\n")
                .is_empty()
        );
        assert_eq!(pipeline.upstream(), &Upstream::Ended);
        assert!(pipeline.push(b"data: {\"type\":\"error\"}\n\n").is_empty());
        assert_eq!(pipeline.finish().to_strings(), [DONE_FRAME]);
        assert!(pipeline.finish().is_empty(), "[DONE] once");
        assert_eq!(pipeline.response_id(), Some("gen-p"));
        assert_eq!(pipeline.usage().map(|u| u.total_tokens), Some(3));
        assert_eq!(pipeline.failure(), None);
    }

    #[test]
    fn an_oversized_event_is_rejected_and_the_answer_interrupted() {
        let mut pipeline =
            StreamPipeline::with_decoder(SseDecoder::with_limit(64), pipeline().translator);
        pipeline.push(&[b'x'; 100]);
        assert_eq!(
            pipeline.upstream(),
            &Upstream::Rejected(SseError::EventTooLarge { limit: 64 })
        );
        let end = pipeline.finish().to_strings();
        assert_eq!(end.last().map(String::as_str), Some(DONE_FRAME));
        assert_eq!(
            pipeline.failure().map(|f| f.0.as_str()),
            Some("stream_interrupted")
        );
    }

    #[test]
    fn an_unterminated_last_event_still_counts_and_garbage_is_counted() {
        let mut pipeline = pipeline();
        pipeline.push(b"data: not json\n\n");
        pipeline.push(TEXT.trim_end().as_bytes());
        let end = pipeline.finish().to_strings();
        assert_eq!(end.len(), 3, "finish, usage, [DONE]: {end:?}");
        assert_eq!(pipeline.unreadable_events(), 1);
    }
}
