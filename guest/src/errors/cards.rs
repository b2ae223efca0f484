//! Error cards: the Markdown a person sees when something fails, with an error id they
//! can quote, the time, the model, what went wrong and what to do next. One default
//! template per class of failure (`class`; the original pipe's, in `defaults`), rendered
//! with `template::render` from the variables of `vars`; the operator may replace any of
//! them and give support contacts every card can show.

use super::GatewayError;
pub use super::class::ErrorClass;
use super::class::stream_failure_class;
use super::defaults;
use super::detail::ErrorDetail;
use super::template::{self, Vars, render};
pub use super::vars::{CardContext, ModelFacts, StreamFailure, SupportContact};
use super::vars::{KNOWN, error_vars, stream_vars};
use std::collections::BTreeMap;

/// `wasi:config` keys of the support contacts (`ORPIPE_SUPPORT_EMAIL`, `ORPIPE_SUPPORT_URL`).
pub const SUPPORT_EMAIL_KEY: &str = "support_email";
pub const SUPPORT_URL_KEY: &str = "support_url";

/// Longest override accepted; a card is a few lines, anything longer is a mistake.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// Longest support contact kept; a contact is one short line.
const MAX_SUPPORT_CHARS: usize = 300;

pub(crate) fn default_body(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::InvalidRequest | ErrorClass::Refused => defaults::OPENROUTER,
        ErrorClass::Authentication => defaults::AUTHENTICATION,
        ErrorClass::Credits => defaults::CREDITS,
        ErrorClass::PayloadTooLarge => defaults::PAYLOAD_TOO_LARGE,
        ErrorClass::ServerTimeout => defaults::SERVER_TIMEOUT,
        ErrorClass::Timeout => defaults::NETWORK_TIMEOUT,
        ErrorClass::RateLimit => defaults::RATE_LIMIT,
        ErrorClass::UpstreamServer => defaults::SERVICE_ERROR,
        ErrorClass::Connection => defaults::CONNECTION_ERROR,
        ErrorClass::Interrupted => defaults::STREAM_INTERRUPTED,
        ErrorClass::Internal => defaults::INTERNAL_ERROR,
        ErrorClass::ModelRestricted => defaults::MODEL_RESTRICTED,
        ErrorClass::Disabled => defaults::DISABLED,
    }
}

/// The card templates in use (the defaults, with the operator's overrides) and the
/// support contacts every card may show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardTemplates {
    overrides: BTreeMap<ErrorClass, String>,
    /// Overrides that were refused, with why; the defaults are used for them.
    rejected: Vec<(ErrorClass, String)>,
    /// Overrides that use names no card knows (they render empty), for the log.
    unknown: Vec<(ErrorClass, Vec<String>)>,
    support: SupportContact,
}

