//! [`MockMcpServer`]: a scriptable MCP server (Streamable HTTP, revision 2025-06-18) whose
//! tools are faults, for testing orpipe's MCP client against servers that misbehave.
//!
//! `POST /mcp` speaks JSON-RPC: `server/discover` is "method not found" (a legacy server,
//! so a client of both eras falls back to the handshake); `initialize` opens a session
//! (`Mcp-Session-Id`); `notifications/initialized` and other notifications get 202; later
//! requests need a live session (none: 400, unknown or lost: 404) and, if they name
//! one, the agreed `MCP-Protocol-Version` (else 400). `tools/list` and `tools/call` serve
//! the tools of `tools.rs`. [`MockMcpServer::lose_session`] forgets every session, like a
//! restarted server. Every request is recorded. Loopback only; it stops when dropped.

mod tools;
mod wire;

use crate::accept::{lock, serve_forever};
use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::mock::RecordedRequest;
use crate::mock::script::{ScriptBody, Step};
use tools::{Answer, KEEPALIVE_EVERY};
use wire::{header_of, json_response, method_of, plain};

pub use tools::{ERROR_RESULT_TEXT, HUGE_DEFAULT_BYTES, huge_text};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
/// How long `endless` keeps sending keep-alives before giving up (no test waits that long).
const ENDLESS_FOR: Duration = Duration::from_secs(600);

/// A running mock MCP server. See the module docs.
pub struct MockMcpServer {
    addr: SocketAddr,
    state: Arc<State>,
    /// The accept loop; it owns every connection task, so aborting it ends them all.
    server: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    sessions: Mutex<HashSet<String>>,
    next_session: AtomicU64,
    requests: Mutex<Vec<RecordedRequest>>,
    /// See [`MockMcpServer::service_times`].
    service_times: Mutex<Vec<(String, Duration)>>,
}

impl MockMcpServer {
    /// The revision it speaks (and answers `initialize` with, whatever was asked).
    pub const PROTOCOL_VERSION: &'static str = "2025-06-18";
    /// Its tools, as `tools/list` names them.
    pub const TOOLS: [&'static str; 8] = [
        "ok",
        "slow",
        "error_result",
        "html",
        "bad_jsonrpc",
        "rpc_error",
        "endless",
        "huge",
    ];

