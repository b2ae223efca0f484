//! Error cards: the Markdown a person sees when something fails, with an error id they
//! can quote, the time, the model and what to do next. One default template per class of
//! failure (the original pipe's), rendered with `template::render`.

use super::GatewayError;
use super::template::{Vars, render};

/// Failure classes that read differently to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// What every card shows besides the failure itself.
pub struct CardContext<'a> {
    pub error_id: &'a str,
    /// UTC, ISO 8601 (see [`iso8601`]).
    pub timestamp: &'a str,
    pub model: &'a str,
}

const FOOTER: &str = "\n**Error ID:** `{error_id}` · {timestamp}";

fn template(class: ErrorClass) -> String {
    let body = match class {
        ErrorClass::InvalidRequest => {
            "### 🚫 {model} could not process your request\n{message}\n{{#if provider_raw}}\n> Provider: {provider_raw}\n{{/if}}\nCheck the request (message contents, attachments, parameters) and try again."
        }
        ErrorClass::Authentication => {
            "### 🔐 Authentication failed\n{message}\nThe operator needs to set a valid OpenRouter key (`OPENROUTER_API_KEY`)."
        }
        ErrorClass::Credits => {
            "### 💳 Insufficient credits\n{message}\nAdd credits on openrouter.ai, or ask for a shorter answer (lower max tokens)."
        }
        ErrorClass::Refused => {
            "### 🛑 Request refused\n{message}\n{{#if provider_raw}}\n> {provider_raw}\n{{/if}}\nRephrase the request or pick another model."
        }
        ErrorClass::Timeout => {
            "### 🕒 Timed out\n{message}\nTry again; a smaller request or another model may answer faster."
        }
        ErrorClass::RateLimit => {
            "### ⏸️ Rate limit reached\n{message}\n{{#if retry_after_seconds}}\nTry again in {retry_after_seconds} s.\n{{/if}}"
        }
        ErrorClass::UpstreamServer => {
            "### 🔴 OpenRouter service error\n{message}\nThis is on OpenRouter's or the provider's side; try again shortly or pick another model."
        }
        ErrorClass::Connection => {
            "### 🔌 Connection failed\n{message}\nCheck that orpipe can reach OpenRouter, then try again."
        }
        ErrorClass::Interrupted => {
            "---\n### ⚠️ Response interrupted\n{message}\nThe text above is what arrived before the interruption; ask again to get a complete answer."
        }
        ErrorClass::Internal => {
            "### ⚠️ Unexpected error\n{message}\nPlease report it with the error id below."
        }
    };
    format!("{body}\n{FOOTER}")
}

impl GatewayError {
    pub fn class(&self) -> ErrorClass {
        match self {
            GatewayError::InvalidRequest(_)
            | GatewayError::PayloadTooLarge(_)
            | GatewayError::NotFound(_)
            | GatewayError::ModelRestricted(_) => ErrorClass::InvalidRequest,
            GatewayError::MethodNotAllowed => ErrorClass::InvalidRequest,
            GatewayError::MissingApiKey => ErrorClass::Authentication,
            GatewayError::Upstream { status, .. } => match status {
                401 => ErrorClass::Authentication,
                402 => ErrorClass::Credits,
                403 => ErrorClass::Refused,
                408 => ErrorClass::Timeout,
                429 => ErrorClass::RateLimit,
                500..=599 => ErrorClass::UpstreamServer,
                _ => ErrorClass::InvalidRequest,
            },
            GatewayError::UpstreamTimeout(_) => ErrorClass::Timeout,
            GatewayError::UpstreamConnection(_) => ErrorClass::Connection,
            GatewayError::UpstreamProtocol(_) => ErrorClass::UpstreamServer,
            GatewayError::Internal(_) => ErrorClass::Internal,
        }
    }

