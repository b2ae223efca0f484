//! The variables a card template can use (the original pipe's FEATURES §9.1 and §9.3,
//! plus orpipe's own), filled from a failure: a `GatewayError` before the answer, or a
//! failure reported mid-stream. Every known name is always present, empty where the
//! failure says nothing, so its line drops; a name not in [`KNOWN`] is unknown.

use super::GatewayError;
use super::class::ErrorClass;
use super::detail::ErrorDetail;
use super::pretty::{in_fence, one_line, scalar_text};
use super::restriction::ModelRestriction;
use super::template::Vars;
use crate::catalog::entry::CatalogEntry;
// Token counts as the original printed them (`1,015,918`).
use crate::owui::status_line::thousands;

/// Every variable name a template may use.
pub const KNOWN: [&str; 56] = [
    // Every card.
    "error_id",
    "timestamp",
    "support_email",
    "support_url",
    "session_id",
    "user_id",
    "message",
    "model",
    "status",
    "status_code",
    "reason",
    // OpenRouter's and the provider's error (§9.3).
    "heading",
    "detail",
    "sanitized_detail",
    "provider",
    "openrouter_code",
    "openrouter_message",
    "upstream_message",
    "upstream_type",
    "request_id",
    "request_id_reference",
    "moderation_reasons",
    "flagged_excerpt",
    "metadata_json",
    "provider_raw_json",
    "provider_raw",
    "raw_body",
    "requested_model",
    "api_model_id",
    "normalized_model_id",
    "model_identifier",
    "include_model_limits",
    "context_limit_tokens",
    "max_output_tokens",
    "diagnostics",
    // Errors inside a stream.
    "is_streaming_error",
    "streaming_provider",
    "streaming_model",
    "error_chunk_id",
    "error_chunk_created",
    "native_finish_reason",
    // Rate limits and credits.
    "retry_after_seconds",
    "rate_limit_type",
    "required_cost",
    "account_balance",
    // Timeouts, connections, internal errors.
    "timeout_seconds",
    "endpoint",
    "error_type",
    // Model filters (the original's names).
    "restriction_reasons",
    "model_id_filter",
    "free_model_filter",
    "tool_calling_filter",
    // The request breaker.
    "failures",
    "window_seconds",
    // Endpoint overrides (the original's; orpipe has none yet, so they stay empty).
    "required_endpoint",
    "enforced_endpoint",
];

/// What every card shows besides the failure itself.
pub struct CardContext<'a> {
    pub error_id: &'a str,
    /// UTC, ISO 8601 (see [`crate::date::iso8601`]).
    pub timestamp: &'a str,
    /// The model id the client asked for (empty when unknown).
    pub model: &'a str,
    /// The catalog's facts about the model, when the caller has its entry.
    pub facts: Option<&'a ModelFacts>,
}

/// What the catalog says about a model that a card can show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFacts {
    pub openrouter_id: String,
    /// The display name (`Anthropic: Claude Sonnet 4.5`).
    pub name: Option<String>,
    pub context_length: Option<u64>,
    pub max_output_tokens: Option<u64>,
}

impl ModelFacts {
    pub fn of(entry: &CatalogEntry) -> Self {
        Self {
            openrouter_id: entry.id.clone(),
            name: entry.name.clone().filter(|n| !n.trim().is_empty()),
            context_length: entry.context_length.or(entry.top_provider.context_length),
            max_output_tokens: entry.max_completion_tokens(),
        }
    }
}

/// The support contacts every card may show (`support_email`, `support_url`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportContact {
    pub email: String,
    pub url: String,
}

/// A failure reported once the answer is streaming.
pub struct StreamFailure<'a> {
    pub code: &'a str,
    pub message: &'a str,
    /// The upstream event that reported it; `None` for orpipe's own (a deadline, an
    /// early end).
    pub event: Option<&'a str>,
}

