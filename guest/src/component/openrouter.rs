//! The one way to OpenRouter's `/responses`, before anything was sent to the client:
//! transient failures are retried (the policy is `crate::retry`, pure), and a refused
//! reasoning effort is retried once with the closest accepted one (FEATURES §9.5; the
//! decision is `translate::efforts`, pure). This module only sends, sleeps and logs.

use super::upstream::{self, UpstreamResponse};
use super::{RequestCtx, log};
use crate::errors::GatewayError;
use crate::logline::{Event, Level};
use crate::retry::{Decision, decide};
use crate::settings::Settings;
use crate::translate::efforts::adjust_refused_effort;
use serde_json::{Value, json};
use std::time::Duration;

/// A successful response, or the error the client should see. `body` is the
/// translated request; a refused effort is adjusted in it before the second try.
pub fn post_responses(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &mut Value,
    stream: bool,
) -> Result<UpstreamResponse, GatewayError> {
    let error = match post_with_retries(ctx, settings, body, stream) {
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
    post_with_retries(ctx, settings, body, stream)
}

/// Sends `body`, again after each transient failure, until it succeeds, fails for good,
/// or the attempts or the wait budget run out.
fn post_with_retries(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &Value,
    stream: bool,
) -> Result<UpstreamResponse, GatewayError> {
    let bytes = super::http_io::json_bytes(body)?;
    let mut attempts = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        attempts = attempts.saturating_add(1);
        let error = match upstream::post_responses(settings, &bytes, stream) {
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
