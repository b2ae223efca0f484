//! Every failure the gateway can report, and how each one reaches the client: the HTTP
//! status and the OpenAI-style error body are derived here and nowhere else.
//!
//! This module never performs I/O. Upstream error bodies are untrusted: parsing them
//! never fails, it only recovers less detail.

pub mod cards;
pub(crate) mod class;
mod defaults;
pub mod detail;
mod pretty;
pub mod restriction;
pub(crate) mod template;
mod vars;

use detail::ErrorDetail;
use pretty::cap;
use restriction::ModelRestriction;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    /// The client's request cannot be served as sent.
    #[error("{0}")]
    InvalidRequest(String),
    /// The client's request body is larger than orpipe accepts.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// orpipe has no OpenRouter key to send.
    #[error(
        "OpenRouter API key is not configured: the operator must set OPENROUTER_API_KEY for orpipe"
    )]
    MissingApiKey,
    /// OpenRouter answered with an HTTP error before streaming anything.
    #[error("{}", upstream_summary(*status, message, provider_raw.as_deref()))]
    Upstream {
        status: u16,
        code: Option<String>,
        message: String,
        provider_raw: Option<String>,
        retry_after: Option<u64>,
        /// Everything else the body said, for the error card (`None` for failures orpipe
        /// derives itself).
        detail: Option<Box<ErrorDetail>>,
    },
    /// OpenRouter could not be reached, or the connection broke.
    #[error("could not reach OpenRouter: {0}")]
    UpstreamConnection(String),
    #[error("{0}")]
    UpstreamTimeout(String),
    /// OpenRouter answered something orpipe cannot read.
    #[error("OpenRouter sent an unreadable answer: {0}")]
    UpstreamProtocol(String),
    #[error("{0}")]
    NotFound(String),
    /// The operator's model filters (allow-list, free-only, tools-only) exclude the model.
    #[error("{0}")]
    ModelRestricted(ModelRestriction),
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// Reading or changing the live settings needs an admin key (the host says whether
    /// the caller presented one).
    #[error(
        "reading or changing orpipe's settings needs an admin key: connect with one of the keys in ORPIPE_ADMIN_KEYS (in Open WebUI, as the connection's API key)"
    )]
    AdminRequired,
    #[error("internal error in orpipe: {0}")]
    Internal(String),
    /// The per-user request breaker is open: this user's recent requests kept failing.
    #[error(
        "Temporarily disabled due to repeated errors ({failures} failed requests within {window_secs} s); retry in {retry_after} s"
    )]
    UserDisabled {
        retry_after: u64,
        failures: u32,
        window_secs: u64,
    },
}

fn upstream_summary(status: u16, message: &str, provider_raw: Option<&str>) -> String {
    let lead = match status {
        401 => "OpenRouter rejected the API key",
        402 => "OpenRouter says the account is out of credits",
        403 => "OpenRouter refused the request (moderation or permissions)",
        404 => "OpenRouter found no model or provider for the request",
        408 => "OpenRouter timed out",
        429 => "OpenRouter is rate limiting this key",
        500..=599 => "OpenRouter or the model's provider failed",
        _ => "OpenRouter rejected the request",
    };
    match provider_raw {
        Some(raw) if !raw.is_empty() && raw != message => {
            format!("{lead} ({status}): {message} — provider said: {raw}")
        }
        _ => format!("{lead} ({status}): {message}"),
    }
}

impl GatewayError {
    pub fn http_status(&self) -> u16 {
        match self {
            GatewayError::InvalidRequest(_) => 400,
            GatewayError::PayloadTooLarge(_) => 413,
            GatewayError::MissingApiKey => 401,
            GatewayError::Upstream { status, .. } => match *status {
                // Statuses the client can act on pass through as they are.
                400..=499 => *status,
                _ => 502,
            },
            GatewayError::UpstreamConnection(_) | GatewayError::UpstreamProtocol(_) => 502,
            GatewayError::UpstreamTimeout(_) => 504,
            GatewayError::NotFound(_) => 404,
            GatewayError::ModelRestricted(_) | GatewayError::AdminRequired => 403,
            GatewayError::MethodNotAllowed => 405,
            GatewayError::Internal(_) => 500,
            // 429, not 503: the limit is this user's, and clients already back off on a
            // 429 with Retry-After; 503 is the host's answer when orpipe itself is full.
            GatewayError::UserDisabled { .. } => 429,
        }
    }

