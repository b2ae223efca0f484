//! Reasoning effort values: which accepted value is closest to the one asked for, and
//! what a provider said it accepts when it refused one (FEATURES §9.5, case C21).
//!
//! Pure functions over strings; used both before sending (the catalog lists a model's
//! efforts) and after a refusal (the provider's error lists them).

use crate::errors::GatewayError;
use serde_json::Value;

/// Effort values from least to most thinking. `max` is OpenRouter's value above `xhigh`.
pub const EFFORT_ORDER: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];

fn rank(effort: &str) -> Option<usize> {
    EFFORT_ORDER
        .iter()
        .position(|e| e.eq_ignore_ascii_case(effort))
}

/// The accepted effort nearest to `requested` in `EFFORT_ORDER`; on a tie the higher one,
/// so a clamp never costs the client thinking it asked for more of. `None` when
/// `requested` or every accepted value is unknown.
pub fn closest_effort(requested: &str, supported: &[String]) -> Option<String> {
    let wanted = rank(requested)?;
    supported
        .iter()
        .filter_map(|s| rank(s).map(|r| (r, s)))
        .min_by_key(|(r, _)| (r.abs_diff(wanted), std::cmp::Reverse(*r)))
        .and_then(|(r, _)| EFFORT_ORDER.get(r))
        .map(|effort| (*effort).to_owned())
}

/// The values listed after "Supported values are:" in a provider's error message, in
/// order and lower-cased: `… Supported values are: 'low', 'medium', and 'high'.` →
/// `["low", "medium", "high"]`. Empty when the message has no such list.
pub fn parse_supported_values(message: &str) -> Vec<String> {
    let lower = message.to_ascii_lowercase();
    let Some(start) = lower.find("supported values are") else {
        return Vec::new();
    };
    let mut values = Vec::new();
    let mut quoted: Option<(char, String)> = None;
    for c in message[start..].chars() {
        match &mut quoted {
            Some((quote, value)) if c == *quote => {
                let value = value.trim().to_ascii_lowercase();
                if !value.is_empty() {
                    values.push(value);
                }
                quoted = None;
            }
            Some((_, value)) => value.push(c),
            None if c == '\'' || c == '"' => quoted = Some((c, String::new())),
            // The sentence ends at the first full stop outside quotes.
            None if c == '.' => break,
            None => {}
        }
    }
    values
}

/// After OpenRouter refused a request's reasoning effort (a 400 naming
/// `reasoning.effort`, or listing the supported values), the effort to retry with:
/// `(from, to)`. `None` when the error is something else, the body asked for no effort,
/// or no listed value is closer than the one refused.
pub fn effort_fallback(body: &Value, error: &GatewayError) -> Option<(String, String)> {
    let GatewayError::Upstream {
        status: 400,
        message,
        provider_raw,
        ..
    } = error
    else {
        return None;
    };
    let requested = body.pointer("/reasoning/effort").and_then(Value::as_str)?;
    let text = format!("{message} {}", provider_raw.as_deref().unwrap_or_default());
    // OpenRouter keeps only the provider's message (its `param` is lost), and some
    // messages do not name the parameter (case C21). `text.verbosity` takes the same
    // words, so an unnamed list is taken for the effort only when no verbosity was sent.
    let about_effort =
        text.to_ascii_lowercase().contains("effort") || body.pointer("/text/verbosity").is_none();
    if !about_effort {
        return None;
    }
    let supported = parse_supported_values(&text);
    let to = closest_effort(requested, &supported)?;
    (to != requested).then(|| (requested.to_owned(), to))
}

