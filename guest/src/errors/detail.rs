//! What an OpenRouter error says beyond its status and message, for the cards (the
//! original pipe's FEATURES §9.3): the provider, OpenRouter's code and message, the
//! provider's own message, type and request id (in `error.metadata.raw`, often JSON inside
//! a string), moderation reasons and the flagged excerpt, the metadata and the provider's
//! raw error pretty-printed, the body itself; and for an error inside a stream, the
//! streaming fields (chunk id and time, model, provider, native finish reason).
//!
//! Bodies are untrusted and may be anything (JSON of another shape, HTML, plain text,
//! huge): parsing never fails, it only finds less, and every text is capped.

use super::pretty::{MAX_BLOCK_CHARS, cap, pretty_json, scalar_text};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// The details of one upstream error; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// `metadata.provider_name` (or `provider`).
    pub provider: Option<String>,
    /// `error.message` and `error.code` of OpenRouter's envelope.
    pub openrouter_message: Option<String>,
    pub openrouter_code: Option<String>,
    /// The provider's own error, from `metadata.raw`: `error.message` (or `message`) and
    /// `error.type`.
    pub upstream_message: Option<String>,
    pub upstream_type: Option<String>,
    /// The provider's request id (`metadata.request_id`, `raw.request_id`, a top-level
    /// `request_id`); in a stream, else the response id.
    pub request_id: Option<String>,
    pub moderation_reasons: Vec<String>,
    pub flagged_input: Option<String>,
    /// `metadata.model_slug`: the model that answered.
    pub model_slug: Option<String>,
    pub rate_limit_type: Option<String>,
    pub required_cost: Option<String>,
    pub account_balance: Option<String>,
    /// `metadata`, pretty-printed (capped); empty when there is none.
    pub metadata_json: String,
    /// The provider's raw error when it is JSON, pretty-printed (capped).
    pub provider_raw_json: String,
    /// The body as it came (an in-stream event: pretty-printed), capped.
    pub raw_body: String,
    /// Set for an error reported inside a stream.
    pub stream: Option<StreamFields>,
}

/// What an in-stream error event says about where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFields {
    /// `id` of the event, else of its response.
    pub chunk_id: Option<String>,
    /// `created` of the event, else `created`/`created_at` of its response: Unix seconds
    /// or text, as sent.
    pub chunk_created: Option<Value>,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// `choices[0].native_finish_reason` (or `finish_reason`), as Chat Completions
    /// chunks carry it.
    pub native_finish_reason: Option<String>,
    /// OpenRouter's typed `error_type` (API.md §5.3), more precise than the code.
    pub error_type: Option<String>,
}

impl ErrorDetail {
    /// Reads a non-2xx answer's body: OpenRouter's generic envelope or the Responses
    /// envelope (metadata beside `error`), or anything else.
    pub fn from_http_body(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let root = text.trim();
        let error = object_member(root, "error");
        let metadata = error
            .and_then(|e| object_member(e, "metadata"))
            .or_else(|| object_member(root, "metadata"));
        let mut detail = Self {
            openrouter_message: error.and_then(|e| scalar(e, "message")),
            openrouter_code: error.and_then(|e| scalar(e, "code")),
            raw_body: cap(root, MAX_BLOCK_CHARS),
            ..Self::default()
        };
        detail.read_metadata(metadata);
        if detail.request_id.is_none() {
            detail.request_id = scalar(root, "request_id");
        }
        detail
    }

