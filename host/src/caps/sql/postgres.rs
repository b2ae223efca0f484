//! The scale-out SQL backend: PostgreSQL through a connection pool, selected by
//! `ORPIPE_DATABASE_URL=postgres://…`. Several orpipe processes can share one database.
//!
//! Connections are plain TCP or Unix sockets: there is no TLS yet, so the database must be
//! reached over a trusted network (loopback, a private network, or a TLS-terminating
//! proxy). `sslmode=require` in the URL fails at start-up rather than silently downgrading.
//!
//! Parameters are bound by the types PostgreSQL infers for the statement (`prepare`), so
//! `Value::Integer(7)` binds to an `INT4`, `INT8` or `DOUBLE PRECISION` column alike, and a
//! value that cannot become the expected type is an `InvalidStatement`, not a server error.

use super::{QueryResult, Row, Sql, SqlError, Statement, Value};
use anyhow::Context;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use std::error::Error as _;
use std::time::Duration;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Column, GenericClient, NoTls};

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

/// A pool error's text including its cause (deadpool's own text omits it).
fn pool_error_text(error: &PoolError) -> String {
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
        for statement in &statements {
            // An error drops `tx`, which rolls the whole batch back.
            changed.push(run(&*tx, &statement.sql, &statement.params).await?);
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

fn as_refs(bound: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

/// A parameter already converted to the type the statement expects.
#[derive(Debug)]
enum Bound {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// JSONB's binary form is a version byte before the JSON text.
    Jsonb(String),
}

impl ToSql for Bound {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Bound::Null => Ok(IsNull::Yes),
            Bound::Bool(v) => v.to_sql(ty, out),
            Bound::I16(v) => v.to_sql(ty, out),
            Bound::I32(v) => v.to_sql(ty, out),
            Bound::I64(v) => v.to_sql(ty, out),
            Bound::F32(v) => v.to_sql(ty, out),
            Bound::F64(v) => v.to_sql(ty, out),
            Bound::Text(v) => v.to_sql(ty, out),
            Bound::Bytes(v) => v.to_sql(ty, out),
            Bound::Jsonb(v) => {
                out.extend_from_slice(&[1]);
                out.extend_from_slice(v.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    // `bind` already chose the variant from the declared type.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn bind(types: &[Type], params: &[Value]) -> Result<Vec<Bound>, SqlError> {
    if types.len() != params.len() {
        return Err(SqlError::InvalidStatement(format!(
            "the statement has {} placeholders but {} values were given",
            types.len(),
            params.len()
        )));
    }
    types
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (ty, value))| {
            convert(ty, value).ok_or_else(|| {
                SqlError::InvalidStatement(format!(
                    "${} expects {ty} but was given {}",
                    i + 1,
                    describe_value(value)
                ))
            })
        })
        .collect()
}

fn convert(ty: &Type, value: &Value) -> Option<Bound> {
    let text_like = [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ];
    Some(match value {
        Value::Null => Bound::Null,
        Value::Integer(n) => match *ty {
            Type::INT8 => Bound::I64(*n),
            Type::INT4 => Bound::I32(i32::try_from(*n).ok()?),
            Type::INT2 => Bound::I16(i16::try_from(*n).ok()?),
            Type::FLOAT8 => Bound::F64(*n as f64),
            Type::FLOAT4 => Bound::F32(*n as f32),
            // SQLite has no booleans; 0 and 1 are how a portable guest writes them.
            Type::BOOL if *n == 0 || *n == 1 => Bound::Bool(*n == 1),
            _ => return None,
        },
        Value::Real(x) => match *ty {
            Type::FLOAT8 => Bound::F64(*x),
            Type::FLOAT4 => Bound::F32(*x as f32),
            _ => return None,
        },
        Value::Text(s) => match *ty {
            _ if text_like.contains(ty) => Bound::Text(s.clone()),
            Type::JSON => Bound::Text(s.clone()),
            Type::JSONB => Bound::Jsonb(s.clone()),
            _ => return None,
        },
        Value::Blob(b) => match *ty {
            Type::BYTEA => Bound::Bytes(b.clone()),
            _ => return None,
        },
    })
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Integer(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    }
}

/// A column's raw binary value, for the types decoded here rather than by postgres-types.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn read(row: &tokio_postgres::Row, i: usize, column: &Column) -> Result<Value, SqlError> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
    ) -> Result<Option<T>, SqlError> {
        row.try_get(i).map_err(|e| SqlError::Other(e.to_string()))
    }
    let ty = column.type_();
    let value = match *ty {
        Type::INT2 => get::<i16>(row, i)?.map(|n| Value::Integer(n.into())),
        Type::INT4 => get::<i32>(row, i)?.map(|n| Value::Integer(n.into())),
        Type::INT8 => get::<i64>(row, i)?.map(Value::Integer),
        Type::OID => get::<u32>(row, i)?.map(|n| Value::Integer(n.into())),
        Type::BOOL => get::<bool>(row, i)?.map(|b| Value::Integer(b.into())),
        Type::FLOAT4 => get::<f32>(row, i)?.map(|x| Value::Real(x.into())),
        Type::FLOAT8 => get::<f64>(row, i)?.map(Value::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            get::<String>(row, i)?.map(Value::Text)
        }
        Type::JSONB => get::<Raw>(row, i)?.map(|Raw(b)| {
            Value::Text(String::from_utf8_lossy(b.get(1..).unwrap_or_default()).into_owned())
        }),
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(Value::Blob),
        // SUM and AVG over integers return NUMERIC.
        Type::NUMERIC => match get::<Raw>(row, i)? {
            None => None,
            Some(Raw(b)) => Some(numeric(&b).ok_or_else(|| {
                SqlError::Other(format!("column {:?}: malformed NUMERIC", column.name()))
            })?),
        },
        _ => {
            return Err(SqlError::InvalidStatement(format!(
                "column {:?} has type {ty}, which the sql capability does not carry; \
                 cast it in the query (for example `::text` or `::bigint`)",
                column.name()
            )));
        }
    };
    Ok(value.unwrap_or(Value::Null))
}

/// Decodes NUMERIC's binary form (base-10000 digits): whole numbers that fit become
/// `Integer`, like SQLite's SUM; anything else becomes `Real`.
fn numeric(raw: &[u8]) -> Option<Value> {
    let word =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*raw.get(at)?, *raw.get(at + 1)?])) };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = word(6)?;
    match sign {
        0xC000 => return Some(Value::Real(f64::NAN)),
        0xD000 => return Some(Value::Real(f64::INFINITY)),
        0xF000 => return Some(Value::Real(f64::NEG_INFINITY)),
        _ => {}
    }
    let mut mantissa = String::new();
    for d in 0..ndigits {
        mantissa.push_str(&format!("{:04}", word(8 + 2 * d)?));
    }
    if mantissa.is_empty() {
        mantissa.push('0');
    }
    let minus = if sign == 0x4000 { "-" } else { "" };
    let exponent = 4 * (weight + 1 - ndigits as i64);
    if dscale == 0 && exponent >= 0 {
        let zeros = "0".repeat(usize::try_from(exponent).ok()?);
        if let Ok(n) = format!("{minus}{mantissa}{zeros}").parse::<i64>() {
            return Some(Value::Integer(n));
        }
    }
    format!("{minus}{mantissa}e{exponent}")
        .parse::<f64>()
        .ok()
        .map(Value::Real)
}

