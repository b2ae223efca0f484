//! Request parameters → Responses fields (FEATURES §4.5, API.md §2.1, §2.5–§2.9).
//!
//! Each parameter has one function; each reads the Chat Completions request and writes
//! the Responses body. `null` is treated as absent and never sent.

use super::invalid;
use super::tools::{translate_tool_choice, translate_tools, web_search_tool};
use crate::errors::GatewayError;
use serde_json::{Map, Value, json};

type Request = Map<String, Value>;
type Body = Map<String, Value>;

const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const REASONING_SUMMARIES: &[&str] = &["auto", "concise", "detailed"];
const VERBOSITIES: &[&str] = &["low", "medium", "high", "xhigh", "max"];
/// OpenRouter's cap on `user` is 256; the original pipe sends at most 128.
const USER_MAX_CHARS: usize = 128;
const SESSION_ID_MAX_CHARS: usize = 256;
/// The Responses limits on `metadata` (API.md §2.1).
const METADATA_MAX_PAIRS: usize = 16;
const METADATA_KEY_MAX_CHARS: usize = 64;
const METADATA_VALUE_MAX_CHARS: usize = 512;

/// Every parameter, in the order of API.md §2.1.
pub fn translate_parameters(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    refuse_what_cannot_be_honoured(request)?;
    sampling(request, out)?;
    output_limit(request, out)?;
    logprobs(request, out)?;
    tools(request, out)?;
    reasoning(request, out)?;
    text(request, out)?;
    identifiers(request, out)?;
    routing(request, out)?;
    plugins(request, out)?;
    responses_native(request, out)
}

/// Parameters whose silent loss would change what the client gets back.
fn refuse_what_cannot_be_honoured(request: &Request) -> Result<(), GatewayError> {
    match request.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(_) => {
            return Err(invalid(
                "`n` must be 1: OpenRouter's Responses API returns one choice per request",
            ));
        }
    }
    let stop_set = match request.get("stop") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(list)) => !list.is_empty(),
        Some(_) => return Err(invalid("`stop` must be a string or an array of strings")),
    };
    if stop_set {
        return Err(invalid(
            "`stop` sequences are not supported by OpenRouter's Responses API; remove `stop` (the answer would not stop where you expect)",
        ));
    }
    if request.get("audio").is_some_and(|a| !a.is_null()) {
        return Err(invalid(
            "audio output (`audio`) is not supported; orpipe answers with text",
        ));
    }
    match request.get("modalities") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) if list.iter().all(|m| m == "text") => {}
        Some(_) => {
            return Err(invalid(
                "only text output is supported: `modalities` must be [\"text\"]",
            ));
        }
    }
    for legacy in ["functions", "function_call"] {
        let used = match request.get(legacy) {
            None | Some(Value::Null) => false,
            Some(Value::Array(list)) => !list.is_empty(),
            Some(_) => true,
        };
        if used {
            return Err(invalid(format!(
                "`{legacy}` belongs to the deprecated functions API; send `tools` and `tool_choice` instead"
            )));
        }
    }
    Ok(())
}

fn sampling(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    for name in [
        "temperature",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
    ] {
        match request.get(name) {
            None | Some(Value::Null) => {}
            Some(value @ Value::Number(_)) => {
                out.insert(name.into(), value.clone());
            }
            Some(_) => return Err(invalid(format!("`{name}` must be a number"))),
        }
    }
    // The original coerces `top_k` to a float, accepting numeric strings (FEATURES §4.5, C10).
    let top_k = match request.get("top_k") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|k| k.is_finite()),
        Some(_) => None,
    };
    match (request.get("top_k"), top_k) {
        (None | Some(Value::Null), _) => {}
        (Some(_), Some(k)) if k >= 0.0 => {
            out.insert("top_k".into(), json!(k));
        }
        (Some(_), _) => return Err(invalid("`top_k` must be a non-negative number")),
    }
    Ok(())
}

fn output_limit(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    // `max_completion_tokens` is the current OpenAI name; it wins over the legacy one.
    for name in ["max_tokens", "max_completion_tokens"] {
        if let Some(limit) = optional_u64(request, name)? {
            out.insert("max_output_tokens".into(), json!(limit));
        }
    }
    Ok(())
}

fn optional_u64(request: &Request, name: &str) -> Result<Option<u64>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| invalid(format!("`{name}` must be a positive whole number"))),
    }
}

