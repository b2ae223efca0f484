//! Typed views of output items (API.md §3.4, §4). An item stays a `serde_json::Value` (the
//! artifacts keep it verbatim); [`OutputItem::of`] reads the parts orpipe uses, borrowing
//! its text from the value.

use super::{Lenient, valid};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// A list whose entries may each have an unexpected shape (skipped), or which may not be a
/// list at all (read as empty).
type LenientList<T> = Option<Lenient<Vec<Lenient<T>>>>;

fn entries<T>(list: &LenientList<T>) -> impl Iterator<Item = &T> {
    valid(list)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Lenient::valid)
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem<'a> {
    #[serde(borrow)]
    Message(Message<'a>),
    #[serde(borrow)]
    Reasoning(Reasoning<'a>),
    #[serde(borrow)]
    FunctionCall(FunctionCall<'a>),
    /// A web search OpenRouter ran (`openrouter:web_search`) or OpenAI's native one
    /// (`web_search_call`, API.md §3.4).
    #[serde(rename = "openrouter:web_search", alias = "web_search_call")]
    WebSearch(WebSearchCall),
    /// A generated image: the Responses API's `image_generation_call`, OpenRouter's
    /// `openrouter:image_generation`, and the images of a chat-endpoint answer
    /// (`translate::from_chat`), whose `result` is then a data URL.
    #[serde(
        rename = "image_generation_call",
        alias = "openrouter:image_generation"
    )]
    Image(ImageCall),
    /// Any other tool OpenRouter runs itself (`openrouter:web_fetch`,
    /// `openrouter:datetime`, …): told apart by the `openrouter:` prefix of its type, so
    /// [`OutputItem::of`] builds it, never the tag.
    #[serde(skip_deserializing)]
    ServerTool(ServerToolCall),
    /// Anything else, anything new.
    #[serde(other)]
    Unknown,
}

impl<'a> OutputItem<'a> {
    /// The typed view of an item; one of an unexpected shape is `Unknown`.
    pub fn of(item: &'a Value) -> Self {
        match Self::deserialize(item) {
            Ok(Self::Unknown) | Err(_) => {
                ServerToolCall::of(item).map_or(Self::Unknown, Self::ServerTool)
            }
            Ok(known) => known,
        }
    }
}

/// An `openrouter:*` server tool item without a variant of its own; the fields some of
/// them carry (`url` of `openrouter:web_fetch`) are read for Open WebUI's status.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerToolCall {
    /// The type after `openrouter:`, e.g. `web_fetch`.
    #[serde(rename = "type")]
    pub name: String,
    pub status: Option<Lenient<String>>,
    pub url: Option<Lenient<String>>,
    pub error: Option<Lenient<String>>,
}

impl ServerToolCall {
    fn of(item: &Value) -> Option<Self> {
        let mut call = Self::deserialize(item).ok()?;
        call.name = call.name.strip_prefix("openrouter:")?.to_owned();
        (!call.name.is_empty()).then_some(call)
    }

    pub fn url(&self) -> Option<&str> {
        valid(&self.url).map(|u| u.trim()).filter(|u| !u.is_empty())
    }

