//! The mock's synthetic Chat Completions endpoint (for the bench's peers) and its synthetic
//! whole answers, as a client sees them on the wire.

use std::time::Duration;

use orpipe_testkit::client::{self, HttpClient};
use orpipe_testkit::{MockOpenRouter, Reply};
use serde_json::{Value, json};

const KEY: &str = "sk-or-v1-test";

#[tokio::test]
async fn chat_streams_have_the_default_replys_deltas_pace_usage_and_done() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let pace = Duration::from_millis(15);
    mock.set_default_reply(Reply::synthetic(4).delta("ab").pace(pace));
    let request = json!({
        "model": "openai/gpt-4o-mini", "stream": true,
        "messages": [{ "role": "user", "content": "hi" }],
    });
    let result = client::stream_sse(&mock.chat_completions_url(), &request, Some(KEY))
        .await
        .expect("stream request");

    assert_eq!(result.status, 200);
    assert_eq!(
        result.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    assert!(result.saw_done());
    let chunks = result.json_events().expect("JSON chunks");
    // 4 text chunks, the finish chunk, the usage chunk.
    assert_eq!(chunks.len(), 6, "{chunks:?}");
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "openai/gpt-4o-mini");
        assert_eq!(chunk["id"], chunks[0]["id"]);
    }
    let text: Vec<&str> = chunks
        .iter()
        .filter_map(|chunk| chunk.pointer("/choices/0/delta/content")?.as_str())
        .filter(|text| !text.is_empty())
        .collect();
    assert_eq!(text, ["ab"; 4]);
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[5]["choices"], json!([]));
    assert_eq!(chunks[5]["usage"]["completion_tokens"], 4);
    assert_eq!(chunks[5]["usage"]["prompt_tokens"], 14);
    assert_eq!(chunks[5]["usage"]["total_tokens"], 18);
    assert!(chunks[5]["usage"]["cost"].as_f64().is_some_and(|c| c > 0.0));

    // Paced: the text chunks arrive at least `pace` apart (three pauses in all).
    let text_times: Vec<Duration> = result
        .frames
        .iter()
        .filter(|frame| matches!(&frame.data, orpipe_testkit::SseEvent::Data(d) if d.contains("\"content\":\"ab\"")))
        .map(|frame| frame.at)
        .collect();
    assert_eq!(text_times.len(), 4);
    let spread = text_times[3].saturating_sub(text_times[0]);
    assert!(spread >= pace * 3, "text chunks not paced: {text_times:?}");

    let recorded = mock.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path, "/api/v1/chat/completions");
    assert!(mock.responses_requests().is_empty());
}

#[tokio::test]
async fn a_chat_call_without_stream_gets_one_whole_completion() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    // No synthetic default: the built-in 8 deltas of " tok".
    let request = json!({ "model": "x/y", "messages": [{ "role": "user", "content": "hi" }] });
    let response = HttpClient::new()
        .post_json(&mock.chat_completions_url(), &request, Some(KEY))
        .await
        .expect("request");

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body: Value = response.json().expect("JSON body");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "x/y");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["content"], " tok".repeat(8));
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["completion_tokens"], 8);
}

#[tokio::test]
async fn chat_calls_need_a_good_key_and_leave_the_responses_queue_alone() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::http_error(500, "for /responses"));
    let request = json!({ "model": "x/y", "messages": [] });
    let client = HttpClient::new();
    let url = mock.chat_completions_url();

    let missing = client
        .post_json(&url, &request, None)
        .await
        .expect("request");
    assert_eq!(missing.status, 401);
    let bad = client
        .post_json(&url, &request, Some(MockOpenRouter::BAD_KEY))
        .await
        .expect("request");
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.json().expect("JSON")["error"]["message"],
        "User not found."
    );
    let good = client
        .post_json(&url, &request, Some(KEY))
        .await
        .expect("request");
    assert_eq!(good.status, 200);
    assert_eq!(mock.pending_replies(), 1);
}

#[tokio::test]
async fn a_synthetic_reply_to_a_responses_call_without_stream_is_the_completed_object() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.set_default_reply(Reply::synthetic(3).delta("xy"));
    let request = json!({ "model": "openai/gpt-4o-mini", "input": "hi" });
    let response = HttpClient::new()
        .post_json(&mock.responses_url(), &request, Some(KEY))
        .await
        .expect("request");

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body: Value = response.json().expect("JSON body");
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["output"][0]["content"][0]["text"], "xyxyxy");
    assert_eq!(body["usage"]["output_tokens"], 3);
}
