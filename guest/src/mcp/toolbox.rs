//! The server tools offered in one request: every cached tool the operator exposes, under
//! its function name (`names`), as Responses API function tools, with the way back from a
//! name the model called to the server and tool that serve it.

use super::names::{NameMap, ToolRef};
use super::servers::McpServer;
use super::tools::Tool;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The tools one server offers, as last fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTools<'a> {
    pub server: &'a McpServer,
    pub tools: &'a [Tool],
}

/// One offered tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    pub function_name: String,
    pub server: String,
    pub tool: Tool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Toolbox {
    offered: Vec<Offered>,
    names: NameMap,
}

impl Toolbox {
    /// The exposed tools of `lists`, named so none collides with `client_tools`.
    pub fn build(lists: &[ServerTools<'_>], client_tools: &BTreeSet<String>) -> Self {
        let exposed: Vec<(&McpServer, &Tool)> = lists
            .iter()
            .flat_map(|list| list.tools.iter().map(move |tool| (list.server, tool)))
            .filter(|(server, tool)| server.exposes(&tool.name))
            .collect();
        let (names, function_names) = NameMap::assign(
            client_tools,
            exposed
                .iter()
                .map(|(server, tool)| (server.name.as_str(), tool.name.as_str())),
        );
        let offered = exposed
            .into_iter()
            .zip(function_names)
            .map(|((server, tool), function_name)| Offered {
                function_name,
                server: server.name.clone(),
                tool: tool.clone(),
            })
            .collect();
        Self { offered, names }
    }

    pub fn is_empty(&self) -> bool {
        self.offered.is_empty()
    }

    pub fn offered(&self) -> &[Offered] {
        &self.offered
    }

    /// The tools as Responses API function tools (`tools[]` of `/responses`).
    pub fn definitions(&self) -> Vec<Value> {
        self.offered
            .iter()
            .map(|offered| {
                json!({
                    "type": "function",
                    "name": offered.function_name,
                    "description": offered.tool.description.clone().unwrap_or_default(),
                    "parameters": offered.tool.input_schema,
                    // MCP schemas are not written for strict mode (optional fields,
                    // open objects); strict would make OpenAI reject many of them.
                    "strict": false,
                })
            })
            .collect()
    }

    /// The server tool a function name stands for, if it is one of ours.
    pub fn resolve(&self, function_name: &str) -> Option<&ToolRef> {
        self.names.resolve(function_name)
    }
}

/// The model's arguments (a JSON text) as the object `tools/call` takes. An empty text
/// is no arguments; anything but an object is refused with a reason the model can read.
pub fn parse_arguments(arguments: &str) -> Result<Map<String, Value>, String> {
    if arguments.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("the arguments must be a JSON object".into()),
        Err(e) => Err(format!("the arguments are not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::servers;

    fn tool(name: &str) -> Tool {
        Tool {
            name: name.into(),
            description: Some(format!("{name} things")),
            input_schema: json!({"type": "object", "properties": {"x": {"type": "number"}}}),
        }
    }

    #[test]
    fn only_exposed_tools_are_offered_under_safe_names_that_map_back() {
        let servers = servers::parse(Some(
            r#"[{"name":"calc","url":"https://c.example/mcp","tools":["add"]},
                {"name":"kb","url":"https://k.example/mcp"}]"#,
        ))
        .expect("servers");
        let calc_tools = [tool("add"), tool("sub")];
        let kb_tools = [tool("search")];
        let lists = [
            ServerTools {
                server: &servers[0],
                tools: &calc_tools,
            },
            ServerTools {
                server: &servers[1],
                tools: &kb_tools,
            },
        ];
        let client: BTreeSet<String> = ["kb__search".to_owned()].into();
        let toolbox = Toolbox::build(&lists, &client);
        let definitions = toolbox.definitions();
        assert_eq!(definitions.len(), 2, "sub is not exposed");
        assert_eq!(definitions[0]["name"], "calc__add");
        assert_eq!(definitions[0]["type"], "function");
        assert_eq!(
            definitions[0]["parameters"]["properties"]["x"]["type"],
            "number"
        );
        let kb_name = definitions[1]["name"].as_str().expect("name");
        assert_ne!(kb_name, "kb__search", "the client's tool keeps its name");
        let back = toolbox.resolve(kb_name).expect("maps back");
        assert_eq!((back.server.as_str(), back.tool.as_str()), ("kb", "search"));
        assert_eq!(toolbox.resolve("kb__search"), None);
    }

    #[test]
    fn arguments_must_be_a_json_object() {
        assert_eq!(parse_arguments(""), Ok(Map::new()));
        assert_eq!(parse_arguments(r#"{"a":1}"#).map(|m| m.len()), Ok(1));
        assert!(parse_arguments("[1]").is_err());
        assert!(parse_arguments("{oops").is_err());
    }
}
