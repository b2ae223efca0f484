//! Reads `Settings` from `wasi:config`, on every request so hosts can change them live.

use super::wasi::config::store;
use crate::errors::GatewayError;
use crate::settings::Settings;

/// One `wasi:config` value; unreadable counts as unset.
pub fn lookup(key: &str) -> Option<String> {
    store::get(key).ok().flatten()
}

pub fn load() -> Result<Settings, GatewayError> {
    Settings::from_lookup(lookup).map_err(|e| GatewayError::Internal(e.to_string()))
}
