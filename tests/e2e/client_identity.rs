//! Whom the per-user breaker counts a failure against: the Open WebUI user (its `user`
//! object), and as a last resort the client key's label, which only the host sets
//! (`x-orpipe-client`), for requests without a `user` field or Open WebUI user id.

use crate::service_unavailable;
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe};
use serde_json::json;
use std::path::Path;

const KEY_A: &str = "sk-orpipe-client-a";
const KEY_B: &str = "sk-orpipe-client-b";

async fn start_with_two_keys(mock: &MockOpenRouter) -> Orpipe {
    let keys = format!("{KEY_A},{KEY_B}");
    Orpipe::spawn(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        &mock.base_url(),
        &[
            ("ORPIPE_API_KEYS", keys.as_str()),
            ("ORPIPE_UPSTREAM_RETRIES", "0"),
            ("ORPIPE_BREAKER_FAILURES", "2"),
        ],
    )
    .await
    .expect("orpipe starts")
}

/// A chat request without `user` and without Open WebUI's user header, so only the
/// client key can tell who sent it; `spoof` is sent as the client's own `x-orpipe-client`.
async fn ask(orpipe: &Orpipe, key: &str, spoof: Option<&str>) -> (u16, String) {
    let body = json!({
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}]
    });
    let headers: Vec<(&str, &str)> = spoof.map(|v| ("x-orpipe-client", v)).into_iter().collect();
    let response = HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/chat/completions"),
            &body,
            Some(key),
            &headers,
        )
        .await
        .expect("request");
    let code = response
        .json()
        .ok()
        .and_then(|body| body["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (response.status, code)
}

#[tokio::test]
async fn a_failing_client_is_disabled_by_its_key_and_another_key_is_not() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_two_keys(&mock).await;

    for _ in 0..2 {
        mock.enqueue(service_unavailable());
        assert_eq!(ask(&orpipe, KEY_A, None).await.0, 502);
    }
    let before = mock.responses_requests().len();
    assert_eq!(
        ask(&orpipe, KEY_A, None).await,
        (429, "user_temporarily_disabled".to_owned()),
        "client A's breaker is open"
    );
    assert_eq!(mock.responses_requests().len(), before, "not sent upstream");
    assert_eq!(
        ask(&orpipe, KEY_B, None).await.0,
        200,
        "client B is unaffected"
    );
    let log = orpipe.stderr_log();
    assert!(
        !log.contains(KEY_A) && !log.contains(KEY_B),
        "keys are never logged"
    );
}

#[tokio::test]
async fn a_client_cannot_choose_its_own_identity() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_two_keys(&mock).await;

    // Client A claims a different identity on each failing request: if the guest saw
    // these, no identity would reach the threshold.
    for spoof in ["key-1111111111111111", "key-2222222222222222"] {
        mock.enqueue(service_unavailable());
        assert_eq!(ask(&orpipe, KEY_A, Some(spoof)).await.0, 502);
    }
    assert_eq!(
        ask(&orpipe, KEY_A, Some("key-3333333333333333")).await,
        (429, "user_temporarily_disabled".to_owned()),
        "the failures counted against client A's key"
    );
    // Client B claiming one of A's spoofed identities is still itself.
    assert_eq!(
        ask(&orpipe, KEY_B, Some("key-1111111111111111")).await.0,
        200
    );
}

/// Open WebUI sends the user as an object (Pipelines models): one connection key, yet each
/// Open WebUI user has their own breaker, without `ENABLE_FORWARD_USER_INFO_HEADERS`.
#[tokio::test]
async fn open_webui_users_behind_one_key_have_their_own_breakers() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with_two_keys(&mock).await;
    let ask_as = |user: &'static str| {
        let body = json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hi"}],
            "user": {"id": user, "name": "N", "email": "n@example.com", "role": "user"},
            "orpipe_context": {"chat_id": format!("chat-{user}")},
        });
        let url = orpipe.url("/v1/chat/completions");
        async move {
            HttpClient::new()
                .post_json(&url, &body, Some(KEY_A))
                .await
                .expect("request")
                .status
        }
    };
    for _ in 0..2 {
        mock.enqueue(service_unavailable());
        assert_eq!(ask_as("owui-user-1").await, 502);
    }
    assert_eq!(ask_as("owui-user-1").await, 429, "user 1's breaker is open");
    assert_eq!(ask_as("owui-user-2").await, 200, "user 2 is not affected");
}
