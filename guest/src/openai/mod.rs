//! The Chat Completions shapes orpipe emits: streaming chunks ([`chunks`]), the whole
//! completion ([`completion`]) and what both share (usage, finish reasons, citations).
//! Field names follow OpenAI's; `cost` and the token details are OpenRouter's extras,
//! which Open WebUI keeps and shows.

pub mod chunks;
pub mod completion;

pub use chunks::{ChunkHeader, DONE_FRAME, Delta, Frames, StreamHeader, ToolCallDelta};
pub use completion::{ChatCompletion, CompletionMessage, ToolCall};

use crate::responses::{Lenient, ResponseUsage, TokenDetails, valid};
use serde::{Serialize, Serializer};

/// Token counts and cost of one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost: Option<f64>,
}

// Only tests read a `Usage` from raw JSON or write it back: the pipeline gets it typed.
#[cfg(test)]
impl Usage {
    /// From a Responses `usage` object; missing counts read as zero.
    pub fn from_responses(usage: &serde_json::Value) -> Option<Self> {
        use serde::Deserialize;
        let usage: ResponseUsage = usage
            .is_object()
            .then(|| ResponseUsage::deserialize(usage).ok())
            .flatten()?;
        Some(Self::from(&usage))
    }

    /// The OpenAI `usage` object.
    pub fn to_openai(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl From<&ResponseUsage> for Usage {
    fn from(usage: &ResponseUsage) -> Self {
        let count = |field: &Option<Lenient<u64>>| valid(field).copied();
        let detail = |details: &Option<Lenient<TokenDetails>>,
                      pick: fn(&TokenDetails) -> &Option<Lenient<u64>>| {
            valid(details).and_then(|d| count(pick(d))).unwrap_or(0)
        };
        let prompt_tokens = count(&usage.input_tokens).unwrap_or(0);
        let completion_tokens = count(&usage.output_tokens).unwrap_or(0);
        Self {
            prompt_tokens,
            completion_tokens,
            // Counts come from upstream: a sum near u64::MAX saturates, never overflows.
            total_tokens: count(&usage.total_tokens)
                .unwrap_or(prompt_tokens.saturating_add(completion_tokens)),
            cached_tokens: detail(&usage.input_tokens_details, |d| &d.cached_tokens),
            reasoning_tokens: detail(&usage.output_tokens_details, |d| &d.reasoning_tokens),
            cost: valid(&usage.cost).copied(),
        }
    }
}

impl Serialize for Usage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Cached {
            cached_tokens: u64,
        }
        #[derive(Serialize)]
        struct Reasoning {
            reasoning_tokens: u64,
        }
        #[derive(Serialize)]
        struct OpenAiUsage {
            prompt_tokens: u64,
            completion_tokens: u64,
            total_tokens: u64,
            prompt_tokens_details: Cached,
            completion_tokens_details: Reasoning,
            #[serde(skip_serializing_if = "Option::is_none")]
            cost: Option<f64>,
        }
        OpenAiUsage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            total_tokens: self.total_tokens,
            prompt_tokens_details: Cached {
                cached_tokens: self.cached_tokens,
            },
            completion_tokens_details: Reasoning {
                reasoning_tokens: self.reasoning_tokens,
            },
            cost: self.cost,
        }
        .serialize(serializer)
    }
}

/// Why an answer ended, in Chat Completions terms. Streams and whole answers decide it
/// with the same two rules below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    ToolCalls,
    Length,
    ContentFilter,
}

impl FinishReason {
    /// A whole answer: it asked for tools (there is no `finish_reason` upstream; "the
    /// model wants tools" is "the output has function calls", API.md §3.4), or it stopped.
    pub fn whole(has_tool_calls: bool) -> Self {
        if has_tool_calls {
            Self::ToolCalls
        } else {
            Self::Stop
        }
    }

    /// An answer cut short (`incomplete`), for the reason OpenRouter gave.
    pub fn cut_short(reason: Option<&str>) -> Self {
        if reason == Some("content_filter") {
            Self::ContentFilter
        } else {
            Self::Length
        }
    }
}

/// A url citation in the Chat Completions form,
/// `{"type":"url_citation","url_citation":{url, title, start_index?, end_index?, content?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatAnnotation {
    UrlCitation { url_citation: UrlCitationFields },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UrlCitationFields {
    pub url: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A generated image as OpenRouter's Chat Completions API returns it (`images` on the
/// message or the delta): `{"type": "image_url", "image_url": {"url": "data:…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatImage {
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageUrl {
    pub url: String,
}

impl ChatImage {
    pub fn new(url: String) -> Self {
        Self::ImageUrl {
            image_url: ImageUrl { url },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_usage_maps_to_openai_names_with_cost() {
        let usage = Usage::from_responses(&json!({
            "input_tokens": 28, "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 96, "output_tokens_details": {"reasoning_tokens": 41},
            "total_tokens": 124, "cost": 0.001524
        }))
        .expect("usage");
        assert_eq!(
            usage.to_openai(),
            json!({"prompt_tokens": 28, "completion_tokens": 96, "total_tokens": 124,
                   "prompt_tokens_details": {"cached_tokens": 4},
                   "completion_tokens_details": {"reasoning_tokens": 41}, "cost": 0.001524})
        );
        assert_eq!(Usage::from_responses(&json!(null)), None);
        let partial =
            Usage::from_responses(&json!({"input_tokens": 2, "output_tokens": 3})).expect("usage");
        assert_eq!((partial.total_tokens, partial.cost), (5, None));
        assert!(partial.to_openai().get("cost").is_none());
    }

    #[test]
    fn token_counts_near_the_top_of_u64_saturate_instead_of_overflowing() {
        let usage = Usage::from_responses(&json!({
            "input_tokens": u64::MAX - 1, "output_tokens": 5,
            "input_tokens_details": {"cached_tokens": u64::MAX},
            "output_tokens_details": {"reasoning_tokens": u64::MAX}
        }))
        .expect("usage");
        assert_eq!(usage.total_tokens, u64::MAX);
        assert_eq!(usage.prompt_tokens, u64::MAX - 1);
        assert_eq!(usage.cached_tokens, u64::MAX);
        // Past u64 the count is not a count: it reads as absent.
        let beyond = Usage::from_responses(
            &json!({"input_tokens": 18446744073709551616.0_f64, "output_tokens": 1}),
        )
        .expect("usage");
        assert_eq!((beyond.prompt_tokens, beyond.total_tokens), (0, 1));
    }

    #[test]
    fn finish_reasons_follow_tools_and_the_incomplete_reason() {
        assert_eq!(FinishReason::whole(false), FinishReason::Stop);
        assert_eq!(FinishReason::whole(true), FinishReason::ToolCalls);
        assert_eq!(
            FinishReason::cut_short(Some("content_filter")),
            FinishReason::ContentFilter
        );
        assert_eq!(
            FinishReason::cut_short(Some("max_output_tokens")),
            FinishReason::Length
        );
        assert_eq!(FinishReason::cut_short(None), FinishReason::Length);
        assert_eq!(json!(FinishReason::ToolCalls), json!("tool_calls"));
    }
}
