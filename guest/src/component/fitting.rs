//! Before a chat request goes upstream: the operator's model filters, the background-task
//! cheap path, and fitting the body to the model's catalog entry; after a refusal of its
//! reasoning effort, one retry with the closest accepted effort (FEATURES §9.5). The
//! decisions are pure functions (`catalog::filter`, `translate::background_task`,
//! `translate::fit_model`, `translate::efforts`); this module only fetches and logs.

use super::upstream::UpstreamResponse;
use super::{RequestCtx, log, models};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::settings::Settings;
use crate::translate::background_task::{cheapen, is_background_task};
use crate::translate::efforts::effort_fallback;
use crate::translate::fit_model::fit_to_model;
use crate::translate::to_responses::TranslatedRequest;
use serde_json::{Value, json};

/// Applies filters, task path and fitting to `translated.body` (whose `model` is already
/// the OpenRouter id).
pub fn prepare(
    ctx: &RequestCtx,
    settings: &Settings,
    translated: &mut TranslatedRequest,
    task: Option<&str>,
) -> Result<(), GatewayError> {
    let openrouter_id = translated
        .body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let entry = models::entry_for(settings, &openrouter_id)?;
    let filter = &settings.model_filter;
    if let Err(reasons) = filter.admits(&openrouter_id, entry.as_ref()) {
        return Err(GatewayError::ModelRestricted(filter.refusal(
            &translated.model,
            &openrouter_id,
            &reasons,
        )));
    }
    if is_background_task(task) {
        cheapen(&mut translated.body, entry.as_ref());
    }
    let notes = match &entry {
        Some(entry) => fit_to_model(&mut translated.body, entry)?,
        None => Vec::new(),
    };
    if task.is_some() || !notes.is_empty() {
        log::emit(
            Level::Info,
            "request fitted to the model",
            &[
                ("request_id", json!(ctx.request_id)),
                ("model", json!(openrouter_id)),
                ("known_model", json!(entry.is_some())),
                ("task", json!(task)),
                ("changes", json!(notes)),
            ],
        );
    }
    Ok(())
}

/// Passes a successful response through. When OpenRouter refused the reasoning effort
/// and said which ones it accepts, sends the request once more with the closest one;
/// any other failure is returned as the error it is.
pub fn retry_refused_effort(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &mut Value,
    stream: bool,
    response: UpstreamResponse,
) -> Result<UpstreamResponse, GatewayError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let error = response.into_error();
    let Some((from, to)) = effort_fallback(body, &error) else {
        return Err(error);
    };
    log::emit(
        Level::Info,
        "reasoning effort adjusted after a refusal",
        &[
            ("request_id", json!(ctx.request_id)),
            ("from", json!(from)),
            ("to", json!(to)),
        ],
    );
    if let Some(reasoning) = body.get_mut("reasoning").and_then(Value::as_object_mut) {
        reasoning.insert("effort".into(), Value::String(to));
    }
    let bytes = serde_json::to_vec(body)
        .map_err(|e| GatewayError::Internal(format!("serializing the upstream request: {e}")))?;
    super::retries::post_responses(ctx, settings, &bytes, stream)
}