/// The variables of a `GatewayError`'s card.
pub(super) fn error_vars(
    error: &GatewayError,
    ctx: &CardContext<'_>,
    support: &SupportContact,
) -> Vars<'static> {
    let mut vars = common(ctx, support, &error.to_string());
    let status = error.http_status().to_string();
    vars.insert("status_code", status);
    match error {
        GatewayError::Upstream {
            status,
            provider_raw,
            retry_after,
            detail,
            ..
        } => {
            let fallback = format!(
                "OpenRouter request failed ({status} {})",
                reason_phrase(*status)
            );
            let detail = detail.as_deref().cloned().unwrap_or_default();
            openrouter(&mut vars, ctx, &detail, fallback);
            vars.insert("status", status.to_string());
            vars.insert("status_code", status.to_string());
            if *status >= 500 {
                vars.insert("reason", reason_phrase(*status).to_owned());
            }
            vars.insert("provider_raw", provider_raw.clone().unwrap_or_default());
            vars.insert("retry_after_seconds", seconds(*retry_after));
        }
        GatewayError::UserDisabled {
            retry_after,
            failures,
            window_secs,
        } => {
            vars.insert("retry_after_seconds", seconds(Some(*retry_after)));
            vars.insert("failures", failures.to_string());
            vars.insert("window_seconds", window_secs.to_string());
        }
        GatewayError::ModelRestricted(restriction) => restricted(&mut vars, restriction),
        GatewayError::UpstreamConnection(what) | GatewayError::Internal(what) => {
            vars.insert("error_type", one_line(what));
        }
        GatewayError::MissingApiKey | GatewayError::PayloadTooLarge(_) => {
            vars.insert("openrouter_message", one_line(&error.to_string()));
        }
        GatewayError::InvalidRequest(_)
        | GatewayError::NotFound(_)
        | GatewayError::MethodNotAllowed
        | GatewayError::AdminRequired => {
            // orpipe refused it: the OpenRouter card, headed by orpipe.
            let summary = one_line(&error.to_string());
            vars.insert("heading", "orpipe".to_owned());
            vars.insert("sanitized_detail", summary.replace('`', "\\`"));
            vars.insert("detail", summary);
        }
        GatewayError::UpstreamTimeout(_) | GatewayError::UpstreamProtocol(_) => {}
    }
    vars
}

/// The variables of a failure reported mid-stream: what its event says (`detail`: §9.3,
/// the streaming fields included, the provider's request id, else the response id) and
/// the status its class stands for.
pub(super) fn stream_vars(
    failure: &StreamFailure<'_>,
    detail: Option<ErrorDetail>,
    class: ErrorClass,
    ctx: &CardContext<'_>,
    support: &SupportContact,
) -> Vars<'static> {
    let mut vars = common(ctx, support, failure.message);
    let status = failure.code.parse::<u16>().ok().or(class.status());
    vars.insert(
        "status_code",
        status.map(|s| s.to_string()).unwrap_or_default(),
    );
    if let Some(mut detail) = detail {
        detail.openrouter_message = Some(failure.message.to_owned());
        detail.openrouter_code = Some(failure.code.to_owned());
        openrouter(&mut vars, ctx, &detail, failure.message.to_owned());
        vars.insert("is_streaming_error", "true".to_owned());
    }
    vars
}

