//! Reading a server's answer to one request, fed the body piece by piece: a single JSON
//! object (`application/json`) or an SSE stream (`text/event-stream`) on which the answer
//! arrives among notifications. Reading stops as soon as the answer is in, so a stream
//! the server keeps open afterwards costs nothing; a body past the size cap, a body that
//! is not JSON-RPC (an HTML error page, a proxy's login form) or a stream that ends
//! without the answer each fail with their own reason.

use super::jsonrpc::{self, Message, Reply};
use crate::sse::{SseDecoder, SseError, SseEvent};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnswerError {
    #[error("the server answered with {0:?}, not JSON or an event stream")]
    ContentType(String),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer is not JSON-RPC: {0}")]
    NotJsonRpc(String),
    #[error("the event stream ended without an answer")]
    NoAnswer,
}

enum Format {
    Json(Vec<u8>),
    Sse(SseDecoder),
}

/// Collects the answer to request `id`.
pub struct AnswerReader {
    format: Format,
    id: u64,
    read: usize,
    limit: usize,
}

impl AnswerReader {
    /// `content_type` as the response's header gave it; `limit` caps the bytes read.
    pub fn new(content_type: Option<&str>, id: u64, limit: usize) -> Result<Self, AnswerError> {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match media.as_str() {
            "application/json" => Format::Json(Vec::new()),
            "text/event-stream" => Format::Sse(SseDecoder::with_limit(limit)),
            _ => return Err(AnswerError::ContentType(media)),
        };
        Ok(Self {
            format,
            id,
            read: 0,
            limit,
        })
    }

    /// Takes the next piece of the body; `Some` once the answer is complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Reply>, AnswerError> {
        self.read = self.read.saturating_add(bytes.len());
        if self.read > self.limit {
            return Err(AnswerError::TooLarge(self.limit));
        }
        match &mut self.format {
            Format::Json(buffer) => {
                buffer.extend_from_slice(bytes);
                Ok(None)
            }
            Format::Sse(decoder) => {
                decoder.push(bytes);
                loop {
                    match decoder.next_event() {
                        Ok(Some(SseEvent::Data(data))) => {
                            if let Some(reply) = answer_in(&data, self.id)? {
                                return Ok(Some(reply));
                            }
                        }
                        Ok(Some(SseEvent::Done | SseEvent::Comment)) => {}
                        Ok(None) => return Ok(None),
                        Err(SseError::EventTooLarge { limit }) => {
                            return Err(AnswerError::TooLarge(limit));
                        }
                    }
                }
            }
        }
    }

    /// The body ended: the answer, or why there is none.
    pub fn finish(mut self) -> Result<Reply, AnswerError> {
        match &mut self.format {
            Format::Json(buffer) => {
                let text = String::from_utf8_lossy(buffer);
                match jsonrpc::read_message(&text, self.id).map_err(AnswerError::NotJsonRpc)? {
                    Message::Answer(reply) => Ok(reply),
                    Message::Other => Err(AnswerError::NotJsonRpc(
                        "the JSON is not the answer to the request sent".into(),
                    )),
                }
            }
            Format::Sse(decoder) => match decoder.finish() {
                Some(SseEvent::Data(data)) => {
                    answer_in(&data, self.id)?.ok_or(AnswerError::NoAnswer)
                }
                _ => Err(AnswerError::NoAnswer),
            },
        }
    }
}

fn answer_in(data: &str, id: u64) -> Result<Option<Reply>, AnswerError> {
    // Some servers send an empty `data:` event to prime the stream (resumability).
    if data.trim().is_empty() {
        return Ok(None);
    }
    match jsonrpc::read_message(data, id).map_err(AnswerError::NotJsonRpc)? {
        Message::Answer(reply) => Ok(Some(reply)),
        Message::Other => Ok(None),
    }
}

/// Reads a whole body given at once (tests, and callers that already hold it).
pub fn read_whole(
    content_type: Option<&str>,
    id: u64,
    body: &[u8],
    limit: usize,
) -> Result<Reply, AnswerError> {
    let mut reader = AnswerReader::new(content_type, id, limit)?;
    match reader.feed(body)? {
        Some(reply) => Ok(reply),
        None => reader.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::jsonrpc::RpcError;
    use serde_json::json;

    const LIMIT: usize = 1 << 20;

    #[test]
    fn a_json_answer_is_read_whole() {
        let body = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;
        assert_eq!(
            read_whole(Some("application/json; charset=utf-8"), 1, body, LIMIT),
            Ok(Reply::Result(json!({"tools": []})))
        );
    }

    #[test]
    fn an_sse_answer_is_found_among_notifications_in_any_split() {
        let stream = concat!(
            "event: message\ndata: \n\n",
            ": keep-alive\n\n",
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n",
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}\n\n",
        )
        .as_bytes();
        for split in 1..stream.len() {
            let (head, tail) = stream.split_at(split);
            let mut reader = AnswerReader::new(Some("text/event-stream"), 2, LIMIT).expect("sse");
            let first = reader.feed(head).expect("feed");
            let reply = match first {
                Some(reply) => reply,
                None => match reader.feed(tail).expect("feed") {
                    Some(reply) => reply,
                    None => reader.finish().expect("answer"),
                },
            };
            assert_eq!(
                reply,
                Reply::Result(json!({"content": []})),
                "split at {split}"
            );
        }
    }

    #[test]
    fn the_answer_ends_reading_even_if_the_stream_goes_on() {
        let mut reader = AnswerReader::new(Some("text/event-stream"), 1, LIMIT).expect("sse");
        let answered = reader
            .feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"no\"}}\n\n: ping\n\n")
            .expect("feed");
        assert_eq!(
            answered,
            Some(Reply::Error(RpcError {
                code: -32601,
                message: "no".into(),
                data: None
            }))
        );
    }

    #[test]
    fn html_garbage_endless_and_huge_answers_fail_with_their_reason() {
        assert_eq!(
            read_whole(Some("text/html"), 1, b"<html>", LIMIT).err(),
            Some(AnswerError::ContentType("text/html".into()))
        );
        assert!(matches!(
            read_whole(Some("application/json"), 1, b"<html>", LIMIT),
            Err(AnswerError::NotJsonRpc(_))
        ));
        assert_eq!(
            read_whole(Some("text/event-stream"), 1, b": ping\n\n: ping\n\n", LIMIT),
            Err(AnswerError::NoAnswer)
        );
        let mut reader = AnswerReader::new(Some("text/event-stream"), 1, 64).expect("sse");
        let mut outcome = Ok(None);
        for _ in 0..10 {
            outcome = reader.feed(b": keep-alive ping\n\n");
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome, Err(AnswerError::TooLarge(64)));
        assert!(matches!(
            read_whole(
                Some("application/json"),
                1,
                b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}",
                LIMIT
            ),
            Err(AnswerError::NotJsonRpc(_))
        ));
    }
}