    /// Reads the event (one SSE `data:` payload) that reported a failure mid-stream. The
    /// response's id stands in for the request id when the provider gave none.
    pub fn from_stream_event(event: &str) -> Self {
        let root = event.trim();
        let response = object_member(root, "response");
        let error = object_member(root, "error")
            .or_else(|| response.and_then(|r| object_member(r, "error")));
        let metadata = error.and_then(|e| object_member(e, "metadata"));
        let either =
            |key: &str| scalar(root, key).or_else(|| response.and_then(|r| scalar(r, key)));
        let choices =
            member(root, "choices").or_else(|| response.and_then(|r| member(r, "choices")));
        let first_choice = choices
            .and_then(|c| serde_json::from_str::<Vec<&RawValue>>(c).ok())
            .and_then(|c| c.first().map(|v| v.get()));
        let mut detail = Self {
            openrouter_message: error.and_then(|e| scalar(e, "message")),
            openrouter_code: error.and_then(|e| scalar(e, "code")),
            raw_body: pretty_json(root)
                .map_or_else(|| cap(root, MAX_BLOCK_CHARS), |p| cap(&p, MAX_BLOCK_CHARS)),
            stream: Some(StreamFields {
                chunk_id: either("id"),
                chunk_created: [
                    member(root, "created"),
                    response.and_then(|r| member(r, "created")),
                    response.and_then(|r| member(r, "created_at")),
                ]
                .into_iter()
                .flatten()
                .filter_map(|raw| serde_json::from_str::<Value>(raw).ok())
                .find(|v| v.is_u64() || scalar_text(v).is_some()),
                provider: either("provider"),
                model: either("model"),
                native_finish_reason: first_choice.and_then(|c| {
                    scalar(c, "native_finish_reason").or_else(|| scalar(c, "finish_reason"))
                }),
                error_type: response
                    .and_then(|r| scalar(r, "error_type"))
                    .or_else(|| scalar(root, "error_type"))
                    .or_else(|| error.and_then(|e| scalar(e, "error_type"))),
            }),
            ..Self::default()
        };
        detail.read_metadata(metadata);
        detail.request_id = detail
            .request_id
            .take()
            .or_else(|| response.and_then(|r| scalar(r, "id")))
            .or_else(|| scalar(root, "response_id"))
            .or_else(|| scalar(root, "request_id"));
        detail
    }

    /// `metadata`'s provider, moderation, limits and raw provider error.
    fn read_metadata(&mut self, metadata: Option<&str>) {
        let Some(metadata) = metadata else { return };
        self.metadata_json = pretty_json(metadata)
            .map(|p| cap(&p, MAX_BLOCK_CHARS))
            .unwrap_or_default();
        self.provider = scalar(metadata, "provider_name").or_else(|| scalar(metadata, "provider"));
        self.moderation_reasons = member(metadata, "reasons")
            .and_then(|r| serde_json::from_str::<Vec<Value>>(r).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(scalar_text)
            .collect();
        self.flagged_input = scalar(metadata, "flagged_input");
        self.model_slug = scalar(metadata, "model_slug");
        self.rate_limit_type = scalar(metadata, "rate_limit_type");
        self.required_cost = scalar(metadata, "required_cost");
        self.account_balance = scalar(metadata, "account_balance");
        // `raw` is the provider's body: JSON inside a string, a JSON value, or plain text.
        let raw = member(metadata, "raw")
            .map(|raw| serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned()));
        let raw = raw
            .as_deref()
            .map(str::trim)
            .filter(|r| r.starts_with(['{', '[']));
        self.request_id = scalar(metadata, "request_id");
        if let Some((raw, pretty)) = raw.and_then(|r| Some((r, pretty_json(r)?))) {
            self.provider_raw_json = cap(&pretty, MAX_BLOCK_CHARS);
            let upstream = object_member(raw, "error");
            self.upstream_message = upstream
                .and_then(|e| scalar(e, "message"))
                .or_else(|| scalar(raw, "message"));
            self.upstream_type = upstream.and_then(|e| scalar(e, "type"));
            self.request_id = self.request_id.take().or_else(|| scalar(raw, "request_id"));
        }
    }
}

/// The raw text of `object`'s member `key`, when `object` is a JSON object.
fn member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let members: HashMap<String, &'a RawValue> = serde_json::from_str(object).ok()?;
    members.get(key).map(|value| value.get())
}

/// `object`'s member `key` when it is itself an object.
fn object_member<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    member(object, key).filter(|value| value.starts_with('{'))
}

/// `object`'s member `key` as text, when it is a string, number or boolean.
fn scalar(object: &str, key: &str) -> Option<String> {
    let value: Value = serde_json::from_str(member(object, key)?).ok()?;
    scalar_text(&value)
}

