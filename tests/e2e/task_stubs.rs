//! Open WebUI's title, tags and follow-ups tasks get harmless defaults, not errors, when
//! OpenRouter refuses orpipe's key or orpipe has none (FEATURES §1.3); chats, streams and
//! other tasks still get the clear 401.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, HttpResponse, MockOpenRouter, Orpipe};
use serde_json::{Value, json};

async fn task(orpipe: &Orpipe, task: Option<&str>, stream: bool) -> HttpResponse {
    let body = json!({
        "model": "openai/gpt-4o-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": "### Task:\nGenerate a title"}],
    });
    let headers: Vec<(&str, &str)> = task.map(|t| ("X-OpenWebUI-Task", t)).into_iter().collect();
    HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/chat/completions"),
            &body,
            Some(CLIENT_KEY),
            &headers,
        )
        .await
        .expect("an answer")
}

fn content(response: &HttpResponse) -> Value {
    let completion = response.json().expect("a chat.completion");
    assert_eq!(completion["object"], "chat.completion", "{completion}");
    assert_eq!(completion["model"], "openai/gpt-4o-mini");
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    let text = completion["choices"][0]["message"]["content"]
        .as_str()
        .expect("text content");
    serde_json::from_str(text).expect("the stub is the JSON Open WebUI parses")
}

#[tokio::test]
async fn a_refused_key_gives_title_tags_and_follow_up_tasks_their_safe_defaults() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let refused = start(&mock, &[("OPENROUTER_API_KEY", MockOpenRouter::BAD_KEY)]).await;
    let response = task(&refused, Some("title_generation"), false).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(content(&response), json!({"title": "Chat"}));
    let response = task(&refused, Some("tags_generation"), false).await;
    assert_eq!(content(&response), json!({"tags": ["General"]}));
    let response = task(&refused, Some("follow_up_generation"), false).await;
    assert_eq!(content(&response), json!({"follow_ups": []}));
    let asked = mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/responses"))
        .count();
    assert_eq!(asked, 3, "each task asked OpenRouter, which refused it");

    // Everything else keeps the clear error.
    for (which, stream) in [
        (None, false),
        (Some("query_generation"), false),
        (Some("title_generation"), true),
    ] {
        let response = task(&refused, which, stream).await;
        assert_eq!(response.status, 401, "{which:?} stream={stream}");
    }
}

#[tokio::test]
async fn without_a_key_tasks_get_their_defaults_and_chats_the_401() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let keyless = start(&mock, &[("OPENROUTER_API_KEY", "")]).await;
    let response = task(&keyless, Some("title_generation"), false).await;
    assert_eq!(content(&response), json!({"title": "Chat"}));
    let response = task(&keyless, None, false).await;
    assert_eq!(response.status, 401);
    assert!(
        response.text().contains("OPENROUTER_API_KEY"),
        "{}",
        response.text()
    );
}