impl CardTemplates {
    /// Reads `template_<class>` for every class, and the support contacts. A broken
    /// override is set aside (see [`CardTemplates::rejected`]), never an error: a typo
    /// in a card must not stop orpipe.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut templates = Self::default();
        for class in ErrorClass::ALL {
            if let Some(text) = lookup(&class.config_key()).filter(|t| !t.trim().is_empty()) {
                templates.set(class, &text);
            }
        }
        let contact = |key: &str| {
            lookup(key)
                .map(|value| {
                    super::pretty::cap(&super::pretty::one_line(&value), MAX_SUPPORT_CHARS)
                })
                .unwrap_or_default()
        };
        templates.support = SupportContact {
            email: contact(SUPPORT_EMAIL_KEY),
            url: contact(SUPPORT_URL_KEY),
        };
        templates
    }

    /// Overrides one class's template. Environment variables cannot easily hold line
    /// breaks, so the two characters `\n` stand for one.
    pub fn set(&mut self, class: ErrorClass, text: &str) {
        let text = text.replace("\\n", "\n");
        let verdict = if text.len() > MAX_TEMPLATE_BYTES {
            Err(format!("longer than {MAX_TEMPLATE_BYTES} bytes"))
        } else {
            template::check(&text)
        };
        self.unknown.retain(|(c, _)| *c != class);
        match verdict {
            Ok(()) => {
                let unknown: Vec<String> = template::placeholder_names(&text)
                    .into_iter()
                    .filter(|name| !KNOWN.contains(name))
                    .map(str::to_owned)
                    .collect();
                if !unknown.is_empty() {
                    self.unknown.push((class, unknown));
                }
                self.overrides.insert(class, text);
            }
            Err(reason) => {
                self.overrides.remove(&class);
                self.rejected.push((class, reason));
            }
        }
    }

    /// Overrides that were refused and why, for the operator's log.
    pub fn rejected(&self) -> &[(ErrorClass, String)] {
        &self.rejected
    }

    /// Overrides that name variables no card has, and which: those render empty.
    pub fn unknown_variables(&self) -> &[(ErrorClass, Vec<String>)] {
        &self.unknown
    }

    pub fn support(&self) -> &SupportContact {
        &self.support
    }

    /// Renders `class`'s card. An override that renders to nothing for this failure
    /// falls back to the default, so a card always says something.
    pub fn render(&self, class: ErrorClass, vars: &Vars<'_>) -> String {
        if let Some(custom) = self.overrides.get(&class) {
            let card = render(custom, vars);
            if !card.is_empty() {
                return card;
            }
        }
        render(default_body(class), vars)
    }
}

impl GatewayError {
    /// The Markdown card for this error.
    pub fn card(&self, ctx: &CardContext<'_>, templates: &CardTemplates) -> String {
        templates.render(self.class(), &error_vars(self, ctx, templates.support()))
    }
}

/// The card for a failure once an answer is streaming, and its class (see
/// `stream_failure_class`; the event's `error_type` counts): it goes below whatever text
/// already arrived.
pub fn stream_failure_card(
    failure: &StreamFailure<'_>,
    ctx: &CardContext<'_>,
    templates: &CardTemplates,
) -> (ErrorClass, String) {
    let detail = failure.event.map(ErrorDetail::from_stream_event);
    let error_type = detail
        .as_ref()
        .and_then(|d| d.stream.as_ref())
        .and_then(|s| s.error_type.as_deref());
    let class = stream_failure_class(failure.code, error_type);
    let vars = stream_vars(failure, detail, class, ctx, templates.support());
    (class, templates.render(class, &vars))
}

