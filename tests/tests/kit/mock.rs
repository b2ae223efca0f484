//! The mock OpenRouter as a client sees it on the wire.

use std::time::Duration;

use orpipe_guest::sse::{SseDecoder, SseEvent};
use orpipe_testkit::client::{self, HttpClient};
use orpipe_testkit::fixtures::{STREAM_FIXTURES, fixture_body, http_error_case, read_fixture};
use orpipe_testkit::{MockOpenRouter, Reply, StreamOutcome, StreamResult, eventually};
use serde_json::{Value, json};

const KEY: &str = "sk-or-v1-test";

fn stream_request() -> Value {
    json!({ "model": "openai/gpt-4o-mini", "input": "Say hi", "stream": true })
}

/// What decoding the fixture file in one go gives: the reference for every replay.
fn decode_file(name: &str) -> Vec<SseEvent> {
    let bytes = read_fixture(name).expect("fixture readable");
    let mut decoder = SseDecoder::new();
    decoder.push(&bytes);
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event().expect("fixture decodes") {
        events.push(event);
    }
    events.extend(decoder.finish());
    events
}

async fn stream(mock: &MockOpenRouter) -> StreamResult {
    client::stream_sse(&mock.responses_url(), &stream_request(), Some(KEY))
        .await
        .expect("stream request")
}

fn data_count(events: &[SseEvent]) -> usize {
    events
        .iter()
        .filter(|event| matches!(event, SseEvent::Data(_)))
        .count()
}

#[tokio::test]
async fn every_stream_fixture_is_served_byte_for_byte() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    for &name in STREAM_FIXTURES {
        mock.enqueue(Reply::stream(name));
        let result = stream(&mock).await;
        assert_eq!(result.status, 200, "{name}");
        assert_eq!(
            result
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream"),
            "{name}"
        );
        assert!(result.headers.contains_key("x-generation-id"), "{name}");
        assert_eq!(result.outcome, StreamOutcome::Ended, "{name}");
        assert!(
            result.raw == read_fixture(name).expect("fixture readable"),
            "{name}: bytes differ"
        );
        assert_eq!(result.events(), decode_file(name), "{name}");
    }
    assert_eq!(mock.pending_replies(), 0);
}

#[tokio::test]
async fn generation_id_header_is_the_response_id() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::stream("stream_text.sse"));
    let result = stream(&mock).await;
    assert_eq!(
        result
            .headers
            .get("x-generation-id")
            .and_then(|v| v.to_str().ok()),
        Some("gen-1756998520-Yq3kP9dM2vXcR7tLwB4a")
    );
}

#[tokio::test]
async fn seven_byte_pieces_decode_to_the_same_events() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    for name in [
        "stream_text.sse",
        "stream_tool_call.sse",
        "stream_reasoning.sse",
    ] {
        mock.enqueue(Reply::stream(name).split_every(7));
        let result = stream(&mock).await;
        assert_eq!(result.outcome, StreamOutcome::Ended, "{name}");
        assert!(
            result.raw == read_fixture(name).expect("fixture readable"),
            "{name}: bytes differ"
        );
        assert_eq!(result.events(), decode_file(name), "{name}");
    }
}

#[tokio::test]
async fn cut_after_events_ends_abruptly_after_exactly_that_many() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::stream("stream_text.sse").cut_after_events(5));
    let result = stream(&mock).await;
    assert_eq!(result.data().len(), 5);
    assert!(!result.saw_done());
    assert!(
        matches!(result.outcome, StreamOutcome::BodyError(_)),
        "an abrupt close is a transport error, got {:?}",
        result.outcome
    );
}

#[tokio::test]
async fn close_after_events_ends_cleanly_without_a_terminal_event() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::stream("stream_text.sse").close_after_events(3));
    let result = stream(&mock).await;
    assert_eq!(result.outcome, StreamOutcome::Ended);
    assert_eq!(result.data().len(), 3);
    assert!(!result.saw_done());
}

#[tokio::test]
async fn stall_sends_some_events_then_nothing() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::stall(2));
    let client = HttpClient::new().with_timeout(Duration::from_millis(400));
    let result = client
        .stream_sse(&mock.responses_url(), &stream_request(), Some(KEY))
        .await
        .expect("stream request");
    assert_eq!(result.data().len(), 2);
    assert_eq!(result.outcome, StreamOutcome::TimedOut);
}

