//! `GET /v1/models` and the catalog cache behind it: OpenRouter's catalog is kept in
//! key-value with its refresh state, refreshed by policy (`catalog::refresh`), and the
//! last good catalog is served while OpenRouter is failing.

use super::http_io;
use super::wasi::http::types::ResponseOutparam;
use super::{RequestCtx, config, kv, log, unix_now, upstream};
use crate::catalog::Catalog;
use crate::catalog::ids::IdMap;
use crate::catalog::refresh::{Decision, RefreshState};
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::settings::Settings;
use serde_json::json;

const PAYLOAD_KEY: &str = "catalog:v2:payload";
const IDS_KEY: &str = "catalog:v2:ids";
const STATE_KEY: &str = "catalog:v2:state";
const CATALOG_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn list_models(ctx: &RequestCtx, out: ResponseOutparam) {
    kv::count("requests:models");
    match config::load().and_then(|settings| load_catalog(&settings)) {
        Ok(catalog) => http_io::respond_json(out, 200, &catalog.openai_model_list()),
        Err(error) => {
            log::emit(
                Level::Warn,
                "model list failed",
                &[
                    ("request_id", json!(ctx.request_id)),
                    ("error_id", json!(ctx.error_id)),
                    ("error", json!(error.to_string())),
                ],
            );
            http_io::respond_error(out, &error, &ctx.error_id);
        }
    }
}

/// The catalog to serve now: cached, or refetched when stale and not backing off.
pub fn load_catalog(settings: &Settings) -> Result<Catalog, GatewayError> {
    let (_, now_ms) = unix_now();
    let mut cached = kv::get_many(&[PAYLOAD_KEY, STATE_KEY]).into_iter();
    let cached_catalog = cached
        .next()
        .flatten()
        .and_then(|payload| Catalog::parse(&payload).ok());
    let state: RefreshState = cached
        .next()
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    match (
        state.decide(now_ms, cached_catalog.is_some()),
        cached_catalog,
    ) {
        (Decision::UseCached, Some(catalog)) => Ok(catalog),
        (Decision::UseCached, None) => Err(GatewayError::UpstreamConnection(
            "OpenRouter's model catalog is unavailable; retry in a few seconds".into(),
        )),
        (Decision::Fetch, cached) => match refresh(settings) {
            Ok(catalog) => Ok(catalog),
            Err(error) => {
                let ttl_ms = ttl_ms(settings);
                let failed = state.failed(now_ms, ttl_ms, jitter());
                store_state(&failed);
                log::emit(
                    Level::Warn,
                    "catalog refresh failed",
                    &[
                        ("error", json!(error.to_string())),
                        ("failures", json!(failed.failures)),
                        ("serving_cached", json!(cached.is_some())),
                    ],
                );
                cached.ok_or(error)
            }
        },
    }
}

/// Fetches the catalog from OpenRouter and caches it with its id map.
pub fn refresh(settings: &Settings) -> Result<Catalog, GatewayError> {
    let response = upstream::get_models(settings)?;
    if !(200..300).contains(&response.status) {
        return Err(response.into_error());
    }
    let payload = response.body.read_to_end(CATALOG_BODY_LIMIT)?;
    let catalog = Catalog::parse(&payload)?;
    let (_, now_ms) = unix_now();
    let state = RefreshState::succeeded(now_ms, ttl_ms(settings));
    let stored = kv::set_many(&[
        (PAYLOAD_KEY, payload),
        (IDS_KEY, catalog.id_map().to_json().into_bytes()),
        (STATE_KEY, serde_json::to_vec(&state).unwrap_or_default()),
    ]);
    if let Err(reason) = stored {
        log::emit(
            Level::Warn,
            "catalog not cached",
            &[("error", json!(reason))],
        );
    }
    Ok(catalog)
}

/// Public id → OpenRouter id, from the cache (empty when nothing is cached: the
/// first-dot fallback then applies).
pub fn cached_id_map() -> IdMap {
    kv::get(IDS_KEY)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| IdMap::from_json(&text))
        .unwrap_or_default()
}

fn store_state(state: &RefreshState) {
    if let Ok(bytes) = serde_json::to_vec(state) {
        let _ = kv::set_many(&[(STATE_KEY, bytes)]);
    }
}

fn ttl_ms(settings: &Settings) -> u64 {
    u64::try_from(settings.catalog_ttl.as_millis()).unwrap_or(u64::MAX)
}

/// Uniform in [0, 1), so replicas retrying a failing OpenRouter spread out.
fn jitter() -> f64 {
    (super::wasi::random::random::get_random_u64() >> 11) as f64 / (1u64 << 53) as f64
}
