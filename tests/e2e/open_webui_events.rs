//! What Open WebUI users see while and after an answer streams (status, source and
//! status-line event chunks, for Open WebUI only), reasoning on by default, and the web
//! search toggle, through the real binary; the mock shows what went upstream.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, Reply, client};
use serde_json::{Value, json};

const WEB_SEARCH: &str = "stream_web_search_citations.sse";
const REASONER: &str = "anthropic/claude-sonnet-4.5";
/// The pages the web search fixture's answer cites, in order.
const CITED: [&str; 2] = [
    "https://blog.rust-lang.org/releases/latest/",
    "https://github.com/rust-lang/rust/releases",
];

fn chat(model: &str, stream: bool, extra: Value) -> Value {
    let mut body = json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "What is the latest Rust release?"}]
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// What the Pipelines inlet adds to a chat turn with the web search toggle on.
fn from_open_webui(web_search: bool) -> Value {
    json!({"orpipe_context": {"chat_id": "c1", "features": {"web_search": web_search}}})
}

async fn warm_catalog(orpipe: &Orpipe) {
    // The reasoning default needs the model's catalog entry; listing loads it.
    let response = client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("models");
    assert_eq!(response.status, 200, "{}", response.text());
}

async fn stream(orpipe: &Orpipe, body: &Value) -> Vec<Value> {
    let result = client::stream_sse(&orpipe.url("/v1/chat/completions"), body, Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(result.saw_done());
    result.json_events().expect("every data frame is JSON")
}

fn events<'a>(chunks: &'a [Value], kind: &str) -> Vec<&'a Value> {
    chunks
        .iter()
        .filter_map(|c| c.get("event"))
        .filter(|e| e["type"] == kind)
        .map(|e| &e["data"])
        .collect()
}

fn annotations(chunks: &[Value]) -> Vec<&Value> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["annotations"].as_array())
        .flatten()
        .collect()
}

/// The last request body the mock received.
fn sent(mock: &MockOpenRouter) -> Value {
    mock.responses_requests()
        .last()
        .expect("a call upstream")
        .json()
        .expect("JSON body")
}

fn web_search_tools(body: &Value) -> Vec<&Value> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "openrouter:web_search")
        .collect()
}

#[tokio::test]
async fn open_webui_sees_statuses_sources_and_the_status_line_and_its_toggle_searches() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    warm_catalog(&orpipe).await;
    mock.enqueue(Reply::stream(WEB_SEARCH).split_every(13));
    let chunks = stream(&orpipe, &chat(REASONER, true, from_open_webui(true))).await;

    let statuses: Vec<(&str, bool)> = events(&chunks, "status")
        .iter()
        .map(|s| {
            (
                s["description"].as_str().expect("description"),
                s["done"].as_bool().expect("done"),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses[0], ("Searching the web…", false));
    assert_eq!(
        statuses[1],
        ("Searched the web for “latest stable Rust release”", true)
    );
    let (line, done) = statuses[2];
    assert!(done);
    assert!(
        line.ends_with(" tok/s | $0.007356 | 1,595 tokens (in 1,534 · out 61)"),
        "{line}"
    );
    assert!(
        line.split(" s · ")
            .next()
            .is_some_and(|t| t.parse::<f64>().is_ok()),
        "starts with the seconds: {line}"
    );
    let last = chunks.last().expect("chunks");
    assert_eq!(
        last["event"]["data"]["description"], line,
        "the line is last"
    );
    assert_eq!(last["choices"], json!([]));

    let sources = events(&chunks, "source");
    let urls: Vec<&str> = sources
        .iter()
        .filter_map(|s| s["source"]["url"].as_str())
        .collect();
    assert_eq!(urls, CITED);
    assert_eq!(sources[0]["source"]["name"], "Rust Blog: latest release");
    assert_eq!(
        sources[0]["metadata"],
        json!([{"source": "https://blog.rust-lang.org/releases/latest/",
            "name": "Rust Blog: latest release"}])
    );
    assert!(
        annotations(&chunks).is_empty(),
        "Open WebUI makes sources of annotations itself: they would show twice"
    );

    let body = sent(&mock);
    assert!(
        body.get("orpipe_context").is_none(),
        "the context never goes upstream"
    );
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(
        web_search_tools(&body),
        [&json!({"type": "openrouter:web_search", "parameters": {
            "engine": "auto", "max_results": 5, "search_context_size": "medium"}})]
    );
}

#[tokio::test]
async fn a_plain_client_gets_no_event_keeps_its_annotations_and_still_reasons() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    warm_catalog(&orpipe).await;
    mock.enqueue(Reply::stream(WEB_SEARCH).split_every(13));
    let chunks = stream(&orpipe, &chat(REASONER, true, json!({}))).await;
    assert!(
        chunks.iter().all(|c| c.get("event").is_none()),
        "no event chunk for an SDK client"
    );
    assert!(chunks.iter().all(|c| c.get("choices").is_some()));
    let urls: Vec<&str> = annotations(&chunks)
        .iter()
        .filter_map(|a| a["url_citation"]["url"].as_str())
        .collect();
    assert_eq!(urls, CITED);
    let body = sent(&mock);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert!(
        web_search_tools(&body).is_empty(),
        "no toggle, no search: {body}"
    );

    // The client's own effort wins; a model that does not reason gets none.
    stream(
        &orpipe,
        &chat(REASONER, true, json!({"reasoning_effort": "low"})),
    )
    .await;
    assert_eq!(
        sent(&mock)["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    stream(
        &orpipe,
        &chat(REASONER, true, json!({"reasoning_effort": "none"})),
    )
    .await;
    assert_eq!(sent(&mock)["reasoning"], json!({"effort": "none"}));
    stream(&orpipe, &chat("openai/gpt-4o-mini", true, json!({}))).await;
    assert!(sent(&mock).get("reasoning").is_none());
}

#[tokio::test]
async fn open_webui_headers_alone_bring_events_and_whole_answers_never_carry_any() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[]).await;
    let response = HttpClient::new()
        .post_json_with_headers(
            &orpipe.url("/v1/chat/completions"),
            &chat("openai/gpt-4o-mini", true, json!({})),
            Some(CLIENT_KEY),
            &[("X-OpenWebUI-Chat-Id", "c2")],
        )
        .await
        .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let chunks: Vec<Value> = response
        .text()
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).expect("JSON chunk"))
        .collect();
    let line = events(&chunks, "status");
    assert_eq!(line.len(), 1, "a plain answer: only the status line");
    assert!(
        line[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains(" tokens (in ")),
        "{}",
        line[0]
    );

    let whole = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat("openai/gpt-4o-mini", false, from_open_webui(false)),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(whole.status, 200, "{}", whole.text());
    let completion = whole.json().expect("JSON");
    assert_eq!(completion["object"], "chat.completion");
    assert!(!whole.text().contains("\"event\""), "{completion}");
}

