//! Stream events (API.md §3.2), tagged by their `type`. Events orpipe has no use for, and
//! new ones, are `Unknown`; an event that does not parse at all is the caller's to skip.

use super::response::{ErrorBody, ErrorCode, Response, UpstreamError};
use super::{Annotation, Lenient, valid};
use crate::responses::items::Part;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// Read by the hand-written `Deserialize` in [`super::event_parse`], which maps each
/// `type` (named on the variants below) to its variant without serde's buffering. The
/// few large, rare events are boxed, so the deltas, nearly every event, move as a small
/// value.
#[derive(Debug, Clone)]
pub enum StreamEvent<'a> {
    /// `response.created`
    Created(Box<ResponseEvent>),
    /// `response.in_progress`
    InProgress(Box<ResponseEvent>),
    /// `response.completed`; `response.done` is an older name an old docs example uses.
    Completed(Box<ResponseEvent>),
    /// `response.incomplete`
    Incomplete(Box<ResponseEvent>),
    /// `response.failed`
    Failed(Box<ErrorEvent>),
    /// The spec's `error` event, and the docs' `response.error`.
    Error(Box<ErrorEvent>),
    /// `response.output_item.added`
    ItemAdded(ItemEvent),
    /// `response.output_item.done`
    ItemDone(ItemEvent),
    /// `response.output_text.delta`
    TextDelta(DeltaEvent<'a>),
    /// `response.refusal.delta`
    RefusalDelta(DeltaEvent<'a>),
    /// `response.reasoning_text.delta`; `response.reasoning.delta` is an older name some
    /// docs still use.
    ReasoningDelta(DeltaEvent<'a>),
    /// `response.reasoning_summary_text.delta`
    SummaryDelta(DeltaEvent<'a>),
    /// `response.function_call_arguments.delta`
    ArgumentsDelta(DeltaEvent<'a>),
    /// `response.output_text.annotation.added`
    AnnotationAdded(Box<AnnotationEvent>),
    /// `response.content_part.done`
    ContentPartDone(PartEvent<'a>),
    /// Any other type. Deliberately not read, because they carry nothing a Chat
    /// Completions client needs or repeat what was already sent (API.md §3.2): part
    /// boundaries (`content_part.added`, `reasoning_summary_part.*`), the full texts of
    /// what was streamed (`*.done`; anything never streamed comes from `output_item.done`
    /// or the final payload), progress of tools OpenRouter runs itself, `response.debug`,
    /// and anything new.
    Unknown,
}

/// An event carrying the response object (lifecycle events).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseEvent {
    pub response: Option<Lenient<Response>>,
    pub error: Option<Lenient<ErrorBody>>,
}

/// `error` / `response.error` / `response.failed`: the failure under `error`, or in the
/// `response`, or at the top level (API.md §5.4).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorEvent {
    pub code: Option<Lenient<ErrorCode>>,
    pub message: Option<Lenient<String>>,
    pub error: Option<Lenient<ErrorBody>>,
    pub response: Option<Lenient<Response>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemEvent {
    pub output_index: Option<Lenient<u64>>,
    /// Verbatim, as artifacts keep it; [`super::OutputItem::of`] reads it.
    #[serde(default)]
    pub item: Value,
    pub error: Option<Lenient<ErrorBody>>,
}

/// A text, refusal, reasoning, summary or arguments delta.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeltaEvent<'a> {
    pub output_index: Option<Lenient<u64>>,
    pub summary_index: Option<Lenient<u64>>,
    /// Borrowed from the SSE buffer unless it holds escapes.
    #[serde(borrow, default)]
    pub delta: Cow<'a, str>,
    pub error: Option<Lenient<ErrorBody>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnnotationEvent {
    pub annotation: Option<Lenient<Annotation>>,
    pub error: Option<Lenient<ErrorBody>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PartEvent<'a> {
    #[serde(borrow)]
    pub part: Option<Lenient<Part<'a>>>,
    pub error: Option<Lenient<ErrorBody>>,
}

impl DeltaEvent<'_> {
    pub fn output_index(&self) -> Option<u64> {
        valid(&self.output_index).copied()
    }
}

impl ItemEvent {
    pub fn output_index(&self) -> Option<u64> {
        valid(&self.output_index).copied()
    }
}

impl StreamEvent<'_> {
    /// The response object the event carries, if any.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::Created(event)
            | Self::InProgress(event)
            | Self::Completed(event)
            | Self::Incomplete(event) => valid(&event.response),
            Self::Failed(event) | Self::Error(event) => valid(&event.response),
            _ => None,
        }
    }

    fn top_level_error(&self) -> Option<&ErrorBody> {
        let error = match self {
            Self::Created(event)
            | Self::InProgress(event)
            | Self::Completed(event)
            | Self::Incomplete(event) => &event.error,
            Self::Failed(event) | Self::Error(event) => &event.error,
            Self::ItemAdded(event) | Self::ItemDone(event) => &event.error,
            Self::TextDelta(event)
            | Self::RefusalDelta(event)
            | Self::ReasoningDelta(event)
            | Self::SummaryDelta(event)
            | Self::ArgumentsDelta(event) => &event.error,
            Self::AnnotationAdded(event) => &event.error,
            Self::ContentPartDone(event) => &event.error,
            Self::Unknown => return None,
        };
        valid(error)
    }

    /// The failure this event reports, in any of the shapes OpenRouter uses (API.md §5.4,
    /// quirk Q6): an error event, a failed response, or an error object inside a
    /// normal-looking event. Error events always report one, even an empty one.
    pub fn failure(&self) -> Option<UpstreamError> {
        let top = self.top_level_error().map(ErrorBody::report);
        let in_response = || self.response().and_then(Response::failure);
        match self {
            Self::Failed(event) | Self::Error(event) => {
                Some(top.or_else(in_response).unwrap_or_else(|| {
                    ErrorBody {
                        code: event.code.clone(),
                        message: event.message.clone(),
                    }
                    .report()
                }))
            }
            _ => top.or_else(in_response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> StreamEvent<'_> {
        serde_json::from_str(data).expect("an event")
    }

    fn failure(data: &str) -> Option<(Option<String>, Option<String>)> {
        event(data).failure().map(|e| (e.code, e.message))
    }

    #[test]
    fn plain_text_deltas_are_borrowed_and_escaped_ones_owned() {
        let plain = r#"{"type":"response.output_text.delta","output_index":1,"delta":"Hi there","logprobs":[]}"#;
        let StreamEvent::TextDelta(delta) = event(plain) else {
            panic!("a text delta")
        };
        assert!(matches!(delta.delta, Cow::Borrowed("Hi there")));
        assert_eq!(delta.output_index(), Some(1));
        let escaped = r#"{"type":"response.output_text.delta","delta":"a\nb"}"#;
        let StreamEvent::TextDelta(delta) = event(escaped) else {
            panic!("a text delta")
        };
        assert_eq!(delta.delta, "a\nb");
    }

    #[test]
    fn new_event_types_are_unknown_and_old_names_still_read() {
        assert!(matches!(
            event(r#"{"type":"response.fusion_call.thinking","x":{"y":[1]}}"#),
            StreamEvent::Unknown
        ));
        assert!(matches!(
            event(r#"{"type":"response.done","response":{"id":"gen-1"}}"#),
            StreamEvent::Completed(_)
        ));
        assert!(matches!(
            event(r#"{"type":"response.reasoning.delta","delta":"x"}"#),
            StreamEvent::ReasoningDelta(_)
        ));
        assert!(
            serde_json::from_str::<StreamEvent<'_>>(
                r#"{"type":"response.output_text.delta","delta":7}"#
            )
            .is_err()
        );
    }

    #[test]
    fn every_error_shape_is_a_failure() {
        let spec =
            r#"{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null}"#;
        assert_eq!(
            failure(spec),
            Some((Some("rate_limit_exceeded".into()), Some("slow down".into())))
        );
        let docs = r#"{"type":"response.error","error":{"code":401,"message":"bad key"}}"#;
        assert_eq!(
            failure(docs),
            Some((Some("401".into()), Some("bad key".into())))
        );
        let failed = r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"gone"}}}"#;
        assert_eq!(
            failure(failed),
            Some((Some("server_error".into()), Some("gone".into())))
        );
        let bare = r#"{"type":"response.failed","response":{"status":"failed"}}"#;
        assert_eq!(failure(bare), Some((None, None)));
        let flat = r#"{"type":"response.failed","code":"server_error","message":"flat"}"#;
        assert_eq!(
            failure(flat),
            Some((Some("server_error".into()), Some("flat".into())))
        );
        let embedded = r#"{"type":"response.in_progress","response":{"status":"in_progress","error":{"code":"server_error"}}}"#;
        assert_eq!(failure(embedded), Some((Some("server_error".into()), None)));
        let on_a_delta =
            r#"{"type":"response.output_text.delta","delta":"x","error":{"message":"m"}}"#;
        assert_eq!(failure(on_a_delta), Some((None, Some("m".into()))));
        for fine in [
            r#"{"type":"response.created","response":{"status":"in_progress","error":null}}"#,
            r#"{"type":"response.output_text.delta","delta":"x","error":"odd"}"#,
            r#"{"type":"response.debug","error":{"code":"x"}}"#,
        ] {
            assert_eq!(failure(fine), None, "{fine}");
        }
    }
}
