//! `wasi:config`, read whole (`get-all`) once per request or job, so hosts can change
//! settings live and a request costs one host call for all its keys; with the live
//! overrides an admin saved (`overrides`, one key-value read while its cache is fresh)
//! laid over it. Every reader of a key is handed this one `Config`, so every setting is
//! read the same way whether or not it was overridden.

use super::overrides;
use super::wasi::config::store;
use crate::artifacts::settings::ArtifactSettings;
use crate::errors::GatewayError;
use crate::settings::{Settings, SettingsError};
use std::collections::{BTreeMap, HashMap};

/// The settings of one request: `wasi:config` values (unreadable counts as empty) and the
/// overrides in force.
pub struct Config {
    values: HashMap<String, String>,
    overrides: BTreeMap<String, String>,
}

impl Config {
    pub fn read() -> Self {
        Self {
            values: store::get_all().unwrap_or_default().into_iter().collect(),
            overrides: overrides::current(),
        }
    }

    /// One key's effective value (unset: `None`): its override, else its `wasi:config` value.
    pub fn get(&self, key: &str) -> Option<String> {
        self.overrides
            .get(key)
            .or_else(|| self.values.get(key))
            .cloned()
    }

    /// One key's value without overrides: what it would be had no admin changed it.
    pub fn base(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }

    /// The same `wasi:config` values under other overrides (those an update just stored).
    pub fn with_overrides(self, overrides: BTreeMap<String, String>) -> Self {
        Self {
            values: self.values,
            overrides,
        }
    }

    pub fn settings(&self) -> Result<Settings, GatewayError> {
        Settings::from_lookup(|key| self.get(key))
            .map_err(|e| GatewayError::Internal(e.to_string()))
    }

    /// The deployment's secret that keys hashed identifiers (the session id, the usage
    /// log's user hash): the artifact key, else the OpenRouter key. Every replica has it.
    pub fn identity_secret(&self, settings: &Settings) -> Option<String> {
        self.get(crate::artifacts::settings::keys::ARTIFACT_KEY)
            .or_else(|| settings.api_key.clone())
            .filter(|secret| !secret.is_empty())
    }

    pub fn artifact_settings(&self) -> Result<ArtifactSettings, SettingsError> {
        ArtifactSettings::from_lookup(|key| self.get(key))
    }
}
