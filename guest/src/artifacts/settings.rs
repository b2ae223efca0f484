//! The artifact settings, from `wasi:config` keys (the host maps `ORPIPE_ARTIFACT_*` and
//! `ORPIPE_PERSIST_REASONING` onto them).

use super::keys::Keyring;
use crate::settings::{SettingsError, parse_flag};

pub mod keys {
    pub const ARTIFACT_KEY: &str = "artifact_key";
    /// Comma-separated secrets of earlier keys, kept for reading.
    pub const ARTIFACT_OLD_KEYS: &str = "artifact_old_keys";
    pub const PERSIST_REASONING: &str = "persist_reasoning";
    pub const RETENTION_DAYS: &str = "artifact_retention_days";
    pub const CLEANUP_BATCH: &str = "artifact_cleanup_batch";
}

#[derive(Debug, Clone)]
pub struct ArtifactSettings {
    /// Whether reasoning is stored and replayed at all.
    pub persist: bool,
    pub keyring: Keyring,
    pub retention_days: u64,
    pub cleanup_batch: u32,
}

impl ArtifactSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let value = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // Besides the usual flag words, the original pipe's mode names.
        let persist = match value(keys::PERSIST_REASONING).as_deref() {
            None | Some("conversation") => true,
            Some("disabled") => false,
            Some(other) => parse_flag(other).ok_or_else(|| SettingsError::Invalid {
                key: keys::PERSIST_REASONING,
                reason: format!("{other:?} is neither on nor off"),
            })?,
        };
        let number = |key: &'static str, default: u64, max: u64| match value(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(SettingsError::Invalid {
                    key,
                    reason: format!("{raw:?} is not a whole number from 1 to {max}"),
                }),
        };
        let old = value(keys::ARTIFACT_OLD_KEYS).unwrap_or_default();
        Ok(Self {
            persist,
            keyring: Keyring::from_secrets(value(keys::ARTIFACT_KEY).as_deref(), old.split(',')),
            retention_days: number(keys::RETENTION_DAYS, super::DEFAULT_RETENTION_DAYS, 36_500)?,
            cleanup_batch: u32::try_from(number(
                keys::CLEANUP_BATCH,
                u64::from(super::DEFAULT_CLEANUP_BATCH),
                100_000,
            )?)
            .unwrap_or(super::DEFAULT_CLEANUP_BATCH),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<ArtifactSettings, SettingsError> {
        ArtifactSettings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_persist_unencrypted_for_ninety_days() {
        let s = settings(&[]).expect("defaults");
        assert!(s.persist);
        assert!(s.keyring.current().is_none());
        assert_eq!((s.retention_days, s.cleanup_batch), (90, 500));
    }

    #[test]
    fn keys_modes_and_limits_are_read() {
        let s = settings(&[
            (keys::ARTIFACT_KEY, "new"),
            (keys::ARTIFACT_OLD_KEYS, "old1, old2"),
            (keys::PERSIST_REASONING, "off"),
            (keys::RETENTION_DAYS, "7"),
            (keys::CLEANUP_BATCH, "50"),
        ])
        .expect("valid");
        assert!(!s.persist);
        let old = super::super::keys::ArtifactKey::derive("old2").id;
        assert!(s.keyring.find(&old).is_some());
        assert_eq!((s.retention_days, s.cleanup_batch), (7, 50));
        for (key, bad) in [
            (keys::PERSIST_REASONING, "sometimes"),
            (keys::RETENTION_DAYS, "0"),
            (keys::CLEANUP_BATCH, "-1"),
        ] {
            let error = settings(&[(key, bad)]).expect_err("invalid");
            assert!(error.to_string().contains(key), "{error}");
        }
    }
}
