//! The operator's OpenRouter server tools (`server_tools`, API.md §2.4): tools OpenRouter
//! runs itself (`openrouter:web_search`, `openrouter:web_fetch`, `openrouter:datetime`, …)
//! switched on for the models a rule's patterns match, with the rule's parameters:
//!
//! `[{"models": "openai/*,anthropic/*", "tools": [{"type": "openrouter:datetime"},
//!   {"type": "openrouter:web_search", "parameters": {"max_results": 5}}]}]`
//!
//! `models` uses the syntax of the endpoint lists (comma-separated `*` globs over the
//! OpenRouter or listed id, `catalog::filter::matches_id`). A tool goes after the
//! request's own tools unless one of its type is already there: the client's tool, the
//! web search of Open WebUI's toggle (added first) or an earlier rule's tool wins. For
//! `openrouter:web_search`, any web search counts (`web_search::searches_already`).
//! `component::fitting` calls this for chat turns routed to `/responses`, never for
//! background tasks.
//!
//! Pure: the setting's text in, typed rules out (refused with a reason at settings load);
//! the translated Responses body in, changed in place.

use super::web_search::searches_already;
use crate::catalog::filter::matches_id;
use crate::setting_values::Reader;
use crate::settings::{SettingsError, keys};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The prefix every server tool's type has.
const PREFIX: &str = "openrouter:";
const WEB_SEARCH: &str = "openrouter:web_search";

/// The rules, in the order the operator wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerToolRules(Vec<Rule>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Globs (`*`) over OpenRouter or listed ids.
    pub models: Vec<String>,
    pub tools: Vec<ServerTool>,
}

/// One tool as the operator wrote it, and as it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTool {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// A rule as written: `models` still one comma-separated text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenRule {
    models: String,
    tools: Vec<ServerTool>,
}

impl ServerTool {
    /// `{"type": …, "parameters": {…}}`, `parameters` only when given.
    pub fn to_value(&self) -> Value {
        let mut tool = Map::new();
        tool.insert("type".into(), Value::String(self.kind.clone()));
        if let Some(parameters) = &self.parameters {
            tool.insert("parameters".into(), Value::Object(parameters.clone()));
        }
        Value::Object(tool)
    }
}

impl ServerToolRules {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let raw = Reader::new(lookup).value(keys::SERVER_TOOLS);
        Self::parse(raw.as_deref()).map_err(|reason| SettingsError::Invalid {
            key: keys::SERVER_TOOLS,
            reason,
        })
    }

    /// Reads and checks the setting's JSON; absent or blank means no rules.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Self::default());
        };
        let written: Vec<WrittenRule> = serde_json::from_str(raw).map_err(|e| {
            format!(
                "not a JSON list of rules like [{{\"models\": \"openai/*\", \"tools\": [{{\"type\": \"openrouter:datetime\"}}]}}]: {e}"
            )
        })?;
        written
            .into_iter()
            .enumerate()
            .map(|(i, rule)| check(i + 1, rule))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tools of every rule matching `openrouter_id`, in order.
    pub fn tools_for<'a>(&'a self, openrouter_id: &'a str) -> impl Iterator<Item = &'a ServerTool> {
        self.0
            .iter()
            .filter(move |rule| rule.models.iter().any(|g| matches_id(g, openrouter_id)))
            .flat_map(|rule| rule.tools.iter())
    }
}

fn check(number: usize, rule: WrittenRule) -> Result<Rule, String> {
    let models: Vec<String> = rule
        .models
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if models.is_empty() {
        return Err(format!(
            "rule {number}: models names no model (comma-separated patterns such as openai/*)"
        ));
    }
    if rule.tools.is_empty() {
        return Err(format!("rule {number}: tools is empty"));
    }
    for (i, tool) in rule.tools.iter().enumerate() {
        let name = tool.kind.strip_prefix(PREFIX).unwrap_or_default();
        let well_formed = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !tool.kind.starts_with(PREFIX) || !well_formed {
            return Err(format!(
                "rule {number}: {:?} is not an OpenRouter server tool type (openrouter: and a name, e.g. openrouter:web_search)",
                tool.kind.chars().take(80).collect::<String>()
            ));
        }
        if rule.tools.iter().take(i).any(|t| t.kind == tool.kind) {
            return Err(format!("rule {number}: {} is listed twice", tool.kind));
        }
    }
    Ok(Rule {
        models,
        tools: rule.tools,
    })
}

