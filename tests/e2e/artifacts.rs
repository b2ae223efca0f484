//! Durable reasoning: an answer's reasoning is stored, marked in the content, and
//! replayed on the next turn — across a restart, a key rotation, two replicas sharing
//! PostgreSQL and Redis — and deleted once expired. The stored rows are read raw to
//! check that nothing readable is kept when a key is configured.

use crate::{CLIENT_KEY, LOG_WAIT, PgSchema};
use orpipe_testkit::{
    MockOpenRouter, Orpipe, Reply, StreamResult, client, eventually, require_env,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// What the fixture's reasoning item carries; none of it may sit in the database.
const FIXTURE_MODEL: &str = "openai/gpt-5-mini";
const QUESTION: &str = "A train goes 60 mph for 2.5 hours. How far?";
const KEY: &str = "orpipe-test-artifact-key-1";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_orpipe"))
}

async fn spawn(mock: &MockOpenRouter, env: &[(&str, &str)], dir: Option<&Path>) -> Orpipe {
    let mut all = vec![("ORPIPE_API_KEYS", CLIENT_KEY)];
    all.extend_from_slice(env);
    Orpipe::spawn_in(binary(), &mock.base_url(), &all, dir)
        .await
        .expect("orpipe starts")
}

async fn ask(orpipe: &Orpipe, messages: Value) -> StreamResult {
    let body = json!({"model": FIXTURE_MODEL, "stream": true, "messages": messages});
    let result = client::stream_sse(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    result
}

fn content(result: &StreamResult) -> String {
    result
        .data()
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The reasoning item of the fixture's final payload, as OpenRouter sent it.
fn fixture_reasoning() -> Value {
    let sse =
        orpipe_testkit::fixtures::read_fixture("stream_reasoning_summary.sse").expect("fixture");
    String::from_utf8_lossy(&sse)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|e| e["type"] == "response.completed")
        .and_then(|e| e["response"]["output"].as_array()?.first().cloned())
        .expect("the fixture's reasoning item")
}

/// Turn 1: the answer, whose content ends with one marker line (FEATURES §5.6: the text
/// comes first), and that marker's id.
async fn first_turn(mock: &MockOpenRouter, orpipe: &Orpipe) -> (String, String) {
    mock.enqueue(Reply::stream("stream_reasoning_summary.sse").split_every(13));
    let answer = content(&ask(orpipe, json!([{"role": "user", "content": QUESTION}])).await);
    assert!(answer.starts_with("The train travels"), "{answer:?}");
    let last_line = answer.lines().last().unwrap_or_default().to_owned();
    let id = last_line
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix("]: #"))
        .unwrap_or_else(|| panic!("the answer ends with a marker line: {answer:?}"))
        .to_owned();
    assert_eq!(id.len(), 26, "a ULID: {id}");
    assert_eq!(
        crate::rendered(&answer),
        "The train travels **150 miles** (60 mph × 2.5 hours).",
        "{answer:?}"
    );
    (answer, id)
}

/// Turn 2 with turn 1's answer in the history; returns the body OpenRouter received.
async fn second_turn(mock: &MockOpenRouter, orpipe: &Orpipe, answer: &str) -> Value {
    mock.enqueue(Reply::stream("stream_text.sse"));
    let before = mock.responses_requests().len();
    ask(
        orpipe,
        json!([{"role": "user", "content": QUESTION},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "And in kilometres?"}]),
    )
    .await;
    let requests = mock.responses_requests();
    assert_eq!(requests.len(), before + 1);
    requests[before].json().expect("JSON body")
}

/// Asserts the reasoning went back in its place (before the answer's text, where it
/// finished, although its marker ends the text) and no marker reached the model.
fn assert_replayed(sent: &Value) {
    let input = sent["input"].as_array().expect("input");
    let types: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        types,
        ["message", "reasoning", "message", "message"],
        "{sent}"
    );
    let reasoning = &input[1];
    let original = fixture_reasoning();
    assert_eq!(
        reasoning["encrypted_content"],
        original["encrypted_content"]
    );
    assert_eq!(reasoning["summary"], original["summary"]);
    assert_eq!(reasoning["id"], original["id"]);
    assert!(
        !sent.to_string().contains("]: #"),
        "markers never reach the model: {sent}"
    );
}

fn assert_not_replayed(sent: &Value) {
    let input = sent["input"].as_array().expect("input");
    let types: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(types, ["message", "message", "message"], "{sent}");
    assert!(!sent.to_string().contains("]: #"), "{sent}");
}

