//! The mock MCP server's tools: each one's behaviour is a fault (or the lack of one) an
//! MCP client must survive. `tools/call` turns into an [`Answer`] that `mod.rs` sends.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// Bytes of text `huge` returns unless its `bytes` argument says otherwise: past the
/// client's answer cap (8 MiB) as well as its output cap.
pub const HUGE_DEFAULT_BYTES: usize = 10 * 1024 * 1024;
/// How long `slow` sleeps unless its `seconds` argument says otherwise.
const SLOW_DEFAULT_SECS: f64 = 5.0;
/// The gap between two keep-alive comments of `endless`.
pub(super) const KEEPALIVE_EVERY: Duration = Duration::from_millis(100);
/// What `error_result` reports.
pub const ERROR_RESULT_TEXT: &str = "the tool failed on purpose";

/// How the server answers one request.
pub(super) enum Answer {
    /// A JSON-RPC result, sent as `application/json`.
    Result(Value),
    /// A JSON-RPC error, sent as `application/json` with HTTP 200.
    Error { code: i64, message: String },
    /// Exactly these bytes, whatever they are.
    Raw {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// `text/event-stream` that only ever sends keep-alive comments.
    Endless,
    /// The answer, after a pause before the status line.
    Delayed(Duration, Box<Answer>),
}

/// `tools/list`'s result: every tool, each with its argument schema.
pub(super) fn list() -> Value {
    let tool = |name: &str, description: &str, properties: Value| {
        json!({
            "name": name,
            "description": description,
            "inputSchema": {"type": "object", "properties": properties},
        })
    };
    json!({"tools": [
        tool("ok", "Echoes `text` (default \"ok\").", json!({"text": {"type": "string"}})),
        tool("slow", "Sleeps `seconds` (default 5), then answers.", json!({"seconds": {"type": "number"}})),
        tool("error_result", "A result flagged isError.", json!({})),
        tool("html", "Answers an HTML page with HTTP 200.", json!({})),
        tool("bad_jsonrpc", "Answers JSON that is not JSON-RPC.", json!({})),
        tool("rpc_error", "Answers JSON-RPC error -32603.", json!({})),
        tool("endless", "An event stream of keep-alives that never answers.", json!({})),
        tool("huge", "A text result of `bytes` bytes (default 10 MiB).", json!({"bytes": {"type": "integer"}})),
    ]})
}

/// What `tools/call` of `name` with `arguments` answers.
pub(super) fn call(name: &str, arguments: &Map<String, Value>) -> Answer {
    match name {
        "ok" => text_result(
            arguments
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("ok"),
            false,
        ),
        "slow" => {
            let seconds = arguments
                .get("seconds")
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(SLOW_DEFAULT_SECS);
            let pause = Duration::from_secs_f64(seconds.min(3600.0));
            Answer::Delayed(
                pause,
                Box::new(text_result(&format!("slept {seconds} s"), false)),
            )
        }
        "error_result" => text_result(ERROR_RESULT_TEXT, true),
        "html" => Answer::Raw {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: "<!doctype html><html><body><h1>Please log in</h1></body></html>".into(),
        },
        "bad_jsonrpc" => Answer::Raw {
            status: 200,
            content_type: "application/json",
            body: r#"{"status":"ok","data":{"answer":42}}"#.into(),
        },
        "rpc_error" => Answer::Error {
            code: -32603,
            message: "Internal error: the tool crashed on purpose".into(),
        },
        "endless" => Answer::Endless,
        "huge" => {
            let bytes = arguments
                .get("bytes")
                .and_then(Value::as_u64)
                .and_then(|b| usize::try_from(b).ok())
                .unwrap_or(HUGE_DEFAULT_BYTES);
            text_result(&huge_text(bytes), false)
        }
        other => Answer::Error {
            code: -32602,
            message: format!("Unknown tool: {other}"),
        },
    }
}

fn text_result(text: &str, is_error: bool) -> Answer {
    Answer::Result(json!({
        "content": [{"type": "text", "text": text}],
        "isError": is_error,
    }))
}

/// `bytes` bytes of readable text: numbered lines, so a cut shows where it happened.
pub fn huge_text(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 32);
    let mut line = 0u64;
    while text.len() < bytes {
        text.push_str(&format!("line {line:08} of a huge tool result\n"));
        line += 1;
    }
    text.truncate(bytes);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_text_has_exactly_the_size_asked() {
        for bytes in [0, 1, 33, 1000] {
            assert_eq!(huge_text(bytes).len(), bytes);
        }
        assert!(huge_text(100).starts_with("line 00000000 of a huge"));
    }

    #[test]
    fn each_tool_is_listed_and_unknown_ones_are_refused() {
        let listed = list();
        let names: Vec<&str> = listed["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(names, super::super::MockMcpServer::TOOLS);
        assert!(matches!(
            call("nope", &Map::new()),
            Answer::Error { code: -32602, .. }
        ));
        let Answer::Result(result) = call("ok", &Map::new()) else {
            panic!("ok answers a result");
        };
        assert_eq!(result["content"][0]["text"], "ok");
    }
}
