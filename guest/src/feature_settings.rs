//! The settings of what an answer includes and what Open WebUI shows: reasoning on by
//! default, the web search the toggle adds, Open WebUI's event chunks and status line.
//! Keys in `settings::keys`; a bad value is refused naming its key, like the others.
//!
//! Pure: a lookup in, [`FeatureSettings`] out.

use crate::owui::status_line::StatusLineFields;
use crate::setting_values::Reader;
use crate::settings::{SettingsError, keys};
use crate::translate::reasoning_default::ReasoningDefaults;
use crate::translate::web_search::{CONTEXT_SIZES, ENGINES, MAX_RESULTS_RANGE, WebSearchDefaults};

const EFFORTS: &[&str] = &["minimal", "low", "medium", "high", "xhigh"];
/// `none` asks for no summary.
const SUMMARIES: &[&str] = &["auto", "concise", "detailed", "none"];
/// Cheap efforts only: a task should not think long.
const TASK_EFFORTS: &[&str] = &["none", "minimal", "low", "medium"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSettings {
    pub reasoning: ReasoningDefaults,
    pub web_search: WebSearchDefaults,
    /// `status_line` on: its fields (`status_line_fields`); off: `None`.
    pub status_line: Option<StatusLineFields>,
    /// `owui_events`: send Open WebUI its event chunks at all.
    pub owui_events: bool,
    /// `anthropic_interleaved_thinking`: Anthropic models may think between tool calls
    /// (`translate::provider_headers`).
    pub anthropic_interleaved_thinking: bool,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        Self {
            reasoning: ReasoningDefaults::default(),
            web_search: WebSearchDefaults::default(),
            status_line: Some(StatusLineFields::ALL),
            owui_events: true,
            anthropic_interleaved_thinking: true,
        }
    }
}

