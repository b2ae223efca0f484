//! The Pipelines inlet (`POST /{model}/filter/inlet`): Open WebUI sends
//! `{"user": {...}, "body": {...}}` before each chat request and task of a Pipelines
//! model, and uses the body we return as the request. Its `metadata` and `features` are
//! stripped before the chat request is sent, so the inlet copies what orpipe needs into
//! [`CONTEXT_FIELD`], which survives (checked against Open WebUI 0.12.4 by
//! `scripts/owui-e2e.sh`). The user's name and email are never copied.
//!
//! orpipe searches the web through OpenRouter when the user switches on the message box's
//! web search toggle, so the inlet switches Open WebUI's own search off for that request
//! (it reads the toggle from the body we return): one search, with OpenRouter's sources.

use super::context::{CONTEXT_FIELD, Features, OpenWebUiContext};
use serde_json::{Map, Value};

/// Adds the context to the body Open WebUI sent (and will use as its request), and takes
/// over the web search toggle. `user` is the inlet's `user` object.
pub fn enrich(body: &mut Map<String, Value>, user: Option<&Value>) {
    let context = context_of(body, user);
    if context.features.web_search {
        take_over_web_search(body);
    }
    if let Ok(value) = serde_json::to_value(context) {
        body.insert(CONTEXT_FIELD.into(), value);
    }
}

/// `features.web_search = false` in the body and its metadata copy.
fn take_over_web_search(body: &mut Map<String, Value>) {
    let off = |features: Option<&mut Value>| {
        if let Some(Value::Object(features)) = features {
            features.insert("web_search".into(), Value::Bool(false));
        }
    };
    off(body.get_mut("features"));
    if let Some(Value::Object(metadata)) = body.get_mut("metadata") {
        off(metadata.get_mut("features"));
    }
}

fn context_of(body: &Map<String, Value>, user: Option<&Value>) -> OpenWebUiContext {
    let empty = Map::new();
    let metadata = match body.get("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => &empty,
    };
    let text = |map: &Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    let user_text = |key: &str| match user {
        Some(Value::Object(user)) => text(user, key),
        _ => None,
    };
    // The toggles are in the body and, copied, in the metadata; either may be missing.
    let features = [body.get("features"), metadata.get("features")]
        .into_iter()
        .flatten()
        .find_map(|value| serde_json::from_value::<Features>(value.clone()).ok())
        .unwrap_or_default();
    OpenWebUiContext {
        chat_id: text(metadata, "chat_id").or_else(|| text(body, "chat_id")),
        message_id: text(metadata, "message_id").or_else(|| text(body, "id")),
        session_id: text(metadata, "session_id").or_else(|| text(body, "session_id")),
        user_id: user_text("id").or_else(|| text(metadata, "user_id")),
        user_role: user_text("role"),
        task: text(metadata, "task"),
        features,
        from_open_webui: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enriched(body: Value, user: Option<Value>) -> Map<String, Value> {
        let Value::Object(mut body) = body else {
            panic!("object")
        };
        enrich(&mut body, user.as_ref());
        body
    }

    #[test]
    fn the_context_is_added_and_the_body_kept() {
        let body = enriched(
            json!({
                "model": "openai.gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                "features": {"web_search": true},
                "metadata": {"chat_id": "c1", "message_id": "m1", "session_id": "s1",
                    "user_id": "u1", "task": "title_generation",
                    "features": {"web_search": true}},
            }),
            Some(json!({"id": "u1", "email": "a@b.c", "name": "Ann", "role": "user"})),
        );
        assert_eq!(body["model"], "openai.gpt-4o");
        assert_eq!(body["messages"][0]["content"], "hi");
        assert_eq!(
            body[CONTEXT_FIELD],
            json!({"chat_id": "c1", "message_id": "m1", "session_id": "s1", "user_id": "u1",
                "user_role": "user", "task": "title_generation",
                "features": {"web_search": true}})
        );
        assert_eq!(
            body["features"]["web_search"], false,
            "Open WebUI does not search too"
        );
        assert_eq!(body["metadata"]["features"]["web_search"], false);
        let context = body[CONTEXT_FIELD].to_string();
        assert!(
            !context.contains("a@b.c") && !context.contains("Ann"),
            "{context}"
        );
    }

    #[test]
    fn missing_or_odd_metadata_gives_an_empty_context() {
        for (body, user) in [
            (json!({}), None),
            (json!({"metadata": "x", "features": [1]}), Some(json!("u"))),
            (
                json!({"metadata": {"chat_id": 5}}),
                Some(json!({"name": "no id"})),
            ),
        ] {
            let body = enriched(body.clone(), user);
            assert_eq!(
                body[CONTEXT_FIELD],
                json!({"features": {"web_search": false}}),
                "{body:?}"
            );
        }
    }

    #[test]
    fn what_the_inlet_adds_is_what_the_chat_request_reads() {
        let mut request = enriched(json!({"metadata": {"chat_id": "c9"}}), None);
        let context = OpenWebUiContext::take(&mut request, &Default::default());
        assert_eq!(context.chat_id.as_deref(), Some("c9"));
        assert!(context.from_open_webui);
    }
}
