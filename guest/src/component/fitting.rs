//! Before a chat request goes upstream: the operator's model filters, the background-task
//! cheap path or, for a chat turn, reasoning on by default and the web search of Open
//! WebUI's toggle, then fitting the body to the model's catalog entry. The decisions are
//! pure functions (`catalog::filter`, `translate::background_task`,
//! `translate::reasoning_default`, `translate::web_search`, `translate::fit_model`); this
//! module only fetches and logs.

use super::{RequestCtx, log, models};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::owui::OpenWebUiContext;
use crate::settings::Settings;
use crate::translate::background_task::{cheapen, is_background_task};
use crate::translate::fit_model::fit_to_model;
use crate::translate::reasoning_default::add_default_reasoning;
use crate::translate::to_responses::TranslatedRequest;
use crate::translate::web_search::add_web_search;
use serde_json::{Value, json};

/// Applies filters, task path (or chat defaults) and fitting to `translated.body` (whose
/// `model` is already the OpenRouter id).
pub fn prepare(
    ctx: &RequestCtx,
    settings: &Settings,
    translated: &mut TranslatedRequest,
    owui: &OpenWebUiContext,
) -> Result<(), GatewayError> {
    let task = owui.task();
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
    let features = &settings.features;
    if is_background_task(task) {
        cheapen(
            &mut translated.body,
            entry.as_ref(),
            features.reasoning.task_effort,
        );
    } else {
        // Only the catalog says whether a model reasons: an unknown one gets no default.
        if let Some(entry) = &entry {
            add_default_reasoning(&mut translated.body, entry, &features.reasoning);
        }
        if owui.features.web_search {
            add_web_search(&mut translated.body, &features.web_search);
        }
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
