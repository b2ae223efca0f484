//! Resilience before the first byte: retries of transient upstream failures, the
//! per-user request breaker, and operator-configured error cards.

use crate::{CLIENT_KEY, service_unavailable, start};
use orpipe_testkit::{HttpResponse, MockOpenRouter, Orpipe, Reply, StreamResult, client};
use serde_json::{Value, json};

fn chat(user: Option<&str>) -> Value {
    let mut body = json!({
        "model": "openai/gpt-4o-mini",
        "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]
    });
    if let Some(user) = user {
        body["user"] = json!(user);
    }
    body
}

async fn ask(orpipe: &Orpipe, user: Option<&str>) -> StreamResult {
    client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &chat(user),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
}

async fn ask_plain(orpipe: &Orpipe, user: Option<&str>) -> HttpResponse {
    client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat(user),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
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

fn error_frames(result: &StreamResult) -> usize {
    result
        .data()
        .into_iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|c| c.get("error").is_some())
        .count()
}

#[tokio::test]
async fn a_503_before_the_first_byte_is_retried_and_the_client_gets_the_answer() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(service_unavailable());
    mock.enqueue(Reply::stream("stream_text.sse"));
    let orpipe = start(&mock, &[]).await;
    let result = ask(&orpipe, None).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(
        content(&result).starts_with("Hello"),
        "{}",
        content(&result)
    );
    assert_eq!(error_frames(&result), 0);
    assert!(result.saw_done());
    assert_eq!(mock.responses_requests().len(), 2, "one failure, one retry");
    assert_eq!(mock.pending_replies(), 0);
}

#[tokio::test]
async fn a_429_with_a_short_retry_after_is_waited_out_and_retried() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::HttpError {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "1".into()),
        ],
        body: r#"{"error":{"code":429,"message":"Rate limit exceeded"}}"#.into(),
    });
    mock.enqueue(Reply::stream("stream_text.sse"));
    let orpipe = start(&mock, &[]).await;
    let result = ask(&orpipe, None).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(
        content(&result).starts_with("Hello"),
        "{}",
        content(&result)
    );
    assert_eq!(mock.responses_requests().len(), 2);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::http_error(
        400,
        r#"{"error":{"code":400,"message":"Invalid request"}}"#,
    ));
    let orpipe = start(&mock, &[]).await;
    let response = ask_plain(&orpipe, None).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(mock.responses_requests().len(), 1);
}

#[tokio::test]
async fn retries_give_up_after_the_configured_attempts_and_pass_the_error_on() {
    let mock = MockOpenRouter::start().await.expect("mock");
    for _ in 0..3 {
        mock.enqueue(service_unavailable());
    }
    let orpipe = start(&mock, &[("ORPIPE_UPSTREAM_RETRIES", "1")]).await;
    let response = ask_plain(&orpipe, None).await;
    assert_eq!(response.status, 502, "{}", response.text());
    assert_eq!(mock.responses_requests().len(), 2, "the call and one retry");
}

#[tokio::test]
async fn repeated_upstream_failures_disable_the_user_until_a_success_resets() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_UPSTREAM_RETRIES", "0"),
            ("ORPIPE_BREAKER_FAILURES", "2"),
        ],
    )
    .await;

    // A failure, a success (which forgets it), a failure: still below the threshold.
    mock.enqueue(service_unavailable());
    assert_eq!(ask_plain(&orpipe, Some("alice")).await.status, 502);
    assert_eq!(ask(&orpipe, Some("alice")).await.status, 200);
    mock.enqueue(service_unavailable());
    assert_eq!(ask_plain(&orpipe, Some("alice")).await.status, 502);
    assert_eq!(mock.pending_replies(), 0);
    mock.enqueue(service_unavailable());
    assert_eq!(ask_plain(&orpipe, Some("alice")).await.status, 502);

    // Two failures in a row: alice is disabled and OpenRouter is not called for her.
    let before = mock.responses_requests().len();
    let refused = ask_plain(&orpipe, Some("alice")).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    let body = refused.json().expect("an OpenAI error body");
    assert_eq!(body["error"]["code"], "user_temporarily_disabled");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Temporarily disabled due to repeated errors")),
        "{body}"
    );
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(mock.responses_requests().len(), before);

    // Another user is not affected.
    assert_eq!(ask(&orpipe, Some("bob")).await.status, 200);
    assert!(
        !orpipe.stderr_log().contains(CLIENT_KEY),
        "the client key is never logged"
    );
}

#[tokio::test]
async fn an_operator_template_replaces_the_interrupted_card() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_text.sse").cut_after_events(6));
    mock.enqueue(Reply::stream("stream_text.sse").cut_after_events(6));
    let custom = start(
        &mock,
        &[(
            "ORPIPE_TEMPLATE_INTERRUPTED",
            "#### Cut off: {message}\\n(ref {error_id})",
        )],
    )
    .await;
    let result = ask(&custom, None).await;
    let text = content(&result);
    assert!(text.contains("\n\n#### Cut off: "), "{text}");
    assert!(text.contains("\n(ref "), "{text}");
    assert!(!text.contains("Response interrupted"), "{text}");

    let broken = start(
        &mock,
        &[("ORPIPE_TEMPLATE_INTERRUPTED", "{{#if message}}never closed")],
    )
    .await;
    let result = ask(&broken, None).await;
    let text = content(&result);
    assert!(
        text.contains("### ⚠️ Response interrupted"),
        "a broken template falls back to the default: {text}"
    );
    assert!(
        broken
            .wait_for_log("template_interrupted", crate::LOG_WAIT)
            .await,
        "and the operator is told"
    );
}
