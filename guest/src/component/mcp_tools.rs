//! The configured MCP servers' tools for the rest of the guest: the refresh job that
//! keeps each server's tool list in key-value, and [`McpTools`], what a request uses to
//! offer those tools to the model and to run the ones it calls.
//!
//! A request never asks a server for its tools: it reads the lists the job cached. A
//! server that is down offers nothing until the job, retrying with back-off, reaches it.

use super::config::Config;
use super::kv;
use super::log;
use super::mcp_client::{McpClient, PendingCall};
use super::mcp_pending::{self, PendingExchange};
use crate::logline::Level;
use crate::mcp::error::{McpError, ToolCallError};
use crate::mcp::names::ToolRef;
use crate::mcp::servers::{self, McpServer};
use crate::mcp::status::{self, ServerRecord, ServerState, record_key, session_key};
use crate::mcp::toolbox::{ServerTools, Toolbox, parse_arguments};
use crate::mcp::tools::ToolOutput;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// `wasi:config` keys.
pub const SERVERS_KEY: &str = "mcp_servers";
pub const REFRESH_SECS_KEY: &str = "mcp_refresh_secs";

/// The configured servers; a list that does not parse counts as none (and is logged).
pub fn configured(config: &Config) -> Vec<McpServer> {
    servers::parse(config.get(SERVERS_KEY).as_deref()).unwrap_or_else(|error| {
        log::emit(
            Level::Error,
            "mcp servers ignored",
            &[("error", json!(error))],
        );
        Vec::new()
    })
}

/// The cached records of `servers`, in their order.
pub fn records(servers: &[McpServer]) -> Vec<Option<ServerRecord>> {
    let keys: Vec<String> = servers.iter().map(|s| record_key(&s.name)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    kv::get_many(&keys)
        .into_iter()
        .map(|bytes| bytes.and_then(|b| serde_json::from_slice(&b).ok()))
        .collect()
}

/// The `refresh-mcp-tools` job: asks every server that is due for its tools. The
/// summary is empty when none was due.
pub fn refresh(config: &Config) -> Result<String, String> {
    let servers = servers::parse(config.get(SERVERS_KEY).as_deref())?;
    let refresh_every = config
        .get(REFRESH_SECS_KEY)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .map_or(status::DEFAULT_REFRESH, Duration::from_secs);
    let now_ms = super::unix_now().1;
    let mut up = 0;
    let mut down = 0;
    let mut skipped = 0;
    for (server, previous) in servers.iter().zip(records(&servers)) {
        if !status::due(server, previous.as_ref(), now_ms, refresh_every) {
            skipped += 1;
            continue;
        }
        let record = match fetch_tools(server) {
            Ok(record) => {
                up += 1;
                record
            }
            Err(error) => {
                down += 1;
                // The next attempt negotiates afresh: the server may have changed era.
                let _ = kv::delete(&session_key(&server.name));
                let record = status::failed(server, previous.as_ref(), error.to_string(), now_ms);
                if let ServerState::Down {
                    failures,
                    retry_at_ms,
                    ..
                } = &record.state
                {
                    log::emit(
                        Level::Warn,
                        "mcp server unavailable; its tools are not offered",
                        &[
                            ("server", json!(server.name)),
                            ("error", json!(error.to_string())),
                            ("failures", json!(failures)),
                            (
                                "retry_in_secs",
                                json!(retry_at_ms.saturating_sub(now_ms) / 1000),
                            ),
                        ],
                    );
                }
                record
            }
        };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            kv::set(&record_key(&server.name), bytes)?;
        }
    }
    // Nothing due (most ticks): an empty summary, which the host logs at debug only.
    if up == 0 && down == 0 {
        return Ok(String::new());
    }
    Ok(format!(
        "mcp servers: {up} refreshed, {down} unavailable, {skipped} not due"
    ))
}

fn fetch_tools(server: &McpServer) -> Result<ServerRecord, McpError> {
    let mut client = McpClient::open(server)?;
    let (tools, skipped) = client.list_tools()?;
    if !skipped.is_empty() {
        log::emit(
            Level::Warn,
            "mcp tools skipped: not valid tool definitions",
            &[("server", json!(server.name)), ("tools", json!(skipped))],
        );
    }
    log::emit(
        Level::Info,
        "mcp tools fetched",
        &[
            ("server", json!(server.name)),
            ("protocol_version", json!(client.protocol_version())),
            ("tools", json!(tools.len())),
        ],
    );
    Ok(ServerRecord {
        fingerprint: server.fingerprint(),
        state: ServerState::Up {
            protocol_version: client.protocol_version().to_owned(),
            tools,
            fetched_at_ms: super::unix_now().1,
        },
    })
}

/// The server tools of one request: what to offer the model, and how to run a call.
pub struct McpTools {
    servers: Vec<McpServer>,
    toolbox: Toolbox,
    unavailable: Vec<String>,
}

impl McpTools {
    /// The cached tools of every configured server that is up, named so none collides
    /// with `client_tools` (the function names the client sent). No network.
    pub fn load(config: &Config, client_tools: &BTreeSet<String>) -> Self {
        let servers = configured(config);
        let records = records(&servers);
        let lists: Vec<ServerTools<'_>> = servers
            .iter()
            .zip(&records)
            .map(|(server, record)| ServerTools {
                server,
                tools: status::offered_tools(server, record.as_ref()),
            })
            .collect();
        let toolbox = Toolbox::build(&lists, client_tools);
        let unavailable = servers
            .iter()
            .zip(&records)
            .filter(|(_, record)| {
                !matches!(
                    record,
                    Some(ServerRecord {
                        state: ServerState::Up { .. },
                        ..
                    })
                )
            })
            .map(|(server, _)| server.name.clone())
            .collect();
        Self {
            servers,
            toolbox,
            unavailable,
        }
    }

