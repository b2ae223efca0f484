//! The response object: the body of a non-streamed answer, and the `response` of the
//! lifecycle events (API.md §4).

use super::{Lenient, valid};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Response {
    pub id: Option<Lenient<String>>,
    pub status: Option<Lenient<Status>>,
    /// The items, verbatim: artifacts store them as they came.
    pub output: Option<Lenient<Vec<Value>>>,
    pub usage: Option<Lenient<ResponseUsage>>,
    pub error: Option<Lenient<ErrorBody>>,
    pub incomplete_details: Option<Lenient<IncompleteDetails>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    Incomplete,
    InProgress,
    Failed,
    Cancelled,
    Queued,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IncompleteDetails {
    pub reason: Option<Lenient<String>>,
}

/// `usage` (API.md §3.5). Counts of another shape read as absent (zero).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResponseUsage {
    pub input_tokens: Option<Lenient<u64>>,
    pub output_tokens: Option<Lenient<u64>>,
    pub total_tokens: Option<Lenient<u64>>,
    pub input_tokens_details: Option<Lenient<TokenDetails>>,
    pub output_tokens_details: Option<Lenient<TokenDetails>>,
    pub cost: Option<Lenient<f64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokenDetails {
    pub cached_tokens: Option<Lenient<u64>>,
    pub reasoning_tokens: Option<Lenient<u64>>,
}

/// `{code, message}` of a failure (API.md §5.2, §5.4).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorBody {
    pub code: Option<Lenient<ErrorCode>>,
    pub message: Option<Lenient<String>>,
}

/// Codes are strings on this API, but OpenRouter's generic envelope uses numbers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ErrorCode {
    Text(String),
    Number(serde_json::Number),
}

/// What OpenRouter said went wrong, as far as it said it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamError {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ErrorBody {
    pub fn report(&self) -> UpstreamError {
        UpstreamError {
            code: valid(&self.code).map(|code| match code {
                ErrorCode::Text(text) => text.clone(),
                ErrorCode::Number(number) => number.to_string(),
            }),
            message: valid(&self.message).cloned(),
        }
    }
}

impl Response {
    pub fn id(&self) -> Option<&str> {
        valid(&self.id).map(String::as_str)
    }

    pub fn output(&self) -> &[Value] {
        valid(&self.output).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn usage(&self) -> Option<&ResponseUsage> {
        valid(&self.usage)
    }

    pub fn status(&self) -> Option<Status> {
        valid(&self.status).copied()
    }

    /// The failure this response reports: `status: "failed"`, or an `error` object
    /// (API.md §5.4, quirk Q6). A failed status without an error reports nothing more.
    pub fn failure(&self) -> Option<UpstreamError> {
        match valid(&self.error) {
            Some(error) => Some(error.report()),
            None => (self.status() == Some(Status::Failed)).then(UpstreamError::default),
        }
    }

    /// Why the answer was cut short, when its status is `incomplete`.
    pub fn incomplete_reason(&self) -> Option<&str> {
        valid(&self.incomplete_details)
            .and_then(|details| valid(&details.reason))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(value: Value) -> Response {
        serde_json::from_value(value).expect("a response")
    }

    #[test]
    fn a_failure_is_an_error_object_or_a_failed_status() {
        let failed =
            response(json!({"status": "failed", "error": {"code": 429, "message": "slow"}}));
        assert_eq!(
            failed.failure(),
            Some(UpstreamError {
                code: Some("429".into()),
                message: Some("slow".into())
            })
        );
        let bare = response(json!({"status": "failed", "error": "not an object"}));
        assert_eq!(bare.failure(), Some(UpstreamError::default()));
        let embedded =
            response(json!({"status": "in_progress", "error": {"code": "server_error"}}));
        assert_eq!(
            embedded.failure().and_then(|e| e.code),
            Some("server_error".into())
        );
        assert_eq!(
            response(json!({"status": "completed", "error": null})).failure(),
            None
        );
    }

    #[test]
    fn fields_of_another_shape_read_as_absent_and_keep_the_rest() {
        let odd = response(json!({"id": 7, "status": "paused", "output": {"x": 1},
            "usage": {"input_tokens": "many", "output_tokens": 3},
            "incomplete_details": {"reason": ["?"]}}));
        assert_eq!(odd.id(), None);
        assert_eq!(odd.status(), Some(Status::Unknown));
        assert!(odd.output().is_empty());
        let usage = odd.usage().expect("usage");
        assert_eq!(valid(&usage.input_tokens), None);
        assert_eq!(valid(&usage.output_tokens), Some(&3));
        assert_eq!(odd.incomplete_reason(), None);
    }
}
