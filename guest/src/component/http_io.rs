//! Reading and writing `wasi:http` bodies: the only place that knows the resource
//! lifetimes (a stream must be dropped before its body, a body finished after writing).

use super::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use super::wasi::io::poll::Pollable;
use super::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::errors::GatewayError;

/// `blocking-write-and-flush` accepts at most this many bytes per call (wasi:io contract).
const MAX_WRITE: usize = 4096;
/// How much to ask for per read; larger reads mean fewer host calls per SSE burst.
const READ_CHUNK: u64 = 64 * 1024;

pub fn header(fields: &Fields, name: &str) -> Option<String> {
    fields
        .get(name)
        .into_iter()
        .next()
        .and_then(|value| String::from_utf8(value).ok())
}

/// Reads a client request body whole, refusing more than `limit` bytes. The buffer is
/// sized once from `Content-Length` (bounded by `limit`), so a large body is not copied
/// again and again as a growing buffer doubles.
pub fn read_request_body(request: &IncomingRequest, limit: usize) -> Result<Vec<u8>, GatewayError> {
    let declared = header(&request.headers(), "content-length")
        .and_then(|length| length.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(GatewayError::PayloadTooLarge(limit));
    }
    let body = request
        .consume()
        .map_err(|()| GatewayError::Internal("request body already consumed".into()))?;
    let reader = BodyReader::new(body)?;
    reader.read_to_end_reserving(limit, declared.unwrap_or(0))
}

/// An incoming body and its stream, dropped in the order `wasi:http` requires.
pub struct BodyReader {
    // Field order is drop order: the stream is a child of the body.
    stream: InputStream,
    _body: IncomingBody,
}

/// Why reading a body stopped early.
pub enum ReadError {
    /// The transport failed; the `wasi:http` error code says how.
    Transport(Option<ErrorCode>),
}

impl BodyReader {
    pub fn new(body: IncomingBody) -> Result<Self, GatewayError> {
        let stream = body
            .stream()
            .map_err(|()| GatewayError::Internal("body stream already taken".into()))?;
        Ok(Self {
            stream,
            _body: body,
        })
    }

    /// The next piece of the body; `Ok(None)` at the end.
    pub fn read(&self) -> Result<Option<Vec<u8>>, ReadError> {
        match self.stream.blocking_read(READ_CHUNK) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StreamError::Closed) => Ok(None),
            Err(StreamError::LastOperationFailed(err)) => Err(ReadError::Transport(
                super::wasi::http::types::http_error_code(&err),
            )),
        }
    }

    /// What the body has now, without waiting: empty when nothing has come yet (wait on
    /// [`BodyReader::subscribe`]), `Ok(None)` at the end.
    pub fn read_ready(&self) -> Result<Option<Vec<u8>>, ReadError> {
        match self.stream.read(READ_CHUNK) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StreamError::Closed) => Ok(None),
            Err(StreamError::LastOperationFailed(err)) => Err(ReadError::Transport(
                super::wasi::http::types::http_error_code(&err),
            )),
        }
    }

    /// Ready once more of the body (or its end) is there. A child of the stream: drop it
    /// before this reader.
    pub fn subscribe(&self) -> Pollable {
        self.stream.subscribe()
    }

    /// The rest of the body, refusing more than `limit` bytes.
    pub fn read_to_end(self, limit: usize) -> Result<Vec<u8>, GatewayError> {
        self.read_to_end_reserving(limit, 0)
    }

    /// [`BodyReader::read_to_end`] with `expected` bytes (at most `limit`) reserved up
    /// front, so a body of known length is never copied into a bigger buffer.
    pub fn read_to_end_reserving(
        self,
        limit: usize,
        expected: usize,
    ) -> Result<Vec<u8>, GatewayError> {
        let mut all = Vec::with_capacity(expected.min(limit));
        loop {
            match self.read() {
                Ok(Some(bytes)) => {
                    let needed = all.len().saturating_add(bytes.len());
                    if needed > limit {
                        return Err(GatewayError::PayloadTooLarge(limit));
                    }
                    if needed > all.capacity() {
                        // No length was declared (or it was wrong): grow geometrically,
                        // but never past the limit.
                        let target = all.capacity().saturating_mul(2).max(needed).min(limit);
                        all.reserve_exact(target.saturating_sub(all.len()));
                    }
                    all.extend_from_slice(&bytes);
                }
                Ok(None) => return Ok(all),
                Err(ReadError::Transport(code)) => {
                    return Err(super::upstream::transport_error(code));
                }
            }
        }
    }
}

