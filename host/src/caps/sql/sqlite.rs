//! The embedded SQL backend: one SQLite file in the data directory, in WAL mode.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool.

use super::{QueryResult, Row, Sql, SqlError, Statement, Value};
use anyhow::Context;
use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct SqliteDb {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteDb {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening SQLite at {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("switching SQLite to WAL mode")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, SqlError> + Send + 'static,
    ) -> Result<R, SqlError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A statement that panicked mid-way rolled back with its transaction; the
            // connection itself stays consistent.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| SqlError::Other(format!("SQLite worker failed: {e}")))?
    }
}

#[async_trait]
impl Sql for SqliteDb {
    fn summary(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    async fn query(&self, statement: String, params: Vec<Value>) -> Result<QueryResult, SqlError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(&statement).map_err(to_sql_error)?;
            bind(&mut stmt, &params)?;
            let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
            let mut rows = Vec::new();
            let mut cursor = stmt.raw_query();
            while let Some(row) = cursor.next().map_err(to_sql_error)? {
                let values = (0..columns.len())
                    .map(|i| row.get_ref(i).map(from_sqlite).map_err(to_sql_error))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(Row { values });
            }
            Ok(QueryResult { columns, rows })
        })
        .await
    }

    async fn execute(&self, statement: String, params: Vec<Value>) -> Result<u64, SqlError> {
        self.with_conn(move |conn| run(conn, &statement, &params))
            .await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, SqlError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(to_sql_error)?;
            let changed = statements
                .iter()
                .enumerate()
                .map(|(i, s)| run(&tx, &s.sql, &s.params).map_err(|e| super::in_batch(i, e)))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().map_err(to_sql_error)?;
            Ok(changed)
        })
        .await
    }
}

fn run(conn: &Connection, statement: &str, params: &[Value]) -> Result<u64, SqlError> {
    let mut stmt = conn.prepare_cached(statement).map_err(to_sql_error)?;
    bind(&mut stmt, params)?;
    let changed = stmt.raw_execute().map_err(to_sql_error)?;
    Ok(changed as u64)
}

/// Binds `$1..$N` by name. SQLite treats `$1` as a *named* parameter and numbers named
/// parameters by first appearance, so `SELECT $2, $1` bound by position would swap them.
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<(), SqlError> {
    if stmt.parameter_count() != params.len() {
        return Err(SqlError::InvalidStatement(format!(
            "the statement has {} placeholders but {} values were given",
            stmt.parameter_count(),
            params.len()
        )));
    }
    for (i, value) in params.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = stmt
            .parameter_index(&name)
            .map_err(to_sql_error)?
            .ok_or_else(|| {
                SqlError::InvalidStatement(format!("placeholder {name} is not in the statement"))
            })?;
        let bound = match value {
            Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null),
            Value::Integer(n) => stmt.raw_bind_parameter(index, n),
            Value::Real(x) => stmt.raw_bind_parameter(index, x),
            Value::Text(s) => stmt.raw_bind_parameter(index, s),
            Value::Blob(b) => stmt.raw_bind_parameter(index, b),
        };
        bound.map_err(to_sql_error)?;
    }
    Ok(())
}

fn from_sqlite(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn to_sql_error(error: rusqlite::Error) -> SqlError {
    match &error {
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation => {
            SqlError::Constraint(error.to_string())
        }
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen
            ) =>
        {
            SqlError::Unavailable(error.to_string())
        }
        rusqlite::Error::SqlInputError { .. }
        | rusqlite::Error::InvalidParameterName(_)
        | rusqlite::Error::InvalidParameterCount(..) => {
            SqlError::InvalidStatement(error.to_string())
        }
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::Unknown => {
            // SQLITE_ERROR: syntax errors and unknown tables or columns.
            SqlError::InvalidStatement(error.to_string())
        }
        _ => SqlError::Other(error.to_string()),
    }
}
