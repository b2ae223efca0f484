//! Usage rows are written off the answer path (the `sql` import's `defer`): with a window
//! longer than the test (`ORPIPE_SQL_DEFER_MS=60000`) they wait in orpipe's queue, and a
//! clean shutdown (SIGTERM) still writes every one of them before orpipe exits, on SQLite
//! and on PostgreSQL.

use crate::{CLIENT_KEY, LOG_WAIT, PgSchema, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, require_env};
use serde_json::json;
use std::collections::BTreeSet;

/// Longer than the test: only the shutdown's flush can write the rows.
const A_MINUTE: (&str, &str) = ("ORPIPE_SQL_DEFER_MS", "60000");

/// Turns the test sends; each should leave one usage row.
const TURNS: usize = 6;

/// One whole answer; returns its request id (the usage row's key).
async fn chat_turn(orpipe: &Orpipe) -> String {
    let response = HttpClient::new()
        .post_json(
            &orpipe.url("/v1/chat/completions"),
            &json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
            Some(CLIENT_KEY),
        )
        .await
        .expect("chat request");
    assert_eq!(response.status, 200, "{}", response.text());
    response
        .header("x-request-id")
        .expect("a request id")
        .to_owned()
}

/// Sends `TURNS` turns, two at a time (so rows of concurrent answers share the queue).
async fn chat_turns(orpipe: &Orpipe) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for _ in 0..TURNS / 2 {
        let (a, b) = tokio::join!(chat_turn(orpipe), chat_turn(orpipe));
        ids.extend([a, b]);
    }
    ids
}

/// SIGTERM, and a clean exit.
async fn stop_cleanly(orpipe: &mut Orpipe) {
    orpipe.terminate().expect("SIGTERM");
    let status = orpipe
        .wait_for_exit(LOG_WAIT)
        .await
        .expect("orpipe exits after SIGTERM");
    assert!(status.success(), "{status}\n{}", orpipe.stderr_log());
    assert!(
        orpipe.stderr_log().contains("deferred SQL writes flushed"),
        "{}",
        orpipe.stderr_log()
    );
}

fn sqlite_request_ids(orpipe: &Orpipe) -> BTreeSet<String> {
    let db = rusqlite::Connection::open(orpipe.data_dir().join("orpipe.db")).expect("open");
    let mut select = db
        .prepare("SELECT request_id FROM orpipe_usage")
        .expect("the usage table");
    select
        .query_map([], |r| r.get::<_, String>(0))
        .expect("select")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn sigterm_writes_every_queued_usage_row_to_sqlite() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let mut orpipe = start(&mock, &[A_MINUTE]).await;
    let sent = chat_turns(&orpipe).await;
    assert_eq!(sent.len(), TURNS);
    assert!(
        sqlite_request_ids(&orpipe).is_empty(),
        "queued, not written, while the window is open"
    );
    stop_cleanly(&mut orpipe).await;
    assert_eq!(sqlite_request_ids(&orpipe), sent);
}

#[tokio::test]
async fn sigterm_writes_every_queued_usage_row_to_postgres() {
    let Some(pg) = require_env("ORPIPE_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = PgSchema::create(&pg).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    let mut orpipe = start(
        &mock,
        &[
            A_MINUTE,
            ("ORPIPE_DATABASE_URL", schema.database_url.as_str()),
        ],
    )
    .await;
    let sent = chat_turns(&orpipe).await;
    let query = format!("SELECT request_id FROM {}.orpipe_usage", schema.name);
    let written = async || -> BTreeSet<String> {
        let rows = schema.admin.query(&query, &[]).await.expect("select");
        rows.iter().map(|r| r.get(0)).collect()
    };
    assert!(
        written().await.is_empty(),
        "queued, not written, while the window is open"
    );
    stop_cleanly(&mut orpipe).await;
    assert_eq!(written().await, sent);
    drop(orpipe);
    schema.drop_schema().await;
}
