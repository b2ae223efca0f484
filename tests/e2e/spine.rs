//! One chat request end to end: streamed and whole answers, the model list, the exact
//! body OpenRouter receives, keys, upstream errors and broken streams.

use crate::{CLIENT_KEY, LOG_WAIT, joined, rendered, start};
use orpipe_testkit::{
    HttpResponse, MockOpenRouter, Orpipe, Reply, SseEvent, StreamResult, client, eventually,
};
use serde_json::{Value, json};
use std::path::Path;

fn chat(stream: bool) -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "stream": stream,
        "temperature": 0.2,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

async fn post_chat(orpipe: &Orpipe, stream: bool) -> HttpResponse {
    client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat(stream),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
}

async fn stream_chat(orpipe: &Orpipe) -> StreamResult {
    client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &chat(true),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
}

fn error_message(response: &HttpResponse) -> String {
    let body = response.json().expect("an OpenAI error body");
    body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

fn chunks(result: &StreamResult) -> Vec<Value> {
    result
        .data()
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("every frame is JSON"))
        .collect()
}

#[tokio::test]
async fn a_streamed_completion_arrives_chunk_by_chunk_and_ends_with_usage_and_done() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_text.sse"));
    let orpipe = start(&mock, &[]).await;

    let result = stream_chat(&orpipe).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert_eq!(
        result
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert!(result.saw_done(), "stream ends with [DONE]");
    assert_eq!(
        result.events().last(),
        Some(&SseEvent::Done),
        "[DONE] is the last frame"
    );

    let chunks = chunks(&result);
    let first = &chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], "openai/gpt-4o-mini");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks.iter().all(|c| c["id"] == first["id"]),
        "one id for the whole stream"
    );
    assert_eq!(
        joined(&chunks, "content"),
        "Hello! How can I help you today?"
    );
    let content_chunks = chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert!(
        content_chunks > 3,
        "token by token, not one blob: {content_chunks} content chunks"
    );

    let finishes: Vec<&Value> = chunks
        .iter()
        .filter(|c| !c["choices"][0]["finish_reason"].is_null())
        .collect();
    assert_eq!(finishes.len(), 1);
    assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    let usage: Vec<&Value> = chunks
        .iter()
        .filter(|c| c.get("usage").is_some_and(|u| !u.is_null()))
        .collect();
    assert_eq!(usage.len(), 1, "usage exactly once");
    let last = chunks.last().expect("chunks");
    assert_eq!(
        last["choices"],
        json!([]),
        "the usage chunk is last and has no choices"
    );
    assert_eq!(last["usage"]["prompt_tokens"], 14);
    assert_eq!(last["usage"]["completion_tokens"], 9);
    assert_eq!(last["usage"]["total_tokens"], 23);
    assert_eq!(last["usage"]["cost"], 7.5e-06);

    let sent = mock.responses_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {}", orpipe_testkit::Orpipe::UPSTREAM_KEY).as_str())
    );
    assert_eq!(
        sent[0].json().expect("json body"),
        expected_upstream_body(true)
    );
}

fn expected_upstream_body(stream: bool) -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "stream": stream,
        "temperature": 0.2,
        "max_output_tokens": 50,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
        // On by default (ORPIPE_AUTO_CONTEXT_COMPRESSION), as in the original.
        "plugins": [{"id": "context-compression"}]
    })
}

