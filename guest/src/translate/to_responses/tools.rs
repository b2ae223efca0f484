//! `tools`, `tool_choice` and `web_search_options` → their Responses forms (API.md §2.4,
//! FEATURES §4.5).
//!
//! * A chat function tool `{"type":"function","function":{name, description, parameters, strict}}`
//!   becomes the flat `{"type":"function", name, description, parameters, strict}`; with
//!   `strict: true` its parameters get the strict-schema conversion (`schema`). Missing
//!   parameters become the empty object schema. The flat Responses form is accepted as is.
//! * OpenRouter server tools (`openrouter:*`) and the OpenAI-compatible web search tools
//!   pass through unchanged; any other tool type is refused.
//! * `tool_choice`: strings as they are; `{"type":"function","function":{"name":N}}` →
//!   `{"type":"function","name":N}`; chat's `allowed_tools` is flattened the same way.
//! * `web_search_options` (chat's request for native search) becomes an
//!   `openrouter:web_search` server tool, so the request still searches.

use super::invalid;
use super::schema::strictify;
use crate::errors::GatewayError;
use serde_json::{Map, Value, json};

/// Non-function tool types that pass through (API.md §2.4).
const PASS_THROUGH_TOOL_TYPES: &[&str] = &[
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "web_search_2025_08_26",
];

/// Whether a Responses tool of this type searches the web: OpenRouter's server tool or
/// one of the OpenAI-compatible shapes it accepts.
pub fn is_web_search_tool_type(kind: &str) -> bool {
    kind == "openrouter:web_search" || PASS_THROUGH_TOOL_TYPES.contains(&kind)
}

pub fn translate_tools(tools: &Value) -> Result<Vec<Value>, GatewayError> {
    let Value::Array(tools) = tools else {
        return Err(invalid("`tools` must be an array"));
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| translate_tool(&format!("tools[{i}]"), tool))
        .collect()
}

fn translate_tool(at: &str, tool: &Value) -> Result<Value, GatewayError> {
    let Value::Object(tool) = tool else {
        return Err(invalid(format!("{at} must be an object")));
    };
    match tool.get("type").and_then(Value::as_str) {
        Some("function") => function_tool(at, tool),
        Some(kind)
            if kind.starts_with("openrouter:") || PASS_THROUGH_TOOL_TYPES.contains(&kind) =>
        {
            Ok(Value::Object(tool.clone()))
        }
        Some(kind) => Err(invalid(format!(
            "{at}: tool type {kind:?} is not supported (function, openrouter:* and web_search tools are)"
        ))),
        None => Err(invalid(format!("{at} needs a string `type`"))),
    }
}

fn function_tool(at: &str, tool: &Map<String, Value>) -> Result<Value, GatewayError> {
    // Chat nests the definition under `function`; the Responses form is already flat.
    let function = match tool.get("function") {
        Some(Value::Object(function)) => function,
        Some(_) => return Err(invalid(format!("{at}.function must be an object"))),
        None => tool,
    };
    let name = match function.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim(),
        _ => return Err(invalid(format!("{at} needs a function `name`"))),
    };
    let strict = match function.get("strict") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(strict)) => Some(*strict),
        Some(_) => return Err(invalid(format!("{at}: `strict` must be true or false"))),
    };
    let parameters = match function.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(parameters @ Value::Object(_)) => parameters.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "{at}: `parameters` must be a JSON Schema object"
            )));
        }
    };
    let mut out = Map::new();
    out.insert("type".into(), json!("function"));
    out.insert("name".into(), json!(name));
    match function.get("description") {
        None | Some(Value::Null) => {}
        Some(description @ Value::String(_)) => {
            out.insert("description".into(), description.clone());
        }
        Some(_) => return Err(invalid(format!("{at}: `description` must be a string"))),
    }
    let parameters = if strict == Some(true) {
        strictify(&parameters)
    } else {
        parameters
    };
    out.insert("parameters".into(), parameters);
    if let Some(strict) = strict {
        out.insert("strict".into(), json!(strict));
    }
    Ok(Value::Object(out))
}