/// The variables every card has: ids, time, support, the model asked for, the message.
fn common(ctx: &CardContext<'_>, support: &SupportContact, message: &str) -> Vars<'static> {
    let mut vars: Vars<'static> = KNOWN.iter().map(|name| (*name, String::new())).collect();
    vars.insert("error_id", ctx.error_id.to_owned());
    vars.insert("timestamp", ctx.timestamp.to_owned());
    vars.insert("support_email", one_line(&support.email));
    vars.insert("support_url", one_line(&support.url));
    vars.insert("model", one_line(ctx.model));
    vars.insert("requested_model", one_line(ctx.model));
    let message = one_line(message);
    vars.insert("reason", message.clone());
    vars.insert("message", message);
    if let Some(facts) = ctx.facts {
        vars.insert("api_model_id", facts.openrouter_id.clone());
        vars.insert("normalized_model_id", facts.openrouter_id.clone());
        let mut lines = Vec::new();
        if let Some(tokens) = facts.context_length {
            lines.push(format!(
                "- **Context window**: {} tokens",
                thousands(tokens)
            ));
        }
        if let Some(tokens) = facts.max_output_tokens {
            lines.push(format!(
                "- **Max output tokens**: {} tokens",
                thousands(tokens)
            ));
        }
        vars.insert("diagnostics", lines.join("\n"));
    }
    vars
}

/// OpenRouter's and the provider's error, as the original's `OpenRouterAPIError` put it
/// on a card. `fallback` is the summary when neither gave a message.
fn openrouter(
    vars: &mut Vars<'static>,
    ctx: &CardContext<'_>,
    detail: &ErrorDetail,
    fallback: String,
) {
    let line = |value: &Option<String>| value.as_deref().map(one_line).unwrap_or_default();
    let openrouter_message = line(&detail.openrouter_message);
    let upstream_message = line(&detail.upstream_message);
    let summary = [&upstream_message, &openrouter_message]
        .into_iter()
        .find(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| one_line(&fallback));
    let stream = detail.stream.clone().unwrap_or_default();
    let provider = line(&detail.provider);
    let model_slug = line(&detail.model_slug.clone().or(stream.model.clone()));
    let facts = ctx.facts;
    let api_model_id = facts.map(|f| f.openrouter_id.clone()).unwrap_or_default();
    let requested = one_line(ctx.model);
    let display_name = facts.and_then(|f| f.name.clone()).unwrap_or_default();
    let shown_model = first_filled(&[&display_name, &api_model_id, &model_slug, &requested]);
    let heading = match (provider.is_empty(), shown_model.is_empty()) {
        // Catalog names already start with the provider (`Anthropic: Claude 3`).
        (false, false) if shown_model.starts_with(&format!("{provider}:")) => shown_model,
        (false, false) => format!("{provider}: {shown_model}"),
        (true, false) => shown_model,
        (false, true) => provider.clone(),
        (true, true) => "OpenRouter".to_owned(),
    };
    let include_limits = summary.to_lowercase().contains("or use the \"middle-out\"")
        && facts.is_some_and(|f| f.context_length.is_some() || f.max_output_tokens.is_some());
    let limit = |tokens: Option<u64>| match tokens {
        Some(tokens) if include_limits => thousands(tokens),
        _ => String::new(),
    };
    let request_id = line(&detail.request_id);
    let chunk_created = stream
        .chunk_created
        .as_ref()
        .and_then(|created| match created.as_u64() {
            Some(unix) => Some(crate::date::iso8601(unix)),
            None => scalar_text(created),
        });
    let pairs = [
        ("heading", heading),
        ("sanitized_detail", summary.replace('`', "\\`")),
        ("detail", summary.clone()),
        ("reason", summary),
        ("provider", provider.clone()),
        ("openrouter_code", line(&detail.openrouter_code)),
        ("openrouter_message", openrouter_message),
        ("upstream_message", upstream_message),
        (
            "upstream_type",
            line(&detail.upstream_type.clone().or(stream.error_type.clone())),
        ),
        (
            "request_id_reference",
            if request_id.is_empty() {
                String::new()
            } else {
                format!("Request reference: `{request_id}`")
            },
        ),
        ("request_id", request_id),
        (
            "moderation_reasons",
            detail
                .moderation_reasons
                .iter()
                .map(|reason| format!("- {}", one_line(reason)))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "flagged_excerpt",
            in_fence(detail.flagged_input.as_deref().unwrap_or_default()),
        ),
        ("metadata_json", in_fence(&detail.metadata_json)),
        ("provider_raw_json", in_fence(&detail.provider_raw_json)),
        ("raw_body", in_fence(&detail.raw_body)),
        (
            "model_identifier",
            first_filled(&[&model_slug, &requested, &api_model_id]),
        ),
        (
            "include_model_limits",
            if include_limits {
                "true".into()
            } else {
                String::new()
            },
        ),
        (
            "context_limit_tokens",
            limit(facts.and_then(|f| f.context_length)),
        ),
        (
            "max_output_tokens",
            limit(facts.and_then(|f| f.max_output_tokens)),
        ),
        // As the original: the provider stands in when the stream named none.
        (
            "streaming_provider",
            first_filled(&[&line(&stream.provider), &provider]),
        ),
        ("streaming_model", line(&stream.model)),
        ("error_chunk_id", line(&stream.chunk_id)),
        (
            "error_chunk_created",
            chunk_created.map(|c| one_line(&c)).unwrap_or_default(),
        ),
        ("native_finish_reason", line(&stream.native_finish_reason)),
        ("rate_limit_type", line(&detail.rate_limit_type)),
        ("required_cost", line(&detail.required_cost)),
        ("account_balance", line(&detail.account_balance)),
    ];
    for (name, value) in pairs {
        vars.insert(name, value);
    }
}

/// The variables of the original's `MODEL_RESTRICTED_TEMPLATE`.
fn restricted(vars: &mut Vars<'static>, restriction: &ModelRestriction) {
    let only = |on: bool| if on { "only".to_owned() } else { String::new() };
    let pairs = [
        ("requested_model", one_line(&restriction.requested)),
        ("normalized_model_id", one_line(&restriction.openrouter_id)),
        ("api_model_id", one_line(&restriction.openrouter_id)),
        (
            "restriction_reasons",
            one_line(&restriction.reasons.join(", ")),
        ),
        ("model_id_filter", one_line(&restriction.allow.join(","))),
        ("free_model_filter", only(restriction.free_only)),
        ("tool_calling_filter", only(restriction.tools_only)),
    ];
    for (name, value) in pairs {
        vars.insert(name, value);
    }
}

/// The first of `candidates` that is not empty (empty if none is).
fn first_filled(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|c| !c.is_empty())
        .map(|c| (*c).to_owned())
        .unwrap_or_default()
}

