//! Images in a chat's history (FEATURES §4.2): only the latest user turn's images reach the
//! model; earlier ones become a note, so a chat switched to a model without vision goes on.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, MockOpenRouter};
use serde_json::{Value, json};

const IMAGE: &str = "data:image/png;base64,iVBORw0KGgo=";

fn turn_with_image(text: &str) -> Value {
    json!({"role": "user", "content": [
        {"type": "text", "text": text},
        {"type": "image_url", "image_url": {"url": IMAGE}},
    ]})
}

#[tokio::test]
async fn a_text_only_model_answers_a_chat_whose_history_has_images() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    // The refusal below needs the catalog entry: wait for the start-up refresh.
    crate::listed_models(&orpipe).await;
    let url = orpipe.url("/v1/chat/completions");
    // deepseek-r1 takes text only (models_sample.json).
    let history = json!({"model": "deepseek/deepseek-r1-0528:free", "messages": [
        turn_with_image("What is this?"),
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Tell me more."},
    ]});
    let response = HttpClient::new()
        .post_json(&url, &history, Some(CLIENT_KEY))
        .await
        .expect("an answer");
    assert_eq!(response.status, 200, "{}", response.text());
    let sent = mock.responses_requests();
    let body = sent
        .last()
        .expect("one upstream call")
        .json()
        .expect("json");
    let first_turn = body["input"][0]["content"].to_string();
    assert!(!first_turn.contains("input_image"), "{first_turn}");
    assert!(first_turn.contains("from an earlier turn"), "{first_turn}");

    // An image in the latest turn still gets the clear refusal.
    let latest = json!({"model": "deepseek/deepseek-r1-0528:free",
        "messages": [turn_with_image("And this?")]});
    let response = HttpClient::new()
        .post_json(&url, &latest, Some(CLIENT_KEY))
        .await
        .expect("an answer");
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(response.text().contains("images"), "{}", response.text());
}
