//! Fault injection against the mock: every pre-stream HTTP error of `errors_http.json`,
//! a stream that stalls, and an answer that outlives the request deadline. Each must
//! give the client the right status or error chunk with an error id, and never hang.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::fixtures::http_error_cases;
use orpipe_testkit::{HttpClient, MockOpenRouter, Reply, StreamOutcome, StreamResult, eventually};
use serde_json::{Value, json};
use std::time::Duration;

fn chat(stream: bool) -> Value {
    json!({"model": "openai/gpt-4o-mini", "stream": stream,
        "messages": [{"role": "user", "content": "Hi"}]})
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
async fn every_upstream_http_error_gives_its_status_an_error_id_and_the_message() {
    let mock = MockOpenRouter::start().await.expect("mock");
    // No retries and no breaker: each case is one upstream answer, seen as it is.
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_UPSTREAM_RETRIES", "0"),
            ("ORPIPE_BREAKER_FAILURES", "0"),
        ],
    )
    .await;
    let client = HttpClient::new().with_timeout(Duration::from_secs(20));
    let cases = http_error_cases().expect("the fixture");
    assert!(cases.len() >= 15);
    for case in &cases {
        for stream in [true, false] {
            mock.enqueue(Reply::HttpError {
                status: case.status,
                headers: case.headers.clone(),
                body: case.body.to_string(),
            });
            let response = client
                .post_json(
                    &orpipe.url("/v1/chat/completions"),
                    &chat(stream),
                    Some(CLIENT_KEY),
                )
                .await
                .expect("an answer");
            let expected = if case.status < 500 { case.status } else { 502 };
            assert_eq!(response.status, expected, "{} (stream {stream})", case.case);
            let body = response.json().expect("an OpenAI error body");
            let error_id = body["error"]["error_id"].as_str().unwrap_or_default();
            assert_eq!(error_id.len(), 16, "{}: {body}", case.case);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(error_id), "{}: {message}", case.case);
            if let Some(upstream) = case.body["error"]["message"].as_str() {
                assert!(
                    message.contains(upstream),
                    "{}: the provider's message is passed on: {message}",
                    case.case
                );
            }
            if case.case == "upstream_rate_limited" {
                assert_eq!(response.header("retry-after"), Some("17"));
            }
        }
    }
}

#[tokio::test]
async fn a_stalled_stream_ends_after_the_idle_timeout_with_a_card_and_done() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_UPSTREAM_IDLE_TIMEOUT_SECS", "1")]).await;
    mock.enqueue(Reply::stream("stream_text.sse").stall_after_events(5));
    let result = HttpClient::new()
        .with_timeout(Duration::from_secs(30))
        .stream_sse(
            &orpipe.url("/v1/chat/completions"),
            &chat(true),
            Some(CLIENT_KEY),
        )
        .await
        .expect("a stream");
    assert_eq!(result.outcome, StreamOutcome::Ended, "it does not hang");
    assert!(result.saw_done());
    let chunks = chunks(&result);
    let error = chunks
        .iter()
        .find(|c| c.get("error").is_some())
        .expect("an error frame");
    assert_eq!(error["error"]["code"], "upstream_timeout");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(
        content.starts_with("Hello"),
        "the partial text is kept: {content}"
    );
    let error_id = error["error"]["error_id"].as_str().expect("an error id");
    assert!(
        content.contains(error_id),
        "the card names the error id: {content}"
    );
}

#[tokio::test]
async fn an_answer_past_the_request_deadline_is_cut_with_a_card_and_done() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_REQUEST_DEADLINE_SECS", "1")]).await;
    mock.enqueue(Reply::stream("stream_text.sse").event_delay(Duration::from_millis(300)));
    let result = HttpClient::new()
        .with_timeout(Duration::from_secs(30))
        .stream_sse(
            &orpipe.url("/v1/chat/completions"),
            &chat(true),
            Some(CLIENT_KEY),
        )
        .await
        .expect("a stream");
    assert_eq!(result.outcome, StreamOutcome::Ended);
    assert!(result.saw_done());
    let chunks = chunks(&result);
    let error = chunks
        .iter()
        .find(|c| c.get("error").is_some())
        .expect("an error frame");
    assert_eq!(error["error"]["code"], "deadline_exceeded");
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"][0]["finish_reason"] != "stop"),
        "the cut answer does not claim to be complete"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_mid_answer_cancels_the_upstream_stream() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    mock.enqueue(Reply::stream("stream_text.sse").event_delay(Duration::from_millis(400)));
    let body = chat(true).to_string();
    let address = orpipe.base_url().trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {CLIENT_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    // Read until the answer has begun, then hang up.
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"content\":\"Hello") {
        let n = tokio::time::timeout(Duration::from_secs(20), socket.read(&mut buffer))
            .await
            .expect("the answer begins")
            .expect("read");
        assert!(n > 0, "orpipe closed first");
        seen.extend_from_slice(&buffer[..n]);
    }
    drop(socket);
    eventually(
        "the upstream stream to be cancelled",
        Duration::from_secs(20),
        async || mock.abandoned_streams() > 0,
    )
    .await;
    assert!(orpipe.wait_for_log("client_gone", crate::LOG_WAIT).await);
}
