//! Open WebUI's in-stream events (INTEGRATION.md §1.5, §3.10): a chunk that carries an
//! `event` object is handed to Open WebUI's event emitter, which shows it. orpipe sends
//! them only to Open WebUI (`ChunkTranslator::with_events`); other clients never see one.
//!
//! * `status` "Thinking…" while a reasoning item runs, "Searching the web…" while a web
//!   search runs (OpenRouter's `openrouter:web_search` or OpenAI's `web_search_call`),
//!   "Fetching a page…", "Checking the date…" … while another of OpenRouter's server tools
//!   runs (`super::server_tool_status`), each closed (`done: true`) when its item finishes;
//! * a `source` per cited URL, once each, in place of `delta.annotations` (Open WebUI turns
//!   annotations into sources itself, so both would show every source twice);
//! * the final status line ([`super::status_line`]) once the answer is complete.
//!
//! Pure: output items and annotations in, events out. The translator writes them as
//! chunks (`Frames::push_event`).

use super::server_tool_status;
use super::status_line::{StatusLineFields, Timing, status_line};
use crate::openai::{ChatAnnotation, Usage};
use crate::responses::{OutputItem, WebSearchCall};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

/// Longest excerpt a source carries; Open WebUI stores it with the message.
const MAX_DOCUMENT_CHARS: usize = 2000;

