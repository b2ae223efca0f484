//! Open WebUI's background tasks (titles, tags, follow-ups, query generation…) take a
//! cheap path: no tools, no plugins, and reasoning only as `task_reasoning_effort` says
//! (none by default). Open WebUI names the task in the Pipelines inlet's context or, if
//! configured to, in an `X-OpenWebUI-Task` header (INTEGRATION.md §3); the component
//! reads both (`owui::context`).
//!
//! Pure: the header value and the translated Responses body in, the body changed in
//! place. Model filters still apply to tasks (unlike the original pipe, which let task
//! models bypass its allow-list): any client can set the header.

use crate::catalog::entry::{CatalogEntry, ReasoningControl};
use crate::errors::GatewayError;
use serde_json::{Value, json};

/// The header Open WebUI sends on its background requests.
pub const TASK_HEADER: &str = "x-openwebui-task";

/// Whether a request is a background task: the header has any non-blank value.
pub fn is_background_task(header: Option<&str>) -> bool {
    header.is_some_and(|value| !value.trim().is_empty())
}

/// Strips what makes a request slow or costly, the client's reasoning included, then
/// gives reasoning models the operator's task effort (`task_reasoning_effort`).
///
/// With `none` (the default) reasoning is turned off explicitly (`effort: "none"`) only
/// when the catalog lists `none` among the model's efforts; otherwise it is left out, so a
/// model that cannot switch it off is not refused. Any other effort goes to models with
/// an effort control (`fit_model` clamps it next) and switches reasoning on for models
/// that only take `include_reasoning`; it never asks for a summary, which nobody reads.
pub fn cheapen(body: &mut Value, entry: Option<&CatalogEntry>, task_effort: &str) {
    let Some(body) = body.as_object_mut() else {
        return;
    };
    for field in [
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_tool_calls",
        "stop_server_tools_when",
        "plugins",
        "reasoning",
    ] {
        body.remove(field);
    }
    let reasoning = if task_effort == "none" {
        let accepts_none = entry
            .and_then(|e| e.reasoning.as_ref())
            .and_then(|r| r.supported_efforts.as_ref())
            .is_some_and(|efforts| efforts.iter().any(|e| e == "none"));
        accepts_none.then(|| json!({"effort": "none"}))
    } else {
        match entry.map(CatalogEntry::reasoning_control) {
            Some(ReasoningControl::Effort) => Some(json!({"effort": task_effort})),
            Some(ReasoningControl::Switch) => Some(json!({"enabled": true})),
            Some(ReasoningControl::None) | None => None,
        }
    };
    if let Some(reasoning) = reasoning {
        body.insert("reasoning".into(), reasoning);
    }
}

