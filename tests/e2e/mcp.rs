//! MCP servers configured by the operator, against a real one: the official Python SDK
//! (tests/mcp/server.py, Streamable HTTP, both protocol eras). orpipe fetches each
//! server's tools with its refresh job and shows them on `GET /admin/mcp/tools`; a tool
//! runs through `POST /admin/mcp/call`, the same client call the tool loop will make.
//! Needs `ORPIPE_MCP_PYTHON`: a Python with tests/mcp/requirements.txt (scripts/test.sh
//! makes one); without it the tests say so and pass (and fail under `ORPIPE_REQUIRE_ALL=1`).

use crate::{LOG_WAIT, start};
use orpipe_testkit::{HttpClient, MockOpenRouter, Orpipe, eventually, require_tool};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

pub(crate) const ADMIN_KEY: &str = "sk-orpipe-admin";
/// Long enough for the start-up refresh of several servers on a loaded machine.
const REFRESH_WAIT: Duration = Duration::from_secs(60);

/// The test server, stopped when dropped.
pub(crate) struct McpServer {
    child: tokio::process::Child,
    pub(crate) url: String,
}

impl McpServer {
    /// Starts tests/mcp/server.py on `port` (`json`: answers as JSON rather than SSE)
    /// and waits until it accepts connections.
    pub(crate) async fn start(python: &Path, port: u16, json: bool) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/mcp/server.py");
        let mut command = tokio::process::Command::new(python);
        command.arg(script).arg(port.to_string());
        if json {
            command.arg("--json");
        }
        let child = command
            .stdout(std::process::Stdio::null())
            // Its request log would interleave with the test output.
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the MCP server");
        eventually("the MCP server to listen", REFRESH_WAIT, async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }

