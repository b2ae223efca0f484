//! Error cards through the real binary (docs/errors.md): an in-stream failure gets the
//! original pipe's card of its class with the provider's request id and the status it
//! stands for, the operator's support contacts on it; an operator's template that names
//! unknown variables renders them empty and the log says so.

use crate::{CLIENT_KEY, LOG_WAIT, start};
use orpipe_testkit::{MockOpenRouter, Orpipe, Reply, client};
use serde_json::{Value, json};

async fn stream(orpipe: &Orpipe) -> Vec<Value> {
    let result = client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &json!({
            "model": "anthropic/claude-sonnet-4.5",
            "stream": true,
            "messages": [{"role": "user", "content": "Write an essay"}]
        }),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(result.status, 200);
    assert!(result.saw_done());
    result.json_events().expect("JSON frames")
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test]
async fn a_provider_failure_mid_answer_gets_the_service_card_with_request_id_and_support() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_error_midstream.sse"));
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_SUPPORT_EMAIL", "help@example.org"),
            ("ORPIPE_SUPPORT_URL", "https://example.org/help"),
        ],
    )
    .await;
    let chunks = stream(&orpipe).await;
    let error = &chunks.last().expect("chunks")["error"];
    let error_id = error["error_id"].as_str().expect("an error id");
    let text = content(&chunks);
    let card = text
        .strip_prefix("Here is a long essay about\n\n")
        .unwrap_or_else(|| panic!("the partial answer first: {text}"));
    assert!(
        card.starts_with(
            "### 🔴 OpenRouter Service Error\n\nOpenRouter's servers are experiencing issues.\n\n"
        ),
        "{card}"
    );
    for line in [
        format!("**Error ID:** `{error_id}`"),
        "**Request ID:** `gen-1756999000-Gd3Hs7Kp1Wx9Qm5Lz2Vb`".to_owned(),
        "**Status:** 500 Provider disconnected unexpectedly".to_owned(),
        "**Support:** help@example.org".to_owned(),
        "**Support:** https://example.org/help".to_owned(),
    ] {
        assert!(card.contains(&line), "{line} in {card}");
    }
    assert_eq!(
        error["code"], "server_error",
        "the error frame is unchanged"
    );
}

#[tokio::test]
async fn an_operator_template_with_unknown_variables_renders_them_empty_and_says_so() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_error_event.sse"));
    let orpipe = start(
        &mock,
        &[(
            "ORPIPE_TEMPLATE_RATE_LIMIT",
            "### Slow down ({status_code})\\nTicket: {ticket_number}\\nRef `{error_id}`",
        )],
    )
    .await;
    let chunks = stream(&orpipe).await;
    let error_id = chunks.last().expect("chunks")["error"]["error_id"]
        .as_str()
        .expect("an error id")
        .to_owned();
    assert_eq!(
        content(&chunks),
        format!("### Slow down (429)\nRef `{error_id}`"),
        "the line with the unknown name is dropped"
    );
    assert!(
        orpipe
            .wait_for_log("card template uses unknown variables", LOG_WAIT)
            .await
    );
    let log = orpipe.stderr_log();
    let line = log
        .lines()
        .find(|l| l.contains("card template uses unknown variables"))
        .expect("the warning");
    assert!(
        line.contains("template_rate_limit") && line.contains("ticket_number"),
        "{line}"
    );
}

/// An Open WebUI chat (the context its Pipelines inlet adds) asking for a stream or not.
async fn open_webui_stream(orpipe: &Orpipe, stream: bool) -> orpipe_testkit::StreamResult {
    client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &json!({
            "model": "anthropic/claude-sonnet-4.5",
            "stream": stream,
            "messages": [{"role": "user", "content": "Hello"}],
            "orpipe_context": {"chat_id": "chat-1", "user_id": "u-1"}
        }),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request")
}

#[tokio::test]
async fn an_open_webui_chat_refused_before_the_first_byte_shows_the_card() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::http_error_case("insufficient_credits").expect("case"));
    let orpipe = start(&mock, &[]).await;
    let result = open_webui_stream(&orpipe, true).await;
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(result.saw_done());
    let chunks = result.json_events().expect("JSON frames");
    let text = content(&chunks);
    assert!(text.starts_with("### 💳 Insufficient Credits\n"), "{text}");
    let error = &chunks.last().expect("chunks")["error"];
    let error_id = error["error_id"].as_str().expect("an error id");
    assert!(
        text.contains(error_id),
        "the card names the error id: {text}"
    );

    // Not streamed: the status, as for every other client.
    mock.enqueue(Reply::http_error_case("insufficient_credits").expect("case"));
    let whole = open_webui_stream(&orpipe, false).await;
    assert_eq!(whole.status, 402, "{}", String::from_utf8_lossy(&whole.raw));
    // And another client's stream keeps the status too.
    mock.enqueue(Reply::http_error_case("insufficient_credits").expect("case"));
    let plain = client::stream_sse(
        &orpipe.url("/v1/chat/completions"),
        &json!({"model": "anthropic/claude-sonnet-4.5", "stream": true,
            "messages": [{"role": "user", "content": "Hello"}]}),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(plain.status, 402);
}
