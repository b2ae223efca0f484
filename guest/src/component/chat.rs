//! `POST /v1/chat/completions`: read and translate the request (breaker, remote media,
//! artifact replay, model fitting), call OpenRouter with retries, then hand the response
//! to `answer`; failures before the first byte, the breaker's bookkeeping and the usage
//! record are here too.

use super::breaker::UserBreaker;
use super::http_io;
use super::wasi::http::types::{IncomingRequest, ResponseOutparam};
use super::{
    RequestCtx, answer, artifacts, config, fetch, fitting, kv, log, models, retries, sql, unix_now,
};
use crate::breaker::{counts_as_failure, user_identity};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::settings::Settings;
use crate::translate::background_task::TASK_HEADER;
use crate::translate::to_responses::{parse_request, translate_request_with};
use crate::usage_log::UsageRecord;
use serde_json::json;

/// Largest client request accepted; images and files arrive inline as base64.
const REQUEST_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn chat_completions(ctx: &RequestCtx, request: IncomingRequest, out: ResponseOutparam) {
    kv::count("requests:chat_completions");
    let headers = request.headers();
    let chat_id_header = http_io::header(&headers, "x-openwebui-chat-id");
    let task = http_io::header(&headers, TASK_HEADER);
    let owui_user = http_io::header(&headers, "x-openwebui-user-id");
    // Set by the host: a label of the client's key (breaker identity of last resort).
    let client = http_io::header(&headers, "x-orpipe-client");
    drop(headers);
    let mut breaker: Option<UserBreaker> = None;
    let prepared = http_io::read_request_body(&request, REQUEST_BODY_LIMIT).and_then(|body| {
        drop(request);
        let mut request = parse_request(&body)?;
        drop(body);
        let settings = config::load()?;
        report_rejected_templates(ctx, &settings);
        let identity = user_identity(
            request.get("user").and_then(serde_json::Value::as_str),
            owui_user.as_deref(),
            client.as_deref(),
        );
        breaker = UserBreaker::load(&settings.breaker, identity.as_deref());
        if let Some(breaker) = &breaker {
            breaker.check()?;
        }
        fetch::inline_remote_audio(&mut request)?;
        let openrouter_id = request
            .get("model")
            .and_then(serde_json::Value::as_str)
            .map(openrouter_model_id);
        // Background tasks (titles, tags) neither replay nor store reasoning.
        let session = openrouter_id
            .as_deref()
            .filter(|_| task.as_deref().is_none_or(|t| t.trim().is_empty()))
            .and_then(|model| {
                artifacts::Session::start(ctx, chat_id_header.as_deref(), &request, model)
            });
        let mut replay = session
            .as_ref()
            .map(|session| session.load(ctx, &request))
            .unwrap_or_default();
        replay.phases = openrouter_id
            .as_deref()
            .is_some_and(crate::markers::supports_phase);
        let mut translated = translate_request_with(request, &replay)?;
        if let (Some(id), Some(body)) = (openrouter_id, translated.body.as_object_mut()) {
            body.insert("model".into(), serde_json::Value::String(id));
        }
        fitting::prepare(ctx, &settings, &mut translated, task.as_deref())?;
        let upstream_body = http_io::json_bytes(&translated.body)?;
        let response = retries::post_responses(ctx, &settings, &upstream_body, translated.stream)?;
        let response = fitting::retry_refused_effort(
            ctx,
            &settings,
            &mut translated.body,
            translated.stream,
            response,
        )?;
        Ok((
            translated.model,
            translated.stream,
            response,
            session,
            settings.templates,
            settings.deadlines,
        ))
    });
    let (model, stream, response, session, templates, deadlines) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return fail_before_first_byte(ctx, out, &error, breaker.as_ref()),
    };
    if !(200..300).contains(&response.status) {
        return fail_before_first_byte(ctx, out, &response.into_error(), breaker.as_ref());
    }
    let (created, _) = unix_now();
    let answer = answer::Answer {
        model,
        created,
        session: session.as_ref(),
        breaker: breaker.as_ref(),
        templates,
        deadlines,
    };
    if stream {
        answer::stream_answer(ctx, out, response, answer);
    } else {
        answer::whole_answer(ctx, out, response, answer);
    }
}