/// A short error id: 16 lowercase hex digits, as the original pipe's.
pub fn error_id(random: u64) -> String {
    format!("{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::detail::C17_BODY;
    use crate::errors::restriction::ModelRestriction;

    macro_rules! expected {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/cards/",
                $name
            ))
        };
    }

    fn ctx() -> CardContext<'static> {
        CardContext {
            error_id: "0123456789abcdef",
            timestamp: "2026-11-25T05:00:00Z",
            model: "openai.gpt-4o",
            facts: None,
        }
    }

    fn with_support() -> CardTemplates {
        CardTemplates::from_lookup(|key| match key {
            SUPPORT_EMAIL_KEY => Some(" help@example.org ".into()),
            SUPPORT_URL_KEY => Some("https://example.org/help".into()),
            _ => None,
        })
    }

    fn stream_card(
        code: &str,
        message: &str,
        event: Option<&str>,
        templates: &CardTemplates,
    ) -> String {
        stream_failure_card(
            &StreamFailure {
                code,
                message,
                event,
            },
            &ctx(),
            templates,
        )
        .1
    }

    #[test]
    fn c17_a_provider_error_renders_exactly_as_the_original() {
        let error = GatewayError::from_upstream_http(400, C17_BODY.as_bytes(), None);
        let bare = CardContext {
            error_id: "",
            timestamp: "",
            model: "",
            facts: None,
        };
        assert_eq!(
            error.card(&bare, &CardTemplates::default()),
            expected!("c17.md")
        );
        // With an error id, time, the requested model and support contacts (rendered
        // by the original's own renderer from orpipe's template).
        let full = CardContext {
            model: "anthropic.claude-opus-4",
            ..ctx()
        };
        assert_eq!(
            error.card(&full, &with_support()),
            expected!("c17_support.md")
        );
    }

    #[test]
    fn c18_a_restricted_model_renders_exactly_as_the_original() {
        let restricted = GatewayError::ModelRestricted(ModelRestriction {
            requested: "openai.gpt-4o".into(),
            openrouter_id: "openai.gpt-4o".into(),
            reasons: vec!["MODEL_ID".into(), "FREE_MODEL_FILTER=only".into()],
            allow: vec!["anthropic/claude-sonnet-4.5".into()],
            free_only: true,
            tools_only: false,
        });
        let bare = CardContext {
            error_id: "",
            timestamp: "",
            model: "openai.gpt-4o",
            facts: None,
        };
        assert_eq!(
            restricted.card(&bare, &CardTemplates::default()),
            "### 🚫 Model restricted\n\nThis pipe rejected the requested model due to configuration restrictions.\n\n- **Requested model**: `openai.gpt-4o`\n- **Normalized model id**: `openai.gpt-4o`\n- **Restricted by**: MODEL_ID, FREE_MODEL_FILTER=only\n- **MODEL_ID**: `anthropic/claude-sonnet-4.5`\n- **FREE_MODEL_FILTER**: `only`\n\nChoose an allowed model or ask your admin to update the pipe filters."
        );
        let card = restricted.card(&ctx(), &CardTemplates::default());
        assert!(
            card.contains("- **Error ID**: `0123456789abcdef`\n- **Time**: 2026-11-25T05:00:00Z\n"),
            "{card}"
        );
    }

    #[test]
    fn moderation_and_rate_limit_cards_match_the_original() {
        let moderated = GatewayError::from_upstream_http(
            403,
            expected!("moderation_body.json").as_bytes(),
            None,
        );
        let bare_model = CardContext { model: "", ..ctx() };
        assert_eq!(
            moderated.card(&bare_model, &CardTemplates::default()),
            expected!("moderation.md")
        );
        let limited = GatewayError::from_upstream_http(
            429,
            expected!("rate_limit_body.json").as_bytes(),
            Some("17"),
        );
        assert_eq!(
            limited.card(&ctx(), &with_support()),
            expected!("rate_limit.md")
        );
    }

    #[test]
    fn every_class_has_its_original_heading_the_id_and_the_time() {
        let cases = [
            (GatewayError::InvalidRequest("bad part".into()), "### 🚫 orpipe could not process your request."),
            (GatewayError::MissingApiKey, "### 🔐 Authentication Failed"),
            (GatewayError::from_upstream_http(402, br#"{"error":{"message":"more credits","metadata":{"required_cost":0.5,"account_balance":"0.01"}}}"#, None), "### 💳 Insufficient Credits"),
            (GatewayError::from_upstream_http(403, br#"{"error":{"message":"flagged","metadata":{"provider_name":"OpenAI"}}}"#, None), "### 🚫 OpenAI: openai.gpt-4o could not process your request."),
            (GatewayError::from_upstream_http(413, br#"{"error":{"message":"too big"}}"#, None), "### 📦 Request Too Large"),
            (GatewayError::PayloadTooLarge(64), "### 📦 Request Too Large"),
            (GatewayError::from_upstream_http(408, br#"{"error":{"message":"slow"}}"#, None), "### 🕒 OpenRouter Timed Out"),
            (GatewayError::UpstreamTimeout("no answer".into()), "### ⏱️ Request Timeout"),
            (GatewayError::from_upstream_http(429, br#"{"error":{"message":"slow down"}}"#, Some("17")), "### ⏸️ Rate Limit Exceeded"),
            (GatewayError::from_upstream_http(503, b"", None), "### 🔴 OpenRouter Service Error"),
            (GatewayError::UpstreamConnection("refused".into()), "### 🔌 Connection Failed"),
            (GatewayError::Internal("bug".into()), "### ⚠️ Unexpected Error"),
            (GatewayError::ModelRestricted(ModelRestriction::default()), "### 🚫 Model restricted"),
            (GatewayError::UserDisabled { retry_after: 42, failures: 5, window_secs: 60 }, "### ⛔ Temporarily disabled"),
        ];
        let mut classes = std::collections::BTreeSet::new();
        for (error, heading) in &cases {
            let card = error.card(&ctx(), &CardTemplates::default());
            assert_eq!(card.lines().next(), Some(*heading), "{card}");
            assert!(
                card.contains("`0123456789abcdef`") && card.contains("2026-11-25T05:00:00Z"),
                "{card}"
            );
            assert!(
                !card.contains('{') || card.contains("```"),
                "no unfilled placeholder: {card}"
            );
            assert!(!card.contains("Support"), "no contacts configured: {card}");
            classes.insert(error.class());
        }
        assert_eq!(
            classes.len() + 1,
            ErrorClass::ALL.len(),
            "all but INTERRUPTED (stream only)"
        );
        let card = |i: usize| cases[i].0.card(&ctx(), &CardTemplates::default());
        assert!(
            card(2).contains("**Estimated cost:** $0.5\n**Current balance:** $0.01"),
            "{}",
            card(2)
        );
        assert!(
            card(9).contains("**Status:** 503 Service Unavailable"),
            "{}",
            card(9)
        );
        assert!(card(8).contains("**Retry after:** 17s"), "{}", card(8));
        assert!(card(11).contains("**Error type:** `bug`"), "{}", card(11));
        assert!(
            card(13).contains("**Failed requests:** 5 within 60s\n**Retry after:** 42s"),
            "{}",
            card(13)
        );
        assert!(
            card(5).contains("**Details:** the request body is larger than 64 bytes"),
            "{}",
            card(5)
        );
    }

    #[test]
    fn support_contacts_are_on_every_card_when_set() {
        let templates = with_support();
        assert_eq!(templates.support().email, "help@example.org");
        for class in ErrorClass::ALL {
            let vars = crate::errors::vars::error_vars(
                &GatewayError::Internal("x".into()),
                &ctx(),
                templates.support(),
            );
            let card = templates.render(class, &vars);
            assert!(
                card.contains("help@example.org") && card.contains("https://example.org/help"),
                "{class:?}: {card}"
            );
        }
        let long = CardTemplates::from_lookup(|key| {
            (key == SUPPORT_URL_KEY).then(|| format!("a\nb {}", "u".repeat(1_000)))
        });
        assert!(
            long.support().url.starts_with("a b u")
                && long.support().url.chars().count() == MAX_SUPPORT_CHARS + 1
        );
    }

    #[test]
    fn a_stream_failure_gets_its_class_card_with_the_streaming_fields() {
        let limited = stream_card(
            "rate_limit_exceeded",
            "Rate limit exceeded. Please try again later.",
            Some(
                r#"{"type":"error","code":"rate_limit_exceeded","message":"Rate limit exceeded. Please try again later.","param":null,"sequence_number":2}"#,
            ),
            &CardTemplates::default(),
        );
        assert!(
            limited.starts_with("### ⏸️ Rate Limit Exceeded\n"),
            "{limited}"
        );
        assert!(
            limited.contains("**Status:** rate_limit_exceeded"),
            "{limited}"
        );

        let failed = r#"{"type":"response.failed","response":{"id":"gen-1756999000-Gd3Hs7Kp1Wx9Qm5Lz2Vb","created_at":1756999000,"model":"anthropic/claude-sonnet-4.5","status":"failed","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"error_type":"provider_unavailable"},"sequence_number":10}"#;
        let server = stream_card(
            "server_error",
            "Provider disconnected unexpectedly",
            Some(failed),
            &CardTemplates::default(),
        );
        assert!(
            server.starts_with("### 🔴 OpenRouter Service Error\n"),
            "{server}"
        );
        assert!(
            server.contains("**Status:** 500 Provider disconnected unexpectedly"),
            "{server}"
        );
        assert!(
            server.contains("**Request ID:** `gen-1756999000-Gd3Hs7Kp1Wx9Qm5Lz2Vb`"),
            "the response id stands in for the provider's: {server}"
        );
        assert!(!limited.contains("Request ID"), "none given: {limited}");

        // The original's OpenRouter card with every streaming field, for an operator's
        // template that shows them.
        let mut templates = CardTemplates::default();
        templates.set(
            ErrorClass::UpstreamServer,
            "{status_code}|{request_id}|{error_chunk_id}|{error_chunk_created}|{streaming_model}|{upstream_type}|{is_streaming_error}\n{raw_body}",
        );
        let fields = stream_card("server_error", "gone", Some(failed), &templates);
        assert!(
            fields.starts_with("500|gen-1756999000-Gd3Hs7Kp1Wx9Qm5Lz2Vb|gen-1756999000-Gd3Hs7Kp1Wx9Qm5Lz2Vb|2025-09-04T15:16:40Z|anthropic/claude-sonnet-4.5|provider_unavailable|true\n{\n  \"type\": \"response.failed\","),
            "{fields}"
        );
    }

    #[test]
    fn an_unknown_in_stream_error_gets_the_openrouter_card_with_the_providers_request_id() {
        let raw = r#"{\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":\"req_p1\"}"#;
        let event = format!(
            r#"{{"type":"response.failed","response":{{"id":"gen-9","model":"anthropic/claude-sonnet-4.5","status":"failed","error":{{"code":"provider_error_x","message":"Provider returned error","metadata":{{"provider_name":"Anthropic","raw":"{raw}"}}}}}}}}"#
        );
        let card = stream_card(
            "provider_error_x",
            "Provider returned error",
            Some(&event),
            &CardTemplates::default(),
        );
        assert!(
            card.starts_with(
                "### 🚫 Anthropic: anthropic/claude-sonnet-4.5 could not process your request.\n"
            ),
            "{card}"
        );
        for line in [
            "### Error: `Overloaded`",
            "- **Provider message**: `Overloaded`",
            "- **Provider error**: `overloaded_error`",
            "- **Request ID**: `req_p1`",
            "- **Requested model**: `openai.gpt-4o`",
            "- **Streaming model**: `anthropic/claude-sonnet-4.5`",
            "- **Chunk ID**: `gen-9`",
            "Request reference: `req_p1`",
        ] {
            assert!(card.contains(line), "{line} in {card}");
        }
    }

    #[test]
    fn orpipes_own_stream_failures_get_the_interrupted_and_timeout_cards() {
        let interrupted = stream_card(
            "stream_interrupted",
            "the connection dropped",
            None,
            &CardTemplates::default(),
        );
        assert_eq!(
            interrupted,
            "---\n### ⚠️ Response interrupted\n\nThe stream ended unexpectedly before the model finished responding.\n\n**Model:** `openai.gpt-4o`\n**Error ID:** `0123456789abcdef`\n**Time:** 2026-11-25T05:00:00Z\n\nRetry the message — this is usually a transient issue."
        );
        let deadline = stream_card(
            "deadline_exceeded",
            "too slow",
            None,
            &CardTemplates::default(),
        );
        assert!(
            deadline.starts_with("### ⏱️ Request Timeout\n"),
            "{deadline}"
        );
    }

    #[test]
    fn the_models_limits_show_when_the_prompt_was_too_long() {
        let facts = ModelFacts {
            openrouter_id: "anthropic/claude-3".into(),
            name: Some("Anthropic: Claude 3".into()),
            context_length: Some(400_000),
            max_output_tokens: Some(128_000),
        };
        let ctx = CardContext {
            facts: Some(&facts),
            ..ctx()
        };
        let body = br#"{"error":{"code":400,"message":"This endpoint's maximum context length is 400000 tokens. However, you requested about 564659 tokens. Please reduce the length or use the \"middle-out\" transform.","metadata":{"provider_name":"Anthropic"}}}"#;
        let card =
            GatewayError::from_upstream_http(400, body, None).card(&ctx, &CardTemplates::default());
        assert!(
            card.starts_with("### 🚫 Anthropic: Claude 3 could not process your request."),
            "the provider is not named twice: {card}"
        );
        assert!(card.contains("\n**Model limits:**\nContext window: 400,000 tokens\nMax output tokens: 128,000 tokens\nAdjust your prompt"), "{card}");
        assert!(
            card.contains("- **API model id**: `anthropic/claude-3`"),
            "{card}"
        );
        let other = GatewayError::from_upstream_http(400, br#"{"error":{"message":"bad"}}"#, None)
            .card(&ctx, &CardTemplates::default());
        assert!(
            !other.contains("Model limits"),
            "only for a prompt too long: {other}"
        );
        let mut templates = CardTemplates::default();
        templates.set(ErrorClass::InvalidRequest, "{diagnostics}");
        assert_eq!(
            GatewayError::InvalidRequest("x".into()).card(&ctx, &templates),
            "- **Context window**: 400,000 tokens\n- **Max output tokens**: 128,000 tokens"
        );
    }

    #[test]
    fn odd_and_huge_bodies_make_a_bounded_card_that_stays_markdown() {
        let html = format!("<html>{}</html>", "x".repeat(200_000));
        let card = GatewayError::from_upstream_http(400, html.as_bytes(), None)
            .card(&ctx(), &CardTemplates::default());
        assert!(card.len() < 6_000, "{}", card.len());
        assert!(
            card.contains("### Error: `OpenRouter request failed (400 Bad Request)`"),
            "{card}"
        );
        let fence = br#"{"error":{"message":"a ```b``` `c`\nd","metadata":{"raw":"```"}}}"#;
        let card = GatewayError::from_upstream_http(400, fence, None)
            .card(&ctx(), &CardTemplates::default());
        assert!(
            card.contains("### Error: `a \\`\\`\\`b\\`\\`\\` \\`c\\` d`"),
            "{card}"
        );
        assert_eq!(
            card.matches("```").count() % 2,
            0,
            "fences stay paired: {card}"
        );
        for body in [
            &b"\xff\xfe"[..],
            b"null",
            b"{\"error\":[]}",
            b"{\"error\":{\"metadata\":{\"reasons\":[[\"x\"]]}}}",
        ] {
            let card = GatewayError::from_upstream_http(400, body, None)
                .card(&ctx(), &CardTemplates::default());
            assert!(
                card.starts_with("### 🚫 openai.gpt-4o could not process your request."),
                "{card}"
            );
        }
    }

    #[test]
    fn every_class_has_a_config_key_and_a_default() {
        let keys: std::collections::HashSet<String> =
            ErrorClass::ALL.iter().map(|c| c.config_key()).collect();
        assert_eq!(keys.len(), ErrorClass::ALL.len());
        assert!(keys.contains("template_model_restricted"));
        for class in ErrorClass::ALL {
            assert!(template::check(default_body(class)).is_ok(), "{class:?}");
            assert!(
                template::placeholder_names(default_body(class))
                    .iter()
                    .all(|n| KNOWN.contains(n)),
                "{class:?} uses only known names"
            );
        }
        assert_eq!(
            default_body(ErrorClass::Refused),
            default_body(ErrorClass::InvalidRequest),
            "403 is the OpenRouter card, as in the original"
        );
    }

    #[test]
    fn the_host_passes_every_class_template_and_the_contacts_through() {
        crate::settings::assert_host_passes(
            ErrorClass::ALL
                .map(|class| {
                    (
                        format!("ORPIPE_TEMPLATE_{}", class.name().to_ascii_uppercase()),
                        class.config_key(),
                    )
                })
                .into_iter()
                .chain([
                    (
                        "ORPIPE_SUPPORT_EMAIL".to_owned(),
                        SUPPORT_EMAIL_KEY.to_owned(),
                    ),
                    ("ORPIPE_SUPPORT_URL".to_owned(), SUPPORT_URL_KEY.to_owned()),
                ]),
        );
    }

    fn rate_limited() -> GatewayError {
        GatewayError::from_upstream_http(429, br#"{"error":{"message":"slow down"}}"#, Some("9"))
    }

    #[test]
    fn an_override_replaces_the_default_and_carries_no_forced_footer() {
        let lookup = |key: &str| {
            (key == "template_rate_limit").then(|| {
                "## Busy ({status})\\n{message}\\n{{#if retry_after_seconds}}Wait {retry_after_seconds}s{{/if}}\\nBlocked by {provider_raw}".to_owned()
            })
        };
        let templates = CardTemplates::from_lookup(lookup);
        assert!(templates.rejected().is_empty() && templates.unknown_variables().is_empty());
        assert_eq!(
            rate_limited().card(&ctx(), &templates),
            "## Busy (429)\nOpenRouter is rate limiting this key (429): slow down\nWait 9s"
        );
        let other = GatewayError::MissingApiKey.card(&ctx(), &templates);
        assert!(other.starts_with("### 🔐 Authentication Failed"), "{other}");
        let mut own_footer = CardTemplates::default();
        own_footer.set(
            ErrorClass::Interrupted,
            "Broken off ({error_id}) at {timestamp}",
        );
        assert_eq!(
            stream_card("stream_interrupted", "gone", None, &own_footer),
            "Broken off (0123456789abcdef) at 2026-11-25T05:00:00Z"
        );
    }

    #[test]
    fn unknown_variables_render_empty_and_are_reported_once_per_template() {
        let mut templates = CardTemplates::default();
        templates.set(
            ErrorClass::RateLimit,
            "Busy {message}\nCode {no_such}\n{{#if nope}}x{{/if}}{no_such} end",
        );
        templates.set(ErrorClass::Internal, "Oops {error_id}");
        assert_eq!(
            templates.unknown_variables(),
            [(
                ErrorClass::RateLimit,
                vec!["no_such".to_owned(), "nope".to_owned()]
            )]
        );
        assert_eq!(
            rate_limited().card(&ctx(), &templates),
            "Busy OpenRouter is rate limiting this key (429): slow down"
        );
        templates.set(ErrorClass::RateLimit, "Fixed {message}");
        assert!(
            templates.unknown_variables().is_empty(),
            "a replaced template is forgotten"
        );
    }

    #[test]
    fn a_broken_override_falls_back_to_the_default_and_never_fails() {
        let default = rate_limited().card(&ctx(), &CardTemplates::default());
        for broken in [
            "{{#if message}} never closed",
            "text\n{{/if}}",
            "{{#if retry_after_seconds}}{{#if x}}{{/if}}",
        ] {
            let mut templates = CardTemplates::default();
            templates.set(ErrorClass::RateLimit, broken);
            assert_eq!(templates.rejected().len(), 1, "{broken}");
            assert_eq!(rate_limited().card(&ctx(), &templates), default, "{broken}");
        }
        let mut templates = CardTemplates::default();
        templates.set(ErrorClass::RateLimit, &"x".repeat(MAX_TEMPLATE_BYTES + 1));
        assert_eq!(templates.rejected().len(), 1);
        assert_eq!(rate_limited().card(&ctx(), &templates), default);
        // Accepted, but renders to nothing for this error: the default is shown instead.
        let mut vanishing = CardTemplates::default();
        vanishing.set(
            ErrorClass::RateLimit,
            "{{#if failures}}{failures}{{/if}}\n{unknown_name}",
        );
        assert!(vanishing.rejected().is_empty());
        assert_eq!(rate_limited().card(&ctx(), &vanishing), default);
    }

    #[test]
    fn ids_have_a_fixed_format() {
        assert_eq!(error_id(0xabc), "0000000000000abc");
    }
}
