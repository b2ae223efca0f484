//! The guest's structured log events that carry metrics: a JSON log line with an `event`
//! field (the guest's `logline::Event`) is counted here before it is logged. The line is
//! parsed once, for the log, and read from that parse; the guest pays nothing extra.
//!
//! The guest is sandboxed, not trusted: a label it sends is kept only when it is short
//! and plain (`safe_label`), so a misbehaving guest cannot blow up the label sets.

use super::{ClassLabel, KindLabel, Metrics, ModelLabel, ModelOutcome, ModelTokens, OutcomeLabel};
use serde::Deserialize;
use serde_json::Value;

/// Longest model id kept as a label; OpenRouter's are well under it.
const MAX_MODEL_LABEL: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum GuestEvent {
    /// A chat completion whose answer started has ended (`component/outcome.rs`).
    ChatFinished {
        model: String,
        outcome: Outcome,
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        reasoning_tokens: Option<u64>,
        cached_tokens: Option<u64>,
        cost_usd: Option<f64>,
        /// The class of the failure that cut a streamed answer short, after it started.
        failure_class: Option<String>,
    },
    /// A chat completion failed before its answer started, with the failure's class.
    ChatFailed { class: String },
    /// The upstream call is made again (`component/openrouter.rs`).
    UpstreamRetry { kind: RetryKind },
    /// A user's breaker opened (`component/breaker.rs`).
    BreakerTripped,
    /// A server tool call of the tool loop ended (`component/tool_turn.rs`).
    ToolCall { outcome: ToolOutcome },
    /// A user's breaker for one server tool opened (`component/tool_breakers.rs`).
    ToolBreakerTripped,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ToolOutcome {
    Ran,
    Failed,
    TimedOut,
    SwitchedOff,
    #[serde(other)]
    Other,
}

impl ToolOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ran => "ran",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::SwitchedOff => "switched_off",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Completed,
    UpstreamError,
    Interrupted,
    ClientGone,
    #[serde(other)]
    Other,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::UpstreamError => "upstream_error",
            Self::Interrupted => "interrupted",
            Self::ClientGone => "client_gone",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RetryKind {
    /// After a transient failure (`retry.rs`'s policy).
    Transient,
    /// With the closest accepted reasoning effort after a refusal.
    Effort,
    #[serde(other)]
    Other,
}

impl RetryKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Effort => "effort",
            Self::Other => "other",
        }
    }
}

/// The failure classes of the guest's `errors::ErrorClass::name`: anything else is `other`.
const ERROR_CLASSES: [&str; 14] = [
    "invalid_request",
    "authentication",
    "credits",
    "refused",
    "payload_too_large",
    "server_timeout",
    "timeout",
    "rate_limit",
    "upstream_server",
    "connection",
    "interrupted",
    "internal",
    "model_restricted",
    "disabled",
];

/// Counts what one guest log line reports, when it is a metrics event. `line` is the
/// parsed JSON object; lines without an `event` field are ignored at no cost.
pub fn record_guest_event(metrics: &Metrics, line: &Value) {
    if line.get("event").is_none() {
        return;
    }
    match GuestEvent::deserialize(line) {
        Ok(event) => record(metrics, event),
        Err(error) => tracing::debug!(%error, "a guest event of an unexpected shape"),
    }
}

fn record(metrics: &Metrics, event: GuestEvent) {
    match event {
        GuestEvent::ChatFinished {
            model,
            outcome,
            prompt_tokens,
            completion_tokens,
            reasoning_tokens,
            cached_tokens,
            cost_usd,
            failure_class,
        } => {
            if let Some(class) = failure_class {
                metrics
                    .stream_failures
                    .get_or_create(&ClassLabel {
                        class: known_class(&class),
                    })
                    .inc();
            }
            let model = model_label(model);
            metrics
                .chat_completions
                .get_or_create(&ModelOutcome {
                    model: model.clone(),
                    outcome: outcome.as_str(),
                })
                .inc();
            let tokens = [
                ("input", prompt_tokens),
                ("output", completion_tokens),
                ("reasoning", reasoning_tokens),
                ("cached", cached_tokens),
            ];
            for (kind, count) in tokens {
                let Some(count) = count else { continue };
                metrics
                    .tokens
                    .get_or_create(&ModelTokens {
                        model: model.clone(),
                        kind,
                    })
                    .inc_by(count);
            }
            if let Some(cost) = cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
                metrics
                    .cost
                    .get_or_create(&ModelLabel { model })
                    .inc_by(cost);
            }
        }
        GuestEvent::ChatFailed { class } => {
            metrics
                .chat_failures
                .get_or_create(&ClassLabel {
                    class: known_class(&class),
                })
                .inc();
        }
        GuestEvent::UpstreamRetry { kind } => {
            metrics
                .upstream_retries
                .get_or_create(&KindLabel {
                    kind: kind.as_str(),
                })
                .inc();
        }
        GuestEvent::BreakerTripped => {
            metrics.breaker_trips.inc();
        }
        GuestEvent::ToolCall { outcome } => {
            metrics
                .tool_calls
                .get_or_create(&OutcomeLabel {
                    outcome: outcome.as_str(),
                })
                .inc();
        }
        GuestEvent::ToolBreakerTripped => {
            metrics.tool_breaker_trips.inc();
        }
        GuestEvent::Unknown => {}
    }
}

