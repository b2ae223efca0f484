//! Incremental decoder for `text/event-stream` bodies.
//!
//! Bytes arrive in whatever pieces the network delivers; an event may be split anywhere,
//! even inside a UTF-8 sequence or between `\r` and `\n`. The decoder buffers until a
//! blank line completes an event. It never performs I/O and never panics on input.

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

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SseError {
    /// A single event grew past the limit without a blank line ending it.
    #[error("an SSE event exceeded {limit} bytes")]
    EventTooLarge { limit: usize },
}

/// Default cap for one event: a `response.completed` payload carrying long reasoning
/// can reach a few MiB; anything far beyond that is a broken or hostile upstream.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes received but not yet split into lines.
    pending: Vec<u8>,
    /// Where to resume scanning `pending` for a line end.
    scan_from: usize,
    /// `data:` lines of the event being assembled.
    data: String,
    has_data: bool,
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
            pending: Vec::new(),
            scan_from: 0,
            data: String::new(),
            has_data: false,
            max_event_bytes,
        }
    }

    /// Appends bytes read from the stream. Call [`SseDecoder::next_event`] until it
    /// returns `Ok(None)` to take the events they completed.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Returns the next complete event, or `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        while let Some(line) = self.take_line() {
            if let Some(event) = self.apply_line(&line) {
                return Ok(Some(event));
            }
        }
        if self.pending.len() + self.data.len() > self.max_event_bytes {
            self.pending.clear();
            self.scan_from = 0;
            self.data.clear();
            self.has_data = false;
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(None)
    }

    /// Call at end of stream: an unterminated last line and any assembled data still
    /// count, so a stream cut just before its final blank line loses nothing.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.scan_from = 0;
            let line = String::from_utf8_lossy(strip_cr(&rest)).into_owned();
            if let Some(event) = self.apply_line(&line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    /// Splits one line (without its terminator) off the front of `pending`.
    fn take_line(&mut self) -> Option<String> {
        let Some(rel) = self.pending[self.scan_from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        else {
            // Remember how far we looked so a long line arriving in many reads is scanned once.
            self.scan_from = self.pending.len();
            return None;
        };
        let end = self.scan_from + rel;
        // A lone `\r` at the very end may be the first half of `\r\n`: wait for more.
        if self.pending[end] == b'\r' && end + 1 == self.pending.len() {
            self.scan_from = end;
            return None;
        }
        let terminator_len =
            if self.pending[end] == b'\r' && self.pending.get(end + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
        let line = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        self.pending.drain(..end + terminator_len);
        self.scan_from = 0;
        Some(line)
    }

    /// Applies one line to the event under construction; a blank line dispatches it.
    fn apply_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return Some(SseEvent::Comment);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        // `event:`, `id:` and `retry:` carry nothing OpenRouter relies on: the event
        // type lives inside the JSON.
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data.trim() == "[DONE]" {
            Some(SseEvent::Done)
        } else {
            Some(SseEvent::Data(data))
        }
    }
}

fn strip_cr(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
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

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let events = decode_in_pieces(b"data: \xff\xfe\n\n", 1);
        assert_eq!(events, vec![SseEvent::Data("\u{fffd}\u{fffd}".into())]);
    }
}
