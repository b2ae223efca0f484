//! The deferred writer against real databases: every scenario runs on SQLite in a temp
//! directory and, when `ORPIPE_TEST_POSTGRES_URL` is set, on PostgreSQL in a schema of
//! its own (dropped afterwards). A `Probe` in front of the database counts transactions
//! and can hold them back or fail them as `unavailable`.

use super::deferred::{DeferredWriter, Grouping};
use super::postgres::PostgresDb;
use super::sqlite::SqliteDb;
use super::{QueryResult, Sql, SqlError, Statement, Value};
use crate::metrics::SqlDeferredCounts;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The database, with a view of what the writer asks of it.
struct Probe {
    inner: Arc<dyn Sql>,
    /// `batch` calls begun.
    batches: AtomicUsize,
    /// Each `batch` holds a permit while it runs: no permits, no transaction.
    gate: Semaphore,
    /// The next this many `batch` calls fail as `unavailable`.
    unavailable: AtomicUsize,
}

#[async_trait]
impl Sql for Probe {
    fn summary(&self) -> String {
        self.inner.summary()
    }

    async fn query(&self, statement: String, params: Vec<Value>) -> Result<QueryResult, SqlError> {
        self.inner.query(statement, params).await
    }

    async fn execute(&self, statement: String, params: Vec<Value>) -> Result<u64, SqlError> {
        self.inner.execute(statement, params).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, SqlError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        let _permit = self.gate.acquire().await.expect("the gate stays open");
        let refuse = self
            .unavailable
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refuse {
            return Err(SqlError::Unavailable("the probe says so".into()));
        }
        self.inner.batch(statements).await
    }
}

/// One scenario's database: a table `{ns}.deferred_t (id, n)` behind a probe.
struct Backend {
    probe: Arc<Probe>,
    table: String,
    /// PostgreSQL: the schema to drop afterwards.
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteDb::open(&dir.path().join("t.db")).expect("open");
        Self::with_table(Arc::new(db), "main", None, Some(dir)).await
    }

    /// `None` after the testkit's skip (a failure under `ORPIPE_REQUIRE_ALL=1`).
    async fn postgres() -> Option<Self> {
        let url = super::conformance::postgres_url()?;
        let db = PostgresDb::connect(&url, 4).await.expect("connect");
        let schema = format!("deferred_{}", ulid::Ulid::new().to_string().to_lowercase());
        db.execute(format!("CREATE SCHEMA {schema}"), vec![])
            .await
            .expect("create schema");
        Some(Self::with_table(Arc::new(db), &schema.clone(), Some(schema), None).await)
    }

    async fn with_table(
        db: Arc<dyn Sql>,
        ns: &str,
        schema: Option<String>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let table = format!("{ns}.deferred_t");
        db.execute(
            format!("CREATE TABLE {table} (id TEXT PRIMARY KEY, n BIGINT NOT NULL)"),
            vec![],
        )
        .await
        .expect("create table");
        let probe = Arc::new(Probe {
            inner: db,
            batches: AtomicUsize::new(0),
            gate: Semaphore::new(Semaphore::MAX_PERMITS),
            unavailable: AtomicUsize::new(0),
        });
        Self {
            probe,
            table,
            schema,
            _dir: dir,
        }
    }

    fn writer(&self, grouping: Grouping, counts: &SqlDeferredCounts) -> DeferredWriter {
        DeferredWriter::start(self.probe.clone(), grouping, counts.clone())
    }

    fn insert(&self, id: &str) -> Statement {
        Statement {
            sql: format!("INSERT INTO {} (id, n) VALUES ($1, $2)", self.table),
            params: vec![Value::Text(id.into()), Value::Integer(1)],
        }
    }

    async fn ids(&self) -> Vec<String> {
        let result = self
            .probe
            .inner
            .query(format!("SELECT id FROM {} ORDER BY id", self.table), vec![])
            .await
            .expect("select");
        result
            .rows
            .into_iter()
            .map(|row| match &row.values[..] {
                [Value::Text(id)] => id.clone(),
                other => panic!("an id, not {other:?}"),
            })
            .collect()
    }

    fn batches(&self) -> usize {
        self.probe.batches.load(Ordering::SeqCst)
    }

    async fn finish(self) {
        if let Some(schema) = &self.schema {
            self.probe
                .inner
                .execute(format!("DROP SCHEMA {schema} CASCADE"), vec![])
                .await
                .expect("drop schema");
        }
    }
}

fn grouping(window: Duration) -> Grouping {
    Grouping {
        window,
        max_statements: 512,
        queue_calls: 1024,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("row-{i:03}")).collect()
}

