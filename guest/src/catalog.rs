//! OpenRouter's model catalog (`GET /models`) → the OpenAI model list clients read.
//!
//! Entries are parsed into a typed struct of the fields orpipe uses, tolerating unknown
//! ones; an entry without an id is skipped rather than failing the list. This module
//! never performs I/O.

use crate::errors::GatewayError;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created: Option<u64>,
    #[serde(default)]
    pub context_length: Option<u64>,
}

impl CatalogEntry {
    /// The author part of `author/model`, which OpenAI clients show as the owner.
    pub fn owned_by(&self) -> &str {
        self.id
            .split_once('/')
            .map_or("openrouter", |(author, _)| author)
    }

    fn to_openai(&self) -> Value {
        let mut model = json!({
            "id": self.id,
            "object": "model",
            "created": self.created.unwrap_or(0),
            "owned_by": self.owned_by(),
        });
        if let Some(name) = &self.name {
            model["name"] = json!(name);
        }
        if let Some(context_length) = self.context_length {
            model["context_length"] = json!(context_length);
        }
        model
    }
}

/// Parses the `/models` payload; entries that are not usable models are skipped.
pub fn parse_catalog(payload: &[u8]) -> Result<Vec<CatalogEntry>, GatewayError> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| GatewayError::UpstreamProtocol(format!("the model list is not JSON: {e}")))?;
    let data = value.get("data").and_then(Value::as_array).ok_or_else(|| {
        GatewayError::UpstreamProtocol("the model list has no `data` array".into())
    })?;
    Ok(data
        .iter()
        .filter_map(|entry| serde_json::from_value::<CatalogEntry>(entry.clone()).ok())
        .filter(|entry| !entry.id.trim().is_empty())
        .collect())
}

pub fn openai_model_list(payload: &[u8]) -> Result<String, GatewayError> {
    let models: Vec<Value> = parse_catalog(payload)?
        .iter()
        .map(CatalogEntry::to_openai)
        .collect();
    Ok(json!({"object": "list", "data": models}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_catalog_becomes_an_openai_list() {
        let payload = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/models_sample.json"
        ));
        let list: Value =
            serde_json::from_str(&openai_model_list(payload).expect("list")).expect("JSON");
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
                "openai/gpt-4o-mini",
                "anthropic/claude-sonnet-4.5",
                "google/gemini-2.5-flash",
                "deepseek/deepseek-r1-0528:free",
                "openrouter/auto"
            ]
        );
        let first = &list["data"][0];
        assert_eq!(first["object"], "model");
        assert_eq!(first["owned_by"], "openai");
        assert_eq!(first["name"], "OpenAI: GPT-4o-mini");
        assert_eq!(first["context_length"], 128000);
        assert_eq!(first["created"], 1721260800);
    }

    #[test]
    fn odd_entries_are_skipped_and_broken_payloads_rejected() {
        let payload = br#"{"data":[{"id":"a/b","extra":{"x":1}},{"name":"no id"},{"id":""},{"id":7},{"id":"c/d:free","context_length":null}]}"#;
        let ids: Vec<String> = parse_catalog(payload)
            .expect("parses")
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["a/b", "c/d:free"]);
        for broken in [&b"[]"[..], b"{\"models\":[]}", b"<html>"] {
            assert_eq!(
                openai_model_list(broken).expect_err("broken").http_status(),
                502
            );
        }
    }
}