/// Case C17's body (FEATURES §11.2; the original's test
/// `test_openrouter_api_error_includes_provider_and_request_details`), as Python wrote it.
#[cfg(test)]
pub(crate) const C17_BODY: &str = r#"{"error": {"message": "Provider returned error", "code": 400, "metadata": {"provider_name": "Anthropic", "raw": "{\"type\": \"error\", \"error\": {\"type\": \"invalid_request_error\", \"message\": \"prompt is too long: 1015918 tokens > 1000000 maximum\"}, \"request_id\": \"req_011CVgpGEQMnFmYrjfT7Zh9h\"}"}}, "user_id": "org_123"}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn c17_every_detail_of_a_provider_error_is_read() {
        let detail = ErrorDetail::from_http_body(C17_BODY.as_bytes());
        assert_eq!(detail.provider.as_deref(), Some("Anthropic"));
        assert_eq!(
            detail.openrouter_message.as_deref(),
            Some("Provider returned error")
        );
        assert_eq!(detail.openrouter_code.as_deref(), Some("400"));
        assert_eq!(
            detail.upstream_message.as_deref(),
            Some("prompt is too long: 1015918 tokens > 1000000 maximum")
        );
        assert_eq!(
            detail.upstream_type.as_deref(),
            Some("invalid_request_error")
        );
        assert_eq!(
            detail.request_id.as_deref(),
            Some("req_011CVgpGEQMnFmYrjfT7Zh9h")
        );
        assert!(
            detail
                .provider_raw_json
                .starts_with("{\n  \"type\": \"error\",\n  \"error\": {")
        );
        assert!(
            detail.metadata_json.starts_with(
                "{\n  \"provider_name\": \"Anthropic\",\n  \"raw\": \"{\\\"type\\\": "
            )
        );
        assert_eq!(detail.raw_body, C17_BODY);
        assert_eq!(detail.stream, None);
    }

    #[test]
    fn moderation_and_account_details_are_read() {
        let body = json!({"error": {"message": "Input was flagged", "code": 403, "metadata": {
            "provider_name": "OpenAI", "model_slug": "openai/gpt-4o", "reasons": ["violence", 7, "", null],
            "flagged_input": " Some violent text… ", "required_cost": 0.25, "account_balance": "-1.5",
            "rate_limit_type": "account", "raw": {"error": {"message": "as object"}}}}});
        let detail = ErrorDetail::from_http_body(body.to_string().as_bytes());
        assert_eq!(detail.moderation_reasons, ["violence", "7"]);
        assert_eq!(detail.flagged_input.as_deref(), Some("Some violent text…"));
        assert_eq!(detail.model_slug.as_deref(), Some("openai/gpt-4o"));
        assert_eq!(detail.required_cost.as_deref(), Some("0.25"));
        assert_eq!(detail.account_balance.as_deref(), Some("-1.5"));
        assert_eq!(detail.rate_limit_type.as_deref(), Some("account"));
        assert_eq!(
            detail.upstream_message.as_deref(),
            Some("as object"),
            "raw given as an object"
        );
    }

    #[test]
    fn the_responses_envelope_keeps_its_metadata_beside_the_error() {
        let body = br#"{"error":{"code":"invalid_prompt","message":"Invalid Responses API request"},"metadata":{"raw":"[\n  {\"code\": \"invalid_union\"}\n]"}}"#;
        let detail = ErrorDetail::from_http_body(body);
        assert_eq!(detail.openrouter_code.as_deref(), Some("invalid_prompt"));
        assert_eq!(
            detail.provider_raw_json,
            "[\n  {\n    \"code\": \"invalid_union\"\n  }\n]"
        );
        assert_eq!(detail.upstream_message, None);
    }

    #[test]
    fn odd_bodies_yield_what_they_can_and_never_fail() {
        let plain = ErrorDetail::from_http_body(b"  plain text body\n");
        assert_eq!(plain.raw_body, "plain text body");
        assert_eq!(
            (plain.openrouter_message, plain.metadata_json.as_str()),
            (None, "")
        );
        for odd in [
            &b""[..],
            b"<html>502</html>",
            b"[1,2]",
            b"{\"error\": \"just text\"}",
            b"{\"error\": {\"message\": {\"nested\": 1}, \"metadata\": []}}",
            b"{\"error\": {\"metadata\": {\"raw\": \"{not json\", \"reasons\": \"x\"}}}",
            b"\xff\xfe{\"error\":1}",
            b"{\"error\": {\"metadata\": {\"raw\": 12}}}",
        ] {
            let detail = ErrorDetail::from_http_body(odd);
            assert_eq!(detail.provider_raw_json, "", "{odd:?}");
            assert_eq!(detail.openrouter_message, None, "{odd:?}");
        }
        let text_raw = ErrorDetail::from_http_body(
            br#"{"error":{"metadata":{"raw":"{not json","request_id":"r9"}}}"#,
        );
        assert_eq!(text_raw.request_id.as_deref(), Some("r9"));
        let huge = format!(
            r#"{{"error":{{"message":"m","metadata":{{"raw":"{}"}}}}}}"#,
            "x".repeat(300_000)
        );
        let detail = ErrorDetail::from_http_body(huge.as_bytes());
        assert!(detail.raw_body.chars().count() <= MAX_BLOCK_CHARS + 1);
        assert!(detail.metadata_json.is_empty(), "too large to lay out");
        assert_eq!(detail.openrouter_message.as_deref(), Some("m"));
    }

    #[test]
    fn a_failed_response_event_gives_the_streaming_fields() {
        let event = r#"{"type":"response.failed","response":{"id":"gen-1","created_at":1756999000,"model":"anthropic/claude-sonnet-4.5","status":"failed","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"error_type":"provider_unavailable"},"sequence_number":10}"#;
        let detail = ErrorDetail::from_stream_event(event);
        assert_eq!(detail.openrouter_code.as_deref(), Some("server_error"));
        assert_eq!(
            detail.openrouter_message.as_deref(),
            Some("Provider disconnected unexpectedly")
        );
        assert_eq!(detail.request_id.as_deref(), Some("gen-1"));
        assert!(detail.raw_body.starts_with(
            "{\n  \"type\": \"response.failed\",\n  \"response\": {\n    \"id\": \"gen-1\","
        ));
        let stream = detail.stream.expect("streaming fields");
        assert_eq!(stream.chunk_id.as_deref(), Some("gen-1"));
        assert_eq!(stream.chunk_created, Some(json!(1756999000)));
        assert_eq!(stream.model.as_deref(), Some("anthropic/claude-sonnet-4.5"));
        assert_eq!(stream.error_type.as_deref(), Some("provider_unavailable"));
        assert_eq!(stream.native_finish_reason, None);
    }

    #[test]
    fn a_chat_style_error_chunk_and_the_provider_request_id_are_read() {
        let raw = r#"{\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":\"req_p\"}"#;
        let event = format!(
            r#"{{"id":"chunk_999","created":1700000000,"model":"openai/gpt-4o","provider":"OpenAI","error":{{"code":502,"message":"Provider returned error","metadata":{{"provider_name":"Anthropic","raw":"{raw}"}}}},"choices":[{{"native_finish_reason":"error","finish_reason":"error"}}]}}"#
        );
        let detail = ErrorDetail::from_stream_event(&event);
        assert_eq!(
            detail.request_id.as_deref(),
            Some("req_p"),
            "the provider's id first"
        );
        assert_eq!(detail.upstream_type.as_deref(), Some("overloaded_error"));
        assert_eq!(detail.provider.as_deref(), Some("Anthropic"));
        let stream = detail.stream.expect("streaming fields");
        assert_eq!(stream.chunk_id.as_deref(), Some("chunk_999"));
        assert_eq!(stream.provider.as_deref(), Some("OpenAI"));
        assert_eq!(stream.native_finish_reason.as_deref(), Some("error"));
        assert_eq!(stream.chunk_created, Some(json!(1700000000)));
    }

    #[test]
    fn odd_events_never_fail() {
        for odd in [
            "",
            "not json",
            "[]",
            r#"{"error":null}"#,
            r#"{"response":"x","choices":{}}"#,
            r#"{"choices":[1],"created":{"a":1}}"#,
        ] {
            let detail = ErrorDetail::from_stream_event(odd);
            assert_eq!(detail.openrouter_message, None, "{odd}");
            let stream = detail.stream.expect("always set for a stream");
            assert_eq!(stream.chunk_created, None, "{odd}");
        }
    }
}