/// Raw SQLite rows: (id, key_id, payload).
fn sqlite_rows(dir: &Path) -> Vec<(String, Option<String>, Vec<u8>)> {
    let db = rusqlite::Connection::open(dir.join("orpipe.db")).expect("open the database");
    let mut statement = db
        .prepare("SELECT id, key_id, payload FROM orpipe_artifacts")
        .expect("prepare");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn assert_no_plaintext(payload: &[u8]) {
    let original = fixture_reasoning();
    let secret = original["encrypted_content"].as_str().expect("content");
    let text = String::from_utf8_lossy(payload);
    for needle in [
        &secret[..24],
        "Computing distance",
        "reasoning",
        "summary_text",
    ] {
        assert!(
            !text.contains(needle),
            "{needle:?} is readable in the stored row"
        );
    }
}

#[tokio::test]
async fn reasoning_is_replayed_after_a_restart_and_never_stored_readable() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    let env = [("ORPIPE_ARTIFACT_KEY", KEY)];

    let first = spawn(&mock, &env, Some(dir.path())).await;
    let (answer, id) = first_turn(&mock, &first).await;
    drop(first);

    let rows = sqlite_rows(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, id);
    assert!(
        rows[0].1.is_some(),
        "the key id is stored beside the record"
    );
    assert_no_plaintext(&rows[0].2);

    let second = spawn(&mock, &env, Some(dir.path())).await;
    assert_replayed(&second_turn(&mock, &second, &answer).await);
    // A history without the marker replays nothing, and a user's marker is only text.
    let lines: Vec<&str> = answer.lines().collect();
    let plain = lines[..lines.len() - 1].join("\n");
    assert_not_replayed(&second_turn(&mock, &second, &plain).await);
}

#[tokio::test]
async fn rotated_keys_still_read_old_records_and_a_lost_key_only_skips_the_replay() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let dir = tempfile::tempdir().expect("data dir");
    let old = spawn(&mock, &[("ORPIPE_ARTIFACT_KEY", KEY)], Some(dir.path())).await;
    let (answer, _) = first_turn(&mock, &old).await;
    drop(old);

    let rotated = spawn(
        &mock,
        &[
            ("ORPIPE_ARTIFACT_KEY", "a-new-key"),
            ("ORPIPE_ARTIFACT_OLD_KEYS", KEY),
        ],
        Some(dir.path()),
    )
    .await;
    assert_replayed(&second_turn(&mock, &rotated, &answer).await);
    // New records are sealed with the new key.
    let (_, new_id) = first_turn(&mock, &rotated).await;
    drop(rotated);
    let rows = sqlite_rows(dir.path());
    let key_of = |id: &str| rows.iter().find(|r| r.0 == id).and_then(|r| r.1.clone());
    let first_key = rows
        .iter()
        .find(|r| r.0 != new_id)
        .and_then(|r| r.1.clone());
    assert!(key_of(&new_id).is_some() && key_of(&new_id) != first_key);

    let forgetful = spawn(
        &mock,
        &[("ORPIPE_ARTIFACT_KEY", "a-new-key")],
        Some(dir.path()),
    )
    .await;
    assert_not_replayed(&second_turn(&mock, &forgetful, &answer).await);
    assert!(
        forgetful.wait_for_log("not configured", LOG_WAIT).await,
        "the log says why: {}",
        forgetful.stderr_log()
    );
    assert!(
        forgetful
            .stderr_log()
            .contains("some artifacts were not replayed")
    );
}

#[tokio::test]
async fn without_a_key_records_are_plain_and_the_start_up_log_says_so() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = spawn(&mock, &[], None).await;
    assert!(
        orpipe.wait_for_log("NOT encrypted", LOG_WAIT).await,
        "{}",
        orpipe.stderr_log()
    );
    let (answer, _) = first_turn(&mock, &orpipe).await;
    let rows = sqlite_rows(orpipe.data_dir());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, None);
    assert_replayed(&second_turn(&mock, &orpipe, &answer).await);
}

#[tokio::test]
async fn reasoning_persistence_can_be_turned_off() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = spawn(&mock, &[("ORPIPE_PERSIST_REASONING", "off")], None).await;
    mock.enqueue(Reply::stream("stream_reasoning_summary.sse"));
    let answer = content(&ask(&orpipe, json!([{"role": "user", "content": QUESTION}])).await);
    assert_eq!(
        answer,
        "The train travels **150 miles** (60 mph × 2.5 hours)."
    );
    assert!(sqlite_rows(orpipe.data_dir()).is_empty());
}