/// `value` as JSON bytes, in a buffer of exactly the right size. A growing `Vec` would
/// double past the size and copy itself on the way: for a request carrying a ~63 MiB
/// image that alone is ~190 MiB at once, next to the translated body, in a 256 MiB guest.
/// Counting first costs a second pass over the value, not memory.
pub fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, GatewayError> {
    /// Counts what would be written.
    struct Length(usize);
    impl std::io::Write for Length {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let failed = |e: serde_json::Error| GatewayError::Internal(format!("serializing JSON: {e}"));
    let mut length = Length(0);
    serde_json::to_writer(&mut length, value).map_err(failed)?;
    let mut bytes = Vec::with_capacity(length.0);
    serde_json::to_writer(&mut bytes, value).map_err(failed)?;
    Ok(bytes)
}

/// A response whose head is sent; body bytes are written and flushed as they come.
pub struct ResponseWriter {
    // Field order is drop order: the stream is a child of the body.
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
}

/// The client closed its connection; nobody reads what we write any more.
#[derive(Debug)]
pub struct ClientGone;

impl ResponseWriter {
    pub fn start(
        out: ResponseOutparam,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Result<Self, GatewayError> {
        let list: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&list)
            .map_err(|e| GatewayError::Internal(format!("response headers rejected: {e:?}")))?;
        let response = OutgoingResponse::new(fields);
        response
            .set_status_code(status)
            .map_err(|()| GatewayError::Internal(format!("status {status} rejected")))?;
        let body = response
            .body()
            .map_err(|()| GatewayError::Internal("response body already taken".into()))?;
        ResponseOutparam::set(out, Ok(response));
        let stream = body
            .write()
            .map_err(|()| GatewayError::Internal("response stream already taken".into()))?;
        Ok(Self {
            stream: Some(stream),
            body: Some(body),
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ClientGone> {
        let stream = self.stream.as_ref().ok_or(ClientGone)?;
        for piece in bytes.chunks(MAX_WRITE) {
            if stream.blocking_write_and_flush(piece).is_err() {
                self.stream = None;
                return Err(ClientGone);
            }
        }
        Ok(())
    }

    /// Ends the body; the host then closes the chunked response.
    pub fn finish(mut self) {
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            // An error here means the client is gone; there is nobody left to tell.
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

pub fn respond_json(out: ResponseOutparam, status: u16, json: &str) {
    respond(out, status, &[("content-type", "application/json")], json);
}

/// Answers with the error's status and OpenAI-style body (carrying `error_id`), and
/// `Retry-After` when OpenRouter gave one.
pub fn respond_error(out: ResponseOutparam, error: &GatewayError, error_id: &str) {
    let retry_after = error.retry_after().map(|s| s.to_string());
    let mut headers = vec![("content-type", "application/json")];
    if let Some(seconds) = &retry_after {
        headers.push(("retry-after", seconds.as_str()));
    }
    respond(
        out,
        error.http_status(),
        &headers,
        &error.openai_error_body(error_id),
    );
}

fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: &str) {
    match ResponseWriter::start(out, status, headers) {
        Ok(mut writer) => {
            let _ = writer.write(body.as_bytes());
            writer.finish();
        }
        Err(e) => super::log::emit(
            crate::logline::Level::Error,
            "could not start response",
            &[("error", e.to_string().into())],
        ),
    }
}
