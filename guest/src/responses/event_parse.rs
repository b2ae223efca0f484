//! Reading a [`StreamEvent`] straight into its variant.
//!
//! serde's derive for an internally tagged enum (`#[serde(tag = "type")]`) cannot know
//! where the tag is, so it buffers every event whole into its private `Content` tree
//! (a `Vec` of entries, more for nested values) and reads the variant from that. Here the
//! variant is read straight from the payload, borrowing from it as before:
//!
//! - OpenRouter sends `type` first: the `Deserialize` impl reads the first key, and when
//!   it is `type` the rest of the object goes straight into the variant's struct.
//! - Where `type` comes later (the chat adapter's events, whose keys are sorted),
//!   [`StreamEvent::from_json`] reads the payload twice instead: once for `type` alone
//!   (serde_json skips the other values without allocating), then into the variant's
//!   struct, which ignores `type`. The `Deserialize` impl, which cannot read its input
//!   twice, buffers the object as a `serde_json::Value` in that case.
//!
//! Either way the result is what the derive gave: the same variants, names and aliases,
//! `Unknown` for any other type, and an error (the caller skips the event) for a missing
//! `type`, a `type` that is not a string, or a known variant whose fields do not parse.

use super::events::{
    AnnotationEvent, DeltaEvent, ErrorEvent, ItemEvent, PartEvent, ResponseEvent, StreamEvent,
};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// The event types orpipe reads, by their `type` (and its older names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    InProgress,
    Completed,
    Incomplete,
    Failed,
    Error,
    ItemAdded,
    ItemDone,
    TextDelta,
    RefusalDelta,
    ReasoningDelta,
    SummaryDelta,
    ArgumentsDelta,
    AnnotationAdded,
    ContentPartDone,
    Unknown,
}

impl Kind {
    /// The names are those `StreamEvent` documents; the deltas come first, as they make up
    /// nearly every event.
    fn of(tag: &str) -> Self {
        match tag {
            "response.output_text.delta" => Self::TextDelta,
            "response.reasoning_text.delta" | "response.reasoning.delta" => Self::ReasoningDelta,
            "response.function_call_arguments.delta" => Self::ArgumentsDelta,
            "response.reasoning_summary_text.delta" => Self::SummaryDelta,
            "response.refusal.delta" => Self::RefusalDelta,
            "response.created" => Self::Created,
            "response.in_progress" => Self::InProgress,
            "response.completed" | "response.done" => Self::Completed,
            "response.incomplete" => Self::Incomplete,
            "response.failed" => Self::Failed,
            "error" | "response.error" => Self::Error,
            "response.output_item.added" => Self::ItemAdded,
            "response.output_item.done" => Self::ItemDone,
            "response.output_text.annotation.added" => Self::AnnotationAdded,
            "response.content_part.done" => Self::ContentPartDone,
            _ => Self::Unknown,
        }
    }

    /// Reads the fields of an event of this kind from `fields` (the object, or what is left
    /// of it after `type`).
    fn read<'de, D: Deserializer<'de>>(self, fields: D) -> Result<StreamEvent<'de>, D::Error> {
        Ok(match self {
            Self::Created => StreamEvent::Created(Box::new(ResponseEvent::deserialize(fields)?)),
            Self::InProgress => {
                StreamEvent::InProgress(Box::new(ResponseEvent::deserialize(fields)?))
            }
            Self::Completed => {
                StreamEvent::Completed(Box::new(ResponseEvent::deserialize(fields)?))
            }
            Self::Incomplete => {
                StreamEvent::Incomplete(Box::new(ResponseEvent::deserialize(fields)?))
            }
            Self::Failed => StreamEvent::Failed(Box::new(ErrorEvent::deserialize(fields)?)),
            Self::Error => StreamEvent::Error(Box::new(ErrorEvent::deserialize(fields)?)),
            Self::ItemAdded => StreamEvent::ItemAdded(ItemEvent::deserialize(fields)?),
            Self::ItemDone => StreamEvent::ItemDone(ItemEvent::deserialize(fields)?),
            Self::TextDelta => StreamEvent::TextDelta(DeltaEvent::deserialize(fields)?),
            Self::RefusalDelta => StreamEvent::RefusalDelta(DeltaEvent::deserialize(fields)?),
            Self::ReasoningDelta => StreamEvent::ReasoningDelta(DeltaEvent::deserialize(fields)?),
            Self::SummaryDelta => StreamEvent::SummaryDelta(DeltaEvent::deserialize(fields)?),
            Self::ArgumentsDelta => StreamEvent::ArgumentsDelta(DeltaEvent::deserialize(fields)?),
            Self::AnnotationAdded => {
                StreamEvent::AnnotationAdded(Box::new(AnnotationEvent::deserialize(fields)?))
            }
            Self::ContentPartDone => StreamEvent::ContentPartDone(PartEvent::deserialize(fields)?),
            Self::Unknown => {
                IgnoredAny::deserialize(fields)?;
                StreamEvent::Unknown
            }
        })
    }
}

