//! `POST /v1/chat/completions`: read and translate the request (breaker, remote media,
//! artifact replay, model fitting), call OpenRouter (`openrouter`), then hand the response
//! to `answer`; failures before the first byte go through `outcome`.

use super::breaker::UserBreaker;
use super::config::Config;
use super::http_io;
use super::openrouter::Route;
use super::outcome::{answer_task_stub, fail_before_first_byte, fail_with_card};
use super::tool_turn::{self, ToolTurn};
use super::usage::UsageIds;
use super::wasi::http::types::{Fields, IncomingRequest, ResponseOutparam};
use super::{RequestCtx, answer, artifacts, fetch, fitting, log, models, openrouter, unix_now};
use crate::breaker::user_identity;
use crate::errors::cards::ModelFacts;
use crate::logline::Level;
use crate::owui::context::{OpenWebUiContext, OpenWebUiHeaders};
use crate::owui::events::OpenWebUiEvents;
use crate::settings::Settings;
use crate::translate::background_task::{TASK_HEADER, is_background_task, safe_stub};
use crate::translate::endpoint::{self, Endpoint};
use crate::translate::identifiers::apply_identifiers;
use crate::translate::image_output::settle_modalities;
use crate::translate::to_responses::{parse_request, translate_request_with};
use serde_json::json;

/// Largest client request accepted; images and files arrive inline as base64.
const REQUEST_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn chat_completions(ctx: &RequestCtx, request: IncomingRequest, out: ResponseOutparam) {
    let headers = request.headers();
    let owui_headers = open_webui_headers(&headers);
    // Set by the host: a label of the client's key (breaker identity of last resort).
    let client = http_io::header(&headers, "x-orpipe-client");
    drop(headers);
    // Known once the body is read; a task refused for the key gets a stub (below).
    let mut task: Option<String> = owui_headers.task.clone();
    let mut breaker: Option<UserBreaker> = None;
    // The model a whole (non-streaming) answer names, known once the body is read: a
    // background task refused for the key is answered in that form (`answer_task_stub`).
    let mut whole_answer_model: Option<String> = None;
    // An Open WebUI chat that asked for a stream: a failure is shown as a card in it.
    let mut card_model: Option<String> = None;
    let prepared = http_io::read_request_body(&request, REQUEST_BODY_LIMIT).and_then(|body| {
        drop(request);
        let mut request = parse_request(&body)?;
        drop(body);
        let owui = OpenWebUiContext::take(&mut request, &owui_headers);
        task = owui.task.clone();
        let model = request
            .get("model")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if request.get("stream").and_then(serde_json::Value::as_bool) != Some(true) {
            whole_answer_model = model;
        } else if owui.from_open_webui && task.is_none() {
            card_model = model;
        }
        let config = Config::read();
        let settings = config.settings()?;
        report_rejected_templates(ctx, &settings);
        let identity = user_identity(
            request.get("user").and_then(serde_json::Value::as_str),
            owui.user_id.as_deref(),
            client.as_deref(),
        );
        let ids = UsageIds::new(
            &config,
            &settings,
            identity.as_deref(),
            owui.chat_id.as_deref(),
        );
        let _ = ctx.usage_ids.set(ids);
        breaker = UserBreaker::load(&settings.breaker, identity.as_deref());
        if let Some(breaker) = &breaker {
            breaker.check()?;
        }
        fetch::inline_remote_audio(&mut request, settings.remote_file_max_bytes)?;
        let openrouter_id = request
            .get("model")
            .and_then(serde_json::Value::as_str)
            .map(openrouter_model_id);
        let entry = match openrouter_id.as_deref() {
            Some(id) => models::entry_for(&settings, id)?,
            None => None,
        };
        settle_modalities(
            &mut request,
            entry.as_ref(),
            &settings.image_output,
            is_background_task(owui.task()),
        )?;
        let route = match openrouter_id.as_deref() {
            Some(id) => match endpoint::choose(&request, id, &settings.endpoints)? {
                (Endpoint::ChatCompletions, Some(reason)) => Route::Chat {
                    reason,
                    chat_only: endpoint::take_chat_only(&mut request),
                },
                _ => Route::Responses,
            },
            None => Route::Responses,
        };
        // Background tasks (titles, tags) neither replay nor store reasoning.
        let session = openrouter_id
            .as_deref()
            .filter(|_| owui.task().is_none())
            .and_then(|model| {
                artifacts::Session::start(ctx, &config, owui.chat_id.as_deref(), &request, model)
            });
        let mut replay = session
            .as_ref()
            .map(|session| session.load(ctx, &request))
            .unwrap_or_default();
        replay.phases = openrouter_id
            .as_deref()
            .is_some_and(crate::markers::supports_phase);
        let mut translated = translate_request_with(request, &replay)?;
        if let (Some(id), Some(body)) = (openrouter_id.clone(), translated.body.as_object_mut()) {
            // Keys the per-chat session id: a secret every replica shares.
            let secret = config
                .get(crate::artifacts::settings::keys::ARTIFACT_KEY)
                .or_else(|| settings.api_key.clone());
            apply_identifiers(
                body,
                &owui.known_ids(),
                &settings.identifiers,
                secret.as_deref(),
                &id,
            );
            body.insert("model".into(), serde_json::Value::String(id));
        }
        // Server tools for a chat turn on `/responses` (the loop speaks its format).
        let offer = match (&route, owui.task(), &openrouter_id) {
            (Route::Responses, None, Some(_)) => {
                tool_turn::offer(ctx, &config, &mut translated.body)
            }
            _ => tool_turn::Offer {
                tools: None,
                unavailable: Vec::new(),
            },
        };
        fitting::prepare(ctx, &settings, &mut translated, &owui, entry.as_ref())?;
        let tool_turn = match offer.tools {
            Some(offered) => ToolTurn::start(
                offered,
                &config,
                &settings,
                &translated.body,
                entry.as_ref().and_then(|e| e.context_length),
                translated.stream,
                identity.as_deref(),
            )?,
            None => None,
        };
        // Event chunks only for Open WebUI: other clients may choke on them.
        let features = &settings.features;
        let events = (owui.from_open_webui && features.owui_events)
            .then(|| OpenWebUiEvents::new(features.status_line));
        let sent = openrouter::send(
            ctx,
            &settings,
            &mut translated.body,
            translated.stream,
            route,
            openrouter_id.as_deref().unwrap_or_default(),
        )?;
        let answer = answer::Answer {
            model: translated.model,
            created: unix_now().0,
            session: None,
            breaker: None,
            templates: settings.templates,
            deadlines: settings.deadlines,
            events,
            endpoint: sent.endpoint,
            image_output: settings.image_output,
            facts: entry.as_ref().map(ModelFacts::of),
            tool_turn,
            tools_unavailable: offer.unavailable,
        };
        Ok((answer, translated.stream, sent.response, session))
    });
    let (answer, stream, response, session) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            let stub = safe_stub(task.as_deref(), &error);
            return match (stub, whole_answer_model, card_model) {
                (Some(stub), Some(model), _) => {
                    answer_task_stub(ctx, out, &error, breaker.as_ref(), stub, model)
                }
                (_, _, Some(model)) => fail_with_card(ctx, out, &error, breaker.as_ref(), &model),
                _ => fail_before_first_byte(ctx, out, &error, breaker.as_ref()),
            };
        }
    };
    let answer = answer::Answer {
        session: session.as_ref(),
        breaker: breaker.as_ref(),
        ..answer
    };
    answer.send(ctx, out, response, stream);
}

