//! Open WebUI's event chunks in the stream: what it gets, and that no other client does.

use super::tests::{STREAMS, chunks, joined};
use super::*;
use crate::owui::status_line::StatusLineFields;
use crate::pipeline::StreamPipeline;
use serde_json::{Value, json};

const WEB_SEARCH: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/stream_web_search_citations.sse"
));
const REASONING_SUMMARY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/stream_reasoning_summary.sse"
));

fn translator() -> ChunkTranslator {
    ChunkTranslator::new(StreamContext {
        model: "client/model".into(),
        created: 1,
        fallback_id: "chatcmpl-fallback".into(),
        error_id: "00000000000000e3".into(),
        timestamp: "2026-11-25T05:00:00Z".into(),
    })
}

/// A whole upstream body through the pipeline in 64-byte reads; `events` as Open WebUI
/// would get them, `timing` passed to the finish.
fn stream(body: &str, events: Option<OpenWebUiEvents>, timing: Option<&Timing>) -> Vec<Value> {
    let mut translator = translator();
    if let Some(events) = events {
        translator = translator.with_events(events);
    }
    let mut pipeline = StreamPipeline::new(translator);
    let mut frames = Frames::default();
    for piece in body.as_bytes().chunks(64) {
        frames.append(&mut pipeline.push(piece));
    }
    frames.append(&mut pipeline.finish_at(timing));
    chunks(&frames.to_strings())
}

fn open_webui() -> Option<OpenWebUiEvents> {
    Some(OpenWebUiEvents::new(Some(StatusLineFields::ALL)))
}

fn events(chunks: &[Value]) -> Vec<&Value> {
    chunks.iter().filter_map(|c| c.get("event")).collect()
}