/// Appends the matching rules' tools to `body.tools` (see the module docs); returns the
/// types added.
pub fn add_server_tools(
    body: &mut Value,
    openrouter_id: &str,
    rules: &ServerToolRules,
) -> Vec<String> {
    let Some(body) = body.as_object_mut().filter(|_| !rules.is_empty()) else {
        return Vec::new();
    };
    let mut added = Vec::new();
    for tool in rules.tools_for(openrouter_id) {
        let present = if tool.kind == WEB_SEARCH {
            searches_already(body)
        } else {
            has_tool_of_type(body, &tool.kind)
        };
        if present {
            continue;
        }
        match body.get_mut("tools") {
            Some(Value::Array(tools)) => tools.push(tool.to_value()),
            _ => {
                body.insert("tools".into(), Value::Array(vec![tool.to_value()]));
            }
        }
        added.push(tool.kind.clone());
    }
    added
}

fn has_tool_of_type(body: &Map<String, Value>, kind: &str) -> bool {
    body.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|tool| tool.get("type").and_then(Value::as_str) == Some(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(text: &str) -> ServerToolRules {
        ServerToolRules::parse(Some(text)).expect("valid rules")
    }

    const EXAMPLE: &str = r#"[
        {"models": "openai/*, anthropic/*", "tools": [
            {"type": "openrouter:web_search", "parameters": {"max_results": 5}},
            {"type": "openrouter:datetime"}]},
        {"models": "openai/gpt-5*", "tools": [
            {"type": "openrouter:datetime", "parameters": {"timezone": "Europe/Berlin"}},
            {"type": "openrouter:web_fetch", "parameters": {}}]}
    ]"#;

    #[test]
    fn matching_rules_add_their_tools_after_the_clients_first_rule_winning() {
        let rules = rules(EXAMPLE);
        let mut body = json!({"model": "openai/gpt-5.2", "input": [],
            "tools": [{"type": "function", "name": "f", "parameters": {}}]});
        let added = add_server_tools(&mut body, "openai/gpt-5.2", &rules);
        assert_eq!(
            added,
            [
                "openrouter:web_search",
                "openrouter:datetime",
                "openrouter:web_fetch"
            ]
        );
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "name": "f", "parameters": {}},
                {"type": "openrouter:web_search", "parameters": {"max_results": 5}},
                {"type": "openrouter:datetime"},
                {"type": "openrouter:web_fetch", "parameters": {}}])
        );
        let mut bare = json!({"model": "anthropic/claude-sonnet-4.5"});
        add_server_tools(&mut bare, "anthropic/claude-sonnet-4.5", &rules);
        assert_eq!(
            bare["tools"],
            json!([{"type": "openrouter:web_search", "parameters": {"max_results": 5}},
                {"type": "openrouter:datetime"}])
        );
        let listed = ServerToolRules::parse(Some(
            r#"[{"models": "anthropic.claude-*", "tools": [{"type": "openrouter:datetime"}]}]"#,
        ))
        .expect("valid");
        let mut dotted = json!({});
        add_server_tools(&mut dotted, "anthropic/claude-sonnet-4.5", &listed);
        assert_eq!(
            dotted["tools"],
            json!([{"type": "openrouter:datetime"}]),
            "patterns over listed ids match too"
        );
    }

    #[test]
    fn other_models_and_an_empty_setting_leave_the_body_alone() {
        for (rules, id) in [
            (rules(EXAMPLE), "mistralai/mistral-large"),
            (ServerToolRules::default(), "openai/gpt-5.2"),
        ] {
            let body = json!({"model": id, "tools": [{"type": "function", "name": "f"}]});
            let mut changed = body.clone();
            assert!(add_server_tools(&mut changed, id, &rules).is_empty());
            assert_eq!(changed, body);
        }
    }

    #[test]
    fn a_tool_of_the_same_type_already_there_wins() {
        let rules = rules(EXAMPLE);
        let mut body = json!({"tools": [
            {"type": "openrouter:datetime", "parameters": {"timezone": "Asia/Tokyo"}}]});
        let added = add_server_tools(&mut body, "anthropic/claude-opus-4.5", &rules);
        assert_eq!(added, ["openrouter:web_search"]);
        assert_eq!(body["tools"][0]["parameters"]["timezone"], "Asia/Tokyo");
        // Any web search counts as the search: the toggle's, OpenAI's shape, the plugin.
        for searching in [
            json!({"tools": [{"type": "openrouter:web_search", "parameters": {"engine": "exa"}}]}),
            json!({"tools": [{"type": "web_search_preview"}]}),
            json!({"plugins": [{"id": "web"}]}),
        ] {
            let mut body = searching.clone();
            let added = add_server_tools(&mut body, "anthropic/claude-opus-4.5", &rules);
            assert_eq!(added, ["openrouter:datetime"], "{searching}");
            let searches = body["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["type"] == "openrouter:web_search")
                .count();
            assert!(searches <= 1, "{body}");
        }
    }

    #[test]
    fn rules_are_read_strictly_with_a_reason() {
        assert_eq!(ServerToolRules::parse(None), Ok(ServerToolRules::default()));
        assert_eq!(
            ServerToolRules::parse(Some("  ")),
            Ok(ServerToolRules::default())
        );
        assert!(rules("[]").is_empty());
        for (text, says) in [
            ("{}", "not a JSON list"),
            ("[{\"models\": \"a/*\"}]", "missing field `tools`"),
            (
                "[{\"model\": \"a/*\", \"tools\": []}]",
                "unknown field `model`",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:datetime\", \"timezone\": \"UTC\"}]}]",
                "unknown field `timezone`",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:web_search\", \"parameters\": 5}]}]",
                "expected a map",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:web_search\", \"parameters\": [1]}]}]",
                "expected a map",
            ),
            (
                "[{\"models\": \" , \", \"tools\": [{\"type\": \"openrouter:datetime\"}]}]",
                "rule 1: models names no model",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": []}]",
                "rule 1: tools is empty",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:datetime\"}]}, {\"models\": \"b/*\", \"tools\": [{\"type\": \"web_search\"}]}]",
                "rule 2: \"web_search\" is not an OpenRouter server tool type",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:\"}]}]",
                "is not an OpenRouter server tool type",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:Web Search\"}]}]",
                "is not an OpenRouter server tool type",
            ),
            (
                "[{\"models\": \"a/*\", \"tools\": [{\"type\": \"openrouter:datetime\"}, {\"type\": \"openrouter:datetime\"}]}]",
                "rule 1: openrouter:datetime is listed twice",
            ),
        ] {
            let error = ServerToolRules::parse(Some(text)).expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn the_host_passes_the_setting_through() {
        crate::settings::assert_host_passes([(
            "ORPIPE_SERVER_TOOLS".to_owned(),
            keys::SERVER_TOOLS.to_owned(),
        )]);
    }

    #[test]
    fn the_setting_is_refused_naming_its_key() {
        let error = ServerToolRules::from_lookup(|key| {
            (key == keys::SERVER_TOOLS).then(|| "[{\"models\": 3}]".to_owned())
        })
        .expect_err("a bad rule");
        assert!(
            error
                .to_string()
                .starts_with("setting server_tools is invalid: "),
            "{error}"
        );
        let read = ServerToolRules::from_lookup(|key| {
            (key == keys::SERVER_TOOLS).then(|| EXAMPLE.to_owned())
        })
        .expect("valid");
        assert_eq!(read, rules(EXAMPLE));
        assert_eq!(
            read.tools_for("openai/gpt-5-mini")
                .map(|t| t.kind.as_str())
                .collect::<Vec<_>>(),
            [
                "openrouter:web_search",
                "openrouter:datetime",
                "openrouter:datetime",
                "openrouter:web_fetch"
            ],
            "every matching rule's tools; duplicates across rules are settled when added"
        );
    }
}