    pub fn toolbox(&self) -> &Toolbox {
        &self.toolbox
    }

    /// Responses API function tools to add to the request's `tools`.
    pub fn definitions(&self) -> Vec<serde_json::Value> {
        self.toolbox.definitions()
    }

    /// Whether `function_name` is a server tool (else it is the client's).
    pub fn owns(&self, function_name: &str) -> bool {
        self.toolbox.resolve(function_name).is_some()
    }

    /// The function names of every offered server tool.
    pub fn function_names(&self) -> BTreeSet<String> {
        self.toolbox
            .offered()
            .iter()
            .map(|offered| offered.function_name.clone())
            .collect()
    }

    /// The server and tool `function_name` stands for.
    pub fn target(&self, function_name: &str) -> Option<&ToolRef> {
        self.toolbox.resolve(function_name)
    }

    /// The configured servers that are not up right now (down, or not reached yet).
    pub fn unavailable_servers(&self) -> &[String] {
        &self.unavailable
    }

    /// Runs the tool `function_name` stands for with the model's `arguments` (a JSON
    /// text), within the server's timeout: [`McpTools::call_many`] with one call.
    pub fn call(
        &self,
        function_name: &str,
        arguments: &str,
        max_output_bytes: usize,
    ) -> Result<ToolOutput, ToolCallError> {
        self.call_many(
            &[(function_name, arguments)],
            max_output_bytes,
            Duration::MAX,
        )
        .pop()
        .unwrap_or_else(|| Err(ToolCallError::UnknownTool(function_name.to_owned())))
    }

    /// Runs `calls` (function name, the model's arguments as JSON text) at once and gives
    /// their results in the same order. Every request is sent before any answer is
    /// awaited, so the servers work side by side. Each call gets `timeout` (or the
    /// server's shorter one): one over time is a [`ToolCallError::Timeout`] and the others
    /// go on. A call naming no tool, or with arguments that are not an object, fails
    /// alone. Outputs are cut to `max_output_bytes` with a note; a tool that reports
    /// failure (`isError`) is an `Ok` output with `is_error` set: the model reads it like
    /// any output.
    pub fn call_many(
        &self,
        calls: &[(&str, &str)],
        max_output_bytes: usize,
        timeout: Duration,
    ) -> Vec<Result<ToolOutput, ToolCallError>> {
        let planned: Vec<Result<Planned<'_>, ToolCallError>> = calls
            .iter()
            .map(|(name, arguments)| self.plan(name, arguments))
            .collect();
        // One client per server, opened one after another: the handshake is shared
        // through key-value, so usually there is none to make.
        let mut clients: BTreeMap<&str, Result<McpClient<'_>, McpError>> = BTreeMap::new();
        for call in planned.iter().flatten() {
            clients
                .entry(call.server.name.as_str())
                .or_insert_with(|| McpClient::open(call.server));
        }
        let mut sent: Vec<Result<(&McpServer, PendingCall), ToolCallError>> = planned
            .into_iter()
            .map(|call| {
                let call = call?;
                let failed = |error| call_failed(call.server, error);
                match clients.get_mut(call.server.name.as_str()) {
                    Some(Ok(client)) => client
                        .start_call(&call.tool, call.arguments, timeout)
                        .map(|pending| (call.server, pending))
                        .map_err(failed),
                    Some(Err(error)) => Err(failed(error.clone())),
                    // Cannot happen: every planned call's server got a client above.
                    None => Err(failed(McpError::Malformed("no client was opened".into()))),
                }
            })
            .collect();
        {
            let mut exchanges: Vec<&mut PendingExchange> = sent
                .iter_mut()
                .filter_map(|call| call.as_mut().ok())
                .map(|(_, pending)| &mut pending.exchange)
                .collect();
            mcp_pending::drive(&mut exchanges);
        }
        sent.into_iter()
            .map(|call| {
                let (server, pending) = call?;
                let failed = |error| call_failed(server, error);
                match clients.get_mut(server.name.as_str()) {
                    Some(Ok(client)) => client
                        .finish_call(pending, max_output_bytes)
                        .map_err(failed),
                    Some(Err(error)) => Err(failed(error.clone())),
                    None => Err(failed(McpError::Malformed("no client was opened".into()))),
                }
            })
            .collect()
    }

    /// The server and tool `function_name` stands for, with its parsed arguments.
    fn plan<'s>(
        &'s self,
        function_name: &str,
        arguments: &str,
    ) -> Result<Planned<'s>, ToolCallError> {
        let unknown = || ToolCallError::UnknownTool(function_name.to_owned());
        let target = self.toolbox.resolve(function_name).ok_or_else(unknown)?;
        let server = self
            .servers
            .iter()
            .find(|s| s.name == target.server)
            .ok_or_else(unknown)?;
        let arguments = parse_arguments(arguments).map_err(ToolCallError::InvalidArguments)?;
        Ok(Planned {
            server,
            tool: target.tool.clone(),
            arguments,
        })
    }
}

/// A call resolved to its server and tool.
struct Planned<'s> {
    server: &'s McpServer,
    tool: String,
    arguments: Map<String, Value>,
}

/// The model's words for a call that failed on `server`.
fn call_failed(server: &McpServer, error: McpError) -> ToolCallError {
    match error {
        McpError::Timeout(secs) => ToolCallError::Timeout {
            server: server.name.clone(),
            secs,
        },
        error => ToolCallError::Server {
            server: server.name.clone(),
            error,
        },
    }
}
