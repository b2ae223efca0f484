//! The one way to OpenRouter's chat endpoints, before anything was sent to the client:
//! the endpoint the request was routed to (`translate::endpoint`), transient failures
//! retried (the policy is `crate::retry`, pure), a refused reasoning effort retried once
//! with the closest accepted one (FEATURES §9.5, `translate::efforts`), and one fallback
//! from `/responses` to `/chat/completions` when the former cannot serve the model
//! (§5.1). This module only sends, sleeps and logs.

use super::upstream::{self, UpstreamResponse};
use super::{RequestCtx, log};
use crate::errors::GatewayError;
use crate::logline::{Event, Level};
use crate::retry::{Decision, decide};
use crate::settings::Settings;
use crate::translate::efforts::adjust_refused_effort;
use crate::translate::endpoint::{ChatReason, Endpoint};
use crate::translate::provider_headers::provider_headers;
use crate::translate::to_chat_request::chat_body;
use serde_json::{Map, Value, json};
use std::time::Duration;

const RESPONSES: &str = "/responses";
const CHAT_COMPLETIONS: &str = "/chat/completions";

/// Where a request goes: `/responses`, or `/chat/completions` with the request's
/// chat-only fields (`endpoint::take_chat_only`) and the reason.
pub enum Route {
    Responses,
    Chat {
        reason: ChatReason,
        chat_only: Map<String, Value>,
    },
}

impl Route {
    /// The endpoint the request goes to first.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Self::Responses => Endpoint::Responses,
            Self::Chat { .. } => Endpoint::ChatCompletions,
        }
    }
}

/// A successful response and the endpoint that gave it (its answer's format).
pub struct Sent {
    pub response: UpstreamResponse,
    pub endpoint: Endpoint,
}

/// Sends the translated Responses `body` by `route`. `openrouter_id` decides whether a
/// refusal may fall back to the chat endpoint.
pub fn send(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &mut Value,
    stream: bool,
    route: Route,
    openrouter_id: &str,
) -> Result<Sent, GatewayError> {
    let (reason, chat_only) = match route {
        Route::Chat { reason, chat_only } => (reason, chat_only),
        Route::Responses => match post_responses(ctx, settings, body, stream) {
            Ok(response) => {
                return Ok(Sent {
                    response,
                    endpoint: Endpoint::Responses,
                });
            }
            Err(error) if settings.endpoints.may_fall_back(openrouter_id, &error) => {
                log::emit(
                    Level::Info,
                    "OpenRouter's /responses cannot serve the model; asking /chat/completions",
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("model", json!(openrouter_id)),
                        ("error", json!(error.to_string())),
                    ],
                );
                (ChatReason::Fallback, Map::new())
            }
            Err(error) => return Err(error),
        },
    };
    let chat = chat_body(body, chat_only);
    log::emit(
        Level::Debug,
        "request sent to /chat/completions",
        &[
            ("request_id", json!(ctx.request_id)),
            ("reason", json!(reason.as_str())),
        ],
    );
    let response = post_with_retries(ctx, settings, CHAT_COMPLETIONS, &chat, stream)?;
    Ok(Sent {
        response,
        endpoint: Endpoint::ChatCompletions,
    })
}

/// `/responses`, with the refused-effort retry. `body` is the translated request; a
/// refused effort is adjusted in it before the second try.
fn post_responses(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &mut Value,
    stream: bool,
) -> Result<UpstreamResponse, GatewayError> {
    let error = match post_with_retries(ctx, settings, RESPONSES, body, stream) {
        Ok(response) => return Ok(response),
        Err(error) => error,
    };
    let Some((from, to)) = adjust_refused_effort(body, &error) else {
        return Err(error);
    };
    log::event(
        Level::Info,
        "reasoning effort adjusted after a refusal",
        Event::UpstreamRetry,
        &[
            ("request_id", json!(ctx.request_id)),
            ("kind", json!("effort")),
            ("from", json!(from)),
            ("to", json!(to)),
        ],
    );
    post_with_retries(ctx, settings, RESPONSES, body, stream)
}

/// Sends `body`, again after each transient failure, until it succeeds, fails for good,
/// or the attempts or the wait budget run out.
fn post_with_retries(
    ctx: &RequestCtx,
    settings: &Settings,
    endpoint: &str,
    body: &Value,
    stream: bool,
) -> Result<UpstreamResponse, GatewayError> {
    let bytes = super::http_io::json_bytes(body)?;
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let extra_headers = provider_headers(model, &settings.features);
    let mut attempts = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        attempts = attempts.saturating_add(1);
        let error = match upstream::post(settings, endpoint, &bytes, stream, &extra_headers) {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        let random = super::wasi::random::random::get_random_u64();
        match decide(&settings.retry, &error, attempts, waited, random) {
            Decision::GiveUp(why) => {
                if attempts > 1 {
                    log::emit(
                        Level::Warn,
                        "upstream retries gave up",
                        &[
                            ("request_id", json!(ctx.request_id)),
                            ("attempts", json!(attempts)),
                            ("reason", json!(format!("{why:?}"))),
                            ("error", json!(error.to_string())),
                        ],
                    );
                }
                return Err(error);
            }
            Decision::RetryAfter(wait) => {
                log::event(
                    Level::Info,
                    "retrying the upstream call",
                    Event::UpstreamRetry,
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("kind", json!("transient")),
                        ("attempt", json!(attempts)),
                        (
                            "wait_ms",
                            json!(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                        ),
                        ("error", json!(error.to_string())),
                    ],
                );
                super::sleep(wait);
                waited = waited.saturating_add(wait);
            }
        }
    }
}
