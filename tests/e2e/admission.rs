//! Admission control: with one instance slot and one queue place, a third concurrent
//! request is refused at once with 503 and `Retry-After`, while the other two complete.

use crate::{CLIENT_KEY, LOG_WAIT, rendered, start};
use orpipe_testkit::{MockOpenRouter, Orpipe, Reply, StreamOutcome, StreamResult, client};
use serde_json::{Value, json};
use std::time::Duration;

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
    let deadline = tokio::time::Instant::now() + LOG_WAIT;
    while !orpipe.stderr_log().lines().any(|line| {
        line.contains("refresh-catalog")
            && (line.contains("job finished") || line.contains("job failed"))
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the start-up catalog refresh did not finish: {}",
            orpipe.stderr_log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the mock has received `count` `/responses` calls.
pub async fn wait_for_upstream_calls(mock: &MockOpenRouter, count: usize) {
    let deadline = tokio::time::Instant::now() + LOG_WAIT;
    while mock.responses_requests().len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mock saw {} of {count} /responses calls",
            mock.responses_requests().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_request_beyond_the_limit_and_the_queue_gets_503_at_once_and_the_others_complete() {
    let mock = MockOpenRouter::start().await.expect("mock");
    // About 1.7 s per answer: long enough for the other two requests to arrive meanwhile.
    mock.set_default_reply(
        Reply::stream("stream_text.sse").event_delay(Duration::from_millis(100)),
    );
    let orpipe = start(
        &mock,
        &[("ORPIPE_MAX_CONCURRENT", "1"), ("ORPIPE_MAX_QUEUED", "1")],
    )
    .await;
    wait_for_startup_jobs(&orpipe).await;

    let first = tokio::spawn({
        let url = orpipe.url("/v1/chat/completions");
        async move {
            client::stream_sse(&url, &chat(), Some(CLIENT_KEY))
                .await
                .expect("request")
        }
    });
    // The first request holds the only slot once it has reached upstream.
    wait_for_upstream_calls(&mock, 1).await;
    // The second and third race for the one queue place: either may win it.
    let (second, third) = tokio::join!(stream_chat(&orpipe), stream_chat(&orpipe));
    let health = client::get(&orpipe.url("/healthz"), None)
        .await
        .expect("healthz");
    assert_eq!(health.status, 200, "/healthz is never queued");
    let first = first.await.expect("first request task");

    assert_intact(&first, "first request");
    let (queued, refused) = if second.status == 503 {
        (third, second)
    } else {
        (second, third)
    };
    assert_intact(&queued, "the queued request");
    assert_eq!(
        refused.status,
        503,
        "{}",
        String::from_utf8_lossy(&refused.raw)
    );
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
    mock.set_default_reply(Reply::stream("stream_text.sse").event_delay(Duration::from_millis(60)));
    let orpipe = start(
        &mock,
        &[("ORPIPE_MAX_CONCURRENT", "1"), ("ORPIPE_MAX_QUEUED", "0")],
    )
    .await;
    wait_for_startup_jobs(&orpipe).await;

    let first = tokio::spawn({
        let url = orpipe.url("/v1/chat/completions");
        async move {
            client::stream_sse(&url, &chat(), Some(CLIENT_KEY))
                .await
                .expect("request")
        }
    });
    wait_for_upstream_calls(&mock, 1).await;
    let refused = stream_chat(&orpipe).await;
    assert_eq!(refused.status, 503);
    assert_intact(&first.await.expect("first request task"), "first request");
    // The instance keeps its slot for a moment after `[DONE]` (it stores the usage record),
    // so the next request may still be refused briefly; it must be served soon after.
    let deadline = tokio::time::Instant::now() + LOG_WAIT;
    loop {
        let next = stream_chat(&orpipe).await;
        if next.status != 503 || tokio::time::Instant::now() >= deadline {
            assert_intact(&next, "after the first finished");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