/// `top_logprobs` is the Responses field; `logprobs: false` switches it off.
fn logprobs(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let enabled = optional_bool(request, "logprobs")?;
    match request.get("top_logprobs") {
        None | Some(Value::Null) => Ok(()),
        Some(value) => match value.as_u64().filter(|n| *n <= 20) {
            Some(n) if enabled != Some(false) => {
                out.insert("top_logprobs".into(), json!(n));
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(invalid(
                "`top_logprobs` must be a whole number from 0 to 20",
            )),
        },
    }
}

fn tools(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let mut tools = match request.get("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(tools) => translate_tools(tools)?,
    };
    if let Some(options) = request.get("web_search_options").filter(|o| !o.is_null()) {
        let search = web_search_tool(options)?;
        let already = tools.iter().any(|t| t.get("type") == search.get("type"));
        if !already {
            tools.push(search);
        }
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = request.get("tool_choice").filter(|c| !c.is_null()) {
        out.insert("tool_choice".into(), translate_tool_choice(choice)?);
    }
    if let Some(parallel) = optional_bool(request, "parallel_tool_calls")? {
        out.insert("parallel_tool_calls".into(), json!(parallel));
    }
    Ok(())
}

/// `reasoning` (OpenRouter's object; only `effort, max_tokens, exclude, enabled, summary`
/// are kept), `reasoning_effort` (fills `effort` when the object has none) and the legacy
/// `include_reasoning: false` (→ `exclude: true`). When reasoning is asked for and not
/// excluded, `summary` defaults to `auto`: without it OpenAI's reasoning models send no
/// readable reasoning, and chat clients show it as "Thinking…".
fn reasoning(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let mut reasoning = Map::new();
    match request.get("reasoning") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for key in ["effort", "max_tokens", "exclude", "enabled", "summary"] {
                if let Some(value) = given.get(key).filter(|v| !v.is_null()) {
                    reasoning.insert(key.into(), value.clone());
                }
            }
        }
        Some(_) => return Err(invalid("`reasoning` must be an object")),
    }
    if let Some(effort) = optional_str(request, "reasoning_effort")? {
        reasoning.entry("effort").or_insert_with(|| json!(effort));
    }
    if optional_bool(request, "include_reasoning")? == Some(false) {
        reasoning.entry("exclude").or_insert(json!(true));
    }
    check_reasoning(&reasoning)?;
    let effort = reasoning.get("effort").and_then(Value::as_str);
    let asked = match effort {
        Some(effort) => effort != "none",
        None => {
            reasoning.get("enabled") == Some(&json!(true)) || reasoning.contains_key("max_tokens")
        }
    };
    let hidden = reasoning.get("exclude") == Some(&json!(true))
        || reasoning.get("enabled") == Some(&json!(false));
    if asked && !hidden {
        reasoning.entry("summary").or_insert(json!("auto"));
    }
    if !reasoning.is_empty() {
        out.insert("reasoning".into(), Value::Object(reasoning));
    }
    Ok(())
}

fn check_reasoning(reasoning: &Map<String, Value>) -> Result<(), GatewayError> {
    let one_of = |key: &str, allowed: &[&str]| match reasoning.get(key) {
        None => Ok(()),
        Some(Value::String(v)) if allowed.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(invalid(format!(
            "reasoning {key} {v} is not one of {}",
            allowed.join(", ")
        ))),
    };
    one_of("effort", REASONING_EFFORTS)?;
    one_of("summary", REASONING_SUMMARIES)?;
    for flag in ["exclude", "enabled"] {
        if reasoning.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(invalid(format!("`reasoning.{flag}` must be true or false")));
        }
    }
    if reasoning
        .get("max_tokens")
        .is_some_and(|v| v.as_u64().is_none())
    {
        return Err(invalid("`reasoning.max_tokens` must be a whole number"));
    }
    Ok(())
}

/// `response_format` → `text.format` (flat `json_schema`), `verbosity` → `text.verbosity`.
fn text(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let mut text = Map::new();
    if let Some(format) = request.get("response_format").filter(|f| !f.is_null()) {
        text.insert("format".into(), text_format(format)?);
    }
    if let Some(verbosity) = optional_str(request, "verbosity")? {
        if !VERBOSITIES.contains(&verbosity) {
            return Err(invalid(format!(
                "`verbosity` {verbosity:?} is not one of {}",
                VERBOSITIES.join(", ")
            )));
        }
        text.insert("verbosity".into(), json!(verbosity));
    }
    if !text.is_empty() {
        out.insert("text".into(), Value::Object(text));
    }
    Ok(())
}