/// A failure class the guest names, as a label: one of [`ERROR_CLASSES`], else `other`.
fn known_class(class: &str) -> &'static str {
    ERROR_CLASSES
        .into_iter()
        .find(|known| *known == class)
        .unwrap_or("other")
}

/// The model id as a label: kept when short and printable, else `other`.
fn model_label(model: String) -> String {
    let plain = !model.is_empty()
        && model.len() <= MAX_MODEL_LABEL
        && model.chars().all(|c| c.is_ascii_graphic());
    if plain { model } else { "other".into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::scrape_for_test as scrape;

    #[test]
    fn a_finished_chat_counts_its_tokens_cost_and_outcome_by_model() {
        let metrics = Metrics::new();
        let line = json!({
            "level": "info", "msg": "chat completion finished", "event": "chat_finished",
            "model": "openai/gpt-4o", "outcome": "completed", "prompt_tokens": 12,
            "completion_tokens": 30, "reasoning_tokens": 20, "cached_tokens": null,
            "cost_usd": 0.5,
        });
        record_guest_event(&metrics, &line);
        record_guest_event(&metrics, &line);
        let text = scrape(&metrics);
        for expected in [
            r#"orpipe_chat_completions_total{model="openai/gpt-4o",outcome="completed"} 2"#,
            r#"orpipe_tokens_total{model="openai/gpt-4o",kind="input"} 24"#,
            r#"orpipe_tokens_total{model="openai/gpt-4o",kind="output"} 60"#,
            r#"orpipe_tokens_total{model="openai/gpt-4o",kind="reasoning"} 40"#,
            r#"orpipe_cost_usd_total{model="openai/gpt-4o"} 1.0"#,
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        assert!(
            !text.contains(r#"kind="cached""#),
            "no cached count was reported"
        );
    }

    #[test]
    fn classes_retries_and_trips_are_counted_and_unknown_labels_fold_into_other() {
        let metrics = Metrics::new();
        for line in [
            json!({"event": "chat_failed", "class": "rate_limit"}),
            json!({"event": "chat_failed", "class": "made-up\"class"}),
            json!({"event": "upstream_retry", "kind": "transient"}),
            json!({"event": "upstream_retry", "kind": "effort"}),
            json!({"event": "breaker_tripped"}),
            json!({"event": "chat_finished", "model": "x\ny", "outcome": "weird"}),
            json!({"event": "something_new", "model": "m"}),
            json!({"msg": "no event at all"}),
        ] {
            record_guest_event(&metrics, &line);
        }
        let text = scrape(&metrics);
        for expected in [
            r#"orpipe_chat_failures_total{class="rate_limit"} 1"#,
            r#"orpipe_chat_failures_total{class="other"} 1"#,
            r#"orpipe_upstream_retries_total{kind="transient"} 1"#,
            r#"orpipe_upstream_retries_total{kind="effort"} 1"#,
            "orpipe_breaker_trips_total 1",
            r#"orpipe_chat_completions_total{model="other",outcome="other"} 1"#,
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
    }

    #[test]
    fn an_event_of_the_wrong_shape_is_skipped() {
        let metrics = Metrics::new();
        record_guest_event(
            &metrics,
            &json!({"event": "chat_finished", "model": 5, "outcome": "completed"}),
        );
        assert!(!scrape(&metrics).contains("orpipe_chat_completions_total{"));
    }

    #[test]
    fn tool_calls_count_by_outcome_and_tool_breaker_trips_apart() {
        let metrics = Metrics::new();
        for line in [
            json!({"event": "tool_call", "outcome": "ran", "tool": "calc__add"}),
            json!({"event": "tool_call", "outcome": "ran"}),
            json!({"event": "tool_call", "outcome": "timed_out"}),
            json!({"event": "tool_call", "outcome": "made-up"}),
            json!({"event": "tool_breaker_tripped"}),
        ] {
            record_guest_event(&metrics, &line);
        }
        let text = scrape(&metrics);
        assert!(
            text.contains("orpipe_tool_calls_total{outcome=\"ran\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("orpipe_tool_calls_total{outcome=\"timed_out\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("orpipe_tool_calls_total{outcome=\"other\"} 1"),
            "{text}"
        );
        assert!(text.contains("orpipe_tool_breaker_trips_total 1"), "{text}");
        assert!(text.contains("orpipe_breaker_trips_total 0"), "{text}");
    }

    #[test]
    fn a_stream_cut_short_after_it_started_counts_its_failure_class() {
        let metrics = Metrics::new();
        for class in [
            Some("upstream_server"),
            Some("upstream_server"),
            Some("bogus"),
            None,
        ] {
            record_guest_event(
                &metrics,
                &json!({"event": "chat_finished", "model": "m", "outcome": "upstream_error",
                    "failure_class": class}),
            );
        }
        let text = scrape(&metrics);
        assert!(
            text.contains("orpipe_stream_failures_total{class=\"upstream_server\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("orpipe_stream_failures_total{class=\"other\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "orpipe_chat_completions_total{model=\"m\",outcome=\"upstream_error\"} 4"
            ),
            "{text}"
        );
    }
}