/// Updates the user's breaker. Called before the answer's last bytes go out: the client
/// may send its next request at once, and that one must see this outcome.
pub(super) fn settle(breaker: Option<&UserBreaker>, outcome: &str) {
    let Some(breaker) = breaker else { return };
    match outcome {
        "completed" => breaker.record_success(),
        // The connection to OpenRouter broke mid-answer: upstream trouble.
        "interrupted" => breaker.record_failure(),
        // An error event is the provider's verdict on this request, not an outage;
        // a client that left says nothing about upstream.
        _ => {}
    }
}

/// A broken override is not used (the default card is), and the operator should know.
fn report_rejected_templates(ctx: &RequestCtx, settings: &Settings) {
    for (class, reason) in settings.templates.rejected() {
        log::emit(
            Level::Warn,
            "card template ignored, the default is used",
            &[
                ("request_id", json!(ctx.request_id)),
                ("key", json!(class.config_key())),
                ("reason", json!(reason)),
            ],
        );
    }
}

/// Clients name models by their listed (URL-safe) ids; OpenRouter wants its own.
fn openrouter_model_id(requested: &str) -> String {
    if requested.contains('/') {
        requested.to_owned()
    } else {
        models::cached_id_map().resolve(requested)
    }
}

pub(super) fn fail_before_first_byte(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    error: &GatewayError,
    breaker: Option<&UserBreaker>,
) {
    if let Some(breaker) = breaker.filter(|_| counts_as_failure(error)) {
        breaker.record_failure();
    }
    log::emit(
        Level::Warn,
        "chat completion failed",
        &[
            ("request_id", json!(ctx.request_id)),
            ("error_id", json!(ctx.error_id)),
            ("status", json!(error.http_status())),
            ("error", json!(error.to_string())),
            ("duration_ms", json!(ctx.elapsed_ms())),
        ],
    );
    http_io::respond_error(out, error, &ctx.error_id);
}

pub(super) fn record_usage(
    ctx: &RequestCtx,
    model: &str,
    response_id: Option<String>,
    outcome: &str,
    usage: Option<&crate::openai::Usage>,
) {
    let (_, created_at_ms) = unix_now();
    let record = UsageRecord {
        request_id: ctx.request_id.clone(),
        created_at_ms,
        model: model.to_owned(),
        response_id,
        outcome: outcome.to_owned(),
        prompt_tokens: usage.map(|u| u.prompt_tokens),
        completion_tokens: usage.map(|u| u.completion_tokens),
        reasoning_tokens: usage.map(|u| u.reasoning_tokens),
        cached_tokens: usage.map(|u| u.cached_tokens),
        cost_usd: usage.and_then(|u| u.cost),
    };
    log::emit(
        Level::Info,
        "chat completion finished",
        &[
            ("request_id", json!(ctx.request_id)),
            (
                "error_id",
                json!((outcome != "completed").then_some(&ctx.error_id)),
            ),
            ("model", json!(model)),
            ("outcome", json!(outcome)),
            ("prompt_tokens", json!(record.prompt_tokens)),
            ("completion_tokens", json!(record.completion_tokens)),
            ("cost_usd", json!(record.cost_usd)),
            ("duration_ms", json!(ctx.elapsed_ms())),
        ],
    );
    let (statement, params) = record.insert_statement();
    if let Err(error) = sql::execute(statement, params) {
        // Telemetry must never cost the user their answer: log and carry on.
        log::emit(
            Level::Warn,
            "usage not recorded",
            &[
                ("request_id", json!(ctx.request_id)),
                ("error", json!(error)),
            ],
        );
    }
}

pub(super) fn log_internal(ctx: &RequestCtx, error: &GatewayError) {
    log::emit(
        Level::Error,
        "response could not start",
        &[
            ("request_id", json!(ctx.request_id)),
            ("error", json!(error.to_string())),
        ],
    );
}