#[tokio::test]
async fn keepalives_come_before_the_first_event_and_fill_pauses() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let name = "stream_error_event.sse";
    let file_events = decode_file(name);
    let file_comments = file_events.len() - data_count(&file_events);

    mock.enqueue(Reply::stream(name).keepalives_before_first(3));
    let result = stream(&mock).await;
    assert_eq!(result.comment_count(), file_comments + 3);
    let first_data = result
        .frames
        .iter()
        .position(|frame| matches!(frame.data, SseEvent::Data(_)))
        .expect("a data event");
    assert!(
        result.frames[first_data - 3..first_data]
            .iter()
            .all(|frame| frame.data == SseEvent::Comment)
    );

    // A 30 ms pause with a keep-alive every 10 ms carries two of them, before each event.
    mock.enqueue(
        Reply::stream(name)
            .event_delay(Duration::from_millis(30))
            .keepalive_every(Duration::from_millis(10)),
    );
    let result = stream(&mock).await;
    let events = data_count(&file_events);
    assert_eq!(result.comment_count(), file_comments + 2 * events);
    assert_eq!(result.data().len(), events);
}

#[tokio::test]
async fn http_error_cases_replay_status_headers_and_body() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    for which in [
        "upstream_rate_limited",
        "free_model_daily_limit",
        "validation_error_responses_skin",
    ] {
        let case = http_error_case(which).expect("case exists");
        mock.enqueue(Reply::http_error_case(which).expect("case exists"));
        let response = client::post_json(&mock.responses_url(), &stream_request(), Some(KEY))
            .await
            .expect("request");
        assert_eq!(response.status, case.status, "{which}");
        for (name, value) in &case.headers {
            assert_eq!(
                response.header(name),
                Some(value.as_str()),
                "{which}: {name}"
            );
        }
        assert_eq!(response.json().expect("JSON body"), case.body, "{which}");
    }

    let by_index = http_error_case(12).expect("case 12");
    mock.enqueue(Reply::http_error_case(12).expect("case 12"));
    let response = client::post_json(&mock.responses_url(), &stream_request(), Some(KEY))
        .await
        .expect("request");
    assert_eq!(response.status, by_index.status);
    assert!(Reply::http_error_case("no_such_case").is_err());
}

#[tokio::test]
async fn missing_and_bad_keys_get_openrouters_401s() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::json(200, json!({ "kept": true })));

    let missing = client::post_json(&mock.responses_url(), &stream_request(), None)
        .await
        .expect("request");
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json().expect("JSON body"),
        json!({ "error": { "code": 401, "message": "No auth credentials found" } })
    );

    let bad = client::post_json(
        &mock.responses_url(),
        &stream_request(),
        Some(MockOpenRouter::BAD_KEY),
    )
    .await
    .expect("request");
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.json().expect("JSON body"),
        json!({ "error": { "code": 401, "message": "User not found." } })
    );

    assert_eq!(
        mock.pending_replies(),
        1,
        "rejected calls do not use up replies"
    );
}

#[tokio::test]
async fn every_request_is_recorded_with_headers_and_body() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let body =
        json!({ "model": "openai/gpt-4o-mini", "input": [{ "role": "user", "content": "hé" }] });
    client::post_json(&mock.responses_url(), &body, Some(KEY))
        .await
        .expect("request");
    client::get(
        &format!("{}/models?output_modalities=text", mock.base_url()),
        None,
    )
    .await
    .expect("request");

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let responses = &requests[0];
    assert_eq!(responses.method, "POST");
    assert_eq!(responses.path, "/api/v1/responses");
    assert_eq!(
        responses.header("Authorization"),
        Some("Bearer sk-or-v1-test")
    );
    assert_eq!(responses.header("content-type"), Some("application/json"));
    assert_eq!(responses.json().expect("JSON body"), body);
    assert_eq!(requests[1].query.as_deref(), Some("output_modalities=text"));
    assert_eq!(mock.responses_requests(), vec![responses.clone()]);

    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn without_a_queued_reply_the_text_fixtures_answer() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let result = stream(&mock).await;
    assert!(result.raw == read_fixture("stream_text.sse").expect("fixture readable"));

    let plain = json!({ "model": "openai/gpt-4o-mini", "input": "What is the capital of France?" });
    let response = client::post_json(&mock.responses_url(), &plain, Some(KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json().expect("JSON body"),
        fixture_body("response_nonstream_text.json").expect("fixture body")
    );
    assert!(response.header("x-generation-id").is_some());
}

#[tokio::test]
async fn synthetic_streams_have_the_requested_deltas_and_usage() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(
        Reply::synthetic(5)
            .delta("ab")
            .pace(Duration::from_millis(1)),
    );
    let request = json!({ "model": "anthropic/claude-sonnet-4.5", "input": "hi", "stream": true });
    let result = client::stream_sse(&mock.responses_url(), &request, Some(KEY))
        .await
        .expect("stream request");

    assert_eq!(result.status, 200);
    assert!(result.saw_done());
    let types = result.event_types().expect("JSON events");
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 5]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(types, expected);

    let events = result.json_events().expect("JSON events");
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(index));
    }
    let completed = &events[events.len() - 1]["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["model"], "anthropic/claude-sonnet-4.5");
    assert_eq!(completed["output"][0]["content"][0]["text"], "ababababab");
    assert_eq!(completed["usage"]["output_tokens"], 5);
    assert!(
        completed["usage"]["cost"]
            .as_f64()
            .is_some_and(|cost| cost > 0.0)
    );
    assert_eq!(
        result
            .headers
            .get("x-generation-id")
            .and_then(|v| v.to_str().ok()),
        completed["id"].as_str()
    );
}

