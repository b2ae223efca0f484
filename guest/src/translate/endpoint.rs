//! Which OpenRouter endpoint a request goes to (FEATURES §5.1, §4.8): `/responses` by
//! default; `/chat/completions` for what only it can do (presets, `stop` sequences, image
//! output), for models the operator forces there, or by the operator's default; and once,
//! before the first byte, when `/responses` says it cannot serve the model. Pure.

use crate::catalog::filter::matches_id;
use crate::errors::GatewayError;
use crate::setting_values::Reader;
use crate::settings::SettingsError;
use serde_json::{Map, Value};

pub mod keys {
    pub const DEFAULT_ENDPOINT: &str = "default_endpoint";
    pub const FORCE_CHAT_MODELS: &str = "force_chat_completions_models";
    pub const FORCE_RESPONSES_MODELS: &str = "force_responses_models";
    pub const AUTO_FALLBACK: &str = "auto_fallback_chat_completions";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Responses,
    ChatCompletions,
}

/// Why a request goes to `/chat/completions` (logged, and named in a conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatReason {
    /// `@preset/…` models and the `preset` field exist only there.
    Preset,
    /// The Responses API has no `stop`.
    Stop,
    /// OpenRouter generates images on the chat endpoint (`modalities` with `image`).
    ImageOutput,
    /// `force_chat_completions_models` names the model.
    Forced,
    /// `default_endpoint = chat_completions`.
    Default,
    /// `/responses` refused the model as unsupported (the one fallback).
    Fallback,
}

impl ChatReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preset => "preset",
            Self::Stop => "stop",
            Self::ImageOutput => "image_output",
            Self::Forced => "forced",
            Self::Default => "default",
            Self::Fallback => "fallback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSettings {
    pub default: Endpoint,
    /// Globs (`*`) over OpenRouter or listed ids.
    pub force_chat: Vec<String>,
    /// Globs that keep models on `/responses`; they win over `force_chat`.
    pub force_responses: Vec<String>,
    pub auto_fallback: bool,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        Self {
            default: Endpoint::Responses,
            force_chat: Vec::new(),
            force_responses: Vec::new(),
            auto_fallback: true,
        }
    }
}

impl EndpointSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = Reader::new(lookup);
        let default = match read.one_of(
            keys::DEFAULT_ENDPOINT,
            &["responses", "chat_completions"],
            "responses",
        )? {
            "chat_completions" => Endpoint::ChatCompletions,
            _ => Endpoint::Responses,
        };
        let globs = |key| {
            read.value(key)
                .map(|csv| {
                    csv.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Self {
            default,
            force_chat: globs(keys::FORCE_CHAT_MODELS),
            force_responses: globs(keys::FORCE_RESPONSES_MODELS),
            auto_fallback: read.flag(keys::AUTO_FALLBACK, true)?,
        })
    }

    fn forced_to_responses(&self, openrouter_id: &str) -> bool {
        self.force_responses
            .iter()
            .any(|glob| matches_id(glob, openrouter_id))
    }

    /// Whether a refusal from `/responses` may be retried once on the chat endpoint.
    pub fn may_fall_back(&self, openrouter_id: &str, error: &GatewayError) -> bool {
        self.auto_fallback && !self.forced_to_responses(openrouter_id) && looks_unsupported(error)
    }
}

/// The endpoint for `request` (a Chat Completions request, `model` already the OpenRouter
/// id), or a clear refusal when the request needs the chat endpoint and the operator
/// forces its model onto `/responses`.
pub fn choose(
    request: &Map<String, Value>,
    openrouter_id: &str,
    settings: &EndpointSettings,
) -> Result<(Endpoint, Option<ChatReason>), GatewayError> {
    let needed = if is_preset(request, openrouter_id) {
        check_preset(request, openrouter_id)?;
        Some(ChatReason::Preset)
    } else if has_stop(request) {
        Some(ChatReason::Stop)
    } else if wants_images(request) {
        Some(ChatReason::ImageOutput)
    } else {
        None
    };
    let forced_responses = settings.forced_to_responses(openrouter_id);
    if let Some(reason) = needed {
        if forced_responses {
            return Err(GatewayError::InvalidRequest(format!(
                "this request needs OpenRouter's /chat/completions ({}), but the operator keeps {openrouter_id} on /responses (force_responses_models)",
                reason.as_str().replace('_', " ")
            )));
        }
        return Ok((Endpoint::ChatCompletions, Some(reason)));
    }
    if forced_responses {
        return Ok((Endpoint::Responses, None));
    }
    if settings
        .force_chat
        .iter()
        .any(|glob| matches_id(glob, openrouter_id))
    {
        return Ok((Endpoint::ChatCompletions, Some(ChatReason::Forced)));
    }
    Ok(match settings.default {
        Endpoint::ChatCompletions => (Endpoint::ChatCompletions, Some(ChatReason::Default)),
        Endpoint::Responses => (Endpoint::Responses, None),
    })
}

fn is_preset(request: &Map<String, Value>, openrouter_id: &str) -> bool {
    openrouter_id.starts_with("@preset/")
        || request
            .get("preset")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.trim().is_empty())
}

