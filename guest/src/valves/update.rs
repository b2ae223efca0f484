//! `POST /{pipeline}/valves/update`: the whole object the Pipelines tab sends, checked
//! field by field and then as a whole, into the complete set of overrides to store.
//! One bad field and nothing changes.

use super::{VALVES, find};
use crate::artifacts::settings::ArtifactSettings;
use crate::settings::{Settings, SettingsError};
use serde_json::Value;
use std::collections::BTreeMap;

/// The overrides after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Every override, by key, after the update.
    pub overrides: BTreeMap<String, String>,
    /// Keys whose override was added, changed or removed, in registry order.
    pub changed: Vec<&'static str>,
}

/// Why an update was refused: each offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub Vec<(String, String)>);

impl Rejected {
    /// The first field named, for the error's `param`.
    pub fn field(&self) -> Option<&str> {
        self.0.first().map(|(field, _)| field.as_str())
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("settings not saved, nothing changed: ")?;
        for (i, (field, reason)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field} {reason}")?;
        }
        Ok(())
    }
}

/// Applies `body` to the `current` overrides. `base` is a key's value without overrides
/// (from `wasi:config`). A field set to `null` loses its override; a field whose value
/// equals the one it would have without an override loses it too, so only real
/// differences are stored; fields not sent are left as they are.
pub fn apply(
    body: &Value,
    base: impl Fn(&str) -> Option<String>,
    current: &BTreeMap<String, String>,
) -> Result<Update, Rejected> {
    let Value::Object(fields) = body else {
        return Err(Rejected(vec![(
            "the body".to_owned(),
            "must be a JSON object of settings".to_owned(),
        )]));
    };
    let mut overrides = current.clone();
    let mut problems = Vec::new();
    for (field, input) in fields {
        let Some(valve) = find(field) else {
            problems.push((
                field.chars().take(64).collect(),
                "is not a setting orpipe knows (GET /v1/orpipe/valves/spec lists them)".to_owned(),
            ));
            continue;
        };
        if input.is_null() {
            overrides.remove(valve.key);
            continue;
        }
        let verdict = valve.coerce(input).and_then(|text| {
            if valve.shown(Some(&text)) == valve.shown(base(valve.key).as_deref()) {
                Ok(None)
            } else {
                valve.check(&text).map(|()| Some(text))
            }
        });
        match verdict {
            Ok(Some(text)) => {
                overrides.insert(valve.key.to_owned(), text);
            }
            Ok(None) => {
                overrides.remove(valve.key);
            }
            Err(reason) => problems.push((valve.key.to_owned(), reason)),
        }
    }
    if problems.is_empty() {
        check_whole(&overrides, &base)?;
    }
    if !problems.is_empty() {
        return Err(Rejected(problems));
    }
    let changed = VALVES
        .iter()
        .map(|valve| valve.key)
        .filter(|key| current.get(*key) != overrides.get(*key))
        .collect();
    Ok(Update { overrides, changed })
}

