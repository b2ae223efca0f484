//! orpipe as an Open WebUI "Pipelines" server (docs/open-webui.md): one manifold pipeline
//! whose valves are orpipe's live settings, the markers in `/v1/models` that make Open
//! WebUI notice it, and the filter calls Open WebUI then makes around each chat.
//!
//! Pure: JSON in, JSON out.

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The one pipeline orpipe serves; its valves are at `/{PIPELINE_ID}/valves`.
pub const PIPELINE_ID: &str = "orpipe";

/// `GET /pipelines`.
pub fn list() -> Value {
    json!({"data": [{
        "id": PIPELINE_ID,
        "name": PIPELINE_ID,
        "type": "manifold",
        "valves": true,
    }]})
}

/// Adds the markers Open WebUI looks for to an OpenAI model list: a top-level
/// `"pipelines": true` (the connection is a Pipelines server: its settings get a page in
/// Admin → Settings → Pipelines) and `"pipeline"` on each model (Open WebUI then sends
/// `user` as an object and calls the filter inlet and outlet around each chat). Clients
/// that do not know them ignore them, as OpenAI's SDKs do with any extra field.
pub fn mark_model_list(list: &mut Value) {
    if let Some(models) = list.get_mut("data").and_then(Value::as_array_mut) {
        for model in models.iter_mut().filter_map(Value::as_object_mut) {
            model.insert(
                "pipeline".to_owned(),
                json!({"type": "manifold", "valves": true}),
            );
        }
    }
    if let Some(list) = list.as_object_mut() {
        list.insert("pipelines".to_owned(), Value::Bool(true));
    }
}

/// Which filter call Open WebUI makes: before the chat request (`inlet`, which may
/// rewrite the body) or after the answer (`outlet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterStage {
    Inlet,
    Outlet,
}

/// What Open WebUI posts to `/{model}/filter/{inlet,outlet}`: the chat body (with its
/// `metadata`, `features` and `files` still in place at the inlet) and the user (`user`:
/// id, name, email, role).
#[derive(Debug, Deserialize)]
pub struct FilterRequest {
    pub body: Map<String, Value>,
    #[serde(default)]
    pub user: Option<Value>,
}

impl FilterRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "a filter call takes a JSON object {{\"body\": {{...}}, \"user\": {{...}}}}: {e}"
            )
        })
    }
}

/// The body Open WebUI carries on with (it replaces its own with this): at the inlet with
/// the chat context added (`owui::inlet`); the outlet passes it through unchanged.
pub fn filter(stage: FilterStage, mut request: FilterRequest) -> Map<String, Value> {
    if stage == FilterStage::Inlet {
        crate::owui::inlet::enrich(&mut request.body, request.user.as_ref());
    }
    request.body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_list_gets_both_markers() {
        let mut list = json!({"object": "list", "data": [{"id": "openai.gpt-4o"}, {"id": "x"}]});
        mark_model_list(&mut list);
        assert_eq!(list["pipelines"], true);
        for model in list["data"].as_array().expect("data") {
            assert_eq!(
                model["pipeline"],
                json!({"type": "manifold", "valves": true})
            );
        }
    }

    #[test]
    fn the_pipeline_list_names_one_manifold_with_valves() {
        assert_eq!(
            list(),
            json!({"data": [{"id": "orpipe", "name": "orpipe", "type": "manifold", "valves": true}]})
        );
    }

    #[test]
    fn the_inlet_adds_the_context_and_the_outlet_passes_the_body_through() {
        let raw = br#"{"body": {"model": "openai.gpt-4o", "metadata": {"chat_id": "c1"}}, "user": {"id": "u1", "role": "user"}}"#;
        let body = filter(
            FilterStage::Outlet,
            FilterRequest::parse(raw).expect("parses"),
        );
        assert_eq!(
            Value::Object(body),
            json!({"model": "openai.gpt-4o", "metadata": {"chat_id": "c1"}})
        );
        let body = filter(
            FilterStage::Inlet,
            FilterRequest::parse(raw).expect("parses"),
        );
        assert_eq!(body["model"], "openai.gpt-4o");
        assert_eq!(body["metadata"], json!({"chat_id": "c1"}));
        assert_eq!(
            body["orpipe_context"],
            json!({"chat_id": "c1", "user_id": "u1", "user_role": "user",
                "features": {"web_search": false}})
        );
    }

    #[test]
    fn a_filter_call_without_a_body_object_is_explained() {
        for bad in [&b"not json"[..], b"{}", br#"{"body": []}"#, b"[]"] {
            let error = FilterRequest::parse(bad).expect_err("refused");
            assert!(error.contains("\"body\""), "{error}");
        }
    }
}
