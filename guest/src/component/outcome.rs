//! The end of a chat completion, shared by the request side (`chat`) and the answer
//! (`answer`): the breaker's bookkeeping, the failure answered before any byte of an
//! answer, and the usage record with its finish log line.

use super::breaker::UserBreaker;
use super::config::Config;
use super::wasi::http::types::ResponseOutparam;
use super::{RequestCtx, http_io, log, unix_now, usage};
use crate::breaker::counts_as_failure;
use crate::errors::GatewayError;
use crate::errors::cards::ErrorClass;
use crate::errors::cards::{CardContext, ModelFacts};
use crate::logline::{Event, Level};
use crate::openai::{
    ChatCompletion, ChunkHeader, CompletionMessage, Delta, FinishReason, Frames, Usage,
};
use crate::outcome::{BreakerVerdict, Outcome};
use crate::usage_log::UsageRecord;
use serde_json::{Value, json};

/// Updates the user's breaker. Called before the answer's last bytes go out: the client
/// may send its next request at once, and that one must see this outcome.
pub(super) fn settle(breaker: Option<&UserBreaker>, outcome: Outcome) {
    let Some(breaker) = breaker else { return };
    match outcome.breaker_verdict() {
        BreakerVerdict::Success => breaker.record_success(),
        BreakerVerdict::Failure => breaker.record_failure(),
        BreakerVerdict::Neither => {}
    }
}

pub(super) fn fail_before_first_byte(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    error: &GatewayError,
    breaker: Option<&UserBreaker>,
) {
    note_failure(ctx, error, breaker, "chat completion failed");
    http_io::respond_error(out, error, &ctx.error_id);
}

/// A failure before the first byte of an Open WebUI chat that asked for a stream: the
/// failure's card in the stream (as the original pipe showed every failure, in the chat),
/// then an error frame and `[DONE]`, with status 200 so Open WebUI renders the card.
/// Other clients get the HTTP status (`fail_before_first_byte`), which SDKs raise.
pub(super) fn fail_with_card(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    error: &GatewayError,
    breaker: Option<&UserBreaker>,
    model: &str,
) {
    note_failure(
        ctx,
        error,
        breaker,
        "chat completion failed, shown as a card",
    );
    // Read again only on this path: the settings (templates, the model's catalog entry)
    // may be what failed, and then the default card is used.
    let settings = Config::read().settings().ok();
    let facts = settings.as_ref().and_then(|settings| {
        let id = super::chat::openrouter_model_id(model);
        super::models::entry_for(settings, &id)
            .ok()
            .flatten()
            .map(|entry| ModelFacts::of(&entry))
    });
    let templates = settings.map(|s| s.templates).unwrap_or_default();
    let card = error.card(
        &CardContext {
            error_id: &ctx.error_id,
            timestamp: &ctx.started_at,
            model,
            facts: facts.as_ref(),
        },
        &templates,
    );
    let header = ChunkHeader {
        id: format!("chatcmpl-{}", super::random_id()),
        model: model.to_owned(),
        created: unix_now().0,
    };
    let mut frames = Frames::default();
    frames.push_delta(&header, &Delta::start(), None);
    frames.push_delta(&header, &Delta::content(&card), None);
    let code = error.code().unwrap_or_else(|| "error".into());
    let message = format!("{error} (error id {})", ctx.error_id);
    frames.push_error(&code, &message, &ctx.error_id);
    frames.push_done();
    match http_io::ResponseWriter::start(out, 200, super::answer::SSE_HEADERS) {
        Ok(mut writer) => {
            let _ = writer.write(frames.as_bytes());
            writer.finish();
        }
        Err(error) => log_internal(ctx, &error),
    }
}

/// A title, tags or follow-ups task whose key OpenRouter refused: Open WebUI gets the
/// task's harmless default (`background_task::safe_stub`) as a whole answer instead of an
/// error. The failure still counts for the breaker and is logged, so the operator sees it.
pub(super) fn answer_task_stub(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    error: &GatewayError,
    breaker: Option<&UserBreaker>,
    stub: &str,
    model: String,
) {
    note_failure(ctx, error, breaker, "task answered with its safe default");
    let message = CompletionMessage {
        role: "assistant",
        content: Some(stub.to_owned()),
        ..CompletionMessage::default()
    };
    let id = format!("chatcmpl-{}", super::random_id());
    let completion =
        ChatCompletion::new(id, model, unix_now().0, message, FinishReason::Stop, None);
    http_io::respond_json(out, 200, &completion.to_json());
}

fn note_failure(ctx: &RequestCtx, error: &GatewayError, breaker: Option<&UserBreaker>, what: &str) {
    if let Some(breaker) = breaker.filter(|_| counts_as_failure(error)) {
        breaker.record_failure();
    }
    log::event(
        Level::Warn,
        what,
        Event::ChatFailed,
        &[
            ("request_id", json!(ctx.request_id)),
            ("error_id", json!(ctx.error_id)),
            ("status", json!(error.http_status())),
            ("class", json!(error.class().name())),
            ("error", json!(error.to_string())),
            ("duration_ms", json!(ctx.elapsed_ms())),
        ],
    );
}

/// How one answer ended, for the usage record and the finish log line.
pub(super) struct Finished<'a> {
    pub(super) model: &'a str,
    pub(super) response_id: Option<String>,
    pub(super) outcome: Outcome,
    pub(super) usage: Option<&'a Usage>,
    /// Upstream payloads skipped as unreadable; logged when there were any.
    pub(super) unreadable_events: usize,
    /// The class of the card that ended a streamed answer after it started.
    pub(super) failure: Option<ErrorClass>,
}

pub(super) fn record_usage(ctx: &RequestCtx, finished: Finished<'_>) {
    let Finished {
        model,
        response_id,
        outcome,
        usage,
        unreadable_events,
        failure,
    } = finished;
    let (_, created_at_ms) = unix_now();
    let ids = ctx.usage_ids.get().cloned().unwrap_or_default();
    let record = UsageRecord {
        request_id: ctx.request_id.clone(),
        created_at_ms,
        model: model.to_owned(),
        response_id,
        outcome: outcome.as_str().to_owned(),
        prompt_tokens: usage.map(|u| u.prompt_tokens),
        completion_tokens: usage.map(|u| u.completion_tokens),
        reasoning_tokens: usage.map(|u| u.reasoning_tokens),
        cached_tokens: usage.map(|u| u.cached_tokens),
        cost_usd: usage.and_then(|u| u.cost),
        user_hash: ids.user_hash,
        chat_id: ids.chat_id,
    };
    let mut fields: Vec<(&str, Value)> = vec![
        ("request_id", json!(ctx.request_id)),
        (
            "error_id",
            json!((outcome != Outcome::Completed).then_some(&ctx.error_id)),
        ),
        ("model", json!(model)),
        ("outcome", json!(outcome.as_str())),
        ("prompt_tokens", json!(record.prompt_tokens)),
        ("completion_tokens", json!(record.completion_tokens)),
        ("reasoning_tokens", json!(record.reasoning_tokens)),
        ("cached_tokens", json!(record.cached_tokens)),
        ("cost_usd", json!(record.cost_usd)),
        ("duration_ms", json!(ctx.elapsed_ms())),
    ];
    if unreadable_events > 0 {
        fields.push(("unreadable_upstream_events", json!(unreadable_events)));
    }
    if let Some(class) = failure {
        // The class of the card the user saw, for the stream failures metric.
        fields.push(("failure_class", json!(class.name())));
    }
    log::event(
        Level::Info,
        "chat completion finished",
        Event::ChatFinished,
        &fields,
    );
    usage::store(ctx, &record);
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
