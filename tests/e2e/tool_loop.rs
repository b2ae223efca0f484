//! The tool loop end to end (issue 10): the model calls server tools that a real MCP
//! server (tests/mcp/server.py, the official Python SDK) serves; orpipe runs them, feeds
//! their outputs back and the answer continues on the same stream. The mock plays a model
//! that calls the tools it is offered (`[mock:call …]` cues, `MockOpenRouter::answer_tool_calls`).
//! Needs `ORPIPE_MCP_PYTHON` (and `ORPIPE_PYTHON` for the SDK); without them the tests say
//! so and pass (and fail under `ORPIPE_REQUIRE_ALL=1`).

use crate::mcp::{McpServer, free_port, settled};
use crate::{CLIENT_KEY, rendered, start};
use orpipe_testkit::{MockOpenRouter, Orpipe, StreamResult, client, eventually, require_tool};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MODEL: &str = "openai/gpt-4o-mini";
/// Two parallel calls of the `calc` server's tools.
const TWO_CALLS: &str =
    r#"Add and echo. [mock:call add {"a": 2, "b": 3}] [mock:call echo {"text": "hi"}]"#;

/// The MCP server, the mock playing a tool-calling model, and orpipe offering the tools.
struct Setup {
    _server: McpServer,
    mock: MockOpenRouter,
    orpipe: Orpipe,
}

async fn setup(python: &Path, env: &[(&str, &str)], dir: Option<&Path>) -> Setup {
    let server = McpServer::start(python, free_port(), false).await;
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.answer_tool_calls();
    let orpipe = spawn(&mock, &server.url, env, dir).await;
    Setup {
        _server: server,
        mock,
        orpipe,
    }
}

async fn spawn(
    mock: &MockOpenRouter,
    url: &str,
    env: &[(&str, &str)],
    dir: Option<&Path>,
) -> Orpipe {
    let servers = json!([{"name": "calc", "url": url, "internal": true}]).to_string();
    let mut all = vec![
        ("ORPIPE_API_KEYS", CLIENT_KEY),
        ("ORPIPE_ADMIN_KEYS", crate::mcp::ADMIN_KEY),
        ("ORPIPE_MCP_SERVERS", servers.as_str()),
    ];
    all.extend_from_slice(env);
    let orpipe = match dir {
        Some(dir) => Orpipe::spawn_in(
            Path::new(env!("CARGO_BIN_EXE_orpipe")),
            &mock.base_url(),
            &all,
            Some(dir),
        )
        .await
        .expect("orpipe starts"),
        None => start(mock, &all[1..]).await,
    };
    let servers = settled(&orpipe, &["calc"]).await;
    assert_eq!(servers["calc"]["state"], "up", "{servers}");
    // Fitting needs the model's catalog entry (it keeps `tools` for tool-calling models).
    crate::listed_models(&orpipe).await;
    orpipe
}

async fn stream(orpipe: &Orpipe, body: &Value) -> StreamResult {
    let result = client::stream_sse(&orpipe.url("/v1/chat/completions"), body, Some(CLIENT_KEY))
        .await
        .expect("request");
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    assert!(
        result.saw_done(),
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    result
}

fn chunks(result: &StreamResult) -> Vec<Value> {
    result.json_events().expect("every data frame is JSON")
}

fn content(chunks: &[Value]) -> String {
    crate::joined(chunks, "content")
}

fn finish_reasons(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .map(str::to_owned)
        .collect()
}

fn usage(chunks: &[Value]) -> Value {
    chunks
        .iter()
        .filter_map(|c| c.get("usage").filter(|u| !u.is_null()))
        .next_back()
        .cloned()
        .unwrap_or(Value::Null)
}

/// The Responses requests the mock received, as JSON.
fn sent(mock: &MockOpenRouter) -> Vec<Value> {
    mock.responses_requests()
        .iter()
        .map(|r| r.json().expect("JSON body"))
        .collect()
}

/// The input items of `kind` (`function_call`, `function_call_output`) in a request.
fn items<'a>(request: &'a Value, kind: &str) -> Vec<&'a Value> {
    request["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == kind)
        .collect()
}

fn python(var: &str) -> Option<PathBuf> {
    require_tool(var)
}