/// Seconds to wait, empty for none or zero (the original hid `0` too).
fn seconds(value: Option<u64>) -> String {
    value
        .filter(|s| *s > 0)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The HTTP reason phrase the original showed with a status.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        524 => "A Timeout Occurred",
        529 => "Site Overloaded",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_phrases_read_as_the_original_printed_them() {
        assert_eq!(thousands(1_015_918), "1,015,918");
        assert_eq!(reason_phrase(503), "Service Unavailable");
        assert_eq!(reason_phrase(599), "Server Error");
        assert_eq!(
            (seconds(Some(0)), seconds(Some(17))),
            (String::new(), "17".into())
        );
    }

    #[test]
    fn every_known_name_is_set_and_unique() {
        let ctx = CardContext {
            error_id: "e",
            timestamp: "t",
            model: "m",
            facts: None,
        };
        let vars = error_vars(
            &GatewayError::Internal("x".into()),
            &ctx,
            &SupportContact::default(),
        );
        assert_eq!(vars.len(), KNOWN.len(), "no duplicates, nothing unknown");
        assert!(KNOWN.iter().all(|name| vars.contains_key(name)));
    }

    #[test]
    fn model_facts_come_from_the_catalog_entry() {
        let entry = crate::catalog::entry::sample_entries()
            .into_iter()
            .find(|e| e.context_length.is_some())
            .expect("a sample with a context length");
        let facts = ModelFacts::of(&entry);
        assert_eq!(facts.openrouter_id, entry.id);
        assert_eq!(facts.context_length, entry.context_length);
    }
}