    /// Starts a server on an ephemeral loopback port. Must be called inside a tokio runtime.
    pub async fn start() -> anyhow::Result<MockMcpServer> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = TcpListener::bind(addr)
            .await
            .context("mock MCP server: binding")?;
        let addr = listener
            .local_addr()
            .context("mock MCP server: local address")?;
        let state = Arc::new(State::default());
        let server = tokio::spawn(serve_forever(
            listener,
            Arc::clone(&state),
            "mock MCP server",
            handle,
        ));
        Ok(MockMcpServer {
            addr,
            state,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/mcp`, the endpoint to configure.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Forgets every session: the next request carrying an old id gets 404, and the
    /// client must `initialize` again.
    pub fn lose_session(&self) {
        lock(&self.state.sessions).clear();
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The JSON-RPC `method` of every request received, in arrival order (`""` for a
    /// body without one).
    pub fn methods(&self) -> Vec<String> {
        let requests = lock(&self.state.requests);
        requests.iter().map(|r| method_of(&r.body)).collect()
    }

    /// Per request, as each finished: its JSON-RPC method and the mock's own time, from
    /// the request head to a ready answer (for the bench, to tell it from the client's).
    pub fn service_times(&self) -> Vec<(String, Duration)> {
        lock(&self.state.service_times).clone()
    }

    /// How many requests of `method` were received.
    pub fn count(&self, method: &str) -> usize {
        self.methods().iter().filter(|m| *m == method).count()
    }
}

impl Drop for MockMcpServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<ScriptBody>, Infallible> {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    lock(&state.requests).push(RecordedRequest::of(&parts, &body));
    if parts.uri.path() != "/mcp" {
        return Ok(plain(StatusCode::NOT_FOUND, "Not Found"));
    }
    let answer = match parts.method {
        Method::POST => rpc(&state, &parts.headers, &body),
        Method::DELETE => {
            if let Some(session) = header_of(&parts.headers, SESSION_HEADER) {
                lock(&state.sessions).remove(&session);
            }
            Reply::Empty(StatusCode::OK)
        }
        // No server-initiated stream on GET (the spec allows a 405).
        _ => Reply::Empty(StatusCode::METHOD_NOT_ALLOWED),
    };
    let response = answer.into_response().await;
    let took = started.elapsed();
    lock(&state.service_times).push((method_of(&body), took));
    Ok(response)
}

/// What one POST answers, before it is sent.
enum Reply {
    Empty(StatusCode),
    /// A JSON-RPC message with this HTTP status; `session` becomes `Mcp-Session-Id`.
    Json {
        status: StatusCode,
        message: Value,
        session: Option<String>,
    },
    Tool(Answer, Value),
}

fn rpc(state: &State, headers: &HeaderMap, body: &Bytes) -> Reply {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return error_reply(StatusCode::BAD_REQUEST, Value::Null, -32700, "Parse error");
    };
    let method = message.get("method").and_then(Value::as_str).unwrap_or("");
    // Notifications (and responses to the server) carry no id: accepted, nothing to say.
    let Some(id) = message.get("id").cloned() else {
        return Reply::Empty(StatusCode::ACCEPTED);
    };
    match method {
        "server/discover" => {
            return error_reply(StatusCode::OK, id, -32601, "Method not found");
        }
        "initialize" => {
            let n = state.next_session.fetch_add(1, Ordering::Relaxed);
            let session = format!("mock-session-{n}-{:08x}", n.wrapping_mul(0x9e37_79b9));
            lock(&state.sessions).insert(session.clone());
            let result = json!({
                "protocolVersion": MockMcpServer::PROTOCOL_VERSION,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "orpipe-mock-mcp", "version": "1.0.0"},
            });
            return Reply::Json {
                status: StatusCode::OK,
                message: json!({"jsonrpc": "2.0", "id": id, "result": result}),
                session: Some(session),
            };
        }
        _ => {}
    }
    match header_of(headers, SESSION_HEADER) {
        None => {
            return error_reply(
                StatusCode::BAD_REQUEST,
                id,
                -32000,
                "Bad Request: no session id",
            );
        }
        Some(session) if !lock(&state.sessions).contains(&session) => {
            return error_reply(StatusCode::NOT_FOUND, id, -32001, "Session not found");
        }
        Some(_) => {}
    }
    if let Some(version) = header_of(headers, VERSION_HEADER)
        && version != MockMcpServer::PROTOCOL_VERSION
    {
        let text = format!("Bad Request: unsupported protocol version {version}");
        return error_reply(StatusCode::BAD_REQUEST, id, -32000, &text);
    }
    let params = message.get("params");
    match method {
        "tools/list" => Reply::Tool(Answer::Result(tools::list()), id),
        "tools/call" => {
            let name = params
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let arguments = params
                .and_then(|p| p.get("arguments"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(Map::new);
            Reply::Tool(tools::call(name, &arguments), id)
        }
        _ => error_reply(StatusCode::OK, id, -32601, "Method not found"),
    }
}

fn error_reply(status: StatusCode, id: Value, code: i64, message: &str) -> Reply {
    Reply::Json {
        status,
        message: json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        session: None,
    }
}

impl Reply {
    async fn into_response(self) -> Response<ScriptBody> {
        match self {
            Reply::Empty(status) => {
                let mut response = Response::new(ScriptBody::full(Bytes::new()));
                *response.status_mut() = status;
                response
            }
            Reply::Json {
                status,
                message,
                session,
            } => {
                let mut response = json_response(status, &message);
                if let Some(id) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
                    response.headers_mut().insert(SESSION_HEADER, id);
                }
                response
            }
            Reply::Tool(answer, id) => tool_response(answer, id).await,
        }
    }
}

async fn tool_response(mut answer: Answer, id: Value) -> Response<ScriptBody> {
    while let Answer::Delayed(pause, inner) = answer {
        tokio::time::sleep(pause).await;
        answer = *inner;
    }
    match answer {
        Answer::Result(result) => json_response(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "id": id, "result": result}),
        ),
        Answer::Error { code, message } => json_response(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        ),
        Answer::Raw {
            status,
            content_type,
            body,
        } => {
            let mut response = Response::new(ScriptBody::full(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Answer::Endless => {
            let beats = ENDLESS_FOR.as_millis() / KEEPALIVE_EVERY.as_millis().max(1);
            let keepalive = Bytes::from_static(b": keep-alive\n\n");
            let mut steps = vec![Step::Write(keepalive.clone())];
            for _ in 0..beats {
                steps.push(Step::Wait(KEEPALIVE_EVERY));
                steps.push(Step::Write(keepalive.clone()));
            }
            let mut response = Response::new(ScriptBody::streaming(steps));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            response
        }
        // Unwrapped above.
        Answer::Delayed(..) => plain(StatusCode::INTERNAL_SERVER_ERROR, "delayed twice"),
    }
}

#[cfg(test)]
mod tests;
