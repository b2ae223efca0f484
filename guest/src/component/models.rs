//! `GET /v1/models` and the catalog cache behind it: OpenRouter's catalog is kept in
//! key-value with its refresh state, refreshed by policy (`catalog::refresh`), and the
//! last good catalog is served while OpenRouter is failing.

use super::config::Config;
use super::http_io;
use super::wasi::http::types::ResponseOutparam;
use super::{RequestCtx, kv, log, unix_now, upstream};
use crate::catalog::Catalog;
use crate::catalog::entry::CatalogEntry;
use crate::catalog::ids::IdMap;
use crate::catalog::refresh::{Decision, RefreshState};
use crate::catalog::zdr::parse_zdr_list;
use crate::errors::GatewayError;
use crate::logline::Level;
use crate::settings::Settings;
use serde_json::json;
use std::collections::BTreeSet;

const PAYLOAD_KEY: &str = "catalog:v2:payload";
const IDS_KEY: &str = "catalog:v2:ids";
const STATE_KEY: &str = "catalog:v2:state";
/// OpenRouter's ZDR model ids (JSON array), absent when the list could not be loaded.
const ZDR_KEY: &str = "catalog:v2:zdr";
/// One key per model (`catalog:v2:model:<openrouter id>`), so a chat request reads the
/// one entry it needs instead of parsing the whole catalog. A model OpenRouter drops
/// keeps its key until the store is cleared; it is only ever looked up by id.
const MODEL_KEY_PREFIX: &str = "catalog:v2:model:";
const CATALOG_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn list_models(ctx: &RequestCtx, out: ResponseOutparam) {
    match Config::read()
        .settings()
        .and_then(|settings| Ok((load_catalog(&settings)?, settings)))
    {
        Ok((catalog, settings)) => http_io::respond_json(
            out,
            200,
            &catalog.openai_model_list(&settings.model_filter, settings.owui_pipelines),
        ),
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
    let mut cached = kv::get_many(&[PAYLOAD_KEY, STATE_KEY, ZDR_KEY]).into_iter();
    let cached_catalog = cached
        .next()
        .flatten()
        .and_then(|payload| Catalog::parse(&payload).ok());
    let state: RefreshState = cached
        .next()
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let zdr: Option<BTreeSet<String>> = cached
        .next()
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let cached_catalog = cached_catalog.map(|catalog| catalog.with_zdr(zdr.as_ref()));
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
    let payload = response.body.read_to_end(CATALOG_BODY_LIMIT)?;
    let zdr = fetch_zdr_list(settings);
    let catalog = Catalog::parse(&payload)?.with_zdr(zdr.as_ref());
    let (_, now_ms) = unix_now();
    let state = RefreshState::succeeded(now_ms, ttl_ms(settings));
    let model_keys: Vec<(String, Vec<u8>)> = catalog
        .entries
        .iter()
        .filter_map(|e| Some((model_key(&e.id), serde_json::to_vec(e).ok()?)))
        .collect();
    let mut pairs: Vec<(&str, Vec<u8>)> = vec![
        (PAYLOAD_KEY, payload),
        (IDS_KEY, catalog.id_map().to_json().into_bytes()),
        (STATE_KEY, serde_json::to_vec(&state).unwrap_or_default()),
    ];
    pairs.extend(model_keys.iter().map(|(k, v)| (k.as_str(), v.clone())));
    // Without a list the key keeps the last good one out: an old list must not pass for
    // a current one, so the ZDR filters fail closed until the next refresh loads it.
    let zdr_bytes = zdr.as_ref().and_then(|list| serde_json::to_vec(list).ok());
    pairs.push((ZDR_KEY, zdr_bytes.unwrap_or_else(|| b"null".to_vec())));
    let stored = kv::set_many(&pairs);
    if let Err(reason) = stored {
        log::emit(
            Level::Warn,
            "catalog not cached",
            &[("error", json!(reason))],
        );
    }
    Ok(catalog)
}

/// OpenRouter's ZDR list, or `None` (logged) when it cannot be loaded: the catalog is
/// served anyway, and the ZDR filters refuse every model meanwhile.
fn fetch_zdr_list(settings: &Settings) -> Option<BTreeSet<String>> {
    let list = upstream::get_zdr_endpoints(settings)
        .and_then(|response| response.body.read_to_end(CATALOG_BODY_LIMIT))
        .and_then(|payload| parse_zdr_list(&payload));
    match list {
        Ok(list) => Some(list),
        Err(error) => {
            log::emit(
                Level::Warn,
                "OpenRouter's ZDR list could not be loaded; ZDR filters refuse every model until it can",
                &[("error", json!(error.to_string()))],
            );
            None
        }
    }
}

/// Public id → OpenRouter id, from the cache (empty when nothing is cached: the
/// first-dot fallback then applies).
pub fn cached_id_map() -> IdMap {
    kv::get(IDS_KEY)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| IdMap::from_json(&text))
        .unwrap_or_default()
}

/// The catalog entry of one model (a `:variant` falls back to its base), from the cache.
pub fn cached_entry(openrouter_id: &str) -> Option<CatalogEntry> {
    let base = openrouter_id.split_once(':').map(|(base, _)| base);
    let keys: Vec<String> = std::iter::once(openrouter_id)
        .chain(base)
        .map(model_key)
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    kv::get_many(&keys)
        .into_iter()
        .flatten()
        .find_map(|bytes| serde_json::from_slice(&bytes).ok())
}

/// The entry a chat request is fitted to. `None` (send as is) when the model is unknown
/// or no catalog is cached, unless the model filters must know the model: then the
/// catalog is loaded (fetched if stale), and failing that the request fails.
pub fn entry_for(
    settings: &Settings,
    openrouter_id: &str,
) -> Result<Option<CatalogEntry>, GatewayError> {
    if let Some(entry) = cached_entry(openrouter_id) {
        return Ok(Some(entry));
    }
    if !settings.model_filter.needs_catalog() {
        return Ok(None);
    }
    Ok(load_catalog(settings)?.entry(openrouter_id).cloned())
}

fn model_key(openrouter_id: &str) -> String {
    format!("{MODEL_KEY_PREFIX}{openrouter_id}")
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
