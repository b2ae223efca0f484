//! Structured log lines. The component writes one JSON object per line to stderr, which
//! every WASI host provides; orpipe's host turns each line into a `tracing` event.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Log lines the host also counts as metrics (docs/metrics.md lists what each feeds):
/// such a line carries `"event": <name>`, and the host reads its fields by name, so a
/// field an event's metrics use must keep its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A chat completion whose answer started has ended: model, outcome, tokens, cost.
    ChatFinished,
    /// A chat completion failed before its answer started: the failure's `class`.
    ChatFailed,
    /// The upstream call is made again: `kind` is `transient` or `effort`.
    UpstreamRetry,
    /// A user's request breaker opened.
    BreakerTripped,
    /// A server tool call of the tool loop ended: `outcome` is `ran`, `failed`,
    /// `timed_out` or `switched_off`.
    ToolCall,
    /// A user's breaker for one server tool opened.
    ToolBreakerTripped,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::ChatFinished => "chat_finished",
            Event::ChatFailed => "chat_failed",
            Event::UpstreamRetry => "upstream_retry",
            Event::BreakerTripped => "breaker_tripped",
            Event::ToolCall => "tool_call",
            Event::ToolBreakerTripped => "tool_breaker_tripped",
        }
    }
}

/// Formats one log line: `{"level":…,"msg":…, <fields>}` without a trailing newline.
/// A field named `level` or `msg` cannot overwrite the line's own.
pub fn format(level: Level, msg: &str, fields: &[(&str, Value)]) -> String {
    format_line(level, msg, None, fields)
}

/// A line that is also a metrics event: `format`'s line with `"event": <name>`, which a
/// field cannot overwrite either.
pub fn format_event(level: Level, msg: &str, event: Event, fields: &[(&str, Value)]) -> String {
    format_line(level, msg, Some(event), fields)
}

fn format_line(level: Level, msg: &str, event: Option<Event>, fields: &[(&str, Value)]) -> String {
    let mut object = Map::new();
    for (key, value) in fields {
        object.insert((*key).to_owned(), value.clone());
    }
    object.insert("level".into(), Value::from(level.as_str()));
    object.insert("msg".into(), Value::from(msg));
    if let Some(event) = event {
        object.insert("event".into(), Value::from(event.as_str()));
    }
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_line_is_one_json_object_with_level_and_message() {
        let line = format(
            Level::Warn,
            "usage not recorded",
            &[("request_id", json!("r1")), ("msg", json!("spoof"))],
        );
        assert!(!line.contains('\n'));
        let parsed: Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(
            parsed,
            json!({"level": "warn", "msg": "usage not recorded", "request_id": "r1"})
        );
    }

    #[test]
    fn an_event_line_names_its_event_and_a_field_cannot_change_it() {
        let line = format_event(
            Level::Info,
            "upstream retry",
            Event::UpstreamRetry,
            &[("kind", json!("transient")), ("event", json!("spoof"))],
        );
        let parsed: Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(
            parsed,
            json!({"level": "info", "msg": "upstream retry", "event": "upstream_retry", "kind": "transient"})
        );
    }
}
