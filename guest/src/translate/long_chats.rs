//! Keeping long chats inside the model's context (FEATURES §4.5, §4.3, §2.4):
//!
//! - **Context compression** on by default: OpenRouter's `context-compression` plugin is
//!   added unless the client chose (a `context-compression` plugin of its own, or
//!   `transforms`); switched off, `truncation: "disabled"` is sent unless the client set
//!   one, as the original did, so an overflow fails loudly instead of being cut silently.
//! - **Old tool outputs pruned**: a `function_call_output` of at least
//!   [`PRUNE_MIN_CHARS`] characters from `tool_output_retention_turns` user turns ago or
//!   more keeps its head and tail around a note saying how much was removed.
//! - **A budget for tool outputs** derived from the model's context length: when the
//!   outputs together are still larger, the oldest are pruned the same way regardless of
//!   age, then reduced to their note, until they fit. The latest turn's outputs are cut
//!   last, so the model keeps what it just asked for.
//!
//! Tool outputs are the client's tool results in the history (and, later, the server
//! tools' replayed outputs). Characters stand in for tokens at
//! [`CHARS_PER_TOKEN`], a deliberately generous estimate. Pure: no I/O.

use crate::setting_values::Reader;
use crate::settings::SettingsError;
use serde_json::{Map, Value, json};

/// Outputs shorter than this are never pruned (as the original: 800).
pub const PRUNE_MIN_CHARS: usize = 800;
const HEAD_CHARS: usize = 256;
const TAIL_CHARS: usize = 128;
/// A rough, high estimate of characters per token, so the budget errs on the safe side.
pub const CHARS_PER_TOKEN: usize = 3;

pub mod keys {
    pub const AUTO_CONTEXT_COMPRESSION: &str = "auto_context_compression";
    pub const TOOL_OUTPUT_RETENTION_TURNS: &str = "tool_output_retention_turns";
    pub const TOOL_OUTPUT_BUDGET_PERCENT: &str = "tool_output_budget_percent";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongChatSettings {
    pub auto_context_compression: bool,
    /// Tool outputs this many user turns old or older are pruned (0: never by age).
    pub retention_turns: usize,
    /// Share of the model's context all tool outputs together may take (1–100).
    pub budget_percent: usize,
}

impl Default for LongChatSettings {
    fn default() -> Self {
        Self {
            auto_context_compression: true,
            retention_turns: 10,
            budget_percent: 50,
        }
    }
}

impl LongChatSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let read = Reader::new(lookup);
        let number = |key, default: usize, range| {
            read.number_in(key, default as u64, range)
                .map(|n| usize::try_from(n).unwrap_or(default))
        };
        Ok(Self {
            auto_context_compression: read.flag(
                keys::AUTO_CONTEXT_COMPRESSION,
                defaults.auto_context_compression,
            )?,
            retention_turns: number(
                keys::TOOL_OUTPUT_RETENTION_TURNS,
                defaults.retention_turns,
                0..=1000,
            )?,
            budget_percent: number(
                keys::TOOL_OUTPUT_BUDGET_PERCENT,
                defaults.budget_percent,
                1..=100,
            )?,
        })
    }
}

/// What was done, for the request's log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Outputs pruned (or reduced to their note).
    pub outputs: usize,
    /// Characters removed from them.
    pub chars: usize,
}

/// Context compression on or off, as the client did not choose.
pub fn apply_context_compression(body: &mut Map<String, Value>, settings: &LongChatSettings) {
    let has_compression = body
        .get("plugins")
        .and_then(Value::as_array)
        .is_some_and(|plugins| {
            plugins
                .iter()
                .any(|p| p.get("id").and_then(Value::as_str) == Some("context-compression"))
        });
    if has_compression {
        return;
    }
    if settings.auto_context_compression {
        let plugins = body.entry("plugins").or_insert_with(|| json!([]));
        if let Some(plugins) = plugins.as_array_mut() {
            plugins.push(json!({"id": "context-compression"}));
        }
    } else if !body.contains_key("truncation") {
        body.insert("truncation".into(), json!("disabled"));
    }
}

