//! PostgreSQL errors as `sql` errors, by SQLSTATE class, and their text (with the cause,
//! which the drivers' own text omits; never the password, which no error carries).

use super::super::SqlError;
use deadpool_postgres::PoolError;
use std::error::Error as _;

/// A pool error's text including its cause (deadpool's own text omits it).
pub fn pool_error_text(error: &PoolError) -> String {
    match error {
        PoolError::Backend(e) => error_chain(e),
        other => other.to_string(),
    }
}

fn error_chain(error: &tokio_postgres::Error) -> String {
    match error.source() {
        Some(source) if !error.to_string().contains(&source.to_string()) => {
            format!("{error}: {source}")
        }
        _ => error.to_string(),
    }
}

pub fn to_sql_error(error: tokio_postgres::Error) -> SqlError {
    let text = match error.as_db_error() {
        Some(db) => db.to_string(),
        None => error_chain(&error),
    };
    match error.code().map(|c| c.code()) {
        Some(code) if code.starts_with("23") => SqlError::Constraint(text),
        // 42: syntax errors, unknown tables/columns, type mismatches the server found.
        Some(code) if code.starts_with("42") => SqlError::InvalidStatement(text),
        // 08: connection exceptions; 53: out of resources; 57P: the server is shutting
        // down or not yet accepting connections. All may pass.
        Some(code)
            if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") =>
        {
            SqlError::Unavailable(text)
        }
        Some(_) => SqlError::Other(text),
        None if error.is_closed() || error.source().is_some_and(|s| s.is::<std::io::Error>()) => {
            SqlError::Unavailable(text)
        }
        None => SqlError::Other(text),
    }
}