fn statuses(chunks: &[Value]) -> Vec<(String, bool)> {
    events(chunks)
        .into_iter()
        .filter(|e| e["type"] == "status")
        .map(|e| {
            let data = &e["data"];
            (
                data["description"].as_str().unwrap_or_default().to_owned(),
                data["done"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

fn annotations(chunks: &[Value]) -> usize {
    chunks
        .iter()
        .filter(|c| c.pointer("/choices/0/delta/annotations").is_some())
        .count()
}

#[test]
fn open_webui_sees_the_search_its_sources_and_the_status_line_without_annotations() {
    let timing = Timing {
        elapsed_ms: 2_000.0,
        first_output_ms: Some(1_000.0),
    };
    let chunks = stream(WEB_SEARCH, open_webui(), Some(&timing));
    assert_eq!(
        statuses(&chunks),
        [
            ("Searching the web…".to_owned(), false),
            (
                "Searched the web for “latest stable Rust release”".to_owned(),
                true
            ),
            (
                "2.0 s · 61 tok/s | $0.007356 | 1,595 tokens (in 1,534 · out 61)".to_owned(),
                true
            ),
        ]
    );
    let sources: Vec<&Value> = events(&chunks)
        .into_iter()
        .filter(|e| e["type"] == "source")
        .collect();
    assert_eq!(sources.len(), 2, "one per URL: {sources:?}");
    assert_eq!(
        sources[0]["data"],
        json!({
            "source": {"name": "Rust Blog: latest release",
                "url": "https://blog.rust-lang.org/releases/latest/"},
            "document": ["Announcing the latest stable Rust release.\n[...]\nUpdate with `rustup update stable`."],
            "metadata": [{"source": "https://blog.rust-lang.org/releases/latest/",
                "name": "Rust Blog: latest release"}]
        })
    );
    assert_eq!(
        sources[1]["data"]["source"]["url"],
        "https://github.com/rust-lang/rust/releases"
    );
    assert_eq!(annotations(&chunks), 0, "sources replace annotations");
    for chunk in chunks.iter().filter(|c| c.get("event").is_some()) {
        assert_eq!(chunk["choices"], json!([]), "{chunk}");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], "gen-1756998900-Vb8Nc2Mx6Zq1Lw9Kt4Pr");
        assert_eq!(chunk["model"], "client/model");
    }
    let usage_at = chunks.iter().position(|c| c.get("usage").is_some());
    let line_at = chunks.iter().rposition(|c| c.get("event").is_some());
    assert!(
        usage_at < line_at && line_at == Some(chunks.len() - 1),
        "the line comes after the usage, last before [DONE]"
    );
    assert_eq!(
        joined(&chunks, "content"),
        "According to the official Rust blog, the latest stable release is listed on its releases page. The GitHub releases page mirrors the same version."
    );
}

#[test]
fn reasoning_shows_thinking_until_its_item_finishes() {
    let chunks = stream(REASONING_SUMMARY, Some(OpenWebUiEvents::new(None)), None);
    assert_eq!(
        statuses(&chunks),
        [
            ("Thinking…".to_owned(), false),
            ("Finished thinking".to_owned(), true)
        ],
        "no status line when it is off"
    );
    let thinking_at = chunks.iter().position(|c| c.get("event").is_some());
    let first_reasoning = chunks
        .iter()
        .position(|c| c.pointer("/choices/0/delta/reasoning_content").is_some());
    assert!(thinking_at < first_reasoning);
}

#[test]
fn other_clients_never_get_an_event_and_open_webui_gets_the_same_answer_around_its_events() {
    for body in STREAMS {
        let plain = stream(body, None, None);
        assert!(events(&plain).is_empty(), "{body:.120}");
        let with_events = stream(body, open_webui(), None);
        let without_events: Vec<&Value> = with_events
            .iter()
            .filter(|c| c.get("event").is_none())
            .collect();
        let without_annotations: Vec<&Value> = plain
            .iter()
            .filter(|c| c.pointer("/choices/0/delta/annotations").is_none())
            .collect();
        assert_eq!(without_events, without_annotations, "{body:.120}");
    }
}

#[test]
fn a_broken_stream_closes_what_still_runs() {
    let cut: String = WEB_SEARCH
        .split_inclusive("\n\n")
        .take_while(|event| !event.contains("response.output_item.done"))
        .collect();
    let chunks = stream(&cut, open_webui(), None);
    assert!(
        chunks.iter().any(|c| c.get("error").is_some()),
        "interrupted"
    );
    assert_eq!(
        statuses(&chunks),
        [
            ("Searching the web…".to_owned(), false),
            ("Searched the web".to_owned(), true)
        ],
        "no usage and no times: no status line"
    );
}

/// OpenRouter's other server tools (API.md §3.4): an `openrouter:web_fetch` and an
/// `openrouter:datetime` item before the message, whose `url_citation` names the page.
const SERVER_TOOLS: &str = concat!(
    r#"data: {"type":"response.created","response":{"id":"gen-st","output":[]}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.added","output_index":0,"item":{"id":"wf_1","type":"openrouter:web_fetch","status":"in_progress"}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.done","output_index":0,"item":{"id":"wf_1","type":"openrouter:web_fetch","status":"completed","url":"https://blog.rust-lang.org/releases/latest/","title":"Rust Blog","http_status":200}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.added","output_index":1,"item":{"id":"dt_1","type":"openrouter:datetime","status":"in_progress"}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.done","output_index":1,"item":{"id":"dt_1","type":"openrouter:datetime","status":"completed"}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.added","output_index":2,"item":{"id":"m_1","type":"message","status":"in_progress","content":[]}}"#,
    "\n\n",
    r#"data: {"type":"response.output_text.delta","output_index":2,"content_index":0,"delta":"Rust is out."}"#,
    "\n\n",
    r#"data: {"type":"response.output_text.annotation.added","output_index":2,"content_index":0,"annotation_index":0,"annotation":{"type":"url_citation","url":"https://blog.rust-lang.org/releases/latest/","title":"Rust Blog","start_index":0,"end_index":12}}"#,
    "\n\n",
    r#"data: {"type":"response.output_item.done","output_index":2,"item":{"id":"m_1","type":"message","status":"completed","content":[{"type":"output_text","text":"Rust is out.","annotations":[{"type":"url_citation","url":"https://blog.rust-lang.org/releases/latest/","title":"Rust Blog","start_index":0,"end_index":12}]}]}}"#,
    "\n\n",
    r#"data: {"type":"response.completed","response":{"id":"gen-st","status":"completed","output":[]}}"#,
    "\n\n",
);

#[test]
fn other_server_tools_show_their_progress_and_the_fetched_page_becomes_a_source() {
    let chunks = stream(SERVER_TOOLS, Some(OpenWebUiEvents::new(None)), None);
    assert_eq!(
        statuses(&chunks),
        [
            ("Fetching a page…".to_owned(), false),
            (
                "Fetched https://blog.rust-lang.org/releases/latest/".to_owned(),
                true
            ),
            ("Checking the date…".to_owned(), false),
            ("Checked the date".to_owned(), true),
        ]
    );
    let sources: Vec<&Value> = events(&chunks)
        .into_iter()
        .filter(|e| e["type"] == "source")
        .collect();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(
        sources[0]["data"]["source"],
        json!({"name": "Rust Blog", "url": "https://blog.rust-lang.org/releases/latest/"})
    );
    assert_eq!(joined(&chunks, "content"), "Rust is out.");
    let plain = stream(SERVER_TOOLS, None, None);
    assert!(events(&plain).is_empty());
    assert_eq!(annotations(&plain), 1, "other clients get the citation");
}

#[test]
fn a_broken_stream_closes_a_running_server_tool() {
    let cut: String = SERVER_TOOLS
        .split_inclusive("\n\n")
        .take_while(|event| !event.contains("response.output_item.done"))
        .collect();
    let chunks = stream(&cut, Some(OpenWebUiEvents::new(None)), None);
    assert_eq!(
        statuses(&chunks),
        [
            ("Fetching a page…".to_owned(), false),
            ("Fetched a page".to_owned(), true)
        ]
    );
}