    /// OpenAI's error `type` for this failure; SDKs map statuses, some UIs read the type.
    fn error_type(&self) -> &'static str {
        match self.http_status() {
            400 | 404 | 405 | 413 | 422 => "invalid_request_error",
            401 => "authentication_error",
            402 => "insufficient_quota",
            403 => "permission_error",
            429 => "rate_limit_error",
            500 => "api_error",
            _ => "upstream_error",
        }
    }

    pub(crate) fn code(&self) -> Option<String> {
        match self {
            GatewayError::MissingApiKey => Some("missing_openrouter_key".into()),
            GatewayError::PayloadTooLarge(_) => Some("request_too_large".into()),
            GatewayError::Upstream { code, .. } => code.clone(),
            GatewayError::UpstreamTimeout(_) => Some("upstream_timeout".into()),
            GatewayError::UpstreamConnection(_) => Some("upstream_unreachable".into()),
            GatewayError::ModelRestricted(_) => Some("model_restricted".into()),
            GatewayError::AdminRequired => Some("admin_key_required".into()),
            GatewayError::UserDisabled { .. } => Some("user_temporarily_disabled".into()),
            _ => None,
        }
    }

    /// The error object OpenAI clients expect: `{"error": {message, type, code, param}}`,
    /// plus the error id. The message stays one plain line (UIs show it as text) and ends
    /// with the id, so a person can quote it; the Markdown card is for in-stream errors.
    pub fn openai_error(&self, error_id: &str) -> Value {
        json!({"error": {
            "message": format!("{self} (error id {error_id})"),
            "type": self.error_type(),
            "code": self.code(),
            "param": null,
            "error_id": error_id,
        }})
    }

    pub fn openai_error_body(&self, error_id: &str) -> String {
        self.openai_error(error_id).to_string()
    }

    /// Seconds a client should wait before retrying, when OpenRouter said.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            GatewayError::Upstream { retry_after, .. } => *retry_after,
            GatewayError::UserDisabled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Reads an OpenRouter error response. The status line is authoritative; the body may
    /// be either of OpenRouter's two envelopes, or HTML/plain text from a proxy.
    pub fn from_upstream_http(status: u16, body: &[u8], retry_after_header: Option<&str>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| fallback_message(status, body));
        let code = error.and_then(|e| e.get("code")).and_then(|c| match c {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        // Provider detail sits in error.metadata.raw (generic envelope) or in a top-level
        // metadata.raw (the Responses-skin envelope); raw may itself be JSON text.
        let metadata = error
            .and_then(|e| e.get("metadata"))
            .filter(|m| !m.is_null())
            .or_else(|| parsed.as_ref().and_then(|v| v.get("metadata")));
        let provider_raw = metadata.and_then(|m| m.get("raw")).and_then(raw_text);
        let retry_after = retry_after_header
            .and_then(|h| h.trim().parse::<f64>().ok())
            .or_else(|| {
                metadata
                    .and_then(|m| m.get("retry_after_seconds"))
                    .and_then(Value::as_f64)
            })
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.ceil() as u64);
        GatewayError::Upstream {
            status,
            code,
            message,
            provider_raw,
            retry_after,
            detail: Some(Box::new(ErrorDetail::from_http_body(body))),
        }
    }
}

/// The provider's raw message, shortened: it can be a whole upstream body.
fn raw_text(raw: &Value) -> Option<String> {
    let text = match raw {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner) => inner
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| s.clone()),
            Err(_) => s.clone(),
        },
        Value::Null => return None,
        other => other
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| other.to_string()),
    };
    Some(cap(text.trim(), 500))
}

