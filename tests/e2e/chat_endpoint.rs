//! The chat endpoint (FEATURES §4.8, §5.1, §2.13): presets, `stop`, forced models and
//! image output go to OpenRouter's `/chat/completions`; a `/responses` refusal that says
//! the model is unsupported falls back there once before the first byte; what comes back
//! (OpenRouter's chat transcripts, `chat_*` fixtures) reaches the client with orpipe's
//! ids, reasoning, usage, cards and images, streamed and whole.

use crate::{CLIENT_KEY, joined, start};
use orpipe_testkit::StreamResult;
use orpipe_testkit::fixtures::read_json_fixture;
use orpipe_testkit::{HttpClient, HttpResponse, MockOpenRouter, Orpipe, Reply};
use serde_json::{Value, json};

async fn whole(orpipe: &Orpipe, body: Value) -> HttpResponse {
    HttpClient::new()
        .post_json(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
        .await
        .expect("an answer")
}

async fn streamed(orpipe: &Orpipe, mut body: Value) -> StreamResult {
    body["stream"] = json!(true);
    HttpClient::new()
        .stream_sse(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
        .await
        .expect("a stream")
}

fn chunks(result: &StreamResult) -> Vec<Value> {
    result
        .json_events()
        .expect("JSON events")
        .into_iter()
        .filter(|chunk| chunk.get("choices").is_some() || chunk.get("error").is_some())
        .collect()
}

fn sent_to_chat(mock: &MockOpenRouter) -> Value {
    mock.chat_requests()
        .last()
        .expect("a /chat/completions call")
        .json()
        .expect("JSON")
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})
}

#[tokio::test]
async fn a_preset_streams_from_the_chat_endpoint_with_reasoning_usage_and_its_id() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    mock.enqueue_chat(Reply::stream("chat_stream_reasoning.sse"));
    let result = streamed(&orpipe, ask("@preset/my-coder")).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(result.saw_done());
    assert!(
        mock.responses_requests().is_empty(),
        "nothing went to /responses"
    );
    let sent = sent_to_chat(&mock);
    assert_eq!(sent["model"], "@preset/my-coder");
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(sent["messages"][0]["content"][0]["text"], "Say hello");
    assert_eq!(sent["stream_options"]["include_usage"], true);

    let chunks = chunks(&result);
    assert_eq!(crate::rendered(&joined(&chunks, "content")), "Hello there!");
    assert_eq!(
        joined(&chunks, "reasoning"),
        "The user asks for a greeting."
    );
    assert!(
        chunks.iter().all(|c| c["id"] == "gen-chat-reason-1"),
        "{chunks:?}"
    );
    assert!(chunks.iter().all(|c| c["model"] == "@preset/my-coder"));
    let usage = chunks
        .iter()
        .find_map(|c| c.get("usage").filter(|u| !u.is_null()))
        .expect("a usage chunk");
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 32);
    assert_eq!(usage["cost"], 0.000381);
}

#[tokio::test]
async fn stop_goes_to_the_chat_endpoint_with_the_chat_only_fields_and_answers_whole() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let completion = read_json_fixture("chat_completion_text.json").expect("fixture");
    mock.enqueue_chat(Reply::json(200, completion));
    let mut body = ask("anthropic/claude-sonnet-4.5");
    body["stop"] = json!(["END"]);
    body["seed"] = json!(7);
    body["temperature"] = json!(0.2);
    let response = whole(&orpipe, body).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let sent = sent_to_chat(&mock);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["seed"], 7);
    assert_eq!(sent["temperature"], 0.2);
    assert!(
        sent.get("input").is_none(),
        "a chat body, not a Responses one: {sent}"
    );
    let answer = response.json().expect("JSON");
    let message = &answer["choices"][0]["message"];
    assert_eq!(
        crate::rendered(message["content"].as_str().unwrap_or_default()),
        "Hello there!"
    );
    assert_eq!(message["reasoning"], "The user asks for a greeting.");
    assert_eq!(answer["usage"]["completion_tokens"], 17);
    assert_eq!(answer["model"], "anthropic/claude-sonnet-4.5");
}

