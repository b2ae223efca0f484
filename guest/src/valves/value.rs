//! One setting's value three ways: as an admin sends it (JSON; Open WebUI's text boxes
//! send numbers as strings), as its `wasi:config` key holds it (text, like an environment
//! variable), and as the Pipelines tab shows it (typed JSON).

use super::{Kind, Valve};
use crate::errors::cards::{CardTemplates, MAX_TEMPLATE_BYTES, default_body};
use crate::settings::parse_flag;
use serde_json::Value;

/// The longest value accepted for a setting that is neither free text nor a template.
const MAX_WORD_BYTES: usize = 256;

impl Valve {
    /// `input` (never `null`: that means "no override") as the text the key holds, or why
    /// it cannot be one. Values are normalised (trimmed, lower-case words, canonical
    /// numbers and flags), so equal settings store equal text.
    pub fn coerce(&self, input: &Value) -> Result<String, String> {
        if let Some(text) = input.as_str()
            && text.len() > self.max_bytes()
        {
            return Err(format!(
                "is {} bytes long; at most {} are accepted",
                text.len(),
                self.max_bytes()
            ));
        }
        match self.kind {
            Kind::Flag { .. } => coerce_flag(input).map(|on| on.to_string()),
            Kind::Choice { values, .. } => match input.as_str() {
                Some(text) => choose(values, text),
                None => Err(format!("expected one of {}", values.join(", "))),
            },
            Kind::Number { min, max, .. } => coerce_number(input, min, max).map(|n| n.to_string()),
            Kind::Text { .. } => match input {
                Value::String(text) => Ok(text.trim().to_owned()),
                Value::Number(number) => Ok(number.to_string()),
                Value::Array(items) => joined(items),
                _ => Err("expected text".to_owned()),
            },
            Kind::List { values, .. } => match input {
                Value::String(text) => subset(values, text),
                Value::Array(items) => subset(values, &joined(items)?),
                _ => Err(format!(
                    "expected a comma-separated list of {}",
                    values.join(", ")
                )),
            },
            Kind::Template(_) => input
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "expected the template's text".to_owned()),
        }
    }

    /// What a coerced value must also satisfy to be stored: its range, and for text no
    /// control characters (they end up in HTTP headers); a template must parse. Only
    /// values that differ from the start-up ones are checked, so whatever the tab shows
    /// can always be saved back unchanged.
    pub fn check(&self, text: &str) -> Result<(), String> {
        match self.kind {
            Kind::Number { min, max, .. } => match text.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("{text} is outside the range {min} to {max}")),
            },
            Kind::Text { max_bytes, .. } if text.len() > max_bytes => Err(format!(
                "is {} bytes long; at most {max_bytes} are accepted",
                text.len()
            )),
            Kind::Text { .. } if text.chars().any(char::is_control) => {
                Err("must be one line without control characters".to_owned())
            }
            Kind::Template(class) => {
                let mut templates = CardTemplates::default();
                templates.set(class, text);
                match templates.rejected().first() {
                    Some((_, reason)) => Err(format!("is not a valid card template: {reason}")),
                    None => Ok(()),
                }
            }
            Kind::Flag { .. } | Kind::Choice { .. } | Kind::Text { .. } | Kind::List { .. } => {
                Ok(())
            }
        }
    }

    /// The value the tab shows for the key's text (`None`: unset), typed: flags as
    /// booleans, numbers as numbers, the rest as strings; unset free text is `null` (an
    /// empty text box would be a required field the form cannot submit). A value the
    /// settings could not read shows as the default, which is what orpipe then uses.
    pub fn shown(&self, raw: Option<&str>) -> Value {
        let raw = raw.map(str::trim).filter(|text| !text.is_empty());
        match self.kind {
            Kind::Flag { default } => Value::Bool(raw.and_then(read_flag).unwrap_or(default)),
            Kind::Choice { values, default } => Value::from(
                raw.and_then(|text| choose(values, text).ok())
                    .unwrap_or_else(|| default.to_owned()),
            ),
            Kind::Number { default, .. } => Value::from(
                raw.and_then(|text| text.parse::<u64>().ok())
                    .unwrap_or(default),
            ),
            Kind::Text { default, .. } => match raw.unwrap_or(default) {
                "" => Value::Null,
                text => Value::from(text),
            },
            Kind::List { values, default } => Value::from(
                raw.and_then(|text| subset(values, text).ok())
                    .unwrap_or_else(|| default.to_owned()),
            ),
            // A text box drops line breaks, so they are shown as `\n`, which the card
            // templates read as one (`CardTemplates::set`).
            Kind::Template(class) => {
                Value::from(raw.unwrap_or(default_body(class)).replace('\n', "\\n"))
            }
        }
    }

    fn max_bytes(&self) -> usize {
        match self.kind {
            Kind::Text { max_bytes, .. } => max_bytes,
            // `\n` takes two bytes for the one a template counts.
            Kind::Template(_) => 2 * MAX_TEMPLATE_BYTES,
            Kind::Flag { .. } | Kind::Choice { .. } | Kind::Number { .. } | Kind::List { .. } => {
                MAX_WORD_BYTES
            }
        }
    }
}