/// One event, serialised as Open WebUI reads it: `{"type": …, "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Event {
    Status {
        description: Cow<'static, str>,
        done: bool,
    },
    Source {
        source: SourceName,
        document: [String; 1],
        metadata: [SourceMetadata; 1],
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceName {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceMetadata {
    pub source: String,
    pub name: String,
}

/// What runs visibly until its item finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Activity {
    Thinking,
    Searching,
    Imaging,
    /// A server tool, with what its status says if the stream ends before it does.
    ServerTool(Cow<'static, str>),
}

const THINKING: &str = "Thinking…";
const THOUGHT: &str = "Finished thinking";
const SEARCHING: &str = "Searching the web…";
const SEARCHED: &str = "Searched the web";
const IMAGING: &str = "Generating image…";
const IMAGED: &str = "Generated an image";

/// The events of one answer.
#[derive(Debug)]
pub struct OpenWebUiEvents {
    /// The final status line's fields; `None` when the line is off (`status_line`).
    status_line: Option<StatusLineFields>,
    /// Activities announced and not finished yet, by `output_index`.
    running: BTreeMap<u64, Activity>,
    cited: HashSet<String>,
}

impl OpenWebUiEvents {
    pub fn new(status_line: Option<StatusLineFields>) -> Self {
        Self {
            status_line,
            running: BTreeMap::new(),
            cited: HashSet::new(),
        }
    }

    /// An output item started: a status if it is something the user waits for.
    pub(crate) fn item_added(&mut self, index: u64, item: &OutputItem<'_>) -> Option<Event> {
        let (activity, description) = match item {
            OutputItem::Reasoning(_) => (Activity::Thinking, Cow::Borrowed(THINKING)),
            OutputItem::WebSearch(_) => (Activity::Searching, Cow::Borrowed(SEARCHING)),
            OutputItem::Image(_) => (Activity::Imaging, Cow::Borrowed(IMAGING)),
            OutputItem::ServerTool(call) => (
                Activity::ServerTool(server_tool_status::finished(call)),
                server_tool_status::running(call),
            ),
            _ => return None,
        };
        self.running.insert(index, activity);
        Some(status(description, false))
    }

    /// An output item finished: its status closes (announced or not, a finished search
    /// says what it searched for).
    pub(crate) fn item_done(&mut self, index: u64, item: &OutputItem<'_>) -> Option<Event> {
        let running = self.running.remove(&index);
        match item {
            OutputItem::WebSearch(search) => Some(status(searched(search), true)),
            OutputItem::ServerTool(call) => Some(status(server_tool_status::finished(call), true)),
            OutputItem::Reasoning(_) if running == Some(Activity::Thinking) => {
                Some(status(Cow::Borrowed(THOUGHT), true))
            }
            OutputItem::Image(_) if running == Some(Activity::Imaging) => {
                Some(status(Cow::Borrowed(IMAGED), true))
            }
            _ => None,
        }
    }

    /// A `source` for each cited URL not cited before.
    pub(crate) fn sources(&mut self, citations: &[ChatAnnotation]) -> Vec<Event> {
        citations
            .iter()
            .filter_map(|citation| {
                let ChatAnnotation::UrlCitation { url_citation } = citation;
                self.cited
                    .insert(url_citation.url.clone())
                    .then(|| source(citation))
            })
            .collect()
    }

    /// The end of the answer: whatever still runs is closed (a broken stream leaves no
    /// spinner behind), then the status line, when it is on and something is known.
    pub(crate) fn closing(&mut self, timing: Option<&Timing>, usage: Option<&Usage>) -> Vec<Event> {
        let mut events: Vec<Event> = std::mem::take(&mut self.running)
            .into_values()
            .map(|activity| {
                let description = match activity {
                    Activity::Thinking => Cow::Borrowed(THOUGHT),
                    Activity::Searching => Cow::Borrowed(SEARCHED),
                    Activity::Imaging => Cow::Borrowed(IMAGED),
                    Activity::ServerTool(done) => done,
                };
                status(description, true)
            })
            .collect();
        let line = self
            .status_line
            .and_then(|fields| status_line(&fields, timing, usage));
        events.extend(line.map(|line| status(Cow::Owned(line), true)));
        events
    }
}

fn status(description: Cow<'static, str>, done: bool) -> Event {
    Event::Status { description, done }
}

/// "Searched the web for “…”" when the query is known.
fn searched(search: &WebSearchCall) -> Cow<'static, str> {
    match search.query().map(str::trim).filter(|q| !q.is_empty()) {
        Some(query) => Cow::Owned(format!("{SEARCHED} for “{query}”")),
        None => Cow::Borrowed(SEARCHED),
    }
}

/// The source Open WebUI shows as a citation chip: named by the page title (its host when
/// there is none), with the cited excerpt as its document (the title when there is none).
fn source(citation: &ChatAnnotation) -> Event {
    let ChatAnnotation::UrlCitation { url_citation } = citation;
    let url = &url_citation.url;
    // `chat_annotation` fills a missing title with the URL.
    let title = Some(url_citation.title.as_str()).filter(|t| !t.is_empty() && *t != url);
    let name = title.map_or_else(|| host(url), str::to_owned);
    let excerpt = url_citation
        .content
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let document = match excerpt {
        Some(text) => text.chars().take(MAX_DOCUMENT_CHARS).collect(),
        None => name.clone(),
    };
    Event::Source {
        source: SourceName {
            name: name.clone(),
            url: url.clone(),
        },
        document: [document],
        metadata: [SourceMetadata {
            source: url.clone(),
            name,
        }],
    }
}

/// `https://www.example.org/a?b` → `example.org`; anything else as it is.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.strip_prefix("www.").unwrap_or(host);
    if host.is_empty() {
        url.to_owned()
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responses::Annotation;
    use crate::translate::citations::chat_annotation;
    use serde_json::{Value, json};

    fn item(value: &Value) -> OutputItem<'_> {
        OutputItem::of(value)
    }

    fn citation(value: Value) -> ChatAnnotation {
        let annotation: Annotation = serde_json::from_value(value).expect("annotation");
        chat_annotation(&annotation).expect("a url citation")
    }

    fn json_of(event: &Event) -> Value {
        serde_json::to_value(event).expect("JSON")
    }

    #[test]
    fn reasoning_shows_thinking_until_it_finishes() {
        let mut events = OpenWebUiEvents::new(None);
        let reasoning = json!({"type": "reasoning", "summary": []});
        let started = events.item_added(0, &item(&reasoning)).expect("a status");
        assert_eq!(
            json_of(&started),
            json!({"type": "status", "data": {"description": "Thinking…", "done": false}})
        );
        let done = events.item_done(0, &item(&reasoning)).expect("a status");
        assert_eq!(
            json_of(&done),
            json!({"type": "status", "data": {"description": "Finished thinking", "done": true}})
        );
        assert_eq!(events.item_done(0, &item(&reasoning)), None, "once");
        let message = json!({"type": "message", "content": []});
        assert_eq!(events.item_added(1, &item(&message)), None);
        assert_eq!(events.item_done(1, &item(&message)), None);
    }

    #[test]
    fn a_web_search_says_what_it_searched_for() {
        let mut events = OpenWebUiEvents::new(None);
        for kind in ["openrouter:web_search", "web_search_call"] {
            let added = json!({"type": kind, "status": "in_progress"});
            assert_eq!(
                events.item_added(3, &item(&added)),
                Some(status(Cow::Borrowed("Searching the web…"), false)),
                "{kind}"
            );
            let done = json!({"type": kind, "status": "completed",
                "action": {"type": "search", "query": "latest stable Rust release"}});
            assert_eq!(
                events.item_done(3, &item(&done)),
                Some(status(
                    Cow::Borrowed("Searched the web for “latest stable Rust release”"),
                    true
                )),
                "{kind}"
            );
        }
        let unknown_query = json!({"type": "web_search_call", "action": {"type": "open_page"}});
        assert_eq!(
            events.item_done(4, &item(&unknown_query)),
            Some(status(Cow::Borrowed("Searched the web"), true))
        );
    }

    #[test]
    fn each_url_becomes_one_source_named_by_title_or_host() {
        let mut events = OpenWebUiEvents::new(None);
        let first = citation(json!({"type": "url_citation",
            "url": "https://blog.rust-lang.org/releases/latest/", "title": "Rust Blog",
            "start_index": 0, "end_index": 9, "content": "Announcing Rust."}));
        let same_page_elsewhere = citation(json!({"type": "url_citation",
            "url": "https://blog.rust-lang.org/releases/latest/", "title": "Rust Blog",
            "start_index": 20, "end_index": 29}));
        let untitled =
            citation(json!({"type": "url_citation", "url": "https://www.example.org/a?b=1"}));
        let sources = events.sources(&[first.clone(), same_page_elsewhere, untitled]);
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert_eq!(
            json_of(&sources[0]),
            json!({"type": "source", "data": {
                "source": {"name": "Rust Blog", "url": "https://blog.rust-lang.org/releases/latest/"},
                "document": ["Announcing Rust."],
                "metadata": [{"source": "https://blog.rust-lang.org/releases/latest/", "name": "Rust Blog"}]}})
        );
        assert_eq!(
            json_of(&sources[1])["data"],
            json!({"source": {"name": "example.org", "url": "https://www.example.org/a?b=1"},
                "document": ["example.org"],
                "metadata": [{"source": "https://www.example.org/a?b=1", "name": "example.org"}]})
        );
        assert!(events.sources(&[first]).is_empty(), "a repeat");
    }

    #[test]
    fn long_excerpts_are_cut() {
        let mut events = OpenWebUiEvents::new(None);
        let long = citation(json!({"type": "url_citation", "url": "https://a.example",
            "title": "A", "content": "é".repeat(MAX_DOCUMENT_CHARS + 10)}));
        let sources = events.sources(&[long]);
        let document = json_of(&sources[0])["data"]["document"][0].clone();
        assert_eq!(
            document.as_str().map(|d| d.chars().count()),
            Some(MAX_DOCUMENT_CHARS)
        );
    }

    #[test]
    fn closing_ends_what_still_runs_then_adds_the_status_line() {
        let mut events = OpenWebUiEvents::new(Some(StatusLineFields::ALL));
        events.item_added(0, &item(&json!({"type": "reasoning"})));
        events.item_added(1, &item(&json!({"type": "openrouter:web_search"})));
        let usage = Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            total_tokens: 15,
            cached_tokens: 0,
            reasoning_tokens: 0,
            cost: None,
        };
        let timing = Timing {
            elapsed_ms: 1_000.0,
            first_output_ms: None,
        };
        let closing = events.closing(Some(&timing), Some(&usage));
        assert_eq!(
            closing,
            [
                status(Cow::Borrowed("Finished thinking"), true),
                status(Cow::Borrowed("Searched the web"), true),
                status(
                    Cow::Borrowed("1.0 s · 5.0 tok/s | 15 tokens (in 10 · out 5)"),
                    true
                ),
            ]
        );
        assert!(
            events.closing(None, None).is_empty(),
            "nothing runs, nothing known"
        );
        let mut quiet = OpenWebUiEvents::new(None);
        assert!(
            quiet.closing(Some(&timing), Some(&usage)).is_empty(),
            "line off"
        );
    }

    #[test]
    fn hosts_are_read_from_odd_urls_without_failing() {
        assert_eq!(host("https://www.example.org/x"), "example.org");
        assert_eq!(host("http://user@docs.rs:8080?q"), "docs.rs:8080");
        assert_eq!(host("example.com/path"), "example.com");
        assert_eq!(host("https://"), "https://");
        assert_eq!(host(""), "");
    }
}
