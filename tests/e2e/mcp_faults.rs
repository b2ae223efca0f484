//! MCP servers that misbehave, against orpipe's MCP client: the kit's [`MockMcpServer`],
//! whose tools are faults (an HTML page, JSON that is not JSON-RPC, a JSON-RPC error, a
//! tool that is too slow, a stream that never answers, a result too large, a lost
//! session). Each is run through `POST /admin/mcp/call`, the client call the tool loop
//! makes: each ends in a clear error (or a cut output) within the server's timeout, and
//! orpipe goes on answering.

use crate::{CLIENT_KEY, start};
use orpipe_testkit::mock_mcp::{ERROR_RESULT_TEXT, HUGE_DEFAULT_BYTES};
use orpipe_testkit::{HttpClient, MockMcpServer, MockOpenRouter, Orpipe, eventually};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "sk-orpipe-admin";
/// The server timeout of these tests: short, so the timeouts are quick to see.
const TIMEOUT_SECS: u64 = 2;
/// What a timeout may take beyond the server's timeout on a loaded machine.
const SLACK: Duration = Duration::from_secs(3);
const REFRESH_WAIT: Duration = Duration::from_secs(60);

/// orpipe with one server `f` (the mock, all its tools), once its tools are fetched.
async fn start_with(mock: &MockOpenRouter, server: &MockMcpServer) -> Orpipe {
    let servers = json!([{"name": "f", "url": server.url(), "internal": true,
                          "timeout_secs": TIMEOUT_SECS}])
    .to_string();
    let orpipe = start(
        mock,
        &[
            ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
            ("ORPIPE_MCP_SERVERS", servers.as_str()),
        ],
    )
    .await;
    let listed = eventually("the MCP tools to be fetched", REFRESH_WAIT, async || {
        let response = HttpClient::new()
            .get(&orpipe.url("/admin/mcp/tools"), Some(ADMIN_KEY))
            .await
            .ok()?;
        let body = response.json().ok()?;
        (body["servers"][0]["state"] != "unknown").then_some(body)
    })
    .await;
    let entry = &listed["servers"][0];
    assert_eq!(entry["state"], "up", "{entry}");
    assert_eq!(entry["protocol_version"], MockMcpServer::PROTOCOL_VERSION);
    assert_eq!(
        entry["tools"].as_array().map(Vec::len),
        Some(MockMcpServer::TOOLS.len())
    );
    orpipe
}

/// Calls `f__<tool>`; the status, the answer and how long it took.
async fn call(orpipe: &Orpipe, tool: &str, arguments: Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let response = HttpClient::new()
        .post_json(
            &orpipe.url("/admin/mcp/call"),
            &json!({"name": format!("f__{tool}"), "arguments": arguments}),
            Some(ADMIN_KEY),
        )
        .await
        .expect("request");
    let body = response.json().expect("json");
    (response.status, body, started.elapsed())
}

/// A failed call: 502, `server_failed`, with a message naming the server and `reason`.
fn assert_server_failed(tool: &str, status: u16, body: &Value, reason: &str) {
    assert_eq!(status, 502, "{tool}: {body}");
    assert_eq!(body["error"]["type"], "server_failed", "{tool}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("\"f\"") && message.contains(reason),
        "{tool}: {message:?} should say {reason:?}"
    );
}

/// The call ran over the server's timeout: 504, `timeout`, naming the server and the limit.
fn assert_timed_out(tool: &str, status: u16, body: &Value) {
    assert_eq!(status, 504, "{tool}: {body}");
    assert_eq!(body["error"]["type"], "timeout", "{tool}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("\"f\"") && message.contains("did not finish the call within 2 s"),
        "{tool}: {message:?}"
    );
}