    /// Its status says `failed`, or it carries an error.
    pub fn failed(&self) -> bool {
        valid(&self.status).is_some_and(|s| s == "failed")
            || valid(&self.error).is_some_and(|e| !e.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageCall {
    /// Base64 image data, or a data URL.
    pub result: Option<Lenient<String>>,
    /// `png`, `jpeg` or `webp`, when `result` is bare base64.
    pub output_format: Option<Lenient<String>>,
    pub status: Option<Lenient<String>>,
}

impl ImageCall {
    pub fn result(&self) -> Option<&str> {
        valid(&self.result)
            .map(String::as_str)
            .filter(|r| !r.is_empty())
    }

    pub fn output_format(&self) -> Option<&str> {
        valid(&self.output_format).map(String::as_str)
    }

    pub fn failed(&self) -> bool {
        valid(&self.status).is_some_and(|s| s == "failed")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message<'a> {
    #[serde(borrow, default)]
    pub content: LenientList<Part<'a>>,
    /// `commentary` / `final_answer` on GPT-5.x messages.
    pub phase: Option<Lenient<String>>,
}

/// A content part of a message or a reasoning item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part<'a> {
    OutputText {
        #[serde(borrow, default)]
        text: Cow<'a, str>,
        #[serde(default)]
        annotations: LenientList<Annotation>,
    },
    Refusal {
        #[serde(borrow, default)]
        refusal: Cow<'a, str>,
    },
    ReasoningText {
        #[serde(borrow, default)]
        text: Cow<'a, str>,
    },
    SummaryText {
        #[serde(borrow, default)]
        text: Cow<'a, str>,
    },
    #[serde(other)]
    Unknown,
}

impl Part<'_> {
    /// The citations and other annotations of an `output_text` part.
    pub fn annotations(&self) -> impl Iterator<Item = &Annotation> {
        let list = match self {
            Self::OutputText { annotations, .. } => Some(annotations),
            _ => None,
        };
        list.into_iter().flat_map(entries)
    }
}

impl Message<'_> {
    pub fn parts(&self) -> impl Iterator<Item = &Part<'_>> {
        entries(&self.content)
    }