#[tokio::test]
async fn a_whole_completion_is_one_chat_completion_object() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let response = post_chat(&orpipe, false).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let completion = response.json().expect("json");
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "openai/gpt-4o-mini");
    assert_eq!(completion["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["usage"]["prompt_tokens"], 24);
    assert_eq!(completion["usage"]["cost"], 8.4e-06);
    assert_eq!(
        mock.responses_requests()[0].json().expect("json"),
        expected_upstream_body(false)
    );
}

#[tokio::test]
async fn reasoning_streams_as_reasoning_content_before_the_answer() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_reasoning.sse").split_every(7));
    let orpipe = start(&mock, &[]).await;
    let result = stream_chat(&orpipe).await;
    let chunks = chunks(&result);
    let reasoning = joined(&chunks, "reasoning_content");
    assert!(
        reasoning.starts_with("The user asks whether 1995 was 30 years ago."),
        "{reasoning}"
    );
    // The content also carries a hidden marker line for the stored reasoning.
    assert_eq!(
        rendered(&joined(&chunks, "content")),
        "Yes. As of 2025, 1995 was exactly 30 years ago."
    );
    let first_content = chunks.iter().position(|c| {
        c["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    });
    let last_reasoning = chunks
        .iter()
        .rposition(|c| c["choices"][0]["delta"]["reasoning_content"].is_string());
    assert!(last_reasoning < first_content, "reasoning comes first");
    let usage = &chunks.last().expect("chunks")["usage"];
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 41);
    assert!(result.saw_done());
}

#[tokio::test]
async fn the_model_list_is_openrouters_catalog_with_url_safe_ids_and_capabilities() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let response = client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let list = response.json().expect("json");
    assert_eq!(list["object"], "list");
    let models = list["data"].as_array().expect("data");
    let ids: Vec<&str> = models.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "openai.gpt-4o-mini",
            "anthropic.claude-sonnet-4.5",
            "google.gemini-2.5-flash",
            "deepseek.deepseek-r1-0528:free",
            "openrouter.auto"
        ]
    );
    assert!(models.iter().all(|m| m["object"] == "model"));
    let r1 = &models[3];
    assert_eq!(r1["openrouter_id"], "deepseek/deepseek-r1-0528:free");
    assert_eq!(r1["context_length"], 163840);
    assert_eq!(r1["capabilities"]["reasoning"], true);
    assert_eq!(r1["capabilities"]["free"], true);
    assert_eq!(r1["capabilities"]["vision"], false);
}

#[tokio::test]
async fn a_listed_model_id_is_sent_to_openrouter_as_its_own_id() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let listed = client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("models");
    assert_eq!(listed.status, 200);
    let mut request = chat(false);
    request["model"] = json!("deepseek.deepseek-r1-0528:free");
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &request,
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json().expect("json")["model"],
        "deepseek.deepseek-r1-0528:free",
        "the client's id comes back"
    );
    assert_eq!(
        mock.responses_requests()[0].json().expect("json")["model"],
        "deepseek/deepseek-r1-0528:free"
    );
}

#[tokio::test]
async fn a_cold_start_with_openrouter_down_is_a_clear_error_not_an_empty_list() {
    let orpipe = Orpipe::spawn(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        "http://127.0.0.1:9/api/v1",
        &[("ORPIPE_API_KEYS", CLIENT_KEY)],
    )
    .await
    .expect("orpipe starts although OpenRouter is down");
    let response = client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 502, "{}", response.text());
    assert!(
        error_message(&response).contains("OpenRouter"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn clients_need_a_listed_key_but_health_checks_do_not() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let health = client::get(&orpipe.url("/healthz"), None)
        .await
        .expect("request");
    assert_eq!(health.status, 200);
    for key in [None, Some("sk-wrong")] {
        let refused = client::post_json(&orpipe.url("/v1/chat/completions"), &chat(false), key)
            .await
            .expect("request");
        assert_eq!(refused.status, 401, "{key:?}");
        assert!(
            refused.json().expect("json")["error"]["message"]
                .as_str()
                .expect("message")
                .contains("ORPIPE_API_KEYS")
        );
    }
    assert!(
        mock.responses_requests().is_empty(),
        "refused requests never reach OpenRouter"
    );
    assert!(
        !orpipe.stderr_log().contains(CLIENT_KEY),
        "the client key is never logged"
    );
}

#[tokio::test]
async fn a_missing_or_rejected_openrouter_key_is_a_clear_401() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let without_key = start(&mock, &[("OPENROUTER_API_KEY", "")]).await;
    let response = post_chat(&without_key, false).await;
    assert_eq!(response.status, 401);
    let message = error_message(&response);
    assert!(message.contains("OPENROUTER_API_KEY"), "{message}");

    let bad_key = start(&mock, &[("OPENROUTER_API_KEY", MockOpenRouter::BAD_KEY)]).await;
    let response = post_chat(&bad_key, true).await;
    assert_eq!(response.status, 401);
    assert!(response.json().expect("json")["error"]["message"].is_string());
}