/// Prunes old tool outputs and fits them into the budget for a model of
/// `context_length` tokens (`None`: unknown, no budget).
pub fn trim_tool_outputs(
    body: &mut Map<String, Value>,
    settings: &LongChatSettings,
    context_length: Option<u64>,
) -> Trimmed {
    let mut trimmed = Trimmed::default();
    let Some(input) = body.get_mut("input").and_then(Value::as_array_mut) else {
        return trimmed;
    };
    // How many user turns follow each item: its age.
    let mut users_after = 0;
    let mut ages = vec![0; input.len()];
    for (age, item) in ages.iter_mut().zip(input.iter()).rev() {
        *age = users_after;
        if item.get("role").and_then(Value::as_str) == Some("user") {
            users_after += 1;
        }
    }
    // (index, age) of each tool output, oldest first.
    let outputs: Vec<(usize, usize)> = input
        .iter()
        .enumerate()
        .filter(|(_, item)| output_text(item).is_some())
        .map(|(index, _)| (index, ages.get(index).copied().unwrap_or(0)))
        .collect();
    if settings.retention_turns > 0 {
        let why = match settings.retention_turns {
            1 => "older than 1 turn".to_owned(),
            n => format!("older than {n} turns"),
        };
        for &(index, age) in &outputs {
            if age >= settings.retention_turns {
                prune(input.get_mut(index), &why, &mut trimmed);
            }
        }
    }
    let Some(budget) = context_length.map(|tokens| {
        usize::try_from(tokens)
            .unwrap_or(usize::MAX)
            .saturating_mul(CHARS_PER_TOKEN)
            .saturating_mul(settings.budget_percent)
            / 100
    }) else {
        return trimmed;
    };
    let total = |input: &[Value]| -> usize {
        input
            .iter()
            .filter_map(output_text)
            .map(|t| t.chars().count())
            .sum()
    };
    // Oldest first: prune, and if that is not enough, reduce each to its note.
    for pass in [Pass::Prune, Pass::Note] {
        for &(index, _) in &outputs {
            if total(input) <= budget {
                return trimmed;
            }
            match pass {
                Pass::Prune => prune(input.get_mut(index), FIT, &mut trimmed),
                Pass::Note => reduce_to_note(input.get_mut(index), &mut trimmed),
            }
        }
    }
    trimmed
}

const FIT: &str = "to fit the model's context";

enum Pass {
    Prune,
    Note,
}

fn output_text(item: &Value) -> Option<&str> {
    (item.get("type").and_then(Value::as_str) == Some("function_call_output"))
        .then(|| item.get("output").and_then(Value::as_str))
        .flatten()
}

/// Head, a note, tail: `head(256) + "\n...\n[tool output pruned: …]\n...\n" + tail(128)`.
fn prune(item: Option<&mut Value>, why: &str, trimmed: &mut Trimmed) {
    let Some(item) = item else { return };
    let Some(text) = output_text(item) else {
        return;
    };
    let chars = text.chars().count();
    if chars < PRUNE_MIN_CHARS || text.contains("[tool output pruned:") {
        return;
    }
    let removed = chars - HEAD_CHARS - TAIL_CHARS;
    let head: String = text.chars().take(HEAD_CHARS).collect();
    let tail: String = text.chars().skip(chars - TAIL_CHARS).collect();
    let pruned =
        format!("{head}\n...\n[tool output pruned: removed {removed} chars, {why}]\n...\n{tail}");
    set_output(item, pruned);
    trimmed.outputs += 1;
    trimmed.chars += removed;
}

fn reduce_to_note(item: Option<&mut Value>, trimmed: &mut Trimmed) {
    let Some(item) = item else { return };
    let Some(text) = output_text(item) else {
        return;
    };
    let chars = text.chars().count();
    let note = format!("[tool output removed: {chars} chars, to fit the model's context]");
    if chars <= note.len() {
        return;
    }
    set_output(item, note);
    trimmed.outputs += 1;
    trimmed.chars += chars;
}

