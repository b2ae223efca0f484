//! Stored items made ready to go back into `input[]` (FEATURES §4.3).

use serde_json::{Value, json};

/// Items of these types are never replayed: they describe work OpenRouter's server
/// tools did, which the model cannot take as input.
const NOT_REPLAYABLE: &[&str] = &[
    "image_generation_call",
    "web_search_call",
    "file_search_call",
    "local_shell_call",
    "openrouter:image_generation",
    "openrouter:web_search",
    "openrouter:web_fetch",
    "openrouter:datetime",
];

/// Whether a stored item may be sent with a request for `request_model`. Reasoning
/// (encrypted content, signatures) only means something to the model that wrote it.
pub fn replayable(item_type: &str, stored_model: Option<&str>, request_model: &str) -> bool {
    if NOT_REPLAYABLE.contains(&item_type) {
        return false;
    }
    item_type != "reasoning" || stored_model == Some(request_model)
}

/// The item as the original replays it: `status: "completed"`, and for reasoning the
/// `content` and `summary` lists present. Non-objects are not items.
pub fn normalize(item: Value) -> Option<Value> {
    let Value::Object(mut item) = item else {
        return None;
    };
    item.get("type")?.as_str()?;
    item.insert("status".into(), json!("completed"));
    if item.get("type").and_then(Value::as_str) == Some("reasoning") {
        for list in ["content", "summary"] {
            if !item.get(list).is_some_and(Value::is_array) {
                item.insert(list.into(), json!([]));
            }
        }
    }
    Some(Value::Object(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_goes_back_only_to_its_own_model() {
        assert!(replayable(
            "reasoning",
            Some("openai/gpt-5"),
            "openai/gpt-5"
        ));
        assert!(!replayable(
            "reasoning",
            Some("openai/gpt-5"),
            "anthropic/claude-sonnet-4.5"
        ));
        assert!(!replayable("reasoning", None, "openai/gpt-5"));
        assert!(replayable("function_call", Some("a/b"), "c/d"));
        assert!(!replayable("web_search_call", Some("a/b"), "a/b"));
    }

    #[test]
    fn normalized_items_are_complete() {
        assert_eq!(
            normalize(
                json!({"type": "reasoning", "id": "rs_1", "summary": null, "status": "in_progress"})
            ),
            Some(
                json!({"type": "reasoning", "id": "rs_1", "summary": [], "content": [], "status": "completed"})
            )
        );
        assert_eq!(
            normalize(json!({"type": "function_call", "call_id": "c"})),
            Some(json!({"type": "function_call", "call_id": "c", "status": "completed"}))
        );
        assert_eq!(normalize(json!({"no": "type"})), None);
        assert_eq!(normalize(json!([1])), None);
    }
}
