//! The Chat Completions shapes orpipe emits: streaming chunks, the whole completion and
//! usage. Field names follow OpenAI's; `cost` and the token details are OpenRouter's
//! extras, which Open WebUI keeps and shows.

use serde_json::{Value, json};

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

impl Usage {
    /// From a Responses `usage` object; missing counts read as zero.
    pub fn from_responses(usage: &Value) -> Option<Self> {
        let object = usage.as_object()?;
        let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        let prompt_tokens = count("/input_tokens");
        let completion_tokens = count("/output_tokens");
        Some(Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: object
                .get("total_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(prompt_tokens + completion_tokens),
            cached_tokens: count("/input_tokens_details/cached_tokens"),
            reasoning_tokens: count("/output_tokens_details/reasoning_tokens"),
            cost: object.get("cost").and_then(Value::as_f64),
        })
    }

    pub fn to_openai(&self) -> Value {
        let mut usage = json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        });
        if let Some(cost) = self.cost {
            usage["cost"] = json!(cost);
        }
        usage
    }
}

/// The fields every chunk of one stream shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHeader {
    pub id: String,
    pub model: String,
    pub created: u64,
}

impl ChunkHeader {
    /// A chunk with one choice carrying `delta` (and a finish reason when it ends).
    pub fn delta(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        })
    }

    /// The closing usage chunk: no choices, as OpenAI sends with `include_usage`.
    pub fn usage(&self, usage: &Usage) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage.to_openai(),
        })
    }
}

/// One SSE frame as written to the client.
pub fn frame(data: &Value) -> String {
    format!("data: {data}\n\n")
}

pub const DONE_FRAME: &str = "data: [DONE]\n\n";

#[cfg(test)]
mod tests {
    use super::*;

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
    fn frames_are_single_data_lines() {
        let header = ChunkHeader {
            id: "gen-1".into(),
            model: "m".into(),
            created: 7,
        };
        let chunk = header.delta(json!({"content": "a\nb"}), None);
        let text = frame(&chunk);
        assert!(text.starts_with("data: {") && text.ends_with("}\n\n"));
        assert_eq!(
            text.matches('\n').count(),
            2,
            "newlines inside content are escaped"
        );
        assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
    }
}
