//! The effort retry (FEATURES §9.5) through the one way upstream: a refused reasoning
//! effort is sent again with the closest accepted one, and that second call still gets
//! the transient retries.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{MockOpenRouter, Reply, client};
use serde_json::{Value, json};

fn refusal() -> Reply {
    Reply::http_error(
        400,
        r#"{"error":{"code":400,"message":"Provider returned error","metadata":{"raw":"Unsupported value: 'minimal'. Supported values are: 'low', 'medium', and 'high'."}}}"#,
    )
}

fn efforts_sent(mock: &MockOpenRouter) -> Vec<Value> {
    mock.responses_requests()
        .iter()
        .map(|r| r.json().expect("json body")["reasoning"]["effort"].clone())
        .collect()
}

#[tokio::test]
async fn a_refused_effort_is_retried_with_the_closest_one_and_that_call_is_retried_too() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(refusal());
    mock.enqueue(Reply::http_error(
        503,
        r#"{"error":{"code":503,"message":"No instances available"}}"#,
    ));
    mock.enqueue(Reply::stream("stream_text.sse"));
    let orpipe = start(&mock, &[]).await;
    let result = client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &json!({
            "model": "acme/reasoner-1",
            "stream": true,
            "reasoning_effort": "minimal",
            "messages": [{"role": "user", "content": "Hi"}]
        }),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(result.saw_done());
    assert_eq!(
        efforts_sent(&mock),
        [json!("minimal"), json!("low"), json!("low")]
    );
    assert_eq!(mock.pending_replies(), 0);
}

#[tokio::test]
async fn a_refusal_without_a_closer_effort_reaches_the_client_as_it_is() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(refusal());
    let orpipe = start(&mock, &[]).await;
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &json!({
            "model": "acme/reasoner-1",
            "reasoning_effort": "low",
            "messages": [{"role": "user", "content": "Hi"}]
        }),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("Supported values"),
        "{}",
        response.text()
    );
    assert_eq!(efforts_sent(&mock), [json!("low")]);
}
