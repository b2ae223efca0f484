//! One model of OpenRouter's catalog and the capabilities derived from it.
//!
//! Only the fields orpipe uses are typed; unknown fields are tolerated, and any field may
//! be missing or null. Derivation follows the original pipe (its FEATURES §3.2).

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub context_length: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub architecture: Architecture,
    /// USD per unit, as decimal strings (`"0.00000015"`), plus a few non-string extras.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pricing: Map<String, Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub top_provider: TopProvider,
    #[serde(default, deserialize_with = "null_as_default")]
    pub supported_parameters: Vec<String>,
    #[serde(default)]
    pub reasoning: Option<ReasoningSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Architecture {
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_modalities: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_modalities: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TopProvider {
    #[serde(default)]
    pub context_length: Option<u64>,
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
}

/// The newer per-model reasoning description (absent for most models today).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReasoningSpec {
    #[serde(default)]
    pub mandatory: Option<bool>,
    #[serde(default)]
    pub supported_efforts: Option<Vec<String>>,
    #[serde(default)]
    pub supports_max_tokens: Option<bool>,
}

/// OpenRouter sends `null` for some collections; treat it like an absent field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What a model can take and do, as orpipe decides what to send it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub vision: bool,
    pub audio_input: bool,
    pub video_input: bool,
    pub file_input: bool,
    pub image_output: bool,
    pub reasoning: bool,
    /// Effort values the model accepts; `None` when the catalog does not say (any).
    pub reasoning_efforts: Option<Vec<String>>,
    pub tools: bool,
    pub structured_outputs: bool,
    pub web_search: bool,
    pub free: bool,
}

impl CatalogEntry {
    pub fn supports(&self, parameter: &str) -> bool {
        self.supported_parameters.iter().any(|p| p == parameter)
    }

    fn takes(&self, modality: &str) -> bool {
        self.architecture
            .input_modalities
            .iter()
            .any(|m| m == modality)
    }

    fn produces(&self, modality: &str) -> bool {
        self.architecture
            .output_modalities
            .iter()
            .any(|m| m == modality)
    }

    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            vision: self.takes("image"),
            audio_input: self.takes("audio"),
            video_input: self.takes("video"),
            file_input: self.takes("file"),
            image_output: self.produces("image"),
            reasoning: self.supports("reasoning") || self.reasoning.is_some(),
            reasoning_efforts: self
                .reasoning
                .as_ref()
                .and_then(|r| r.supported_efforts.clone()),
            tools: self.supports("tools") || self.supports("tool_choice"),
            structured_outputs: self.supports("structured_outputs")
                || self.supports("response_format"),
            // OpenRouter prices web search per call for models that can search natively.
            web_search: self.pricing.get("web_search").is_some_and(|v| !v.is_null()),
            free: self.is_free(),
        }
    }

    /// Free when every numeric price is zero (and there is at least one). Negative prices
    /// (routers such as `openrouter/auto`) mean "depends", not free.
    pub fn is_free(&self) -> bool {
        let prices: Vec<f64> = self
            .pricing
            .iter()
            .filter(|(key, _)| key.as_str() != "discount")
            .filter_map(|(_, value)| match value {
                Value::String(s) => s.trim().parse::<f64>().ok(),
                Value::Number(n) => n.as_f64(),
                _ => None,
            })
            .collect();
        !prices.is_empty() && prices.iter().all(|p| *p == 0.0)
    }

    /// Largest answer the model's primary endpoint produces, when known.
    pub fn max_completion_tokens(&self) -> Option<u64> {
        self.top_provider.max_completion_tokens
    }

    /// The entry as `/v1/models` lists it: OpenAI's fields plus what a UI needs to know.
    pub fn to_openai(&self, public_id: &str) -> Value {
        let caps = self.capabilities();
        let mut model = json!({
            "id": public_id,
            "object": "model",
            "created": self.created.unwrap_or(0),
            "owned_by": self.id.split_once('/').map_or("openrouter", |(author, _)| author),
            "name": self.name.clone().unwrap_or_else(|| self.id.clone()),
            "openrouter_id": self.id,
            "context_length": self.context_length.or(self.top_provider.context_length),
            "max_completion_tokens": self.max_completion_tokens(),
            "pricing": Value::Object(self.pricing.clone()),
            "supported_parameters": self.supported_parameters,
            "capabilities": {
                "vision": caps.vision,
                "audio_input": caps.audio_input,
                "video_input": caps.video_input,
                "file_input": caps.file_input,
                "image_output": caps.image_output,
                "reasoning": caps.reasoning,
                "reasoning_efforts": caps.reasoning_efforts,
                "tools": caps.tools,
                "structured_outputs": caps.structured_outputs,
                "web_search": caps.web_search,
                "free": caps.free,
            },
        });
        if let Some(description) = &self.description {
            model["description"] = json!(description);
        }
        model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<CatalogEntry> {
        let payload: Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/models_sample.json"
        )))
        .expect("fixture");
        payload["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|m| serde_json::from_value(m.clone()).expect("entry"))
            .collect()
    }

    #[test]
    fn capabilities_follow_modalities_parameters_and_pricing() {
        let entries = sample();
        let by_id = |id: &str| {
            entries
                .iter()
                .find(|e| e.id == id)
                .expect("in sample")
                .capabilities()
        };

        let mini = by_id("openai/gpt-4o-mini");
        assert!(mini.vision && mini.file_input && !mini.audio_input && !mini.image_output);
        assert!(mini.tools && mini.structured_outputs && mini.web_search && !mini.free);

        let gemini = by_id("google/gemini-2.5-flash");
        assert!(gemini.vision && gemini.audio_input && gemini.video_input);

        let r1 = by_id("deepseek/deepseek-r1-0528:free");
        assert!(r1.reasoning && r1.free && !r1.vision && !r1.tools && !r1.web_search);

        let claude = by_id("anthropic/claude-sonnet-4.5");
        assert!(claude.reasoning);
        assert_eq!(
            claude.reasoning_efforts, None,
            "the catalog does not restrict efforts"
        );

        let auto = by_id("openrouter/auto");
        assert!(!auto.free, "negative prices mean 'depends', not free");
        assert!(auto.image_output);
    }

    #[test]
    fn the_listing_carries_limits_pricing_and_capabilities() {
        let entries = sample();
        let listed = entries[0].to_openai("openai.gpt-4o-mini");
        assert_eq!(listed["id"], "openai.gpt-4o-mini");
        assert_eq!(listed["openrouter_id"], "openai/gpt-4o-mini");
        assert_eq!(listed["owned_by"], "openai");
        assert_eq!(listed["context_length"], 128000);
        assert_eq!(listed["max_completion_tokens"], 16384);
        assert_eq!(listed["pricing"]["prompt"], "0.00000015");
        assert_eq!(listed["capabilities"]["vision"], true);
    }

    #[test]
    fn missing_or_null_fields_do_not_break_an_entry() {
        let entry: CatalogEntry = serde_json::from_value(json!({
            "id": "x/y", "architecture": null, "pricing": {"prompt": "abc", "discount": 0},
            "top_provider": null, "supported_parameters": null
        }))
        .expect("parses");
        let caps = entry.capabilities();
        assert!(!caps.free && !caps.vision && !caps.tools);
        assert_eq!(entry.to_openai("x.y")["context_length"], Value::Null);
    }
}
