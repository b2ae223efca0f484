//! A streamed reply as a script of writes and pauses, and the HTTP body that plays it.
//!
//! Replies are compiled up front into [`Step`]s, so pacing, splitting and failure injection
//! are plain data that tests could inspect, and the body needs no background task: when the
//! client goes away hyper drops the body and the script simply stops.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use super::reply::{Split, StreamEnd, StreamReply};
use crate::fixtures::read_fixture;

/// The keep-alive comment OpenRouter documents (API.md §3.1).
pub(crate) const KEEPALIVE: &[u8] = b": OPENROUTER PROCESSING\n\n";

/// One instruction of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send these bytes as one HTTP chunk and flush.
    Write(Bytes),
    /// Pause; measured from the previous pause's deadline so the pace does not drift.
    Wait(Duration),
    /// Fail the body: hyper closes the connection without the chunked terminator.
    Abort,
    /// Send nothing more but keep the connection open.
    Hang,
}

/// Accumulates steps while a reply is compiled.
#[derive(Debug, Default)]
pub(crate) struct ScriptBuilder {
    steps: Vec<Step>,
    keepalive_every: Option<Duration>,
}

impl ScriptBuilder {
    /// A builder that fills every pause longer than `keepalive_every` with keep-alive comments.
    pub(crate) fn with_keepalives(keepalive_every: Option<Duration>) -> Self {
        Self {
            steps: Vec::new(),
            // A zero period would never advance; treat it as "no keep-alives".
            keepalive_every: keepalive_every.filter(|period| !period.is_zero()),
        }
    }

    pub(crate) fn write(&mut self, bytes: impl Into<Bytes>) {
        self.steps.push(Step::Write(bytes.into()));
    }

    pub(crate) fn wait(&mut self, mut pause: Duration) {
        if pause.is_zero() {
            return;
        }
        if let Some(period) = self.keepalive_every {
            while pause > period {
                self.steps.push(Step::Wait(period));
                self.write(KEEPALIVE);
                pause -= period;
            }
        }
        self.steps.push(Step::Wait(pause));
    }

    pub(crate) fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// The finished script with writes re-cut according to `split`.
    pub(crate) fn finish(self, split: Split) -> Vec<Step> {
        match split {
            Split::Whole => self.steps,
            Split::Every(size) => resplit(self.steps, size.max(1)),
        }
    }
}

/// Joins each run of consecutive writes and cuts it into `size`-byte pieces, so pieces
/// straddle event boundaries; pauses and endings stay where they were.
fn resplit(steps: Vec<Step>, size: usize) -> Vec<Step> {
    let mut out = Vec::with_capacity(steps.len());
    let mut run: Vec<u8> = Vec::new();
    for step in steps {
        match step {
            Step::Write(bytes) => run.extend_from_slice(&bytes),
            other => {
                flush_run(&mut run, size, &mut out);
                out.push(other);
            }
        }
    }
    flush_run(&mut run, size, &mut out);
    out
}

fn flush_run(run: &mut Vec<u8>, size: usize, out: &mut Vec<Step>) {
    let bytes = Bytes::from(std::mem::take(run));
    let mut offset = 0;
    while offset < bytes.len() {
        let end = (offset + size).min(bytes.len());
        out.push(Step::Write(bytes.slice(offset..end)));
        offset = end;
    }
}

/// A fixture replay compiled to steps, plus the generation id to announce in `X-Generation-Id`.
pub(crate) struct CompiledStream {
    pub(crate) steps: Vec<Step>,
    pub(crate) generation_id: Option<String>,
}

/// Reads the fixture and turns `reply` into a script.
pub(crate) fn compile_fixture(reply: &StreamReply) -> anyhow::Result<CompiledStream> {
    let bytes = Bytes::from(read_fixture(&reply.fixture)?);
    let blocks = split_blocks(&bytes);
    let generation_id = blocks
        .iter()
        .find_map(|block| data_payload(block))
        .and_then(|payload| response_id(&payload));

    let limit = match reply.end {
        StreamEnd::Complete => None,
        StreamEnd::CutAfter(events)
        | StreamEnd::CloseAfter(events)
        | StreamEnd::StallAfter(events) => Some(events),
    };
    let mut script = ScriptBuilder::with_keepalives(reply.keepalive_every);
    let mut events_sent = 0;
    for block in blocks {
        if !is_event(&block) {
            script.write(block);
            continue;
        }
        if limit.is_some_and(|limit| events_sent >= limit) {
            break;
        }
        if events_sent == 0 {
            for _ in 0..reply.keepalives_before_first {
                script.write(KEEPALIVE);
            }
        }
        script.wait(reply.event_delay);
        script.write(block);
        events_sent += 1;
    }
    match reply.end {
        StreamEnd::Complete | StreamEnd::CloseAfter(_) => {}
        StreamEnd::CutAfter(_) => script.push(Step::Abort),
        StreamEnd::StallAfter(_) => script.push(Step::Hang),
    }
    Ok(CompiledStream {
        steps: script.finish(reply.split),
        generation_id,
    })
}

/// Cuts an SSE body after every blank line (`\n\n`), keeping every byte, so that
/// concatenating the blocks gives back the input exactly.
pub(crate) fn split_blocks(bytes: &Bytes) -> Vec<Bytes> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut scan = 0;
    while let Some(found) = bytes
        .get(scan..)
        .and_then(|rest| rest.windows(2).position(|pair| pair == b"\n\n"))
    {
        let end = scan + found + 2;
        blocks.push(bytes.slice(start..end));
        start = end;
        scan = end;
    }
    if start < bytes.len() {
        blocks.push(bytes.slice(start..));
    }
    blocks
}

