//! `POST /v1/chat/completions`: translate, call OpenRouter, and stream the translated
//! chunks back as each upstream read is translated. Nothing buffers a whole answer.

use super::breaker::UserBreaker;
use super::http_io::{self, ReadError, ResponseWriter};
use super::upstream::{self, UpstreamResponse};
use super::wasi::http::types::{IncomingRequest, ResponseOutparam};
use super::{
    RequestCtx, artifacts, config, fetch, fitting, kv, log, models, random_id, retries, sql,
    unix_now,
};
use crate::breaker::{counts_as_failure, user_identity};
use crate::errors::GatewayError;
use crate::errors::cards::CardTemplates;
use crate::logline::Level;
use crate::settings::{Deadlines, Settings};
use crate::sse::{SseDecoder, SseEvent};
use crate::translate::background_task::TASK_HEADER;
use crate::translate::to_chunks::{ChunkTranslator, StreamContext};
use crate::translate::to_completion::{completion_from_response, usage_of};
use crate::translate::to_responses::{parse_request, translate_request_with};
use crate::usage_log::UsageRecord;
use serde_json::json;

/// Largest client request accepted; images and files arrive inline as base64.
const REQUEST_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Largest non-streaming upstream answer accepted.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024 * 1024;

const SSE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    // Tells nginx-style proxies in front of orpipe not to buffer the stream.
    ("x-accel-buffering", "no"),
];

pub fn chat_completions(ctx: &RequestCtx, request: IncomingRequest, out: ResponseOutparam) {
    kv::count("requests:chat_completions");
    let headers = request.headers();
    let chat_id_header = http_io::header(&headers, "x-openwebui-chat-id");
    let task = http_io::header(&headers, TASK_HEADER);
    let owui_user = http_io::header(&headers, "x-openwebui-user-id");
    // Only ever hashed (breaker key); never logged or stored as it is.
    let authorization = http_io::header(&headers, "authorization");
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
            authorization.as_deref(),
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
        let upstream_body = serde_json::to_vec(&translated.body).map_err(|e| {
            GatewayError::Internal(format!("serializing the upstream request: {e}"))
        })?;
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
    let answer = Answer {
        model,
        created,
        session: session.as_ref(),
        breaker: breaker.as_ref(),
        templates,
        deadlines,
    };
    if stream {
        stream_answer(ctx, out, response, answer);
    } else {
        whole_answer(ctx, out, response, answer);
    }
}

