//! Every recorded stream fixture through the real binary, checking the chunks a client
//! receives (spine.rs covers plain text, reasoning text and a cut connection); and the
//! per-model decisions: filters from config, media a model cannot take, background tasks.

use crate::{CLIENT_KEY, joined, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Reply, StreamResult, client};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn chat(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

/// Streams one chat request whose upstream answer is `fixture`, split at odd offsets.
async fn stream_fixture(fixture: &'static str) -> (StreamResult, Vec<Value>) {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream(fixture).split_every(11));
    let orpipe = start(&mock, &[]).await;
    let result = client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &chat("openai/gpt-4o-mini", true),
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
    assert!(result.saw_done(), "{fixture}: the stream ends with [DONE]");
    let chunks = result
        .json_events()
        .expect("every data frame is JSON")
        .into_iter()
        .collect();
    (result, chunks)
}

fn finish_reasons(chunks: &[Value]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect()
}

/// The usage chunk must be the last one, alone, with no choices.
fn final_usage(chunks: &[Value]) -> &Value {
    let with_usage: Vec<&Value> = chunks
        .iter()
        .filter(|c| c.get("usage").is_some_and(|u| !u.is_null()))
        .collect();
    assert_eq!(with_usage.len(), 1, "usage exactly once");
    let last = chunks.last().expect("chunks");
    assert_eq!(last["choices"], json!([]), "the usage chunk is last");
    &last["usage"]
}

fn errors(chunks: &[Value]) -> Vec<&Value> {
    chunks.iter().filter_map(|c| c.get("error")).collect()
}

#[tokio::test]
async fn reasoning_summaries_stream_as_reasoning_content_then_the_answer() {
    let (_, chunks) = stream_fixture("stream_reasoning_summary.sse").await;
    assert!(
        joined(&chunks, "reasoning_content").starts_with("**Computing distance**"),
        "{}",
        joined(&chunks, "reasoning_content")
    );
    // The content also carries a hidden marker line for the stored reasoning.
    assert_eq!(
        crate::rendered(&joined(&chunks, "content")),
        "The train travels **150 miles** (60 mph × 2.5 hours)."
    );
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    let usage = final_usage(&chunks);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 128);
    assert_eq!(usage["total_tokens"], 253);
}

#[tokio::test]
async fn tool_calls_keep_stable_indexes_and_whole_arguments() {
    let (_, chunks) = stream_fixture("stream_tool_call.sse").await;
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    for call in chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
    {
        let entry = calls
            .entry(
                call["index"]
                    .as_u64()
                    .expect("every fragment has its index"),
            )
            .or_default();
        if let Some(id) = call["id"].as_str() {
            entry.0 = id.to_owned();
        }
        if let Some(name) = call["function"]["name"].as_str() {
            entry.1 = name.to_owned();
        }
        entry.2 += call["function"]["arguments"].as_str().unwrap_or_default();
    }
    assert_eq!(calls.keys().copied().collect::<Vec<_>>(), [0, 1]);
    let (id, name, arguments) = &calls[&0];
    assert_eq!(id, "call_Qm3xT7aLk2Vd9Rb1Zc4Yp8Fe");
    assert_eq!(name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(arguments).expect("JSON arguments"),
        json!({"location": "Paris, France", "unit": "celsius"})
    );
    assert_eq!(calls[&1].0, "call_Ws5hN1cXo8Gt2Kj6Ra9Ub3Lm");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&1].2).expect("JSON arguments")["location"],
        "Tokyo, Japan"
    );
    assert_eq!(finish_reasons(&chunks), ["tool_calls"]);
    assert_eq!(final_usage(&chunks)["prompt_tokens"], 118);
}

#[tokio::test]
async fn web_search_citations_arrive_as_annotations_once_each() {
    let (_, chunks) = stream_fixture("stream_web_search_citations.sse").await;
    assert!(joined(&chunks, "content").starts_with("According to the official Rust blog"));
    let annotations: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["annotations"].as_array())
        .flatten()
        .collect();
    let urls: Vec<&str> = annotations
        .iter()
        .filter_map(|a| a["url_citation"]["url"].as_str())
        .collect();
    assert_eq!(
        urls,
        [
            "https://blog.rust-lang.org/releases/latest/",
            "https://github.com/rust-lang/rust/releases"
        ]
    );
    assert!(annotations.iter().all(|a| a["type"] == "url_citation"));
    assert_eq!(
        annotations[0]["url_citation"]["title"],
        "Rust Blog: latest release"
    );
    assert_eq!(annotations[0]["url_citation"]["start_index"], 0);
    assert_eq!(annotations[0]["url_citation"]["end_index"], 94);
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    final_usage(&chunks);
}