/// Applies [`effort_fallback`] to the request body: sets the effort to retry with and
/// returns `(from, to)` for the log; `None` (body untouched) when there is no retry.
pub fn adjust_refused_effort(body: &mut Value, error: &GatewayError) -> Option<(String, String)> {
    let (from, to) = effort_fallback(body, error)?;
    let reasoning = body.get_mut("reasoning")?.as_object_mut()?;
    reasoning.insert("effort".into(), Value::String(to.clone()));
    Some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn c21_supported_values_are_parsed_and_the_closest_effort_chosen() {
        let parsed = parse_supported_values(
            "Unsupported value: 'minimal'. Supported values are: 'low', 'medium', and 'high'.",
        );
        assert_eq!(parsed, ["low", "medium", "high"]);
        assert_eq!(closest_effort("minimal", &parsed).as_deref(), Some("low"));
        assert_eq!(closest_effort("xhigh", &parsed).as_deref(), Some("high"));
        assert_eq!(
            closest_effort("none", &strings(&["minimal", "high"])).as_deref(),
            Some("minimal")
        );
    }

    #[test]
    fn ties_go_up_and_unknown_values_are_ignored() {
        assert_eq!(
            closest_effort("medium", &strings(&["low", "high"])).as_deref(),
            Some("high")
        );
        assert_eq!(
            closest_effort("HIGH", &strings(&["turbo", "Low"])).as_deref(),
            Some("low")
        );
        assert_eq!(closest_effort("turbo", &strings(&["low"])), None);
        assert_eq!(closest_effort("low", &[]), None);
    }

    #[test]
    fn messages_without_a_list_parse_to_nothing() {
        assert!(parse_supported_values("Invalid value for reasoning").is_empty());
        assert!(parse_supported_values("").is_empty());
        assert_eq!(
            parse_supported_values(r#"supported values are: "low" and "high". Also 'x'."#),
            ["low", "high"]
        );
        // An unterminated quote gives what was closed before it, and never panics.
        assert_eq!(
            parse_supported_values("Supported values are: 'low', 'hi"),
            ["low"]
        );
    }

    fn refusal(message: &str) -> GatewayError {
        GatewayError::Upstream {
            status: 400,
            code: Some("unsupported_value".into()),
            message: "Provider returned error".into(),
            provider_raw: Some(message.into()),
            retry_after: None,
            detail: None,
        }
    }

    #[test]
    fn a_refused_effort_is_retried_with_the_closest_listed_one() {
        let body = json!({"reasoning": {"effort": "minimal", "summary": "auto"}});
        let error = refusal(
            "Unsupported value: 'minimal'. Supported values are: 'low', 'medium', and 'high'.",
        );
        assert_eq!(
            effort_fallback(&body, &error),
            Some(("minimal".into(), "low".into()))
        );
        assert_eq!(
            effort_fallback(&json!({"input": []}), &error),
            None,
            "no effort asked for"
        );
        let with_verbosity =
            json!({"reasoning": {"effort": "minimal"}, "text": {"verbosity": "minimal"}});
        assert_eq!(
            effort_fallback(&with_verbosity, &error),
            None,
            "the list may be about verbosity"
        );
        let named = refusal(
            "Unsupported value: 'reasoning.effort' does not support 'minimal' with this model. Supported values are: 'low', 'medium', and 'high'.",
        );
        assert_eq!(
            effort_fallback(&with_verbosity, &named),
            Some(("minimal".into(), "low".into()))
        );
        let already = json!({"reasoning": {"effort": "low"}});
        assert_eq!(effort_fallback(&already, &error), None);
        let other = GatewayError::Upstream {
            status: 429,
            code: None,
            message: "Supported values are: 'low'.".into(),
            provider_raw: None,
            retry_after: None,
            detail: None,
        };
        assert_eq!(effort_fallback(&body, &other), None);
        assert_eq!(
            effort_fallback(&body, &GatewayError::InvalidRequest("effort".into())),
            None
        );
    }

    #[test]
    fn adjusting_a_refused_effort_rewrites_only_the_effort() {
        let mut body = json!({"model": "m", "reasoning": {"effort": "minimal", "summary": "auto"}});
        let error = refusal("Supported values are: 'low', 'medium', and 'high'.");
        assert_eq!(
            adjust_refused_effort(&mut body, &error),
            Some(("minimal".into(), "low".into()))
        );
        assert_eq!(
            body,
            json!({"model": "m", "reasoning": {"effort": "low", "summary": "auto"}})
        );
        let unchanged = body.clone();
        assert_eq!(
            adjust_refused_effort(&mut body, &error),
            None,
            "low is allowed"
        );
        assert_eq!(body, unchanged);
    }
}