    /// The answer text: every `output_text` part, in order.
    pub fn text(&self) -> String {
        self.parts()
            .filter_map(|part| match part {
                Part::OutputText { text, .. } => Some(text.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// Every `refusal` part, in order.
    pub fn refusal(&self) -> String {
        self.parts()
            .filter_map(|part| match part {
                Part::Refusal { refusal } => Some(refusal.as_ref()),
                _ => None,
            })
            .collect()
    }

    pub fn annotations(&self) -> impl Iterator<Item = &Annotation> {
        self.parts().flat_map(Part::annotations)
    }

    pub fn phase(&self) -> Option<&str> {
        valid(&self.phase).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reasoning<'a> {
    #[serde(borrow, default)]
    pub summary: LenientList<Part<'a>>,
    #[serde(borrow, default)]
    pub content: LenientList<Part<'a>>,
    /// Opaque; replayed as it came (API.md §3.4).
    pub encrypted_content: Option<Lenient<Cow<'a, str>>>,
}

impl Reasoning<'_> {
    /// Reasoning text, else its summaries, parts separated by a blank line, as the stream
    /// would have shown them.
    pub fn text(&self) -> String {
        let texts = |list: &LenientList<Part<'_>>, reasoning: bool| -> Vec<String> {
            entries(list)
                .filter_map(|part| match part {
                    Part::ReasoningText { text } if reasoning => Some(text.to_string()),
                    Part::SummaryText { text } if !reasoning => Some(text.to_string()),
                    _ => None,
                })
                .collect()
        };
        let content = texts(&self.content, true);
        let parts = if content.is_empty() {
            texts(&self.summary, false)
        } else {
            content
        };
        parts.join("\n\n")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionCall<'a> {
    #[serde(borrow, default)]
    pub call_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    /// The arguments as one JSON text.
    #[serde(borrow, default)]
    pub arguments: Cow<'a, str>,
}

/// A web search item; only its query is read (for Open WebUI's status).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebSearchCall {
    #[serde(default)]
    pub action: Option<Lenient<SearchAction>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchAction {
    #[serde(default)]
    pub query: Option<Lenient<String>>,
}

impl WebSearchCall {
    pub fn query(&self) -> Option<&str> {
        valid(&self.action)
            .and_then(|action| valid(&action.query))
            .map(String::as_str)
    }
}

/// An annotation on `output_text` (API.md §3.2); only url citations have a Chat
/// Completions form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Annotation {
    UrlCitation(UrlCitation),
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UrlCitation {
    pub url: Option<Lenient<String>>,
    pub title: Option<Lenient<String>>,
    pub start_index: Option<Lenient<u64>>,
    pub end_index: Option<Lenient<u64>>,
    pub content: Option<Lenient<String>>,
    /// Some producers nest the fields as in the Chat Completions form already.
    pub url_citation: Option<Lenient<Box<UrlCitation>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_reads_its_text_refusal_phase_and_citations_in_order() {
        let item = json!({"type": "message", "phase": "final_answer", "content": [
            {"type": "output_text", "text": "Hel", "annotations": [
                {"type": "url_citation", "url": "https://a"}, {"type": "file_citation"}, 7]},
            {"type": "refusal", "refusal": "no"},
            {"type": "output_text", "text": "lo"},
            {"type": "output_text", "text": 5},
            {"type": "something_new"}]});
        let OutputItem::Message(message) = OutputItem::of(&item) else {
            panic!("a message")
        };
        assert_eq!(message.text(), "Hello");
        assert_eq!(message.refusal(), "no");
        assert_eq!(message.phase(), Some("final_answer"));
        assert_eq!(
            message.annotations().count(),
            2,
            "the url and the file citation"
        );
    }

    #[test]
    fn reasoning_text_wins_over_summaries() {
        let both = json!({"type": "reasoning", "encrypted_content": "gAAA",
            "summary": [{"type": "summary_text", "text": "s1"}],
            "content": [{"type": "reasoning_text", "text": "r1"}, {"type": "reasoning_text", "text": "r2"}]});
        let OutputItem::Reasoning(reasoning) = OutputItem::of(&both) else {
            panic!("reasoning")
        };
        assert_eq!(reasoning.text(), "r1\n\nr2");
        let summaries = json!({"type": "reasoning", "content": "odd",
            "summary": [{"type": "summary_text", "text": "s1"}, {"type": "summary_text", "text": "s2"}]});
        let OutputItem::Reasoning(reasoning) = OutputItem::of(&summaries) else {
            panic!("reasoning")
        };
        assert_eq!(reasoning.text(), "s1\n\ns2");
    }

    #[test]
    fn other_openrouter_items_are_server_tools_read_leniently() {
        let fetch = json!({"type": "openrouter:web_fetch", "id": "wf_1", "status": "completed",
            "url": " https://example.org/a ", "title": "A", "content": "text", "http_status": 200});
        let OutputItem::ServerTool(call) = OutputItem::of(&fetch) else {
            panic!("a server tool")
        };
        assert_eq!(call.name, "web_fetch");
        assert_eq!(call.url(), Some("https://example.org/a"));
        assert!(!call.failed());
        let odd = json!({"type": "openrouter:datetime", "status": 3, "url": [], "error": "x"});
        let OutputItem::ServerTool(call) = OutputItem::of(&odd) else {
            panic!("a server tool")
        };
        assert_eq!((call.name.as_str(), call.url()), ("datetime", None));
        assert!(call.failed(), "an error means it failed");
        assert!(matches!(
            OutputItem::of(&json!({"type": "openrouter:web_search"})),
            OutputItem::WebSearch(_)
        ));
        assert!(matches!(
            OutputItem::of(&json!({"type": "openrouter:image_generation"})),
            OutputItem::Image(_)
        ));
    }

    #[test]
    fn unknown_and_malformed_items_are_unknown() {
        for item in [
            json!({"type": "openrouter:", "status": "completed"}),
            json!({"type": "code_interpreter_call", "status": "completed"}),
            json!({"type": "function_call", "name": 3}),
            json!({"no": "type"}),
            json!("message"),
        ] {
            assert_eq!(OutputItem::of(&item), OutputItem::Unknown, "{item}");
        }
        let search = json!({"type": "web_search_call", "action": {"type": "search", "query": 4}});
        assert!(
            matches!(OutputItem::of(&search), OutputItem::WebSearch(s) if s.query().is_none()),
            "a web search whose query is odd is still a web search"
        );
        let call = json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
        assert!(matches!(OutputItem::of(&call),
            OutputItem::FunctionCall(FunctionCall { name, .. }) if name == "f"));
    }
}
