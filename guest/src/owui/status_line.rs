//! The final status line Open WebUI shows under an answer once it is complete, e.g.
//! `4.2 s · 38 tok/s | $0.001234 | 1,234 tokens (in 1,000 · out 234 · reasoning 120)`,
//! with only the fields the operator chose (`status_line_fields`).
//!
//! Pure, with no clock: the component measures the times and passes them in ([`Timing`]).

use crate::openai::Usage;

/// Which parts the line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLineFields {
    pub time: bool,
    pub speed: bool,
    pub cost: bool,
    pub tokens: bool,
}

impl StatusLineFields {
    pub const ALL: Self = Self {
        time: true,
        speed: true,
        cost: true,
        tokens: true,
    };

    /// A comma-separated list of `time`, `speed`, `cost`, `tokens` (any order and case).
    pub fn parse(csv: &str) -> Result<Self, String> {
        let mut fields = Self {
            time: false,
            speed: false,
            cost: false,
            tokens: false,
        };
        for name in csv.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "time" => fields.time = true,
                "speed" => fields.speed = true,
                "cost" => fields.cost = true,
                "tokens" => fields.tokens = true,
                _ => {
                    return Err(format!("{name:?} is not one of time, speed, cost, tokens"));
                }
            }
        }
        Ok(fields)
    }
}

/// When the answer happened, in milliseconds since the request arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// When the answer ended.
    pub elapsed_ms: f64,
    /// When the first output item (reasoning, text, a tool call) arrived, if one did.
    pub first_output_ms: Option<f64>,
}

/// A generation span shorter than this is measurement noise (the whole answer arrived in
/// one read): the speed is then taken over the whole request instead.
const MIN_GENERATION_MS: f64 = 50.0;

impl Timing {
    /// Output tokens per second. The span is from the first output item to the end: the
    /// model generating, without the wait for OpenRouter and the provider before it (the
    /// speed a user compares between models). Reasoning tokens count, as they are
    /// generated within that span. When the span is too short to measure, the whole
    /// request's time is used.
    fn tokens_per_second(&self, output_tokens: u64) -> Option<f64> {
        let generating = self
            .first_output_ms
            .map(|first| self.elapsed_ms - first)
            .filter(|span| *span >= MIN_GENERATION_MS)
            .unwrap_or(self.elapsed_ms);
        (output_tokens > 0 && generating > 0.0).then(|| output_tokens as f64 * 1000.0 / generating)
    }
}

/// The line, or `None` when none of the chosen fields is known.
pub fn status_line(
    fields: &StatusLineFields,
    timing: Option<&Timing>,
    usage: Option<&Usage>,
) -> Option<String> {
    let mut groups = Vec::new();
    let mut pace = Vec::new();
    if let (true, Some(timing)) = (fields.time, timing) {
        pace.push(format!("{:.1} s", timing.elapsed_ms / 1000.0));
    }
    if let (true, Some(timing), Some(usage)) = (fields.speed, timing, usage)
        && let Some(rate) = timing.tokens_per_second(usage.completion_tokens)
    {
        pace.push(if rate >= 10.0 {
            format!("{rate:.0} tok/s")
        } else {
            format!("{rate:.1} tok/s")
        });
    }
    if !pace.is_empty() {
        groups.push(pace.join(" · "));
    }
    if let (true, Some(cost)) = (fields.cost, usage.and_then(|u| u.cost)) {
        groups.extend(dollars(cost));
    }
    if let (true, Some(usage)) = (fields.tokens, usage) {
        groups.push(tokens(usage));
    }
    (!groups.is_empty()).then(|| groups.join(" | "))
}

/// `$0.001234`: six decimals (OpenRouter charges fractions of a cent), trailing zeros
/// dropped down to cents. Free answers show no cost.
fn dollars(cost: f64) -> Option<String> {
    if !cost.is_finite() || cost <= 0.0 {
        return None;
    }
    if cost < 0.000_001 {
        return Some("<$0.000001".into());
    }
    let text = format!("{cost:.6}");
    let trimmed = text.trim_end_matches('0');
    let decimals = trimmed.split_once('.').map_or(0, |(_, d)| d.len());
    let text = match decimals {
        0 => format!("{trimmed}00"),
        1 => format!("{trimmed}0"),
        _ => trimmed.to_owned(),
    };
    Some(format!("${text}"))
}

