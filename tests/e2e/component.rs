//! The guest stands alone: composed with the SQL stub (`wac plug`), it runs under the stock
//! wasmtime CLI (`serve` and `run --invoke`), with no orpipe host involved. These tests
//! need `wasmtime` 48.0.8 and `wac`, found through `ORPIPE_WASMTIME` and `ORPIPE_WAC`
//! (scripts/test.sh installs both); without them they say so and pass (and fail under
//! `ORPIPE_REQUIRE_ALL=1`).

use orpipe_testkit::{MockOpenRouter, Reply, client, eventually, require_tool, skip};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const GUEST: &str = env!("ORPIPE_GUEST_WASM_PATH");
const SQL_STUB: &str = env!("ORPIPE_SQL_STUB_WASM");

/// The guest with its `sql` import satisfied by the stub, built once per test run.
fn composed() -> Option<&'static Path> {
    let wac = require_tool("ORPIPE_WAC")?;
    if SQL_STUB.is_empty() {
        skip("the guest was prebuilt (ORPIPE_GUEST_WASM), so there is no SQL stub to compose");
        return None;
    }
    static COMPOSED: OnceLock<PathBuf> = OnceLock::new();
    let composed = COMPOSED.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("orpipe-composed-{}.wasm", std::process::id()));
        let status = Command::new(wac)
            .args(["plug", GUEST, "--plug", SQL_STUB, "-o"])
            .arg(&out)
            .status()
            .expect("running wac");
        assert!(status.success(), "wac plug failed");
        out
    });
    Some(composed)
}

#[test]
fn the_guest_imports_standard_wasi_plus_sql_and_exports_the_gateway() {
    let engine = wasmtime::Engine::default();
    let component =
        wasmtime::component::Component::from_file(&engine, GUEST).expect("the guest compiles");
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let exports: Vec<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    for expected in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:http/types@0.2.12",
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:keyvalue/batch@0.2.0-draft",
        "wasi:config/store@0.2.0-rc.1",
        "orpipe:gateway/sql@0.1.0",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:random/random@0.2.12",
        "wasi:cli/stderr@0.2.12",
    ] {
        assert!(
            imports.iter().any(|i| i == expected),
            "missing import {expected}; imports: {imports:?}"
        );
    }
    let custom: Vec<&String> = imports.iter().filter(|i| !i.starts_with("wasi:")).collect();
    assert_eq!(
        custom,
        ["orpipe:gateway/sql@0.1.0"],
        "sql is the only non-WASI import"
    );
    for expected in [
        "wasi:http/incoming-handler@0.2.12",
        "orpipe:gateway/jobs@0.1.0",
        "orpipe:gateway/inspect@0.1.0",
    ] {
        assert!(
            exports.iter().any(|e| e == expected),
            "missing export {expected}; exports: {exports:?}"
        );
    }
}

/// Encodes a string as a WAVE string literal for `--invoke`.
fn wave_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Decodes the WAVE `ok("...")` that `wasmtime run --invoke` prints.
fn wave_ok_string(printed: &str) -> Option<String> {
    let inner = printed.trim().strip_prefix("ok(\"")?.strip_suffix("\")")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn wasmtime_run_invokes_the_pure_translator() {
    let (Some(wasmtime), Some(composed)) = (require_tool("ORPIPE_WASMTIME"), composed()) else {
        return;
    };
    let chat = json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi \"there\""}], "max_tokens": 5});
    let output = Command::new(wasmtime)
        .args([
            "run", "-C", "cache=n", "-S", "cli", "-S", "http", "-S", "keyvalue", "-S", "config",
            "--invoke",
        ])
        .arg(format!(
            "translate-request({})",
            wave_string(&chat.to_string())
        ))
        .arg(composed)
        .output()
        .expect("running wasmtime");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "wasmtime run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: Value = serde_json::from_str(
        &wave_ok_string(&stdout).unwrap_or_else(|| panic!("not ok(\"…\"): {stdout}")),
    )
    .expect("the result is JSON");
    assert_eq!(body["model"], "openai/gpt-4o-mini");
    assert_eq!(body["max_output_tokens"], 5);
    assert_eq!(body["input"][0]["content"][0]["text"], "Hi \"there\"");

    let invalid = Command::new(require_tool("ORPIPE_WASMTIME").expect("checked above"))
        .args([
            "run", "-C", "cache=n", "-S", "cli", "-S", "http", "-S", "keyvalue", "-S", "config",
            "--invoke",
        ])
        .arg(format!(
            "translate-request({})",
            wave_string("{\"messages\": 3}")
        ))
        .arg(composed)
        .output()
        .expect("running wasmtime");
    assert!(
        String::from_utf8_lossy(&invalid.stdout)
            .trim()
            .starts_with("err("),
        "{}",
        String::from_utf8_lossy(&invalid.stdout)
    );
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn wasmtime_serve_streams_a_completion_from_the_mock() {
    let (Some(wasmtime), Some(composed)) = (require_tool("ORPIPE_WASMTIME"), composed()) else {
        return;
    };
    let mock = MockOpenRouter::start().await.expect("mock");
    mock.enqueue(Reply::stream("stream_reasoning.sse"));
    let port = free_port();
    let _serve = Serve(
        Command::new(wasmtime)
            .args([
                "serve",
                "-C",
                "cache=n",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "-S",
                "cli",
                "-S",
                "keyvalue",
                "-S",
                "config",
            ])
            .arg(format!(
                "-Sconfig-var=openrouter_base_url={}",
                mock.base_url()
            ))
            .arg(format!(
                "-Sconfig-var=openrouter_api_key={}",
                orpipe_testkit::Orpipe::UPSTREAM_KEY
            ))
            .arg(composed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting wasmtime serve"),
    );
    let base = format!("http://127.0.0.1:{port}");
    eventually(
        "wasmtime serve to listen",
        Duration::from_secs(60),
        async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;

    let models = client::get(&format!("{base}/v1/models"), None)
        .await
        .expect("models");
    assert_eq!(models.status, 200, "{}", models.text());
    assert_eq!(
        models.json().expect("json")["data"][0]["id"],
        "openai.gpt-4o-mini"
    );

    let body = json!({"model": "anthropic/claude-sonnet-4.5", "stream": true, "messages": [{"role": "user", "content": "Was 1995 thirty years ago?"}]});
    let result = client::stream_sse(&format!("{base}/v1/chat/completions"), &body, None)
        .await
        .expect("stream");
    assert_eq!(
        result.status,
        200,
        "{}",
        String::from_utf8_lossy(&result.raw)
    );
    let chunks: Vec<Value> = result
        .data()
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("JSON chunk"))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    // The marker line for the reasoning is in the content (the stub's SQL stores nothing,
    // so that turn's replay would be skipped and logged).
    assert_eq!(
        crate::rendered(&text),
        "Yes. As of 2025, 1995 was exactly 30 years ago."
    );
    assert!(!reasoning.is_empty());
    assert_eq!(chunks.last().expect("chunks")["usage"]["total_tokens"], 124);
    assert!(
        result.saw_done(),
        "the answer is complete although the stub has no SQL"
    );
}
