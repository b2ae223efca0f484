//! The scale-out SQL backend: PostgreSQL through a connection pool, selected by
//! `ORPIPE_DATABASE_URL=postgres://…`. Several orpipe processes can share one database.
//!
//! Connections are plain TCP or Unix sockets: there is no TLS yet, so the database must be
//! reached over a trusted network (loopback, a private network, or a TLS-terminating
//! proxy). `sslmode=require` in the URL fails at start-up rather than silently downgrading.
//!
//! This file holds the pool and the statements; `values` converts values to and from the
//! column types, `errors` maps PostgreSQL's errors to the `sql` ones.

mod errors;
mod values;

use super::{QueryResult, Row, Sql, SqlError, Statement, Value};
use anyhow::Context;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use errors::{pool_error_text, to_sql_error};
use std::time::Duration;
use tokio_postgres::{GenericClient, NoTls};
use values::{as_refs, bind, read};

/// How long start-up (and a request needing a fresh connection) waits for the server
/// when the URL sets no `connect_timeout`; without one a black-holed host hangs for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a free pooled connection before reporting `Unavailable`.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresDb {
    pool: Pool,
    summary: String,
}

impl PostgresDb {
    /// Builds the pool and opens one connection, so a wrong URL or an unreachable server
    /// stops start-up instead of surfacing later as lost records.
    pub async fn connect(url: &str, max_connections: usize) -> anyhow::Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .context("the URL is not a valid PostgreSQL connection string")?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let summary = describe(&config, max_connections);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // `Fast` only checks that the socket is open; a dead server is then reported
                // by the statement itself, and the pool drops the broken connection.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(1)))
            .build()
            .context("building the PostgreSQL pool")?;
        let client = pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("connecting to {summary}: {}", pool_error_text(&e)))?;
        client
            .simple_query("SELECT 1")
            .await
            .with_context(|| format!("checking the connection to {summary}"))?;
        Ok(Self { pool, summary })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, SqlError> {
        self.pool
            .get()
            .await
            .map_err(|e| SqlError::Unavailable(format!("PostgreSQL: {}", pool_error_text(&e))))
    }
}

/// `postgres user@host:port/db (pool N)`: never the password.
fn describe(config: &tokio_postgres::Config, max_connections: usize) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    format!(
        "postgres {}@{}/{} (pool {})",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_dbname().unwrap_or(""),
        max_connections.max(1)
    )
}

#[async_trait]
impl Sql for PostgresDb {
    fn summary(&self) -> String {
        self.summary.clone()
    }

    async fn query(&self, statement: String, params: Vec<Value>) -> Result<QueryResult, SqlError> {
        let client = self.client().await?;
        let prepared = client.prepare(&statement).await.map_err(to_sql_error)?;
        let bound = bind(prepared.params(), &params)?;
        let rows = client
            .query(&prepared, &as_refs(&bound))
            .await
            .map_err(to_sql_error)?;
        let columns = prepared.columns();
        let rows = rows
            .iter()
            .map(|row| {
                let values = columns
                    .iter()
                    .enumerate()
                    .map(|(i, column)| read(row, i, column))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Row { values })
            })
            .collect::<Result<Vec<_>, SqlError>>()?;
        Ok(QueryResult {
            columns: columns.iter().map(|c| c.name().to_owned()).collect(),
            rows,
        })
    }

    async fn execute(&self, statement: String, params: Vec<Value>) -> Result<u64, SqlError> {
        let client = self.client().await?;
        run(&**client, &statement, &params).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, SqlError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(to_sql_error)?;
        let mut changed = Vec::with_capacity(statements.len());
        for (i, statement) in statements.iter().enumerate() {
            // An error drops `tx`, which rolls the whole batch back.
            let count = run(&*tx, &statement.sql, &statement.params)
                .await
                .map_err(|e| super::in_batch(i, e))?;
            changed.push(count);
        }
        tx.commit().await.map_err(to_sql_error)?;
        Ok(changed)
    }
}

/// Statements are prepared per call, not cached: the schema is the guest's and its
/// migrations may change a table under a cached plan, which PostgreSQL then refuses
/// ("cached plan must not change result type"). The extra round trip is the price.
async fn run(
    client: &(impl GenericClient + Sync),
    statement: &str,
    params: &[Value],
) -> Result<u64, SqlError> {
    let prepared = client.prepare(statement).await.map_err(to_sql_error)?;
    let bound = bind(prepared.params(), params)?;
    client
        .execute(&prepared, &as_refs(&bound))
        .await
        .map_err(to_sql_error)
}

#[cfg(test)]
mod tests {
    //! What only PostgreSQL does; what both backends do is in `sql/conformance.rs`.
    use super::*;

    #[tokio::test]
    async fn values_of_the_wrong_type_are_refused_with_the_placeholder() {
        let Some(url) = crate::caps::sql::conformance::postgres_url() else {
            return;
        };
        let db = PostgresDb::connect(&url, 1).await.expect("connect");
        for (statement, value, what) in [
            (
                "SELECT $1::bigint",
                Value::Text("x".into()),
                "text for BIGINT",
            ),
            ("SELECT $1::bigint", Value::Real(1.5), "a real for BIGINT"),
            (
                "SELECT $1::bytea",
                Value::Integer(1),
                "an integer for BYTEA",
            ),
            (
                "SELECT $1::int4",
                Value::Integer(1),
                "a type the guest never uses",
            ),
        ] {
            let refused = db.query(statement.into(), vec![value]).await;
            assert!(
                matches!(&refused, Err(SqlError::InvalidStatement(m)) if m.starts_with("$1 expects")),
                "{what}: {refused:?}"
            );
        }
        let column = db.query("SELECT 1::int4 AS small".into(), vec![]).await;
        assert!(
            matches!(&column, Err(SqlError::InvalidStatement(m)) if m.contains("\"small\"")),
            "{column:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_fast() {
        let started = std::time::Instant::now();
        let error = PostgresDb::connect("postgres://nobody@127.0.0.1:1/none", 1)
            .await
            .err()
            .expect("nothing listens on port 1");
        assert!(started.elapsed() < Duration::from_secs(10), "{error:#}");
        assert!(
            format!("{error:#}").contains("127.0.0.1:1"),
            "names the server: {error:#}"
        );
    }
}
