//! Responses `url_citation` annotations → the Chat Completions form,
//! `{"type":"url_citation","url_citation":{url, title, start_index, end_index, content?}}`.
//!
//! OpenRouter repeats each citation (in `response.output_text.annotation.added`, the
//! finished content part, the finished item and the final response, API.md §3.4);
//! `Citations` remembers what was sent so each reaches the client once. Other annotation
//! types (`file_citation`, `file_path`) have no Chat Completions form and are skipped.

use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The Chat Completions form of one annotation, or `None` when it is not a usable
/// `url_citation`.
pub fn chat_annotation(annotation: &Value) -> Option<Value> {
    if annotation.get("type").and_then(Value::as_str) != Some("url_citation") {
        return None;
    }
    // Some producers nest the fields as in the Chat Completions form already.
    let fields = annotation.get("url_citation").unwrap_or(annotation);
    let url = fields
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())?;
    let mut citation = Map::new();
    citation.insert("url".into(), json!(url));
    citation.insert(
        "title".into(),
        json!(fields.get("title").and_then(Value::as_str).unwrap_or(url)),
    );
    for index in ["start_index", "end_index"] {
        if let Some(n) = fields.get(index).and_then(Value::as_u64) {
            citation.insert(index.into(), json!(n));
        }
    }
    if let Some(content) = fields.get("content").and_then(Value::as_str) {
        citation.insert("content".into(), json!(content));
    }
    Some(json!({"type": "url_citation", "url_citation": citation}))
}

/// The citations already sent, so repeats are dropped.
#[derive(Debug, Default)]
pub struct Citations {
    sent: HashSet<String>,
}

impl Citations {
    /// The citations among `annotations` not sent before, in Chat Completions form.
    pub fn new_ones<'a>(&mut self, annotations: impl IntoIterator<Item = &'a Value>) -> Vec<Value> {
        annotations
            .into_iter()
            .filter_map(chat_annotation)
            .filter(|citation| self.sent.insert(citation.to_string()))
            .collect()
    }
}

/// Every annotation on the `output_text` parts of a message item.
pub fn message_annotations(item: &Value) -> impl Iterator<Item = &Value> {
    item.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
        .filter_map(|part| part.get("annotations").and_then(Value::as_array))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_citations_take_the_chat_completions_shape_once() {
        let added = json!({"type": "url_citation", "url": "https://a.example/x", "title": "A",
            "start_index": 0, "end_index": 94, "content": "excerpt"});
        let mut citations = Citations::default();
        assert_eq!(
            citations.new_ones([&added]),
            [json!({"type": "url_citation", "url_citation": {
                "url": "https://a.example/x", "title": "A", "start_index": 0, "end_index": 94,
                "content": "excerpt"}})]
        );
        assert!(citations.new_ones([&added]).is_empty(), "a repeat");
        let elsewhere = json!({"type": "url_citation", "url": "https://a.example/x", "title": "A",
            "start_index": 100, "end_index": 120, "content": "excerpt"});
        assert_eq!(
            citations.new_ones([&elsewhere]).len(),
            1,
            "same page, another place"
        );
    }

    #[test]
    fn other_annotations_and_broken_ones_are_skipped() {
        for annotation in [
            json!({"type": "file_citation", "file_id": "f", "index": 1}),
            json!({"type": "url_citation"}),
            json!({"type": "url_citation", "url": ""}),
            json!("text"),
            Value::Null,
        ] {
            assert_eq!(chat_annotation(&annotation), None, "{annotation}");
        }
        let bare = chat_annotation(&json!({"type": "url_citation", "url": "https://b"}));
        assert_eq!(
            bare,
            Some(
                json!({"type": "url_citation", "url_citation": {"url": "https://b", "title": "https://b"}})
            )
        );
        let nested =
            json!({"type": "url_citation", "url_citation": {"url": "https://c", "title": "C"}});
        assert_eq!(
            chat_annotation(&nested),
            Some(
                json!({"type": "url_citation", "url_citation": {"url": "https://c", "title": "C"}})
            )
        );
    }
}
