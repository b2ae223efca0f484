//! Before a chat request goes upstream: the operator's model filters, the background-task
//! cheap path or, for a chat turn, reasoning on by default, the web search of Open
//! WebUI's toggle and the operator's server tools, then fitting the body to the model's
//! catalog entry. The decisions are pure functions (`catalog::filter`,
//! `translate::background_task`, `translate::reasoning_default`, `translate::web_search`,
//! `translate::server_tools`, `translate::fit_model`); this module only logs. The caller
//! fetched the model's catalog entry.

use super::{RequestCtx, log};
use crate::catalog::entry::CatalogEntry;
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::owui::OpenWebUiContext;
use crate::settings::Settings;
use crate::translate::background_task::{cheapen, is_background_task};
use crate::translate::fit_model::fit_to_model;
use crate::translate::image_history::{ImagesLeftOut, limit_history_images};
use crate::translate::long_chats::{Trimmed, apply_context_compression, trim_tool_outputs};
use crate::translate::reasoning_default::add_default_reasoning;
use crate::translate::server_tools::add_server_tools;
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
    entry: Option<&CatalogEntry>,
) -> Result<(), GatewayError> {
    let task = owui.task();
    let openrouter_id = translated
        .body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let filter = &settings.model_filter;
    if let Err(reasons) = filter.admits(&openrouter_id, entry) {
        return Err(GatewayError::ModelRestricted(filter.refusal(
            &translated.model,
            &openrouter_id,
            &reasons,
        )));
    }
    if filter.zdr_enforce {
        require_zdr(&mut translated.body);
    }
    let features = &settings.features;
    let mut server_tools = Vec::new();
    if is_background_task(task) {
        cheapen(&mut translated.body, entry, features.reasoning.task_effort);
    } else {
        // Only the catalog says whether a model reasons: an unknown one gets no default.
        if let Some(entry) = entry {
            add_default_reasoning(&mut translated.body, entry, &features.reasoning);
        }
        if owui.features.web_search {
            add_web_search(&mut translated.body, &features.web_search);
        }
        // The same `{"type": "openrouter:…"}` entries serve both endpoints.
        server_tools =
            add_server_tools(&mut translated.body, &openrouter_id, &settings.server_tools);
    }
    let images = limit_history_images(&mut translated.body, settings.max_input_images);
    let mut trimmed = Trimmed::default();
    if let Some(body) = translated.body.as_object_mut() {
        // Tasks are short single prompts: nothing to compress, and they stay cheap.
        if !is_background_task(task) {
            apply_context_compression(body, &settings.long_chats);
        }
        let context_length = entry.and_then(|e| e.context_length);
        trimmed = trim_tool_outputs(body, &settings.long_chats, context_length);
    }
    let mut notes = match entry {
        Some(entry) => fit_to_model(&mut translated.body, entry)?,
        None => Vec::new(),
    };
    if trimmed != Trimmed::default() {
        notes.push(format!(
            "{} tool output(s) pruned, {} characters removed",
            trimmed.outputs, trimmed.chars
        ));
    }
    if !server_tools.is_empty() {
        notes.push(format!("server tools added: {}", server_tools.join(", ")));
    }
    if images != ImagesLeftOut::default() {
        notes.push(format!(
            "images not sent: {} from earlier turns, {} over the limit of {}",
            images.earlier, images.over_limit, settings.max_input_images
        ));
    }
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

/// `provider.zdr = true`: OpenRouter then routes only to endpoints that keep no data.
fn require_zdr(body: &mut Value) {
    let Some(body) = body.as_object_mut() else {
        return;
    };
    let provider = body
        .entry("provider")
        .or_insert_with(|| Value::Object(Default::default()));
    if !provider.is_object() {
        *provider = Value::Object(Default::default());
    }
    if let Some(provider) = provider.as_object_mut() {
        provider.insert("zdr".into(), Value::Bool(true));
    }
}