    /// Stops the server and waits until it is gone (with it, its sessions).
    async fn stop(mut self) {
        self.child.kill().await.expect("stopping the MCP server");
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn start_orpipe(mock: &MockOpenRouter, servers: &Value) -> Orpipe {
    let servers = servers.to_string();
    start(
        mock,
        &[
            ("ORPIPE_ADMIN_KEYS", ADMIN_KEY),
            ("ORPIPE_MCP_SERVERS", servers.as_str()),
        ],
    )
    .await
}

/// `GET /admin/mcp/tools`.
async fn listing(orpipe: &Orpipe) -> Value {
    let response = HttpClient::new()
        .get(&orpipe.url("/admin/mcp/tools"), Some(ADMIN_KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    response.json().expect("json")
}

/// `GET /admin/mcp/tools`'s entry for each server, by name.
async fn servers(orpipe: &Orpipe) -> Value {
    let listed = listing(orpipe).await;
    let mut by_name = serde_json::Map::new();
    for server in listed["servers"].as_array().expect("servers") {
        by_name.insert(
            server["name"].as_str().expect("name").to_owned(),
            server.clone(),
        );
    }
    Value::Object(by_name)
}

/// Waits until every server named has left the `unknown` state.
pub(crate) async fn settled(orpipe: &Orpipe, names: &[&str]) -> Value {
    eventually("every MCP server to be checked", REFRESH_WAIT, async || {
        let servers = servers(orpipe).await;
        names
            .iter()
            .all(|name| servers[name]["state"] != "unknown")
            .then_some(servers)
    })
    .await
}

async fn call(orpipe: &Orpipe, body: Value) -> (u16, Value) {
    let response = HttpClient::new()
        .post_json(&orpipe.url("/admin/mcp/call"), &body, Some(ADMIN_KEY))
        .await
        .expect("request");
    (response.status, response.json().expect("json"))
}

fn tool_names(server: &Value) -> Vec<String> {
    server["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            t["function_name"]
                .as_str()
                .expect("function name")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_real_mcp_server_lists_and_runs_its_tools_in_each_protocol_revision() {
    let Some(python) = require_tool("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let sse = McpServer::start(&python, free_port(), false).await;
    let json_answers = McpServer::start(&python, free_port(), true).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    let config = json!([
        {"name": "auto", "url": sse.url, "internal": true},
        {"name": "v0618", "url": sse.url, "internal": true, "protocol_version": "2025-06-18",
         "tools": ["add"]},
        {"name": "v1125", "url": sse.url, "internal": true, "protocol_version": "2025-11-25"},
        {"name": "jsonmode", "url": json_answers.url, "internal": true,
         "protocol_version": "2025-11-25", "token": "mcp-s3cret-token"},
    ]);
    let orpipe = start_orpipe(&mock, &config).await;
    let servers = settled(&orpipe, &["auto", "v0618", "v1125", "jsonmode"]).await;

    // Negotiated: the stateless revision; pinned: the handshake revisions.
    for (name, version) in [
        ("auto", "2026-07-28"),
        ("v0618", "2025-06-18"),
        ("v1125", "2025-11-25"),
        ("jsonmode", "2025-11-25"),
    ] {
        assert_eq!(servers[name]["state"], "up", "{name}: {}", servers[name]);
        assert_eq!(servers[name]["protocol_version"], version, "{name}");
    }
    assert_eq!(
        tool_names(&servers["auto"]),
        ["auto__add", "auto__echo", "auto__fail", "auto__sleep"]
    );
    // The allow-list: only `add` is offered from this entry.
    assert_eq!(tool_names(&servers["v0618"]), ["v0618__add"]);
    assert_eq!(
        servers["auto"]["tools"][0]["description"],
        "Adds two whole numbers."
    );
    assert!(
        orpipe.wait_for_log("mcp tools fetched", LOG_WAIT).await,
        "{}",
        orpipe.stderr_log()
    );

    // Calls, in each revision, answered as SSE or as JSON; arguments as an object or as
    // the model's JSON text.
    for (name, arguments, expected) in [
        ("auto__add", json!({"a": 2, "b": 3}), "5"),
        ("v0618__add", json!("{\"a\": 40, \"b\": 2}"), "42"),
        ("v1125__echo", json!({"text": "grüße"}), "grüße"),
        (
            "jsonmode__echo",
            json!({"text": "plain JSON"}),
            "plain JSON",
        ),
    ] {
        let (status, body) = call(&orpipe, json!({"name": name, "arguments": arguments})).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["output"]["text"], expected, "{name}");
        assert_eq!(body["output"]["is_error"], false, "{name}");
    }

    // A tool that fails is an output the model reads, flagged as an error.
    let (status, body) = call(
        &orpipe,
        json!({"name": "auto__fail", "arguments": {"reason": "the disk is full"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["is_error"], true);
    assert!(
        body["output"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("the disk is full")),
        "{body}"
    );
    // The output cap cuts with a note.
    let (_, body) = call(
        &orpipe,
        json!({"name": "auto__echo", "arguments": {"text": "x".repeat(100)}, "max_output_bytes": 10}),
    )
    .await;
    assert_eq!(body["output"]["truncated"], true, "{body}");
    assert!(
        body["output"]["text"]
            .as_str()
            .is_some_and(|t| t
                .starts_with("xxxxxxxxxx\n[output truncated by orpipe: 10 of 100 bytes shown]")),
        "{body}"
    );
    // A tool not offered, and arguments that are not an object.
    let (status, body) = call(&orpipe, json!({"name": "v0618__echo", "arguments": {}})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(&orpipe, json!({"name": "auto__add", "arguments": "[1, 2]"})).await;
    assert_eq!(status, 400, "{body}");

    // The token is a secret: in no log line.
    assert!(!orpipe.stderr_log().contains("mcp-s3cret-token"));
    assert!(!orpipe.stdout_log().contains("mcp-s3cret-token"));
}

#[tokio::test]
async fn the_mcp_routes_are_for_admins_only() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let orpipe = start_orpipe(&mock, &json!([])).await;
    let response = HttpClient::new()
        .get(&orpipe.url("/admin/mcp/tools"), Some(crate::CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(response.status, 403, "{}", response.text());
    let response = HttpClient::new()
        .post_json(
            &orpipe.url("/admin/mcp/call"),
            &json!({"name": "x"}),
            Some(crate::CLIENT_KEY),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 403, "{}", response.text());
}

#[tokio::test]
async fn a_loopback_server_not_marked_internal_is_refused_by_the_host() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = json!([{"name": "sneaky", "url": format!("https://127.0.0.1:{port}/mcp")}]);
    let orpipe = start_orpipe(&mock, &config).await;
    let servers = settled(&orpipe, &["sneaky"]).await;
    let sneaky = &servers["sneaky"];
    assert_eq!(sneaky["state"], "down", "{sneaky}");
    assert!(
        sneaky["error"]
            .as_str()
            .is_some_and(|e| e.contains("the host refused")),
        "{sneaky}"
    );
    assert_eq!(tool_names(sneaky), Vec::<String>::new());
    assert!(
        orpipe
            .wait_for_log("request to an MCP server refused", LOG_WAIT)
            .await
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "no connection was made");
}

#[tokio::test]
async fn a_server_down_at_start_up_is_retried_and_its_tools_appear_when_it_is_back() {
    let Some(python) = require_tool("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let port = free_port();
    let mock = MockOpenRouter::start().await.expect("mock");
    let config = json!([{"name": "late", "url": format!("http://127.0.0.1:{port}/mcp"),
                         "internal": true}]);
    let orpipe = start_orpipe(&mock, &config).await;
    let before = settled(&orpipe, &["late"]).await;
    assert_eq!(before["late"]["state"], "down", "{}", before["late"]);
    assert_eq!(tool_names(&before["late"]), Vec::<String>::new());
    assert!(
        orpipe
            .wait_for_log(
                "mcp server unavailable; its tools are not offered",
                LOG_WAIT
            )
            .await
    );

    let _server = McpServer::start(&python, port, false).await;
    // The first retry comes 15 s after the failure (docs/mcp.md).
    let back = eventually("the server's tools to appear", REFRESH_WAIT, async || {
        let servers = servers(&orpipe).await;
        (servers["late"]["state"] == "up").then_some(servers)
    })
    .await;
    assert_eq!(
        tool_names(&back["late"]),
        ["late__add", "late__echo", "late__fail", "late__sleep"]
    );
}

#[tokio::test]
async fn a_session_the_server_lost_is_opened_again_and_the_call_goes_through() {
    let Some(python) = require_tool("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let port = free_port();
    let server = McpServer::start(&python, port, false).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    let config = json!([{"name": "s", "url": server.url, "internal": true,
                         "protocol_version": "2025-11-25"}]);
    let orpipe = start_orpipe(&mock, &config).await;
    let servers = settled(&orpipe, &["s"]).await;
    assert_eq!(servers["s"]["state"], "up", "{}", servers["s"]);
    let add = json!({"name": "s__add", "arguments": {"a": 1, "b": 2}});
    let (status, body) = call(&orpipe, add.clone()).await;
    assert_eq!((status, body["output"]["text"].clone()), (200, json!("3")));

    // A restarted server knows no sessions: it answers the cached one with 404.
    server.stop().await;
    let server = McpServer::start(&python, port, false).await;
    let (status, body) = call(&orpipe, add.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["output"]["text"], "3");

    // Calls sent together all lose the session: one new session serves them all.
    server.stop().await;
    let _server = McpServer::start(&python, port, false).await;
    let (status, body) = call(&orpipe, json!({"calls": [add, add]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["output"]["text"], "3", "{body}");
    assert_eq!(body["results"][1]["output"]["text"], "3", "{body}");
}

/// The (start, end) a `sleep` output reports, on the MCP server's clock.
fn slept(result: &Value) -> (f64, f64) {
    let text = result["output"]["text"].as_str().expect("an output text");
    let times: Value = serde_json::from_str(text).expect("the sleep tool's JSON");
    (
        times["start"].as_f64().expect("start"),
        times["end"].as_f64().expect("end"),
    )
}

#[tokio::test]
async fn server_tool_calls_sent_together_run_at_the_same_time() {
    let Some(python) = require_tool("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let server = McpServer::start(&python, free_port(), false).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    // The stateless revision, and the handshake revision whose calls share one session.
    let config = json!([
        {"name": "auto", "url": server.url, "internal": true},
        {"name": "legacy", "url": server.url, "internal": true, "protocol_version": "2025-11-25"},
    ]);
    let orpipe = start_orpipe(&mock, &config).await;
    let servers = settled(&orpipe, &["auto", "legacy"]).await;
    for name in ["auto", "legacy"] {
        assert_eq!(servers[name]["state"], "up", "{name}: {}", servers[name]);
        let sleep = json!({"name": format!("{name}__sleep"), "arguments": {"seconds": 1.0}});
        let (status, body) = call(&orpipe, json!({"calls": [sleep, sleep]})).await;
        assert_eq!(status, 200, "{name}: {body}");
        let results = body["results"].as_array().expect("results");
        assert_eq!(results.len(), 2, "{name}: {body}");
        let (first, second) = (slept(&results[0]), slept(&results[1]));
        // Run one after the other, one sleep would start after the other ended.
        assert!(
            first.0 < second.1 && second.0 < first.1,
            "{name}: the two sleeps did not overlap: {first:?} {second:?}"
        );
    }

    // A call over time, an unknown tool and bad arguments fail alone; in order.
    let (status, body) = call(
        &orpipe,
        json!({"timeout_secs": 1, "calls": [
            {"name": "auto__sleep", "arguments": {"seconds": 30}},
            {"name": "legacy__echo", "arguments": {"text": "still here"}},
            {"name": "auto__nothing", "arguments": {}},
            {"name": "auto__add", "arguments": "[1, 2]"},
            {"name": "auto__add", "arguments": {"a": 1, "b": 1}},
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 5, "{body}");
    assert_eq!(results[0]["error"]["type"], "timeout", "{body}");
    assert_eq!(
        results[0]["error"]["message"],
        "the MCP server \"auto\" did not finish the call within 1 s"
    );
    assert_eq!(results[1]["output"]["text"], "still here", "{body}");
    assert_eq!(results[2]["error"]["type"], "unknown_tool", "{body}");
    assert_eq!(results[3]["error"]["type"], "invalid_arguments", "{body}");
    assert_eq!(results[4]["output"]["text"], "2", "{body}");
}
