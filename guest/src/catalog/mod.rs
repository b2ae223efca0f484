//! OpenRouter's model catalog (`GET /models`): parsing, derived capabilities, the ids
//! clients see, the OpenAI model list, and when to refresh.
//!
//! This module never performs I/O; the component fetches and caches.

pub(crate) mod entry;
pub(crate) mod filter;
pub(crate) mod ids;
pub(crate) mod refresh;
pub(crate) mod zdr;

use crate::errors::GatewayError;
use entry::CatalogEntry;
use filter::ModelFilter;
use ids::{IdMap, public_id};
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// Parses the `/models` payload. Entries without a usable id are skipped; an empty
    /// catalog is an error, because serving "no models" would look like success.
    pub fn parse(payload: &[u8]) -> Result<Self, GatewayError> {
        let value: Value = serde_json::from_slice(payload).map_err(|e| {
            GatewayError::UpstreamProtocol(format!("the model list is not JSON: {e}"))
        })?;
        let data = value.get("data").and_then(Value::as_array).ok_or_else(|| {
            GatewayError::UpstreamProtocol("the model list has no `data` array".into())
        })?;
        let entries: Vec<CatalogEntry> = data
            .iter()
            .filter_map(|entry| serde_json::from_value::<CatalogEntry>(entry.clone()).ok())
            .filter(|entry| !entry.id.trim().is_empty())
            .collect();
        if entries.is_empty() {
            return Err(GatewayError::UpstreamProtocol(
                "OpenRouter returned an empty model catalog".into(),
            ));
        }
        Ok(Self { entries })
    }

    /// Marks every entry with whether the ZDR list names it (`None`: no list).
    pub fn with_zdr(mut self, list: Option<&std::collections::BTreeSet<String>>) -> Self {
        for entry in &mut self.entries {
            entry.zdr = list.map(|list| zdr::is_zdr(list, &entry.id));
        }
        self
    }

    pub fn id_map(&self) -> IdMap {
        IdMap::new(self.entries.iter().map(|e| e.id.as_str()))
    }

    /// The entry for an OpenRouter id; a `:variant` of a listed model (`openai/gpt-4o:nitro`)
    /// gets its base model's entry, since variants share what the model can take.
    pub fn entry(&self, openrouter_id: &str) -> Option<&CatalogEntry> {
        let find = |id: &str| self.entries.iter().find(|e| e.id == id);
        find(openrouter_id).or_else(|| find(openrouter_id.split_once(':')?.0))
    }

    /// The OpenAI list shape, each model the filter admits with its public id, limits,
    /// pricing and capabilities.
    /// With `pipeline_markers`, the list also says "I am a Pipelines server" the way Open
    /// WebUI looks for it (`valves::pipelines::mark_model_list`).
    pub fn openai_model_list(&self, filter: &ModelFilter, pipeline_markers: bool) -> String {
        let models: Vec<Value> = self
            .entries
            .iter()
            .filter(|e| filter.admits(&e.id, Some(e)).is_ok())
            .map(|e| e.to_openai(&public_id(&e.id)))
            .collect();
        let mut list = json!({"object": "list", "data": models});
        if pipeline_markers {
            crate::valves::pipelines::mark_model_list(&mut list);
        }
        list.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_catalog_becomes_an_openai_list_with_url_safe_ids() {
        let payload = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/models_sample.json"
        ));
        let catalog = Catalog::parse(payload).expect("parses");
        let list: Value =
            serde_json::from_str(&catalog.openai_model_list(&ModelFilter::default(), false))
                .expect("JSON");
        assert_eq!(list["object"], "list");
        let ids: Vec<&str> = list["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|m| m["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "openai.gpt-4o-mini",
                "anthropic.claude-sonnet-4.5",
                "google.gemini-2.5-flash",
                "deepseek.deepseek-r1-0528:free",
                "openrouter.auto"
            ]
        );
        let first = &list["data"][0];
        assert_eq!(first["object"], "model");
        assert_eq!(first["name"], "OpenAI: GPT-4o-mini");
        assert_eq!(first["created"], 1721260800);
        assert_eq!(
            catalog.id_map().resolve("anthropic.claude-sonnet-4.5"),
            "anthropic/claude-sonnet-4.5"
        );
        let free_only = ModelFilter {
            free_only: true,
            ..Default::default()
        };
        let list: Value =
            serde_json::from_str(&catalog.openai_model_list(&free_only, false)).expect("JSON");
        assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(list["data"][0]["id"], "deepseek.deepseek-r1-0528:free");
    }

    #[test]
    fn entries_are_found_by_id_and_variants_by_their_base() {
        let catalog = Catalog::parse(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/models_sample.json"
        )))
        .expect("parses");
        let id_of = |id: &str| catalog.entry(id).map(|e| e.id.as_str());
        assert_eq!(id_of("openai/gpt-4o-mini"), Some("openai/gpt-4o-mini"));
        assert_eq!(
            id_of("openai/gpt-4o-mini:nitro"),
            Some("openai/gpt-4o-mini")
        );
        assert_eq!(
            id_of("deepseek/deepseek-r1-0528:free"),
            Some("deepseek/deepseek-r1-0528:free")
        );
        assert_eq!(id_of("openai/gpt-5"), None);
        assert_eq!(id_of(""), None);
    }

    #[test]
    fn odd_entries_are_skipped_and_broken_or_empty_payloads_rejected() {
        let payload = br#"{"data":[{"id":"a/b","extra":{"x":1}},{"name":"no id"},{"id":""},{"id":7},{"id":"c/d:free","context_length":null}]}"#;
        let ids: Vec<String> = Catalog::parse(payload)
            .expect("parses")
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["a/b", "c/d:free"]);
        for broken in [&b"[]"[..], b"{\"models\":[]}", b"<html>", b"{\"data\":[]}"] {
            assert_eq!(
                Catalog::parse(broken).expect_err("broken").http_status(),
                502
            );
        }
    }
}
