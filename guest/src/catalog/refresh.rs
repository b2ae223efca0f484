//! When to fetch the catalog again: the freshness and back-off policy, kept pure so it
//! can be tested without clocks or networks.
//!
//! A fresh catalog is served as is. A stale one triggers a refetch; if that fails, the
//! stale catalog keeps being served and the next attempt waits 5 s, 10 s, 20 s … (capped
//! by the TTL, with jitter so replicas do not retry in lockstep). With no catalog at all,
//! the failure reaches the client.

use serde::{Deserialize, Serialize};

const FIRST_BACKOFF_MS: u64 = 5_000;

/// What the cache remembers about refreshing, beside the catalog itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshState {
    /// The catalog counts as fresh until then (unix ms).
    pub fresh_until_ms: u64,
    /// Failed refreshes in a row.
    pub failures: u32,
    /// No refetch before then (unix ms), after failures.
    pub retry_after_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Serve the cached catalog.
    UseCached,
    /// Fetch now (and fall back to the cached catalog, if any, when that fails).
    Fetch,
}

impl RefreshState {
    pub fn decide(&self, now_ms: u64, have_catalog: bool) -> Decision {
        if !have_catalog {
            return if now_ms >= self.retry_after_ms {
                Decision::Fetch
            } else {
                Decision::UseCached
            };
        }
        if now_ms < self.fresh_until_ms || now_ms < self.retry_after_ms {
            Decision::UseCached
        } else {
            Decision::Fetch
        }
    }

    pub fn succeeded(now_ms: u64, ttl_ms: u64) -> Self {
        Self {
            fresh_until_ms: now_ms.saturating_add(ttl_ms),
            failures: 0,
            retry_after_ms: 0,
        }
    }

    /// `jitter` in [0, 1) spreads retries between half and all of the back-off.
    pub fn failed(&self, now_ms: u64, ttl_ms: u64, jitter: f64) -> Self {
        let failures = self.failures.saturating_add(1);
        let backoff = FIRST_BACKOFF_MS
            .saturating_mul(1 << failures.saturating_sub(1).min(10))
            .min(ttl_ms.max(FIRST_BACKOFF_MS));
        let jitter = jitter.clamp(0.0, 1.0);
        let wait = (backoff as f64 * (0.5 + 0.5 * jitter)) as u64;
        Self {
            fresh_until_ms: self.fresh_until_ms,
            failures,
            retry_after_ms: now_ms.saturating_add(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: u64 = 600_000;

    #[test]
    fn fresh_catalogs_are_served_and_stale_ones_refetched() {
        let state = RefreshState::succeeded(1_000, TTL);
        assert_eq!(state.decide(1_000 + TTL - 1, true), Decision::UseCached);
        assert_eq!(state.decide(1_000 + TTL, true), Decision::Fetch);
        assert_eq!(
            RefreshState::default().decide(0, false),
            Decision::Fetch,
            "cold start fetches"
        );
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_up_to_the_ttl() {
        let mut state = RefreshState::succeeded(0, TTL);
        let mut waits = Vec::new();
        let mut now = TTL;
        for _ in 0..12 {
            state = state.failed(now, TTL, 1.0);
            waits.push(state.retry_after_ms - now);
            assert_eq!(
                state.decide(now, true),
                Decision::UseCached,
                "stale catalog served meanwhile"
            );
            now = state.retry_after_ms;
            assert_eq!(state.decide(now, true), Decision::Fetch);
        }
        assert_eq!(&waits[..4], &[5_000, 10_000, 20_000, 40_000]);
        assert_eq!(waits.last().copied(), Some(TTL), "capped by the TTL");
        let early = RefreshState::default().failed(0, TTL, 0.0);
        assert_eq!(
            early.retry_after_ms, 2_500,
            "no jitter draw waits half the back-off"
        );
        assert_eq!(
            RefreshState::succeeded(5, TTL).failures,
            0,
            "success resets the count"
        );
    }

    #[test]
    fn without_any_catalog_a_failure_still_waits_before_the_next_attempt() {
        let state = RefreshState::default().failed(1_000, TTL, 0.5);
        assert_eq!(
            state.decide(1_001, false),
            Decision::UseCached,
            "caller reports the outage"
        );
        assert_eq!(state.decide(state.retry_after_ms, false), Decision::Fetch);
    }
}