fn set_output(item: &mut Value, text: String) {
    if let Some(item) = item.as_object_mut() {
        item.insert("output".into(), Value::String(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": text})
    }

    fn output(call: &str, text: &str) -> Value {
        json!({"type": "function_call_output", "call_id": call, "output": text})
    }

    #[test]
    fn compression_is_added_unless_the_client_chose() {
        let mut out = Map::new();
        apply_context_compression(&mut out, &LongChatSettings::default());
        assert_eq!(out["plugins"], json!([{"id": "context-compression"}]));
        let chosen = json!({"plugins": [{"id": "context-compression", "enabled": false}]});
        let mut out = body(chosen.clone());
        apply_context_compression(&mut out, &LongChatSettings::default());
        assert_eq!(Value::Object(out), chosen);
        let mut out = body(json!({"plugins": [{"id": "web"}]}));
        apply_context_compression(&mut out, &LongChatSettings::default());
        assert_eq!(out["plugins"][1]["id"], "context-compression");
    }

    #[test]
    fn switched_off_an_overflow_fails_instead_of_being_cut() {
        let off = LongChatSettings {
            auto_context_compression: false,
            ..Default::default()
        };
        let mut out = Map::new();
        apply_context_compression(&mut out, &off);
        assert_eq!(Value::Object(out), json!({"truncation": "disabled"}));
        let mut out = body(json!({"truncation": "auto"}));
        apply_context_compression(&mut out, &off);
        assert_eq!(out["truncation"], "auto");
    }

    #[test]
    fn old_long_outputs_keep_head_and_tail_around_a_note() {
        let long = format!("{}{}{}", "h".repeat(256), "m".repeat(1000), "t".repeat(128));
        let mut out = body(json!({"input": [
            user("q1"), output("a", &long), output("b", "short"),
            user("q2"), user("q3"), output("c", &long),
        ]}));
        let settings = LongChatSettings {
            retention_turns: 2,
            ..Default::default()
        };
        let trimmed = trim_tool_outputs(&mut out, &settings, None);
        assert_eq!(
            trimmed,
            Trimmed {
                outputs: 1,
                chars: 1000
            }
        );
        let expected = format!(
            "{}\n...\n[tool output pruned: removed 1000 chars, older than 2 turns]\n...\n{}",
            "h".repeat(256),
            "t".repeat(128)
        );
        assert_eq!(out["input"][1]["output"], expected.as_str());
        assert_eq!(out["input"][2]["output"], "short", "short ones stay");
        assert_eq!(
            out["input"][5]["output"],
            long.as_str(),
            "the latest turn's stays"
        );
        // Pruning again changes nothing.
        assert_eq!(
            trim_tool_outputs(&mut out, &settings, None),
            Trimmed::default()
        );
    }

    #[test]
    fn the_budget_prunes_oldest_first_then_reduces_to_notes() {
        let long = "x".repeat(3000);
        let input = json!({"input": [
            user("q1"), output("a", &long), user("q2"), output("b", &long),
        ]});
        let no_age = LongChatSettings {
            retention_turns: 0,
            budget_percent: 100,
            ..Default::default()
        };
        // 1,000 tokens × 3 chars: 3,000 chars for 6,000 of output. Pruning the oldest
        // leaves 3,000 + 395: still over, so the newest is pruned too.
        let mut out = body(input.clone());
        let trimmed = trim_tool_outputs(&mut out, &no_age, Some(1000));
        assert_eq!(trimmed.outputs, 2);
        assert!(
            out["input"][3]["output"]
                .as_str()
                .unwrap()
                .contains("to fit the model's context")
        );
        // A tiny context: everything becomes a note.
        let mut out = body(input);
        trim_tool_outputs(&mut out, &no_age, Some(50));
        for index in [1, 3] {
            let text = out["input"][index]["output"].as_str().unwrap();
            assert!(text.starts_with("[tool output removed: "), "{text}");
        }
    }

    #[test]
    fn odd_shapes_are_left_alone() {
        for original in [
            json!({"input": "text"}),
            json!({"input": [{"type": "function_call_output", "output": [1, 2]}, null, 3]}),
            json!({}),
        ] {
            let mut out = body(original.clone());
            assert_eq!(
                trim_tool_outputs(&mut out, &LongChatSettings::default(), Some(1)),
                Trimmed::default()
            );
            assert_eq!(Value::Object(out), original);
        }
    }

    #[test]
    fn settings_parse_with_ranges() {
        let s = LongChatSettings::from_lookup(|key| match key {
            keys::AUTO_CONTEXT_COMPRESSION => Some("off".into()),
            keys::TOOL_OUTPUT_RETENTION_TURNS => Some("3".into()),
            _ => None,
        })
        .unwrap();
        assert!(!s.auto_context_compression && s.retention_turns == 3 && s.budget_percent == 50);
        for (key, bad) in [
            (keys::TOOL_OUTPUT_BUDGET_PERCENT, "0"),
            (keys::TOOL_OUTPUT_BUDGET_PERCENT, "101"),
            (keys::TOOL_OUTPUT_RETENTION_TURNS, "-1"),
            (keys::AUTO_CONTEXT_COMPRESSION, "sometimes"),
        ] {
            let error =
                LongChatSettings::from_lookup(|k| (k == key).then(|| bad.to_owned())).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
    }
}