    /// The Markdown card for this error.
    pub fn card(&self, ctx: &CardContext<'_>) -> String {
        let mut vars = base_vars(ctx, &self.to_string());
        if let GatewayError::Upstream {
            provider_raw,
            retry_after,
            status,
            ..
        } = self
        {
            vars.insert("provider_raw", provider_raw.clone().unwrap_or_default());
            vars.insert(
                "retry_after_seconds",
                retry_after.map(|s| s.to_string()).unwrap_or_default(),
            );
            vars.insert("status", status.to_string());
        }
        render(&template(self.class()), &vars)
    }
}

/// The card for an answer that broke off mid-stream.
pub fn interrupted_card(message: &str, ctx: &CardContext<'_>) -> String {
    render(&template(ErrorClass::Interrupted), &base_vars(ctx, message))
}

fn base_vars<'a>(ctx: &CardContext<'_>, message: &str) -> Vars<'a> {
    let mut vars = Vars::new();
    vars.insert("error_id", ctx.error_id.to_owned());
    vars.insert("timestamp", ctx.timestamp.to_owned());
    vars.insert(
        "model",
        if ctx.model.is_empty() {
            "The model".to_owned()
        } else {
            ctx.model.to_owned()
        },
    );
    vars.insert("message", message.to_owned());
    vars
}

/// A short error id: 16 lowercase hex digits, as the original pipe's.
pub fn error_id(random: u64) -> String {
    format!("{random:016x}")
}

/// Unix seconds → `2026-01-01T00:00:00Z` (proleptic Gregorian, UTC).
pub fn iso8601(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CardContext<'static> {
        CardContext {
            error_id: "0123456789abcdef",
            timestamp: "2026-11-25T05:00:00Z",
            model: "openai.gpt-4o",
        }
    }

    #[test]
    fn every_class_renders_a_heading_the_id_and_the_time() {
        let errors = [
            GatewayError::InvalidRequest("bad part".into()),
            GatewayError::MissingApiKey,
            GatewayError::from_upstream_http(402, br#"{"error":{"message":"more credits"}}"#, None),
            GatewayError::from_upstream_http(
                403,
                br#"{"error":{"message":"flagged","metadata":{"raw":"harassment"}}}"#,
                None,
            ),
            GatewayError::UpstreamTimeout("no answer".into()),
            GatewayError::from_upstream_http(
                429,
                br#"{"error":{"message":"slow down"}}"#,
                Some("17"),
            ),
            GatewayError::from_upstream_http(503, b"", None),
            GatewayError::UpstreamConnection("refused".into()),
            GatewayError::Internal("bug".into()),
        ];
        let mut headings = std::collections::HashSet::new();
        for error in &errors {
            let card = error.card(&ctx());
            assert!(card.starts_with("### "), "{card}");
            assert!(
                card.contains("`0123456789abcdef`") && card.contains("2026-11-25T05:00:00Z"),
                "{card}"
            );
            assert!(!card.contains('{'), "no unfilled placeholder: {card}");
            headings.insert(card.lines().next().unwrap_or_default().to_owned());
        }
        assert_eq!(headings.len(), errors.len(), "each class reads differently");
        assert!(errors[5].card(&ctx()).contains("Try again in 17 s."));
        assert!(errors[3].card(&ctx()).contains("> harassment"));
        assert!(
            errors[0]
                .card(&ctx())
                .contains("openai.gpt-4o could not process")
        );
    }

    #[test]
    fn optional_lines_vanish_when_their_value_is_missing() {
        let card =
            GatewayError::from_upstream_http(429, br#"{"error":{"message":"slow down"}}"#, None)
                .card(&ctx());
        assert!(!card.contains("Try again in"), "{card}");
        let interrupted = interrupted_card("the connection dropped", &ctx());
        assert!(interrupted.starts_with("---\n### ⚠️ Response interrupted"));
    }

    #[test]
    fn ids_and_timestamps_have_fixed_formats() {
        assert_eq!(error_id(0xabc), "0000000000000abc");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_582_302), "2026-11-25T04:51:42Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