fn text_format(format: &Value) -> Result<Value, GatewayError> {
    let kind = format.get("type").and_then(Value::as_str);
    match kind {
        Some(kind @ ("text" | "json_object")) => Ok(json!({"type": kind})),
        Some("json_schema") => {
            let Some(Value::Object(spec)) = format.get("json_schema") else {
                return Err(invalid("`response_format.json_schema` must be an object"));
            };
            let Some(schema @ Value::Object(_)) = spec.get("schema") else {
                return Err(invalid(
                    "`response_format.json_schema.schema` must be a JSON Schema object",
                ));
            };
            let name = match spec.get("name") {
                None | Some(Value::Null) => "response",
                Some(Value::String(name)) if !name.is_empty() => name,
                Some(_) => {
                    return Err(invalid(
                        "`response_format.json_schema.name` must be a string",
                    ));
                }
            };
            let mut flat = Map::new();
            flat.insert("type".into(), json!("json_schema"));
            flat.insert("name".into(), json!(name));
            flat.insert("schema".into(), schema.clone());
            match spec.get("strict") {
                None | Some(Value::Null) => {}
                Some(strict @ Value::Bool(_)) => {
                    flat.insert("strict".into(), strict.clone());
                }
                Some(_) => {
                    return Err(invalid(
                        "`response_format.json_schema.strict` must be true or false",
                    ));
                }
            }
            if let Some(description @ Value::String(_)) = spec.get("description") {
                flat.insert("description".into(), description.clone());
            }
            Ok(Value::Object(flat))
        }
        _ => Err(invalid(
            "`response_format.type` must be text, json_object or json_schema",
        )),
    }
}

/// `user` (a string, or Open WebUI's user object's `id`), `session_id`, `metadata`.
fn identifiers(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let user = match request.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(user)) => Some(user.as_str()),
        Some(Value::Object(user)) => user.get("id").and_then(Value::as_str),
        Some(_) => return Err(invalid("`user` must be a string")),
    };
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        out.insert("user".into(), json!(capped(user, USER_MAX_CHARS)));
    }
    if let Some(session) = optional_str(request, "session_id")?.filter(|s| !s.is_empty()) {
        out.insert(
            "session_id".into(),
            json!(capped(session, SESSION_ID_MAX_CHARS)),
        );
    }
    match request.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(metadata)) => {
            let kept: Map<String, Value> = metadata
                .iter()
                .filter(|(key, value)| metadata_pair_is_valid(key, value))
                .take(METADATA_MAX_PAIRS)
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            if !kept.is_empty() {
                out.insert("metadata".into(), Value::Object(kept));
            }
        }
        Some(_) => return Err(invalid("`metadata` must be an object of strings")),
    }
    Ok(())
}

/// The Responses rules (FEATURES §4.5, C10): pairs that break them are left out.
fn metadata_pair_is_valid(key: &str, value: &Value) -> bool {
    let key_ok = !key.is_empty()
        && key.chars().count() <= METADATA_KEY_MAX_CHARS
        && !key.contains(['[', ']']);
    let value_ok = value
        .as_str()
        .is_some_and(|v| v.chars().count() <= METADATA_VALUE_MAX_CHARS);
    key_ok && value_ok
}

