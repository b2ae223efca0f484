//! The `orpipe_artifacts` table: statements only; the component runs them.
//!
//! One row per artifact: its ULID, the conversation it belongs to, the item type and the
//! model that produced it (reasoning is only replayed to that model), the key id and the
//! sealed payload (see `codec`), and two times in Unix milliseconds. `used_at_ms` moves
//! forward when the artifact is replayed, so retention counts from last use and a
//! conversation picked up after months keeps its reasoning as long as it is used.

use super::codec::Sealed;
use crate::db::{SqlValue, Statement, placeholders};

pub const MIGRATIONS: &[&str] = &[
    // BYTEA is PostgreSQL's binary type; SQLite accepts the name and stores blobs as is.
    "CREATE TABLE IF NOT EXISTS orpipe_artifacts (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    item_type TEXT NOT NULL,
    model TEXT,
    key_id TEXT,
    payload BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT NOT NULL
)",
    "CREATE INDEX IF NOT EXISTS orpipe_artifacts_chat ON orpipe_artifacts (chat_id)",
    "CREATE INDEX IF NOT EXISTS orpipe_artifacts_used ON orpipe_artifacts (used_at_ms)",
];

/// Replays refresh `used_at_ms` at most this often, so a busy conversation does not
/// write on every turn.
pub const TOUCH_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// One artifact to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArtifact {
    pub id: String,
    pub chat_id: String,
    pub item_type: String,
    pub model: String,
    pub sealed: Sealed,
}

/// One stored artifact as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArtifact {
    pub id: String,
    pub item_type: String,
    pub model: Option<String>,
    pub sealed: Sealed,
}

fn ms(value: u64) -> SqlValue {
    SqlValue::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn optional_text(value: Option<&str>) -> SqlValue {
    value.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_owned()))
}

/// An insert per artifact; storing the same id twice keeps the first.
pub fn insert(artifacts: &[NewArtifact], now_ms: u64) -> Vec<Statement> {
    artifacts
        .iter()
        .map(|a| Statement {
            sql: "INSERT INTO orpipe_artifacts (id, chat_id, item_type, model, key_id, payload, \
                  created_at_ms, used_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                  ON CONFLICT (id) DO NOTHING"
                .to_owned(),
            params: vec![
                SqlValue::Text(a.id.clone()),
                SqlValue::Text(a.chat_id.clone()),
                SqlValue::Text(a.item_type.clone()),
                SqlValue::Text(a.model.clone()),
                optional_text(a.sealed.key_id.as_deref()),
                SqlValue::Blob(a.sealed.payload.clone()),
                ms(now_ms),
            ],
        })
        .collect()
}

/// The columns `parse_rows` expects, for `ids` of one conversation.
pub fn select(chat_id: &str, ids: &[String]) -> Statement {
    let mut params = vec![SqlValue::Text(chat_id.to_owned())];
    params.extend(ids.iter().cloned().map(SqlValue::Text));
    Statement {
        sql: format!(
            "SELECT id, item_type, model, key_id, payload FROM orpipe_artifacts \
             WHERE chat_id = $1 AND id IN ({})",
            placeholders(2, ids.len())
        ),
        params,
    }
}

/// Rows of `select`; rows of any other shape are skipped.
pub fn parse_rows(rows: Vec<Vec<SqlValue>>) -> Vec<StoredArtifact> {
    rows.into_iter()
        .filter_map(|row| {
            let mut row = row.into_iter();
            let (
                Some(SqlValue::Text(id)),
                Some(SqlValue::Text(item_type)),
                Some(model),
                Some(key_id),
                Some(SqlValue::Blob(payload)),
            ) = (row.next(), row.next(), row.next(), row.next(), row.next())
            else {
                return None;
            };
            Some(StoredArtifact {
                id,
                item_type,
                model: model.as_text().map(str::to_owned),
                sealed: Sealed {
                    key_id: key_id.as_text().map(str::to_owned),
                    payload,
                },
            })
        })
        .collect()
}

/// Marks replayed artifacts as used now (only those not touched for a day).
pub fn touch(chat_id: &str, ids: &[String], now_ms: u64) -> Statement {
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let mut params = vec![
        SqlValue::Integer(now),
        SqlValue::Integer(now.saturating_sub(TOUCH_AFTER_MS)),
        SqlValue::Text(chat_id.to_owned()),
    ];
    params.extend(ids.iter().cloned().map(SqlValue::Text));
    Statement {
        sql: format!(
            "UPDATE orpipe_artifacts SET used_at_ms = $1 \
             WHERE used_at_ms < $2 AND chat_id = $3 AND id IN ({})",
            placeholders(4, ids.len())
        ),
        params,
    }
}

/// Deletes up to `batch` artifacts unused since `cutoff_ms`; the job repeats it until a
/// run deletes fewer than `batch`, so no single statement holds locks for long.
pub fn delete_expired(cutoff_ms: u64, batch: u32) -> Statement {
    Statement {
        sql: "DELETE FROM orpipe_artifacts WHERE id IN \
              (SELECT id FROM orpipe_artifacts WHERE used_at_ms < $1 LIMIT $2)"
            .to_owned(),
        params: vec![ms(cutoff_ms), SqlValue::Integer(i64::from(batch))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_bind_every_placeholder_they_use() {
        let ids = vec!["A".to_owned(), "B".to_owned()];
        let select = select("chat", &ids);
        assert!(select.sql.ends_with("IN ($2, $3)"), "{}", select.sql);
        assert_eq!(select.params.len(), 3);
        let touch = touch("chat", &ids, 100_000_000_000);
        assert!(touch.sql.ends_with("IN ($4, $5)"), "{}", touch.sql);
        assert_eq!(touch.params.len(), 5);
        assert_eq!(
            touch.params[1],
            SqlValue::Integer(100_000_000_000 - TOUCH_AFTER_MS)
        );
        let new = NewArtifact {
            id: "01ID".into(),
            chat_id: "c".into(),
            item_type: "reasoning".into(),
            model: "m/x".into(),
            sealed: Sealed {
                key_id: None,
                payload: vec![1, 0],
            },
        };
        let insert = insert(&[new], 5);
        assert_eq!(insert[0].params.len(), 7);
        assert_eq!(insert[0].params[4], SqlValue::Null);
        assert_eq!(insert[0].params[6], SqlValue::Integer(5));
    }

    #[test]
    fn rows_of_the_wrong_shape_are_skipped() {
        let good = vec![
            SqlValue::Text("01ID".into()),
            SqlValue::Text("reasoning".into()),
            SqlValue::Null,
            SqlValue::Text("abcd".into()),
            SqlValue::Blob(vec![1, 0]),
        ];
        let mut bad = good.clone();
        bad[4] = SqlValue::Text("not a blob".into());
        let parsed = parse_rows(vec![good, bad, vec![]]);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].model, None);
        assert_eq!(parsed[0].sealed.key_id.as_deref(), Some("abcd"));
    }
}
