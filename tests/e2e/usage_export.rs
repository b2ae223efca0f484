//! Usage for billing: each usage row names the user by a keyed hash (never the id) and
//! the chat; tables from before those columns gain them at start-up, on SQLite and on
//! PostgreSQL; and with `ORPIPE_USAGE_EXPORT_TTL_SECS` each turn's record also goes to
//! Redis under `usage:`, expiring.

use crate::{CLIENT_KEY, LOG_WAIT, PgSchema, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, eventually, require_env};
use serde_json::{Value, json};
use std::path::Path;

const MODEL: &str = "openai/gpt-4o-mini";

/// The usage table as it was before the billing columns.
const OLD_TABLE: &str = "CREATE TABLE orpipe_usage (
    request_id TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL,
    model TEXT NOT NULL,
    response_id TEXT,
    outcome TEXT NOT NULL,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    reasoning_tokens BIGINT,
    cached_tokens BIGINT,
    cost_usd DOUBLE PRECISION
)";
const OLD_ROW: &str = "INSERT INTO orpipe_usage (request_id, created_at_ms, model, outcome) \
                       VALUES ('old-row', 1, 'openai/gpt-4o', 'completed')";

/// One whole answer for Open WebUI's `user` in `chat`; returns the request id.
async fn chat_turn(orpipe: &Orpipe, user: &str, chat: &str) -> String {
    let response = HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/chat/completions"),
            &json!({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}),
            Some(CLIENT_KEY),
            &[("X-OpenWebUI-User-Id", user), ("X-OpenWebUI-Chat-Id", chat)],
        )
        .await
        .expect("chat request");
    assert_eq!(response.status, 200, "{}", response.text());
    response
        .header("x-request-id")
        .expect("a request id")
        .to_owned()
}

