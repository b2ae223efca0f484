//! The tool loop's I/O (issue 10): one chat turn in which the model may call the server
//! tools orpipe runs itself (the configured MCP servers' tools). The decisions are the
//! pure `tool_loop` core's; this module offers the tools, runs the calls, shows their
//! progress, keeps their items for later turns and sends the next round's request.
//! `answer` drives it for streamed and whole answers alike, through [`Progress`].

use super::config::Config;
use super::mcp_tools::McpTools;
use super::openrouter::{self, Route};
use super::tool_breakers::ToolBreakers;
use super::upstream::UpstreamResponse;
use super::{RequestCtx, log};
use crate::errors::GatewayError;
use crate::logline::{Event as LogEvent, Level};
use crate::mcp::error::ToolCallError;
use crate::mcp::tools::ToolOutput;
use crate::owui::events::Event;
use crate::owui::tool_status::{self, CallEnd, ToolLabel};
use crate::settings::Settings;
use crate::tool_loop::breaker::{ToolBreakerPolicy, counts_as, unavailable_output};
use crate::tool_loop::continuation::{next_round, synthesis_round};
use crate::tool_loop::notices::{gave_up_notice, round_limit_notice};
use crate::tool_loop::{
    CallResult, RoundOutcome, RoundResults, ToolCall, ToolLoopSettings, ToolRounds, batches,
};
use crate::translate::long_chats::trim_tool_outputs;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// What the loop shows and keeps while it works; the stream and the whole answer each
/// have their way.
pub(super) trait Progress {
    /// An Open WebUI status, shown at once (streams to Open WebUI only).
    fn event(&mut self, event: &Event);
    /// A paragraph of orpipe's own in the answer.
    fn notice(&mut self, text: &str);
    /// Server calls and their outputs, stored as artifacts for later turns.
    fn keep(&mut self, items: &[Value]);
}

/// What follows a response that called server tools.
pub(super) enum Advance {
    /// The next round's response, to read like the first.
    Next(UpstreamResponse),
    /// The turn ends with this response (client calls, or the model gave up).
    Finish,
}

/// The server tools of one turn and where the turn stands.
pub(super) struct ToolTurn {
    tools: McpTools,
    limits: ToolLoopSettings,
    settings: Settings,
    /// The last Responses request sent; each round appends to its `input`.
    body: Map<String, Value>,
    rounds: ToolRounds,
    context_length: Option<u64>,
    openrouter_id: String,
    stream: bool,
    /// The user's breakers for these tools (shared through key-value).
    breakers: ToolBreakers,
    /// The client's function names: a call of any other name is the loop's to answer.
    client_tools: BTreeSet<String>,
}

/// The server tools of a request before the body is fitted to the model.
pub(super) struct Offer {
    /// `None` when no server offers a tool right now.
    pub tools: Option<Offered>,
    /// Configured servers that are not up (said to Open WebUI).
    pub unavailable: Vec<String>,
}

/// The tools of a request: the servers' (offered) and the client's own function names.
pub(super) struct Offered {
    pub mcp: McpTools,
    pub client_tools: BTreeSet<String>,
}

