//! Hidden marker lines in assistant text (FEATURES §4.3, §4.4).
//!
//! A stored artifact is referenced from the answer the client keeps by a line
//! `[<ULID>]: #`: a Markdown link reference definition, so it renders as nothing. When the
//! history comes back, the markers say which artifacts to replay, and where.
//!
//! A line is a marker only if, trimmed, it is exactly `[` + id + `]: #` with the id in
//! uppercase Crockford base32: 26 characters (orpipe's ULIDs) or 20 (the original pipe's
//! ids, so histories it wrote are cleaned too). Lowercase ids, `I L O U`, other lengths and
//! inline occurrences are plain text.
//!
//! Phase markers `[P:<phase>]: #` follow the text of an answer message that carried a
//! `phase` (GPT-5.4's `commentary` / `final_answer`), so the phase can be replayed:
//! for a phase-capable model the text before each one becomes its own message with that
//! phase; for other models they are stripped.

use serde_json::Value;

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// At most this many artifacts are replayed for one request; a history quoting more
/// markers than any real conversation has is not worth that many database reads.
pub const MAX_REPLAYED: usize = 512;

/// The marker line for an artifact id (no line break).
pub fn marker_line(id: &str) -> String {
    format!("[{id}]: #")
}

/// The artifact id a line refers to, if the line is a marker.
pub fn marker_id(line: &str) -> Option<&str> {
    let id = line.trim().strip_prefix('[')?.strip_suffix("]: #")?;
    let crockford = id.bytes().all(|b| CROCKFORD.contains(&b));
    (crockford && (id.len() == 26 || id.len() == 20)).then_some(id)
}

/// Models that take `phase` on assistant messages (the original's list).
const PHASE_MODELS: &[&str] = &[
    "openai/gpt-5.3-codex",
    "openai/gpt-5.4",
    "openai/gpt-5.4-pro",
    "openai/gpt-5.5",
    "openai/gpt-5.5-pro",
];

/// Whether `model` (an OpenRouter id, variants and presets allowed) takes phases.
pub fn supports_phase(model: &str) -> bool {
    let model = model.trim_start_matches('~');
    let model = model.split(['@', ':']).next().unwrap_or_default();
    PHASE_MODELS.contains(&model)
}

/// The marker line for a message phase (no line break).
pub fn phase_marker_line(phase: &str) -> String {
    format!("[P:{phase}]: #")
}