async fn rows_from_many_callers_share_few_transactions(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = Arc::new(db.writer(grouping(Duration::from_millis(300)), &counts));
    let callers: Vec<_> = ids(0..60)
        .into_iter()
        .map(|id| {
            let (writer, row) = (writer.clone(), db.insert(&id));
            tokio::spawn(async move { writer.defer(vec![row]).await })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller").expect("queued");
    }
    // Written by the window, not by a close.
    orpipe_testkit::eventually("all 60 rows", Duration::from_secs(10), async || {
        counts.written.get() == 60
    })
    .await;
    assert_eq!(db.ids().await, ids(0..60));
    assert!(
        db.batches() <= 2,
        "60 callers within one window share a transaction or two, not {}",
        db.batches()
    );
    assert_eq!(counts.failed.get(), 0);
    writer.close(soon()).await;
    db.finish().await;
}

async fn a_bad_call_costs_no_other_call_its_rows(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = db.writer(grouping(Duration::from_secs(60)), &counts);
    let broken = Statement {
        sql: format!("INSERT INTO {} (id) VALUES ($1)", db.table),
        params: vec![Value::Text("no-n".into())],
    };
    for call in [
        vec![db.insert("a")],
        vec![db.insert("a")], // a duplicate key
        vec![db.insert("b")],
        vec![db.insert("c"), db.insert("d")],
        vec![db.insert("e"), broken], // e goes with its call's failing statement
        vec![db.insert("f")],
    ] {
        writer.defer(call).await.expect("queued");
    }
    writer.close(soon()).await;
    assert_eq!(db.ids().await, ["a", "b", "c", "d", "f"]);
    assert_eq!((counts.written.get(), counts.failed.get()), (5, 3));
    assert_eq!(
        db.batches(),
        1 + 6,
        "the whole group, then each call in its own transaction"
    );
    db.finish().await;
}

async fn close_writes_what_is_queued_without_waiting_out_the_window(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = db.writer(grouping(Duration::from_secs(60)), &counts);
    for id in ids(0..3) {
        writer.defer(vec![db.insert(&id)]).await.expect("queued");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        db.ids().await.is_empty(),
        "queued, not written: the window is a minute"
    );
    writer.close(soon()).await;
    assert_eq!(db.ids().await, ids(0..3));
    assert_eq!(counts.written.get(), 3);
    let late = writer.defer(vec![db.insert("late")]).await;
    assert!(matches!(late, Err(SqlError::Unavailable(_))), "{late:?}");
    db.finish().await;
}

async fn a_full_queue_makes_callers_wait(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = Arc::new(db.writer(
        Grouping {
            window: Duration::ZERO,
            max_statements: 1,
            queue_calls: 2,
        },
        &counts,
    ));
    // The first transaction is held at the gate; two calls fill the queue behind it.
    db.probe.gate.forget_permits(Semaphore::MAX_PERMITS);
    writer.defer(vec![db.insert("held")]).await.expect("queued");
    orpipe_testkit::eventually(
        "the writer at the gate",
        Duration::from_secs(10),
        async || db.batches() == 1,
    )
    .await;
    for id in ["q1", "q2"] {
        writer.defer(vec![db.insert(id)]).await.expect("queued");
    }
    let waiting = tokio::spawn({
        let (writer, row) = (writer.clone(), db.insert("waited"));
        async move { writer.defer(vec![row]).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a caller waits while the queue is full"
    );
    db.probe.gate.add_permits(Semaphore::MAX_PERMITS);
    waiting
        .await
        .expect("caller")
        .expect("queued once there was room");
    writer.close(soon()).await;
    assert_eq!(db.ids().await, ["held", "q1", "q2", "waited"]);
    assert_eq!(counts.written.get(), 4);
    db.finish().await;
}

async fn an_unavailable_database_is_tried_again(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = db.writer(grouping(Duration::from_secs(60)), &counts);
    db.probe.unavailable.store(2, Ordering::SeqCst);
    for id in ids(0..2) {
        writer.defer(vec![db.insert(&id)]).await.expect("queued");
    }
    writer.close(soon()).await;
    assert_eq!(db.ids().await, ids(0..2));
    assert_eq!((counts.written.get(), counts.failed.get()), (2, 0));
    assert_eq!(db.batches(), 3, "two refusals, then the write");
    db.finish().await;
}

async fn rows_are_given_up_on_when_the_database_stays_unavailable(db: Backend) {
    let counts = SqlDeferredCounts::default();
    let writer = db.writer(grouping(Duration::from_secs(60)), &counts);
    db.probe.unavailable.store(usize::MAX, Ordering::SeqCst);
    for id in ids(0..2) {
        writer.defer(vec![db.insert(&id)]).await.expect("queued");
    }
    writer.close(soon()).await;
    assert_eq!((counts.written.get(), counts.failed.get()), (0, 2));
    assert_eq!(
        db.batches(),
        4,
        "the group, tried four times in all; not each call again"
    );
    db.finish().await;
}

/// Each scenario as a test on SQLite and one on PostgreSQL.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Backend::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    if let Some(db) = super::Backend::postgres().await {
                        super::$scenario(db).await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    rows_from_many_callers_share_few_transactions,
    a_bad_call_costs_no_other_call_its_rows,
    close_writes_what_is_queued_without_waiting_out_the_window,
    a_full_queue_makes_callers_wait,
    an_unavailable_database_is_tried_again,
    rows_are_given_up_on_when_the_database_stays_unavailable,
);
