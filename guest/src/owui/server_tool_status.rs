//! What Open WebUI's status says while one of OpenRouter's server tools runs and when it
//! is done (`openrouter:web_fetch` → "Fetching https://…" / "Fetched https://…"). Web
//! search and image generation have their own statuses (`super::events`); a tool this
//! table does not know shows its name ("Using memory…" / "Used memory").
//!
//! Pure: an item in, a description out.

use crate::responses::ServerToolCall;
use std::borrow::Cow;

/// The longest URL a status shows; the rest becomes "…".
const MAX_URL_CHARS: usize = 80;

/// (name after `openrouter:`, while it runs, once it is done).
const PHRASES: &[(&str, &str, &str)] = &[
    ("web_fetch", "Fetching a page", "Fetched a page"),
    ("datetime", "Checking the date", "Checked the date"),
    ("code_interpreter", "Running code", "Ran code"),
    ("file_search", "Searching files", "Searched files"),
    ("files", "Reading files", "Read files"),
    ("bash", "Running a command", "Ran a command"),
    ("shell", "Running a command", "Ran a command"),
    ("text_editor", "Editing a file", "Edited a file"),
    ("apply_patch", "Applying a patch", "Applied a patch"),
    ("tool_search", "Looking for tools", "Looked for tools"),
    ("mcp", "Calling an MCP tool", "Called an MCP tool"),
    ("fusion", "Asking several models", "Asked several models"),
    (
        "advisor",
        "Asking an advisor model",
        "Asked an advisor model",
    ),
    ("subagent", "Running a subagent", "Ran a subagent"),
    ("browser_use", "Using a browser", "Used a browser"),
    (
        "experimental__search_models",
        "Searching models",
        "Searched models",
    ),
];

/// While the tool runs: "Fetching https://example.org…", "Checking the date…".
pub fn running(call: &ServerToolCall) -> Cow<'static, str> {
    Cow::Owned(format!("{}…", present(call)))
}

/// Once it is done: "Fetched https://example.org", "Checked the date", or, when it
/// failed, "Fetching https://example.org failed".
pub fn finished(call: &ServerToolCall) -> Cow<'static, str> {
    if call.failed() {
        return Cow::Owned(format!("{} failed", present(call)));
    }
    match (call.name.as_str(), call.url()) {
        ("web_fetch", Some(url)) => Cow::Owned(format!("Fetched {}", shortened(url))),
        (name, _) => match phrases(name) {
            Some((_, done)) => Cow::Borrowed(done),
            None => Cow::Owned(format!("Used {}", spoken(name))),
        },
    }
}

/// The running phrase without its ellipsis.
fn present(call: &ServerToolCall) -> String {
    match (call.name.as_str(), call.url()) {
        ("web_fetch", Some(url)) => format!("Fetching {}", shortened(url)),
        (name, _) => match phrases(name) {
            Some((running, _)) => running.to_owned(),
            None => format!("Using {}", spoken(name)),
        },
    }
}

fn phrases(name: &str) -> Option<(&'static str, &'static str)> {
    PHRASES
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|(_, running, done)| (*running, *done))
}

/// `some_new_tool` → `some new tool`, at most 40 characters.
fn spoken(name: &str) -> String {
    let words = name.split('_').filter(|w| !w.is_empty());
    let spoken = words.collect::<Vec<_>>().join(" ");
    let spoken = if spoken.is_empty() { "a tool" } else { &spoken };
    spoken.chars().take(40).collect()
}

fn shortened(url: &str) -> String {
    if url.chars().count() <= MAX_URL_CHARS {
        return url.to_owned();
    }
    let head: String = url.chars().take(MAX_URL_CHARS - 1).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responses::OutputItem;
    use serde_json::{Value, json};

    fn call(item: Value) -> ServerToolCall {
        match OutputItem::of(&item) {
            OutputItem::ServerTool(call) => call,
            other => panic!("{item}: {other:?}"),
        }
    }

    fn both(item: Value) -> (String, String) {
        let call = call(item);
        (running(&call).into_owned(), finished(&call).into_owned())
    }

    #[test]
    fn each_known_tool_says_what_it_does() {
        assert_eq!(
            both(json!({"type": "openrouter:datetime", "status": "completed"})),
            (
                "Checking the date…".to_owned(),
                "Checked the date".to_owned()
            )
        );
        assert_eq!(
            both(json!({"type": "openrouter:code_interpreter"})),
            ("Running code…".to_owned(), "Ran code".to_owned())
        );
        for (name, _, _) in PHRASES {
            let (running, done) = both(json!({"type": format!("openrouter:{name}")}));
            assert!(running.ends_with('…') && !done.is_empty(), "{name}");
            assert!(!running.contains('_') && !done.contains('_'), "{name}");
        }
    }

    #[test]
    fn a_fetch_names_its_url_when_known_and_says_when_it_failed() {
        assert_eq!(
            both(json!({"type": "openrouter:web_fetch", "status": "in_progress"})),
            ("Fetching a page…".to_owned(), "Fetched a page".to_owned())
        );
        let fetched = call(
            json!({"type": "openrouter:web_fetch", "status": "completed",
            "url": "https://example.org/post"}),
        );
        assert_eq!(finished(&fetched), "Fetched https://example.org/post");
        let failed = call(json!({"type": "openrouter:web_fetch", "status": "failed",
            "url": "https://example.org/gone", "error": "404"}));
        assert_eq!(
            finished(&failed),
            "Fetching https://example.org/gone failed"
        );
        let long = format!("https://example.org/{}", "a".repeat(200));
        let shown = finished(&call(json!({"type": "openrouter:web_fetch", "url": long})));
        assert_eq!(shown.chars().count(), "Fetched ".len() + MAX_URL_CHARS);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_tool_not_in_the_table_shows_its_name() {
        assert_eq!(
            both(json!({"type": "openrouter:memory"})),
            ("Using memory…".to_owned(), "Used memory".to_owned())
        );
        assert_eq!(
            both(json!({"type": "openrouter:__odd__"})),
            ("Using odd…".to_owned(), "Used odd".to_owned())
        );
        assert_eq!(
            both(json!({"type": "openrouter:___"})),
            ("Using a tool…".to_owned(), "Used a tool".to_owned())
        );
        let failed = call(json!({"type": "openrouter:memory", "status": "failed"}));
        assert_eq!(finished(&failed), "Using memory failed");
    }
}
