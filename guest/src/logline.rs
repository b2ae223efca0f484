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

/// Formats one log line: `{"level":…,"msg":…, <fields>}` without a trailing newline.
/// A field named `level` or `msg` cannot overwrite the line's own.
pub fn format(level: Level, msg: &str, fields: &[(&str, Value)]) -> String {
    let mut object = Map::new();
    for (key, value) in fields {
        object.insert((*key).to_owned(), value.clone());
    }
    object.insert("level".into(), Value::from(level.as_str()));
    object.insert("msg".into(), Value::from(msg));
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
}