#[tokio::test]
async fn expired_artifacts_are_deleted_by_the_cleanup_job() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = spawn(
        &mock,
        &[
            ("ORPIPE_ARTIFACT_CLEANUP_SECS", "1"),
            ("ORPIPE_ARTIFACT_RETENTION_DAYS", "30"),
        ],
        None,
    )
    .await;
    let (_, stale) = first_turn(&mock, &orpipe).await;
    let (_, fresh) = first_turn(&mock, &orpipe).await;
    // Age one record past the retention period, as if unused for 31 days.
    let db = rusqlite::Connection::open(orpipe.data_dir().join("orpipe.db")).expect("open");
    let month_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - 31 * 86_400_000;
    db.execute(
        "UPDATE orpipe_artifacts SET used_at_ms = ?1 WHERE id = ?2",
        rusqlite::params![month_ago, stale],
    )
    .expect("age the record");
    let ids = eventually(
        "the cleanup job to delete the stale record",
        Duration::from_secs(30),
        async || {
            let ids: Vec<String> = sqlite_rows(orpipe.data_dir())
                .into_iter()
                .map(|r| r.0)
                .collect();
            (!ids.contains(&stale)).then_some(ids)
        },
    )
    .await;
    assert_eq!(ids, vec![fresh], "{}", orpipe.stderr_log());
    assert!(orpipe.wait_for_log("deleted 1 artifacts", LOG_WAIT).await);
}

/// Two processes sharing PostgreSQL and Redis: turn 1 through one, turn 2 through the
/// other; then a third after a key rotation, and expiry. Each run gets its own schema,
/// and the first two replicas start at the same moment so their migrations race.
#[tokio::test]
async fn two_replicas_sharing_postgres_and_redis_replay_each_others_reasoning() {
    let (Some(pg), Some(redis)) = (
        require_env("ORPIPE_TEST_POSTGRES_URL"),
        require_env("ORPIPE_TEST_REDIS_URL"),
    ) else {
        return;
    };
    let pg_schema = PgSchema::create(&pg).await;
    let (admin, schema) = (&pg_schema.admin, &pg_schema.name);
    let database_url = pg_schema.database_url.clone();
    let prefix = format!("{schema}:");
    let env = [
        ("ORPIPE_DATABASE_URL", database_url.as_str()),
        ("ORPIPE_REDIS_URL", redis.as_str()),
        ("ORPIPE_REDIS_PREFIX", prefix.as_str()),
        ("ORPIPE_ARTIFACT_KEY", KEY),
        ("ORPIPE_ARTIFACT_CLEANUP_SECS", "1"),
    ];

    let mock = MockOpenRouter::start().await.expect("mock");
    let (a, b) = tokio::join!(spawn(&mock, &env, None), spawn(&mock, &env, None));
    let (answer, id) = first_turn(&mock, &a).await;
    assert_replayed(&second_turn(&mock, &b, &answer).await);

    let rows = admin
        .query(
            &format!("SELECT id, key_id, payload FROM {schema}.orpipe_artifacts"),
            &[],
        )
        .await
        .expect("raw rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), id);
    assert!(rows[0].get::<_, Option<String>>(1).is_some());
    assert_no_plaintext(&rows[0].get::<_, Vec<u8>>(2));
    // The catalog cache went to the shared Redis under the prefix.
    let redis_client = redis::Client::open(redis.as_str()).expect("redis url");
    let mut conn = redis_client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(!keys.is_empty(), "orpipe keeps its key-value data in Redis");

    // A third replica after a key rotation still replays the record.
    let mut rotated_env = env.to_vec();
    rotated_env.retain(|(k, _)| *k != "ORPIPE_ARTIFACT_KEY");
    rotated_env.extend([
        ("ORPIPE_ARTIFACT_KEY", "a-new-key"),
        ("ORPIPE_ARTIFACT_OLD_KEYS", KEY),
    ]);
    let c = spawn(&mock, &rotated_env, None).await;
    assert_replayed(&second_turn(&mock, &c, &answer).await);

    // Expiry on PostgreSQL: a record unused past the retention period is deleted by
    // whichever replica's cleanup job runs first.
    admin
        .execute(
            &format!("UPDATE {schema}.orpipe_artifacts SET used_at_ms = 0 WHERE id = $1"),
            &[&id],
        )
        .await
        .expect("age the record");
    eventually(
        "a cleanup job to delete the expired record",
        Duration::from_secs(30),
        async || {
            admin
                .query(&format!("SELECT id FROM {schema}.orpipe_artifacts"), &[])
                .await
                .expect("rows")
                .is_empty()
        },
    )
    .await;

    drop((a, b, c));
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .expect("clean up keys");
    pg_schema.drop_schema().await;
}