fn sqlite_ids(orpipe: &Orpipe, request_id: &str) -> Option<(Option<String>, Option<String>)> {
    let db = rusqlite::Connection::open(orpipe.data_dir().join("orpipe.db")).ok()?;
    db.query_row(
        "SELECT user_hash, chat_id FROM orpipe_usage WHERE request_id = ?1",
        [request_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

fn assert_hash(hash: &str, user: &str) {
    assert_eq!(hash.len(), 64, "{hash}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    assert!(!hash.contains(user), "never the id itself");
}

#[tokio::test]
async fn usage_rows_name_the_user_by_a_keyed_hash_and_the_chat() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let first = chat_turn(&orpipe, "user-7", "chat-1").await;
    let again = chat_turn(&orpipe, "user-7", "chat-2").await;
    let other = chat_turn(&orpipe, "user-8", "chat-1").await;
    let row = |id: String| {
        let orpipe = &orpipe;
        async move { eventually("the usage row", LOG_WAIT, async || sqlite_ids(orpipe, &id)).await }
    };
    let (first, again, other) = (row(first).await, row(again).await, row(other).await);
    let hash = first.0.clone().expect("a user hash");
    assert_hash(&hash, "user-7");
    assert_eq!(first.1.as_deref(), Some("chat-1"));
    assert_eq!(again.0.as_deref(), Some(hash.as_str()), "stable per user");
    assert_eq!(again.1.as_deref(), Some("chat-2"));
    assert_ne!(other.0.as_deref(), Some(hash.as_str()), "one hash per user");
}

#[tokio::test]
async fn an_older_sqlite_usage_table_gains_the_columns_and_keeps_its_rows() {
    let data_dir = tempfile::tempdir().expect("data dir");
    {
        let db = rusqlite::Connection::open(data_dir.path().join("orpipe.db")).expect("db");
        db.execute_batch(&format!("{OLD_TABLE}; {OLD_ROW};"))
            .expect("the old table");
    }
    let mock = MockOpenRouter::start().await.expect("mock");
    let base_url = mock.base_url();
    let spawn = || {
        Orpipe::spawn_in(
            Path::new(env!("CARGO_BIN_EXE_orpipe")),
            &base_url,
            &[("ORPIPE_API_KEYS", CLIENT_KEY)],
            Some(data_dir.path()),
        )
    };
    let orpipe = spawn().await.expect("orpipe starts on the old table");
    assert!(orpipe.wait_for_log("2 columns added", LOG_WAIT).await);
    let id = chat_turn(&orpipe, "user-7", "chat-1").await;
    let (hash, chat) =
        eventually("the usage row", LOG_WAIT, async || sqlite_ids(&orpipe, &id)).await;
    assert_hash(&hash.expect("a user hash"), "user-7");
    assert_eq!(chat.as_deref(), Some("chat-1"));
    assert_eq!(
        sqlite_ids(&orpipe, "old-row"),
        Some((None, None)),
        "the old row stays"
    );
    drop(orpipe);
    // A second start finds the columns in place.
    let again = spawn().await.expect("orpipe starts again");
    assert!(again.wait_for_log("0 columns added", LOG_WAIT).await);
}

#[tokio::test]
async fn an_older_postgres_usage_table_gains_the_columns_on_every_replica() {
    let Some(pg) = require_env("ORPIPE_TEST_POSTGRES_URL") else {
        return;
    };
    let schema = PgSchema::create(&pg).await;
    let name = &schema.name;
    schema
        .admin
        .batch_execute(&format!(
            "SET search_path TO {name}; {OLD_TABLE}; {OLD_ROW}; SET search_path TO public"
        ))
        .await
        .expect("the old table");
    let mock = MockOpenRouter::start().await.expect("mock");
    let env = [("ORPIPE_DATABASE_URL", schema.database_url.as_str())];
    let (a, b) = tokio::join!(start(&mock, &env), start(&mock, &env));
    let id = chat_turn(&a, "user-7", "chat-1").await;
    chat_turn(&b, "user-7", "chat-2").await;
    let query = format!("SELECT request_id, user_hash, chat_id FROM {name}.orpipe_usage");
    let rows = eventually("three usage rows", LOG_WAIT, async || {
        let rows = schema.admin.query(&query, &[]).await.ok()?;
        (rows.len() == 3).then_some(rows)
    })
    .await;
    let find = |wanted: &str| {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == wanted)
            .map(|r| (r.get::<_, Option<String>>(1), r.get::<_, Option<String>>(2)))
            .expect("the row")
    };
    assert_eq!(find("old-row"), (None, None));
    let (hash, chat) = find(&id);
    assert_hash(&hash.expect("a user hash"), "user-7");
    assert_eq!(chat.as_deref(), Some("chat-1"));
    let hashes: std::collections::BTreeSet<Option<String>> = rows
        .iter()
        .filter(|r| r.get::<_, String>(0) != "old-row")
        .map(|r| r.get(1))
        .collect();
    assert_eq!(hashes.len(), 1, "both replicas hash the user alike");
    drop((a, b));
    schema.drop_schema().await;
}

#[tokio::test]
async fn each_turn_is_exported_to_redis_with_an_expiry() {
    let Some(redis_url) = require_env("ORPIPE_TEST_REDIS_URL") else {
        return;
    };
    let prefix = format!("orpipe-test-usage:{}:", ulid::Ulid::new());
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_REDIS_URL", redis_url.as_str()),
            ("ORPIPE_REDIS_PREFIX", prefix.as_str()),
            ("ORPIPE_USAGE_EXPORT_TTL_SECS", "600"),
        ],
    )
    .await;
    let id = chat_turn(&orpipe, "user-7", "chat-1").await;
    let (hash, _) = eventually("the usage row", LOG_WAIT, async || sqlite_ids(&orpipe, &id)).await;
    let hash = hash.expect("a user hash");

    let client = redis::Client::open(redis_url.as_str()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let key = format!("{prefix}usage:{hash}:{id}");
    let value: Vec<u8> = eventually("the exported record", LOG_WAIT, async || {
        redis::cmd("GET")
            .arg(&key)
            .query_async::<Option<Vec<u8>>>(&mut conn)
            .await
            .ok()
            .flatten()
    })
    .await;
    let record: Value = serde_json::from_slice(&value).expect("a JSON record");
    assert_eq!(record["request_id"], id);
    assert_eq!(record["model"], MODEL);
    assert_eq!(record["outcome"], "completed");
    assert_eq!(record["user_hash"], hash);
    assert_eq!(record["chat_id"], "chat-1");
    assert!(
        record["prompt_tokens"].as_u64().is_some_and(|n| n > 0),
        "{record}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("TTL");
    assert!((1..=600).contains(&ttl), "expires: {ttl}");
    // Nothing else orpipe keeps in Redis expires.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    for other in keys.iter().filter(|k| **k != key) {
        let ttl: i64 = redis::cmd("TTL")
            .arg(other)
            .query_async(&mut conn)
            .await
            .expect("TTL");
        assert_eq!(ttl, -1, "{other} never expires");
    }
    drop(orpipe);
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .expect("clean up keys");
}