/// The configured servers' tools, added to the Responses `body`'s `tools` (before the
/// body is fitted to the model, which drops them for a model without tool calling).
/// Costs nothing when no MCP server is configured.
pub(super) fn offer(ctx: &RequestCtx, config: &Config, body: &mut Value) -> Offer {
    let none = Offer {
        tools: None,
        unavailable: Vec::new(),
    };
    if config.get(super::mcp_tools::SERVERS_KEY).is_none() {
        return none;
    }
    let Some(fields) = body.as_object_mut() else {
        return none;
    };
    let client_tools: BTreeSet<String> = match fields.get("tools") {
        Some(Value::Array(tools)) => tools
            .iter()
            .filter_map(|tool| tool.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    let tools = McpTools::load(config, &client_tools);
    let unavailable = tools.unavailable_servers().to_vec();
    if !unavailable.is_empty() {
        log::emit(
            Level::Debug,
            "mcp servers unavailable for this request",
            &[
                ("request_id", json!(ctx.request_id)),
                ("servers", json!(unavailable)),
            ],
        );
    }
    let definitions = tools.definitions();
    if definitions.is_empty() {
        return Offer {
            tools: None,
            unavailable,
        };
    }
    let list = fields
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = list {
        list.extend(definitions);
    } else {
        *list = Value::Array(definitions);
    }
    Offer {
        tools: Some(Offered {
            mcp: tools,
            client_tools,
        }),
        unavailable,
    }
}

impl ToolTurn {
    /// The loop for the fitted request `body`; `None` when fitting left none of the
    /// server tools (the model does not call tools).
    pub(super) fn start(
        offered: Offered,
        config: &Config,
        settings: &Settings,
        body: &Value,
        context_length: Option<u64>,
        stream: bool,
        identity: Option<&str>,
    ) -> Result<Option<Self>, GatewayError> {
        let Offered {
            mcp: tools,
            client_tools,
        } = offered;
        let offered = body
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|list| {
                list.iter()
                    .filter_map(|tool| tool.get("name").and_then(Value::as_str))
                    .any(|name| tools.owns(name))
            });
        let Some(fields) = body.as_object().filter(|_| offered) else {
            return Ok(None);
        };
        let limits = ToolLoopSettings::from_lookup(|key| config.get(key))
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        let policy = ToolBreakerPolicy::from_lookup(|key| config.get(key))
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        let names = tools.function_names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let breakers = ToolBreakers::load(&policy, identity, &names);
        Ok(Some(Self {
            tools,
            rounds: ToolRounds::new(limits.max_rounds),
            limits,
            settings: settings.clone(),
            body: fields.clone(),
            context_length,
            openrouter_id: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            stream,
            breakers,
            client_tools,
        }))
    }

    /// Whether a call of `function_name` is the loop's: a server tool's, or a name the
    /// client did not offer either (a model that made a tool up reads that it does not
    /// exist, rather than handing the client a call it cannot run).
    pub(super) fn owns(&self, function_name: &str) -> bool {
        !self.client_tools.contains(function_name)
    }

    /// The client's own function names (its calls are shown to it).
    pub(super) fn client_tools(&self) -> &BTreeSet<String> {
        &self.client_tools
    }

    /// After a response whose `output` called server tools: runs them, keeps them, and
    /// sends the next round, or ends the turn.
    pub(super) fn advance(
        &mut self,
        ctx: &RequestCtx,
        output: &[Value],
        progress: &mut dyn Progress,
    ) -> Result<Advance, GatewayError> {
        let client_tools = &self.client_tools;
        match self
            .rounds
            .finish_response(output, |name| !client_tools.contains(name))
        {
            RoundOutcome::Done => Ok(Advance::Finish),
            RoundOutcome::RunServerTools(calls) => {
                let outputs = self.run(ctx, &calls, progress);
                progress.keep(&kept_items(output, &calls, &outputs));
                next_round(&mut self.body, output, outputs);
                self.send_next(ctx)
            }
            RoundOutcome::HandToClient { server, .. } => {
                if !server.is_empty() {
                    let outputs = self.run(ctx, &server, progress);
                    progress.keep(&kept_items(output, &server, &outputs));
                }
                Ok(Advance::Finish)
            }
            RoundOutcome::RoundLimit { skipped } => {
                let max_rounds = self.rounds.max_rounds();
                progress.event(&tool_status::round_limit(max_rounds));
                progress.notice(&round_limit_notice(max_rounds));
                log::emit(
                    Level::Info,
                    "tool round limit reached; asking for an answer without tools",
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("max_rounds", json!(max_rounds)),
                    ],
                );
                synthesis_round(&mut self.body, output, &skipped, max_rounds);
                self.send_next(ctx)
            }
            RoundOutcome::GaveUp => {
                progress.notice(&gave_up_notice(self.rounds.max_rounds()));
                Ok(Advance::Finish)
            }
        }
    }

    /// Sends the next round: old tool outputs pruned to the model's context first.
    fn send_next(&mut self, ctx: &RequestCtx) -> Result<Advance, GatewayError> {
        trim_tool_outputs(
            &mut self.body,
            &self.settings.long_chats,
            self.context_length,
        );
        let mut body = Value::Object(std::mem::take(&mut self.body));
        let sent = openrouter::send(
            ctx,
            &self.settings,
            &mut body,
            self.stream,
            Route::Responses,
            &self.openrouter_id,
        );
        if let Value::Object(fields) = body {
            self.body = fields;
        }
        Ok(Advance::Next(sent?.response))
    }

    /// Runs `calls` in batches of the parallel limit; the `function_call_output` items,
    /// in call order. No failure of a tool escapes: each becomes its output's text.
    fn run(
        &mut self,
        ctx: &RequestCtx,
        calls: &[ToolCall],
        progress: &mut dyn Progress,
    ) -> Vec<Value> {
        let mut results = RoundResults::new(calls.to_vec());
        for batch in batches(calls.len(), self.limits.parallel_calls) {
            let batch_calls = calls.get(batch.clone()).unwrap_or_default();
            let labels: Vec<ToolLabel<'_>> =
                batch_calls.iter().map(|c| self.label(&c.name)).collect();
            progress.event(&tool_status::running(&labels));
            let started = ctx.elapsed_ms();
            let outcomes = self.call_batch(batch_calls);
            let elapsed = ctx.elapsed_ms() - started;
            for ((index, call), (result, end)) in batch.zip(batch_calls).zip(outcomes) {
                progress.event(&tool_status::finished(self.label(&call.name), end, elapsed));
                log::event(
                    if end == CallEnd::Ran {
                        Level::Info
                    } else {
                        Level::Warn
                    },
                    "server tool called",
                    LogEvent::ToolCall,
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("tool", json!(call.name)),
                        ("outcome", json!(end_name(end))),
                        ("elapsed_ms", json!(elapsed.round())),
                    ],
                );
                results.record(index, result);
            }
        }
        results.into_output_items(self.limits.output_max_bytes)
    }

    /// One batch of calls, run at once (`McpTools::call_many`), each bounded by the
    /// per-call timeout: what each gave and how its status line reads. A tool switched
    /// off for the user is not called: the model reads that it is unavailable. Each call
    /// that reached its tool feeds the breaker.
    fn call_batch(&mut self, calls: &[ToolCall]) -> Vec<(CallResult, CallEnd)> {
        let mut ended: Vec<Option<(CallResult, CallEnd)>> = calls
            .iter()
            .map(|call| {
                let secs = self.breakers.reopens_in_secs(&call.name)?;
                let output = ToolOutput {
                    text: unavailable_output(self.label(&call.name).tool, secs),
                    is_error: false,
                    truncated: false,
                };
                Some((CallResult::Output(output), CallEnd::SwitchedOff))
            })
            .collect();
        let to_run: Vec<(&str, &str)> = calls
            .iter()
            .zip(&ended)
            .filter(|(_, ended)| ended.is_none())
            .map(|(call, _)| (call.name.as_str(), call.arguments.as_str()))
            .collect();
        let timeout = Duration::from_secs(self.limits.call_timeout_secs);
        let mut results = self
            .tools
            .call_many(&to_run, self.limits.output_max_bytes, timeout)
            .into_iter();
        for (call, slot) in calls.iter().zip(ended.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            let result = results
                .next()
                .unwrap_or_else(|| Err(ToolCallError::UnknownTool(call.name.clone())));
            if let Some(ok) = counts_as(&result) {
                self.breakers.record(&call.name, ok);
            }
            let end = call_end(&result);
            *slot = Some((CallResult::of(result), end));
        }
        ended.into_iter().flatten().collect()
    }

    fn label<'a>(&'a self, function_name: &'a str) -> ToolLabel<'a> {
        match self.tools.target(function_name) {
            Some(target) => ToolLabel {
                tool: &target.tool,
                server: &target.server,
            },
            None => ToolLabel {
                tool: function_name,
                server: "unknown",
            },
        }
    }
}

/// What a call's status line says of it. A tool's own error result counts as failed.
fn call_end(result: &Result<ToolOutput, ToolCallError>) -> CallEnd {
    match result {
        Ok(output) if output.is_error => CallEnd::Failed,
        Ok(_) => CallEnd::Ran,
        Err(ToolCallError::Timeout { .. }) => CallEnd::TimedOut,
        Err(_) => CallEnd::Failed,
    }
}

fn end_name(end: CallEnd) -> &'static str {
    match end {
        CallEnd::Ran => "ran",
        CallEnd::Failed => "failed",
        CallEnd::TimedOut => "timed_out",
        CallEnd::SwitchedOff => "switched_off",
    }
}

/// The server calls of `output` (as the model made them) followed by their outputs: what
/// a later turn replays.
fn kept_items(output: &[Value], calls: &[ToolCall], outputs: &[Value]) -> Vec<Value> {
    let ids: BTreeSet<&str> = calls.iter().map(|c| c.call_id.as_str()).collect();
    let made = output.iter().filter(|item| {
        item.get("type").and_then(Value::as_str) == Some("function_call")
            && item
                .get("call_id")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.contains(id))
    });
    made.chain(outputs).cloned().collect()
}
