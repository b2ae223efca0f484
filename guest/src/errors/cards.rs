//! Error cards: the Markdown a person sees when something fails, with an error id they
//! can quote, the time, the model and what to do next. One default template per class of
//! failure (`class`; the original pipe's), rendered with `template::render`.

use super::GatewayError;
pub use super::class::ErrorClass;
use super::class::stream_failure_class;
use super::template::{self, Vars, render};
use std::collections::BTreeMap;

/// What every card shows besides the failure itself.
pub struct CardContext<'a> {
    pub error_id: &'a str,
    /// UTC, ISO 8601 (see [`crate::date::iso8601`]).
    pub timestamp: &'a str,
    pub model: &'a str,
}

const FOOTER: &str = "**Error ID:** `{error_id}` · {timestamp}";

/// Longest override accepted; a card is a few lines, anything longer is a mistake.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

pub(crate) fn default_body(class: ErrorClass) -> &'static str {
    match class {
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
        ErrorClass::Disabled => {
            "### ⛔ Temporarily disabled\n{message}\n{{#if retry_after_seconds}}\nTry again in {retry_after_seconds} s.\n{{/if}}"
        }
    }
}

/// The card templates in use: the defaults, with the operator's overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardTemplates {
    overrides: BTreeMap<ErrorClass, String>,
    /// Overrides that were refused, with why; the defaults are used for them.
    rejected: Vec<(ErrorClass, String)>,
}

