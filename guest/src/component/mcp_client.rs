//! An MCP client for one server: agrees on the protocol revision (`mcp::version`), then
//! lists tools and calls them. The agreed revision and session are shared through
//! key-value, so the handshake is paid once, not per request; a server that lost the
//! session (HTTP 404) gets a new handshake and the request is sent once more. A tool call
//! can be started and finished apart, so several run at once (`McpTools::call_many`).

use super::kv;
use super::mcp_http::{self, Exchange};
use super::mcp_pending::PendingExchange;
use super::wasi::clocks::monotonic_clock;
use crate::mcp::envelope::{self, client_info};
use crate::mcp::error::McpError;
use crate::mcp::jsonrpc::Reply;
use crate::mcp::servers::McpServer;
use crate::mcp::status::{SessionRecord, session_key};
use crate::mcp::tools::{self, Tool, ToolOutput};
use crate::mcp::version::{self, AfterDiscover, DiscoverAnswer, Negotiated};
use crate::url::HttpUrl;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Pages of `tools/list` read at most; a server that keeps paging is cut off here.
const MAX_TOOL_PAGES: usize = 20;

/// A `tools/call` sent and not yet answered.
pub struct PendingCall {
    pub exchange: PendingExchange,
    /// Kept to send the call again on a new session.
    params: Value,
    /// The legacy session the call went out on.
    session: Option<String>,
    started: monotonic_clock::Instant,
    limit: Duration,
}

pub struct McpClient<'a> {
    server: &'a McpServer,
    url: HttpUrl,
    negotiated: Negotiated,
    next_id: u64,
}

impl<'a> McpClient<'a> {
    /// A client on the shared session when there is one, else after a handshake.
    pub fn open(server: &'a McpServer) -> Result<Self, McpError> {
        let url = url_of(server)?;
        let cached = kv::get(&session_key(&server.name))
            .and_then(|bytes| serde_json::from_slice::<SessionRecord>(&bytes).ok())
            .filter(|record| record.fingerprint == server.fingerprint());
        let mut client = Self {
            server,
            url,
            negotiated: Negotiated::Modern {
                version: String::new(),
            },
            next_id: 1,
        };
        match cached {
            Some(record) => client.negotiated = record.negotiated,
            None => client.renegotiate()?,
        }
        Ok(client)
    }

    pub fn protocol_version(&self) -> &str {
        self.negotiated.version()
    }

    /// Every tool the server lists, following the pagination cursor.
    pub fn list_tools(&mut self) -> Result<(Vec<Tool>, Vec<String>), McpError> {
        let mut tools = Vec::new();
        let mut skipped = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_TOOL_PAGES {
            let params = match &cursor {
                Some(cursor) => json!({"cursor": cursor}),
                None => json!({}),
            };
            let page = tools::read_tools_page(&self.request("tools/list", params)?)?;
            tools.extend(page.tools);
            skipped.extend(page.skipped);
            match page.next_cursor {
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                _ => return Ok((tools, skipped)),
            }
        }
        Ok((tools, skipped))
    }

    /// Sends a `tools/call` without waiting for the answer, which must come within
    /// `limit`; [`McpClient::finish_call`] reads it.
    pub fn start_call(
        &mut self,
        tool: &str,
        arguments: Map<String, Value>,
        limit: Duration,
    ) -> Result<PendingCall, McpError> {
        let params = json!({"name": tool, "arguments": arguments});
        let id = self.take_id();
        let envelope = envelope::request(Some(&self.negotiated), id, "tools/call", params.clone());
        let exchange = mcp_http::start(self.server, &self.url, &envelope, Some(id), limit)?;
        Ok(PendingCall {
            exchange,
            params,
            session: self.session().map(str::to_owned),
            started: monotonic_clock::now(),
            limit: limit.min(self.server.timeout()),
        })
    }

    /// The output of a call [`drive`](super::mcp_pending::drive)n to its end, cut to
    /// `max_output_bytes`. A lost session is opened again and the call sent once more,
    /// alone, within what is left of its time.
    pub fn finish_call(
        &mut self,
        call: PendingCall,
        max_output_bytes: usize,
    ) -> Result<ToolOutput, McpError> {
        let PendingCall {
            exchange,
            params,
            session,
            started,
            limit,
        } = call;
        let exchange = exchange.finish()?;
        let result = if exchange.status == 404 && session.is_some() {
            // Calls sent together all lose the session: the first one here opens a new
            // one, the others use it.
            if self.session() == session.as_deref() {
                self.renegotiate()?;
            }
            let spent = Duration::from_nanos(monotonic_clock::now().saturating_sub(started));
            let left = limit.saturating_sub(spent);
            if left.is_zero() {
                return Err(McpError::timeout_after(limit));
            }
            self.request_once("tools/call", params, left)?
        } else {
            result_of(exchange)?
        };
        tools::read_call_result(result, max_output_bytes)
    }