/// The settings with the new overrides must still parse, exactly as every request will
/// read them: a stored override can never make requests fail.
fn check_whole(
    overrides: &BTreeMap<String, String>,
    base: &impl Fn(&str) -> Option<String>,
) -> Result<(), Rejected> {
    let lookup = |key: &str| overrides.get(key).cloned().or_else(|| base(key));
    let refused = |SettingsError::Invalid { key, reason }| Rejected(vec![(key.to_owned(), reason)]);
    Settings::from_lookup(lookup).map_err(refused)?;
    ArtifactSettings::from_lookup(lookup).map_err(refused)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_coerced_and_only_differences_stored() {
        let update = apply(
            &json!({
                "upstream_retries": "0",
                "breaker_failures": "5",
                "model_free_only": false,
                "reasoning_effort": "HIGH",
            }),
            none,
            &BTreeMap::new(),
        )
        .expect("valid");
        assert_eq!(
            update.overrides,
            overrides(&[("reasoning_effort", "high"), ("upstream_retries", "0")]),
            "values equal to the defaults are not stored"
        );
        assert_eq!(update.changed, vec!["reasoning_effort", "upstream_retries"]);
    }

    #[test]
    fn the_base_value_is_what_counts_as_no_change() {
        let base = |key: &str| (key == "upstream_retries").then(|| "4".to_owned());
        let current = overrides(&[("upstream_retries", "1")]);
        let update = apply(&json!({"upstream_retries": 4}), base, &current).expect("valid");
        assert!(
            update.overrides.is_empty(),
            "back to the start-up value: no override"
        );
        assert_eq!(update.changed, vec!["upstream_retries"]);
        let update = apply(&json!({"upstream_retries": 2}), base, &BTreeMap::new()).expect("valid");
        assert_eq!(
            update.overrides,
            overrides(&[("upstream_retries", "2")]),
            "2 is the default but not the base"
        );
    }

    #[test]
    fn null_removes_an_override_and_absent_fields_are_kept() {
        let current = overrides(&[("upstream_retries", "0"), ("model_allow", "openai/*")]);
        let update = apply(&json!({"model_allow": null}), none, &current).expect("valid");
        assert_eq!(update.overrides, overrides(&[("upstream_retries", "0")]));
        assert_eq!(update.changed, vec!["model_allow"]);
        let update = apply(&json!({}), none, &current).expect("valid");
        assert_eq!(update.overrides, current);
        assert!(update.changed.is_empty());
    }

    #[test]
    fn what_the_tab_shows_saves_back_unchanged_even_out_of_range() {
        // A start-up value outside the tab's range is still the value in use.
        let base = |key: &str| (key == "upstream_retries").then(|| "50".to_owned());
        let update =
            apply(&json!({"upstream_retries": "50"}), base, &BTreeMap::new()).expect("valid");
        assert!(update.changed.is_empty());
    }

    #[test]
    fn one_bad_field_refuses_the_whole_update_and_names_every_bad_one() {
        let current = overrides(&[("upstream_retries", "1")]);
        let error = apply(
            &json!({
                "upstream_retries": "0",
                "breaker_failures": "many",
                "no_such_setting": 1,
                "web_search_max_results": 26,
                "template_timeout": "{{#if message}}open",
            }),
            none,
            &current,
        )
        .expect_err("refused");
        let fields: Vec<&str> = error.0.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "breaker_failures",
                "no_such_setting",
                "template_timeout",
                "web_search_max_results"
            ]
        );
        assert_eq!(error.field(), Some("breaker_failures"));
        let message = error.to_string();
        assert!(message.contains("nothing changed"), "{message}");
        assert!(
            message.contains("no_such_setting is not a setting"),
            "{message}"
        );
        assert!(
            message.contains("26 is outside the range 1 to 25"),
            "{message}"
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [json!([]), json!("x"), json!(null)] {
            let error = apply(&body, none, &BTreeMap::new()).expect_err("refused");
            assert!(error.to_string().contains("JSON object"), "{error}");
        }
    }

    #[test]
    fn huge_values_are_refused_without_being_echoed() {
        let huge = "y".repeat(100_000);
        let error =
            apply(&json!({"http_referer": huge}), none, &BTreeMap::new()).expect_err("too long");
        assert_eq!(error.field(), Some("http_referer"));
        assert!(error.to_string().len() < 500);
    }

    #[test]
    fn the_whole_settings_are_checked_as_requests_will_read_them() {
        // A broken start-up value elsewhere is named, rather than stored around.
        let base = |key: &str| (key == "breaker_window_secs").then(|| "soon".to_owned());
        let error =
            apply(&json!({"upstream_retries": 1}), base, &BTreeMap::new()).expect_err("refused");
        assert_eq!(error.field(), Some("breaker_window_secs"));
    }
}
