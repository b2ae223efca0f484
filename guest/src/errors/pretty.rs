//! Upstream text made fit for a card: JSON laid out the way the original pipe printed it
//! (two-space indent, keys in the order they came, as Python's `json.dumps(indent=2,
//! ensure_ascii=False)`), long values cut, one-line values kept on one line, and text for
//! a code block that cannot close the block early.
//!
//! Everything here takes untrusted text and never fails: what cannot be laid out is
//! returned as `None` for the caller's fallback.

use serde_json::Value;

/// The most characters of a block (a body, pretty JSON) a card shows.
pub const MAX_BLOCK_CHARS: usize = 4_000;
/// The most characters of a one-line value (a message, a code, an id) a card shows.
pub const MAX_LINE_CHARS: usize = 1_000;
/// Larger JSON is not laid out (it would be cut to `MAX_BLOCK_CHARS` anyway).
const MAX_PRETTY_INPUT_BYTES: usize = 256 * 1024;
/// Deeper JSON is not laid out: its indentation alone would grow with the square.
const MAX_PRETTY_DEPTH: usize = 32;

/// `text` cut to `max_chars` characters, with `…` where it was cut.
pub fn cap(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// A value for a one-line slot (inside `` `…` `` or after a label): whitespace runs,
/// line breaks included, become one space; trimmed and capped.
pub fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    cap(&joined, MAX_LINE_CHARS)
}

/// A value for a fenced code block: trimmed, capped, and with every run of three
/// backticks broken by a zero-width space, so upstream text cannot end the block and
/// turn the rest of the card into its own Markdown.
pub fn in_fence(text: &str) -> String {
    let capped = cap(text.trim(), MAX_BLOCK_CHARS);
    capped.replace("```", "`\u{200b}`\u{200b}`")
}

/// Valid JSON text laid out with a two-space indent, keys in their order, strings
/// written as `ensure_ascii=False` writes them (`\u00e9` becomes `é`); `None` when `text`
/// is not JSON, too large or too deep.
pub fn pretty_json(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > MAX_PRETTY_INPUT_BYTES
        || serde_json::from_str::<serde::de::IgnoredAny>(text).is_err()
    {
        return None;
    }
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0usize;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = rest.get(c.len_utf8()..).unwrap_or_default();
        match c {
            '"' => {
                let len = string_literal_len(rest)?;
                let literal = rest.get(..len)?;
                out.push_str(&normalize_string(literal));
                rest = rest.get(len..).unwrap_or_default();
                continue;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let inner = after.trim_start();
                if inner.starts_with(close) {
                    out.push(c);
                    out.push(close);
                    rest = inner.get(1..).unwrap_or_default();
                    continue;
                }
                depth += 1;
                if depth > MAX_PRETTY_DEPTH {
                    return None;
                }
                out.push(c);
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
        rest = after;
    }
    Some(out)
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// The byte length of the string literal `text` starts with (quotes included).
fn string_literal_len(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(at + 1),
            _ => {}
        }
    }
    None
}

/// A string literal as `ensure_ascii=False` writes it; one serde cannot decode (a lone
/// surrogate escape) is kept as it came.
fn normalize_string(literal: &str) -> String {
    serde_json::from_str::<String>(literal)
        .ok()
        .and_then(|decoded| serde_json::to_string(&decoded).ok())
        .unwrap_or_else(|| literal.to_owned())
}

/// A scalar JSON value as card text: strings trimmed, numbers and booleans as written;
/// `None` for null, empty strings, objects and arrays.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_laid_out_as_the_original_printed_it() {
        let raw = r#"{"type": "error", "error": {"type": "invalid_request_error", "message": "too long"}, "request_id": "req_1", "n": [1, 2.50, true, null], "e": {}, "l": [ ]}"#;
        assert_eq!(
            pretty_json(raw).as_deref(),
            Some(
                "{\n  \"type\": \"error\",\n  \"error\": {\n    \"type\": \"invalid_request_error\",\n    \"message\": \"too long\"\n  },\n  \"request_id\": \"req_1\",\n  \"n\": [\n    1,\n    2.50,\n    true,\n    null\n  ],\n  \"e\": {},\n  \"l\": []\n}"
            )
        );
    }

    #[test]
    fn strings_keep_their_punctuation_and_lose_needless_escapes() {
        assert_eq!(
            pretty_json(r#"{"a:b,{c}": "x\"y\\z\u2026\/ \n"}"#).as_deref(),
            Some("{\n  \"a:b,{c}\": \"x\\\"y\\\\z…/ \\n\"\n}")
        );
        assert_eq!(
            pretty_json(r#"["\ud800"]"#).as_deref(),
            Some("[\n  \"\\ud800\"\n]"),
            "a lone surrogate stays escaped"
        );
        assert_eq!(pretty_json("\"plain\"").as_deref(), Some("\"plain\""));
        assert_eq!(pretty_json(" 42 ").as_deref(), Some("42"));
    }

    #[test]
    fn what_is_not_json_or_too_large_is_not_laid_out() {
        for bad in ["", "plain text", "{\"a\":", "{} {}", "[1,]"] {
            assert_eq!(pretty_json(bad), None, "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(pretty_json(&deep), None, "too deep");
        let nested = format!(
            "{}{}",
            "[".repeat(MAX_PRETTY_DEPTH),
            "]".repeat(MAX_PRETTY_DEPTH)
        );
        assert!(pretty_json(&nested).is_some(), "deep enough is laid out");
        let huge = format!("[\"{}\"]", "x".repeat(MAX_PRETTY_INPUT_BYTES));
        assert_eq!(pretty_json(&huge), None);
    }

    #[test]
    fn values_are_capped_and_kept_on_their_line_or_in_their_block() {
        assert_eq!(cap("héllo", 2), "hé…");
        assert_eq!(cap("hi", 2), "hi");
        assert_eq!(one_line("  a\n\tb   c \r\n"), "a b c");
        assert_eq!(
            one_line(&"y".repeat(5_000)).chars().count(),
            MAX_LINE_CHARS + 1
        );
        assert_eq!(
            in_fence(" ```js\nx``` "),
            "`\u{200b}`\u{200b}`js\nx`\u{200b}`\u{200b}`"
        );
        assert!(!in_fence(&"`".repeat(10)).contains("```"));
        assert_eq!(
            in_fence(&"z".repeat(10_000)).chars().count(),
            MAX_BLOCK_CHARS + 1
        );
    }

    #[test]
    fn scalars_read_as_text_and_containers_do_not() {
        assert_eq!(scalar_text(&serde_json::json!(" x ")), Some("x".into()));
        assert_eq!(scalar_text(&serde_json::json!(400)), Some("400".into()));
        assert_eq!(scalar_text(&serde_json::json!(0.5)), Some("0.5".into()));
        assert_eq!(scalar_text(&serde_json::json!(" ")), None);
        assert_eq!(scalar_text(&serde_json::json!({"a": 1})), None);
        assert_eq!(scalar_text(&Value::Null), None);
    }
}