    /// Sends a request under the agreed revision; on a lost session, once more after a
    /// new handshake.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        let limit = self.server.timeout();
        match self.request_once(method, params.clone(), limit) {
            Err(McpError::SessionLost) => {
                self.renegotiate()?;
                self.request_once(method, params, limit)
            }
            other => other,
        }
    }

    fn request_once(
        &mut self,
        method: &str,
        params: Value,
        limit: Duration,
    ) -> Result<Value, McpError> {
        let id = self.take_id();
        let envelope = envelope::request(Some(&self.negotiated), id, method, params);
        let exchange =
            mcp_http::start(self.server, &self.url, &envelope, Some(id), limit)?.wait()?;
        if exchange.status == 404 && self.session().is_some() {
            return Err(McpError::SessionLost);
        }
        result_of(exchange)
    }

    /// The legacy session requests carry, if any.
    fn session(&self) -> Option<&str> {
        match &self.negotiated {
            Negotiated::Legacy {
                session_id: Some(id),
                ..
            } => Some(id),
            _ => None,
        }
    }

    /// Agrees on a revision and shares it with every other caller.
    fn renegotiate(&mut self) -> Result<(), McpError> {
        self.negotiated = self.negotiate()?;
        let record = SessionRecord {
            fingerprint: self.server.fingerprint(),
            negotiated: self.negotiated.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            // Not shared only means the next caller shakes hands too.
            let _ = kv::set(&session_key(&self.server.name), bytes);
        }
        Ok(())
    }

    fn negotiate(&mut self) -> Result<Negotiated, McpError> {
        let pinned = self.server.protocol_version.as_deref();
        match pinned {
            Some(version) if version::is_modern(version) => {
                return Ok(Negotiated::Modern {
                    version: version.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                if let AfterDiscover::Modern(version) = self.discover()? {
                    return Ok(Negotiated::Modern { version });
                }
            }
        }
        self.initialize(pinned)
    }

    /// Asks `server/discover` under the modern revision. Only a failure to reach the
    /// server is an error; any refusal means "try the handshake".
    fn discover(&mut self) -> Result<AfterDiscover, McpError> {
        let id = self.take_id();
        let modern = Negotiated::Modern {
            version: version::V2026_07_28.to_owned(),
        };
        let envelope = envelope::request(Some(&modern), id, "server/discover", json!({}));
        let answer = match mcp_http::post(self.server, &self.url, &envelope, Some(id)) {
            Ok(Exchange {
                reply: Some(Reply::Result(result)),
                ..
            }) => DiscoverAnswer::Result(result),
            Ok(Exchange {
                reply: Some(Reply::Error(error)),
                ..
            }) => DiscoverAnswer::Error {
                code: error.code,
                data: error.data,
            },
            Ok(Exchange { status, .. }) => DiscoverAnswer::HttpStatus(status),
            Err(error @ (McpError::Refused | McpError::Unreachable(_) | McpError::Timeout(_))) => {
                return Err(error);
            }
            // Not JSON-RPC (an HTML 400 page, …): the handshake will tell.
            Err(_) => DiscoverAnswer::HttpStatus(0),
        };
        Ok(version::after_discover(&answer))
    }

    /// The legacy handshake: `initialize`, then `notifications/initialized`.
    fn initialize(&mut self, pinned: Option<&str>) -> Result<Negotiated, McpError> {
        let id = self.take_id();
        let params = json!({
            "protocolVersion": version::initialize_request_version(pinned),
            "capabilities": {},
            "clientInfo": client_info(),
        });
        let envelope = envelope::request(None, id, "initialize", params);
        let exchange = mcp_http::post(self.server, &self.url, &envelope, Some(id))?;
        let session_id = exchange.session_id.clone();
        let result = result_of(exchange)?;
        let version = version::accept_initialize(pinned, &result).map_err(McpError::Version)?;
        let negotiated = Negotiated::Legacy {
            version,
            session_id,
        };
        let note = mcp_http::post(
            self.server,
            &self.url,
            &envelope::initialized(&negotiated),
            None,
        )?;
        if !(200..300).contains(&note.status) {
            return Err(McpError::Http(note.status));
        }
        Ok(negotiated)
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }
}

fn url_of(server: &McpServer) -> Result<HttpUrl, McpError> {
    HttpUrl::parse(&server.url).ok_or_else(|| McpError::Malformed("the url is not http(s)".into()))
}

/// The result of an exchange, or why there is none.
fn result_of(exchange: Exchange) -> Result<Value, McpError> {
    match exchange.reply {
        Some(Reply::Result(result)) if (200..300).contains(&exchange.status) => Ok(result),
        Some(Reply::Error(error)) => Err(McpError::Rpc {
            code: error.code,
            message: error.message,
        }),
        _ => Err(McpError::Http(exchange.status)),
    }
}
