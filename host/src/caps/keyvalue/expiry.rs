//! Keys the host expires. `wasi:keyvalue` has no expiry, and the one thing the guest
//! writes that must expire is the usage export (`usage:` keys, one per finished turn,
//! read by a billing job and then useless). Rather than a WIT import of orpipe's own, the
//! host applies the operator's TTL to every key under that prefix: the guest keeps to the
//! standard interface, and how long billing data lives stays the operator's setting,
//! beside the Redis it lives in (docs/metrics.md, "Usage export").

use std::time::Duration;

/// The guest's `usage_log::EXPORT_PREFIX`.
pub const USAGE_EXPORT_PREFIX: &str = "usage:";

/// Keys under `prefix` (as the guest names them, before the Redis prefix) live `ttl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub prefix: &'static str,
    pub ttl: Duration,
}

impl Expiry {
    /// The usage export's expiry.
    pub fn usage_export(ttl: Duration) -> Self {
        Self {
            prefix: USAGE_EXPORT_PREFIX,
            ttl,
        }
    }

    /// Seconds `key` lives, when it expires at all (at least one: Redis refuses `EX 0`).
    pub fn seconds_for(&self, key: &str) -> Option<u64> {
        key.starts_with(self.prefix)
            .then(|| self.ttl.as_secs().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_under_the_prefix_expire() {
        let expiry = Expiry::usage_export(Duration::from_secs(900));
        assert_eq!(expiry.seconds_for("usage:ab:01J"), Some(900));
        assert_eq!(expiry.seconds_for("breaker:ab"), None);
        assert_eq!(expiry.seconds_for("catalog:usage:x"), None);
        let tiny = Expiry::usage_export(Duration::from_millis(10));
        assert_eq!(tiny.seconds_for("usage:x"), Some(1));
    }
}
