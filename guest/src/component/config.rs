//! `wasi:config`, read whole (`get-all`) once per request or job, so hosts can change
//! settings live and a request costs one host call for all its keys. Every reader of a
//! key is handed this one `Config`.

use super::wasi::config::store;
use crate::artifacts::settings::ArtifactSettings;
use crate::errors::GatewayError;
use crate::settings::{Settings, SettingsError};
use std::collections::HashMap;

/// The `wasi:config` values of one request; unreadable counts as empty.
pub struct Config(HashMap<String, String>);

impl Config {
    pub fn read() -> Self {
        Self(store::get_all().unwrap_or_default().into_iter().collect())
    }

    /// One key's value (unset: `None`).
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    pub fn settings(&self) -> Result<Settings, GatewayError> {
        Settings::from_lookup(|key| self.get(key))
            .map_err(|e| GatewayError::Internal(e.to_string()))
    }

    pub fn artifact_settings(&self) -> Result<ArtifactSettings, SettingsError> {
        ArtifactSettings::from_lookup(|key| self.get(key))
    }
}
