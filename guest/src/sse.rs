//! Incremental decoder for `text/event-stream` bodies.
//!
//! Bytes arrive in whatever pieces the network delivers; an event may be split anywhere,
//! even inside a UTF-8 sequence or between `\r` and `\n`. The decoder buffers until a
//! blank line completes an event. It never performs I/O and never panics on input.
//!
//! Cost: the buffer is compacted once per [`SseDecoder::push`], lines are slices of it,
//! and a one-line event (every event OpenRouter sends) reaches the caller as a borrowed
//! `&str` of the buffer ([`SseDecoder::next_event_ref`]); only an event of several
//! `data:` lines, or invalid UTF-8, is copied.

use std::borrow::Cow;
use std::ops::Range;
use thiserror::Error;

/// One complete item of an SSE stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEvent {
    /// The joined `data:` lines of one event (without the trailing newline).
    Data(String),
    /// The `data: [DONE]` sentinel that OpenRouter (and OpenAI chat streams) send last.
    Done,
    /// A `:` comment line. OpenRouter sends these as keep-alives; they only prove liveness.
    Comment,
}

/// [`SseEvent`] borrowing its data from the decoder, valid until the next `push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEventRef<'a> {
    Data(Cow<'a, str>),
    Done,
    Comment,
}

impl SseEventRef<'_> {
    pub fn into_owned(self) -> SseEvent {
        match self {
            Self::Data(data) => SseEvent::Data(data.into_owned()),
            Self::Done => SseEvent::Done,
            Self::Comment => SseEvent::Comment,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SseError {
    /// A single event grew past the limit without a blank line ending it.
    #[error("an SSE event exceeded {limit} bytes")]
    EventTooLarge { limit: usize },
}

/// Default cap for one event: a `response.completed` payload carrying long reasoning
/// can reach a few MiB; anything far beyond that is a broken or hostile upstream.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// The `data:` lines of the event being assembled.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line: its value, still in the buffer (kept by compaction until dispatched).
    Line(Range<usize>),
    /// Several lines, joined with `\n`.
    Joined(String),
}

/// What a line did to the event under construction, without borrowing the decoder.
enum Step {
    Nothing,
    Comment,
    Dispatch,
}

#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes received; `buf[start..]` is not yet split into lines.
    buf: Vec<u8>,
    start: usize,
    /// Where to resume looking for a line end (`>= start`), so a long line arriving in
    /// many reads is scanned once.
    scan_from: usize,
    data: Data,
    /// The value of the event just dispatched, for [`SseDecoder::next_event_ref`].
    dispatched: Data,
    max_event_bytes: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scan_from: 0,
            data: Data::None,
            dispatched: Data::None,
            max_event_bytes,
        }
    }

    /// Appends bytes read from the stream. Call [`SseDecoder::next_event`] (or
    /// [`SseDecoder::next_event_ref`]) until it returns `Ok(None)` to take the events
    /// they completed.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Drops the bytes already consumed, once per read: what remains is at most one
    /// partial event, so nothing is moved twice.
    fn compact(&mut self) {
        self.dispatched = Data::None;
        let keep_from = match &self.data {
            Data::Line(range) => range.start.min(self.start),
            _ => self.start,
        };
        if keep_from == 0 {
            return;
        }
        self.buf.drain(..keep_from);
        self.start -= keep_from;
        self.scan_from -= keep_from;
        if let Data::Line(range) = &mut self.data {
            *range = range.start - keep_from..range.end - keep_from;
        }
    }

    /// Returns the next complete event, or `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        Ok(self.next_event_ref()?.map(SseEventRef::into_owned))
    }

    /// As [`SseDecoder::next_event`], borrowing the event's data instead of copying it.
    pub fn next_event_ref(&mut self) -> Result<Option<SseEventRef<'_>>, SseError> {
        while let Some(line) = self.take_line() {
            match self.apply_line(line) {
                Step::Nothing => {}
                Step::Comment => return Ok(Some(SseEventRef::Comment)),
                Step::Dispatch => return Ok(self.dispatch()),
            }
        }
        let unsplit = self.buf.len() - self.start;
        let assembled = match &self.data {
            Data::None => 0,
            Data::Line(range) => range.len(),
            Data::Joined(joined) => joined.len(),
        };
        if unsplit.saturating_add(assembled) > self.max_event_bytes {
            self.buf.clear();
            self.start = 0;
            self.scan_from = 0;
            self.data = Data::None;
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(None)
    }

    /// Call at end of stream: an unterminated last line and any assembled data still
    /// count, so a stream cut just before its final blank line loses nothing.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.start < self.buf.len() {
            let mut end = self.buf.len();
            if self.buf.last() == Some(&b'\r') {
                end -= 1;
            }
            let line = self.start..end;
            self.start = self.buf.len();
            self.scan_from = self.start;
            match self.apply_line(line) {
                Step::Nothing => {}
                Step::Comment => return Some(SseEvent::Comment),
                Step::Dispatch => return self.dispatch().map(SseEventRef::into_owned),
            }
        }
        self.dispatch().map(SseEventRef::into_owned)
    }

    fn data_pending(&self) -> bool {
        !matches!(self.data, Data::None)
    }

    /// Splits one line (without its terminator) off the unconsumed bytes: its range.
    fn take_line(&mut self) -> Option<Range<usize>> {
        let unscanned = self.buf.get(self.scan_from..)?;
        let Some(offset) = memchr::memchr2(b'\n', b'\r', unscanned) else {
            self.scan_from = self.buf.len();
            return None;
        };
        let end = self.scan_from + offset;
        let terminator_len = if self.buf.get(end) == Some(&b'\r') {
            match self.buf.get(end + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                // A lone `\r` at the very end may be the first half of `\r\n`: wait for more.
                None => {
                    self.scan_from = end;
                    return None;
                }
            }
        } else {
            1
        };
        let line = self.start..end;
        self.start = end + terminator_len;
        self.scan_from = self.start;
        Some(line)
    }

    /// Applies one line to the event under construction; a blank line dispatches it.
    fn apply_line(&mut self, line: Range<usize>) -> Step {
        let Some(bytes) = self.buf.get(line.clone()) else {
            return Step::Nothing;
        };
        if bytes.is_empty() {
            return if self.data_pending() {
                Step::Dispatch
            } else {
                Step::Nothing
            };
        }
        if bytes.first() == Some(&b':') {
            return Step::Comment;
        }
        let (field_len, value_start) = match bytes.iter().position(|&b| b == b':') {
            Some(colon) if bytes.get(colon + 1) == Some(&b' ') => (colon, colon + 2),
            Some(colon) => (colon, colon + 1),
            None => (bytes.len(), bytes.len()),
        };
        // `event:`, `id:` and `retry:` carry nothing OpenRouter relies on: the event
        // type lives inside the JSON.
        if bytes.get(..field_len) != Some(b"data".as_slice()) {
            return Step::Nothing;
        }
        let value = line.start + value_start..line.end;
        self.data = match std::mem::take(&mut self.data) {
            Data::None => Data::Line(value),
            Data::Line(first) => {
                let mut joined = self.lossy(first).into_owned();
                joined.push('\n');
                joined.push_str(&self.lossy(value));
                Data::Joined(joined)
            }
            Data::Joined(mut joined) => {
                joined.push('\n');
                joined.push_str(&self.lossy(value));
                Data::Joined(joined)
            }
        };
        Step::Nothing
    }

    fn lossy(&self, range: Range<usize>) -> Cow<'_, str> {
        let bytes = self.buf.get(range).unwrap_or_default();
        // `from_utf8` checks whole words of ASCII at a time; the lossy path is for the
        // rare invalid payload.
        match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        }
    }

    /// Ends the event under construction; nothing when it has no `data:` line.
    fn dispatch(&mut self) -> Option<SseEventRef<'_>> {
        self.dispatched = std::mem::take(&mut self.data);
        let data = match &self.dispatched {
            Data::None => return None,
            Data::Line(range) => self.lossy(range.clone()),
            Data::Joined(joined) => Cow::Borrowed(joined.as_str()),
        };
        Some(if data.trim() == "[DONE]" {
            SseEventRef::Done
        } else {
            SseEventRef::Data(data)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event().expect("no oversize event") {
                events.push(event);
            }
        }
        events.extend(decoder.finish());
        events
    }

    const STREAM: &str = ": OPENROUTER PROCESSING\n\ndata: {\"a\":\"é\"}\n\n: \n\ndata: {\"b\":1}\r\n\r\ndata: [DONE]\n\n";

    #[test]
    fn events_split_at_every_offset_decode_the_same() {
        let whole = decode_in_pieces(STREAM.as_bytes(), STREAM.len());
        assert_eq!(
            whole,
            vec![
                SseEvent::Comment,
                SseEvent::Data("{\"a\":\"é\"}".into()),
                SseEvent::Comment,
                SseEvent::Data("{\"b\":1}".into()),
                SseEvent::Done,
            ]
        );
        for piece in 1..STREAM.len() {
            assert_eq!(
                decode_in_pieces(STREAM.as_bytes(), piece),
                whole,
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn multi_line_data_is_joined_and_other_fields_ignored() {
        let events = decode_in_pieces(b"event: x\nid: 7\nretry: 10\ndata: one\ndata:two\n\n", 3);
        assert_eq!(events, vec![SseEvent::Data("one\ntwo".into())]);
    }

    #[test]
    fn eof_without_blank_line_still_delivers_the_last_event() {
        assert_eq!(
            decode_in_pieces(b"data: {\"x\":1}", 4),
            vec![SseEvent::Data("{\"x\":1}".into())]
        );
        assert_eq!(
            decode_in_pieces(b"data: {\"x\":1}\n", 4),
            vec![SseEvent::Data("{\"x\":1}".into())]
        );
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing() {
        assert_eq!(decode_in_pieces(b"\n\n\r\n\n", 1), vec![]);
    }

    #[test]
    fn an_oversized_event_is_an_error_not_unbounded_memory() {
        let mut decoder = SseDecoder::with_limit(16);
        decoder.push(b"data: 0123456789abcdefghij");
        assert_eq!(
            decoder.next_event(),
            Err(SseError::EventTooLarge { limit: 16 })
        );
        decoder.push(b"\n\ndata: ok\n\n");
        assert_eq!(decoder.next_event(), Ok(Some(SseEvent::Data("ok".into()))));
    }

    /// Every way of cutting the stream into three reads, with CRLF, CR and LF line ends,
    /// multi-line data, comments, other fields and non-ASCII text in it.
    #[test]
    fn events_cut_at_any_two_points_decode_the_same() {
        let stream = "id: 1\r\ndata: {\"a\":\"é€\"}\r\n\r\n: keep-alive\rdata: one\rdata: two\r\r\
                      event: x\ndata:{}\n\ndata: [DONE]\n\n"
            .as_bytes();
        let expected = vec![
            SseEvent::Data("{\"a\":\"é€\"}".into()),
            SseEvent::Comment,
            SseEvent::Data("one\ntwo".into()),
            SseEvent::Data("{}".into()),
            SseEvent::Done,
        ];
        assert_eq!(decode_in_pieces(stream, stream.len()), expected);
        for first in 0..=stream.len() {
            for second in first..=stream.len() {
                let mut decoder = SseDecoder::new();
                let mut events = Vec::new();
                for piece in [&stream[..first], &stream[first..second], &stream[second..]] {
                    decoder.push(piece);
                    while let Some(event) = decoder.next_event().expect("no oversize event") {
                        events.push(event);
                    }
                }
                events.extend(decoder.finish());
                assert_eq!(events, expected, "cut at {first} and {second}");
            }
        }
    }

    #[test]
    fn a_one_line_event_is_borrowed_from_the_buffer_not_copied() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: {\"x\":1}\n\ndata: a\ndata: b\n\n");
        assert!(matches!(
            decoder.next_event_ref(),
            Ok(Some(SseEventRef::Data(Cow::Borrowed("{\"x\":1}"))))
        ));
        assert!(matches!(
            decoder.next_event_ref(),
            Ok(Some(SseEventRef::Data(Cow::Borrowed("a\nb"))))
        ));
        assert_eq!(decoder.next_event_ref(), Ok(None));
    }

    #[test]
    fn a_data_line_survives_the_compaction_of_a_later_read() {
        let mut decoder = SseDecoder::new();
        decoder.push(b": ping\n\ndata: kept");
        assert_eq!(decoder.next_event(), Ok(Some(SseEvent::Comment)));
        assert_eq!(decoder.next_event(), Ok(None));
        decoder.push(b"\nid: 3\n");
        assert_eq!(decoder.next_event(), Ok(None));
        decoder.push(b"\r\n");
        assert_eq!(
            decoder.next_event(),
            Ok(Some(SseEvent::Data("kept".into())))
        );
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let events = decode_in_pieces(b"data: \xff\xfe\n\n", 1);
        assert_eq!(events, vec![SseEvent::Data("\u{fffd}\u{fffd}".into())]);
    }
}
