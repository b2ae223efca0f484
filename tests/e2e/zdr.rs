//! Zero data retention (FEATURES §2.3, §3.1): with `ORPIPE_ZDR_ENFORCE` only models on
//! OpenRouter's ZDR list are listed and served, each request asks for ZDR endpoints, and
//! without the list every model is refused (fail closed).

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, HttpResponse, MockOpenRouter, Orpipe};
use serde_json::{Value, json};

async fn chat(orpipe: &Orpipe, model: &str) -> HttpResponse {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    HttpClient::new()
        .post_json(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
        .await
        .expect("an answer")
}

#[tokio::test]
async fn enforcement_lists_and_serves_only_zdr_models_and_asks_for_zdr() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_ZDR_ENFORCE", "true")]).await;
    assert_eq!(
        crate::listed_models(&orpipe).await,
        ["anthropic.claude-sonnet-4.5", "google.gemini-2.5-flash"]
    );
    let response = chat(&orpipe, "anthropic/claude-sonnet-4.5").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let sent: Value = mock
        .responses_requests()
        .last()
        .expect("sent")
        .json()
        .expect("json");
    assert_eq!(sent["provider"]["zdr"], true, "{sent}");

    let refused = chat(&orpipe, "openai/gpt-4o-mini").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(
        refused.text().contains("ORPIPE_ZDR_ENFORCE"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn without_the_list_enforcement_fails_closed_and_says_why() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.fail_zdr_list();
    let orpipe = start(&mock, &[("ORPIPE_ZDR_ENFORCE", "true")]).await;
    assert!(crate::listed_models(&orpipe).await.is_empty());
    let refused = chat(&orpipe, "anthropic/claude-sonnet-4.5").await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(
        refused.text().contains("could not be loaded"),
        "{}",
        refused.text()
    );
    assert!(
        mock.responses_requests().is_empty(),
        "nothing went upstream"
    );
}

#[tokio::test]
async fn the_zdr_only_filter_lists_without_changing_requests() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_ZDR_ONLY", "true")]).await;
    assert_eq!(crate::listed_models(&orpipe).await.len(), 2);
    let response = chat(&orpipe, "google/gemini-2.5-flash").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let sent: Value = mock
        .responses_requests()
        .last()
        .expect("sent")
        .json()
        .expect("json");
    assert!(sent.get("provider").is_none(), "{sent}");
}
