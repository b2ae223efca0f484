//! Calls OpenRouter's `/responses` again after a transient failure, before anything was
//! sent to the client. The policy is `crate::retry` (pure); this module sleeps, logs and
//! drops the failed responses.

use super::upstream::{self, UpstreamResponse};
use super::{RequestCtx, log};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::retry::{Decision, decide, retryable_status};
use crate::settings::Settings;
use serde_json::json;
use std::time::Duration;

/// `Ok` with a 2xx response, or with a non-2xx one that is not worth retrying (the
/// caller reads it: the effort retry needs the body); `Err` when the failures were
/// transient and the attempts or the wait budget ran out.
pub fn post_responses(
    ctx: &RequestCtx,
    settings: &Settings,
    body: &[u8],
    stream: bool,
) -> Result<UpstreamResponse, GatewayError> {
    let mut attempts = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        attempts += 1;
        let error = match upstream::post_responses(settings, body, stream) {
            Ok(response) if (200..300).contains(&response.status) => return Ok(response),
            Ok(response) if !retryable_status(response.status) => return Ok(response),
            // Reading the body gives OpenRouter's retry advice (header or metadata).
            Ok(response) => response.into_error(),
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
                log::emit(
                    Level::Info,
                    "retrying the upstream call",
                    &[
                        ("request_id", json!(ctx.request_id)),
                        ("attempt", json!(attempts)),
                        ("wait_ms", json!(wait.as_millis() as u64)),
                        ("error", json!(error.to_string())),
                    ],
                );
                super::sleep(wait);
                waited += wait;
            }
        }
    }
}