#[tokio::test]
async fn the_sdk_sees_one_answer_after_two_parallel_calls_streamed_and_whole() {
    let (Some(mcp_python), Some(sdk_python)) =
        (python("ORPIPE_MCP_PYTHON"), python("ORPIPE_PYTHON"))
    else {
        return;
    };
    let setup = setup(&mcp_python, &[], None).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/sdk/tool_loop_client.py"
    );
    let output = tokio::process::Command::new(sdk_python)
        .arg(script)
        .arg(setup.orpipe.url("/v1"))
        .arg(CLIENT_KEY)
        .arg(MODEL)
        .arg(TWO_CALLS)
        .output()
        .await
        .expect("running python");
    assert!(
        output.status.success(),
        "the SDK failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    for (kind, answer) in [
        ("stream", &parsed["stream"]),
        ("whole", &parsed["completion"]),
    ] {
        assert_eq!(
            rendered(answer["content"].as_str().unwrap_or_default()),
            "Tool results: 5 | hi",
            "{kind}: {answer}"
        );
        assert_eq!(answer["finish_reason"], "stop", "{kind}: {answer}");
        assert_eq!(
            answer["tool_calls"],
            json!([]),
            "{kind}: the server calls stay hidden"
        );
        // Both rounds' usage (15 tokens and 0.001 each) in the one usage the client gets.
        assert_eq!(answer["usage"]["total_tokens"], 30, "{kind}: {answer}");
        assert_eq!(answer["usage"]["prompt_tokens"], 20, "{kind}: {answer}");
    }

    // Per answer: the first request offered the tools, the second carried both calls and
    // both outputs, in call order.
    let requests = sent(&setup.mock);
    assert_eq!(requests.len(), 4, "two rounds per answer");
    for round in [&requests[0], &requests[2]] {
        let offered: Vec<&str> = round["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert!(offered.iter().any(|n| n.contains("add")), "{offered:?}");
        assert!(items(round, "function_call").is_empty());
    }
    for round in [&requests[1], &requests[3]] {
        let calls = items(round, "function_call");
        let outputs = items(round, "function_call_output");
        assert_eq!(calls.len(), 2, "{round}");
        let texts: Vec<&str> = outputs
            .iter()
            .filter_map(|o| o["output"].as_str())
            .collect();
        assert_eq!(texts, ["5", "hi"], "{round}");
        assert_eq!(outputs[0]["call_id"], calls[0]["call_id"]);
    }
}