pub fn translate_tool_choice(choice: &Value) -> Result<Value, GatewayError> {
    match choice {
        Value::String(mode) if matches!(mode.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::String(mode) => Err(invalid(format!(
            "`tool_choice` {mode:?} is not one of auto, none, required"
        ))),
        Value::Object(choice) => match choice.get("type").and_then(Value::as_str) {
            Some("function") => {
                Ok(json!({"type": "function", "name": function_name("tool_choice", choice)?}))
            }
            Some("allowed_tools") => allowed_tools(choice),
            Some(kind) if PASS_THROUGH_TOOL_TYPES.contains(&kind) => Ok(json!({"type": kind})),
            _ => Err(invalid(
                "`tool_choice` must be auto, none, required, a function or allowed_tools",
            )),
        },
        _ => Err(invalid("`tool_choice` must be a string or an object")),
    }
}

/// `{"function":{"name":N}}` (chat) or `{"name":N}` (Responses).
fn function_name<'a>(at: &str, choice: &'a Map<String, Value>) -> Result<&'a str, GatewayError> {
    let name = match choice.get("function") {
        Some(Value::Object(function)) => function.get("name"),
        _ => choice.get("name"),
    };
    match name {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(name.trim()),
        _ => Err(invalid(format!("`{at}` needs a function `name`"))),
    }
}

/// Chat: `{"type":"allowed_tools","allowed_tools":{"mode":M,"tools":[…]}}`;
/// Responses: `{"type":"allowed_tools","mode":M,"tools":[{"type":"function","name":N}]}`.
fn allowed_tools(choice: &Map<String, Value>) -> Result<Value, GatewayError> {
    let inner = match choice.get("allowed_tools") {
        Some(Value::Object(inner)) => inner,
        _ => choice,
    };
    let mode = match inner.get("mode").and_then(Value::as_str) {
        Some(mode @ ("auto" | "required")) => mode,
        _ => {
            return Err(invalid(
                "`tool_choice.allowed_tools.mode` must be auto or required",
            ));
        }
    };
    let Some(Value::Array(tools)) = inner.get("tools") else {
        return Err(invalid(
            "`tool_choice.allowed_tools.tools` must be an array",
        ));
    };
    let tools = tools
        .iter()
        .map(|tool| match tool {
            Value::Object(tool) if tool.get("type").is_some_and(|t| t == "function") => {
                Ok(json!({"type": "function", "name": function_name("tool_choice.allowed_tools.tools", tool)?}))
            }
            Value::Object(tool) => Ok(Value::Object(tool.clone())),
            _ => Err(invalid("`tool_choice.allowed_tools.tools` must hold objects")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"type": "allowed_tools", "mode": mode, "tools": tools}))
}