/// A preset's name (after `@preset/`, or the `preset` field) is a slug: letters, digits,
/// `-`, `_`, `.`, at most 100 characters. Anything else is refused here with a message
/// that says why, rather than sent to OpenRouter as a model it cannot find.
fn check_preset(request: &Map<String, Value>, openrouter_id: &str) -> Result<(), GatewayError> {
    let names = openrouter_id
        .strip_prefix("@preset/")
        .into_iter()
        .chain(request.get("preset").and_then(Value::as_str).map(str::trim));
    for name in names {
        let slug = !name.is_empty()
            && name.chars().count() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !slug {
            return Err(GatewayError::InvalidRequest(format!(
                "{:?} is not a preset name: use the preset's slug (letters, digits, '-', '_', '.'), as in @preset/my-preset",
                name.chars().take(100).collect::<String>()
            )));
        }
    }
    Ok(())
}

fn has_stop(request: &Map<String, Value>) -> bool {
    match request.get("stop") {
        Some(Value::String(stop)) => !stop.is_empty(),
        Some(Value::Array(list)) => !list.is_empty(),
        _ => false,
    }
}

/// Fields only the chat endpoint takes. They are taken out of a request bound there
/// before the Responses translation (which refuses `stop` and image `modalities`, and
/// drops the rest, as the original's allow-list did) and go back into the chat body.
const CHAT_ONLY: &[&str] = &[
    "stop",
    "modalities",
    "image_config",
    "seed",
    "logit_bias",
    "min_p",
    "top_a",
    "repetition_penalty",
    "preset",
];

/// Removes the chat-only fields from `request`, returning those that are set.
pub fn take_chat_only(request: &mut Map<String, Value>) -> Map<String, Value> {
    CHAT_ONLY
        .iter()
        .filter_map(|key| request.remove(*key).map(|value| ((*key).to_owned(), value)))
        .filter(|(_, value)| !value.is_null())
        .collect()
}

/// `modalities` asks for image output.
pub fn wants_images(request: &Map<String, Value>) -> bool {
    request
        .get("modalities")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|m| m == "image"))
}