/// A broken override is not used (the default card is), and the operator should know;
/// so should they of names an override uses that no card has (they render empty): one
/// line per template.
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
    for (class, names) in settings.templates.unknown_variables() {
        log::emit(
            Level::Warn,
            "card template uses unknown variables, they render empty",
            &[
                ("request_id", json!(ctx.request_id)),
                ("key", json!(class.config_key())),
                ("variables", json!(names)),
            ],
        );
    }
}

/// Clients name models by their listed (URL-safe) ids; OpenRouter wants its own.
pub(super) fn openrouter_model_id(requested: &str) -> String {
    if requested.contains('/') {
        requested.to_owned()
    } else {
        models::cached_id_map().resolve(requested)
    }
}

/// The `X-OpenWebUI-*` headers: sent with `ENABLE_FORWARD_USER_INFO_HEADERS` or a
/// connection's header templates (`{{TASK}}`, `{{MESSAGE_ID}}`).
fn open_webui_headers(headers: &Fields) -> OpenWebUiHeaders {
    // One host call for all of them (rather than one per name); the first value wins.
    let mut found = OpenWebUiHeaders::default();
    for (name, value) in headers.entries() {
        let name = name.to_ascii_lowercase();
        let Some(suffix) = name.strip_prefix("x-openwebui-") else {
            continue;
        };
        let slot = match suffix {
            "chat-id" => &mut found.chat_id,
            "message-id" => &mut found.message_id,
            "user-id" => &mut found.user_id,
            "user-role" => &mut found.user_role,
            _ if name == TASK_HEADER => &mut found.task,
            _ => {
                found.other = true;
                continue;
            }
        };
        if slot.is_none() {
            *slot = String::from_utf8(value).ok();
        }
    }
    found
}