/// `web_search_options {search_context_size?, user_location?}` → an `openrouter:web_search`
/// tool with the same preferences (chat's `user_location.approximate` is flattened).
pub fn web_search_tool(options: &Value) -> Result<Value, GatewayError> {
    let Value::Object(options) = options else {
        return Err(invalid("`web_search_options` must be an object"));
    };
    let mut parameters = Map::new();
    if let Some(size) = options.get("search_context_size").filter(|v| !v.is_null()) {
        parameters.insert("search_context_size".into(), size.clone());
    }
    match options.get("user_location") {
        None | Some(Value::Null) => {}
        Some(Value::Object(location)) => {
            let mut flat = Map::new();
            flat.insert("type".into(), json!("approximate"));
            let fields = match location.get("approximate") {
                Some(Value::Object(approximate)) => approximate,
                _ => location,
            };
            for key in ["city", "region", "country", "timezone"] {
                if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
                    flat.insert(key.into(), value.clone());
                }
            }
            parameters.insert("user_location".into(), Value::Object(flat));
        }
        Some(_) => {
            return Err(invalid(
                "`web_search_options.user_location` must be an object",
            ));
        }
    }
    let mut tool = Map::new();
    tool.insert("type".into(), json!("openrouter:web_search"));
    if !parameters.is_empty() {
        tool.insert("parameters".into(), Value::Object(parameters));
    }
    Ok(Value::Object(tool))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES §11.2 C12.
    #[test]
    fn c12_chat_tools_become_responses_tools() {
        let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "openrouter:web_search", "parameters": {"max_results": 5}}]);
        assert_eq!(
            Value::Array(translate_tools(&tools).expect("valid")),
            json!([{"type": "function", "name": "get_weather", "description": "Weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"type": "openrouter:web_search", "parameters": {"max_results": 5}}])
        );
    }

    #[test]
    fn strict_tools_get_strict_schemas_and_other_shapes_are_normalized() {
        let tools = json!([
            {"type": "function", "function": {"name": "s", "strict": true,
                "parameters": {"type": "object", "properties": {"q": {"type": "string", "maxLength": 9}, "n": {"type": "integer"}}, "required": ["q"]}}},
            {"type": "function", "function": {"name": "bare"}},
            {"type": "function", "name": "flat", "parameters": {"type": "object"}, "strict": false},
            {"type": "web_search_preview"}
        ]);
        assert_eq!(
            Value::Array(translate_tools(&tools).expect("valid")),
            json!([
                {"type": "function", "name": "s", "strict": true, "parameters": {"type": "object",
                    "properties": {"n": {"type": ["integer", "null"]}, "q": {"type": "string"}},
                    "required": ["n", "q"], "additionalProperties": false}},
                {"type": "function", "name": "bare", "parameters": {"type": "object", "properties": {}}},
                {"type": "function", "name": "flat", "parameters": {"type": "object"}, "strict": false},
                {"type": "web_search_preview"}
            ])
        );
    }

    #[test]
    fn every_tool_choice_form_has_its_responses_form() {
        let cases = [
            (json!("auto"), json!("auto")),
            (json!("none"), json!("none")),
            (json!("required"), json!("required")),
            (
                json!({"type": "function", "function": {"name": "lookup"}}),
                json!({"type": "function", "name": "lookup"}),
            ),
            (
                json!({"type": "function", "name": "lookup"}),
                json!({"type": "function", "name": "lookup"}),
            ),
            (
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
                    {"type": "function", "function": {"name": "a"}}, {"type": "openrouter:web_search"}]}}),
                json!({"type": "allowed_tools", "mode": "required", "tools": [
                    {"type": "function", "name": "a"}, {"type": "openrouter:web_search"}]}),
            ),
            (
                json!({"type": "web_search_preview"}),
                json!({"type": "web_search_preview"}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                translate_tool_choice(&input).expect("valid"),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn web_search_options_become_the_openrouter_search_tool() {
        assert_eq!(
            web_search_tool(&json!({})).expect("valid"),
            json!({"type": "openrouter:web_search"})
        );
        assert_eq!(
            web_search_tool(
                &json!({"search_context_size": "high", "user_location": {"type": "approximate",
                "approximate": {"city": "Oslo", "country": "NO", "region": null}}})
            )
            .expect("valid"),
            json!({"type": "openrouter:web_search", "parameters": {"search_context_size": "high",
                "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"}}})
        );
    }

    #[test]
    fn bad_tools_and_choices_are_refused() {
        for (tools, needle) in [
            (json!({}), "`tools` must be an array"),
            (json!([1]), "tools[0] must be an object"),
            (
                json!([{"type": "code_interpreter"}]),
                "\"code_interpreter\"",
            ),
            (json!([{"function": {"name": "x"}}]), "`type`"),
            (
                json!([{"type": "function", "function": {"name": ""}}]),
                "`name`",
            ),
            (
                json!([{"type": "function", "function": {"name": "x", "parameters": "{}"}}]),
                "JSON Schema",
            ),
            (
                json!([{"type": "function", "function": {"name": "x", "strict": "yes"}}]),
                "`strict`",
            ),
            (
                json!([{"type": "function", "function": {"name": "x", "description": 1}}]),
                "`description`",
            ),
        ] {
            let error = translate_tools(&tools).expect_err("invalid");
            assert!(error.to_string().contains(needle), "{tools}: {error}");
        }
        for choice in [
            json!("sometimes"),
            json!(3),
            json!({"type": "function"}),
            json!({"type": "custom", "custom": {"name": "x"}}),
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "maybe", "tools": []}}),
        ] {
            let error = translate_tool_choice(&choice).expect_err("invalid");
            assert!(
                error.to_string().contains("tool_choice"),
                "{choice}: {error}"
            );
        }
    }
}
