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

/// A column added to a table after its first version. SQLite has no `ADD COLUMN IF NOT
/// EXISTS`, so the `migrate` job asks first (`probe_sql` fails on a missing column, in
/// both databases) and adds the column only when it is missing. Two replicas adding it at
/// once: one fails, the host retries the job, and the retry finds the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub sql_type: &'static str,
}

impl AddedColumn {
    /// Reads no row; an "invalid statement" error means the column is missing.
    pub fn probe_sql(&self) -> String {
        format!("SELECT {} FROM {} LIMIT 0", self.column, self.table)
    }

    pub fn add_sql(&self) -> String {
        format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            self.table, self.column, self.sql_type
        )
    }
}

/// Every column added since the tables' first versions, in the order they were added.
pub fn added_columns() -> &'static [AddedColumn] {
    crate::usage_log::ADDED_COLUMNS
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
    fn an_added_column_is_probed_then_added_in_shared_sql() {
        let column = AddedColumn {
            table: "orpipe_usage",
            column: "chat_id",
            sql_type: "TEXT",
        };
        assert_eq!(
            column.probe_sql(),
            "SELECT chat_id FROM orpipe_usage LIMIT 0"
        );
        assert_eq!(
            column.add_sql(),
            "ALTER TABLE orpipe_usage ADD COLUMN chat_id TEXT"
        );
    }

    #[test]
    fn every_migration_is_idempotent() {
        for statement in migrations() {
            assert!(statement.contains("IF NOT EXISTS"), "{statement}");
        }
    }
}
