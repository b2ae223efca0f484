//! Identifiers upstream and prompt caching (FEATURES §4.7, §4.5): Open WebUI's ids replace
//! the client's, the session id is a keyed hash of the chat id, Anthropic models get
//! `cache_control`; a plain client keeps what it sent.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, MockOpenRouter};
use serde_json::{Value, json};

async fn upstream_body(mock: &MockOpenRouter, url: &str, request: Value) -> Value {
    let response = HttpClient::new()
        .post_json(url, &request, Some(CLIENT_KEY))
        .await
        .expect("an answer");
    assert_eq!(response.status, 200, "{}", response.text());
    let sent = mock.responses_requests();
    sent.last().expect("an upstream call").json().expect("json")
}

#[tokio::test]
async fn open_webui_ids_go_upstream_hashed_and_plain_clients_keep_their_own() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_SEND_CHAT_ID", "true")]).await;
    let url = orpipe.url("/v1/chat/completions");
    let from_open_webui = json!({
        "model": "anthropic/claude-sonnet-4.5",
        "messages": [{"role": "user", "content": "hi"}],
        "user": {"id": "u-42", "name": "Ann", "email": "ann@example.com", "role": "user"},
        "session_id": "client-session",
        "orpipe_context": {"chat_id": "chat-7", "message_id": "m-1"},
    });
    let body = upstream_body(&mock, &url, from_open_webui.clone()).await;
    assert_eq!(body["user"], "u-42");
    let session = body["session_id"].as_str().expect("a session id");
    assert_eq!(session.len(), 64, "{session}");
    assert!(!session.contains("chat-7") && session != "client-session");
    assert_eq!(body["metadata"], json!({"chat_id": "chat-7"}));
    assert_eq!(body["cache_control"], json!({"type": "ephemeral"}));
    assert!(
        body.get("orpipe_context").is_none(),
        "the context never goes upstream"
    );
    let text = body.to_string();
    assert!(
        !text.contains("ann@example.com") && !text.contains("Ann"),
        "{text}"
    );

    // The same chat again: the same session id (a replica would derive it too).
    let again = upstream_body(&mock, &url, from_open_webui).await;
    assert_eq!(again["session_id"], session);

    let plain = json!({
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "user": "alice", "session_id": "s-1", "metadata": {"k": "v"},
    });
    let body = upstream_body(&mock, &url, plain).await;
    assert_eq!(body["user"], "alice");
    assert_eq!(body["session_id"], "s-1");
    assert_eq!(body["metadata"], json!({"k": "v"}));
    assert!(body.get("cache_control").is_none());
}

#[tokio::test]
async fn a_sticky_session_shows_cached_tokens_in_the_usage() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let url = orpipe.url("/v1/chat/completions");
    let turn = json!({
        "model": "anthropic/claude-sonnet-4.5",
        "messages": [{"role": "user", "content": "hi"}],
        "orpipe_context": {"chat_id": "chat-cache"},
    });
    let mut cached = Vec::new();
    for _ in 0..2 {
        let response = HttpClient::new()
            .post_json(&url, &turn, Some(CLIENT_KEY))
            .await
            .expect("an answer");
        assert_eq!(response.status, 200, "{}", response.text());
        let usage = response.json().expect("json")["usage"].clone();
        cached.push(usage["prompt_tokens_details"]["cached_tokens"].as_u64());
    }
    // The mock caches per session id, as a provider kept on one session does.
    assert_eq!(cached[0], Some(0), "first turn: nothing cached");
    assert!(cached[1].is_some_and(|n| n > 0), "{cached:?}");
}

#[tokio::test]
async fn anthropic_models_get_the_interleaved_thinking_beta_on_both_endpoints() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let url = orpipe.url("/v1/chat/completions");
    let ask =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    upstream_body(&mock, &url, ask("anthropic/claude-sonnet-4.5")).await;
    upstream_body(&mock, &url, ask("openai/gpt-4o-mini")).await;
    let beta: Vec<Option<String>> = mock
        .responses_requests()
        .iter()
        .map(|r| r.header("x-anthropic-beta").map(str::to_owned))
        .collect();
    assert_eq!(
        beta,
        [Some("interleaved-thinking-2025-05-14".to_owned()), None]
    );

    let off = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&off, &[("ORPIPE_ANTHROPIC_INTERLEAVED_THINKING", "false")]).await;
    upstream_body(
        &off,
        &orpipe.url("/v1/chat/completions"),
        ask("anthropic/claude-sonnet-4.5"),
    )
    .await;
    let sent = off.responses_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-anthropic-beta"), None);
}
