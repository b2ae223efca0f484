//! When to call OpenRouter again after a failure, and how long to wait first.
//!
//! Only failures before the first byte reached the client are retried (the caller never
//! asks afterwards): a connection that could not be made, and the statuses that say "not
//! now" rather than "not this" — 408, 429, 500, 502, 503, 504. Other 4xx would fail the
//! same way again. The wait is exponential back-off with full jitter, or exactly what
//! OpenRouter asked for in `Retry-After`; attempts and the total wait are bounded, and a
//! wait longer than what is left of the budget means the error goes to the client as it
//! is (with its `Retry-After`), so the client's own back-off can take over.
//!
//! Pure: the caller supplies the randomness, the clock and the sleeping.

use crate::errors::GatewayError;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls after the first one.
    pub max_retries: u32,
    /// The most one request waits between calls, in total.
    pub max_wait: Duration,
    /// The back-off ceiling for the first retry; it doubles for each later one...
    pub base: Duration,
    /// ...up to this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            // A person is waiting for the first token; past ~10 s they would rather see
            // the error (and OpenRouter's longer Retry-After values pass through to them).
            max_wait: Duration::from_secs(10),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

/// What the caller should do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp(GiveUp),
}

/// Why a failure goes to the client (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    NotRetryable,
    AttemptsExhausted,
    /// The wait needed (OpenRouter's `Retry-After`, or the back-off) exceeds what is left
    /// of the budget.
    WaitTooLong,
}

/// Statuses worth another try.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Failures worth another try. Timeouts are not: the call already waited its deadline,
/// and repeating that wait would keep a person staring at nothing for minutes.
pub fn retryable(error: &GatewayError) -> bool {
    match error {
        GatewayError::Upstream { status, .. } => retryable_status(*status),
        GatewayError::UpstreamConnection(_) => true,
        _ => false,
    }
}

/// Decides after call number `attempts` (1 for the first) failed with `error`, when
/// `waited` has already been spent sleeping for this request. `random` is any uniformly
/// random number; it picks the jittered wait.
pub fn decide(
    policy: &RetryPolicy,
    error: &GatewayError,
    attempts: u32,
    waited: Duration,
    random: u64,
) -> Decision {
    if !retryable(error) {
        return Decision::GiveUp(GiveUp::NotRetryable);
    }
    if attempts > policy.max_retries {
        return Decision::GiveUp(GiveUp::AttemptsExhausted);
    }
    let wait = match error.retry_after() {
        Some(seconds) => Duration::from_secs(seconds),
        None => full_jitter(policy, attempts, random),
    };
    if waited.saturating_add(wait) > policy.max_wait {
        return Decision::GiveUp(GiveUp::WaitTooLong);
    }
    Decision::RetryAfter(wait)
}

/// A wait drawn uniformly from `[0, min(cap, base · 2^(attempts-1))]` (AWS's "full
/// jitter"): replicas that failed together do not come back together.
fn full_jitter(policy: &RetryPolicy, attempts: u32, random: u64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(32);
    let ceiling = policy
        .base
        .saturating_mul(1u32 << exponent.min(31))
        .min(policy.cap);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(random % ceiling_ms.saturating_add(1))
}

