//! `POST /v1/chat/completions`: read and translate the request (breaker, remote media,
//! artifact replay, model fitting), call OpenRouter (`openrouter`), then hand the response
//! to `answer`; failures before the first byte go through `outcome`.

use super::breaker::UserBreaker;
use super::config::Config;
use super::http_io;
use super::outcome::{answer_task_stub, fail_before_first_byte};
use super::wasi::http::types::{IncomingRequest, ResponseOutparam};
use super::{RequestCtx, answer, artifacts, fetch, fitting, log, models, openrouter, unix_now};
use crate::breaker::user_identity;
use crate::logline::Level;
use crate::settings::Settings;
use crate::translate::background_task::{TASK_HEADER, safe_stub};
use crate::translate::to_responses::{parse_request, translate_request_with};
use serde_json::json;

/// Largest client request accepted; images and files arrive inline as base64.
const REQUEST_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn chat_completions(ctx: &RequestCtx, request: IncomingRequest, out: ResponseOutparam) {
    let headers = request.headers();
    let chat_id_header = http_io::header(&headers, "x-openwebui-chat-id");
    let task = http_io::header(&headers, TASK_HEADER);
    let owui_user = http_io::header(&headers, "x-openwebui-user-id");
    // Set by the host: a label of the client's key (breaker identity of last resort).
    let client = http_io::header(&headers, "x-orpipe-client");
    drop(headers);
    let mut breaker: Option<UserBreaker> = None;
    // The model a whole (non-streaming) answer names, known once the body is read: a
    // background task refused for the key is answered in that form (`answer_task_stub`).
    let mut whole_answer_model: Option<String> = None;
    let prepared = http_io::read_request_body(&request, REQUEST_BODY_LIMIT).and_then(|body| {
        drop(request);
        let mut request = parse_request(&body)?;
        drop(body);
        if request.get("stream").and_then(serde_json::Value::as_bool) != Some(true) {
            whole_answer_model = request
                .get("model")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
        }
        let config = Config::read();
        let settings = config.settings()?;
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
        fetch::inline_remote_audio(&mut request, settings.remote_file_max_bytes)?;
        let openrouter_id = request
            .get("model")
            .and_then(serde_json::Value::as_str)
            .map(openrouter_model_id);
        // Background tasks (titles, tags) neither replay nor store reasoning.
        let session = openrouter_id
            .as_deref()
            .filter(|_| task.as_deref().is_none_or(|t| t.trim().is_empty()))
            .and_then(|model| {
                artifacts::Session::start(ctx, &config, chat_id_header.as_deref(), &request, model)
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
        let response =
            openrouter::post_responses(ctx, &settings, &mut translated.body, translated.stream)?;
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
        Err(error) => {
            let stub = safe_stub(task.as_deref(), &error);
            return match (stub, whole_answer_model) {
                (Some(stub), Some(model)) => {
                    answer_task_stub(ctx, out, &error, breaker.as_ref(), stub, model)
                }
                _ => fail_before_first_byte(ctx, out, &error, breaker.as_ref()),
            };
        }
    };
    let (created, _) = unix_now();
    let answer = answer::Answer {
        model,
        created,
        session: session.as_ref(),
        breaker: breaker.as_ref(),
        templates,
        deadlines,
    };
    answer.send(ctx, out, response, stream);
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
