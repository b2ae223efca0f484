//! Request headers one provider family needs (FEATURES §5.1): Anthropic models get
//! `x-anthropic-beta: interleaved-thinking-2025-05-14`, so they may think between tool
//! calls, unless `anthropic_interleaved_thinking` is off. OpenRouter passes the header on
//! to Anthropic. Pure.

use crate::feature_settings::FeatureSettings;

pub const ANTHROPIC_BETA: &str = "x-anthropic-beta";
pub const INTERLEAVED_THINKING: &str = "interleaved-thinking-2025-05-14";

/// The extra headers for a request to `openrouter_model` (its OpenRouter id).
pub fn provider_headers(
    openrouter_model: &str,
    features: &FeatureSettings,
) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if features.anthropic_interleaved_thinking && is_anthropic(openrouter_model) {
        headers.push((ANTHROPIC_BETA, INTERLEAVED_THINKING.to_owned()));
    }
    headers
}

/// `anthropic/…`, its listed form `anthropic.…`, and OpenRouter's `~anthropic/…` aliases,
/// as the original matched them (`~?anthropic[./]`).
fn is_anthropic(model: &str) -> bool {
    let model = model.strip_prefix('~').unwrap_or(model);
    model.starts_with("anthropic/") || model.starts_with("anthropic.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_models_get_the_interleaved_thinking_beta_unless_switched_off() {
        let on = FeatureSettings::default();
        for model in [
            "anthropic/claude-sonnet-4.5",
            "~anthropic/claude-opus-latest",
            "anthropic.claude-3",
        ] {
            assert_eq!(
                provider_headers(model, &on),
                [(ANTHROPIC_BETA, INTERLEAVED_THINKING.to_owned())],
                "{model}"
            );
        }
        for model in ["openai/gpt-4o", "x/anthropic/y", "anthropicx/z", ""] {
            assert!(provider_headers(model, &on).is_empty(), "{model}");
        }
        let off = FeatureSettings {
            anthropic_interleaved_thinking: false,
            ..FeatureSettings::default()
        };
        assert!(provider_headers("anthropic/claude-sonnet-4.5", &off).is_empty());
    }
}