/// Whether a block carries a `data:` line (an event, `[DONE]` included) rather than only comments.
fn is_event(block: &[u8]) -> bool {
    block
        .split(|&byte| byte == b'\n')
        .any(|line| line.starts_with(b"data:"))
}

/// The text after `data:` on the block's first data line.
fn data_payload(block: &[u8]) -> Option<String> {
    block
        .split(|&byte| byte == b'\n')
        .find_map(|line| line.strip_prefix(b"data:"))
        .map(|payload| String::from_utf8_lossy(payload).trim().to_owned())
}

/// `response.id` of a `response.*` event, which OpenRouter also uses as the generation id.
fn response_id(payload: &str) -> Option<String> {
    let event: Value = serde_json::from_str(payload).ok()?;
    event
        .pointer("/response/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Plays a script as an HTTP body.
///
/// After every chunk it returns `Pending` once (waking itself at once): hyper's connection
/// loop then flushes what it has buffered before polling again, so each chunk leaves in its
/// own write instead of being coalesced with the next one. That is what makes
/// [`Split::Every`] real on the wire.
pub(crate) struct ScriptBody {
    steps: VecDeque<Step>,
    /// Deadline of the last pause; the next pause is measured from it.
    clock: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    yield_before_next: bool,
    /// A complete body of known length: lets hyper send `Content-Length` instead of chunks.
    exact_len: Option<u64>,
    /// Counts bodies dropped before their end: the client (orpipe) went away mid-answer.
    abandoned: Option<Arc<AtomicUsize>>,
}

impl Drop for ScriptBody {
    fn drop(&mut self) {
        let unfinished = self
            .steps
            .iter()
            .any(|s| matches!(s, Step::Write(_) | Step::Hang));
        if let (true, Some(counter)) = (unfinished, &self.abandoned) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl ScriptBody {
    /// A streamed (chunked) body playing `steps`.
    pub(crate) fn streaming(steps: Vec<Step>) -> Self {
        Self {
            steps: steps.into(),
            clock: Instant::now(),
            sleep: None,
            yield_before_next: false,
            exact_len: None,
            abandoned: None,
        }
    }

    /// Counts this body in `counter` if it is dropped before its end.
    pub(crate) fn count_abandonment(&mut self, counter: Arc<AtomicUsize>) {
        self.abandoned = Some(counter);
    }

    /// An ordinary body of known length.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        let mut body = Self::streaming(vec![Step::Write(bytes)]);
        body.exact_len = Some(len);
        body
    }
}

impl Body for ScriptBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            if std::mem::take(&mut this.yield_before_next) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            match this.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Write(bytes)) => {
                    this.yield_before_next = true;
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Step::Wait(pause)) => {
                    this.clock += pause;
                    this.sleep = Some(Box::pin(tokio::time::sleep_until(this.clock)));
                }
                Some(Step::Abort) => {
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "mock: stream cut on purpose",
                    ))));
                }
                Some(Step::Hang) => {
                    // Keep the step so every later poll hangs too. No waker is registered:
                    // only the client going away (or the mock shutting down) ends this body.
                    this.steps.push_front(Step::Hang);
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.steps.is_empty() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(steps: &[Step]) -> Vec<Vec<u8>> {
        steps
            .iter()
            .filter_map(|step| match step {
                Step::Write(bytes) => Some(bytes.to_vec()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn blocks_concatenate_back_to_the_input() {
        let input = Bytes::from_static(b": a\n: b\n\n: c\n\ndata: {}\n\n\ndata: [DONE]\n\ntail");
        let blocks = split_blocks(&input);
        assert_eq!(blocks.concat(), input.to_vec());
        assert_eq!(blocks.len(), 5);
        assert!(!is_event(&blocks[1]));
        assert!(is_event(&blocks[2]));
        assert!(
            is_event(&blocks[3]),
            "a leading extra newline does not hide the data line"
        );
    }

    #[test]
    fn resplit_cuts_runs_but_not_across_pauses() {
        let mut script = ScriptBuilder::default();
        script.write(&b"abcde"[..]);
        script.write(&b"fgh"[..]);
        script.wait(Duration::from_millis(5));
        script.write(&b"ij"[..]);
        let steps = script.finish(Split::Every(3));
        assert_eq!(
            writes(&steps),
            vec![
                b"abc".to_vec(),
                b"def".to_vec(),
                b"gh".to_vec(),
                b"ij".to_vec()
            ]
        );
        assert_eq!(steps[3], Step::Wait(Duration::from_millis(5)));
    }

    #[test]
    fn long_pauses_are_filled_with_keepalives() {
        let mut script = ScriptBuilder::with_keepalives(Some(Duration::from_millis(10)));
        script.wait(Duration::from_millis(25));
        let steps = script.finish(Split::Whole);
        let keepalives = writes(&steps).iter().filter(|w| w == &KEEPALIVE).count();
        assert_eq!(keepalives, 2);
        let paused: Duration = steps
            .iter()
            .filter_map(|step| match step {
                Step::Wait(pause) => Some(*pause),
                _ => None,
            })
            .sum();
        assert_eq!(paused, Duration::from_millis(25));
    }
}