/// A flag as the settings read it, with the original pipe's words for stored reasoning.
fn read_flag(text: &str) -> Option<bool> {
    parse_flag(text).or(match text {
        "conversation" => Some(true),
        "disabled" => Some(false),
        _ => None,
    })
}

fn coerce_flag(input: &Value) -> Result<bool, String> {
    match input {
        Value::Bool(on) => Ok(*on),
        // A switch the tab just turned to "Custom" and nobody touched: it shows "off".
        Value::String(text) if text.trim().is_empty() => Ok(false),
        Value::String(text) => {
            parse_flag(text).ok_or_else(|| format!("{text:?} is not true or false"))
        }
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        _ => Err("expected true or false".to_owned()),
    }
}

fn coerce_number(input: &Value, min: u64, max: u64) -> Result<u64, String> {
    let expected = || format!("expected a whole number from {min} to {max}");
    match input {
        Value::Number(n) => n.as_u64().ok_or_else(expected),
        Value::String(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{text:?} is not a whole number from {min} to {max}")),
        _ => Err(expected()),
    }
}

fn choose(values: &[&str], text: &str) -> Result<String, String> {
    let word = text.trim().to_ascii_lowercase();
    if values.contains(&word.as_str()) {
        Ok(word)
    } else {
        Err(format!("{text:?} is not one of {}", values.join(", ")))
    }
}

/// A comma-separated subset of `values`, normalised: trimmed, lower case, no repeats.
fn subset(values: &[&str], text: &str) -> Result<String, String> {
    let mut chosen: Vec<String> = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let item = choose(values, item)?;
        if !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    if chosen.is_empty() {
        return Err(format!("name at least one of {}", values.join(", ")));
    }
    Ok(chosen.join(","))
}

/// A list of strings (Open WebUI splits array settings on commas) joined back.
fn joined(items: &[Value]) -> Result<String, String> {
    items
        .iter()
        .map(|item| item.as_str().ok_or("expected a list of strings"))
        .collect::<Result<Vec<_>, _>>()
        .map(|items| items.join(","))
        .map_err(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valves::find;
    use serde_json::json;

    fn valve(key: &str) -> &'static Valve {
        find(key).expect("a live setting")
    }

    #[test]
    fn numbers_arrive_as_numbers_or_strings_and_must_be_whole() {
        let retries = valve("upstream_retries");
        assert_eq!(retries.coerce(&json!(3)), Ok("3".into()));
        assert_eq!(retries.coerce(&json!(" 4 ")), Ok("4".into()));
        for bad in [
            json!("1.5"),
            json!(-1),
            json!("-1"),
            json!("many"),
            json!(2.5),
            json!(true),
        ] {
            let error = retries.coerce(&bad).expect_err("not a whole number");
            assert!(error.contains("whole number"), "{bad}: {error}");
        }
        assert_eq!(retries.check("10"), Ok(()));
        let error = retries.check("11").expect_err("out of range");
        assert!(error.contains("0 to 10"), "{error}");
    }

    #[test]
    fn flags_accept_booleans_words_and_an_untouched_switch() {
        let free = valve("model_free_only");
        assert_eq!(free.coerce(&json!(true)), Ok("true".into()));
        assert_eq!(free.coerce(&json!("Off")), Ok("false".into()));
        assert_eq!(free.coerce(&json!("")), Ok("false".into()));
        assert_eq!(free.coerce(&json!(1)), Ok("true".into()));
        assert!(free.coerce(&json!("sometimes")).is_err());
        assert!(free.coerce(&json!(2)).is_err());
        assert!(free.coerce(&json!([true])).is_err());
        assert_eq!(
            valve("persist_reasoning").shown(Some("disabled")),
            json!(false)
        );
    }

    #[test]
    fn choices_are_normalised_and_others_refused() {
        let effort = valve("reasoning_effort");
        assert_eq!(effort.coerce(&json!(" HIGH ")), Ok("high".into()));
        let error = effort.coerce(&json!("extreme")).expect_err("not a choice");
        assert!(
            error.contains("minimal, low, medium, high, xhigh"),
            "{error}"
        );
        assert!(effort.coerce(&json!(3)).is_err());
        assert_eq!(effort.shown(None), json!("medium"));
        assert_eq!(effort.shown(Some("nonsense")), json!("medium"));
    }

    #[test]
    fn lists_take_known_items_once_in_order() {
        let fields = valve("status_line_fields");
        assert_eq!(
            fields.coerce(&json!("cost, Time,cost")),
            Ok("cost,time".into())
        );
        assert_eq!(
            fields.coerce(&json!(["tokens", "speed"])),
            Ok("tokens,speed".into())
        );
        assert!(
            fields
                .coerce(&json!("time,weather"))
                .expect_err("unknown")
                .contains("weather")
        );
        assert!(
            fields
                .coerce(&json!(" , "))
                .expect_err("empty")
                .contains("at least one")
        );
        assert_eq!(fields.shown(None), json!("time,speed,cost,tokens"));
    }

    #[test]
    fn text_is_trimmed_bounded_and_one_line() {
        let allow = valve("model_allow");
        assert_eq!(allow.coerce(&json!(" openai/* ")), Ok("openai/*".into()));
        assert_eq!(
            allow.coerce(&json!(["openai/*", "x-ai/*"])),
            Ok("openai/*,x-ai/*".into())
        );
        assert_eq!(
            allow.shown(None),
            Value::Null,
            "unset text is null, not an empty box"
        );
        assert_eq!(allow.shown(Some("  ")), Value::Null);
        let title = valve("app_title");
        assert!(title.check("two\nlines").is_err());
        let huge = "x".repeat(300);
        let error = title.coerce(&json!(huge)).expect_err("too long");
        assert!(error.contains("at most 256"), "{error}");
        assert!(!error.contains(&huge), "a huge value is not echoed");
        assert!(
            valve("upstream_retries")
                .coerce(&json!("9".repeat(1000)))
                .is_err()
        );
    }

    #[test]
    fn templates_must_parse_and_show_line_breaks_as_backslash_n() {
        let card = valve("template_rate_limit");
        assert_eq!(card.check("Slow down\\n{message}"), Ok(()));
        let error = card
            .check("{{#if message}}never closed")
            .expect_err("broken");
        assert!(error.contains("not a valid card template"), "{error}");
        assert!(card.check(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
        assert_eq!(card.shown(Some("a\nb")), json!("a\\nb"));
        let default = card.shown(None);
        let default = default.as_str().expect("text");
        assert!(
            default.starts_with("### ⏸️ Rate Limit Exceeded\\n"),
            "{default}"
        );
        assert!(!default.contains('\n'));
        assert!(card.coerce(&json!(5)).is_err());
    }
}
