//! The live setting overrides (`valves::store`): read through a key-value cache on every
//! request, stored in SQL by an admin's update and written through to the cache.
//! A failing store never fails a request: it serves without overrides, or with the last
//! ones it read.

use super::{kv, log, sql, unix_now};
use crate::db::Statement;
use crate::logline::Level;
use crate::valves::store::{self, CACHE_KEY, Cached};
use crate::valves::update::Update;
use serde_json::json;
use std::collections::BTreeMap;

/// The overrides in force: the cached entry while it is fresh (one key-value read),
/// otherwise read again from SQL and cached.
pub fn current() -> BTreeMap<String, String> {
    let (_, now_ms) = unix_now();
    let cached: Option<Cached> =
        kv::get(CACHE_KEY).and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(cached) = &cached
        && cached.is_fresh(now_ms)
    {
        return cached.values.clone();
    }
    let values = match load() {
        Ok(values) => values,
        Err(error) => {
            // Without SQL (the wasmtime CLI's stub) this repeats every few seconds: debug.
            log::emit(
                Level::Debug,
                "setting overrides not read",
                &[("error", json!(error))],
            );
            cached.map(|cached| cached.values).unwrap_or_default()
        }
    };
    cache(&values, now_ms);
    values
}

/// The stored overrides, from SQL (not the cache): what an update starts from.
pub fn load() -> Result<BTreeMap<String, String>, String> {
    let rows = sql::query(&Statement {
        sql: store::SELECT_ALL.to_owned(),
        params: Vec::new(),
    })?;
    Ok(store::from_rows(rows))
}

/// Stores `update` in one transaction, then caches its overrides so this process, and
/// every replica sharing its key-value store, uses them from the next request on.
pub fn save(update: &Update) -> Result<(), String> {
    let (_, now_ms) = unix_now();
    let statements = store::statements(update, now_ms);
    if !statements.is_empty() {
        sql::batch(statements)?;
    }
    cache(&update.overrides, now_ms);
    Ok(())
}

fn cache(values: &BTreeMap<String, String>, now_ms: u64) {
    let entry = Cached {
        loaded_at_ms: now_ms,
        values: values.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&entry) {
        // Unwritten, the next request reads SQL again: slower, still right.
        let _ = kv::set(CACHE_KEY, bytes);
    }
}