/// Whether a refusal from `/responses` says the model cannot be served there: one of
/// OpenRouter's unsupported codes, a Responses transform named (`openai-responses-v1`,
/// `xai-responses-v1`), the chat endpoint named, or the Responses API itself said to be
/// unsupported. Narrower than the original pipe's test (any message with "response" and
/// "not supported"), which also caught unsupported parameters such as
/// `previous_response_id`: those the chat endpoint cannot fix either.
pub fn looks_unsupported(error: &GatewayError) -> bool {
    let GatewayError::Upstream {
        status,
        code,
        message,
        ..
    } = error
    else {
        return false;
    };
    if !(400..500).contains(status) || *status == 401 || *status == 402 || *status == 429 {
        return false;
    }
    const CODES: &[&str] = &[
        "unsupported_endpoint",
        "unsupported_feature",
        "endpoint_not_supported",
        "responses_not_supported",
    ];
    if code.as_deref().is_some_and(|c| CODES.contains(&c)) {
        return true;
    }
    const PHRASES: &[&str] = &[
        "openai-responses-v1",
        "xai-responses-v1",
        "chat completions",
        "chat/completions",
        "responses api is not supported",
        "responses api not supported",
        "responses endpoint is not supported",
        "does not support the responses api",
        "responses are not supported",
    ];
    let message = message.to_ascii_lowercase();
    message.contains("response") && PHRASES.iter().any(|p| message.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn settings(lookup: &[(&str, &str)]) -> EndpointSettings {
        EndpointSettings::from_lookup(|key| {
            lookup
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("valid settings")
    }

    #[test]
    fn responses_by_default_and_chat_for_what_only_it_can_do() {
        let s = EndpointSettings::default();
        let plain = request(json!({"model": "openai/gpt-4o"}));
        assert_eq!(
            choose(&plain, "openai/gpt-4o", &s).ok(),
            Some((Endpoint::Responses, None))
        );
        for (body, id, reason) in [
            (json!({}), "@preset/my-coder", ChatReason::Preset),
            (
                json!({"preset": "my-coder"}),
                "openai/gpt-4o",
                ChatReason::Preset,
            ),
            (json!({"stop": ["END"]}), "openai/gpt-4o", ChatReason::Stop),
            (json!({"stop": "END"}), "openai/gpt-4o", ChatReason::Stop),
            (
                json!({"modalities": ["image", "text"]}),
                "google/gemini-2.5-flash-image",
                ChatReason::ImageOutput,
            ),
        ] {
            assert_eq!(
                choose(&request(body), id, &s).ok(),
                Some((Endpoint::ChatCompletions, Some(reason))),
                "{id}"
            );
        }
        for body in [
            json!({"stop": []}),
            json!({"stop": ""}),
            json!({"preset": " "}),
            json!({"modalities": ["text"]}),
        ] {
            assert_eq!(
                choose(&request(body), "openai/gpt-4o", &s).ok(),
                Some((Endpoint::Responses, None))
            );
        }
    }

    #[test]
    fn presets_with_odd_names_are_refused_clearly() {
        let s = EndpointSettings::default();
        for (body, id) in [
            (json!({}), "@preset/"),
            (json!({}), "@preset/my preset"),
            (json!({}), "@preset/../../keys"),
            (json!({}), "@preset/naïve"),
            (json!({"preset": "a/b"}), "openai/gpt-4o"),
            (json!({"preset": "x".repeat(101)}), "openai/gpt-4o"),
        ] {
            let refused = choose(&request(body), id, &s).expect_err("refused");
            assert!(
                refused.to_string().contains("is not a preset name"),
                "{id}: {refused}"
            );
        }
        for (body, id) in [
            (json!({}), "@preset/my-coder_v2.1"),
            (json!({"preset": " my-coder "}), "openai/gpt-4o"),
        ] {
            assert_eq!(
                choose(&request(body), id, &s).ok(),
                Some((Endpoint::ChatCompletions, Some(ChatReason::Preset)))
            );
        }
    }

    #[test]
    fn forced_globs_match_either_id_and_responses_wins() {
        let s = settings(&[
            (keys::FORCE_CHAT_MODELS, "mistralai/*, openai.gpt-4o*"),
            (keys::FORCE_RESPONSES_MODELS, "mistralai/mistral-large"),
        ]);
        let none = request(json!({}));
        assert_eq!(
            choose(&none, "mistralai/mixtral-8x7b", &s).ok(),
            Some((Endpoint::ChatCompletions, Some(ChatReason::Forced)))
        );
        assert_eq!(
            choose(&none, "openai/gpt-4o-mini", &s).ok(),
            Some((Endpoint::ChatCompletions, Some(ChatReason::Forced))),
            "the listed (dotted) id matches too"
        );
        assert_eq!(
            choose(&none, "mistralai/mistral-large", &s).ok(),
            Some((Endpoint::Responses, None))
        );
        let stop = request(json!({"stop": "x"}));
        let refused = choose(&stop, "mistralai/mistral-large", &s).expect_err("a conflict");
        assert!(
            refused.to_string().contains("force_responses_models"),
            "{refused}"
        );
    }

    #[test]
    fn chat_only_fields_are_taken_out_and_nulls_dropped() {
        let mut body = request(
            json!({"model": "m", "stop": ["x"], "seed": 3, "top_a": null, "temperature": 1}),
        );
        let taken = take_chat_only(&mut body);
        assert_eq!(Value::Object(taken), json!({"stop": ["x"], "seed": 3}));
        assert_eq!(Value::Object(body), json!({"model": "m", "temperature": 1}));
    }

    #[test]
    fn the_default_endpoint_and_bad_values() {
        let s = settings(&[(keys::DEFAULT_ENDPOINT, "Chat_Completions")]);
        assert_eq!(
            choose(&request(json!({})), "x/y", &s).ok(),
            Some((Endpoint::ChatCompletions, Some(ChatReason::Default)))
        );
        assert!(
            EndpointSettings::from_lookup(|k| (k == keys::DEFAULT_ENDPOINT).then(|| "both".into()))
                .is_err()
        );
        assert!(
            EndpointSettings::from_lookup(|k| (k == keys::AUTO_FALLBACK).then(|| "maybe".into()))
                .is_err()
        );
    }

    fn upstream(status: u16, code: Option<&str>, message: &str) -> GatewayError {
        GatewayError::Upstream {
            status,
            code: code.map(str::to_owned),
            message: message.into(),
            provider_raw: None,
            retry_after: None,
            detail: None,
        }
    }

    #[test]
    fn unsupported_refusals_are_recognised_as_the_original_did() {
        assert!(looks_unsupported(&upstream(
            400,
            Some("unsupported_endpoint"),
            "x"
        )));
        assert!(looks_unsupported(&upstream(
            404,
            None,
            "The Responses API is not supported for this model"
        )));
        assert!(looks_unsupported(&upstream(
            400,
            None,
            "model requires chat completions; responses unavailable"
        )));
        assert!(looks_unsupported(&upstream(
            400,
            None,
            "No endpoints support openai-responses-v1 for this model"
        )));
        assert!(!looks_unsupported(&upstream(
            400,
            None,
            "Invalid value for temperature"
        )));
        assert!(!looks_unsupported(&upstream(
            429,
            Some("unsupported_endpoint"),
            "rate limited"
        )));
        assert!(!looks_unsupported(&upstream(
            500,
            None,
            "responses not supported"
        )));
        assert!(!looks_unsupported(&GatewayError::UpstreamConnection(
            "x".into()
        )));
        let s = settings(&[(keys::FORCE_RESPONSES_MODELS, "a/*")]);
        let refusal = upstream(400, Some("unsupported_endpoint"), "x");
        assert!(
            !s.may_fall_back("a/b", &refusal),
            "forced to responses: no fallback"
        );
        assert!(s.may_fall_back("c/d", &refusal));
        let off = settings(&[(keys::AUTO_FALLBACK, "off")]);
        assert!(!off.may_fall_back("c/d", &refusal));
    }
}
