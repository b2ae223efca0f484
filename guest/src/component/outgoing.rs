//! Outgoing `wasi:http` requests, built and sent one way for every caller: OpenRouter
//! (`upstream`), remote media (`fetch`) and MCP servers. The host decides how the
//! connection is made (pooling, allow-list, address checks); each caller maps `SendError`
//! to its own words. [`start`] lets a caller send several requests before waiting for
//! any: the host works on all of them at once.

use super::wasi::http::outgoing_handler;
use super::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme,
};
use super::wasi::io::poll::Pollable;
use super::wasi::io::streams::StreamError;
use crate::url::HttpUrl;
use std::time::Duration;

/// One request to send.
pub struct Outgoing<'a> {
    pub method: Method,
    pub url: &'a HttpUrl,
    pub headers: &'a [(&'a str, String)],
    pub body: &'a [u8],
    pub timeouts: Timeouts,
}

/// The `wasi:http` request options. Hosts may not support every timeout; an unsupported
/// one is simply not applied.
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

/// Why no response came back.
pub enum SendError {
    /// The request could not be built or its response read (names the part); not the
    /// network's fault.
    Build(&'static str),
    /// The transport failed; the `wasi:http` error code says how.
    Transport(Option<ErrorCode>),
}

/// A request the host is sending; its response head comes later.
pub struct Pending {
    future: FutureIncomingResponse,
}

impl Pending {
    /// Ready once the response head (or the failure) is there. A child of this request:
    /// drop it before the request.
    pub fn subscribe(&self) -> Pollable {
        self.future.subscribe()
    }

    /// The response head if it has come; `None` while the host still waits. Never blocks.
    pub fn ready(&self) -> Option<Result<IncomingResponse, SendError>> {
        match self.future.get()? {
            Ok(Ok(response)) => Some(Ok(response)),
            Ok(Err(code)) => Some(Err(SendError::Transport(Some(code)))),
            Err(()) => Some(Err(SendError::Build("response taken twice"))),
        }
    }

    /// Waits for the response head.
    pub fn wait(self) -> Result<IncomingResponse, SendError> {
        self.future.subscribe().block();
        self.ready()
            .unwrap_or(Err(SendError::Build("response not ready after waiting")))
    }
}

/// Sends the request and waits for the response head.
pub fn send(request: Outgoing<'_>) -> Result<IncomingResponse, SendError> {
    start(request)?.wait()
}

/// Hands the request (with its body) to the host and returns without waiting for the
/// answer.
pub fn start(request: Outgoing<'_>) -> Result<Pending, SendError> {
    let list: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&list).map_err(|_| SendError::Build("headers"))?;
    let outgoing = OutgoingRequest::new(fields);
    let scheme = if request.url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing
        .set_method(&request.method)
        .map_err(|()| SendError::Build("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| SendError::Build("scheme"))?;
    outgoing
        .set_authority(Some(&request.url.authority))
        .map_err(|()| SendError::Build("host"))?;
    outgoing
        .set_path_with_query(Some(&request.url.path_with_query))
        .map_err(|()| SendError::Build("path"))?;
    let outgoing_body = outgoing.body().map_err(|()| SendError::Build("body"))?;

    let options = RequestOptions::new();
    let timeouts = &request.timeouts;
    let _ = options.set_connect_timeout(Some(super::nanos(timeouts.connect)));
    let _ = options.set_first_byte_timeout(Some(super::nanos(timeouts.first_byte)));
    let _ = options.set_between_bytes_timeout(Some(super::nanos(timeouts.between_bytes)));

    // An empty body is finished before `handle` so the host sees a complete request;
    // a non-empty one is written after, because the host only drains it once sending.
    let pending_body = if request.body.is_empty() {
        OutgoingBody::finish(outgoing_body, None).map_err(|e| SendError::Transport(Some(e)))?;
        None
    } else {
        Some(outgoing_body)
    };
    let future = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|e| SendError::Transport(Some(e)))?;
    if let Some(outgoing_body) = pending_body {
        write_body(outgoing_body, request.body)?;
    }
    Ok(Pending { future })
}

fn write_body(outgoing_body: OutgoingBody, body: &[u8]) -> Result<(), SendError> {
    let stream = outgoing_body
        .write()
        .map_err(|()| SendError::Build("request stream taken twice"))?;
    // `blocking-write-and-flush` takes at most 4096 bytes per call (wasi:io contract).
    for piece in body.chunks(4096) {
        if let Err(e) = stream.blocking_write_and_flush(piece) {
            drop(stream);
            let code = match e {
                StreamError::LastOperationFailed(err) => {
                    super::wasi::http::types::http_error_code(&err)
                }
                StreamError::Closed => None,
            };
            return Err(SendError::Transport(code));
        }
    }
    drop(stream);
    OutgoingBody::finish(outgoing_body, None).map_err(|e| SendError::Transport(Some(e)))
}
