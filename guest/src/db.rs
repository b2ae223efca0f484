//! What the component's SQL looks like, independent of the WIT bindings: values bound to
//! `$N` placeholders, and the schema every table module contributes to.
//!
//! Statements use the SQL that SQLite and PostgreSQL share, so one text serves both.

/// A value bound to a placeholder or read from a column (mirrors the WIT `sql.value`).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl SqlValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// One statement and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// `$first, $first+1, …` for `count` parameters: the list inside `IN (…)`.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole schema, each statement idempotent, run in one transaction by the `migrate`
/// job at start-up. Replicas starting together may race on `CREATE … IF NOT EXISTS`
/// (PostgreSQL can report a duplicate type); the host retries the job, and the retry
/// finds everything in place.
pub fn migrations() -> Vec<&'static str> {
    crate::usage_log::MIGRATIONS
        .iter()
        .chain(crate::artifacts::store::MIGRATIONS)
        .chain(crate::valves::store::MIGRATIONS)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_the_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn every_migration_is_idempotent() {
        for statement in migrations() {
            assert!(statement.contains("IF NOT EXISTS"), "{statement}");
        }
    }
}
