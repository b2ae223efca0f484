//! Strict-schema conversion of tool parameters (the original's `_strictify_schema`, FEATURES
//! §6.2), applied when a client marks a function tool `strict: true`: OpenAI-style strict
//! mode only accepts schemas where every object is closed and lists every property as
//! required, so optional properties become nullable instead.
//!
//! Pure and total: any JSON value yields a schema; nothing here can fail.

use serde_json::{Map, Value, json};

/// Keywords strict mode rejects; the original strips them.
const STRIPPED_KEYWORDS: &[&str] = &[
    "default",
    "$schema",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "format",
];

/// The strict form of a tool's `parameters`. A root that is not an object schema is
/// wrapped as the single required property `value`.
pub fn strictify(schema: &Value) -> Value {
    let strict = strict_node(schema);
    if is_object_schema(&strict) {
        return strict;
    }
    json!({
        "type": "object",
        "properties": {"value": strict},
        "required": ["value"],
        "additionalProperties": false,
    })
}

fn strict_node(node: &Value) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    // `$ref` targets are resolved elsewhere; rewriting the reference itself breaks it.
    if map.contains_key("$ref") {
        return node.clone();
    }
    let mut out = map.clone();
    for keyword in STRIPPED_KEYWORDS {
        out.remove(*keyword);
    }
    merge_all_of(&mut out);
    if !out.contains_key("type") {
        if out.contains_key("properties") {
            out.insert("type".into(), json!("object"));
        } else if out.contains_key("items") {
            out.insert("type".into(), json!("array"));
        }
    }
    if let Some(items) = out.get_mut("items") {
        let strict = match &*items {
            Value::Array(list) => Value::Array(list.iter().map(strict_node).collect()),
            other => strict_node(other),
        };
        *items = strict;
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = out.get_mut(combinator) {
            *list = list.iter().map(strict_node).collect();
        }
    }
    if type_includes(&out, "object") {
        close_object(&mut out);
    }
    Value::Object(out)
}

/// Every property becomes required; the ones that were optional accept `null` instead.
fn close_object(out: &mut Map<String, Value>) {
    let required: Vec<String> = match out.get("required") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let mut properties = Map::new();
    if let Some(Value::Object(original)) = out.get("properties") {
        // Sorted, as the original's canonicalized cache key makes them.
        let mut names: Vec<&String> = original.keys().collect();
        names.sort();
        for name in names {
            let Some(schema) = original.get(name) else {
                continue;
            };
            let strict = strict_node(schema);
            let strict = if required.contains(name) {
                strict
            } else {
                nullable(strict)
            };
            properties.insert(name.clone(), strict);
        }
    }
    let all: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
    if out.contains_key("properties") {
        out.insert("properties".into(), Value::Object(properties));
    }
    out.insert("required".into(), Value::Array(all));
    out.insert("additionalProperties".into(), Value::Bool(false));
}

fn nullable(mut schema: Value) -> Value {
    let Some(map) = schema.as_object_mut() else {
        return schema;
    };
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            map.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(json!("null"));
        }
        _ => {}
    }
    schema
}

/// `allOf: [A, B]` becomes one schema with A's and B's keys (properties and `required`
/// joined), since strict mode does not accept `allOf`.
fn merge_all_of(out: &mut Map<String, Value>) {
    let Some(Value::Array(parts)) = out.remove("allOf") else {
        return;
    };
    for part in parts {
        let Value::Object(part) = part else { continue };
        for (key, value) in part {
            match (key.as_str(), out.get_mut(&key), value) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    mine.extend(theirs);
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for name in theirs {
                        if !mine.contains(&name) {
                            mine.push(name);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, value) => {
                    out.insert(key, value);
                }
            }
        }
    }
}

fn type_includes(schema: &Map<String, Value>, wanted: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(types)) => types.iter().any(|t| t == wanted),
        _ => false,
    }
}

fn is_object_schema(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|map| type_includes(map, "object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FEATURES §11.2 C13.
    #[test]
    fn c13_strict_schema() {
        let input = json!({"type": "object", "properties": {
            "city": {"type": "string", "minLength": 1, "default": "Paris"},
            "units": {"type": "string", "enum": ["c", "f"]},
            "opts": {"properties": {"days": {"type": "integer", "minimum": 1}}}},
            "required": ["city"]});
        let expected = json!({"properties": {
            "city": {"type": "string"},
            "opts": {"properties": {"days": {"type": ["integer", "null"]}}, "type": ["object", "null"],
                     "additionalProperties": false, "required": ["days"]},
            "units": {"enum": ["c", "f"], "type": ["string", "null"]}},
            "required": ["city", "opts", "units"], "type": "object", "additionalProperties": false});
        assert_eq!(strictify(&input), expected);
        assert_eq!(
            strictify(&input)["required"],
            json!(["city", "opts", "units"]),
            "required lists every property, sorted"
        );
    }

    #[test]
    fn refs_arrays_combinators_all_of_and_non_object_roots() {
        let cases = [
            (
                json!({"type": "object", "properties": {"r": {"$ref": "#/$defs/x", "default": 1}}, "required": ["r"]}),
                json!({"type": "object", "properties": {"r": {"$ref": "#/$defs/x", "default": 1}},
                       "required": ["r"], "additionalProperties": false}),
            ),
            (
                json!({"type": "object", "properties": {"tags": {"items": {"type": "string", "format": "email"}, "maxItems": 3}}}),
                json!({"type": "object", "properties": {"tags": {"type": ["array", "null"], "items": {"type": "string"}}},
                       "required": ["tags"], "additionalProperties": false}),
            ),
            (
                json!({"anyOf": [{"properties": {"a": {"type": "string"}}}, {"type": "null"}]}),
                json!({"type": "object", "properties": {"value": {"anyOf": [
                    {"type": "object", "properties": {"a": {"type": ["string", "null"]}}, "required": ["a"], "additionalProperties": false},
                    {"type": "null"}]}}, "required": ["value"], "additionalProperties": false}),
            ),
            (
                json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                                 {"properties": {"b": {"type": "number"}}}]}),
                json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": ["number", "null"]}},
                       "required": ["a", "b"], "additionalProperties": false}),
            ),
            (
                json!({"type": "string"}),
                json!({"type": "object", "properties": {"value": {"type": "string"}},
                       "required": ["value"], "additionalProperties": false}),
            ),
            (
                json!({"type": "object"}),
                json!({"type": "object", "required": [], "additionalProperties": false}),
            ),
            (
                json!(true),
                json!({"type": "object", "properties": {"value": true}, "required": ["value"], "additionalProperties": false}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(strictify(&input), expected, "{input}");
        }
    }
}
