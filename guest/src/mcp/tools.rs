//! Tools as MCP lists them (`tools/list`) and what a call returns (`tools/call`), turned
//! into what a model reads: one text, and whether the tool reported an error.

use super::error::McpError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The output cap when the caller names none (the admin route): 64 KiB of text.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// One tool a server offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema object for the arguments.
    #[serde(rename = "inputSchema", default = "empty_object_schema")]
    pub input_schema: Value,
}

fn empty_object_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

/// One page of `tools/list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsPage {
    pub tools: Vec<Tool>,
    /// Names of entries that were not valid tools (skipped, for the log).
    pub skipped: Vec<String>,
    pub next_cursor: Option<String>,
}

/// Reads a `tools/list` result. A malformed entry is skipped rather than failing the
/// list, so one bad tool does not take the server's others away.
pub fn read_tools_page(result: &Value) -> Result<ToolsPage, McpError> {
    let entries = result
        .get("tools")
        .and_then(Value::as_array)
        .ok_or_else(|| McpError::Malformed("tools/list has no `tools` array".into()))?;
    let mut tools = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        match serde_json::from_value::<Tool>(entry.clone()) {
            Ok(tool) if tool.input_schema.is_object() && !tool.name.is_empty() => tools.push(tool),
            _ => skipped.push(
                entry
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)")
                    .to_owned(),
            ),
        }
    }
    let next_cursor = result
        .get("nextCursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    Ok(ToolsPage {
        tools,
        skipped,
        next_cursor,
    })
}

/// What the model is given for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolOutput {
    pub text: String,
    /// The tool itself reported failure (`isError`): the model should read it as such.
    pub is_error: bool,
    /// The text was cut to the output cap (a note at its end says so).
    pub truncated: bool,
}

#[derive(Deserialize)]
struct CallResult {
    #[serde(default)]
    content: Vec<Value>,
    #[serde(rename = "structuredContent", default)]
    structured: Option<Value>,
    #[serde(rename = "isError", default)]
    is_error: bool,
    #[serde(rename = "resultType", default)]
    result_type: Option<String>,
}

/// The content blocks a result may hold; unknown kinds become a short note.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Content {
    Text {
        text: String,
    },
    Image {
        #[serde(rename = "mimeType", default)]
        mime_type: String,
    },
    Audio {
        #[serde(rename = "mimeType", default)]
        mime_type: String,
    },
    Resource {
        resource: Value,
    },
    ResourceLink {
        uri: String,
        #[serde(default)]
        name: Option<String>,
    },
    #[serde(other)]
    Unknown,
}

impl Content {
    fn render(self) -> String {
        match self {
            Self::Text { text } => text,
            Self::Image { mime_type } => format!("[image ({mime_type}) not shown]"),
            Self::Audio { mime_type } => format!("[audio ({mime_type}) not shown]"),
            Self::Resource { resource } => match resource.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => format!(
                    "[binary resource {} not shown]",
                    resource.get("uri").and_then(Value::as_str).unwrap_or("")
                ),
            },
            Self::ResourceLink { uri, name } => match name {
                Some(name) => format!("[{name}]({uri})"),
                None => uri,
            },
            Self::Unknown => "[content of an unknown type not shown]".to_owned(),
        }
    }
}

/// Turns a `tools/call` result into the model's text, cut to `max_bytes`.
pub fn read_call_result(result: Value, max_bytes: usize) -> Result<ToolOutput, McpError> {
    let result: CallResult = serde_json::from_value(result)
        .map_err(|e| McpError::Malformed(format!("tools/call result: {e}")))?;
    if result.result_type.as_deref() == Some("input_required") {
        return Err(McpError::InputRequired);
    }
    let parts: Vec<String> = result
        .content
        .into_iter()
        .map(|block| {
            serde_json::from_value::<Content>(block)
                .map_or_else(|_| Content::Unknown.render(), Content::render)
        })
        .collect();
    let text = if parts.is_empty() {
        // Structured output alone (no text blocks): its JSON is the text.
        result.structured.map(|v| v.to_string()).unwrap_or_default()
    } else {
        parts.join("\n")
    };
    let (text, truncated) = cap_text(text, max_bytes);
    Ok(ToolOutput {
        text,
        is_error: result.is_error,
        truncated,
    })
}

/// Cuts `text` to at most `max_bytes` (on a character boundary) and says so at its end
/// (the note comes on top of the `max_bytes`). Also used by the tool loop for the texts
/// it writes itself (tool errors).
pub fn cap_text(mut text: String, max_bytes: usize) -> (String, bool) {
    let total = text.len();
    if total <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!(
        "\n[output truncated by orpipe: {end} of {total} bytes shown]"
    ));
    (text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_page_keeps_good_tools_and_the_cursor() {
        let page = read_tools_page(&json!({
            "tools": [
                {"name": "add", "description": "Adds.", "inputSchema": {"type": "object"}},
                {"name": "bare"},
                {"description": "no name"},
                {"name": "bad-schema", "inputSchema": "object"},
            ],
            "nextCursor": "page-2",
        }))
        .expect("page");
        let names: Vec<&str> = page.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["add", "bare"]);
        assert_eq!(page.tools[1].input_schema, empty_object_schema());
        assert_eq!(page.skipped, ["(unnamed)", "bad-schema"]);
        assert_eq!(page.next_cursor.as_deref(), Some("page-2"));
        assert!(read_tools_page(&json!({"items": []})).is_err());
    }

    #[test]
    fn call_results_become_one_text_with_the_error_flag() {
        let output = read_call_result(
            json!({"content": [
                {"type": "text", "text": "5"},
                {"type": "image", "data": "…", "mimeType": "image/png"},
                {"type": "resource_link", "uri": "https://x.example/a", "name": "a"},
                {"type": "hologram"},
            ], "isError": false}),
            1000,
        )
        .expect("output");
        assert_eq!(
            output.text,
            "5\n[image (image/png) not shown]\n[a](https://x.example/a)\n[content of an unknown type not shown]"
        );
        assert!(!output.is_error && !output.truncated);
        let failed = read_call_result(
            json!({"content": [{"type": "text", "text": "boom"}], "isError": true}),
            1000,
        )
        .expect("output");
        assert!(failed.is_error);
        let structured = read_call_result(
            json!({"content": [], "structuredContent": {"sum": 5}}),
            1000,
        )
        .expect("output");
        assert_eq!(structured.text, r#"{"sum":5}"#);
    }

    #[test]
    fn long_outputs_are_cut_on_a_character_boundary_with_a_note() {
        let output = read_call_result(json!({"content": [{"type": "text", "text": "ééééé"}]}), 5)
            .expect("output");
        assert!(output.truncated);
        assert_eq!(
            output.text,
            "éé\n[output truncated by orpipe: 4 of 10 bytes shown]"
        );
    }

    #[test]
    fn input_required_and_malformed_results_are_errors() {
        assert_eq!(
            read_call_result(
                json!({"resultType": "input_required", "inputRequests": {}}),
                10
            ),
            Err(McpError::InputRequired)
        );
        assert!(matches!(
            read_call_result(json!({"content": "text"}), 10),
            Err(McpError::Malformed(_))
        ));
    }
}