/// The phase a phase marker line names (`null` included).
pub fn phase_of(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("[P:")
        .and_then(|rest| rest.strip_suffix("]: #"))
        .filter(|phase| {
            !phase.is_empty()
                && phase
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// True for a phase marker line such as `[P:commentary]: #`.
pub fn is_phase_marker(line: &str) -> bool {
    phase_of(line).is_some()
}

/// Text with phase markers, cut at each: `(text before, phase)`, the last piece's phase
/// `None`. Texts are trimmed; a `null` phase is no phase.
pub fn split_phases(text: &str) -> Vec<(String, Option<String>)> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        match phase_of(line) {
            Some(phase) => {
                let phase = (phase != "null").then(|| phase.to_owned());
                pieces.push((current.trim().to_owned(), phase));
                current.clear();
            }
            None => current.push_str(line),
        }
    }
    pieces.push((current.trim().to_owned(), None));
    pieces
}

fn is_hidden_line(line: &str) -> bool {
    marker_id(line).is_some() || is_phase_marker(line)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text as written, line breaks included; phase markers inside it are kept (see `strip`).
    Text(&'a str),
    Marker(&'a str),
}

/// Splits text at its marker lines, keeping every other byte in order.
pub fn split(text: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    let mut text_start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(id) = marker_id(line) {
            if text_start < offset {
                segments.push(Segment::Text(&text[text_start..offset]));
            }
            segments.push(Segment::Marker(id));
            text_start = offset + line.len();
        }
        offset += line.len();
    }
    if text_start < text.len() {
        segments.push(Segment::Text(&text[text_start..]));
    }
    segments
}

/// `text` without its marker and phase marker lines (each removed with its line break).
pub fn strip(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !is_hidden_line(line))
        .collect()
}

/// The artifact ids the assistant messages of a history refer to, in order, each once,
/// at most `MAX_REPLAYED`.
pub fn referenced_ids(messages: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let assistant_texts = messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .flat_map(|m| texts(m.get("content")));
    for text in assistant_texts {
        for segment in split(text) {
            if let Segment::Marker(id) = segment
                && ids.len() < MAX_REPLAYED
                && !ids.iter().any(|known| known == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// The text of a message's content: the string, or each text part of an array.
fn texts(content: Option<&Value>) -> Vec<&str> {
    match content {
        Some(Value::String(text)) => vec![text],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

/// The block of marker lines that ends an answer (FEATURES §5.6), so plain-text clients
/// see the answer first: `"Answer"` + ids A, B → `"Answer\n\n[A]: #\n\n[B]: #\n"`.
/// `text_before` is the answer so far (its end is enough): a link reference definition
/// cannot interrupt a paragraph, so the block starts after a blank line, adding only the
/// line breaks the text lacks. Empty without ids.
pub fn marker_block(ids: &[String], text_before: &str) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let before = if text_before.is_empty() || text_before.ends_with("\n\n") {
        ""
    } else if text_before.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let lines: Vec<String> = ids.iter().map(|id| marker_line(id)).collect();
    format!("{before}{}\n", lines.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn c30_marker_helpers() {
        assert_eq!(
            marker_line("01J2VVZBDQTP1ZQJ8DSN"),
            "[01J2VVZBDQTP1ZQJ8DSN]: #"
        );
        assert_eq!(
            marker_id("  [01J2VVZBDQTP1ZQJ8DSN]: #  "),
            Some("01J2VVZBDQTP1ZQJ8DSN")
        );
        assert_eq!(marker_id("[01j2vvzbdqtp1zqj8dsn]: #"), None, "lowercase");
        assert_eq!(
            marker_id("[01J2VVZBDQTP1ZQJ8DSI]: #"),
            None,
            "I is not Crockford"
        );
        assert_eq!(marker_id("[01J2VVZBDQTP1ZQJ8DS]: #"), None, "19 characters");
        assert_eq!(marker_id("see [01J2VVZBDQTP1ZQJ8DSN]: # inline"), None);
        assert!(is_phase_marker("[P:commentary]: #"));
        assert!(!is_phase_marker("[P:]: #"));
        assert_eq!(phase_marker_line("commentary"), "[P:commentary]: #");
        assert!(supports_phase("openai/gpt-5.4"));
        assert!(supports_phase("~openai/gpt-5.4:nitro"));
        assert!(supports_phase("openai/gpt-5.5-pro@preset/x"));
        assert!(!supports_phase("openai/gpt-5"));
    }

    #[test]
    fn phases_split_text_into_pieces() {
        assert_eq!(
            split_phases("Thinking...\n[P:commentary]: #\nDone.\n[P:null]: #\nTail\n"),
            vec![
                ("Thinking...".to_owned(), Some("commentary".to_owned())),
                ("Done.".to_owned(), None),
                ("Tail".to_owned(), None),
            ]
        );
    }

    #[test]
    fn orpipe_ulids_are_markers_too() {
        let id = "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H";
        assert_eq!(marker_id(&marker_line(id)), Some(id));
        assert_eq!(marker_id("[01KB4Y1Q6ZC3N9TQ7R4X8W2M5]: #"), None, "25");
        assert_eq!(marker_id("[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: # x"), None);
        assert_eq!(marker_id("[]: #"), None);
    }

    #[test]
    fn c3_split_keeps_every_byte_in_order() {
        let text = "Checking.\n\n[01J2VVZBDQTP1ZQJ8DSN]: #\n[01J2VVZBDQTP1ZQJ8DSP]: #\n[01J2VVZBDQTP1ZQJ8DSQ]: #\nIt is -2C with snow in Oslo.\n";
        assert_eq!(
            split(text),
            vec![
                Segment::Text("Checking.\n\n"),
                Segment::Marker("01J2VVZBDQTP1ZQJ8DSN"),
                Segment::Marker("01J2VVZBDQTP1ZQJ8DSP"),
                Segment::Marker("01J2VVZBDQTP1ZQJ8DSQ"),
                Segment::Text("It is -2C with snow in Oslo.\n"),
            ]
        );
        assert_eq!(split("no markers"), vec![Segment::Text("no markers")]);
        assert_eq!(split(""), vec![]);
        // A marker as the last line, without a line break.
        assert_eq!(
            split("a\n[01J2VVZBDQTP1ZQJ8DSN]: #"),
            vec![
                Segment::Text("a\n"),
                Segment::Marker("01J2VVZBDQTP1ZQJ8DSN")
            ]
        );
    }

    #[test]
    fn c8_hidden_markers_are_stripped_from_free_text() {
        let text = "<chat_history>\nASSISTANT: Visible answer\n[P:final_answer]: #\n\n[0001H74WE6NX0KKR9ZC7]: #\n</chat_history>";
        assert_eq!(
            strip(text),
            "<chat_history>\nASSISTANT: Visible answer\n\n</chat_history>"
        );
        assert_eq!(strip("plain [x]: # text"), "plain [x]: # text");
    }

    #[test]
    fn referenced_ids_come_from_assistant_messages_only_once_each() {
        let messages = [
            json!({"role": "user", "content": "[01J2VVZBDQTP1ZQJ8DSN]: #"}),
            json!({"role": "assistant", "content": "[01J2VVZBDQTP1ZQJ8DSP]: #\nhi\n[01J2VVZBDQTP1ZQJ8DSP]: #"}),
            json!({"role": "assistant", "content": [{"type": "text", "text": "x\n[01KB4Y1Q6ZC3N9TQ7R4X8W2M5H]: #"}, {"type": "image_url"}]}),
            json!({"role": "assistant", "content": null}),
            json!("not an object"),
        ];
        assert_eq!(
            referenced_ids(&messages),
            vec!["01J2VVZBDQTP1ZQJ8DSP", "01KB4Y1Q6ZC3N9TQ7R4X8W2M5H"]
        );
    }

    #[test]
    fn the_marker_block_ends_the_answer_and_round_trips() {
        let (a, b) = ("01KB4Y1Q6ZC3N9TQ7R4X8W2M5H", "01J2VVZBDQTP1ZQJ8DSP");
        let ids = [a.to_owned(), b.to_owned()];
        let answer = format!("Answer{}", marker_block(&ids, "Answer"));
        assert_eq!(answer, format!("Answer\n\n[{a}]: #\n\n[{b}]: #\n"));
        assert_eq!(
            split(&answer),
            vec![
                Segment::Text("Answer\n\n"),
                Segment::Marker(a),
                Segment::Text("\n"),
                Segment::Marker(b),
            ]
        );
        assert_eq!(marker_block(&ids[..1], ""), format!("[{a}]: #\n"));
        assert_eq!(marker_block(&ids[..1], "x\n"), format!("\n[{a}]: #\n"));
        assert_eq!(marker_block(&ids[..1], "x\n\n"), format!("[{a}]: #\n"));
        assert_eq!(marker_block(&[], "x"), "");
    }
}