fn capped(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// `provider` and `models` pass through; the original's custom parameters (set in Open
/// WebUI's model or chat controls) are merged in (FEATURES §4.5, C26): `model_fallback`
/// (comma-separated ids appended to `models`) and `openrouter_provider_{order,only,ignore}`
/// (comma-separated provider slugs, lower-cased, invalid ones dropped).
fn routing(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let mut models = match request.get("models") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(models))
            if models
                .iter()
                .all(|m| m.as_str().is_some_and(|m| !m.trim().is_empty())) =>
        {
            models
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }
        Some(_) => return Err(invalid("`models` must be an array of model ids")),
    };
    for fallback in csv(optional_str(request, "model_fallback")?) {
        if !models.iter().any(|m| m == fallback) {
            models.push(fallback.to_owned());
        }
    }
    if !models.is_empty() {
        out.insert("models".into(), json!(models));
    }

    let mut provider = match request.get("provider") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(provider)) => provider.clone(),
        Some(_) => return Err(invalid("`provider` must be an object")),
    };
    for list in ["order", "only", "ignore"] {
        let param = format!("openrouter_provider_{list}");
        let slugs: Vec<String> = csv(optional_str(request, &param)?)
            .map(str::to_ascii_lowercase)
            .filter(|slug| is_provider_slug(slug))
            .collect();
        if slugs.is_empty() {
            continue;
        }
        let entry = provider.entry(list).or_insert_with(|| json!([]));
        let Value::Array(existing) = entry else {
            return Err(invalid(format!("`provider.{list}` must be an array")));
        };
        for slug in slugs {
            if !existing
                .iter()
                .any(|e| e.as_str().is_some_and(|e| e.eq_ignore_ascii_case(&slug)))
            {
                existing.push(json!(slug));
            }
        }
    }
    if !provider.is_empty() {
        out.insert("provider".into(), Value::Object(provider));
    }
    Ok(())
}

fn csv(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn is_provider_slug(slug: &str) -> bool {
    slug.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_./".contains(&b))
}

/// `plugins` pass through (each needs an `id`); the legacy `transforms` map onto the
/// `context-compression` plugin that replaced them (API.md §2.8): `["middle-out"]` turns
/// it on, `[]` turns it off.
fn plugins(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    let mut plugins = match request.get("plugins") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(plugins))
            if plugins
                .iter()
                .all(|p| p.get("id").is_some_and(Value::is_string)) =>
        {
            plugins.clone()
        }
        Some(_) => {
            return Err(invalid(
                "`plugins` must be an array of objects with an `id`",
            ));
        }
    };
    let compression = match request.get("transforms") {
        None | Some(Value::Null) => None,
        Some(Value::Array(transforms)) if transforms.is_empty() => {
            Some(json!({"id": "context-compression", "enabled": false}))
        }
        Some(Value::Array(transforms)) if transforms.iter().any(|t| t == "middle-out") => {
            Some(json!({"id": "context-compression"}))
        }
        Some(Value::Array(_)) => None,
        Some(_) => return Err(invalid("`transforms` must be an array")),
    };
    if let Some(compression) = compression
        && !plugins.iter().any(|p| p.get("id") == compression.get("id"))
    {
        plugins.push(compression);
    }
    if !plugins.is_empty() {
        out.insert("plugins".into(), Value::Array(plugins));
    }
    Ok(())
}

/// Responses fields a client may send as extra parameters (Open WebUI's custom params):
/// they pass through when their JSON type is right.
fn responses_native(request: &Request, out: &mut Body) -> Result<(), GatewayError> {
    type Accepts = fn(&Value) -> bool;
    let fields: &[(&str, Accepts, &str)] = &[
        ("instructions", Value::is_string, "a string"),
        ("include", is_string_array, "an array of strings"),
        ("max_tool_calls", |v| v.as_u64().is_some(), "a whole number"),
        ("prompt_cache_key", Value::is_string, "a string"),
        ("safety_identifier", Value::is_string, "a string"),
        ("service_tier", Value::is_string, "a string"),
        ("stop_server_tools_when", Value::is_array, "an array"),
        ("trace", Value::is_object, "an object"),
        (
            "truncation",
            |v| v == "auto" || v == "disabled",
            "auto or disabled",
        ),
        ("cache_control", Value::is_object, "an object"),
    ];
    for (name, accepts, expected) in fields {
        match request.get(*name) {
            None | Some(Value::Null) => {}
            Some(value) if accepts(value) => {
                out.insert((*name).into(), value.clone());
            }
            Some(_) => return Err(invalid(format!("`{name}` must be {expected}"))),
        }
    }
    Ok(())
}

fn is_string_array(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|list| list.iter().all(Value::is_string))
}

// Optional fields of the request, read the same way by every step above (and for
// `stream`): absent or `null` is `None`, a value of the wrong type names the field.

pub(super) fn optional_bool(request: &Request, name: &str) -> Result<Option<bool>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("`{name}` must be true or false"))),
    }
}

fn optional_str<'a>(request: &'a Request, name: &str) -> Result<Option<&'a str>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("`{name}` must be a string"))),
    }
}
