//! One model of OpenRouter's catalog and the capabilities derived from it.
//!
//! Only the fields orpipe uses are typed; unknown fields are tolerated, and any field may
//! be missing or null. Derivation follows the original pipe (its FEATURES §3.2).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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
    /// orpipe's own: whether OpenRouter's ZDR list names the model (`catalog::zdr`);
    /// `None` when that list could not be loaded. Not an OpenRouter field.
    #[serde(
        default,
        rename = "orpipe_zdr",
        skip_serializing_if = "Option::is_none"
    )]
    pub zdr: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Architecture {
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_modalities: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_modalities: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TopProvider {
    #[serde(default)]
    pub context_length: Option<u64>,
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
}

/// The newer per-model reasoning description (absent for most models today).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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

/// How a request switches a model's reasoning on (API.md §2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningControl {
    /// `reasoning` among its parameters or a catalog `reasoning` description: an effort
    /// can be set.
    Effort,
    /// Only `include_reasoning`: reasoning can be switched on (`reasoning.enabled`), with
    /// no effort to choose.
    Switch,
    /// The model does not reason, or the catalog does not say.
    None,
}

impl CatalogEntry {
    pub fn reasoning_control(&self) -> ReasoningControl {
        if self.supports("reasoning") || self.reasoning.is_some() {
            ReasoningControl::Effort
        } else if self.supports("include_reasoning") {
            ReasoningControl::Switch
        } else {
            ReasoningControl::None
        }
    }

    pub fn supports(&self, parameter: &str) -> bool {
        self.supported_parameters.iter().any(|p| p == parameter)
    }

    fn takes(&self, modality: &str) -> bool {
        self.architecture
            .input_modalities
            .iter()
            .any(|m| m == modality)
    }

    pub(crate) fn produces(&self, modality: &str) -> bool {
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
            reasoning: self.reasoning_control() == ReasoningControl::Effort,
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
        if let (Some(description), Some(fields)) = (&self.description, model.as_object_mut()) {
            fields.insert("description".into(), json!(description));
        }
        model
    }
}

/// The entries of `tests/fixtures/models_sample.json`, for tests across the crate.
#[cfg(test)]
pub fn sample_entries() -> Vec<CatalogEntry> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ids::{IdMap, public_id};

    fn sample() -> Vec<CatalogEntry> {
        sample_entries()
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

    fn entry(value: Value) -> CatalogEntry {
        serde_json::from_value(value).expect("entry")
    }

    /// C14, adapted: orpipe has no "normalized" id (dated models stay separate models);
    /// its listed id maps back to the exact OpenRouter id instead.
    #[test]
    fn c14_a_models_entry_gives_its_capabilities_and_ids() {
        let model = entry(
            json!({"id": "openai/gpt-4o-2024-08-06", "name": "OpenAI: GPT-4o (2024-08-06)", "context_length": 128000, "architecture": {"input_modalities": ["text", "image", "file"], "output_modalities": ["text"]}, "pricing": {"prompt": "0.0000025", "completion": "0.00001", "web_search": "0.01"}, "top_provider": {"context_length": 128000, "max_completion_tokens": 16384, "is_moderated": true}, "supported_parameters": ["max_tokens", "temperature", "tools", "tool_choice", "response_format", "structured_outputs"]}),
        );
        assert_eq!(
            model.capabilities(),
            Capabilities {
                vision: true,
                file_input: true,
                tools: true,
                structured_outputs: true,
                web_search: true,
                ..Capabilities::default()
            }
        );
        assert_eq!(model.max_completion_tokens(), Some(16384));
        let listed = public_id(&model.id);
        assert_eq!(listed, "openai.gpt-4o-2024-08-06");
        assert_eq!(
            IdMap::new([model.id.as_str()]).resolve(&listed),
            "openai/gpt-4o-2024-08-06"
        );
    }

    /// C15: a free reasoning model. A `web_search` price of "0" still means the model
    /// can search (the original's `web_search_tool` feature).
    #[test]
    fn c15_a_free_reasoning_model() {
        let model = entry(
            json!({"id": "deepseek/deepseek-r1:free", "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]}, "pricing": {"prompt": "0", "completion": "0", "web_search": "0"}, "supported_parameters": ["reasoning", "include_reasoning", "max_tokens"]}),
        );
        assert_eq!(
            model.capabilities(),
            Capabilities {
                reasoning: true,
                web_search: true,
                free: true,
                ..Capabilities::default()
            }
        );
        assert_eq!(public_id(&model.id), "deepseek.deepseek-r1:free");
        assert_eq!(
            IdMap::new([model.id.as_str()]).resolve("deepseek.deepseek-r1:free"),
            "deepseek/deepseek-r1:free"
        );
    }

    /// C16: an image-output model and `openrouter/auto`. orpipe does not apply the
    /// original's blanket `file_input` override: the flag says what the model takes
    /// natively (files are sent to every model anyway; OpenRouter parses them).
    #[test]
    fn c16_image_output_and_the_auto_router() {
        let image = entry(
            json!({"id": "google/gemini-2.5-flash-image", "architecture": {"modality": "text+image->text+image", "input_modalities": ["image", "text"], "output_modalities": ["image", "text"], "tokenizer": "Gemini", "instruct_type": null}, "pricing": {"prompt": "0.0000003", "completion": "0.0000025", "image": "0.0000003", "audio": "0.000001", "web_search": "0.014", "internal_reasoning": "0.0000025", "input_cache_read": "0.00000003", "input_cache_write": "0.00000008333333333333334"}, "supported_parameters": ["max_tokens", "response_format", "seed", "stop", "structured_outputs", "temperature", "top_p"]}),
        );
        assert_eq!(
            image.capabilities(),
            Capabilities {
                vision: true,
                image_output: true,
                structured_outputs: true,
                web_search: true,
                ..Capabilities::default()
            }
        );
        let auto = entry(
            json!({"id": "openrouter/auto", "architecture": {"modality": "text+image+file+audio+video->text+image", "input_modalities": ["text", "image", "audio", "file", "video"], "output_modalities": ["text", "image"], "tokenizer": "Router", "instruct_type": null}, "pricing": {"prompt": "-1", "completion": "-1"}, "supported_parameters": ["frequency_penalty", "include_reasoning", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "min_p", "presence_penalty", "reasoning", "repetition_penalty", "response_format", "seed", "stop", "structured_outputs", "temperature", "tool_choice", "tools", "top_k", "top_logprobs", "top_p", "web_search_options"]}),
        );
        assert_eq!(
            auto.capabilities(),
            Capabilities {
                vision: true,
                audio_input: true,
                video_input: true,
                file_input: true,
                image_output: true,
                reasoning: true,
                tools: true,
                structured_outputs: true,
                ..Capabilities::default()
            }
        );
        assert_eq!(
            auto.to_openai("openrouter.auto")["pricing"],
            json!({"prompt": "-1", "completion": "-1"})
        );
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

    #[test]
    fn an_entry_survives_the_cache_round_trip() {
        for original in sample() {
            let text = serde_json::to_string(&original).expect("serializes");
            let restored: CatalogEntry = serde_json::from_str(&text).expect("parses back");
            assert_eq!(restored.capabilities(), original.capabilities());
            assert_eq!(
                restored.to_openai("listed"),
                original.to_openai("listed"),
                "{}",
                original.id
            );
        }
    }
}