#[tokio::test]
async fn an_echoing_synthetic_stream_repeats_the_last_input_text() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.set_default_reply(Reply::synthetic(3).echo_prompt());
    let request = json!({
        "model": "openai/gpt-4o-mini", "stream": true,
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "req42"}]},
        ],
    });
    let result = client::stream_sse(&mock.responses_url(), &request, Some(KEY))
        .await
        .expect("stream request");
    let events = result.json_events().expect("JSON events");
    let deltas: String = events
        .iter()
        .filter(|event| event["type"] == "response.output_text.delta")
        .filter_map(|event| event["delta"].as_str())
        .collect();
    assert_eq!(deltas, " req42 req42 req42");
    let done = events
        .iter()
        .find(|event| event["type"] == "response.output_text.done")
        .expect("text done");
    assert_eq!(done["text"], " req42 req42 req42");
}

#[tokio::test]
async fn the_default_reply_replaces_the_fixtures_for_every_call() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.set_default_reply(Reply::synthetic(2));
    for _ in 0..2 {
        let result = stream(&mock).await;
        let deltas = result
            .event_types()
            .expect("JSON events")
            .iter()
            .filter(|kind| *kind == "response.output_text.delta")
            .count();
        assert_eq!(deltas, 2);
    }
}

#[tokio::test]
async fn models_route_serves_the_catalog_and_unknown_routes_404() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let models = client::get(&format!("{}/models", mock.base_url()), Some(KEY))
        .await
        .expect("request");
    assert_eq!(models.status, 200);
    assert!(models.body == read_fixture("models_sample.json").expect("fixture readable"));

    let missing = client::get(&format!("{}/nope", mock.base_url()), Some(KEY))
        .await
        .expect("request");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json().expect("JSON body")["error"]["code"], 404);
}

#[tokio::test]
async fn a_missing_fixture_is_a_loud_500() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    mock.enqueue(Reply::stream("no_such_fixture.sse"));
    let response = client::post_json(&mock.responses_url(), &stream_request(), Some(KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 500);
    assert!(response.text().contains("no_such_fixture.sse"));
}

#[tokio::test]
async fn a_gate_holds_replies_until_it_opens_and_counts_what_it_holds() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let gate = mock.gate();
    let first = tokio::spawn({
        let url = mock.responses_url();
        async move { client::stream_sse(&url, &stream_request(), Some(KEY)).await }
    });
    let second = tokio::spawn({
        let url = mock.responses_url();
        async move { client::stream_sse(&url, &stream_request(), Some(KEY)).await }
    });
    eventually(
        "the gate to hold both calls",
        Duration::from_secs(10),
        async || gate.held() == 2,
    )
    .await;
    assert_eq!(
        mock.responses_requests().len(),
        2,
        "held calls are recorded"
    );
    // Held means not answered: no status line has left the mock.
    tokio::task::yield_now().await;
    assert!(!first.is_finished() && !second.is_finished());
    // The catalog is never held.
    let models = client::get(&format!("{}/models", mock.base_url()), Some(KEY))
        .await
        .expect("models");
    assert_eq!(models.status, 200);

    gate.open();
    for call in [first, second] {
        let result = call.await.expect("task").expect("request");
        assert_eq!(result.status, 200);
        assert_eq!(result.outcome, StreamOutcome::Ended);
    }
    assert_eq!(gate.held(), 0);
    // An open gate lets later calls straight through.
    assert_eq!(stream(&mock).await.status, 200);
}

#[tokio::test]
async fn dropping_a_gate_releases_what_it_holds() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let gate = mock.gate();
    let call = tokio::spawn({
        let url = mock.responses_url();
        async move { client::stream_sse(&url, &stream_request(), Some(KEY)).await }
    });
    eventually(
        "the gate to hold the call",
        Duration::from_secs(10),
        async || gate.held() == 1,
    )
    .await;
    drop(gate);
    let result = call.await.expect("task").expect("request");
    assert_eq!(result.status, 200);
}

#[tokio::test]
async fn a_held_call_whose_client_leaves_is_no_longer_counted() {
    let mock = MockOpenRouter::start().await.expect("mock starts");
    let gate = mock.gate();
    let call = tokio::spawn({
        let url = mock.responses_url();
        async move { client::stream_sse(&url, &stream_request(), Some(KEY)).await }
    });
    eventually(
        "the gate to hold the call",
        Duration::from_secs(10),
        async || gate.held() == 1,
    )
    .await;
    call.abort();
    eventually(
        "the gate to let go of the call",
        Duration::from_secs(10),
        async || gate.held() == 0,
    )
    .await;
}
