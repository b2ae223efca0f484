//! `GET /v1/models`: OpenRouter's catalog in the OpenAI list shape, cached in key-value.

use super::http_io;
use super::wasi::http::types::ResponseOutparam;
use super::{RequestCtx, config, kv, log, unix_now, upstream};
use crate::catalog::openai_model_list;
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::settings::Settings;
use serde_json::json;

/// Key of the cached OpenAI-shaped model list.
pub const CATALOG_KEY: &str = "catalog:v1:openai-list";
const CATALOG_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn list_models(ctx: &RequestCtx, out: ResponseOutparam) {
    kv::count("requests:models");
    let (_, now_ms) = unix_now();
    if let Some(text) =
        kv::get_fresh(CATALOG_KEY, now_ms).and_then(|cached| String::from_utf8(cached).ok())
    {
        return http_io::respond_json(out, 200, &text);
    }
    match config::load().and_then(|settings| refresh(&settings)) {
        Ok(list) => http_io::respond_json(out, 200, &list),
        Err(error) => {
            log::emit(
                Level::Warn,
                "model list failed",
                &[
                    ("request_id", json!(ctx.request_id)),
                    ("error", json!(error.to_string())),
                ],
            );
            http_io::respond_error(out, &error);
        }
    }
}

/// Fetches the catalog from OpenRouter and caches the OpenAI-shaped list.
pub fn refresh(settings: &Settings) -> Result<String, GatewayError> {
    let response = upstream::get_models(settings)?;
    if !(200..300).contains(&response.status) {
        return Err(response.into_error());
    }
    let body = response.body.read_to_end(CATALOG_BODY_LIMIT)?;
    let list = openai_model_list(&body)?;
    let (_, now_ms) = unix_now();
    let ttl_ms = u64::try_from(settings.catalog_ttl.as_millis()).unwrap_or(u64::MAX);
    if let Err(reason) = kv::put_until(CATALOG_KEY, list.as_bytes(), now_ms.saturating_add(ttl_ms))
    {
        log::emit(
            Level::Warn,
            "catalog not cached",
            &[("error", json!(reason))],
        );
    }
    Ok(list)
}
