//! A typed model of what OpenRouter's Responses API sends back (API.md §3–§5): the stream
//! events, the output items and the response object with its usage and error.
//!
//! Only the fields orpipe reads are modelled. Anything new degrades instead of failing:
//! an unknown event or item type is `Unknown`, and a field of an unexpected shape reads as
//! absent ([`Lenient`]) where the rest of the value is still useful. Whole items stay
//! `serde_json::Value`s ([`OutputItem::of`] reads one) because artifacts keep them verbatim.
//!
//! Convention: `Option` fields carry no `#[serde(default)]` (a missing `Option` reads as
//! `None` anyway). With it, serde would also read a struct from a list, `"error": []`
//! included, where upstream data must only count as an object when it is one.

mod event_parse;
mod events;
mod items;
mod response;

pub use events::{DeltaEvent, ItemEvent, StreamEvent};
pub use items::{
    Annotation, FunctionCall, ImageCall, OutputItem, ServerToolCall, UrlCitation, WebSearchCall,
};
pub use response::{Response, ResponseUsage, Status, TokenDetails};

use serde::Deserialize;
use serde::de::IgnoredAny;

/// A field upstream may send in another shape than documented: `Invalid` then, and the
/// value that holds it is still read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Lenient<T> {
    Valid(T),
    Invalid(IgnoredAny),
}

impl<T> Lenient<T> {
    pub fn valid(&self) -> Option<&T> {
        match self {
            Self::Valid(value) => Some(value),
            Self::Invalid(_) => None,
        }
    }
}

/// The value of an optional lenient field, when present and well-formed.
pub fn valid<T>(field: &Option<Lenient<T>>) -> Option<&T> {
    field.as_ref().and_then(Lenient::valid)
}
