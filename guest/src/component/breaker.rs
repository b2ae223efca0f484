//! The per-user request breaker's storage: one small record per user in `wasi:keyvalue`
//! (Redis when configured, so every replica sees the same count). The decisions are
//! `crate::breaker` (pure). A missing or failing store never blocks a request: the
//! breaker then simply does not trip.
//!
//! Read-modify-write without a lock: two replicas recording a failure at the same
//! moment may count it once. A breaker only needs to be roughly right.

use super::{kv, log, unix_now};
use crate::breaker::{BreakerPolicy, History, storage_key};
use crate::errors::GatewayError;
use crate::logline::{Event, Level};

/// One user's breaker for the duration of a request.
pub struct UserBreaker {
    policy: BreakerPolicy,
    key: String,
    history: History,
}

impl UserBreaker {
    /// `None` when the breaker is off or the request names nobody.
    pub fn load(policy: &BreakerPolicy, identity: Option<&str>) -> Option<Self> {
        if policy.failures == 0 {
            return None;
        }
        let key = storage_key(identity?);
        let history = kv::get(&key)
            .map(|bytes| History::decode(&bytes))
            .unwrap_or_default();
        Some(Self {
            policy: policy.clone(),
            key,
            history,
        })
    }

    /// `Err(UserDisabled)` while this user is disabled.
    pub fn check(&self) -> Result<(), GatewayError> {
        self.policy.check(&self.history, unix_now().0)
    }

    pub fn record_failure(&self) {
        let now = unix_now().0;
        let history = self.policy.record_failure(&self.history, now);
        let _ = kv::set(&self.key, history.encode());
        if self.policy.check(&self.history, now).is_ok()
            && self.policy.check(&history, now).is_err()
        {
            // The key is a hash: it names no user, yet lets an operator follow one breaker.
            log::event(
                Level::Warn,
                "user breaker opened",
                Event::BreakerTripped,
                &[("breaker", serde_json::json!(self.key))],
            );
        }
    }

    /// A success forgets earlier failures; nothing is written when there were none.
    pub fn record_success(&self) {
        if !self.history.failures.is_empty() {
            let _ = kv::delete(&self.key);
        }
    }
}
