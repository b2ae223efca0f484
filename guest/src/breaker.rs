//! Per-user request breaker (the original pipe's, FEATURES §6.5): after `failures`
//! upstream failures within `window_secs`, that user's requests are refused for a while
//! instead of adding to a failing upstream; one success resets the count.
//!
//! Pure: the component keeps a [`History`] per user in `wasi:keyvalue` (shared by every
//! replica through Redis) under [`storage_key`], and supplies the clock.

use crate::errors::GatewayError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures that open the breaker; 0 turns it off.
    pub failures: u32,
    pub window_secs: u64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures: 5,
            window_secs: 60,
        }
    }
}

/// The most failure times kept, whatever the configuration says: the stored value stays
/// small, and a threshold above it behaves as this.
pub const MAX_TRACKED: usize = 100;

/// One user's recent failures (unix seconds, oldest first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(rename = "f")]
    pub failures: Vec<u64>,
}

impl History {
    /// Reads a stored history; anything unreadable counts as a clean slate, because a
    /// corrupt record must not lock a user out.
    pub fn decode(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl BreakerPolicy {
    fn threshold(&self) -> usize {
        (self.failures as usize).min(MAX_TRACKED)
    }

    /// `Err` when the user is disabled right now: the last `failures` failures all fell
    /// within the window. The error says when the oldest of them leaves the window.
    pub fn check(&self, history: &History, now: u64) -> Result<(), GatewayError> {
        let threshold = self.threshold();
        if threshold == 0 || history.failures.len() < threshold {
            return Ok(());
        }
        let Some(&oldest) = history
            .failures
            .len()
            .checked_sub(threshold)
            .and_then(|at| history.failures.get(at))
        else {
            return Ok(());
        };
        let reopens = oldest.saturating_add(self.window_secs);
        if reopens <= now {
            return Ok(());
        }
        Err(GatewayError::UserDisabled {
            retry_after: reopens - now,
            failures: self.failures,
            window_secs: self.window_secs,
        })
    }

    /// The history after one more failure at `now`: times outside the window are
    /// forgotten, and at most the threshold's worth kept.
    pub fn record_failure(&self, history: &History, now: u64) -> History {
        let keep = self.threshold().max(1);
        let since = now.saturating_sub(self.window_secs);
        let mut failures: Vec<u64> = history
            .failures
            .iter()
            .copied()
            .filter(|t| *t > since && *t <= now)
            .collect();
        failures.push(now);
        let excess = failures.len().saturating_sub(keep);
        failures.drain(..excess);
        History { failures }
    }
}

/// Failures that count against a user: upstream trouble the user's requests keep
/// meeting (5xx, 408, 429, no connection, timeouts, unreadable answers). The user's own
/// mistakes (400s) and refusals (401-403) do not: they cost OpenRouter nothing to refuse
/// again, and a person fixing a request must not be locked out for trying.
pub fn counts_as_failure(error: &GatewayError) -> bool {
    match error {
        GatewayError::Upstream { status, .. } => matches!(status, 408 | 429 | 500..=599),
        GatewayError::UpstreamConnection(_)
        | GatewayError::UpstreamTimeout(_)
        | GatewayError::UpstreamProtocol(_) => true,
        _ => false,
    }
}

/// Who a request belongs to, most specific first: the request's `user` field, Open
/// WebUI's user-id header, else the client key's label that the host sets in
/// `x-orpipe-client` (a truncated hash of the key: the guest never sees the key itself).
/// The result is only ever used hashed (see [`storage_key`]).
pub fn user_identity(
    user_field: Option<&str>,
    owui_user_header: Option<&str>,
    client_header: Option<&str>,
) -> Option<String> {
    fn present(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    if let Some(user) = present(user_field) {
        return Some(format!("user:{user}"));
    }
    if let Some(id) = present(owui_user_header) {
        return Some(format!("owui:{id}"));
    }
    present(client_header).map(|client| format!("client:{client}"))
}

/// The key-value key for an identity: a SHA-256 digest, so neither a key nor a user id
/// appears in the store, and every key has the same short length.
pub fn storage_key(identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("breaker:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(failures: u32, window_secs: u64) -> BreakerPolicy {
        BreakerPolicy {
            failures,
            window_secs,
        }
    }

    fn after(policy: &BreakerPolicy, times: &[u64]) -> History {
        times
            .iter()
            .fold(History::default(), |h, t| policy.record_failure(&h, *t))
    }

    #[test]
    fn the_fifth_failure_within_the_window_opens_it_until_the_oldest_leaves() {
        let p = BreakerPolicy::default();
        let four = after(&p, &[100, 101, 102, 103]);
        assert_eq!(p.check(&four, 104), Ok(()));
        let five = p.record_failure(&four, 110);
        match p.check(&five, 110) {
            Err(GatewayError::UserDisabled {
                retry_after,
                failures,
                window_secs,
            }) => assert_eq!((retry_after, failures, window_secs), (50, 5, 60)),
            other => panic!("expected disabled, got {other:?}"),
        }
        assert!(p.check(&five, 159).is_err());
        assert_eq!(p.check(&five, 160), Ok(()), "open again once 100 left");
        let error = p.check(&five, 150).expect_err("disabled");
        assert_eq!(error.http_status(), 429);
        assert_eq!(error.retry_after(), Some(10));
        assert!(
            error
                .to_string()
                .starts_with("Temporarily disabled due to repeated errors"),
            "{error}"
        );
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_open_it() {
        let p = policy(3, 10);
        let mut history = History::default();
        for t in (0..200).step_by(6) {
            history = p.record_failure(&history, t);
            assert_eq!(p.check(&history, t), Ok(()), "at {t}: {history:?}");
            assert!(history.failures.len() <= 3);
        }
    }

    #[test]
    fn a_zero_threshold_turns_the_breaker_off_and_huge_ones_are_capped() {
        let off = policy(0, 60);
        let history = after(&off, &[1, 1, 1, 1, 1, 1]);
        assert_eq!(off.check(&history, 1), Ok(()));
        assert!(history.failures.len() <= 1);
        let huge = policy(u32::MAX, 60);
        let history = after(&huge, &vec![5; 150]);
        assert_eq!(history.failures.len(), MAX_TRACKED);
        assert!(huge.check(&history, 5).is_err());
    }

    #[test]
    fn times_from_the_future_or_a_stale_record_do_not_lock_anyone_out() {
        let p = policy(2, 60);
        let skewed = History {
            failures: vec![10_000, 10_001],
        };
        let history = p.record_failure(&skewed, 100);
        assert_eq!(history.failures, vec![100], "future times are dropped");
        assert_eq!(p.check(&History::decode(b"not json"), 0), Ok(()));
        assert_eq!(History::decode(b"{\"f\":[1,2]}").failures, vec![1, 2]);
        let round_trip = History::decode(&after(&p, &[7, 8]).encode());
        assert_eq!(round_trip.failures, vec![7, 8]);
        assert_eq!(
            p.check(
                &History {
                    failures: vec![u64::MAX, u64::MAX]
                },
                0
            )
            .expect_err("saturates")
            .retry_after(),
            Some(u64::MAX)
        );
    }

    #[test]
    fn only_upstream_trouble_counts() {
        let upstream = |status| GatewayError::Upstream {
            status,
            code: None,
            message: String::new(),
            provider_raw: None,
            retry_after: None,
            detail: None,
        };
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(counts_as_failure(&upstream(status)), "{status}");
        }
        for status in [400, 401, 402, 403, 404, 413, 422] {
            assert!(!counts_as_failure(&upstream(status)), "{status}");
        }
        assert!(counts_as_failure(&GatewayError::UpstreamConnection(
            "x".into()
        )));
        assert!(counts_as_failure(&GatewayError::UpstreamTimeout(
            "x".into()
        )));
        assert!(!counts_as_failure(&GatewayError::InvalidRequest(
            "x".into()
        )));
        assert!(!counts_as_failure(&GatewayError::MissingApiKey));
    }

    #[test]
    fn identity_prefers_user_then_header_then_client_and_is_stored_hashed() {
        let auth = Some("key-0123456789abcdef");
        assert_eq!(
            user_identity(Some("alice"), Some("u1"), auth).as_deref(),
            Some("user:alice")
        );
        assert_eq!(
            user_identity(Some("  "), Some("u1"), auth).as_deref(),
            Some("owui:u1")
        );
        assert_eq!(
            user_identity(None, None, auth).as_deref(),
            Some("client:key-0123456789abcdef")
        );
        assert_eq!(user_identity(None, None, Some(" ")), None);
        assert_eq!(user_identity(None, None, None), None);
        let key = storage_key("key:sk-secret-key");
        assert!(!key.contains("sk-secret"));
        assert_eq!(key.len(), "breaker:".len() + 64);
        assert_eq!(key, storage_key("key:sk-secret-key"), "stable");
        assert_ne!(key, storage_key("key:sk-other"));
        assert_ne!(storage_key("user:a"), storage_key("owui:a"));
    }
}
