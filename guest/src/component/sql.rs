//! The `sql` import, with the component's own value type converted at the edge.

use super::orpipe::gateway::sql as wit;
use crate::usage_log::SqlValue;

fn to_wit(value: SqlValue) -> wit::Value {
    match value {
        SqlValue::Null => wit::Value::Null,
        SqlValue::Integer(n) => wit::Value::Integer(n),
        SqlValue::Real(x) => wit::Value::Real(x),
        SqlValue::Text(s) => wit::Value::Text(s),
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

/// Runs statements in one transaction.
pub fn batch(statements: &[&str]) -> Result<Vec<u64>, String> {
    let statements: Vec<wit::Statement> = statements
        .iter()
        .map(|sql| wit::Statement {
            sql: (*sql).to_owned(),
            params: Vec::new(),
        })
        .collect();
    wit::batch(&statements).map_err(describe)
}