/// Updates the user's breaker. Called before the answer's last bytes go out: the client
/// may send its next request at once, and that one must see this outcome.
fn settle(breaker: Option<&UserBreaker>, outcome: &str) {
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

fn fail_before_first_byte(
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

/// What an answer needs besides the upstream response.
struct Answer<'a> {
    model: String,
    created: u64,
    session: Option<&'a artifacts::Session>,
    breaker: Option<&'a UserBreaker>,
    templates: CardTemplates,
    deadlines: Deadlines,
}

fn stream_answer(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    response: UpstreamResponse,
    answer: Answer<'_>,
) {
    let Answer {
        model,
        created,
        session,
        breaker,
        templates,
        deadlines,
    } = answer;
    let mut writer = match ResponseWriter::start(out, 200, SSE_HEADERS) {
        Ok(writer) => writer,
        Err(error) => return log_internal(ctx, &error),
    };
    let fallback_id = response
        .generation_id
        .clone()
        .unwrap_or_else(|| format!("chatcmpl-{}", random_id()));
    let mut translator = ChunkTranslator::new(StreamContext {
        model: model.clone(),
        created,
        fallback_id,
        error_id: ctx.error_id.clone(),
        timestamp: ctx.started_at.clone(),
    });
    translator = translator.with_templates(templates);
    if let Some(session) = session {
        translator = translator.with_capture(session.capture());
    }
    let mut decoder = SseDecoder::new();
    let mut outcome = "completed";
    let mut frames = String::new();
    let mut last_bytes_ms = ctx.elapsed_ms();
    'read: loop {
        let bytes = match response.body.read() {
            Ok(Some(bytes)) => {
                last_bytes_ms = ctx.elapsed_ms();
                bytes
            }
            Ok(None) => break,
            Err(ReadError::Transport(code)) => {
                let error = upstream::transport_error(code);
                log::emit(
                    Level::Warn,
                    "upstream stream broke",
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("error", json!(error.to_string())),
                    ],
                );
                // The host's idle timeout does not always arrive as a timeout code, so
                // the silence before the failure decides too.
                let silent_ms = ctx.elapsed_ms() - last_bytes_ms;
                if matches!(error, GatewayError::UpstreamTimeout(_))
                    || silent_ms >= deadlines.idle.as_secs_f64() * 1000.0 * 0.9
                {
                    frames.extend(translator.abort(
                        "upstream_timeout",
                        &format!(
                            "OpenRouter sent nothing for {} seconds, so the answer was cut off",
                            deadlines.idle.as_secs()
                        ),
                    ));
                }
                outcome = "interrupted";
                break;
            }
        };
        if ctx.elapsed_ms() > deadlines.total.as_secs_f64() * 1000.0 {
            log::emit(
                Level::Warn,
                "request deadline exceeded",
                &[
                    ("request_id", json!(ctx.request_id)),
                    ("deadline_secs", json!(deadlines.total.as_secs())),
                ],
            );
            frames.extend(translator.abort(
                "deadline_exceeded",
                &format!(
                    "the answer took longer than the {}-second limit for one request",
                    deadlines.total.as_secs()
                ),
            ));
            outcome = "interrupted";
            break;
        }
        decoder.push(&bytes);
        loop {
            match decoder.next_event() {
                Ok(Some(SseEvent::Data(data))) => frames.extend(translator.on_data(&data)),
                Ok(Some(SseEvent::Done)) => {
                    flush(&mut writer, &mut frames).ok();
                    break 'read;
                }
                Ok(Some(SseEvent::Comment)) => {}
                Ok(None) => break,
                Err(error) => {
                    log::emit(
                        Level::Warn,
                        "upstream event rejected",
                        &[
                            ("request_id", json!(ctx.request_id)),
                            ("error", json!(error.to_string())),
                        ],
                    );
                    outcome = "interrupted";
                    break 'read;
                }
            }
        }
        // One write per upstream read: every frame translated from it goes out now.
        if flush(&mut writer, &mut frames).is_err() {
            outcome = "client_gone";
            break;
        }
    }
    if outcome != "client_gone" {
        if let Some(SseEvent::Data(data)) = decoder.finish() {
            frames.extend(translator.on_data(&data));
        }
        frames.extend(translator.finish());
        // Stored before `[DONE]` goes out: a client may send its next turn at once.
        if let (Some(session), Some(capture)) = (session, translator.take_capture()) {
            session.store(ctx, capture.into_captured());
        }
        let failed_in_stream = outcome == "completed" && translator.failure().is_some();
        settle(
            breaker,
            if failed_in_stream {
                "upstream_error"
            } else {
                outcome
            },
        );
        if flush(&mut writer, &mut frames).is_err() {
            outcome = "client_gone";
        }
    }
    // Dropping the upstream body first tells the host to stop reading from OpenRouter.
    drop(response);
    writer.finish();
    if outcome == "completed" && translator.failure().is_some() {
        outcome = "upstream_error";
    }
    let usage = translator.usage().cloned();
    record_usage(
        ctx,
        &model,
        translator.response_id().map(str::to_owned),
        outcome,
        usage.as_ref(),
    );
}

fn flush(writer: &mut ResponseWriter, frames: &mut String) -> Result<(), http_io::ClientGone> {
    if frames.is_empty() {
        return Ok(());
    }
    let result = writer.write(frames.as_bytes());
    frames.clear();
    result
}

fn whole_answer(
    ctx: &RequestCtx,
    out: ResponseOutparam,
    response: UpstreamResponse,
    answer: Answer<'_>,
) {
    let Answer {
        model,
        created,
        session,
        breaker,
        ..
    } = answer;
    let mut capture = session.map(artifacts::Session::capture);
    let result = response
        .body
        .read_to_end(RESPONSE_BODY_LIMIT)
        .and_then(|body| completion_from_response(&body, &model, created, capture.as_mut()));
    match result {
        Ok(completion) => {
            if let (Some(session), Some(capture)) = (session, capture) {
                session.store(ctx, capture.into_captured());
            }
            let parsed: Option<serde_json::Value> = serde_json::from_str(&completion).ok();
            settle(breaker, "completed");
            http_io::respond_json(out, 200, &completion);
            let usage = parsed.as_ref().and_then(usage_of);
            let id = parsed
                .as_ref()
                .and_then(|c| c.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            record_usage(ctx, &model, id, "completed", usage.as_ref());
        }
        // An unreadable or broken whole answer counts like any other upstream failure.
        Err(error) => fail_before_first_byte(ctx, out, &error, breaker),
    }
}

fn record_usage(
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

fn log_internal(ctx: &RequestCtx, error: &GatewayError) {
    log::emit(
        Level::Error,
        "response could not start",
        &[
            ("request_id", json!(ctx.request_id)),
            ("error", json!(error.to_string())),
        ],
    );
}