#[tokio::test]
async fn tasks_take_the_cheap_path_and_the_operator_sets_efforts_search_and_the_line() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_REASONING_EFFORT", "high"),
            ("ORPIPE_REASONING_SUMMARY", "none"),
            ("ORPIPE_TASK_REASONING_EFFORT", "low"),
            ("ORPIPE_WEB_SEARCH_ENGINE", "exa"),
            ("ORPIPE_WEB_SEARCH_MAX_RESULTS", "3"),
            ("ORPIPE_WEB_SEARCH_CONTEXT_SIZE", "high"),
            ("ORPIPE_STATUS_LINE_FIELDS", "tokens"),
        ],
    )
    .await;
    warm_catalog(&orpipe).await;

    mock.enqueue(Reply::stream(WEB_SEARCH));
    let chunks = stream(&orpipe, &chat(REASONER, true, from_open_webui(true))).await;
    let body = sent(&mock);
    assert_eq!(body["reasoning"], json!({"effort": "high"}));
    assert_eq!(
        web_search_tools(&body),
        [&json!({"type": "openrouter:web_search", "parameters": {
            "engine": "exa", "max_results": 3, "search_context_size": "high"}})]
    );
    let statuses = events(&chunks, "status");
    assert_eq!(
        statuses.last().map(|s| &s["description"]),
        Some(&json!("1,595 tokens (in 1,534 · out 61)")),
        "only the chosen field"
    );

    // A title task with the toggle on: no search, no tools, the task effort.
    let task = json!({"orpipe_context": {"chat_id": "c1", "task": "title_generation",
        "features": {"web_search": true}},
        "reasoning_effort": "high",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]});
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat(REASONER, false, task),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let body = sent(&mock);
    assert!(body.get("tools").is_none(), "{body}");
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
}

#[tokio::test]
async fn owui_events_off_gives_open_webui_the_plain_stream() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_OWUI_EVENTS", "off")]).await;
    mock.enqueue(Reply::stream(WEB_SEARCH));
    let chunks = stream(
        &orpipe,
        &chat("openai/gpt-4o-mini", true, from_open_webui(true)),
    )
    .await;
    assert!(chunks.iter().all(|c| c.get("event").is_none()));
    assert_eq!(annotations(&chunks).len(), 2);
    assert_eq!(
        web_search_tools(&sent(&mock)).len(),
        1,
        "the toggle still searches"
    );
}
