//! Failure classes: which kind of failure a person is looking at, from a `GatewayError`
//! before the answer starts or from an error code once it is streaming. Each class has
//! its own card (`cards`) and its own template key.

use super::GatewayError;

/// Failure classes that read differently to a person, one default card each (the
/// original pipe's templates, FEATURES §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// OpenRouter or the provider refused the request (400 and other 4xx), or reported a
    /// failure mid-stream without a more specific code: the original's OpenRouter card.
    InvalidRequest,
    Authentication,
    Credits,
    /// 403: moderation, a guardrail, permissions (the OpenRouter card, with the reasons).
    Refused,
    /// 413: the request is larger than OpenRouter (or orpipe) accepts.
    PayloadTooLarge,
    /// 408: OpenRouter gave up waiting for the provider.
    ServerTimeout,
    /// orpipe's own deadlines: nothing came from OpenRouter in time.
    Timeout,
    RateLimit,
    UpstreamServer,
    Connection,
    Interrupted,
    Internal,
    /// The operator's model filters exclude the model.
    ModelRestricted,
    /// The per-user request breaker is open (`crate::breaker`).
    Disabled,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 14] = [
        ErrorClass::InvalidRequest,
        ErrorClass::Authentication,
        ErrorClass::Credits,
        ErrorClass::Refused,
        ErrorClass::PayloadTooLarge,
        ErrorClass::ServerTimeout,
        ErrorClass::Timeout,
        ErrorClass::RateLimit,
        ErrorClass::UpstreamServer,
        ErrorClass::Connection,
        ErrorClass::Interrupted,
        ErrorClass::Internal,
        ErrorClass::ModelRestricted,
        ErrorClass::Disabled,
    ];

    /// The class's name in config: key `template_<name>`, variable `ORPIPE_TEMPLATE_<NAME>`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::InvalidRequest => "invalid_request",
            ErrorClass::Authentication => "authentication",
            ErrorClass::Credits => "credits",
            ErrorClass::Refused => "refused",
            ErrorClass::PayloadTooLarge => "payload_too_large",
            ErrorClass::ServerTimeout => "server_timeout",
            ErrorClass::Timeout => "timeout",
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::UpstreamServer => "upstream_server",
            ErrorClass::Connection => "connection",
            ErrorClass::Interrupted => "interrupted",
            ErrorClass::Internal => "internal",
            ErrorClass::ModelRestricted => "model_restricted",
            ErrorClass::Disabled => "disabled",
        }
    }

    /// The `wasi:config` key that overrides this class's template.
    pub fn config_key(self) -> String {
        format!("template_{}", self.name())
    }

    /// The HTTP status the class stands for, as the original mapped statuses to its
    /// templates; an in-stream failure of the class reports it as `status_code`.
    pub fn status(self) -> Option<u16> {
        Some(match self {
            ErrorClass::InvalidRequest => 400,
            ErrorClass::Authentication => 401,
            ErrorClass::Credits => 402,
            ErrorClass::Refused => 403,
            ErrorClass::ServerTimeout => 408,
            ErrorClass::PayloadTooLarge => 413,
            ErrorClass::RateLimit => 429,
            ErrorClass::UpstreamServer => 500,
            ErrorClass::Timeout
            | ErrorClass::Connection
            | ErrorClass::Interrupted
            | ErrorClass::Internal
            | ErrorClass::ModelRestricted
            | ErrorClass::Disabled => return None,
        })
    }
}

impl GatewayError {
    pub fn class(&self) -> ErrorClass {
        match self {
            GatewayError::InvalidRequest(_) | GatewayError::NotFound(_) => {
                ErrorClass::InvalidRequest
            }
            GatewayError::PayloadTooLarge(_) => ErrorClass::PayloadTooLarge,
            GatewayError::ModelRestricted(_) => ErrorClass::ModelRestricted,
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
        400 | 404 | 422 => ErrorClass::InvalidRequest,
        401 => ErrorClass::Authentication,
        402 => ErrorClass::Credits,
        403 => ErrorClass::Refused,
        408 => ErrorClass::ServerTimeout,
        413 => ErrorClass::PayloadTooLarge,
        429 => ErrorClass::RateLimit,
        500..=599 => ErrorClass::UpstreamServer,
        _ => return None,
    })
}

