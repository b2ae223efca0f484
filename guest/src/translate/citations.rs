//! Responses `url_citation` annotations → the Chat Completions form
//! ([`ChatAnnotation`]).
//!
//! OpenRouter repeats each citation (in `response.output_text.annotation.added`, the
//! finished content part, the finished item and the final response, API.md §3.4);
//! `Citations` remembers what was sent so each reaches the client once. Other annotation
//! types (`file_citation`, `file_path`) have no Chat Completions form and are skipped.

use crate::openai::{ChatAnnotation, UrlCitationFields};
use crate::responses::{Annotation, UrlCitation, valid};
use std::collections::HashSet;

/// The Chat Completions form of one annotation, or `None` when it is not a usable
/// `url_citation`.
pub fn chat_annotation(annotation: &Annotation) -> Option<ChatAnnotation> {
    let Annotation::UrlCitation(citation) = annotation else {
        return None;
    };
    // Some producers nest the fields as in the Chat Completions form already.
    let fields: &UrlCitation = valid(&citation.url_citation).map_or(citation, |nested| nested);
    let url = valid(&fields.url).filter(|url| !url.is_empty())?;
    Some(ChatAnnotation::UrlCitation {
        url_citation: UrlCitationFields {
            url: url.clone(),
            title: valid(&fields.title).unwrap_or(url).clone(),
            start_index: valid(&fields.start_index).copied(),
            end_index: valid(&fields.end_index).copied(),
            content: valid(&fields.content).cloned(),
        },
    })
}

/// The citations already sent, so repeats are dropped.
#[derive(Debug, Default)]
pub struct Citations {
    sent: HashSet<ChatAnnotation>,
}

impl Citations {
    /// The citations among `annotations` not sent before, in Chat Completions form.
    pub fn new_ones<'a>(
        &mut self,
        annotations: impl IntoIterator<Item = &'a Annotation>,
    ) -> Vec<ChatAnnotation> {
        annotations
            .into_iter()
            .filter_map(chat_annotation)
            .filter(|citation| self.sent.insert(citation.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn annotation(value: Value) -> Annotation {
        serde_json::from_value(value).unwrap_or(Annotation::Unknown)
    }

    fn chat(value: Value) -> Option<Value> {
        chat_annotation(&annotation(value)).map(|c| serde_json::to_value(c).expect("JSON"))
    }

    #[test]
    fn url_citations_take_the_chat_completions_shape_once() {
        let added = annotation(
            json!({"type": "url_citation", "url": "https://a.example/x", "title": "A",
            "start_index": 0, "end_index": 94, "content": "excerpt"}),
        );
        let mut citations = Citations::default();
        assert_eq!(
            serde_json::to_value(citations.new_ones([&added])).expect("JSON"),
            json!([{"type": "url_citation", "url_citation": {
                "url": "https://a.example/x", "title": "A", "start_index": 0, "end_index": 94,
                "content": "excerpt"}}])
        );
        assert!(citations.new_ones([&added]).is_empty(), "a repeat");
        let elsewhere = annotation(
            json!({"type": "url_citation", "url": "https://a.example/x", "title": "A",
            "start_index": 100, "end_index": 120, "content": "excerpt"}),
        );
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
            assert_eq!(chat(annotation.clone()), None, "{annotation}");
        }
        let bare = chat(json!({"type": "url_citation", "url": "https://b"}));
        assert_eq!(
            bare,
            Some(
                json!({"type": "url_citation", "url_citation": {"url": "https://b", "title": "https://b"}})
            )
        );
        let nested =
            json!({"type": "url_citation", "url_citation": {"url": "https://c", "title": "C"}});
        assert_eq!(
            chat(nested),
            Some(
                json!({"type": "url_citation", "url_citation": {"url": "https://c", "title": "C"}})
            )
        );
    }
}
