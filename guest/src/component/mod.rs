//! The I/O edge (wasm32 only): WIT bindings, and the exports that connect them to the
//! pure modules. Each export is a few lines; orchestration lives in `chat` and `models`.

mod answer;
mod artifacts;
mod breaker;
mod chat;
mod config;
#[cfg(feature = "test-faults")]
mod faults;
mod fetch;
mod fitting;
mod http_io;
mod jobs;
mod kv;
mod log;
mod mcp_admin;
mod mcp_client;
mod mcp_http;
mod mcp_pending;
mod mcp_tools;
mod models;
mod openrouter;
mod outcome;
mod outgoing;
mod overrides;
mod pipelines;
mod sql;
mod tool_breakers;
mod tool_turn;
mod upstream;
mod usage;
mod whole_rounds;

wit_bindgen::generate!({
    world: "gateway",
    path: "../wit",
    generate_all,
});

use crate::errors::GatewayError;
use crate::routes::{Route, route};
use exports::orpipe::gateway::{inspect, jobs as jobs_export};
use exports::wasi::http::incoming_handler;
use wasi::http::types::{IncomingRequest, Method, ResponseOutparam};

struct Component;

impl incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let ctx = RequestCtx::new(&request);
        let method = method_name(&request.method());
        let path = request.path_with_query().unwrap_or_default();
        match route(&method, &path) {
            Route::ListModels => models::list_models(&ctx, response_out),
            Route::ChatCompletions => chat::chat_completions(&ctx, request, response_out),
            Route::ListPipelines => pipelines::list_pipelines(response_out),
            Route::Valves(action, pipeline) => {
                pipelines::valves(&ctx, request, action, &pipeline, response_out)
            }
            Route::Filter(stage) => pipelines::filter(&ctx, request, stage, response_out),
            Route::McpTools => mcp_admin::list_tools(&ctx, &request, response_out),
            Route::McpCall => mcp_admin::call_tool(&ctx, &request, response_out),
            #[cfg(feature = "test-faults")]
            Route::TestFault(fault) => faults::run(fault, response_out),
            Route::NotFound => http_io::respond_error(
                response_out,
                &GatewayError::NotFound(format!("no route for {method} {path}")),
                &ctx.error_id,
            ),
            Route::MethodNotAllowed => {
                http_io::respond_error(response_out, &GatewayError::MethodNotAllowed, &ctx.error_id)
            }
        }
    }
}

impl jobs_export::Guest for Component {
    fn run(job: jobs_export::Job) -> Result<String, String> {
        jobs::run(job)
    }
}

impl inspect::Guest for Component {
    fn translate_request(chat_completions_json: String) -> Result<String, String> {
        crate::translate::to_responses::translate_request_json(&chat_completions_json)
    }
}

export!(Component);

/// What every handler needs to know about the request it serves.
pub(crate) struct RequestCtx {
    /// From the host's `x-request-id` header when present, so host and component logs agree.
    pub request_id: String,
    /// Shown on any error card or error body of this request, and in its log lines.
    pub error_id: String,
    /// When the request arrived, for error cards.
    pub started_at: String,
    pub started: wasi::clocks::monotonic_clock::Instant,
    /// Whom a chat turn is billed to: set once its request is read, used when its usage
    /// is recorded (`usage`); unset for other routes.
    pub usage_ids: std::cell::OnceCell<usage::UsageIds>,
}

impl RequestCtx {
    fn new(request: &IncomingRequest) -> Self {
        let request_id = http_io::header(&request.headers(), "x-request-id")
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .unwrap_or_else(random_id);
        Self {
            request_id,
            error_id: crate::errors::cards::error_id(wasi::random::random::get_random_u64()),
            started_at: crate::date::iso8601(unix_now().0),
            started: wasi::clocks::monotonic_clock::now(),
            usage_ids: std::cell::OnceCell::new(),
        }
    }

    pub fn elapsed_ms(&self) -> f64 {
        let now = wasi::clocks::monotonic_clock::now();
        now.saturating_sub(self.started) as f64 / 1e6
    }
}

/// A 128-bit random hex id; used where no upstream id exists yet.
pub(crate) fn random_id() -> String {
    let high = wasi::random::random::get_random_u64();
    let low = wasi::random::random::get_random_u64();
    format!("{high:016x}{low:016x}")
}

/// A `wasi:clocks` / `wasi:http` duration in nanoseconds.
pub(crate) fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Blocks this instance for `duration` (retry back-off).
pub(crate) fn sleep(duration: std::time::Duration) {
    if !duration.is_zero() {
        wasi::clocks::monotonic_clock::subscribe_duration(nanos(duration)).block();
    }
}

pub(crate) fn unix_now() -> (u64, u64) {
    let now = wasi::clocks::wall_clock::now();
    let millis = now.seconds.saturating_mul(1000) + u64::from(now.nanoseconds / 1_000_000);
    (now.seconds, millis)
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}