fn to_sql_error(error: tokio_postgres::Error) -> SqlError {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database from `ORPIPE_TEST_POSTGRES_URL` (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`) and a table name no other test (or run)
    /// uses; `None` (after saying so) when the variable is unset.
    async fn db() -> Option<(PostgresDb, String)> {
        let url = orpipe_testkit::require_env("ORPIPE_TEST_POSTGRES_URL")?;
        let db = PostgresDb::connect(&url, 4).await.expect("connect");
        let table = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
        Some((db, table))
    }

    async fn drop_table(db: &PostgresDb, table: &str) {
        db.execute(format!("DROP TABLE IF EXISTS {table}"), vec![])
            .await
            .expect("drop");
    }

    #[tokio::test]
    async fn placeholders_bind_by_number() {
        let Some((db, _)) = db().await else {
            return;
        };
        let result = db
            .query(
                "SELECT $2, $1".into(),
                vec![Value::Text("one".into()), Value::Text("two".into())],
            )
            .await
            .expect("query");
        assert_eq!(result.rows.len(), 1);
        assert!(
            matches!(&result.rows[0].values[..], [Value::Text(a), Value::Text(b)] if a == "two" && b == "one"),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn batches_are_all_or_nothing_and_errors_are_typed() {
        let Some((db, t)) = db().await else {
            return;
        };
        let create = Statement {
            sql: format!("CREATE TABLE {t} (id TEXT PRIMARY KEY, n BIGINT, b BYTEA)"),
            params: vec![],
        };
        db.batch(vec![create]).await.expect("create");
        let insert = |id: &str| Statement {
            sql: format!("INSERT INTO {t} (id, n, b) VALUES ($1, $2, $3)"),
            params: vec![
                Value::Text(id.into()),
                Value::Integer(7),
                Value::Blob(vec![0, 255]),
            ],
        };
        let failed = db.batch(vec![insert("a"), insert("a")]).await;
        assert!(matches!(failed, Err(SqlError::Constraint(_))), "{failed:?}");
        let count = db
            .query(format!("SELECT COUNT(*) FROM {t}"), vec![])
            .await
            .expect("count");
        assert!(
            matches!(count.rows[0].values[0], Value::Integer(0)),
            "the failed batch left nothing: {count:?}"
        );

        assert_eq!(
            db.batch(vec![insert("a"), insert("b")])
                .await
                .expect("batch"),
            vec![1, 1]
        );
        let rows = db
            .query(
                format!("SELECT b, n FROM {t} WHERE id = $1"),
                vec![Value::Text("b".into())],
            )
            .await
            .expect("q");
        assert_eq!(rows.columns, vec!["b".to_string(), "n".to_string()]);
        assert!(
            matches!(&rows.rows[0].values[..], [Value::Blob(b), Value::Integer(7)] if b == &vec![0, 255]),
            "{rows:?}"
        );

        let bad = db.execute("SELEC nonsense".into(), vec![]).await;
        assert!(matches!(bad, Err(SqlError::InvalidStatement(_))), "{bad:?}");
        let unknown = db
            .execute("SELECT * FROM no_such_table_here".into(), vec![])
            .await;
        assert!(
            matches!(unknown, Err(SqlError::InvalidStatement(_))),
            "{unknown:?}"
        );
        let miscount = db.execute("SELECT $1::text".into(), vec![]).await;
        assert!(
            matches!(miscount, Err(SqlError::InvalidStatement(_))),
            "{miscount:?}"
        );
        drop_table(&db, &t).await;
    }

    #[tokio::test]
    async fn values_bind_to_the_type_the_statement_expects() {
        let Some((db, t)) = db().await else {
            return;
        };
        db.execute(
            format!(
                "CREATE TABLE {t} (i2 SMALLINT, i4 INT, i8 BIGINT, r4 REAL, r8 DOUBLE PRECISION, \
                 s VARCHAR(10), flag BOOLEAN, j JSONB)"
            ),
            vec![],
        )
        .await
        .expect("create");
        let inserted = db
            .execute(
                format!("INSERT INTO {t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                vec![
                    Value::Integer(2),
                    Value::Integer(4),
                    Value::Integer(i64::MAX),
                    Value::Real(0.5),
                    Value::Integer(3),
                    Value::Text("hi".into()),
                    Value::Integer(1),
                    Value::Text("{\"a\": 1}".into()),
                ],
            )
            .await
            .expect("insert");
        assert_eq!(inserted, 1);
        db.execute(
            format!("INSERT INTO {t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            vec![Value::Null; 8],
        )
        .await
        .expect("null binds to every type");

        let rows = db
            .query(format!("SELECT * FROM {t} ORDER BY i2 NULLS LAST"), vec![])
            .await
            .expect("select");
        assert!(
            matches!(
                &rows.rows[0].values[..],
                [
                    Value::Integer(2),
                    Value::Integer(4),
                    Value::Integer(i64::MAX),
                    Value::Real(r4),
                    Value::Real(r8),
                    Value::Text(s),
                    Value::Integer(1),
                    Value::Text(j),
                ] if *r4 == 0.5 && *r8 == 3.0 && s == "hi" && j == "{\"a\": 1}"
            ),
            "{rows:?}"
        );
        assert!(
            rows.rows[1].values.iter().all(|v| matches!(v, Value::Null)),
            "{rows:?}"
        );

        let sums = db
            .query(
                format!(
                    "SELECT SUM(i4), SUM(i8), AVG(i4), SUM(i8) * 2, 1.25::numeric, -0.0::numeric \
                     FROM {t}"
                ),
                vec![],
            )
            .await
            .expect("sum");
        assert!(
            matches!(
                &sums.rows[0].values[..],
                [
                    Value::Integer(4),
                    Value::Integer(i64::MAX),
                    Value::Real(avg),
                    Value::Real(twice),
                    Value::Real(quarter),
                    Value::Real(zero),
                ] if *avg == 4.0 && *twice == 2.0 * i64::MAX as f64 && *quarter == 1.25 && *zero == 0.0
            ),
            "SUM(BIGINT) is NUMERIC: {sums:?}"
        );

        for (value, what) in [
            (Value::Text("x".into()), "text into SMALLINT"),
            (
                Value::Integer(1 << 20),
                "an integer out of SMALLINT's range",
            ),
            (Value::Real(1.5), "a real into SMALLINT"),
        ] {
            let refused = db
                .execute(format!("INSERT INTO {t} (i2) VALUES ($1)"), vec![value])
                .await;
            assert!(
                matches!(refused, Err(SqlError::InvalidStatement(_))),
                "{what}: {refused:?}"
            );
        }
        let not_null = db
            .execute(
                format!("ALTER TABLE {t} ALTER COLUMN s SET NOT NULL"),
                vec![],
            )
            .await;
        assert!(
            matches!(not_null, Err(SqlError::Constraint(_))),
            "{not_null:?}"
        );
        drop_table(&db, &t).await;
    }

    #[test]
    fn numerics_decode_to_integers_when_whole() {
        // 12345678 = [1234, 5678] with weight 1; -0.5 = [5000] weight -1, dscale 1.
        let whole = [0, 2, 0, 1, 0, 0, 0, 0, 0x04, 0xD2, 0x16, 0x2E];
        assert!(matches!(numeric(&whole), Some(Value::Integer(12_345_678))));
        let half = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 1, 0x13, 0x88];
        assert!(matches!(numeric(&half), Some(Value::Real(x)) if x == -0.5));
        let zero = [0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(numeric(&zero), Some(Value::Integer(0))));
        assert!(numeric(&[0, 1]).is_none());
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
