//! The usage log: one SQL row per finished chat completion (tokens and cost), the
//! durable record behind cost telemetry.
//!
//! This module only builds statements; the component runs them through the `sql` import.
//! Statements use the SQL that SQLite and PostgreSQL share, with `$N` placeholders.

use crate::db::SqlValue;

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

/// What one request used. Token counts are absent when the upstream never reported them
/// (an interrupted stream).
#[derive(Debug, Clone, PartialEq, Default)]
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
             prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_usd) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (request_id) DO NOTHING",
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
            ],
        )
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
    }
}
