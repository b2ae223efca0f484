//! Failure classes: which kind of failure a person is looking at, from a `GatewayError`
//! before the answer starts or from an error code once it is streaming. Each class has
//! its own card (`cards`) and its own template key.

use super::GatewayError;

/// Failure classes that read differently to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    InvalidRequest,
    Authentication,
    Credits,
    Refused,
    Timeout,
    RateLimit,
    UpstreamServer,
    Connection,
    Interrupted,
    Internal,
    /// The per-user request breaker is open (`crate::breaker`).
    Disabled,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 11] = [
        ErrorClass::InvalidRequest,
        ErrorClass::Authentication,
        ErrorClass::Credits,
        ErrorClass::Refused,
        ErrorClass::Timeout,
        ErrorClass::RateLimit,
        ErrorClass::UpstreamServer,
        ErrorClass::Connection,
        ErrorClass::Interrupted,
        ErrorClass::Internal,
        ErrorClass::Disabled,
    ];

    /// The class's name in config: key `template_<name>`, variable `ORPIPE_TEMPLATE_<NAME>`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::InvalidRequest => "invalid_request",
            ErrorClass::Authentication => "authentication",
            ErrorClass::Credits => "credits",
            ErrorClass::Refused => "refused",
            ErrorClass::Timeout => "timeout",
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::UpstreamServer => "upstream_server",
            ErrorClass::Connection => "connection",
            ErrorClass::Interrupted => "interrupted",
            ErrorClass::Internal => "internal",
            ErrorClass::Disabled => "disabled",
        }
    }

    /// The `wasi:config` key that overrides this class's template.
    pub fn config_key(self) -> String {
        format!("template_{}", self.name())
    }
}

impl GatewayError {
    pub fn class(&self) -> ErrorClass {
        match self {
            GatewayError::InvalidRequest(_)
            | GatewayError::PayloadTooLarge(_)
            | GatewayError::NotFound(_)
            | GatewayError::ModelRestricted(_) => ErrorClass::InvalidRequest,
            GatewayError::MethodNotAllowed | GatewayError::AdminRequired => {
                ErrorClass::InvalidRequest
            }
            GatewayError::MissingApiKey => ErrorClass::Authentication,
            // Any other status OpenRouter refused a request with is about the request.
            GatewayError::Upstream { status, .. } => {
                status_class(*status).unwrap_or(ErrorClass::InvalidRequest)
            }
            GatewayError::UpstreamTimeout(_) => ErrorClass::Timeout,
            GatewayError::UpstreamConnection(_) => ErrorClass::Connection,
            GatewayError::UpstreamProtocol(_) => ErrorClass::UpstreamServer,
            GatewayError::Internal(_) => ErrorClass::Internal,
            GatewayError::UserDisabled { .. } => ErrorClass::Disabled,
        }
    }
}

/// The class an HTTP status names by itself; `None` for one that names none.
fn status_class(status: u16) -> Option<ErrorClass> {
    Some(match status {
        400 | 404 | 413 | 422 => ErrorClass::InvalidRequest,
        401 => ErrorClass::Authentication,
        402 => ErrorClass::Credits,
        403 => ErrorClass::Refused,
        408 => ErrorClass::Timeout,
        429 => ErrorClass::RateLimit,
        500..=599 => ErrorClass::UpstreamServer,
        _ => return None,
    })
}

/// The class of a failure reported once an answer is streaming, from its code:
/// OpenRouter's string codes, an HTTP status as a number, or orpipe's own
/// (`upstream_timeout`, `deadline_exceeded`). A code that says nothing more specific
/// (`stream_interrupted`, `upstream_error`, anything unknown) is an interruption.
pub fn stream_failure_class(code: &str) -> ErrorClass {
    let code = code.to_ascii_lowercase();
    if let Ok(status) = code.parse::<u16>() {
        return status_class(status).unwrap_or(ErrorClass::Interrupted);
    }
    match code.as_str() {
        "rate_limit_exceeded" => ErrorClass::RateLimit,
        "server_error" | "provider_error" => ErrorClass::UpstreamServer,
        "upstream_timeout" | "deadline_exceeded" | "timeout" => ErrorClass::Timeout,
        "insufficient_credits" | "insufficient_quota" => ErrorClass::Credits,
        c if c.contains("policy") || c.contains("moderation") || c.contains("flagged") => {
            ErrorClass::Refused
        }
        c if c.starts_with("invalid_") || c == "context_length_exceeded" => {
            ErrorClass::InvalidRequest
        }
        _ => ErrorClass::Interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_failure_codes_map_to_their_class() {
        for (code, class) in [
            ("rate_limit_exceeded", ErrorClass::RateLimit),
            ("429", ErrorClass::RateLimit),
            ("server_error", ErrorClass::UpstreamServer),
            ("502", ErrorClass::UpstreamServer),
            ("upstream_timeout", ErrorClass::Timeout),
            ("deadline_exceeded", ErrorClass::Timeout),
            ("402", ErrorClass::Credits),
            ("image_content_policy_violation", ErrorClass::Refused),
            ("invalid_prompt", ErrorClass::InvalidRequest),
            ("stream_interrupted", ErrorClass::Interrupted),
            ("upstream_error", ErrorClass::Interrupted),
            ("something_new", ErrorClass::Interrupted),
        ] {
            assert_eq!(stream_failure_class(code), class, "{code}");
        }
    }

    #[test]
    fn an_upstream_status_names_its_class_and_any_other_refusal_is_about_the_request() {
        let upstream = |status| GatewayError::Upstream {
            status,
            code: None,
            message: "m".into(),
            provider_raw: None,
            retry_after: None,
        };
        for (status, class) in [
            (400, ErrorClass::InvalidRequest),
            (401, ErrorClass::Authentication),
            (402, ErrorClass::Credits),
            (403, ErrorClass::Refused),
            (408, ErrorClass::Timeout),
            (418, ErrorClass::InvalidRequest),
            (429, ErrorClass::RateLimit),
            (503, ErrorClass::UpstreamServer),
        ] {
            assert_eq!(upstream(status).class(), class, "{status}");
        }
        assert_eq!(stream_failure_class("418"), ErrorClass::Interrupted);
        assert_eq!(stream_failure_class("413"), ErrorClass::InvalidRequest);
    }
}
