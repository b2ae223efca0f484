//! What the mock answers to one `POST /api/v1/responses`: the [`Reply`] a test programs.
//!
//! This module only describes replies; `script.rs` and `synthetic.rs` turn them into bytes
//! and pauses, and `mod.rs` serves them.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::Value;

use crate::fixtures::{CaseRef, http_error_case};

/// One programmed answer to a `/responses` call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Replay an `.sse` fixture, with optional pacing, splitting and failure injection.
    Stream(StreamReply),
    /// A JSON body with any status (a non-stream response, or a 200 carrying `status:"failed"`).
    Json { status: u16, body: Value },
    /// A pre-stream HTTP error: status, headers and body sent exactly as given.
    HttpError {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// `stream_text.sse` up to `after_events` events, then the connection stays open and silent,
    /// to exercise the gateway's idle timeout.
    Stall { after_events: usize },
    /// A generated text stream of a chosen length and pace (for the benchmark).
    Synthetic(SyntheticStream),
    /// Server-sent events the mock generated itself (the tool-calling model,
    /// `tool_calls.rs`): each block (`data: …\n\n`) is sent as one chunk, without pauses.
    Events {
        blocks: Vec<String>,
        /// Sent as `x-generation-id`, like OpenRouter's streams.
        generation_id: Option<String>,
    },
}

impl Reply {
    /// A stream replay of `fixture` (a file name in `tests/fixtures/`); refine with the builder
    /// methods of [`StreamReply`].
    pub fn stream(fixture: impl Into<Cow<'static, str>>) -> StreamReply {
        StreamReply::new(fixture)
    }

    /// A JSON reply with this status.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Json { status, body }
    }

    /// A pre-stream error with an `application/json` content type.
    pub fn http_error(status: u16, body: impl Into<String>) -> Reply {
        Reply::HttpError {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// The case of `errors_http.json` at this index or with this `case` name, with its
    /// status, headers and (compact JSON) body.
    pub fn http_error_case<'a>(which: impl Into<CaseRef<'a>>) -> anyhow::Result<Reply> {
        let case = http_error_case(which)?;
        Ok(Reply::HttpError {
            status: case.status,
            headers: case.headers,
            body: case.body.to_string(),
        })
    }

    /// See [`Reply::Stall`].
    pub fn stall(after_events: usize) -> Reply {
        Reply::Stall { after_events }
    }

    /// A synthetic stream of `tokens` text deltas; refine with [`SyntheticStream`]'s builder.
    pub fn synthetic(tokens: usize) -> SyntheticStream {
        SyntheticStream::new(tokens)
    }
}

/// How the bytes of a stream are cut into HTTP chunks. Every chunk is flushed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// One chunk per SSE block (an event or a comment), as OpenRouter usually writes them.
    #[default]
    Whole,
    /// Chunks of this many bytes, cut anywhere: inside a `data:` line, between `\n` and `\n`,
    /// across the end of one event and the start of the next (quirk Q8). A pause
    /// (`event_delay`, keep-alives) always ends a chunk.
    Every(usize),
}

/// How a replayed stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamEnd {
    /// The whole fixture, then a clean end of the chunked body.
    #[default]
    Complete,
    /// After this many events the connection is closed abruptly: the chunked body never
    /// terminates, so the reader sees a transport error (no `[DONE]`).
    CutAfter(usize),
    /// After this many events the body ends cleanly but early, like OpenRouter closing a
    /// stream without a terminal event (quirk Q2).
    CloseAfter(usize),
    /// After this many events nothing more is sent and the connection stays open.
    StallAfter(usize),
}

/// Replay of one `.sse` fixture. Build with [`Reply::stream`] and the methods below.
///
/// "Events" here are `data:` blocks (including `data: [DONE]`); comment blocks are never
/// delayed or counted.
#[derive(Debug, Clone)]
pub struct StreamReply {
    /// File name in `tests/fixtures/`.
    pub fixture: Cow<'static, str>,
    pub split: Split,
    /// Pause before every event (the first one included).
    pub event_delay: Duration,
    /// `: OPENROUTER PROCESSING` comments written just before the first event.
    pub keepalives_before_first: usize,
    /// While pausing, write a keep-alive comment this often.
    pub keepalive_every: Option<Duration>,
    pub end: StreamEnd,
}

impl StreamReply {
    pub fn new(fixture: impl Into<Cow<'static, str>>) -> Self {
        Self {
            fixture: fixture.into(),
            split: Split::Whole,
            event_delay: Duration::ZERO,
            keepalives_before_first: 0,
            keepalive_every: None,
            end: StreamEnd::Complete,
        }
    }

    pub fn split(mut self, split: Split) -> Self {
        self.split = split;
        self
    }

    /// Shorthand for `split(Split::Every(bytes))`.
    pub fn split_every(self, bytes: usize) -> Self {
        self.split(Split::Every(bytes))
    }

    pub fn event_delay(mut self, delay: Duration) -> Self {
        self.event_delay = delay;
        self
    }

    pub fn keepalives_before_first(mut self, count: usize) -> Self {
        self.keepalives_before_first = count;
        self
    }

    pub fn keepalive_every(mut self, period: Duration) -> Self {
        self.keepalive_every = Some(period);
        self
    }

    /// See [`StreamEnd::CutAfter`].
    pub fn cut_after_events(mut self, events: usize) -> Self {
        self.end = StreamEnd::CutAfter(events);
        self
    }

    /// See [`StreamEnd::CloseAfter`].
    pub fn close_after_events(mut self, events: usize) -> Self {
        self.end = StreamEnd::CloseAfter(events);
        self
    }

    /// See [`StreamEnd::StallAfter`].
    pub fn stall_after_events(mut self, events: usize) -> Self {
        self.end = StreamEnd::StallAfter(events);
        self
    }
}

impl From<StreamReply> for Reply {
    fn from(stream: StreamReply) -> Self {
        Reply::Stream(stream)
    }
}

/// A generated text stream shaped like OpenRouter's (`stream_text.sse`):
/// `response.created`, `response.in_progress`, the message item and content part,
/// `tokens` × `response.output_text.delta`, the `done` events, `response.completed` with
/// usage and cost, then `data: [DONE]`. The `model` echoes the request's.
#[derive(Debug, Clone)]
pub struct SyntheticStream {
    /// Pause before `response.created` (time to first token, as seen by the client).
    pub ttft: Duration,
    /// Number of `response.output_text.delta` events.
    pub tokens: usize,
    /// Pause between consecutive deltas.
    pub pace: Duration,
    /// Text of every delta.
    pub delta: String,
    /// Make every delta `" "` + the last text of the request's `input` instead of `delta`,
    /// so a client can tell its own stream from another's (the admission bench).
    pub echo_prompt: bool,
}

impl SyntheticStream {
    /// `tokens` deltas of `" tok"`, no pauses.
    pub fn new(tokens: usize) -> Self {
        Self {
            ttft: Duration::ZERO,
            tokens,
            pace: Duration::ZERO,
            delta: " tok".into(),
            echo_prompt: false,
        }
    }

    pub fn ttft(mut self, ttft: Duration) -> Self {
        self.ttft = ttft;
        self
    }

    pub fn pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    pub fn delta(mut self, delta: impl Into<String>) -> Self {
        self.delta = delta.into();
        self
    }

    /// See [`SyntheticStream::echo_prompt`].
    pub fn echo_prompt(mut self) -> Self {
        self.echo_prompt = true;
        self
    }
}

impl From<SyntheticStream> for Reply {
    fn from(stream: SyntheticStream) -> Self {
        Reply::Synthetic(stream)
    }
}