impl FeatureSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = Reader::new(lookup);
        let defaults = Self::default();
        let summary = read.one_of(keys::REASONING_SUMMARY, SUMMARIES, "auto")?;
        let reasoning = ReasoningDefaults {
            enabled: read.flag(keys::REASONING_DEFAULT, defaults.reasoning.enabled)?,
            effort: read.one_of(keys::REASONING_EFFORT, EFFORTS, defaults.reasoning.effort)?,
            summary: (summary != "none").then_some(summary),
            task_effort: read.one_of(
                keys::TASK_REASONING_EFFORT,
                TASK_EFFORTS,
                defaults.reasoning.task_effort,
            )?,
        };
        let web_search = WebSearchDefaults {
            engine: read.one_of(keys::WEB_SEARCH_ENGINE, ENGINES, defaults.web_search.engine)?,
            max_results: read.number_in(
                keys::WEB_SEARCH_MAX_RESULTS,
                WebSearchDefaults::default().max_results,
                MAX_RESULTS_RANGE,
            )?,
            context_size: read.one_of(
                keys::WEB_SEARCH_CONTEXT_SIZE,
                CONTEXT_SIZES,
                defaults.web_search.context_size,
            )?,
        };
        let fields = match read.value(keys::STATUS_LINE_FIELDS) {
            None => StatusLineFields::ALL,
            Some(csv) => {
                StatusLineFields::parse(&csv).map_err(|reason| SettingsError::Invalid {
                    key: keys::STATUS_LINE_FIELDS,
                    reason,
                })?
            }
        };
        Ok(Self {
            reasoning,
            web_search,
            status_line: read.flag(keys::STATUS_LINE, true)?.then_some(fields),
            owui_events: read.flag(keys::OWUI_EVENTS, defaults.owui_events)?,
            anthropic_interleaved_thinking: read.flag(
                keys::ANTHROPIC_INTERLEAVED_THINKING,
                defaults.anthropic_interleaved_thinking,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn features(pairs: &[(&str, &str)]) -> Result<FeatureSettings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FeatureSettings::from_lookup(|k| map.get(k).cloned())
    }

    const ALL_KEYS: [&str; 11] = [
        keys::REASONING_DEFAULT,
        keys::REASONING_EFFORT,
        keys::REASONING_SUMMARY,
        keys::TASK_REASONING_EFFORT,
        keys::STATUS_LINE,
        keys::STATUS_LINE_FIELDS,
        keys::WEB_SEARCH_ENGINE,
        keys::WEB_SEARCH_MAX_RESULTS,
        keys::WEB_SEARCH_CONTEXT_SIZE,
        keys::OWUI_EVENTS,
        keys::ANTHROPIC_INTERLEAVED_THINKING,
    ];

    #[test]
    fn defaults_reason_at_medium_with_summaries_search_five_results_and_show_everything() {
        let s = features(&[]).expect("defaults");
        assert_eq!(s, FeatureSettings::default());
        assert_eq!(
            s.reasoning,
            ReasoningDefaults {
                enabled: true,
                effort: "medium",
                summary: Some("auto"),
                task_effort: "none",
            }
        );
        assert_eq!(
            s.web_search,
            WebSearchDefaults {
                engine: "auto",
                max_results: 5,
                context_size: "medium",
            }
        );
        assert_eq!(s.status_line, Some(StatusLineFields::ALL));
        assert!(s.owui_events);
        let blank: Vec<(&str, &str)> = ALL_KEYS.iter().map(|k| (*k, "  ")).collect();
        assert_eq!(
            features(&blank),
            Ok(FeatureSettings::default()),
            "blank is unset"
        );
    }

    #[test]
    fn every_key_is_read() {
        let s = features(&[
            (keys::REASONING_DEFAULT, "off"),
            (keys::REASONING_EFFORT, "XHigh"),
            (keys::REASONING_SUMMARY, "none"),
            (keys::TASK_REASONING_EFFORT, "low"),
            (keys::STATUS_LINE, "on"),
            (keys::STATUS_LINE_FIELDS, "time, tokens"),
            (keys::WEB_SEARCH_ENGINE, "exa"),
            (keys::WEB_SEARCH_MAX_RESULTS, "25"),
            (keys::WEB_SEARCH_CONTEXT_SIZE, "high"),
            (keys::OWUI_EVENTS, "false"),
            (keys::ANTHROPIC_INTERLEAVED_THINKING, "off"),
        ])
        .expect("valid");
        assert!(!s.anthropic_interleaved_thinking);
        assert_eq!(
            s.reasoning,
            ReasoningDefaults {
                enabled: false,
                effort: "xhigh",
                summary: None,
                task_effort: "low",
            }
        );
        assert_eq!(
            s.web_search,
            WebSearchDefaults {
                engine: "exa",
                max_results: 25,
                context_size: "high",
            }
        );
        assert_eq!(
            s.status_line,
            Some(StatusLineFields {
                time: true,
                speed: false,
                cost: false,
                tokens: true,
            })
        );
        assert!(!s.owui_events);
        let off = features(&[(keys::STATUS_LINE, "0"), (keys::STATUS_LINE_FIELDS, "cost")])
            .expect("valid");
        assert_eq!(off.status_line, None);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            (keys::REASONING_DEFAULT, "maybe"),
            (keys::REASONING_EFFORT, "none"),
            (keys::REASONING_EFFORT, "max"),
            (keys::REASONING_SUMMARY, "short"),
            (keys::TASK_REASONING_EFFORT, "high"),
            (keys::STATUS_LINE, "2"),
            (keys::ANTHROPIC_INTERLEAVED_THINKING, "sometimes"),
            (keys::STATUS_LINE_FIELDS, "time,latency"),
            (keys::WEB_SEARCH_ENGINE, "google"),
            (keys::WEB_SEARCH_MAX_RESULTS, "0"),
            (keys::WEB_SEARCH_MAX_RESULTS, "26"),
            (keys::WEB_SEARCH_MAX_RESULTS, "five"),
            (keys::WEB_SEARCH_CONTEXT_SIZE, "huge"),
            (keys::OWUI_EVENTS, "sometimes"),
        ] {
            match features(&[(key, value)]) {
                Err(SettingsError::Invalid { key: k, reason }) => {
                    assert_eq!(k, key);
                    assert!(!reason.is_empty());
                }
                other => panic!("{key}={value} gave {other:?}"),
            }
        }
        let error = features(&[(keys::REASONING_EFFORT, "max")]).expect_err("max");
        assert_eq!(
            error.to_string(),
            "setting reasoning_effort is invalid: \"max\" is not one of minimal, low, medium, high, xhigh"
        );
    }

    #[test]
    fn the_host_passes_every_feature_key_through() {
        crate::settings::assert_host_passes(ALL_KEYS.map(|key| {
            (
                format!("ORPIPE_{}", key.to_ascii_uppercase()),
                key.to_owned(),
            )
        }));
    }
}
