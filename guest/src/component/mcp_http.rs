//! One MCP exchange over `wasi:http`: POST a JSON-RPC message, then read the answer
//! (JSON or SSE, `mcp::answer`) within a time limit: the server's timeout, or a caller's
//! shorter one. [`start`] only sends, so several exchanges can be under way at once
//! (`mcp_pending` reads them); [`post`] sends and waits. The bearer token goes to this
//! server only and is never logged. Whether the host lets the request out at all
//! (configured origin, SSRF guard, `internal`) is the host's decision.

use super::mcp_pending::PendingExchange;
use super::outgoing::{self, Outgoing, SendError, Timeouts};
use super::wasi::clocks::monotonic_clock;
use super::wasi::http::types::{ErrorCode, Method};
use crate::mcp::envelope::Envelope;
use crate::mcp::error::McpError;
use crate::mcp::jsonrpc::Reply;
use crate::mcp::servers::McpServer;
use crate::url::HttpUrl;
use std::time::Duration;

const MAX_CONNECT: Duration = Duration::from_secs(10);

/// What came back.
pub struct Exchange {
    pub status: u16,
    pub session_id: Option<String>,
    /// The JSON-RPC answer; `None` for a notification, or an HTTP error without one.
    pub reply: Option<Reply>,
}

/// Sends `envelope` and waits for the answer within the server's timeout; `id` is the
/// request's id, `None` for a notification.
pub fn post(
    server: &McpServer,
    url: &HttpUrl,
    envelope: &Envelope,
    id: Option<u64>,
) -> Result<Exchange, McpError> {
    start(server, url, envelope, id, server.timeout())?.wait()
}

/// Sends `envelope` without waiting for the answer, which must come within `limit` (and
/// the server's timeout, whichever is shorter).
pub fn start(
    server: &McpServer,
    url: &HttpUrl,
    envelope: &Envelope,
    id: Option<u64>,
    limit: Duration,
) -> Result<PendingExchange, McpError> {
    let limit = limit.min(server.timeout());
    let started = monotonic_clock::now();
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json, text/event-stream".to_owned()),
    ];
    if let Some(token) = &server.token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    headers.extend(envelope.headers.iter().map(|(n, v)| (*n, v.clone())));
    let pending = outgoing::start(Outgoing {
        method: Method::Post,
        url,
        headers: &headers,
        body: &envelope.body,
        timeouts: Timeouts {
            connect: limit.min(MAX_CONNECT),
            first_byte: limit,
            between_bytes: limit,
        },
    })
    .map_err(|e| send_error(e, limit))?;
    Ok(PendingExchange::new(pending, id, started, limit))
}

pub fn send_error(error: SendError, limit: Duration) -> McpError {
    match error {
        SendError::Build(what) => {
            McpError::Unreachable(format!("the request could not be built ({what})"))
        }
        SendError::Transport(code) => transport_error(code, limit),
    }
}

pub fn transport_error(code: Option<ErrorCode>, limit: Duration) -> McpError {
    match code {
        Some(ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited) => {
            McpError::Refused
        }
        Some(
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::HttpResponseTimeout,
        ) => McpError::timeout_after(limit),
        Some(ErrorCode::ConnectionRefused) => McpError::Unreachable("connection refused".into()),
        Some(ErrorCode::DnsError(_)) => McpError::Unreachable("the name did not resolve".into()),
        Some(other) => McpError::Unreachable(format!("{other:?}")),
        None => McpError::Unreachable("the connection failed".into()),
    }
}
