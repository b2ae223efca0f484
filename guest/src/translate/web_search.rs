//! Open WebUI's web search toggle: when the user switched it on for a chat turn, the
//! request gets OpenRouter's web search server tool (API.md §2.4), which runs the search
//! on OpenRouter's side for any model and answers with `url_citation` annotations:
//!
//! `{"type": "openrouter:web_search", "parameters": {"engine", "max_results", "search_context_size"}}`
//!
//! from the operator's settings (`web_search_engine`, `web_search_max_results`,
//! `web_search_context_size`). A request that already searches (any web search tool, from
//! `tools` or `web_search_options`, or the legacy `web` plugin) keeps its own. Background
//! tasks never get it (`component::fitting` does not call this for them).
//!
//! Pure: the translated Responses body in, changed in place.

use super::to_responses::is_web_search_tool_type;
use serde_json::{Value, json};

/// The engines OpenRouter's web search takes (`auto`: the provider's native search when
/// it has one, else Exa).
pub const ENGINES: &[&str] = &[
    "auto",
    "native",
    "exa",
    "firecrawl",
    "parallel",
    "perplexity",
];
pub const CONTEXT_SIZES: &[&str] = &["low", "medium", "high"];
/// OpenRouter's per-search result range.
pub const MAX_RESULTS_RANGE: std::ops::RangeInclusive<u64> = 1..=25;

/// The search the toggle asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSearchDefaults {
    pub engine: &'static str,
    pub max_results: u64,
    pub context_size: &'static str,
}

impl Default for WebSearchDefaults {
    fn default() -> Self {
        Self {
            engine: "auto",
            max_results: 5,
            context_size: "medium",
        }
    }
}

impl WebSearchDefaults {
    /// The server tool, as OpenRouter's docs spell it.
    pub fn tool(&self) -> Value {
        json!({
            "type": "openrouter:web_search",
            "parameters": {
                "engine": self.engine,
                "max_results": self.max_results,
                "search_context_size": self.context_size,
            }
        })
    }
}

/// Adds the web search tool to `body` unless it already searches; returns whether it did.
pub fn add_web_search(body: &mut Value, search: &WebSearchDefaults) -> bool {
    let Some(body) = body.as_object_mut() else {
        return false;
    };
    if searches_already(body) {
        return false;
    }
    let tool = search.tool();
    match body.get_mut("tools") {
        Some(Value::Array(tools)) => tools.push(tool),
        _ => {
            body.insert("tools".into(), Value::Array(vec![tool]));
        }
    }
    true
}

/// Whether the request already searches: any web search tool, or the legacy `web` plugin.
pub(crate) fn searches_already(body: &serde_json::Map<String, Value>) -> bool {
    let of_type = |list: Option<&Value>, key: &str, wanted: fn(&str) -> bool| {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.get(key).and_then(Value::as_str))
            .any(wanted)
    };
    of_type(body.get("tools"), "type", is_web_search_tool_type)
        || of_type(body.get("plugins"), "id", |id| id == "web")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_adds_openrouters_search_tool_after_the_clients_tools() {
        let mut body = json!({"model": "m", "input": [],
            "tools": [{"type": "function", "name": "f", "parameters": {}}]});
        assert!(add_web_search(&mut body, &WebSearchDefaults::default()));
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "name": "f", "parameters": {}},
                {"type": "openrouter:web_search", "parameters": {
                    "engine": "auto", "max_results": 5, "search_context_size": "medium"}}])
        );
        let mut bare = json!({"model": "m"});
        let search = WebSearchDefaults {
            engine: "exa",
            max_results: 12,
            context_size: "high",
        };
        assert!(add_web_search(&mut bare, &search));
        assert_eq!(
            bare["tools"],
            json!([{"type": "openrouter:web_search", "parameters": {
                "engine": "exa", "max_results": 12, "search_context_size": "high"}}])
        );
    }

    #[test]
    fn a_request_that_already_searches_keeps_its_own_search() {
        for body in [
            json!({"tools": [{"type": "openrouter:web_search", "parameters": {"max_results": 2}}]}),
            json!({"tools": [{"type": "web_search_preview"}]}),
            json!({"tools": [{"type": "web_search"}]}),
            json!({"plugins": [{"id": "web", "max_results": 3}]}),
        ] {
            let mut changed = body.clone();
            assert!(!add_web_search(&mut changed, &WebSearchDefaults::default()));
            assert_eq!(changed, body);
        }
    }

    #[test]
    fn other_server_tools_and_plugins_do_not_count_as_a_search() {
        let mut body = json!({"tools": [{"type": "openrouter:datetime"}],
            "plugins": [{"id": "file-parser"}]});
        assert!(add_web_search(&mut body, &WebSearchDefaults::default()));
        assert_eq!(body["tools"][1]["type"], "openrouter:web_search");
    }
}