/// The value of `type`: a string, borrowed when it can be.
struct TagVisitor;

impl Visitor<'_> for TagVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event type")
    }

    fn visit_str<E: de::Error>(self, tag: &str) -> Result<Kind, E> {
        Ok(Kind::of(tag))
    }
}

struct Tag(Kind);

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TagVisitor).map(Tag)
    }
}

/// A key of the event object: `type`, or another one (kept only for the buffered case).
enum Key {
    Type,
    Other(String),
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "type" => Key::Type,
            other => Key::Other(other.to_owned()),
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = StreamEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stream event object with a `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut before_type = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => {
                    let Tag(kind) = map.next_value()?;
                    return if before_type.is_empty() {
                        kind.read(MapAccessDeserializer::new(map))
                    } else {
                        read_buffered(kind, before_type, map)
                    };
                }
                Key::Other(key) => {
                    before_type.insert(key, map.next_value()?);
                }
            }
        }
        Err(de::Error::missing_field("type"))
    }
}

/// The rare event whose `type` was not its first key: the fields seen before it and the
/// rest, gathered into one object, then read as `kind`.
fn read_buffered<'de, A: MapAccess<'de>>(
    kind: Kind,
    mut fields: Map<String, Value>,
    mut map: A,
) -> Result<StreamEvent<'de>, A::Error> {
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            // The derive rejected a second `type`; a variant's struct ignores it, as here.
            Key::Type => {
                map.next_value::<IgnoredAny>()?;
            }
            Key::Other(key) => {
                fields.insert(key, map.next_value()?);
            }
        }
    }
    kind.read(Value::Object(fields)).map_err(de::Error::custom)
}

/// An event's `type` alone; every other field is skipped.
#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    tag: Tag,
}

/// Whether the payload's first key is `type` (as written by OpenRouter, unescaped).
fn type_comes_first(data: &str) -> bool {
    data.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"type\""))
}

impl<'a> StreamEvent<'a> {
    /// Reads one event payload, without buffering it whatever the order of its keys.
    pub fn from_json(data: &'a str) -> serde_json::Result<Self> {
        if type_comes_first(data) {
            return serde_json::from_str(data);
        }
        let TypeOnly { tag: Tag(kind) } = serde_json::from_str(data)?;
        if kind == Kind::Unknown {
            // The first pass read the whole payload: it is well-formed JSON.
            return Ok(StreamEvent::Unknown);
        }
        let mut fields = serde_json::Deserializer::from_str(data);
        let event = kind.read(&mut fields)?;
        fields.end()?;
        Ok(event)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StreamEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// Reads `data` through both entry points, which must agree.
    fn parse(data: &str) -> Result<StreamEvent<'_>, serde_json::Error> {
        let read = StreamEvent::from_json(data);
        let deserialized = serde_json::from_str::<StreamEvent<'_>>(data);
        assert_eq!(
            format!("{:?}", read.as_ref().ok()),
            format!("{:?}", deserialized.as_ref().ok()),
            "{data}"
        );
        read
    }

    fn kind(data: &str) -> String {
        match parse(data) {
            Ok(event) => format!("{event:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned(),
            Err(_) => "error".to_owned(),
        }
    }

    #[test]
    fn every_name_and_alias_reads_as_its_variant() {
        for (tag, variant) in [
            ("response.created", "Created"),
            ("response.in_progress", "InProgress"),
            ("response.completed", "Completed"),
            ("response.done", "Completed"),
            ("response.incomplete", "Incomplete"),
            ("response.failed", "Failed"),
            ("error", "Error"),
            ("response.error", "Error"),
            ("response.output_item.added", "ItemAdded"),
            ("response.output_item.done", "ItemDone"),
            ("response.output_text.delta", "TextDelta"),
            ("response.refusal.delta", "RefusalDelta"),
            ("response.reasoning_text.delta", "ReasoningDelta"),
            ("response.reasoning.delta", "ReasoningDelta"),
            ("response.reasoning_summary_text.delta", "SummaryDelta"),
            ("response.function_call_arguments.delta", "ArgumentsDelta"),
            ("response.output_text.annotation.added", "AnnotationAdded"),
            ("response.content_part.done", "ContentPartDone"),
            ("response.content_part.added", "Unknown"),
            ("response.output_text.done", "Unknown"),
            ("response.fusion_call.thinking", "Unknown"),
            ("", "Unknown"),
            ("Response.Created", "Unknown"),
        ] {
            assert_eq!(kind(&format!(r#"{{"type":"{tag}"}}"#)), variant, "{tag}");
        }
    }

    #[test]
    fn an_unknown_event_of_any_shape_is_skipped_whole() {
        let data = r#"{"type":"response.x","a":{"b":[1,{"c":null}],"d":"\u00e9"},"e":-1.5e3}"#;
        assert!(matches!(parse(data), Ok(StreamEvent::Unknown)));
    }

    #[test]
    fn type_after_other_fields_reads_the_same_as_type_first() {
        let first = r#"{"type":"response.output_text.delta","output_index":2,"delta":"a\"b","logprobs":[]}"#;
        let later = r#"{"output_index":2,"delta":"a\"b","type":"response.output_text.delta","logprobs":[]}"#;
        let last = r#"{"output_index":2,"logprobs":[],"delta":"a\"b","type":"response.output_text.delta"}"#;
        let spaced =
            r#" { "type" : "response.output_text.delta", "output_index": 2, "delta": "a\"b" } "#;
        let StreamEvent::TextDelta(expected) = parse(first).expect("an event") else {
            panic!("a text delta")
        };
        for data in [later, last, spaced] {
            let StreamEvent::TextDelta(delta) = parse(data).expect("an event") else {
                panic!("a text delta: {data}")
            };
            assert_eq!(delta.delta, expected.delta);
            assert_eq!(delta.output_index(), Some(2));
        }
        let failed = r#"{"response":{"status":"failed","error":{"code":"server_error","message":"gone"}},"type":"response.failed"}"#;
        let failure = parse(failed)
            .expect("an event")
            .failure()
            .expect("a failure");
        assert_eq!(failure.code.as_deref(), Some("server_error"));
        assert_eq!(failure.message.as_deref(), Some("gone"));
        assert!(matches!(
            parse(r#"{"x":1,"type":"response.debug","y":[2]}"#),
            Ok(StreamEvent::Unknown)
        ));
    }

    #[test]
    fn a_delta_without_escapes_is_borrowed_from_the_payload() {
        let data = r#"{"type":"response.reasoning_text.delta","output_index":0,"delta":"think"}"#;
        let StreamEvent::ReasoningDelta(delta) = parse(data).expect("an event") else {
            panic!("a reasoning delta")
        };
        assert!(matches!(delta.delta, Cow::Borrowed("think")));
    }

    #[test]
    fn a_missing_or_non_string_type_is_an_error() {
        for data in [
            r#"{}"#,
            r#"{"delta":"x","output_index":0}"#,
            r#"{"type":null,"delta":"x"}"#,
            r#"{"type":7}"#,
            r#"{"type":["response.output_text.delta"]}"#,
            r#"{"delta":"x","type":{"name":"error"}}"#,
        ] {
            assert!(parse(data).is_err(), "{data}");
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for data in [
            "",
            "null",
            "[]",
            r#"["response.output_text.delta","x"]"#,
            r#""response.output_text.delta""#,
            "{",
            r#"{"type""#,
            r#"{"type":"response.output_text.delta""#,
            r#"{"type":"response.output_text.delta","delta":"x""#,
            r#"{"type":"response.output_text.delta","delta":"x"} trailing"#,
            r#"{"type":"response.output_text.delta","delta":"\ud800"}"#,
            r#"{"type":"response.output_text.delta","delta":7}"#,
            r#"{"type":"response.output_text.delta","delta":"x","delta":"y"}"#,
            r#"{"type":"response.x","a":}"#,
            r#"{"a":1,"type":"response.output_text.delta","delta":[]}"#,
            r#"{"a":1,"type":"response.x","b":"#,
        ] {
            assert!(parse(data).is_err(), "{data}");
        }
    }

    #[test]
    fn lenient_fields_stay_lenient_in_either_order() {
        for data in [
            r#"{"type":"response.output_text.delta","output_index":"one","delta":"x","error":"odd"}"#,
            r#"{"output_index":"one","error":"odd","delta":"x","type":"response.output_text.delta"}"#,
        ] {
            let event = parse(data).expect("an event");
            assert!(event.failure().is_none(), "{data}");
            let StreamEvent::TextDelta(delta) = event else {
                panic!("a text delta")
            };
            assert_eq!(delta.output_index(), None);
            assert_eq!(delta.delta, "x");
        }
    }
}
