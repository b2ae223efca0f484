//! Where overrides live: one SQL row per overridden key (so they survive restarts and
//! every replica sharing PostgreSQL sees them), and one key-value entry caching all of
//! them with the time they were read (so a request costs one key-value read, not a query).
//!
//! A cached entry older than [`FRESH_MS`] is read again from SQL: a replica with its own
//! in-memory key-value sees another replica's change within seconds; replicas sharing
//! Redis see it at once, because an update writes the entry through.
//!
//! This module only builds statements and entries; `component/overrides.rs` runs them.

use super::find;
use super::update::Update;
use crate::db::{SqlValue, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema statements, each idempotent, run by the `migrate` job at start-up.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS orpipe_setting_overrides (
    setting TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
)"];

pub const SELECT_ALL: &str = "SELECT setting, value FROM orpipe_setting_overrides";

/// The key-value entry holding the cached overrides.
pub const CACHE_KEY: &str = "settings:v1:overrides";

/// How long a cached entry is used before SQL is read again.
pub const FRESH_MS: u64 = 5_000;

/// The overrides as cached in key-value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    /// When they were read from SQL (or written), Unix milliseconds.
    pub loaded_at_ms: u64,
    pub values: BTreeMap<String, String>,
}

impl Cached {
    /// Whether the entry may be used at `now_ms` instead of reading SQL. An entry from
    /// the future (a replica whose clock is ahead) counts as fresh only within the same
    /// bound, so a skewed clock cannot pin old values.
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms.abs_diff(self.loaded_at_ms) < FRESH_MS
    }
}

/// Rows of [`SELECT_ALL`] as overrides. Rows of keys that are not live settings (from a
/// newer orpipe, or written by hand) are ignored, so no row can set a secret or a key
/// orpipe does not allow to change live.
pub fn from_rows(rows: Vec<Vec<SqlValue>>) -> BTreeMap<String, String> {
    rows.into_iter()
        .filter_map(|row| {
            let mut columns = row.into_iter();
            let key = columns.next()?.as_text()?.to_owned();
            let value = columns.next()?.as_text()?.to_owned();
            find(&key).map(|valve| (valve.key.to_owned(), value))
        })
        .collect()
}

/// The statements that store `update` (one transaction): an upsert per key set or
/// changed, a delete per key removed.
pub fn statements(update: &Update, now_ms: u64) -> Vec<Statement> {
    let now = SqlValue::Integer(i64::try_from(now_ms).unwrap_or(i64::MAX));
    update
        .changed
        .iter()
        .map(|key| match update.overrides.get(*key) {
            Some(value) => Statement {
                sql: "INSERT INTO orpipe_setting_overrides (setting, value, updated_at_ms) \
                      VALUES ($1, $2, $3) ON CONFLICT (setting) DO UPDATE \
                      SET value = excluded.value, updated_at_ms = excluded.updated_at_ms"
                    .to_owned(),
                params: vec![
                    SqlValue::Text((*key).to_owned()),
                    SqlValue::Text(value.clone()),
                    now.clone(),
                ],
            },
            None => Statement {
                sql: "DELETE FROM orpipe_setting_overrides WHERE setting = $1".to_owned(),
                params: vec![SqlValue::Text((*key).to_owned())],
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_overrides_of_live_keys_only() {
        let row = |k: &str, v: &str| vec![SqlValue::Text(k.into()), SqlValue::Text(v.into())];
        let values = from_rows(vec![
            row("upstream_retries", "0"),
            row("openrouter_base_url", "https://evil.example"),
            row("artifact_key", "guess"),
            vec![SqlValue::Text("model_allow".into()), SqlValue::Null],
            vec![],
        ]);
        assert_eq!(
            values,
            BTreeMap::from([("upstream_retries".to_owned(), "0".to_owned())])
        );
    }

    #[test]
    fn an_update_is_upserts_and_deletes_of_the_changed_keys() {
        let update = Update {
            overrides: BTreeMap::from([
                ("upstream_retries".to_owned(), "0".to_owned()),
                ("breaker_failures".to_owned(), "3".to_owned()),
            ]),
            changed: vec!["upstream_retries", "model_allow"],
        };
        let statements = statements(&update, 42);
        assert_eq!(statements.len(), 2, "unchanged keys are not written");
        assert!(statements[0].sql.starts_with("INSERT"));
        assert_eq!(
            statements[0].params,
            vec![
                SqlValue::Text("upstream_retries".into()),
                SqlValue::Text("0".into()),
                SqlValue::Integer(42)
            ]
        );
        assert!(statements[1].sql.starts_with("DELETE"));
        assert_eq!(
            statements[1].params,
            vec![SqlValue::Text("model_allow".into())]
        );
    }

    #[test]
    fn a_cached_entry_is_fresh_for_a_few_seconds_either_way() {
        let cached = Cached {
            loaded_at_ms: 100_000,
            values: BTreeMap::new(),
        };
        assert!(cached.is_fresh(100_000));
        assert!(cached.is_fresh(104_999));
        assert!(!cached.is_fresh(105_000));
        assert!(cached.is_fresh(96_000), "a little clock skew");
        assert!(
            !cached.is_fresh(50_000),
            "an entry from far in the future is reread"
        );
    }

    #[test]
    fn the_migration_is_idempotent() {
        assert!(MIGRATIONS.iter().all(|m| m.contains("IF NOT EXISTS")));
    }
}
