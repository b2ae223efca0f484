//! The sandbox: a guest instance that loops or allocates without bound is stopped and its
//! request alone fails (500 with an error id), while a concurrent request completes and
//! the server keeps serving. The faults come from the test guest's routes (built with the
//! cargo feature `test-faults` by host/build.rs and loaded with `ORPIPE_COMPONENT`); the
//! shipped guest has none.

use crate::admission::{assert_intact, wait_for_startup_jobs};
use crate::{CLIENT_KEY, LOG_WAIT, start};
use orpipe_testkit::{HttpResponse, MockOpenRouter, Orpipe, Reply, StreamOutcome, client};
use serde_json::{Value, json};
use std::time::Duration;

/// An admin key, for reading `/metrics`.
const METRICS_KEY: &str = "sk-orpipe-sandbox-admin";

/// The guest with the fault routes (host/build.rs); empty when the guest was prebuilt.
const TEST_GUEST: &str = env!("ORPIPE_TEST_GUEST_WASM");

/// orpipe running the test guest, or `None` (the test is skipped) without one.
async fn start_test_guest(mock: &MockOpenRouter, extra_env: &[(&str, &str)]) -> Option<Orpipe> {
    if TEST_GUEST.is_empty() {
        orpipe_testkit::skip(
            "the guest was prebuilt (ORPIPE_GUEST_WASM), so there is no test guest with fault routes",
        );
        return None;
    }
    let mut env = vec![("ORPIPE_COMPONENT", TEST_GUEST)];
    env.extend_from_slice(extra_env);
    Some(start(mock, &env).await)
}

async fn fault(orpipe: &Orpipe, which: &str) -> HttpResponse {
    client::post_json(
        &orpipe.url(&format!("/debug/fault/{which}")),
        &json!({}),
        Some(CLIENT_KEY),
    )
    .await
    .expect("a response, not a hang or a dropped connection")
}

fn assert_internal_error(response: &HttpResponse, what: &str) -> String {
    assert_eq!(response.status, 500, "{what}: {}", response.text());
    let body: Value = response.json().expect("an OpenAI error body");
    assert_eq!(body["error"]["type"], "internal_error", "{what}");
    let error_id = body["error"]["error_id"]
        .as_str()
        .expect("an error id")
        .to_owned();
    assert_eq!(error_id.len(), 16, "{what}: {error_id}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("internal error") && message.contains(&error_id),
        "{what}: {message}"
    );
    error_id
}

#[tokio::test]
async fn a_looping_or_memory_hungry_guest_fails_alone_and_the_server_keeps_serving() {
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.set_default_reply(Reply::stream("stream_text.sse").event_delay(Duration::from_millis(50)));
    let Some(orpipe) = start_test_guest(
        &mock,
        &[
            ("ORPIPE_GUEST_CPU_MS", "1000"),
            ("ORPIPE_GUEST_MEMORY_MB", "64"),
            ("ORPIPE_ADMIN_KEYS", METRICS_KEY),
        ],
    )
    .await
    else {
        return;
    };
    wait_for_startup_jobs(&orpipe).await;

    let chat = json!({
        "model": "openai/gpt-4o-mini",
        "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]
    });
    let url = orpipe.url("/v1/chat/completions");
    let (looped, hoarded, answer) = tokio::join!(
        fault(&orpipe, "loop"),
        fault(&orpipe, "alloc"),
        client::stream_sse(&url, &chat, Some(CLIENT_KEY)),
    );
    let loop_id = assert_internal_error(&looped, "loop");
    let alloc_id = assert_internal_error(&hoarded, "alloc");
    assert_intact(&answer.expect("chat request"), "the concurrent chat");

    // The log says why, under the same error ids.
    assert!(orpipe.wait_for_log(&loop_id, LOG_WAIT).await);
    assert!(orpipe.wait_for_log(&alloc_id, LOG_WAIT).await);
    let log = orpipe.stderr_log();
    assert!(log.contains("over its budget"), "{log}");
    assert!(log.contains("memory"), "{log}");
    // Each is counted under the limit that stopped it.
    let metrics = client::get(&orpipe.url("/metrics"), Some(METRICS_KEY))
        .await
        .expect("metrics")
        .text();
    for cause in ["cpu_limit", "memory_limit"] {
        let line = format!(r#"orpipe_guest_traps_total{{cause="{cause}"}} 1"#);
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(!metrics.contains(r#"cause="other""#), "{metrics}");

    let health = client::get(&orpipe.url("/healthz"), None)
        .await
        .expect("healthz");
    assert_eq!(health.status, 200);
    let after = client::stream_sse(&url, &chat, Some(CLIENT_KEY))
        .await
        .expect("chat after the faults");
    assert_intact(&after, "a chat after the faults");
}

#[tokio::test]
async fn a_guest_that_fails_mid_stream_cuts_the_connection_instead_of_ending_it() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let Some(orpipe) = start_test_guest(&mock, &[("ORPIPE_GUEST_CPU_MS", "500")]).await else {
        return;
    };
    let result = client::stream_sse(
        &orpipe.url("/debug/fault/stream-loop"),
        &json!({}),
        Some(CLIENT_KEY),
    )
    .await
    .expect("a response head");
    assert_eq!(result.status, 200);
    assert!(
        String::from_utf8_lossy(&result.raw).contains("partial answer"),
        "what was written before the failure arrives"
    );
    assert!(
        matches!(result.outcome, StreamOutcome::BodyError(_)),
        "a broken transfer, not a clean end: {:?}",
        result.outcome
    );
    assert!(!result.saw_done());
    assert!(orpipe.wait_for_log("over its budget", LOG_WAIT).await);
    let health = client::get(&orpipe.url("/healthz"), None)
        .await
        .expect("healthz");
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn the_shipped_guest_has_no_fault_routes_even_with_the_old_flag() {
    let mock = MockOpenRouter::start().await.expect("mock");
    // `ORPIPE_TEST_FAULTS=1` once switched the routes on at run time.
    let orpipe = start(&mock, &[("ORPIPE_TEST_FAULTS", "1")]).await;
    for which in ["loop", "alloc", "stream-loop"] {
        let response = fault(&orpipe, which).await;
        assert_eq!(response.status, 404, "{which}: {}", response.text());
    }
}
