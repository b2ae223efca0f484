//! Admission control: with one instance slot and one queue place, a third concurrent
//! request is refused at once with 503 and `Retry-After`, while the other two complete.
//!
//! The mock's gate holds the upstream answer, so the first request keeps its slot for
//! exactly as long as the test needs, however slow the machine.

use crate::{CLIENT_KEY, LOG_WAIT, rendered, start};
use orpipe_testkit::{
    Gate, MockOpenRouter, Orpipe, StreamOutcome, StreamResult, client, eventually,
};
use serde_json::{Value, json};
use std::fmt;
use tokio::task::JoinHandle;

const ANSWER: &str = "Hello! How can I help you today?";

fn chat() -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

async fn stream_chat(orpipe: &Orpipe) -> StreamResult {
    client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &chat(),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
}

/// The whole answer arrived: every chunk, the usage chunk, `[DONE]`, a clean end.
pub fn assert_intact(result: &StreamResult, what: &str) {
    let raw = String::from_utf8_lossy(&result.raw);
    assert_eq!(result.status, 200, "{what}: {raw}");
    assert_eq!(result.outcome, StreamOutcome::Ended, "{what}: {raw}");
    assert!(result.saw_done(), "{what}: no [DONE]: {raw}");
    let chunks: Vec<Value> = result
        .data()
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("every frame is JSON"))
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(rendered(&content), ANSWER, "{what}");
    assert!(
        chunks.iter().any(|c| c["usage"]["total_tokens"] == 23),
        "{what}: no usage chunk: {raw}"
    );
}

/// Waits until the start-up catalog refresh has released its instance slot, so only the
/// test's requests compete for it.
pub async fn wait_for_startup_jobs(orpipe: &Orpipe) {
    eventually(
        fmt::from_fn(|f| {
            let log = orpipe.stderr_log();
            write!(f, "the start-up catalog refresh to finish: {log}")
        }),
        LOG_WAIT,
        async || {
            orpipe.stderr_log().lines().any(|line| {
                line.contains("refresh-catalog")
                    && (line.contains("job finished") || line.contains("job failed"))
            })
        },
    )
    .await;
}

/// Waits until `count` upstream calls are waiting at `gate`: their requests hold instance
/// slots until the gate opens.
pub async fn wait_for_held_calls(gate: &Gate, count: usize) {
    eventually(
        fmt::from_fn(|f| {
            let held = gate.held();
            write!(
                f,
                "{count} upstream calls held at the gate (it holds {held})"
            )
        }),
        LOG_WAIT,
        async || gate.held() == count,
    )
    .await;
}

/// A streamed chat on its own task.
fn spawn_chat(orpipe: &Orpipe) -> JoinHandle<StreamResult> {
    let url = orpipe.url("/v1/chat/completions");
    tokio::spawn(async move {
        client::stream_sse(&url, &chat(), Some(CLIENT_KEY))
            .await
            .expect("request")
    })
}

/// The 503 of admission control: `Retry-After` and an OpenAI error body.
fn assert_overloaded(refused: &StreamResult) {
    let raw = String::from_utf8_lossy(&refused.raw);
    assert_eq!(refused.status, 503, "{raw}");
    let retry_after = refused
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|secs| secs > 0),
        "{:?}",
        refused.headers
    );
    let body: Value = serde_json::from_slice(&refused.raw).expect("an OpenAI error body");
    assert_eq!(body["error"]["type"], "server_overloaded");
    assert_eq!(body["error"]["code"], "server_overloaded");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("capacity"), "{message}");
}

#[tokio::test]
async fn a_request_beyond_the_limit_and_the_queue_gets_503_at_once_and_the_others_complete() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[("ORPIPE_MAX_CONCURRENT", "1"), ("ORPIPE_MAX_QUEUED", "1")],
    )
    .await;
    wait_for_startup_jobs(&orpipe).await;
    let gate = mock.gate();

    // The first request holds the only slot while its upstream call waits at the gate.
    let first = spawn_chat(&orpipe);
    wait_for_held_calls(&gate, 1).await;
    // The second and third race for the one queue place: either may win it, and the other
    // is refused while the gate is still closed, so the refusal cannot wait for a slot.
    let mut second = spawn_chat(&orpipe);
    let mut third = spawn_chat(&orpipe);
    let first_done = async {
        tokio::select! {
            done = &mut second => (done, third),
            done = &mut third => (done, second),
        }
    };
    let (refused, queued) = tokio::time::timeout(LOG_WAIT, first_done)
        .await
        .expect("one of two requests beyond the slot and the queue place is refused at once");
    let refused = refused.expect("refused request task");
    assert_overloaded(&refused);
    assert!(!first.is_finished() && !queued.is_finished());
    let health = client::get(&orpipe.url("/healthz"), None)
        .await
        .expect("healthz");
    assert_eq!(health.status, 200, "/healthz is never queued");
    assert_eq!(
        mock.responses_requests().len(),
        1,
        "the queued request waits for the slot before it calls upstream"
    );

    gate.open();
    assert_intact(&first.await.expect("first request task"), "first request");
    assert_intact(
        &queued.await.expect("queued request task"),
        "the queued request",
    );
    assert_eq!(
        mock.responses_requests().len(),
        2,
        "the refused request never reached upstream"
    );
    assert!(
        orpipe
            .wait_for_log("request refused: server overloaded", LOG_WAIT)
            .await
    );
}

#[tokio::test]
async fn without_a_queue_a_busy_server_refuses_and_then_serves_again() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[("ORPIPE_MAX_CONCURRENT", "1"), ("ORPIPE_MAX_QUEUED", "0")],
    )
    .await;
    wait_for_startup_jobs(&orpipe).await;
    let gate = mock.gate();

    let first = spawn_chat(&orpipe);
    wait_for_held_calls(&gate, 1).await;
    let refused = stream_chat(&orpipe).await;
    assert_overloaded(&refused);
    gate.open();
    assert_intact(&first.await.expect("first request task"), "first request");
    // The instance keeps its slot for a moment after `[DONE]` (it stores the usage record),
    // so the next request may still be refused briefly; it must be served soon after.
    let next = eventually(
        "a request served after the first finished",
        LOG_WAIT,
        async || {
            let next = stream_chat(&orpipe).await;
            (next.status != 503).then_some(next)
        },
    )
    .await;
    assert_intact(&next, "after the first finished");
}