impl CardTemplates {
    /// Reads `template_<class>` for every class. A broken override is set aside (see
    /// [`CardTemplates::rejected`]), never an error: a typo in a card must not stop orpipe.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut templates = Self::default();
        for class in ErrorClass::ALL {
            if let Some(text) = lookup(&class.config_key()).filter(|t| !t.trim().is_empty()) {
                templates.set(class, &text);
            }
        }
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
        match verdict {
            Ok(()) => {
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

    /// Renders `class`'s card. An override that renders to nothing falls back to the
    /// default; one whose card lacks the error id gets the standard footer, so the id a
    /// person quotes is always on the card.
    pub fn render(&self, class: ErrorClass, vars: &Vars<'_>) -> String {
        if let Some(custom) = self.overrides.get(&class) {
            let body = render(custom, vars);
            if !body.is_empty() {
                // Checked on the result: the template's `{error_id}` may sit in a block
                // that was left out.
                let id = vars.get("error_id").map_or("", String::as_str);
                if body.contains(id) {
                    return body;
                }
                return format!("{body}\n\n{}", render(FOOTER, vars));
            }
        }
        render(&format!("{}\n\n{FOOTER}", default_body(class)), vars)
    }
}

impl GatewayError {
    /// The Markdown card for this error.
    pub fn card(&self, ctx: &CardContext<'_>, templates: &CardTemplates) -> String {
        let mut vars = base_vars(ctx, &self.to_string());
        if let Some(seconds) = self.retry_after() {
            vars.insert("retry_after_seconds", seconds.to_string());
        }
        match self {
            GatewayError::Upstream {
                provider_raw,
                status,
                ..
            } => {
                vars.insert("provider_raw", provider_raw.clone().unwrap_or_default());
                vars.insert("status", status.to_string());
            }
            GatewayError::UserDisabled {
                failures,
                window_secs,
                ..
            } => {
                vars.insert("failures", failures.to_string());
                vars.insert("window_seconds", window_secs.to_string());
            }
            _ => {}
        }
        templates.render(self.class(), &vars)
    }
}

/// The card for a failure once an answer is streaming: its class's card (see
/// `stream_failure_class`), below whatever text already arrived.
pub fn stream_failure_card(
    code: &str,
    message: &str,
    ctx: &CardContext<'_>,
    templates: &CardTemplates,
) -> String {
    templates.render(stream_failure_class(code), &base_vars(ctx, message))
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
    // Placeholders of other classes are known but empty, so a line an operator's template
    // gives them is dropped rather than shown as `{status}`.
    for optional in OPTIONAL_PLACEHOLDERS {
        vars.insert(optional, String::new());
    }
    vars
}

/// Placeholders only some failures fill.
pub const OPTIONAL_PLACEHOLDERS: [&str; 5] = [
    "status",
    "provider_raw",
    "retry_after_seconds",
    "failures",
    "window_seconds",
];

/// A short error id: 16 lowercase hex digits, as the original pipe's.
pub fn error_id(random: u64) -> String {
    format!("{random:016x}")
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
    fn a_stream_failure_gets_its_class_card() {
        let card = stream_failure_card(
            "rate_limit_exceeded",
            "slow down",
            &ctx(),
            &CardTemplates::default(),
        );
        assert!(
            card.starts_with("### ⏸️ Rate limit reached\nslow down"),
            "{card}"
        );
        assert!(card.contains("0123456789abcdef"));
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
            GatewayError::UserDisabled {
                retry_after: 42,
                failures: 5,
                window_secs: 60,
            },
        ];
        let mut headings = std::collections::HashSet::new();
        for error in &errors {
            let card = error.card(&ctx(), &CardTemplates::default());
            assert!(card.starts_with("### "), "{card}");
            assert!(
                card.contains("`0123456789abcdef`") && card.contains("2026-11-25T05:00:00Z"),
                "{card}"
            );
            assert!(!card.contains('{'), "no unfilled placeholder: {card}");
            headings.insert(card.lines().next().unwrap_or_default().to_owned());
        }
        assert_eq!(headings.len(), errors.len(), "each class reads differently");
        assert!(
            errors[5]
                .card(&ctx(), &CardTemplates::default())
                .contains("Try again in 17 s.")
        );
        assert!(
            errors[3]
                .card(&ctx(), &CardTemplates::default())
                .contains("> harassment")
        );
        assert!(
            errors[0]
                .card(&ctx(), &CardTemplates::default())
                .contains("openai.gpt-4o could not process")
        );
    }

    #[test]
    fn optional_lines_vanish_when_their_value_is_missing() {
        let card =
            GatewayError::from_upstream_http(429, br#"{"error":{"message":"slow down"}}"#, None)
                .card(&ctx(), &CardTemplates::default());
        assert!(!card.contains("Try again in"), "{card}");
        let interrupted = stream_failure_card(
            "stream_interrupted",
            "the connection dropped",
            &ctx(),
            &CardTemplates::default(),
        );
        assert!(interrupted.starts_with("---\n### ⚠️ Response interrupted"));
    }

    fn rate_limited() -> GatewayError {
        GatewayError::from_upstream_http(429, br#"{"error":{"message":"slow down"}}"#, Some("9"))
    }

    #[test]
    fn every_class_has_a_config_key_and_distinct_defaults() {
        let keys: std::collections::HashSet<String> =
            ErrorClass::ALL.iter().map(|c| c.config_key()).collect();
        assert_eq!(keys.len(), ErrorClass::ALL.len());
        assert!(keys.contains("template_rate_limit"));
        let bodies: std::collections::HashSet<&str> =
            ErrorClass::ALL.iter().map(|c| default_body(*c)).collect();
        assert_eq!(bodies.len(), ErrorClass::ALL.len());
    }

    #[test]
    fn the_host_passes_every_class_template_through() {
        crate::settings::assert_host_passes(ErrorClass::ALL.map(|class| {
            (
                format!("ORPIPE_TEMPLATE_{}", class.name().to_ascii_uppercase()),
                class.config_key(),
            )
        }));
    }

    #[test]
    fn an_override_replaces_the_default_and_keeps_the_error_id() {
        let lookup = |key: &str| {
            (key == "template_rate_limit").then(|| {
                "## Busy ({status})\\n{message}\\n{{#if retry_after_seconds}}Wait {retry_after_seconds}s{{/if}}\\nBlocked by {provider_raw}".to_owned()
            })
        };
        let templates = CardTemplates::from_lookup(lookup);
        assert!(templates.rejected().is_empty());
        let card = rate_limited().card(&ctx(), &templates);
        assert_eq!(
            card,
            "## Busy (429)\nOpenRouter is rate limiting this key (429): slow down\nWait 9s\n\n**Error ID:** `0123456789abcdef` · 2026-11-25T05:00:00Z"
        );
        let other = GatewayError::MissingApiKey.card(&ctx(), &templates);
        assert!(other.starts_with("### 🔐 Authentication failed"), "{other}");

        let mut own_footer = CardTemplates::default();
        own_footer.set(
            ErrorClass::Interrupted,
            "Broken off ({error_id}) at {timestamp}",
        );
        assert_eq!(
            stream_failure_card("stream_interrupted", "gone", &ctx(), &own_footer),
            "Broken off (0123456789abcdef) at 2026-11-25T05:00:00Z"
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
        let mut unknown = CardTemplates::default();
        unknown.set(
            ErrorClass::RateLimit,
            "{{#if provider_raw}}{provider_raw}{{/if}}\n{status_code}",
        );
        assert!(unknown.rejected().is_empty());
        assert!(
            rate_limited()
                .card(&ctx(), &unknown)
                .starts_with("{status_code}\n\n**Error ID:**"),
            "unknown names stay as written"
        );
        let mut vanishing = CardTemplates::default();
        vanishing.set(
            ErrorClass::RateLimit,
            "{{#if provider_raw}}{provider_raw}{{/if}}",
        );
        assert_eq!(rate_limited().card(&ctx(), &vanishing), default);
        // Placeholders another class fills are empty here, so their lines drop.
        let mut foreign = CardTemplates::default();
        foreign.set(ErrorClass::Internal, "Oops\n**Failures:** {failures}");
        assert!(
            GatewayError::Internal("bug".into())
                .card(&ctx(), &foreign)
                .starts_with("Oops\n\n**Error ID:**")
        );
    }

    #[test]
    fn ids_have_a_fixed_format() {
        assert_eq!(error_id(0xabc), "0000000000000abc");
    }
}