/// A plain chat request gets its answer.
async fn assert_chat_works(orpipe: &Orpipe) {
    let response = HttpClient::new()
        .post_json(
            &orpipe.url("/v1/chat/completions"),
            &json!({"model": "openai/gpt-4o-mini",
                    "messages": [{"role": "user", "content": "still there?"}]}),
            Some(CLIENT_KEY),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json().expect("json");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn answers_that_are_not_a_tool_result_are_clear_errors() {
    let server = MockMcpServer::start().await.expect("mcp mock");
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with(&mock, &server).await;
    // The handshake fell back from the modern probe to `initialize`.
    assert_eq!(
        server.methods()[..3],
        ["server/discover", "initialize", "notifications/initialized"]
    );

    let (status, body, _) = call(&orpipe, "ok", json!({"text": "hello"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["text"], "hello");

    let (status, body, _) = call(&orpipe, "error_result", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["is_error"], true, "{body}");
    assert_eq!(body["output"]["text"], ERROR_RESULT_TEXT);

    for (tool, reason) in [
        ("html", "\"text/html\", not JSON or an event stream"),
        ("bad_jsonrpc", "not JSON-RPC"),
        ("rpc_error", "JSON-RPC error -32603: Internal error"),
    ] {
        let (status, body, _) = call(&orpipe, tool, json!({})).await;
        assert_server_failed(tool, status, &body, reason);
    }

    // None of it broke anything.
    let (status, body, _) = call(&orpipe, "ok", json!({})).await;
    assert_eq!((status, &body["output"]["text"]), (200, &json!("ok")));
    assert_chat_works(&orpipe).await;
}

#[tokio::test]
async fn a_slow_tool_and_a_stream_that_never_answers_time_out_and_block_nothing() {
    let server = MockMcpServer::start().await.expect("mcp mock");
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with(&mock, &server).await;
    let limit = Duration::from_secs(TIMEOUT_SECS) + SLACK;
    let floor = Duration::from_secs(TIMEOUT_SECS) - Duration::from_millis(200);

    // Within the timeout a slow tool is fine.
    let (status, body, _) = call(&orpipe, "slow", json!({"seconds": 0.2})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["text"], "slept 0.2 s");

    let (status, body, took) = call(&orpipe, "slow", json!({"seconds": 8})).await;
    assert_timed_out("slow", status, &body);
    assert!(took >= floor && took < limit, "slow failed after {took:?}");

    // Keep-alives do not extend the timeout; while the call hangs, orpipe answers others.
    let hanging = {
        let url = orpipe.url("/admin/mcp/call");
        tokio::spawn(async move {
            let started = Instant::now();
            let response = HttpClient::new()
                .post_json(
                    &url,
                    &json!({"name": "f__endless", "arguments": {}}),
                    Some(ADMIN_KEY),
                )
                .await
                .expect("request");
            (
                response.status,
                response.json().expect("json"),
                started.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let chat_started = Instant::now();
    assert_chat_works(&orpipe).await;
    let chat_took = chat_started.elapsed();
    let (status, body, took) = hanging.await.expect("the endless call");
    assert_timed_out("endless", status, &body);
    assert!(
        took >= floor && took < limit,
        "endless failed after {took:?}"
    );
    assert!(
        chat_took < took,
        "the chat request ({chat_took:?}) waited for the hanging call ({took:?})"
    );

    let (status, body, _) = call(&orpipe, "ok", json!({})).await;
    assert_eq!((status, &body["output"]["text"]), (200, &json!("ok")));
}

#[tokio::test]
async fn a_huge_result_is_cut_to_the_output_cap_or_refused_past_the_answer_cap() {
    let server = MockMcpServer::start().await.expect("mcp mock");
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with(&mock, &server).await;

    // 1 MB: read, then cut to the admin route's cap (64 KiB) with a note.
    let (status, body, _) = call(&orpipe, "huge", json!({"bytes": 1_000_000})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["truncated"], true, "cut");
    let text = body["output"]["text"].as_str().expect("text");
    assert!(text.starts_with("line 00000000 of a huge tool result\n"));
    assert!(
        text.ends_with("\n[output truncated by orpipe: 65536 of 1000000 bytes shown]"),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );
    assert!(text.len() < 65536 + 200, "{} bytes", text.len());

    // 10 MB: past what orpipe reads of one answer (8 MiB); refused, not buffered.
    let (status, body, _) = call(&orpipe, "huge", json!({})).await;
    const { assert!(HUGE_DEFAULT_BYTES > 8 * 1024 * 1024) };
    assert_server_failed("huge", status, &body, "larger than 8388608 bytes");

    let (status, body, _) = call(&orpipe, "ok", json!({})).await;
    assert_eq!((status, &body["output"]["text"]), (200, &json!("ok")));
    assert_chat_works(&orpipe).await;
}

#[tokio::test]
async fn a_lost_session_is_opened_again_and_the_call_goes_through() {
    let server = MockMcpServer::start().await.expect("mcp mock");
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_with(&mock, &server).await;
    let (status, body, _) = call(&orpipe, "ok", json!({"text": "one"})).await;
    assert_eq!((status, &body["output"]["text"]), (200, &json!("one")));
    assert_eq!(server.count("initialize"), 1);

    server.lose_session();
    let before = server.requests().len();
    let (status, body, _) = call(&orpipe, "ok", json!({"text": "two"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["text"], "two");
    assert_eq!(server.count("initialize"), 2);
    // The call (answered 404), a new handshake, the call again on the new session.
    let methods = server.methods();
    assert_eq!(
        methods[before..],
        [
            "tools/call",
            "server/discover",
            "initialize",
            "notifications/initialized",
            "tools/call"
        ]
    );
    let requests = server.requests();
    let sessions: Vec<Option<&str>> = [before, before + 4]
        .iter()
        .map(|&i| requests[i].header("mcp-session-id"))
        .collect();
    assert!(
        sessions[0].is_some() && sessions[1].is_some() && sessions[0] != sessions[1],
        "{sessions:?}"
    );
    assert_eq!(
        requests[before + 4].header("mcp-protocol-version"),
        Some(MockMcpServer::PROTOCOL_VERSION)
    );
}