#[tokio::test]
async fn open_webui_sees_the_tools_run_and_the_outputs_are_replayed_after_a_restart() {
    let Some(mcp_python) = python("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let dir = tempfile::tempdir().expect("data dir");
    let setup = setup(&mcp_python, &[], Some(dir.path())).await;
    let first = json!({"model": MODEL, "stream": true,
        "messages": [{"role": "user", "content": TWO_CALLS}],
        "orpipe_context": {"chat_id": "tools-chat-1"}});
    let chunks = chunks(&stream(&setup.orpipe, &first).await);
    let answer = content(&chunks);
    assert_eq!(rendered(&answer), "Tool results: 5 | hi");
    let statuses: Vec<(String, bool)> = chunks
        .iter()
        .filter_map(|c| c.get("event"))
        .filter(|e| e["type"] == "status")
        .map(|e| {
            (
                e["data"]["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["data"]["done"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    let running = statuses
        .iter()
        .position(|(text, done)| text == "Running add, echo…" && !done);
    let ran_add = statuses
        .iter()
        .position(|(text, done)| text.starts_with("Ran add (calc) in ") && *done);
    let ran_echo = statuses
        .iter()
        .position(|(text, _)| text.starts_with("Ran echo (calc) in "));
    assert!(
        running.is_some() && running < ran_add && ran_add < ran_echo,
        "{statuses:?}"
    );
    drop(setup.orpipe);

    // A new process on the same data: the next turn carries the stored calls and outputs
    // before the assistant's text.
    let orpipe = spawn(&setup.mock, &setup._server.url, &[], Some(dir.path())).await;
    setup.mock.clear_requests();
    let second = json!({"model": MODEL, "stream": true,
        "messages": [{"role": "user", "content": TWO_CALLS},
                     {"role": "assistant", "content": answer},
                     {"role": "user", "content": "Thanks."}],
        "orpipe_context": {"chat_id": "tools-chat-1"}});
    stream(&orpipe, &second).await;
    let requests = sent(&setup.mock);
    let request = requests.last().expect("a request");
    let outputs: Vec<&str> = items(request, "function_call_output")
        .iter()
        .filter_map(|o| o["output"].as_str())
        .collect();
    assert_eq!(outputs, ["5", "hi"], "{request}");
    assert_eq!(items(request, "function_call").len(), 2);
    let input = request["input"].as_array().expect("input");
    let last_output = input
        .iter()
        .rposition(|i| i["type"] == "function_call_output")
        .expect("an output");
    let reply = input
        .iter()
        .position(|i| i["type"] == "message" && i["role"] == "assistant")
        .expect("the assistant's text");
    assert!(
        last_output < reply,
        "the tools ran before the reply: {input:?}"
    );
}

#[tokio::test]
async fn a_client_call_beside_a_server_call_goes_to_the_client_after_the_server_call_ran() {
    let Some(mcp_python) = python("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let setup = setup(&mcp_python, &[], None).await;
    let weather = json!({"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}});
    let prompt = r#"[mock:call add {"a": 1, "b": 1}] [mock:call get_weather {"city": "Oslo"}]"#;
    let first = json!({"model": MODEL, "stream": true, "tools": [weather],
        "messages": [{"role": "user", "content": prompt}]});
    let chunks = chunks(&stream(&setup.orpipe, &first).await);
    assert_eq!(finish_reasons(&chunks), ["tool_calls"]);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .filter(|c| c["function"]["name"].is_string())
        .collect();
    assert_eq!(calls.len(), 1, "only the client's call: {calls:?}");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let call_id = calls[0]["id"].as_str().expect("call id").to_owned();
    assert_eq!(
        sent(&setup.mock).len(),
        1,
        "no second round: the client runs its tool"
    );
    assert_eq!(usage(&chunks)["total_tokens"], 15);

    // The client's next turn: its tool's result; the server call's output comes back too.
    let answer = content(&chunks);
    let second = json!({"model": MODEL, "stream": true, "tools": [weather],
        "messages": [{"role": "user", "content": prompt},
                     {"role": "assistant", "content": answer, "tool_calls": [
                        {"id": call_id, "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
                     {"role": "tool", "tool_call_id": call_id, "content": "sunny"}]});
    let chunks = self::chunks(&stream(&setup.orpipe, &second).await);
    assert_eq!(rendered(&content(&chunks)), "Tool results: 2 | sunny");
}

#[tokio::test]
async fn a_model_that_keeps_calling_tools_is_stopped_at_the_round_limit() {
    let Some(mcp_python) = python("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let setup = setup(&mcp_python, &[("ORPIPE_TOOL_LOOP_MAX_ROUNDS", "2")], None).await;
    let body = json!({"model": MODEL, "stream": false, "messages": [{"role": "user",
        "content": r#"[mock:loop] [mock:call echo {"text": "again"}]"#}]});
    let response = client::post_json(
        &setup.orpipe.url("/v1/chat/completions"),
        &body,
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 200, "{}", response.text());
    let completion = response.json().expect("json");
    let text = completion["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("stopped running tools after 2 rounds"),
        "{text}"
    );
    assert!(
        rendered(&text).ends_with("Stopped calling tools."),
        "{text}"
    );
    let requests = sent(&setup.mock);
    // Two rounds ran, the third response's call was answered "not run", then one request
    // without tools.
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[3]["tool_choice"], "none");
    let skipped = items(&requests[3], "function_call_output");
    assert!(
        skipped
            .last()
            .and_then(|o| o["output"].as_str())
            .is_some_and(|o| o.starts_with("TOOL_CALL_SKIPPED")),
        "{skipped:?}"
    );
    assert_eq!(completion["usage"]["total_tokens"], 60, "four rounds of 15");
}

#[tokio::test]
async fn a_failing_tool_is_switched_off_for_that_user_and_comes_back_by_itself() {
    let Some(mcp_python) = python("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let env = [
        ("ORPIPE_TOOL_BREAKER_FAILURES", "2"),
        ("ORPIPE_TOOL_BREAKER_COOLDOWN_SECS", "3"),
    ];
    let setup = setup(&mcp_python, &env, None).await;
    let ask = async |user: &str| {
        setup.mock.clear_requests();
        let body = json!({"model": MODEL, "stream": true, "user": user, "messages": [
            {"role": "user", "content": r#"[mock:call fail {"reason": "boom"}]"#}]});
        let chunks = chunks(&stream(&setup.orpipe, &body).await);
        assert_eq!(finish_reasons(&chunks), ["stop"], "the chat goes on");
        let requests = sent(&setup.mock);
        let output = requests
            .last()
            .and_then(|r| items(r, "function_call_output").first().copied().cloned())
            .expect("the tool's output went back to the model");
        output["output"].as_str().unwrap_or_default().to_owned()
    };
    for _ in 0..2 {
        let output = ask("alice").await;
        assert!(output.contains("boom"), "the tool ran and failed: {output}");
    }
    let output = ask("alice").await;
    assert!(
        output.contains("unavailable for now"),
        "switched off: {output}"
    );
    let output = ask("bob").await;
    assert!(
        output.contains("boom"),
        "another user still has it: {output}"
    );
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let output = ask("alice").await;
    assert!(
        output.contains("boom"),
        "back after the cool-down: {output}"
    );

    // The operator sees it in the metrics: 4 calls failed, 1 was not made, and the
    // breaker opened (again, at once, if the call after the cool-down failed in time).
    let value = |text: &str, series: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or_default()
    };
    eventually("the tool metrics", Duration::from_secs(10), async || {
        let text = client::get(&setup.orpipe.url("/metrics"), Some(crate::mcp::ADMIN_KEY))
            .await
            .ok()?
            .text();
        let failed = value(&text, "orpipe_tool_calls_total{outcome=\"failed\"}");
        let skipped = value(&text, "orpipe_tool_calls_total{outcome=\"switched_off\"}");
        let trips = value(&text, "orpipe_tool_breaker_trips_total");
        (failed == 4.0 && skipped == 1.0 && trips >= 1.0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_made_up_tool_and_arguments_the_schema_refuses_are_errors_the_model_reads() {
    let Some(mcp_python) = python("ORPIPE_MCP_PYTHON") else {
        return;
    };
    let setup = setup(&mcp_python, &[], None).await;
    let body = json!({"model": MODEL, "stream": true, "messages": [{"role": "user",
        "content": r#"[mock:call nosuch {"x": 1}] [mock:call add {"a": "two", "b": 3}]"#}]});
    let chunks = chunks(&stream(&setup.orpipe, &body).await);
    assert_eq!(finish_reasons(&chunks), ["stop"], "the chat goes on");
    let tool_calls = chunks
        .iter()
        .filter(|c| !c["choices"][0]["delta"]["tool_calls"].is_null())
        .count();
    assert_eq!(tool_calls, 0, "a made-up tool is not handed to the client");
    let requests = sent(&setup.mock);
    assert_eq!(requests.len(), 2);
    let outputs: Vec<String> = items(&requests[1], "function_call_output")
        .iter()
        .filter_map(|o| o["output"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(
        outputs[0].contains("failed") && outputs[0].contains("no tool named \"nosuch\""),
        "{}",
        outputs[0]
    );
    // The MCP server checks its schema; its refusal is what the model reads.
    assert!(
        outputs[1].contains("reported an error") && outputs[1].contains("valid integer"),
        "{}",
        outputs[1]
    );
    assert!(!outputs[1].contains('5'), "add did not run: {}", outputs[1]);
    let text = rendered(&content(&chunks));
    assert!(text.starts_with("Tool results: "), "{text}");
}

#[tokio::test]
async fn openrouter_server_tools_are_added_for_the_models_the_operator_chose() {
    let mock = MockOpenRouter::start().await.expect("mock");
    let rules = json!([{"models": "openai/*", "tools": [
        {"type": "openrouter:datetime", "parameters": {"timezone": "Europe/Berlin"}},
        {"type": "openrouter:web_fetch"}]}])
    .to_string();
    let orpipe = start(&mock, &[("ORPIPE_SERVER_TOOLS", rules.as_str())]).await;
    let types = async |model: &str| {
        mock.clear_requests();
        let body = json!({"model": model, "stream": true,
            "messages": [{"role": "user", "content": "What time is it?"}]});
        stream(&orpipe, &body).await;
        let request = sent(&mock).pop().expect("a request");
        let tools = request["tools"].as_array().cloned().unwrap_or_default();
        tools
            .iter()
            .map(|t| {
                (
                    t["type"].as_str().unwrap_or_default().to_owned(),
                    t["parameters"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let matching = types(MODEL).await;
    assert_eq!(
        matching,
        [
            (
                "openrouter:datetime".to_owned(),
                json!({"timezone": "Europe/Berlin"})
            ),
            ("openrouter:web_fetch".to_owned(), Value::Null),
        ]
    );
    assert_eq!(types("anthropic/claude-sonnet-4.5").await, []);

    // A rule that does not parse is refused with a message naming the setting.
    let bad = json!([{"models": "openai/*", "tools": [{"type": "web_fetch"}]}]).to_string();
    let orpipe = start(&mock, &[("ORPIPE_SERVER_TOOLS", bad.as_str())]).await;
    let response = client::post_json(
        &orpipe.url("/v1/chat/completions"),
        &json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}),
        Some(CLIENT_KEY),
    )
    .await
    .expect("request");
    assert_eq!(response.status, 500, "{}", response.text());
    assert!(
        response.text().contains("server_tools"),
        "{}",
        response.text()
    );
}