#[tokio::test]
async fn upstream_http_errors_keep_their_status_before_the_first_byte() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::HttpError {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "17".into()),
        ],
        body: r#"{"error":{"code":429,"message":"Rate limit exceeded: free-models-per-day"}}"#
            .into(),
    });
    let orpipe = start(&mock, &[]).await;
    let response = post_chat(&orpipe, true).await;
    assert_eq!(response.status, 429);
    assert_eq!(
        response.header("retry-after"),
        Some("17"),
        "OpenRouter's wait is passed on"
    );
    let message = error_message(&response);
    assert!(message.contains("Rate limit exceeded"), "{message}");
    let error_id = response.json().expect("json")["error"]["error_id"]
        .as_str()
        .expect("an error id")
        .to_owned();
    assert_eq!(error_id.len(), 16);
    assert!(message.contains(&error_id), "the message quotes the id");
    assert!(
        orpipe.wait_for_log(&error_id, LOG_WAIT).await,
        "the log line carries the same id"
    );
}

#[tokio::test]
async fn a_stream_cut_mid_answer_ends_with_an_error_frame_and_done() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_text.sse").cut_after_events(6));
    let orpipe = start(&mock, &[]).await;
    let result = stream_chat(&orpipe).await;
    assert_eq!(result.status, 200);
    let chunks = chunks(&result);
    assert!(
        !joined(&chunks, "content").is_empty(),
        "partial text is kept"
    );
    let errors: Vec<&Value> = chunks.iter().filter(|c| c.get("error").is_some()).collect();
    assert_eq!(errors.len(), 1, "one error frame says the answer broke off");
    let error_id = errors[0]["error"]["error_id"]
        .as_str()
        .expect("an error id");
    let content = joined(&chunks, "content");
    assert!(
        content.starts_with("Hello"),
        "partial text comes first: {content}"
    );
    assert!(
        content.contains("### ⚠️ Response interrupted"),
        "then the card: {content}"
    );
    assert!(content.contains(error_id), "the card quotes the id");
    assert!(result.saw_done());
}

#[tokio::test]
async fn events_split_at_odd_offsets_translate_the_same() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_text.sse"));
    mock.enqueue(Reply::stream("stream_text.sse").split_every(3));
    let orpipe = start(&mock, &[]).await;
    let whole = stream_chat(&orpipe).await;
    let split = stream_chat(&orpipe).await;
    let strip_created = |chunks: Vec<Value>| -> Vec<Value> {
        chunks
            .into_iter()
            .map(|mut c| {
                c["created"] = Value::Null;
                c
            })
            .collect()
    };
    let whole = strip_created(chunks(&whole));
    assert!(whole.len() > 5, "a real answer: {whole:?}");
    assert_eq!(whole, strip_created(chunks(&split)));
}

#[tokio::test]
async fn unknown_routes_get_openai_style_errors() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let missing = client::get(&orpipe.url("/v1/nothing"), Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(missing.status, 404);
    assert!(missing.json().expect("json")["error"]["message"].is_string());
    let wrong_method = client::get(&orpipe.url("/v1/chat/completions"), Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(wrong_method.status, 405);
    let bad_json = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &json!({"messages": []}),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(bad_json.status, 400);
}

#[tokio::test]
async fn each_completion_is_recorded_in_the_usage_log() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_text.sse"));
    let orpipe = start(&mock, &[]).await;
    let result = stream_chat(&orpipe).await;
    assert!(result.saw_done());
    let db = rusqlite::Connection::open(orpipe.data_dir().join("orpipe.db"))
        .expect("open the data dir's database");
    // The row is written right after the last frame; give the guest a moment to finish.
    let row = eventually("the usage row", LOG_WAIT, async || {
        db.query_row(
            "SELECT model, outcome, prompt_tokens, completion_tokens, cost_usd FROM orpipe_usage",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                ))
            },
        )
        .ok()
    })
    .await;
    assert_eq!(
        row,
        (
            "openai/gpt-4o-mini".into(),
            "completed".into(),
            14,
            9,
            7.5e-06
        )
    );
}
