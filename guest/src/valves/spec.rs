//! What the Pipelines tab reads: the JSON Schema of the settings (`/valves/spec`) and
//! their effective values (`/valves`), both listing the settings in registry order.
//!
//! Open WebUI lists properties in the order of the JSON object, and `serde_json` objects
//! sort their keys, so these objects are written by hand in the registry's order.

use super::{Kind, VALVES, Valve, variable};
use serde_json::{Value, json};

/// `{"title": "Valves", "type": "object", "properties": {...}}`: every property with a
/// `title` (Open WebUI needs one), a `description`, a `type` and a `default`; choices
/// with `enum` (a select), numbers with `minimum` and `maximum`.
pub fn schema() -> String {
    let properties = ordered_object(VALVES.iter().map(|valve| (valve.key, property(valve))));
    format!(r#"{{"title":"Valves","type":"object","properties":{properties}}}"#)
}

/// The effective value of every setting (see `Valve::shown`); `lookup` gives a key's
/// text with overrides applied.
pub fn values(lookup: impl Fn(&str) -> Option<String>) -> String {
    ordered_object(
        VALVES
            .iter()
            .map(|valve| (valve.key, valve.shown(lookup(valve.key).as_deref()))),
    )
}

fn property(valve: &Valve) -> Value {
    let description = format!(
        "{} Start-up value: {}.",
        valve.description,
        variable(valve.key)
    );
    let mut property = json!({
        "title": valve.title,
        "description": description,
        "default": valve.shown(None),
    });
    let extra = match valve.kind {
        Kind::Flag { .. } => json!({"type": "boolean"}),
        Kind::Choice { values, .. } => json!({"type": "string", "enum": values}),
        Kind::Number { min, max, .. } => {
            json!({"type": "integer", "minimum": min, "maximum": max})
        }
        Kind::Text { .. } | Kind::List { .. } | Kind::Template(_) => json!({"type": "string"}),
    };
    if let (Some(property), Value::Object(extra)) = (property.as_object_mut(), extra) {
        property.extend(extra);
    }
    property
}

/// A JSON object with its members in the order given.
fn ordered_object<'a>(members: impl Iterator<Item = (&'a str, Value)>) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn every_property_has_what_open_webui_renders() {
        let spec = parse(&schema());
        assert_eq!(spec["title"], "Valves");
        assert_eq!(spec["type"], "object");
        let properties = spec["properties"].as_object().expect("properties");
        assert_eq!(properties.len(), VALVES.len());
        for (key, property) in properties {
            for field in ["title", "description", "type"] {
                assert!(property[field].is_string(), "{key} lacks {field}");
            }
            assert!(property.get("default").is_some(), "{key} lacks default");
        }
        assert_eq!(properties["owui_pipelines"]["type"], "boolean");
        assert_eq!(properties["owui_pipelines"]["default"], true);
        assert_eq!(
            properties["reasoning_summary"]["enum"],
            json!(["auto", "concise", "detailed", "none"])
        );
        assert_eq!(properties["web_search_max_results"]["maximum"], 25);
        assert_eq!(properties["model_allow"]["default"], Value::Null);
        assert!(
            properties["upstream_retries"]["description"]
                .as_str()
                .is_some_and(|d| d.ends_with("ORPIPE_UPSTREAM_RETRIES."))
        );
    }

    #[test]
    fn properties_are_listed_in_registry_order() {
        let text = schema();
        let positions: Vec<usize> = VALVES
            .iter()
            .map(|valve| text.find(&format!("\"{}\":{{", valve.key)).expect("listed"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn values_are_typed_and_unset_ones_shown_as_defaults() {
        let values = parse(&values(|key| match key {
            "upstream_retries" => Some("0".into()),
            "model_free_only" => Some("yes".into()),
            "http_referer" => Some("https://chat.example".into()),
            _ => None,
        }));
        assert_eq!(values["upstream_retries"], 0);
        assert_eq!(values["breaker_failures"], 5);
        assert_eq!(values["model_free_only"], true);
        assert_eq!(values["http_referer"], "https://chat.example");
        assert_eq!(values["app_title"], Value::Null);
        assert_eq!(values["reasoning_effort"], "medium");
        assert_eq!(values.as_object().map(|o| o.len()), Some(VALVES.len()));
    }
}
