//! The `orpipe:gateway/sql` import: parameterised statements with `$N` placeholders.
//!
//! The embedded backend is a SQLite file (`sqlite`); the scale-out backend is PostgreSQL
//! (`postgres`), behind the same `Sql` trait. In front of either, `deferred` serves the
//! `defer` call: writes queued and group-committed off the answer path. The host never
//! interprets statements: the schema is the guest's.

#[cfg(test)]
mod conformance;
pub mod deferred;
#[cfg(test)]
mod deferred_tests;
pub mod postgres;
pub mod sqlite;

use crate::bindings::orpipe::gateway::sql as wit;
use crate::state::State;
use async_trait::async_trait;

pub use wit::{Error as SqlError, QueryResult, Row, Statement, Value};

/// The error of the statement at `index` (0-based) of a batch, with the `statement N: `
/// prefix sql.wit promises (N 1-based), so the guest's log says which one failed.
pub fn in_batch(index: usize, error: SqlError) -> SqlError {
    let at = |message: String| format!("statement {}: {message}", index.saturating_add(1));
    match error {
        SqlError::InvalidStatement(m) => SqlError::InvalidStatement(at(m)),
        SqlError::Constraint(m) => SqlError::Constraint(at(m)),
        SqlError::Unavailable(m) => SqlError::Unavailable(at(m)),
        SqlError::Other(m) => SqlError::Other(at(m)),
    }
}

#[async_trait]
pub trait Sql: Send + Sync {
    /// One line for the start-up log.
    fn summary(&self) -> String;
    async fn query(&self, statement: String, params: Vec<Value>) -> Result<QueryResult, SqlError>;
    async fn execute(&self, statement: String, params: Vec<Value>) -> Result<u64, SqlError>;
    /// All statements in one transaction.
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, SqlError>;
}

impl wit::Host for State {
    async fn query(
        &mut self,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, SqlError>> {
        Ok(self.caps.sql.query(statement, params).await)
    }

    async fn execute(
        &mut self,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        Ok(self.caps.sql.execute(statement, params).await)
    }

    async fn batch(
        &mut self,
        statements: Vec<Statement>,
    ) -> wasmtime::Result<Result<Vec<u64>, SqlError>> {
        Ok(self.caps.sql.batch(statements).await)
    }

    async fn defer(
        &mut self,
        statements: Vec<Statement>,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        Ok(self.caps.sql_deferred.defer(statements).await)
    }
}