/// A `Retry-After` value in whole seconds from now: delay-seconds, or an HTTP date
/// (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) compared with `now_unix`. A date in
/// the past means 0; anything unreadable means no advice.
pub fn retry_after_secs(value: &str, now_unix: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| seconds.ceil() as u64);
    }
    crate::date::http_date_unix(value).map(|at| at.saturating_sub(now_unix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, retry_after: Option<u64>) -> GatewayError {
        GatewayError::Upstream {
            status,
            code: None,
            message: "m".into(),
            provider_raw: None,
            retry_after,
            detail: None,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn exactly_the_transient_statuses_and_connection_failures_are_retried() {
        for status in 100..=599u16 {
            let expected = [408, 429, 500, 502, 503, 504].contains(&status);
            let decision = decide(&policy(), &upstream(status, None), 1, Duration::ZERO, 0);
            assert_eq!(
                matches!(decision, Decision::RetryAfter(_)),
                expected,
                "{status}: {decision:?}"
            );
        }
        let others = [
            GatewayError::UpstreamConnection("refused".into()),
            GatewayError::UpstreamTimeout("slow".into()),
            GatewayError::UpstreamProtocol("garbage".into()),
            GatewayError::InvalidRequest("bad".into()),
            GatewayError::MissingApiKey,
            GatewayError::Internal("bug".into()),
            GatewayError::UserDisabled {
                retry_after: 1,
                failures: 5,
                window_secs: 60,
            },
        ];
        let retried: Vec<bool> = others
            .iter()
            .map(|e| {
                matches!(
                    decide(&policy(), e, 1, Duration::ZERO, 0),
                    Decision::RetryAfter(_)
                )
            })
            .collect();
        assert_eq!(retried, [true, false, false, false, false, false, false]);
    }

    #[test]
    fn attempts_are_bounded_by_max_retries() {
        let error = upstream(503, None);
        let p = policy();
        assert!(matches!(
            decide(&p, &error, 2, Duration::ZERO, 0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&p, &error, 3, Duration::ZERO, 0),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
        let none = RetryPolicy {
            max_retries: 0,
            ..policy()
        };
        assert_eq!(
            decide(&none, &error, 1, Duration::ZERO, 0),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_capped_ceiling() {
        let p = RetryPolicy {
            max_retries: 40,
            max_wait: Duration::from_secs(3_600),
            ..policy()
        };
        let error = upstream(502, None);
        for attempts in 1..=40u32 {
            let ceiling = (500u64 << (attempts - 1).min(20)).min(8_000);
            for random in [0, 1, 499, 500, 501, ceiling, ceiling + 1, u64::MAX] {
                let Decision::RetryAfter(wait) =
                    decide(&p, &error, attempts, Duration::ZERO, random)
                else {
                    panic!("attempt {attempts} should retry");
                };
                assert!(
                    wait.as_millis() <= u128::from(ceiling),
                    "{attempts} {random}"
                );
                assert_eq!(wait.as_millis() as u64, random % (ceiling + 1));
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_exactly_unless_it_exceeds_the_budget() {
        let p = policy();
        assert_eq!(
            decide(&p, &upstream(429, Some(1)), 1, Duration::ZERO, 12_345),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&p, &upstream(503, Some(10)), 1, Duration::ZERO, 0),
            Decision::RetryAfter(Duration::from_secs(10)),
            "a wait equal to the budget still fits"
        );
        assert_eq!(
            decide(&p, &upstream(429, Some(11)), 1, Duration::ZERO, 0),
            Decision::GiveUp(GiveUp::WaitTooLong)
        );
        assert_eq!(
            decide(&p, &upstream(429, Some(4)), 2, Duration::from_secs(7), 0),
            Decision::GiveUp(GiveUp::WaitTooLong),
            "the budget counts what was already waited"
        );
        let jittered = decide(
            &p,
            &upstream(500, None),
            1,
            Duration::from_millis(9_900),
            499,
        );
        assert_eq!(
            jittered,
            Decision::GiveUp(GiveUp::WaitTooLong),
            "a back-off that would overrun the budget is not taken either"
        );
        assert_eq!(
            decide(&p, &upstream(429, Some(u64::MAX)), 1, Duration::MAX, 0),
            Decision::GiveUp(GiveUp::WaitTooLong),
            "no overflow"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after_secs("17", now), Some(17));
        assert_eq!(retry_after_secs(" 1.2 ", now), Some(2));
        assert_eq!(retry_after_secs("0", now), Some(0));
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(0)
        );
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(30)
        );
        assert_eq!(
            retry_after_secs("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(0),
            "a date in the past means now"
        );
        assert_eq!(
            retry_after_secs("Thu, 01 Jan 1970 00:00:00 GMT", 0),
            Some(0)
        );
        assert_eq!(
            retry_after_secs("Tue, 29 Feb 2000 00:00:10 GMT", 951_782_400),
            Some(10)
        );
        for junk in [
            "",
            "-1",
            "NaN",
            "inf",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            ", , , ,",
        ] {
            assert_eq!(retry_after_secs(junk, 0), None, "{junk:?}");
        }
    }
}
