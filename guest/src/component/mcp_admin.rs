//! Admin routes for the MCP servers: `GET /admin/mcp/tools` shows what each configured
//! server offers (or why it offers nothing) and the function tools a model would get;
//! `POST /admin/mcp/call` runs one tool, or several at once, through the same
//! [`McpTools::call_many`] the tool loop uses, so an operator can check a server without
//! a model. Admin keys only (the host says who is an admin).

use super::RequestCtx;
use super::config::Config;
use super::http_io::{self, header};
use super::mcp_tools::{self, McpTools};
use super::wasi::http::types::{IncomingRequest, ResponseOutparam};
use crate::errors::GatewayError;
use crate::mcp::error::ToolCallError;
use crate::mcp::status::{self, ServerState};
use crate::mcp::tools::{DEFAULT_MAX_OUTPUT_BYTES, ToolOutput};
use crate::url::HttpUrl;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const ADMIN_HEADER: &str = "x-orpipe-admin";
const CALL_BODY_LIMIT: usize = 1024 * 1024;

fn is_admin(request: &IncomingRequest) -> bool {
    header(&request.headers(), ADMIN_HEADER).as_deref() == Some("1")
}

pub fn list_tools(ctx: &RequestCtx, request: &IncomingRequest, out: ResponseOutparam) {
    if !is_admin(request) {
        return http_io::respond_error(out, &GatewayError::AdminRequired, &ctx.error_id);
    }
    let config = Config::read();
    let servers = mcp_tools::configured(&config);
    let records = mcp_tools::records(&servers);
    let tools = McpTools::load(&config, &BTreeSet::new());
    let listed: Vec<Value> = servers
        .iter()
        .zip(&records)
        .map(|(server, record)| {
            let record = record.as_ref().filter(|r| status::valid(server, Some(r)));
            let offered: Vec<Value> = tools
                .toolbox()
                .offered()
                .iter()
                .filter(|o| o.server == server.name)
                .map(|o| {
                    json!({
                        "name": o.tool.name,
                        "function_name": o.function_name,
                        "description": o.tool.description,
                    })
                })
                .collect();
            // The origin only: a URL's path or query may carry a key.
            let origin = HttpUrl::parse(&server.url).map(|u| {
                format!("{}://{}", if u.https { "https" } else { "http" }, u.authority)
            });
            let mut entry = json!({
                "name": server.name,
                "origin": origin,
                "internal": server.internal,
                "tools": offered,
            });
            let state = match record.map(|r| &r.state) {
                None => json!({"state": "unknown"}),
                Some(ServerState::Up {
                    protocol_version,
                    fetched_at_ms,
                    ..
                }) => json!({"state": "up", "protocol_version": protocol_version, "fetched_at_ms": fetched_at_ms}),
                Some(ServerState::Down {
                    failures,
                    error,
                    retry_at_ms,
                }) => json!({"state": "down", "error": error, "failures": failures, "retry_at_ms": retry_at_ms}),
            };
            if let (Some(entry), Some(state)) = (entry.as_object_mut(), state.as_object()) {
                entry.extend(state.clone());
            }
            entry
        })
        .collect();
    // What a model would be offered: the function tools as the tool loop will send them.
    let body = json!({"servers": listed, "definitions": tools.definitions()});
    http_io::respond_json(out, 200, &body.to_string());
}

/// `POST /admin/mcp/call`: one call (`name`, `arguments`), or several run at once
/// (`calls`, answered with a list in the same order).
#[derive(Deserialize)]
struct CallRequest {
    /// The function name (`function_name` in the tool list).
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
    #[serde(default)]
    calls: Option<Vec<OneCall>>,
    #[serde(default)]
    max_output_bytes: Option<usize>,
    /// Seconds each call may take; the server's timeout when absent (or shorter).
    #[serde(default)]
    timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
struct OneCall {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

pub fn call_tool(ctx: &RequestCtx, request: &IncomingRequest, out: ResponseOutparam) {
    if !is_admin(request) {
        return http_io::respond_error(out, &GatewayError::AdminRequired, &ctx.error_id);
    }
    let call = http_io::read_request_body(request, CALL_BODY_LIMIT).and_then(|bytes| {
        serde_json::from_slice::<CallRequest>(&bytes)
            .map_err(|e| GatewayError::InvalidRequest(format!("the call is not valid: {e}")))
    });
    let call = match call {
        Ok(call) => call,
        Err(error) => return http_io::respond_error(out, &error, &ctx.error_id),
    };
    let tools = McpTools::load(&Config::read(), &BTreeSet::new());
    let max = call.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
    let timeout = call.timeout_secs.map_or(Duration::MAX, Duration::from_secs);
    let (status, body) = match (call.calls, call.name) {
        (Some(calls), _) => {
            let texts: Vec<(&str, String)> = calls
                .iter()
                .map(|c| (c.name.as_str(), argument_text(c.arguments.clone())))
                .collect();
            let refs: Vec<(&str, &str)> = texts.iter().map(|(n, a)| (*n, a.as_str())).collect();
            let results: Vec<Value> = tools
                .call_many(&refs, max, timeout)
                .into_iter()
                .map(|result| result_json(result).1)
                .collect();
            (200, json!({"results": results}))
        }
        (None, Some(name)) => {
            let arguments = argument_text(call.arguments);
            let result = match call.timeout_secs {
                None => tools.call(&name, &arguments, max),
                Some(_) => tools
                    .call_many(&[(name.as_str(), arguments.as_str())], max, timeout)
                    .pop()
                    .unwrap_or_else(|| Err(ToolCallError::UnknownTool(name.clone()))),
            };
            result_json(result)
        }
        (None, None) => {
            let error = GatewayError::InvalidRequest("the call needs a `name` or `calls`".into());
            return http_io::respond_error(out, &error, &ctx.error_id);
        }
    };
    http_io::respond_json(out, status, &body.to_string());
}

/// The loop hands over the model's argument text; an object given here is the same.
fn argument_text(arguments: Option<Value>) -> String {
    match arguments {
        None => String::new(),
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
    }
}

/// The HTTP status and body for one call's result.
fn result_json(result: Result<ToolOutput, ToolCallError>) -> (u16, Value) {
    match result {
        Ok(output) => (200, json!({"output": output})),
        Err(error) => {
            let (status, kind) = match &error {
                ToolCallError::UnknownTool(_) => (404, "unknown_tool"),
                ToolCallError::InvalidArguments(_) => (400, "invalid_arguments"),
                ToolCallError::Server { .. } => (502, "server_failed"),
                ToolCallError::Timeout { .. } => (504, "timeout"),
            };
            (
                status,
                json!({"error": {"message": error.to_string(), "type": kind}}),
            )
        }
    }
}