/// The class of a failure reported once an answer is streaming. OpenRouter's typed
/// `error_type` (API.md §5.3) decides when it names a class; otherwise the code does:
/// OpenRouter's string codes, an HTTP status as a number, or orpipe's own
/// (`upstream_timeout`, `deadline_exceeded`: its deadlines; `stream_interrupted`: the
/// stream ended early). Any other failure OpenRouter reports gets the OpenRouter card
/// (`InvalidRequest`), as the original showed every in-stream error.
pub fn stream_failure_class(code: &str, error_type: Option<&str>) -> ErrorClass {
    if let Some(class) = error_type.and_then(error_type_class) {
        return class;
    }
    let code = code.to_ascii_lowercase();
    if let Ok(status) = code.parse::<u16>() {
        return status_class(status).unwrap_or(ErrorClass::InvalidRequest);
    }
    match code.as_str() {
        "stream_interrupted" => ErrorClass::Interrupted,
        "upstream_timeout" | "deadline_exceeded" | "timeout" => ErrorClass::Timeout,
        "rate_limit_exceeded" => ErrorClass::RateLimit,
        "server_error" | "provider_error" => ErrorClass::UpstreamServer,
        "insufficient_credits" | "insufficient_quota" | "payment_required" => ErrorClass::Credits,
        "invalid_api_key" | "authentication" => ErrorClass::Authentication,
        "payload_too_large" => ErrorClass::PayloadTooLarge,
        c if c.contains("policy") || c.contains("moderation") || c.contains("flagged") => {
            ErrorClass::Refused
        }
        _ => ErrorClass::InvalidRequest,
    }
}

/// The class OpenRouter's typed `error_type` names; `None` for `unmapped` and new ones.
fn error_type_class(error_type: &str) -> Option<ErrorClass> {
    Some(match error_type {
        "authentication" => ErrorClass::Authentication,
        "payment_required" => ErrorClass::Credits,
        "permission_denied" | "content_policy_violation" | "refusal" => ErrorClass::Refused,
        "rate_limit_exceeded" => ErrorClass::RateLimit,
        "payload_too_large" => ErrorClass::PayloadTooLarge,
        "timeout" => ErrorClass::ServerTimeout,
        "provider_overloaded" | "provider_unavailable" | "server" => ErrorClass::UpstreamServer,
        "context_length_exceeded"
        | "max_tokens_exceeded"
        | "token_limit_exceeded"
        | "string_too_long"
        | "invalid_request"
        | "invalid_prompt"
        | "not_found"
        | "precondition_failed"
        | "unprocessable"
        | "invalid_image"
        | "image_too_large"
        | "image_too_small"
        | "unsupported_image_format"
        | "image_not_found"
        | "image_download_failed" => ErrorClass::InvalidRequest,
        _ => return None,
    })
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
            ("408", ErrorClass::ServerTimeout),
            ("402", ErrorClass::Credits),
            ("413", ErrorClass::PayloadTooLarge),
            ("invalid_api_key", ErrorClass::Authentication),
            ("image_content_policy_violation", ErrorClass::Refused),
            ("invalid_prompt", ErrorClass::InvalidRequest),
            ("stream_interrupted", ErrorClass::Interrupted),
            // An error OpenRouter reported without a known code: the OpenRouter card.
            ("upstream_error", ErrorClass::InvalidRequest),
            ("something_new", ErrorClass::InvalidRequest),
            ("418", ErrorClass::InvalidRequest),
        ] {
            assert_eq!(stream_failure_class(code, None), class, "{code}");
        }
    }

    #[test]
    fn openrouters_error_type_is_more_precise_than_the_code() {
        for (error_type, class) in [
            ("provider_unavailable", ErrorClass::UpstreamServer),
            ("timeout", ErrorClass::ServerTimeout),
            ("payment_required", ErrorClass::Credits),
            ("authentication", ErrorClass::Authentication),
            ("context_length_exceeded", ErrorClass::InvalidRequest),
            ("content_policy_violation", ErrorClass::Refused),
        ] {
            assert_eq!(
                stream_failure_class("server_error", Some(error_type)),
                class,
                "{error_type}"
            );
        }
        assert_eq!(
            stream_failure_class("rate_limit_exceeded", Some("unmapped")),
            ErrorClass::RateLimit,
            "an unknown type leaves it to the code"
        );
    }

    #[test]
    fn an_upstream_status_names_its_class_and_any_other_refusal_is_about_the_request() {
        let upstream = |status| GatewayError::Upstream {
            status,
            code: None,
            message: "m".into(),
            provider_raw: None,
            retry_after: None,
            detail: None,
        };
        for (status, class) in [
            (400, ErrorClass::InvalidRequest),
            (401, ErrorClass::Authentication),
            (402, ErrorClass::Credits),
            (403, ErrorClass::Refused),
            (408, ErrorClass::ServerTimeout),
            (413, ErrorClass::PayloadTooLarge),
            (418, ErrorClass::InvalidRequest),
            (429, ErrorClass::RateLimit),
            (503, ErrorClass::UpstreamServer),
        ] {
            assert_eq!(upstream(status).class(), class, "{status}");
        }
        assert_eq!(
            GatewayError::PayloadTooLarge(1).class(),
            ErrorClass::PayloadTooLarge
        );
        assert_eq!(
            GatewayError::ModelRestricted(Default::default()).class(),
            ErrorClass::ModelRestricted
        );
        assert_eq!(
            GatewayError::UpstreamTimeout("t".into()).class(),
            ErrorClass::Timeout
        );
    }

    #[test]
    fn classes_of_an_http_status_report_it() {
        for class in ErrorClass::ALL {
            if let Some(status) = class.status() {
                assert_eq!(status_class(status), Some(class), "{class:?}");
            }
        }
    }
}
