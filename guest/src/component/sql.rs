//! The `sql` import, with the component's own value type converted at the edge.

use super::orpipe::gateway::sql as wit;
use crate::db::{AddedColumn, SqlValue, Statement};

fn to_wit(value: SqlValue) -> wit::Value {
    match value {
        SqlValue::Null => wit::Value::Null,
        SqlValue::Integer(n) => wit::Value::Integer(n),
        SqlValue::Real(x) => wit::Value::Real(x),
        SqlValue::Text(s) => wit::Value::Text(s),
        SqlValue::Blob(b) => wit::Value::Blob(b),
    }
}

fn from_wit(value: wit::Value) -> SqlValue {
    match value {
        wit::Value::Null => SqlValue::Null,
        wit::Value::Integer(n) => SqlValue::Integer(n),
        wit::Value::Real(x) => SqlValue::Real(x),
        wit::Value::Text(s) => SqlValue::Text(s),
        wit::Value::Blob(b) => SqlValue::Blob(b),
    }
}

fn describe(error: wit::Error) -> String {
    match error {
        wit::Error::InvalidStatement(m) => format!("invalid statement: {m}"),
        wit::Error::Constraint(m) => format!("constraint: {m}"),
        wit::Error::Unavailable(m) => format!("database unavailable: {m}"),
        wit::Error::Other(m) => m,
    }
}

pub fn execute(statement: &str, params: Vec<SqlValue>) -> Result<u64, String> {
    let params: Vec<wit::Value> = params.into_iter().map(to_wit).collect();
    wit::execute(statement, &params).map_err(describe)
}

/// Rows of a query, each as its column values in order.
pub fn query(statement: &Statement) -> Result<Vec<Vec<SqlValue>>, String> {
    let params: Vec<wit::Value> = statement.params.iter().cloned().map(to_wit).collect();
    let result = wit::query(&statement.sql, &params).map_err(describe)?;
    Ok(result
        .rows
        .into_iter()
        .map(|row| row.values.into_iter().map(from_wit).collect())
        .collect())
}

fn to_wit_statements(statements: Vec<Statement>) -> Vec<wit::Statement> {
    statements
        .into_iter()
        .map(|s| wit::Statement {
            sql: s.sql,
            params: s.params.into_iter().map(to_wit).collect(),
        })
        .collect()
}

/// Runs statements in one transaction.
pub fn batch(statements: Vec<Statement>) -> Result<Vec<u64>, String> {
    wit::batch(&to_wit_statements(statements)).map_err(describe)
}

/// Queues statements for the host to write later, together, with other queued writes
/// (group commit). `Ok` means queued, not written: only for rows nothing reads back at
/// once. The host logs a write that then fails; this call only fails while it shuts down.
pub fn defer(statements: Vec<Statement>) -> Result<(), String> {
    wit::defer(&to_wit_statements(statements)).map_err(describe)
}

/// Whether a table already has an added column: its probe reads no row, and fails as an
/// invalid statement only when the column is missing.
pub fn has_column(column: &AddedColumn) -> Result<bool, String> {
    match wit::query(&column.probe_sql(), &[]) {
        Ok(_) => Ok(true),
        Err(wit::Error::InvalidStatement(_)) => Ok(false),
        Err(other) => Err(describe(other)),
    }
}