#[tokio::test]
async fn an_error_event_ends_the_stream_with_a_card_an_error_frame_and_done() {
    let (result, chunks) = stream_fixture("stream_error_event.sse").await;
    let errors = errors(&chunks);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "rate_limit_exceeded");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Rate limit exceeded"))
    );
    assert!(
        joined(&chunks, "content").contains("### ⏸️ Rate Limit Exceeded"),
        "the card of the failure's class"
    );
    assert!(finish_reasons(&chunks).is_empty());
    assert!(chunks.last().is_some_and(|c| c.get("error").is_some()));
    assert!(result.saw_done());
}

#[tokio::test]
async fn a_failure_mid_answer_keeps_the_partial_text_above_the_card() {
    let (_, chunks) = stream_fixture("stream_error_midstream.sse").await;
    let content = joined(&chunks, "content");
    assert!(
        content.starts_with("Here is a long essay about\n\n"),
        "{content}"
    );
    assert!(content.contains("Provider disconnected unexpectedly"));
    let errors = errors(&chunks);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "server_error");
    assert!(finish_reasons(&chunks).is_empty());
}

#[tokio::test]
async fn an_incomplete_answer_finishes_with_length_and_its_usage() {
    let (_, chunks) = stream_fixture("stream_incomplete.sse").await;
    assert_eq!(joined(&chunks, "content"), "Hello! How can");
    assert_eq!(finish_reasons(&chunks), ["length"]);
    assert_eq!(final_usage(&chunks)["completion_tokens"], 4);
    assert!(errors(&chunks).is_empty());
}

#[tokio::test]
async fn a_complete_stream_without_its_terminal_event_closes_normally() {
    let (_, chunks) = stream_fixture("stream_eof_without_completed.sse").await;
    assert_eq!(
        joined(&chunks, "content"),
        "Hello! How can I help you today?"
    );
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    assert!(
        chunks
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null))
    );
    assert!(errors(&chunks).is_empty());
}

#[tokio::test]
async fn a_model_outside_the_configured_filters_is_refused_and_not_listed() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_MODEL_ALLOW", "anthropic/*, deepseek.*")]).await;
    assert_eq!(
        crate::listed_models(&orpipe).await,
        [
            "anthropic.claude-sonnet-4.5",
            "deepseek.deepseek-r1-0528:free"
        ]
    );
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat("openai.gpt-4o-mini", false),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 403, "{}", response.text());
    let error = &response.json().expect("an OpenAI error body")["error"];
    assert_eq!(error["code"], "model_restricted");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("Model restricted") && message.contains("ORPIPE_MODEL_ALLOW"),
        "{message}"
    );
    assert!(
        mock.responses_requests().is_empty(),
        "nothing went upstream"
    );
}

#[tokio::test]
async fn an_image_for_a_text_only_model_is_a_400_and_never_sent() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    crate::listed_models(&orpipe).await;
    let request = json!({
        "model": "deepseek.deepseek-r1-0528:free",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        ]}]
    });
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &request,
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 400, "{}", response.text());
    let message = response.json().expect("error body")["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        message.contains("deepseek/deepseek-r1-0528:free") && message.contains("images"),
        "{message}"
    );
    assert!(mock.responses_requests().is_empty());
}

#[tokio::test]
async fn background_tasks_and_unsupported_parameters_are_trimmed_before_sending() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    crate::listed_models(&orpipe).await;
    let request = json!({
        "model": "deepseek.deepseek-r1-0528:free",
        "messages": [{"role": "user", "content": "Title for: hi"}],
        "reasoning_effort": "high",
        "max_tokens": 100,
        "logprobs": true, "top_logprobs": 2,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    });
    let response = HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/chat/completions"),
            &request,
            Some(CLIENT_KEY),
            &[("X-OpenWebUI-Task", "title_generation")],
        )
        .await
        .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let sent = mock.responses_requests()[0].json().expect("json");
    assert_eq!(sent["model"], "deepseek/deepseek-r1-0528:free");
    for absent in [
        "tools",
        "tool_choice",
        "reasoning",
        "plugins",
        "top_logprobs",
    ] {
        assert!(sent.get(absent).is_none(), "{absent} in {sent}");
    }
    assert_eq!(sent["max_output_tokens"], 100);
}
