//! Reasoning on by default: a chat request for a model that reasons, whose client chose
//! nothing about reasoning, gets the operator's effort and summary (`reasoning_default`,
//! `reasoning_effort`, `reasoning_summary`).
//!
//! Pure: the translated Responses body, the model's catalog entry and the defaults in; the
//! body changed in place. It runs before `fit_model`, which still clamps the effort to
//! the ones the model accepts. Background tasks never come here: they take the cheap
//! path (`background_task::cheapen`) with `task_reasoning_effort`.
//!
//! The client's choice always wins: the translator puts any `reasoning`,
//! `reasoning_effort` or `include_reasoning` the client sent into the body's `reasoning`
//! (API.md §2.9 maps all three onto that one object), so a body that has one is left alone,
//! including `reasoning_effort: "none"` and `include_reasoning: false`.

use crate::catalog::entry::{CatalogEntry, ReasoningControl};
use serde_json::{Map, Value, json};

/// The reasoning a chat gets when its client asks for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasoningDefaults {
    /// `reasoning_default`: whether to add reasoning at all.
    pub enabled: bool,
    /// `reasoning_effort`: `minimal`, `low`, `medium`, `high` or `xhigh`.
    pub effort: &'static str,
    /// `reasoning_summary`: `auto`, `concise` or `detailed`; `None` asks for no summary.
    pub summary: Option<&'static str>,
    /// `task_reasoning_effort`: what background tasks get (`none`, `minimal`, `low`,
    /// `medium`); see `background_task::cheapen`.
    pub task_effort: &'static str,
}

impl Default for ReasoningDefaults {
    fn default() -> Self {
        Self {
            enabled: true,
            effort: "medium",
            summary: Some("auto"),
            task_effort: "none",
        }
    }
}

/// Adds the default `reasoning` to `body` when the client chose none and the model
/// reasons; returns whether it did.
///
/// A model with an effort control (`reasoning` among its parameters, or a catalog
/// `reasoning` description) gets `{effort, summary}`. A model that only takes
/// `include_reasoning` has no effort to set: it gets `{enabled: true, summary}`, the
/// Responses form of `include_reasoning: true`.
pub fn add_default_reasoning(
    body: &mut Value,
    entry: &CatalogEntry,
    defaults: &ReasoningDefaults,
) -> bool {
    let Some(body) = body.as_object_mut() else {
        return false;
    };
    if !defaults.enabled || body.contains_key("reasoning") {
        return false;
    }
    let mut reasoning = Map::new();
    match entry.reasoning_control() {
        ReasoningControl::Effort => {
            reasoning.insert("effort".into(), json!(defaults.effort));
        }
        ReasoningControl::Switch => {
            reasoning.insert("enabled".into(), json!(true));
        }
        ReasoningControl::None => return false,
    }
    if let Some(summary) = defaults.summary {
        reasoning.insert("summary".into(), json!(summary));
    }
    body.insert("reasoning".into(), Value::Object(reasoning));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: Value) -> CatalogEntry {
        serde_json::from_value(value).expect("entry")
    }

    fn reasoner() -> CatalogEntry {
        entry(json!({"id": "anthropic/claude-sonnet-4.5",
            "supported_parameters": ["include_reasoning", "reasoning", "tools"]}))
    }

    fn body() -> Value {
        json!({"model": "m", "input": [], "stream": true})
    }

    #[test]
    fn a_reasoning_model_gets_the_default_effort_and_summary() {
        let mut body = body();
        assert!(add_default_reasoning(
            &mut body,
            &reasoner(),
            &ReasoningDefaults::default()
        ));
        assert_eq!(
            body["reasoning"],
            json!({"effort": "medium", "summary": "auto"})
        );
    }

    #[test]
    fn the_operator_chooses_effort_and_summary_and_none_leaves_the_summary_out() {
        let defaults = ReasoningDefaults {
            effort: "high",
            summary: None,
            ..ReasoningDefaults::default()
        };
        let mut body = body();
        add_default_reasoning(&mut body, &reasoner(), &defaults);
        assert_eq!(body["reasoning"], json!({"effort": "high"}));
        let defaults = ReasoningDefaults {
            summary: Some("detailed"),
            ..ReasoningDefaults::default()
        };
        let mut body = self::body();
        add_default_reasoning(&mut body, &reasoner(), &defaults);
        assert_eq!(
            body["reasoning"],
            json!({"effort": "medium", "summary": "detailed"})
        );
    }

    #[test]
    fn the_clients_choice_wins_even_when_it_is_off() {
        for chosen in [
            json!({"effort": "low"}),
            json!({"effort": "none"}),
            json!({"exclude": true}),
            json!({"enabled": false}),
        ] {
            let mut body = body();
            body["reasoning"] = chosen.clone();
            assert!(!add_default_reasoning(
                &mut body,
                &reasoner(),
                &ReasoningDefaults::default()
            ));
            assert_eq!(body["reasoning"], chosen);
        }
    }

    #[test]
    fn models_that_do_not_reason_and_a_switched_off_default_get_nothing() {
        let plain = entry(json!({"id": "openai/gpt-4o-mini", "supported_parameters": ["tools"]}));
        let unknown = entry(json!({"id": "x/y"}));
        for model in [plain, unknown] {
            let mut body = body();
            assert!(!add_default_reasoning(
                &mut body,
                &model,
                &ReasoningDefaults::default()
            ));
            assert!(body.get("reasoning").is_none());
        }
        let off = ReasoningDefaults {
            enabled: false,
            ..ReasoningDefaults::default()
        };
        let mut body = body();
        assert!(!add_default_reasoning(&mut body, &reasoner(), &off));
        assert!(body.get("reasoning").is_none());
    }

    #[test]
    fn a_catalog_reasoning_description_alone_means_an_effort_control() {
        let described = entry(json!({"id": "o/r", "supported_parameters": [],
            "reasoning": {"supported_efforts": ["low", "high"]}}));
        let mut body = body();
        add_default_reasoning(&mut body, &described, &ReasoningDefaults::default());
        assert_eq!(
            body["reasoning"]["effort"], "medium",
            "fit_model clamps it next"
        );
    }

    #[test]
    fn an_include_reasoning_only_model_is_switched_on_without_an_effort() {
        let switch = entry(json!({"id": "o/s", "supported_parameters": ["include_reasoning"]}));
        let mut body = body();
        assert!(add_default_reasoning(
            &mut body,
            &switch,
            &ReasoningDefaults::default()
        ));
        assert_eq!(
            body["reasoning"],
            json!({"enabled": true, "summary": "auto"})
        );
    }
}
