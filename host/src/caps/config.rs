//! `wasi:config/store`: the settings the guest reads (OpenRouter URL and key, cache
//! lifetimes), taken from the host's `Settings`. Key names are the guest's contract,
//! listed in docs/configuration.md.

use crate::bindings::wasi::config::store;
use crate::settings::Settings;
use crate::state::State;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct ConfigSource {
    values: Arc<BTreeMap<String, String>>,
}

impl ConfigSource {
    pub fn from_settings(settings: &Settings) -> Self {
        let mut values = BTreeMap::new();
        values.insert(
            "openrouter_base_url".to_owned(),
            settings.openrouter_base_url.clone(),
        );
        values.insert(
            "catalog_ttl_secs".to_owned(),
            settings.catalog_ttl_secs.to_string(),
        );
        let optional = [
            ("openrouter_api_key", &settings.openrouter_api_key),
            ("http_referer", &settings.http_referer),
            ("app_title", &settings.app_title),
            ("model_allow", &settings.model_allow),
            ("model_free_only", &settings.model_free_only),
            ("model_tools_only", &settings.model_tools_only),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                values.insert(key.to_owned(), value.clone());
            }
        }
        values.extend(settings.guest_settings.clone());
        if let Some(servers) = &settings.mcp_servers.json {
            values.insert("mcp_servers".to_owned(), servers.clone());
        }
        // The host expires what the export writes (`keyvalue::expiry`), so only the host
        // may turn it on.
        if settings.usage_export_ttl.is_some() {
            values.insert("usage_export".to_owned(), "true".to_owned());
        }
        Self {
            values: Arc::new(values),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

impl store::Host for State {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self.caps.config.get(&key).map(str::to_owned)))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        Ok(Ok(self
            .caps
            .config
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()))
    }
}
