//! The usage log: one SQL row per finished chat completion (tokens and cost, and who and
//! which chat they are billed to), the durable record behind cost telemetry; and, when
//! the operator turns it on, the same record exported to the shared key-value store
//! under `usage:` (docs/metrics.md, "Usage export").
//!
//! This module only builds statements, keys and values; the component runs them through
//! the `sql` and `wasi:keyvalue` imports. Statements use the SQL that SQLite and
//! PostgreSQL share, with `$N` placeholders.

use crate::db::{AddedColumn, SqlValue};
use serde::Serialize;

/// Schema statements, each idempotent, run by the `migrate` job at start-up.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS orpipe_usage (
    request_id TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL,
    model TEXT NOT NULL,
    response_id TEXT,
    outcome TEXT NOT NULL,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    reasoning_tokens BIGINT,
    cached_tokens BIGINT,
    cost_usd DOUBLE PRECISION
)"];

/// Columns added after the table's first version; the `migrate` job adds each one a
/// database lacks (`db::AddedColumn`).
pub const ADDED_COLUMNS: &[AddedColumn] = &[
    AddedColumn {
        table: "orpipe_usage",
        column: "user_hash",
        sql_type: "TEXT",
    },
    AddedColumn {
        table: "orpipe_usage",
        column: "chat_id",
        sql_type: "TEXT",
    },
];

/// Where exported records live in the key-value store. The host expires keys under this
/// prefix (`ORPIPE_USAGE_EXPORT_TTL_SECS`), since `wasi:keyvalue` has no expiry.
pub const EXPORT_PREFIX: &str = "usage:";

/// Salt of the user hash: a different derivation from the session id's, so one never
/// reveals the other.
const USER_HASH_SALT: &[u8] = b"orpipe/usage-user/v1";

/// What one request used, and whom it is billed to. Token counts are absent when the
/// upstream never reported them (an interrupted stream).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UsageRecord {
    pub request_id: String,
    pub created_at_ms: u64,
    pub model: String,
    pub response_id: Option<String>,
    /// `completed`, `interrupted`, `client_gone`, …: how the request ended.
    pub outcome: String,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// [`user_hash`] of the user the request belongs to; never the id itself.
    pub user_hash: Option<String>,
    /// Open WebUI's chat id, when the request came from a chat.
    pub chat_id: Option<String>,
}

/// 64 hex characters: a keyed hash (HKDF-SHA256 under the deployment's secret) of the
/// user identity (`breaker::user_identity`). Stable per user and across replicas, so
/// rows can be summed per user; without the secret it cannot be traced back to the id.
pub fn user_hash(secret: &str, identity: &str) -> String {
    crate::translate::identifiers::keyed_hash(USER_HASH_SALT, secret, identity)
}

impl UsageRecord {
    pub fn insert_statement(&self) -> (&'static str, Vec<SqlValue>) {
        let count = |n: Option<u64>| match n.and_then(|n| i64::try_from(n).ok()) {
            Some(n) => SqlValue::Integer(n),
            None => SqlValue::Null,
        };
        let text = |s: &Option<String>| s.clone().map_or(SqlValue::Null, SqlValue::Text);
        (
            "INSERT INTO orpipe_usage (request_id, created_at_ms, model, response_id, outcome, \
             prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_usd, \
             user_hash, chat_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (request_id) DO NOTHING",
            vec![
                SqlValue::Text(self.request_id.clone()),
                count(Some(self.created_at_ms)),
                SqlValue::Text(self.model.clone()),
                text(&self.response_id),
                SqlValue::Text(self.outcome.clone()),
                count(self.prompt_tokens),
                count(self.completion_tokens),
                count(self.reasoning_tokens),
                count(self.cached_tokens),
                self.cost_usd.map_or(SqlValue::Null, SqlValue::Real),
                text(&self.user_hash),
                text(&self.chat_id),
            ],
        )
    }

    /// The export's key: `usage:<user hash or "anonymous">:<request id>`, so one user's
    /// records can be listed by prefix, and request ids (ULIDs) sort them by time.
    pub fn export_key(&self) -> String {
        let user = self.user_hash.as_deref().unwrap_or("anonymous");
        format!("{EXPORT_PREFIX}{user}:{}", self.request_id)
    }

    /// The export's value: the record as one JSON object, field names as in the table.
    pub fn export_value(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_has_a_value_in_order() {
        let record = UsageRecord {
            request_id: "r1".into(),
            created_at_ms: 1_700_000_000_000,
            model: "openai/gpt-4o".into(),
            outcome: "completed".into(),
            prompt_tokens: Some(10),
            cost_usd: Some(0.25),
            chat_id: Some("chat-1".into()),
            ..Default::default()
        };
        let (sql, params) = record.insert_statement();
        let placeholders = (1..=20)
            .filter(|n| sql.contains(&format!("${n},")) || sql.contains(&format!("${n})")))
            .count();
        assert_eq!(placeholders, params.len());
        assert_eq!(params[0], SqlValue::Text("r1".into()));
        assert_eq!(params[3], SqlValue::Null, "no response id");
        assert_eq!(params[5], SqlValue::Integer(10));
        assert_eq!(params[9], SqlValue::Real(0.25));
        assert_eq!(params[10], SqlValue::Null, "no user hash");
        assert_eq!(params[11], SqlValue::Text("chat-1".into()));
    }

    #[test]
    fn the_user_hash_is_keyed_stable_and_never_the_id() {
        let hash = user_hash("secret", "owui:user-7");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("user-7"));
        assert_eq!(hash, user_hash("secret", "owui:user-7"), "stable");
        assert_ne!(hash, user_hash("other secret", "owui:user-7"), "keyed");
        assert_ne!(hash, user_hash("secret", "owui:user-8"), "per user");
        assert_ne!(
            hash,
            crate::translate::identifiers::session_id("secret", "owui:user-7"),
            "not the session id's derivation"
        );
    }

    #[test]
    fn the_export_is_keyed_by_user_and_request_and_holds_the_whole_record() {
        let mut record = UsageRecord {
            request_id: "01J0000000000000000000000A".into(),
            model: "openai/gpt-4o".into(),
            outcome: "completed".into(),
            completion_tokens: Some(7),
            ..Default::default()
        };
        assert_eq!(
            record.export_key(),
            "usage:anonymous:01J0000000000000000000000A"
        );
        record.user_hash = Some("ab12".into());
        assert_eq!(record.export_key(), "usage:ab12:01J0000000000000000000000A");
        let value: serde_json::Value =
            serde_json::from_slice(&record.export_value()).expect("JSON");
        assert_eq!(value["model"], "openai/gpt-4o");
        assert_eq!(value["completion_tokens"], 7);
        assert_eq!(value["user_hash"], "ab12");
        assert!(value["chat_id"].is_null());
    }
}