fn fallback_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        cap(text, 300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<Value> {
        let fixture: Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/errors_http.json"
        )))
        .expect("fixture is JSON");
        fixture["cases"].as_array().expect("cases").clone()
    }

    #[test]
    fn every_recorded_openrouter_error_keeps_its_status_and_a_readable_message() {
        let cases = cases();
        assert!(cases.len() >= 18);
        for case in cases {
            let status = case["status"].as_u64().expect("status") as u16;
            let body = match &case["body"] {
                Value::String(text) => text.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            let retry_after = case["headers"].as_object().and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| v.as_str())
            });
            let error = GatewayError::from_upstream_http(status, &body, retry_after);
            let client_status = error.http_status();
            if status < 500 {
                assert_eq!(client_status, status, "{case}");
            } else {
                assert_eq!(client_status, 502, "{case}");
            }
            let GatewayError::Upstream { message, .. } = &error else {
                panic!("upstream error expected")
            };
            assert!(!message.is_empty(), "{case}");
            let body: Value = serde_json::from_str(&error.openai_error_body("e1")).expect("JSON");
            assert_eq!(body["error"]["error_id"], "e1");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&status.to_string()))
            );
            if retry_after.is_some() {
                assert!(
                    matches!(
                        error,
                        GatewayError::Upstream {
                            retry_after: Some(_),
                            ..
                        }
                    ),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn both_envelopes_and_non_json_bodies_are_understood() {
        let generic = br#"{"error":{"code":429,"message":"Provider returned error","metadata":{"provider_name":"Venice","raw":"{\"error\":{\"message\":\"slow down\"}}","retry_after_seconds":16.2}}}"#;
        let error = GatewayError::from_upstream_http(429, generic, None);
        let GatewayError::Upstream {
            status,
            code,
            message,
            provider_raw,
            retry_after,
            detail,
        } = error
        else {
            panic!("upstream")
        };
        assert_eq!(
            (status, code, message, provider_raw, retry_after),
            (
                429,
                Some("429".into()),
                "Provider returned error".into(),
                Some("slow down".into()),
                Some(17)
            )
        );
        assert_eq!(
            detail.and_then(|d| d.provider).as_deref(),
            Some("Venice"),
            "the details are kept for the card"
        );
        let skin = br#"{"error":{"code":"invalid_prompt","message":"Invalid Responses API request"},"metadata":{"raw":"[{\"code\":\"invalid_union\"}]"}}"#;
        let GatewayError::Upstream {
            code, provider_raw, ..
        } = GatewayError::from_upstream_http(400, skin, None)
        else {
            panic!("upstream")
        };
        assert_eq!(code.as_deref(), Some("invalid_prompt"));
        assert_eq!(
            provider_raw.as_deref(),
            Some(r#"[{"code":"invalid_union"}]"#)
        );
        let html = GatewayError::from_upstream_http(502, b"<html>Bad gateway</html>", Some("3"));
        assert_eq!(html.http_status(), 502);
        assert!(html.to_string().contains("<html>Bad gateway</html>"));
        let empty = GatewayError::from_upstream_http(503, b"", None);
        assert!(empty.to_string().contains("empty body"));
    }

    #[test]
    fn statuses_and_types_follow_openai_conventions() {
        assert_eq!(GatewayError::MissingApiKey.http_status(), 401);
        assert!(
            GatewayError::MissingApiKey
                .to_string()
                .contains("OPENROUTER_API_KEY")
        );
        assert_eq!(
            GatewayError::InvalidRequest("x".into()).openai_error("e")["error"]["type"],
            "invalid_request_error"
        );
        assert_eq!(GatewayError::UpstreamTimeout("t".into()).http_status(), 504);
        assert_eq!(GatewayError::PayloadTooLarge(10).http_status(), 413);
        let credits = GatewayError::from_upstream_http(
            402,
            br#"{"error":{"code":402,"message":"more credits"}}"#,
            None,
        );
        assert_eq!(
            credits.openai_error("e")["error"]["type"],
            "insufficient_quota"
        );
    }
}
