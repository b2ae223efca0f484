//! One contract, two backends: every assertion here runs against SQLite and, when
//! `ORPIPE_TEST_POSTGRES_URL` is set, against PostgreSQL (in a schema of its own, dropped
//! afterwards). This is what sql.wit promises the guest, whichever database serves it.

use super::postgres::PostgresDb;
use super::sqlite::SqliteDb;
use super::{Sql, SqlError, Statement, Value};

/// `ORPIPE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`), or `None`
/// after the testkit's skip (a failure under `ORPIPE_REQUIRE_ALL=1`).
pub fn postgres_url() -> Option<String> {
    orpipe_testkit::require_env("ORPIPE_TEST_POSTGRES_URL")
}

#[tokio::test]
async fn sqlite_keeps_the_sql_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = SqliteDb::open(&dir.path().join("t.db")).expect("open");
    keeps_the_contract(&db, "main").await;
}

#[tokio::test]
async fn postgres_keeps_the_sql_contract() {
    let Some(url) = postgres_url() else {
        return;
    };
    let db = PostgresDb::connect(&url, 2).await.expect("connect");
    let schema = format!(
        "conformance_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    db.execute(format!("CREATE SCHEMA {schema}"), vec![])
        .await
        .expect("create schema");
    keeps_the_contract(&db, &schema).await;
    db.execute(format!("DROP SCHEMA {schema} CASCADE"), vec![])
        .await
        .expect("drop schema");
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// The contract, with tables in the schema `ns`.
async fn keeps_the_contract(db: &dyn Sql, ns: &str) {
    let t = format!("{ns}.t");
    db.batch(vec![Statement {
        sql: format!(
            "CREATE TABLE {t} (id TEXT PRIMARY KEY, n BIGINT, r DOUBLE PRECISION, b BYTEA)"
        ),
        params: vec![],
    }])
    .await
    .expect("create");

    // Placeholders bind by number, whatever order they appear in; columns keep their names.
    let swapped = db
        .query(
            "SELECT $2 AS second, $1 AS first".into(),
            vec![text("one"), text("two")],
        )
        .await
        .expect("query");
    assert_eq!(swapped.columns, ["second", "first"]);
    assert_eq!(swapped.rows.len(), 1);
    assert!(
        matches!(&swapped.rows[0].values[..], [Value::Text(a), Value::Text(b)] if a == "two" && b == "one"),
        "{swapped:?}"
    );

    // A batch applies whole or not at all, and its error names the statement that failed.
    let insert = |id: &str, n: i64| Statement {
        sql: format!("INSERT INTO {t} (id, n, r, b) VALUES ($1, $2, $3, $4)"),
        params: vec![
            text(id),
            Value::Integer(n),
            Value::Real(0.25),
            Value::Blob(vec![0, 255]),
        ],
    };
    let failed = db.batch(vec![insert("a", 1), insert("a", 2)]).await;
    assert!(
        matches!(&failed, Err(SqlError::Constraint(m)) if m.starts_with("statement 2: ")),
        "{failed:?}"
    );
    let count = db
        .query(format!("SELECT COUNT(*) AS n FROM {t}"), vec![])
        .await
        .expect("count");
    assert!(
        matches!(count.rows[0].values[..], [Value::Integer(0)]),
        "the failed batch left nothing: {count:?}"
    );
    let bad_first = db
        .batch(vec![
            Statement {
                sql: "SELEC nonsense".into(),
                params: vec![],
            },
            insert("a", 1),
        ])
        .await;
    assert!(
        matches!(&bad_first, Err(SqlError::InvalidStatement(m)) if m.starts_with("statement 1: ")),
        "{bad_first:?}"
    );

    // Counts per statement, in order; every value type round-trips, NULL included.
    assert_eq!(
        db.batch(vec![insert("a", 7), insert("b", i64::MAX)])
            .await
            .expect("batch"),
        vec![1, 1]
    );
    let nulls = db
        .execute(
            format!("INSERT INTO {t} (id, n, r, b) VALUES ($1, $2, $3, $4)"),
            vec![text("c"), Value::Null, Value::Null, Value::Null],
        )
        .await
        .expect("nulls");
    assert_eq!(nulls, 1);
    let rows = db
        .query(format!("SELECT id, n, r, b FROM {t} ORDER BY id"), vec![])
        .await
        .expect("select");
    assert_eq!(rows.columns, ["id", "n", "r", "b"]);
    assert_eq!(rows.rows.len(), 3);
    assert!(
        matches!(&rows.rows[0].values[..],
            [Value::Text(id), Value::Integer(7), Value::Real(r), Value::Blob(b)]
            if id == "a" && *r == 0.25 && b == &[0, 255]),
        "{rows:?}"
    );
    assert!(
        matches!(&rows.rows[1].values[..], [Value::Text(id), Value::Integer(i64::MAX), _, _] if id == "b"),
        "{rows:?}"
    );
    assert!(
        matches!(&rows.rows[2].values[..], [Value::Text(id), Value::Null, Value::Null, Value::Null] if id == "c"),
        "{rows:?}"
    );

    // `execute` counts the rows it changed; a query matching nothing is empty, not an error.
    let changed = db
        .execute(
            format!("UPDATE {t} SET n = $1 WHERE n IS NOT NULL"),
            vec![Value::Integer(1)],
        )
        .await
        .expect("update");
    assert_eq!(changed, 2);
    let none = db
        .query(
            format!("SELECT id FROM {t} WHERE id = $1"),
            vec![text("zz")],
        )
        .await
        .expect("empty");
    assert_eq!(none.columns, ["id"]);
    assert!(none.rows.is_empty());

    // Mistakes in the statement are `invalid-statement`, whichever database finds them.
    for (statement, params, what) in [
        ("SELEC nonsense".to_owned(), vec![], "syntax"),
        (
            format!("SELECT * FROM {ns}.no_such_table"),
            vec![],
            "unknown table",
        ),
        ("SELECT $1".to_owned(), vec![], "too few values"),
        (
            format!("SELECT id FROM {t} WHERE id = $1"),
            vec![text("a"), text("b")],
            "too many values",
        ),
    ] {
        let refused = db.execute(statement, params).await;
        assert!(
            matches!(refused, Err(SqlError::InvalidStatement(_))),
            "{what}: {refused:?}"
        );
    }
}
