//! One MCP exchange over `wasi:http`: POST a JSON-RPC message, then read the answer
//! (JSON or SSE, `mcp::answer`) within the server's timeout. The bearer token goes to
//! this server only and is never logged. Whether the host lets the request out at all
//! (configured origin, SSRF guard, `internal`) is the host's decision.

use super::http_io::{BodyReader, ReadError, header};
use super::outgoing::{self, Outgoing, SendError, Timeouts};
use super::wasi::clocks::monotonic_clock;
use super::wasi::http::types::{ErrorCode, IncomingResponse, Method};
use crate::mcp::answer::AnswerReader;
use crate::mcp::envelope::{Envelope, SESSION_HEADER};
use crate::mcp::error::McpError;
use crate::mcp::jsonrpc::Reply;
use crate::mcp::servers::McpServer;
use crate::url::HttpUrl;
use std::time::Duration;

/// The most bytes one answer may have: room for a large tool list or a capped tool
/// output's source; a server sending more is broken or hostile.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// An error answer (non-2xx) is read only this far.
const MAX_ERROR_BYTES: usize = 64 * 1024;
const MAX_CONNECT: Duration = Duration::from_secs(10);

/// What came back.
pub struct Exchange {
    pub status: u16,
    pub session_id: Option<String>,
    /// The JSON-RPC answer; `None` for a notification, or an HTTP error without one.
    pub reply: Option<Reply>,
}

/// Sends `envelope`; `id` is the request's id, `None` for a notification.
pub fn post(
    server: &McpServer,
    url: &HttpUrl,
    envelope: &Envelope,
    id: Option<u64>,
) -> Result<Exchange, McpError> {
    let timeout = server.timeout();
    let started = monotonic_clock::now();
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json, text/event-stream".to_owned()),
    ];
    if let Some(token) = &server.token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    headers.extend(envelope.headers.iter().map(|(n, v)| (*n, v.clone())));
    let response = outgoing::send(Outgoing {
        method: Method::Post,
        url,
        headers: &headers,
        body: &envelope.body,
        timeouts: Timeouts {
            connect: timeout.min(MAX_CONNECT),
            first_byte: timeout,
            between_bytes: timeout,
        },
    })
    .map_err(|e| send_error(e, server))?;
    let status = response.status();
    let fields = response.headers();
    let session_id = header(&fields, SESSION_HEADER);
    let content_type = header(&fields, "content-type");
    drop(fields);
    let Some(id) = id else {
        return Ok(Exchange {
            status,
            session_id,
            reply: None,
        });
    };
    let reply = if (200..300).contains(&status) {
        Some(read_answer(
            response,
            content_type.as_deref(),
            id,
            MAX_ANSWER_BYTES,
            server,
            started,
        )?)
    } else {
        // Some servers explain a refusal in a JSON-RPC error (an unsupported revision);
        // anything else stays a bare HTTP status.
        read_answer(
            response,
            content_type.as_deref(),
            id,
            MAX_ERROR_BYTES,
            server,
            started,
        )
        .ok()
    };
    Ok(Exchange {
        status,
        session_id,
        reply,
    })
}

fn read_answer(
    response: IncomingResponse,
    content_type: Option<&str>,
    id: u64,
    limit: usize,
    server: &McpServer,
    started: monotonic_clock::Instant,
) -> Result<Reply, McpError> {
    let mut reader = AnswerReader::new(content_type, id, limit)?;
    let body = response
        .consume()
        .map_err(|()| McpError::Unreachable("the response body was taken twice".into()))?;
    let body = BodyReader::new(body).map_err(|e| McpError::Unreachable(e.to_string()))?;
    let deadline = super::nanos(server.timeout());
    loop {
        // An SSE stream may stay open with keep-alives and never answer: the whole read,
        // not only each gap, is bounded by the timeout.
        if monotonic_clock::now().saturating_sub(started) > deadline {
            return Err(McpError::Timeout(server.timeout_secs));
        }
        match body.read() {
            Ok(Some(bytes)) => {
                if let Some(reply) = reader.feed(&bytes)? {
                    return Ok(reply);
                }
            }
            Ok(None) => return Ok(reader.finish()?),
            Err(ReadError::Transport(code)) => return Err(transport_error(code, server)),
        }
    }
}

fn send_error(error: SendError, server: &McpServer) -> McpError {
    match error {
        SendError::Build(what) => {
            McpError::Unreachable(format!("the request could not be built ({what})"))
        }
        SendError::Transport(code) => transport_error(code, server),
    }
}

fn transport_error(code: Option<ErrorCode>, server: &McpServer) -> McpError {
    match code {
        Some(ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited) => {
            McpError::Refused
        }
        Some(
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::HttpResponseTimeout,
        ) => McpError::Timeout(server.timeout_secs),
        Some(ErrorCode::ConnectionRefused) => McpError::Unreachable("connection refused".into()),
        Some(ErrorCode::DnsError(_)) => McpError::Unreachable("the name did not resolve".into()),
        Some(other) => McpError::Unreachable(format!("{other:?}")),
        None => McpError::Unreachable("the connection failed".into()),
    }
}
