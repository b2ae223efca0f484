//! Reads `Settings` from `wasi:config`, on every request so hosts can change them live.

use super::wasi::config::store;
use crate::errors::GatewayError;
use crate::settings::Settings;

pub fn load() -> Result<Settings, GatewayError> {
    Settings::from_lookup(|key| store::get(key).ok().flatten())
        .map_err(|e| GatewayError::Internal(e.to_string()))
}
