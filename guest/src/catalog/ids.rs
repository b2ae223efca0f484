//! Model ids as clients see them, and back.
//!
//! OpenRouter ids look like `author/model[:variant]`. orpipe lists them URL-safe, with
//! every `/` turned into `.` (`openai.gpt-4o:free`), as the original pipe did, so Open
//! WebUI chats created with it keep working. A requested id maps back exactly through the
//! catalog; ids the catalog does not know (new variants, presets) fall back to turning the
//! first `.` into `/`. A request may also name the OpenRouter id directly.

use std::collections::HashMap;

/// The URL-safe id a client sees for an OpenRouter id.
pub fn public_id(openrouter_id: &str) -> String {
    openrouter_id.replace('/', ".")
}

/// Public id → OpenRouter id, for every catalog entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    to_openrouter: HashMap<String, String>,
}

impl IdMap {
    pub fn new<'a>(openrouter_ids: impl IntoIterator<Item = &'a str>) -> Self {
        let to_openrouter = openrouter_ids
            .into_iter()
            .map(|id| (public_id(id), id.to_owned()))
            .collect();
        Self { to_openrouter }
    }

    /// The OpenRouter id to send for what the client asked for.
    pub fn resolve(&self, requested: &str) -> String {
        let requested = requested.trim();
        if requested.contains('/') {
            return requested.to_owned();
        }
        if let Some(id) = self.to_openrouter.get(requested) {
            return id.clone();
        }
        // A variant of a known model (`openai.gpt-4o:nitro` when only `openai/gpt-4o` is
        // listed): resolve the base, keep the suffix as sent.
        if let Some((id, variant)) = requested
            .split_once(':')
            .and_then(|(base, variant)| Some((self.to_openrouter.get(base)?, variant)))
        {
            return format!("{id}:{variant}");
        }
        requested.replacen('.', "/", 1)
    }

    /// Serialized for the key-value cache: `{"public": "openrouter", ...}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_openrouter).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text)
            .ok()
            .map(|to_openrouter| Self { to_openrouter })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_are_url_safe_and_keep_variants() {
        assert_eq!(
            public_id("openai/gpt-4o-2024-08-06"),
            "openai.gpt-4o-2024-08-06"
        );
        assert_eq!(
            public_id("deepseek/deepseek-r1-0528:free"),
            "deepseek.deepseek-r1-0528:free"
        );
        assert_eq!(public_id("openrouter/auto"), "openrouter.auto");
    }

    #[test]
    fn requested_ids_map_back_exactly() {
        let map = IdMap::new([
            "openai/gpt-4.1",
            "deepseek/deepseek-r1-0528:free",
            "meta-llama/llama-3.1-8b-instruct",
        ]);
        assert_eq!(
            map.resolve("openai.gpt-4.1"),
            "openai/gpt-4.1",
            "dots inside the model name stay"
        );
        assert_eq!(
            map.resolve("deepseek.deepseek-r1-0528:free"),
            "deepseek/deepseek-r1-0528:free"
        );
        assert_eq!(map.resolve("openai.gpt-4.1:nitro"), "openai/gpt-4.1:nitro");
        assert_eq!(
            map.resolve("openai/gpt-4o"),
            "openai/gpt-4o",
            "OpenRouter ids pass through"
        );
        assert_eq!(
            map.resolve("mistralai.new-model"),
            "mistralai/new-model",
            "unknown ids: first dot"
        );
        assert_eq!(map.resolve(" openai.gpt-4.1 "), "openai/gpt-4.1");
        let restored = IdMap::from_json(&map.to_json()).expect("round trip");
        assert_eq!(restored, map);
        assert_eq!(IdMap::from_json("not json"), None);
    }
}