/// The answer a title, tags or follow-ups task gets when OpenRouter refuses orpipe's key
/// (or orpipe has none), in the JSON shape Open WebUI parses from that task: a harmless
/// default instead of an error per task, so its chat list and tags keep working while the
/// operator fixes the key (the original pipe's safe stubs, FEATURES §1.3). Other tasks
/// (query generation, autocomplete…) have no harmless answer and get the error.
pub fn safe_stub(task: Option<&str>, error: &GatewayError) -> Option<&'static str> {
    let refused_key = matches!(
        error,
        GatewayError::MissingApiKey
            | GatewayError::Upstream {
                status: 401 | 403,
                ..
            }
    );
    if !refused_key {
        return None;
    }
    match task?.trim() {
        "title_generation" => Some(r#"{"title": "Chat"}"#),
        "tags_generation" => Some(r#"{"tags": ["General"]}"#),
        "follow_up_generation" => Some(r#"{"follow_ups": []}"#),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_non_blank_header_value_marks_a_task() {
        for value in [
            "title_generation",
            "tags_generation",
            "follow_up_generation",
            "x",
        ] {
            assert!(is_background_task(Some(value)));
        }
        assert!(!is_background_task(None));
        assert!(!is_background_task(Some("  ")));
    }

    fn task_body() -> Value {
        json!({
            "model": "openai/gpt-5", "input": [], "stream": false, "temperature": 0.2,
            "reasoning": {"effort": "high", "summary": "auto"},
            "tools": [{"type": "function", "name": "f"}, {"type": "openrouter:web_search"}],
            "tool_choice": "auto", "parallel_tool_calls": true, "max_tool_calls": 3,
            "plugins": [{"id": "web"}], "stop_server_tools_when": [{"type": "max_cost"}]
        })
    }

    #[test]
    fn tasks_lose_tools_plugins_and_reasoning() {
        let mut body = task_body();
        cheapen(&mut body, None, "none");
        assert_eq!(
            body,
            json!({"model": "openai/gpt-5", "input": [], "stream": false, "temperature": 0.2})
        );
    }

    #[test]
    fn reasoning_is_switched_off_explicitly_only_where_the_model_accepts_none() {
        let mut entry: CatalogEntry = serde_json::from_value(json!({
            "id": "openai/gpt-5",
            "supported_parameters": ["reasoning"],
            "reasoning": {"supported_efforts": ["none", "low", "medium", "high"]}
        }))
        .expect("entry");
        let mut body = task_body();
        cheapen(&mut body, Some(&entry), "none");
        assert_eq!(body["reasoning"], json!({"effort": "none"}));

        entry.reasoning =
            serde_json::from_value(json!({"supported_efforts": ["low", "high"]})).expect("spec");
        let mut body = task_body();
        cheapen(&mut body, Some(&entry), "none");
        assert!(body.get("reasoning").is_none());
    }

    #[test]
    fn a_task_effort_goes_to_reasoning_models_in_place_of_the_clients() {
        let entry =
            |value: Value| -> CatalogEntry { serde_json::from_value(value).expect("entry") };
        let reasoner = entry(json!({"id": "o/r", "supported_parameters": ["reasoning"]}));
        let mut body = task_body();
        cheapen(&mut body, Some(&reasoner), "low");
        assert_eq!(
            body["reasoning"],
            json!({"effort": "low"}),
            "no summary, not the client's high"
        );
        assert!(body.get("tools").is_none());

        let switch = entry(json!({"id": "o/s", "supported_parameters": ["include_reasoning"]}));
        let mut body = task_body();
        cheapen(&mut body, Some(&switch), "minimal");
        assert_eq!(body["reasoning"], json!({"enabled": true}));

        let plain = entry(json!({"id": "o/p", "supported_parameters": ["tools"]}));
        for model in [Some(&plain), None] {
            let mut body = task_body();
            cheapen(&mut body, model, "medium");
            assert!(body.get("reasoning").is_none(), "{model:?}");
        }
    }

    fn upstream(status: u16) -> GatewayError {
        GatewayError::Upstream {
            status,
            code: None,
            message: "refused".into(),
            provider_raw: None,
            retry_after: None,
            detail: None,
        }
    }

    #[test]
    fn title_tags_and_follow_ups_get_safe_stubs_when_the_key_is_refused() {
        for error in [GatewayError::MissingApiKey, upstream(401), upstream(403)] {
            assert_eq!(
                safe_stub(Some("title_generation"), &error),
                Some(r#"{"title": "Chat"}"#)
            );
            assert_eq!(
                safe_stub(Some(" tags_generation "), &error),
                Some(r#"{"tags": ["General"]}"#)
            );
            assert_eq!(
                safe_stub(Some("follow_up_generation"), &error),
                Some(r#"{"follow_ups": []}"#)
            );
            for stub in [
                "title_generation",
                "tags_generation",
                "follow_up_generation",
            ]
            .map(|task| safe_stub(Some(task), &error).expect("stub"))
            {
                assert!(serde_json::from_str::<Value>(stub).is_ok(), "{stub}");
            }
        }
    }

    #[test]
    fn other_tasks_other_failures_and_chats_get_the_error() {
        let refused = upstream(401);
        assert_eq!(safe_stub(Some("query_generation"), &refused), None);
        assert_eq!(safe_stub(None, &refused), None);
        for error in [
            upstream(429),
            upstream(500),
            GatewayError::UpstreamConnection("down".into()),
            GatewayError::InvalidRequest("bad".into()),
        ] {
            assert_eq!(safe_stub(Some("title_generation"), &error), None);
        }
    }
}
