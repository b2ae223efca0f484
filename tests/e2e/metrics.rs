//! `/metrics`: a few chat requests through the mock, then the scrape shows them counted
//! under the right labels (requests by route and status, tokens and cost by model, a
//! failure's class, retries, latency histograms); only admins may scrape the main
//! listener; `ORPIPE_METRICS_ADDR` serves the same text without a key. With
//! `ORPIPE_PYTHON` (tests/sdk/requirements.txt) the text also goes through the
//! `prometheus-client` package's OpenMetrics parser, as a real scraper would read it.

use crate::{CLIENT_KEY, LOG_WAIT, start};
use orpipe_testkit::{
    HttpResponse, MockOpenRouter, Orpipe, Reply, client, eventually, require_tool,
};
use serde_json::{Value, json};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

const ADMIN_KEY: &str = "sk-orpipe-metrics-admin";
const MODEL: &str = "openai/gpt-4o-mini";

fn chat() -> Value {
    json!({
        "model": MODEL,
        "stream": false,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

async fn post_chat(orpipe: &Orpipe) -> HttpResponse {
    client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &chat(),
        Some(CLIENT_KEY),
    )
    .await
    .expect("chat request")
}

async fn scrape(url: &str, key: Option<&str>) -> HttpResponse {
    client::get(url, key).await.expect("scrape")
}

/// The scrape once every expected line is in it: the guest counts a turn after its last
/// byte went out, so the client may read its answer before the count lands.
async fn scrape_until(url: &str, key: Option<&str>, expected: &[String]) -> String {
    eventually("the expected metric lines", LOG_WAIT, async || {
        let text = scrape(url, key).await.text();
        expected
            .iter()
            .all(|line| text.lines().any(|l| l == line))
            .then_some(text)
    })
    .await
}

#[tokio::test]
async fn chats_are_counted_by_route_status_model_class_and_retry() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(
        &mock,
        &[
            ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
            ("ORPIPE_UPSTREAM_RETRIES", "1"),
            ("ORPIPE_UPSTREAM_RETRY_WAIT_SECS", "5"),
        ],
    )
    .await;

    // Two answers (the second after one transient failure), then a rate limit that the
    // one retry does not cure.
    let first = post_chat(&orpipe).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let usage = first.json().expect("json")["usage"].clone();
    mock.enqueue(crate::service_unavailable());
    let second = post_chat(&orpipe).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let limited = || Reply::http_error(429, r#"{"error":{"code":429,"message":"Rate limited"}}"#);
    mock.enqueue(limited());
    mock.enqueue(limited());
    let failed = post_chat(&orpipe).await;
    assert_eq!(failed.status, 429, "{}", failed.text());

    let count = |field: &str| usage[field].as_u64().expect("a token count") * 2;
    let expected = [
        r#"orpipe_http_requests_total{route="/v1/chat/completions",status="200"} 2"#.to_owned(),
        r#"orpipe_http_requests_total{route="/v1/chat/completions",status="429"} 1"#.to_owned(),
        format!(r#"orpipe_chat_completions_total{{model="{MODEL}",outcome="completed"}} 2"#),
        format!(
            r#"orpipe_tokens_total{{model="{MODEL}",kind="input"}} {}"#,
            count("prompt_tokens")
        ),
        format!(
            r#"orpipe_tokens_total{{model="{MODEL}",kind="output"}} {}"#,
            count("completion_tokens")
        ),
        r#"orpipe_chat_failures_total{class="rate_limit"} 1"#.to_owned(),
        r#"orpipe_upstream_retries_total{kind="transient"} 2"#.to_owned(),
        r#"orpipe_http_request_duration_seconds_count{route="/v1/chat/completions"} 3"#.to_owned(),
        r#"orpipe_http_time_to_first_byte_seconds_count{route="/v1/chat/completions"} 3"#
            .to_owned(),
        "orpipe_admission_wait_seconds_count 3".to_owned(),
    ];
    let text = scrape_until(&orpipe.url("/metrics"), Some(ADMIN_KEY), &expected).await;

    // The cost adds up per model.
    let cost = usage["cost"].as_f64().expect("a cost") * 2.0;
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!(r#"orpipe_cost_usd_total{{model="{MODEL}"}}"#)))
        .unwrap_or_else(|| panic!("a cost line in\n{text}"));
    let counted: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert!((counted - cost).abs() < 1e-12, "{counted} vs {cost}");
    // Read, not counted: nothing is waiting, one instance may be finishing its scrape.
    assert!(
        text.contains("orpipe_admission_queued_requests 0"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE orpipe_instances_alive gauge"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    parses_as_openmetrics(&text).await;
}

#[tokio::test]
async fn a_stream_cut_short_after_it_started_is_counted_by_its_class() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_error_midstream.sse"));
    let orpipe = start(&mock, &[("ORPIPE_ADMIN_KEYS", ADMIN_KEY)]).await;
    let body = json!({"model": MODEL, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    let result = client::stream_sse(&orpipe.url("/v1/chat/completions"), &body, Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(result.status, 200, "the answer had started");
    assert!(result.saw_done());
    let expected = [
        format!(r#"orpipe_chat_completions_total{{model="{MODEL}",outcome="upstream_error"}} 1"#),
        r#"orpipe_stream_failures_total{class="upstream_server"} 1"#.to_owned(),
    ];
    let text = scrape_until(&orpipe.url("/metrics"), Some(ADMIN_KEY), &expected).await;
    assert!(!text.contains("orpipe_chat_failures_total{"), "{text}");
}

#[tokio::test]
async fn only_admins_scrape_the_main_listener() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start(&mock, &[("ORPIPE_ADMIN_KEYS", ADMIN_KEY)]).await;
    let url = orpipe.url("/metrics");

    let client_key = scrape(&url, Some(CLIENT_KEY)).await;
    assert_eq!(client_key.status, 403, "{}", client_key.text());
    let body = client_key.json().expect("an error body");
    assert_eq!(body["error"]["code"], "admin_key_required");
    assert!(!client_key.text().contains("orpipe_"), "no figures leak");
    assert_eq!(scrape(&url, None).await.status, 401);

    let admin = scrape(&url, Some(ADMIN_KEY)).await;
    assert_eq!(admin.status, 200);
    assert!(
        admin
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        admin.header("content-type")
    );
    // The refused scrapes were requests too.
    let expected = [
        r#"orpipe_http_requests_total{route="/metrics",status="403"} 1"#.to_owned(),
        r#"orpipe_http_requests_total{route="/metrics",status="401"} 1"#.to_owned(),
    ];
    scrape_until(&url, Some(ADMIN_KEY), &expected).await;
}

#[tokio::test]
async fn the_metrics_address_serves_the_scrape_without_a_key() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let orpipe = start(&mock, &[("ORPIPE_METRICS_ADDR", &addr)]).await;
    let response = post_chat(&orpipe).await;
    assert_eq!(response.status, 200, "{}", response.text());

    let url = format!("http://{addr}/metrics");
    let expected = [format!(
        r#"orpipe_chat_completions_total{{model="{MODEL}",outcome="completed"}} 1"#
    )];
    scrape_until(&url, None, &expected).await;
    let elsewhere = scrape(&format!("http://{addr}/v1/models"), Some(CLIENT_KEY)).await;
    assert_eq!(elsewhere.status, 404, "only /metrics is served there");
}

/// The text through a real client's parser (skipped without `ORPIPE_PYTHON`).
async fn parses_as_openmetrics(text: &str) {
    let Some(python) = require_tool("ORPIPE_PYTHON") else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sdk/parse_metrics.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running python");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("write");
    drop(stdin);
    let output = child.wait_with_output().await.expect("python output");
    assert!(
        output.status.success(),
        "the parser refused the scrape:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let families: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    assert_eq!(families["orpipe_chat_completions"]["type"], "counter");
    assert_eq!(
        families["orpipe_http_request_duration_seconds"]["type"],
        "histogram"
    );
    assert_eq!(
        families["orpipe_http_request_duration_seconds"]["unit"],
        "seconds"
    );
    assert_eq!(families["orpipe_instances_alive"]["type"], "gauge");
}