fn tokens(usage: &Usage) -> String {
    let mut parts = vec![format!("in {}", thousands(usage.prompt_tokens))];
    if usage.cached_tokens > 0 {
        parts.push(format!("cached {}", thousands(usage.cached_tokens)));
    }
    parts.push(format!("out {}", thousands(usage.completion_tokens)));
    if usage.reasoning_tokens > 0 {
        parts.push(format!("reasoning {}", thousands(usage.reasoning_tokens)));
    }
    format!(
        "{} tokens ({})",
        thousands(usage.total_tokens),
        parts.join(" · ")
    )
}

/// `1234567` → `1,234,567` (error cards print token counts the same way).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            prompt_tokens: 1000,
            completion_tokens: 234,
            total_tokens: 1234,
            cached_tokens: 0,
            reasoning_tokens: 120,
            cost: Some(0.001234),
        }
    }

    fn timing(elapsed_ms: f64, first_output_ms: Option<f64>) -> Timing {
        Timing {
            elapsed_ms,
            first_output_ms,
        }
    }

    #[test]
    fn the_whole_line_reads_time_speed_cost_and_tokens() {
        // 234 tokens in the 6.16 s after the first output.
        let line = status_line(
            &StatusLineFields::ALL,
            Some(&timing(8_200.0, Some(2_040.0))),
            Some(&usage()),
        );
        assert_eq!(
            line.as_deref(),
            Some(
                "8.2 s · 38 tok/s | $0.001234 | 1,234 tokens (in 1,000 · out 234 · reasoning 120)"
            )
        );
    }

    #[test]
    fn only_the_chosen_fields_appear() {
        let fields = StatusLineFields::parse(" Tokens, cost ").expect("valid");
        let line = status_line(&fields, Some(&timing(1_000.0, None)), Some(&usage()));
        assert_eq!(
            line.as_deref(),
            Some("$0.001234 | 1,234 tokens (in 1,000 · out 234 · reasoning 120)")
        );
        let speed = StatusLineFields::parse("speed").expect("valid");
        let line = status_line(&speed, Some(&timing(2_000.0, None)), Some(&usage()));
        assert_eq!(line.as_deref(), Some("117 tok/s"), "over the whole request");
    }

    #[test]
    fn a_span_too_short_to_measure_falls_back_to_the_whole_time() {
        let line = status_line(
            &StatusLineFields::parse("speed").expect("valid"),
            Some(&timing(4_000.0, Some(3_990.0))),
            Some(&Usage {
                completion_tokens: 20,
                ..usage()
            }),
        );
        assert_eq!(line.as_deref(), Some("5.0 tok/s"));
    }

    #[test]
    fn without_usage_only_the_time_is_shown_and_without_anything_nothing() {
        let line = status_line(
            &StatusLineFields::ALL,
            Some(&timing(1_234.0, Some(100.0))),
            None,
        );
        assert_eq!(line.as_deref(), Some("1.2 s"));
        assert_eq!(status_line(&StatusLineFields::ALL, None, None), None);
        let time_only = StatusLineFields::parse("time").expect("valid");
        assert_eq!(status_line(&time_only, None, Some(&usage())), None);
    }

    #[test]
    fn cached_tokens_show_and_costs_keep_at_least_cents() {
        let cached = Usage {
            prompt_tokens: 9_821,
            completion_tokens: 1_143,
            total_tokens: 10_964,
            cached_tokens: 4_736,
            reasoning_tokens: 0,
            cost: Some(1.5),
        };
        let fields = StatusLineFields::parse("cost,tokens").expect("valid");
        assert_eq!(
            status_line(&fields, None, Some(&cached)).as_deref(),
            Some("$1.50 | 10,964 tokens (in 9,821 · cached 4,736 · out 1,143)")
        );
        assert_eq!(dollars(0.0073556).as_deref(), Some("$0.007356"));
        assert_eq!(dollars(2.0).as_deref(), Some("$2.00"));
        assert_eq!(dollars(0.0000004).as_deref(), Some("<$0.000001"));
        assert_eq!(dollars(0.0), None, "free");
        assert_eq!(dollars(f64::NAN), None);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error = StatusLineFields::parse("time,latency").expect_err("latency");
        assert!(error.contains("latency"), "{error}");
        assert_eq!(
            StatusLineFields::parse("TIME, speed,cost,tokens"),
            Ok(StatusLineFields::ALL)
        );
    }
}