#[tokio::test]
async fn forced_models_go_to_the_chat_endpoint_and_others_stay() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[("ORPIPE_FORCE_CHAT_COMPLETIONS_MODELS", "google.*")],
    )
    .await;
    mock.enqueue_chat(Reply::stream("chat_stream_reasoning.sse"));
    let result = streamed(&orpipe, ask("google/gemini-2.5-flash")).await;
    assert_eq!(result.status, 200);
    assert_eq!(mock.chat_requests().len(), 1);
    let result = streamed(&orpipe, ask("openai/gpt-4o-mini")).await;
    assert_eq!(result.status, 200);
    assert_eq!(mock.chat_requests().len(), 1, "not forced");
    assert_eq!(mock.responses_requests().len(), 1);
}

#[tokio::test]
async fn a_request_needing_the_chat_endpoint_for_a_model_kept_on_responses_is_refused() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_FORCE_RESPONSES_MODELS", "anthropic/*")]).await;
    let mut body = ask("anthropic/claude-sonnet-4.5");
    body["stop"] = json!("END");
    let response = whole(&orpipe, body).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("force_responses_models"),
        "{}",
        response.text()
    );
    assert!(
        mock.requests().iter().all(|r| r.method == "GET"),
        "nothing was sent"
    );
}

fn unsupported() -> Reply {
    Reply::http_error(
        404,
        r#"{"error":{"code":404,"message":"No endpoints found that support the Responses API (openai-responses-v1) for this model"}}"#,
    )
}

#[tokio::test]
async fn an_unsupported_refusal_falls_back_to_the_chat_endpoint_once() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    mock.enqueue(unsupported());
    mock.enqueue_chat(Reply::stream("chat_stream_reasoning.sse"));
    let result = streamed(&orpipe, ask("openai/gpt-4o-mini")).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert_eq!(
        crate::rendered(&joined(&chunks(&result), "content")),
        "Hello there!"
    );
    assert_eq!(mock.responses_requests().len(), 1);
    assert_eq!(mock.chat_requests().len(), 1);
    assert!(
        orpipe
            .wait_for_log("asking /chat/completions", crate::LOG_WAIT)
            .await,
        "the fallback is logged"
    );

    // A refusal the chat endpoint cannot help with is the client's, at once.
    mock.enqueue(Reply::http_error(
        400,
        r#"{"error":{"code":400,"message":"Invalid value for temperature"}}"#,
    ));
    let response = whole(&orpipe, ask("openai/gpt-4o-mini")).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(mock.chat_requests().len(), 1, "no fallback");
}

#[tokio::test]
async fn without_the_fallback_the_refusal_reaches_the_client() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_AUTO_FALLBACK_CHAT_COMPLETIONS", "false")]).await;
    mock.enqueue(unsupported());
    let response = whole(&orpipe, ask("openai/gpt-4o-mini")).await;
    assert_eq!(response.status, 404, "{}", response.text());
    assert!(mock.chat_requests().is_empty());
}

#[tokio::test]
async fn a_chat_stream_that_fails_midway_ends_with_a_card_and_an_error_frame() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    mock.enqueue_chat(Reply::stream("chat_stream_error_midstream.sse"));
    let mut body = ask("openai/gpt-4o-mini");
    body["stop"] = json!(["\n\n"]);
    let result = streamed(&orpipe, body).await;
    assert_eq!(result.status, 200);
    assert!(result.saw_done());
    let chunks = chunks(&result);
    let content = joined(&chunks, "content");
    assert!(content.starts_with("The first part"), "{content}");
    assert!(
        content.contains("### 🔴 OpenRouter Service Error"),
        "the service card: {content}"
    );
    assert!(
        content.contains("**Request ID:** `gen-chat-err-1`"),
        "with the generation id: {content}"
    );
    let error = chunks
        .iter()
        .find_map(|c| c.get("error"))
        .expect("an error frame");
    assert_eq!(error["code"], "server_error");
}

/// An image-output model the sample catalog lacks (Gemini 2.5 Flash Image, as listed).
fn image_model() -> Value {
    read_json_fixture("model_image_output.json").expect("fixture")
}

#[tokio::test]
async fn an_image_model_is_asked_for_images_and_they_come_back_streamed_and_whole() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.add_model(image_model());
    let orpipe = start(&mock, &[]).await;
    crate::listed_models(&orpipe).await;

    mock.enqueue_chat(Reply::stream("chat_stream_image.sse"));
    let result = streamed(&orpipe, ask("google.gemini-2.5-flash-image")).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert_eq!(sent_to_chat(&mock)["modalities"], json!(["image", "text"]));
    let chunks = chunks(&result);
    let images: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["images"].get(0))
        .collect();
    assert_eq!(images.len(), 1, "{chunks:?}");
    let url = images[0]["image_url"]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("data:image/png;base64,iVBOR"), "{url}");
    assert_eq!(
        joined(&chunks, "content"),
        "Here is a red dot.",
        "no Markdown by default"
    );

    let completion = read_json_fixture("chat_completion_image.json").expect("fixture");
    mock.enqueue_chat(Reply::json(200, completion));
    let response = whole(&orpipe, ask("google/gemini-2.5-flash-image")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = response.json().expect("JSON");
    assert_eq!(
        answer["choices"][0]["message"]["images"][0]["type"],
        "image_url"
    );
    assert_eq!(answer["usage"]["cost"], 0.0387);
}

#[tokio::test]
async fn images_as_markdown_and_an_image_over_the_cap_becomes_a_note() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.add_model(image_model());
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_IMAGE_OUTPUT_MARKDOWN", "true"),
            ("ORPIPE_IMAGE_OUTPUT_MAX_MB", "1"),
        ],
    )
    .await;
    crate::listed_models(&orpipe).await;
    mock.enqueue_chat(Reply::stream("chat_stream_image.sse"));
    let result = streamed(&orpipe, ask("google/gemini-2.5-flash-image")).await;
    let content = joined(&chunks(&result), "content");
    assert!(
        content.contains("![Generated image 1](data:image/png;base64,iVBOR"),
        "{content}"
    );

    // A 2 MB image with a 1 MB cap.
    let mut big = read_json_fixture("chat_completion_image.json").expect("fixture");
    big["choices"][0]["message"]["images"][0]["image_url"]["url"] =
        json!(format!("data:image/png;base64,{}", "A".repeat(2_000_000)));
    mock.enqueue_chat(Reply::json(200, big));
    let response = whole(&orpipe, ask("google/gemini-2.5-flash-image")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let message = &response.json().expect("JSON")["choices"][0]["message"];
    assert!(message.get("images").is_none(), "{message}");
    let content = message["content"].as_str().unwrap_or_default();
    assert!(content.contains("Image 1 was left out"), "{content}");
    assert!(
        response.text().len() < 100_000,
        "no image data in the answer"
    );
}

#[tokio::test]
async fn images_asked_of_a_text_model_are_refused_before_anything_is_sent() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    crate::listed_models(&orpipe).await;
    let mut body = ask("openai/gpt-4o-mini");
    body["modalities"] = json!(["image", "text"]);
    let response = whole(&orpipe, body).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("does not generate images"),
        "{}",
        response.text()
    );
    assert!(mock.responses_requests().is_empty() && mock.chat_requests().is_empty());
}

#[tokio::test]
async fn a_preset_with_an_odd_name_is_refused_before_anything_is_sent() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    for model in ["@preset/", "@preset/my preset", "@preset/../keys"] {
        let response = whole(&orpipe, ask(model)).await;
        assert_eq!(response.status, 400, "{model}: {}", response.text());
        assert!(
            response.text().contains("is not a preset name"),
            "{}",
            response.text()
        );
    }
    assert!(mock.chat_requests().is_empty() && mock.responses_requests().is_empty());
}
