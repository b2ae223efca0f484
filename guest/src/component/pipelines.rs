//! The Pipelines server routes Open WebUI calls (`valves::pipelines`): the pipeline list,
//! its valves (orpipe's live settings: their schema for anyone with a key, their values
//! and updates for admins only), and the filter inlet and outlet around each chat.

use super::config::Config;
use super::wasi::http::types::{IncomingRequest, ResponseOutparam};
use super::{RequestCtx, http_io, log, overrides};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::routes::ValvesAction;
use crate::valves::pipelines::{self, FilterRequest, FilterStage, PIPELINE_ID};
use crate::valves::spec;
use crate::valves::update::{self, Rejected};
use serde_json::{Value, json};

/// Set to `1` by the host when the caller presented an admin key (or no keys exist).
const ADMIN_HEADER: &str = "x-orpipe-admin";
/// Set by the host: a label of the caller's key, never the key.
const CLIENT_HEADER: &str = "x-orpipe-client";
/// An update is a few dozen settings, the largest a card template of 16 KiB.
const UPDATE_BODY_LIMIT: usize = 1024 * 1024;
/// A filter call carries the whole chat, attachments included, like a chat request.
const FILTER_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A failure of these routes, with the field it is about when there is one.
struct Failure {
    error: GatewayError,
    param: Option<String>,
}

impl From<GatewayError> for Failure {
    fn from(error: GatewayError) -> Self {
        Self { error, param: None }
    }
}

pub fn list_pipelines(out: ResponseOutparam) {
    http_io::respond_json(out, 200, &pipelines::list().to_string());
}

pub fn valves(
    ctx: &RequestCtx,
    request: IncomingRequest,
    action: ValvesAction,
    pipeline: &str,
    out: ResponseOutparam,
) {
    let result: Result<String, Failure> = if pipeline != PIPELINE_ID {
        Err(GatewayError::NotFound(format!(
            "no pipeline {:?}: orpipe serves one, {PIPELINE_ID:?} (GET /v1/pipelines)",
            pipeline.chars().take(64).collect::<String>()
        ))
        .into())
    } else {
        match action {
            ValvesAction::Spec => Ok(spec::schema()),
            ValvesAction::Read => admin(&request).map(|()| {
                let config = Config::read();
                spec::values(|key| config.get(key))
            }),
            ValvesAction::Update => admin(&request).and_then(|()| update_valves(ctx, &request)),
        }
    };
    match result {
        Ok(body) => http_io::respond_json(out, 200, &body),
        Err(failure) => respond_failure(ctx, out, &failure),
    }
}

pub fn filter(
    ctx: &RequestCtx,
    request: IncomingRequest,
    stage: FilterStage,
    out: ResponseOutparam,
) {
    let result = http_io::read_request_body(&request, FILTER_BODY_LIMIT).and_then(|bytes| {
        let request = FilterRequest::parse(&bytes).map_err(GatewayError::InvalidRequest)?;
        drop(bytes);
        Ok(Value::Object(pipelines::filter(stage, request)).to_string())
    });
    match result {
        Ok(body) => http_io::respond_json(out, 200, &body),
        Err(error) => respond_failure(ctx, out, &error.into()),
    }
}

fn admin(request: &IncomingRequest) -> Result<(), Failure> {
    match http_io::header(&request.headers(), ADMIN_HEADER).as_deref() {
        Some("1") => Ok(()),
        _ => Err(GatewayError::AdminRequired.into()),
    }
}

/// Checks and stores the whole object, then answers with the new effective values.
fn update_valves(ctx: &RequestCtx, request: &IncomingRequest) -> Result<String, Failure> {
    let caller = http_io::header(&request.headers(), CLIENT_HEADER)
        .unwrap_or_else(|| "no key (loopback)".to_owned());
    let bytes = http_io::read_request_body(request, UPDATE_BODY_LIMIT)?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        GatewayError::InvalidRequest(format!("the settings update is not JSON: {e}"))
    })?;
    let config = Config::read();
    let current = overrides::load().map_err(|e| {
        GatewayError::Internal(format!("the stored settings could not be read: {e}"))
    })?;
    let update = update::apply(&body, |key| config.base(key), &current).map_err(|rejected| {
        log_refused(ctx, &caller, &rejected);
        Failure {
            param: rejected.field().map(str::to_owned),
            error: GatewayError::InvalidRequest(rejected.to_string()),
        }
    })?;
    overrides::save(&update)
        .map_err(|e| GatewayError::Internal(format!("the settings could not be stored: {e}")))?;
    log::emit(
        if update.changed.is_empty() {
            Level::Debug
        } else {
            Level::Info
        },
        "settings changed",
        &[
            ("request_id", json!(ctx.request_id)),
            ("changed", json!(update.changed)),
            ("caller", json!(caller)),
        ],
    );
    let config = config.with_overrides(update.overrides);
    Ok(spec::values(|key| config.get(key)))
}

fn log_refused(ctx: &RequestCtx, caller: &str, rejected: &Rejected) {
    let fields: Vec<&str> = rejected.0.iter().map(|(field, _)| field.as_str()).collect();
    log::emit(
        Level::Info,
        "settings update refused",
        &[
            ("request_id", json!(ctx.request_id)),
            ("fields", json!(fields)),
            ("caller", json!(caller)),
        ],
    );
}

/// The OpenAI-style error body, with the field in `param` and the message once more in
/// `detail`, which Open WebUI's Pipelines pages show.
fn respond_failure(ctx: &RequestCtx, out: ResponseOutparam, failure: &Failure) {
    let mut body = failure.error.openai_error(&ctx.error_id);
    let message = body
        .pointer("/error/message")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(param) = &failure.param
        && let Some(error) = body.get_mut("error").and_then(Value::as_object_mut)
    {
        error.insert("param".to_owned(), json!(param));
    }
    if let Some(body) = body.as_object_mut() {
        body.insert("detail".to_owned(), message);
    }
    http_io::respond_json(out, failure.error.http_status(), &body.to_string());
}
