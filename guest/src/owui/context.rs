//! The chat context of an Open WebUI request: which chat, message, user and task it
//! belongs to and which features (web search…) the user switched on.
//!
//! Open WebUI tells it in two ways. For models listed as Pipelines models it calls the
//! inlet first (`super::inlet`), which copies the context into the body under
//! [`CONTEXT_FIELD`]; the body the inlet returns becomes the chat request. With
//! `ENABLE_FORWARD_USER_INFO_HEADERS` (or per-connection header templates) it also sends
//! `X-OpenWebUI-*` headers. The body field wins; headers fill what it lacks.
//!
//! Nothing here is trusted for access control: a client can claim any chat or user id,
//! exactly as it can with the headers. They only decide where artifacts are filed and
//! which breaker counts a failure.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body field the inlet adds, removed again before translation so it never goes
/// upstream.
pub const CONTEXT_FIELD: &str = "orpipe_context";

/// Longest id kept; longer ones are dropped as garbage.
const MAX_ID_CHARS: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWebUiContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_role: Option<String>,
    /// A background task (`title_generation`, `tags_generation`, …); none for a chat turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default)]
    pub features: Features,
    /// Whether the request came from Open WebUI at all (context field or its headers).
    #[serde(skip)]
    pub from_open_webui: bool,
}

/// The message box toggles orpipe acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    #[serde(default)]
    pub web_search: bool,
}

/// The `X-OpenWebUI-*` headers of a request (absent: `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenWebUiHeaders {
    pub chat_id: Option<String>,
    pub message_id: Option<String>,
    pub user_id: Option<String>,
    pub user_role: Option<String>,
    pub task: Option<String>,
    /// Any other `X-OpenWebUI-*` header was present.
    pub other: bool,
}

impl OpenWebUiHeaders {
    fn any(&self) -> bool {
        self.other
            || [
                &self.chat_id,
                &self.message_id,
                &self.user_id,
                &self.user_role,
                &self.task,
            ]
            .iter()
            .any(|v| v.is_some())
    }
}

impl OpenWebUiContext {
    /// Takes the context out of a chat request `body` (removing [`CONTEXT_FIELD`] and
    /// reading Open WebUI's `user` object, which stays for the translator to reduce to its
    /// id) and completes it from the headers. A malformed context field is ignored.
    pub fn take(body: &mut Map<String, Value>, headers: &OpenWebUiHeaders) -> Self {
        let field = body.remove(CONTEXT_FIELD);
        let carried = field.is_some();
        let mut context = field
            .and_then(|value| serde_json::from_value::<Self>(value).ok())
            .unwrap_or_default();
        if let Some(Value::Object(user)) = body.get("user") {
            let text = |key: &str| user.get(key).and_then(Value::as_str).map(str::to_owned);
            context.user_id = context.user_id.or_else(|| text("id"));
            context.user_role = context.user_role.or_else(|| text("role"));
        }
        context.chat_id = context.chat_id.or_else(|| headers.chat_id.clone());
        context.message_id = context.message_id.or_else(|| headers.message_id.clone());
        context.user_id = context.user_id.or_else(|| headers.user_id.clone());
        context.user_role = context.user_role.or_else(|| headers.user_role.clone());
        context.task = context.task.or_else(|| headers.task.clone());
        context.from_open_webui = carried || headers.any();
        context.clean()
    }

    /// Blank or oversized ids become absent.
    fn clean(mut self) -> Self {
        for id in [
            &mut self.chat_id,
            &mut self.message_id,
            &mut self.session_id,
            &mut self.user_id,
            &mut self.user_role,
            &mut self.task,
        ] {
            *id = id
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.chars().count() <= MAX_ID_CHARS);
        }
        self
    }

    /// The ids orpipe may send upstream (`translate::identifiers`).
    pub fn known_ids(&self) -> crate::translate::identifiers::KnownIds<'_> {
        crate::translate::identifiers::KnownIds {
            user_id: self.user_id.as_deref(),
            chat_id: self.chat_id.as_deref(),
            message_id: self.message_id.as_deref(),
            session_id: self.session_id.as_deref(),
        }
    }

    /// The task name, when this request is a background task.
    pub fn task(&self) -> Option<&str> {
        self.task.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_inlet_field_is_taken_out_and_read() {
        let mut request = body(json!({
            "model": "m",
            "orpipe_context": {"chat_id": "c1", "message_id": "m1", "user_id": "u1",
                "task": "title_generation", "features": {"web_search": true, "voice": false}},
        }));
        let context = OpenWebUiContext::take(&mut request, &OpenWebUiHeaders::default());
        assert!(!request.contains_key(CONTEXT_FIELD));
        assert_eq!(context.chat_id.as_deref(), Some("c1"));
        assert_eq!(context.message_id.as_deref(), Some("m1"));
        assert_eq!(context.user_id.as_deref(), Some("u1"));
        assert_eq!(context.task(), Some("title_generation"));
        assert!(context.features.web_search);
        assert!(context.from_open_webui);
    }

    #[test]
    fn the_user_object_gives_the_user_and_headers_fill_the_gaps() {
        let mut request = body(json!({
            "user": {"id": "u2", "role": "admin", "email": "a@b.c", "name": "A"},
            "orpipe_context": {"message_id": "m2"},
        }));
        let headers = OpenWebUiHeaders {
            chat_id: Some("c-header".into()),
            user_id: Some("u-header".into()),
            ..Default::default()
        };
        let context = OpenWebUiContext::take(&mut request, &headers);
        assert_eq!(context.user_id.as_deref(), Some("u2"), "the body wins");
        assert_eq!(context.user_role.as_deref(), Some("admin"));
        assert_eq!(context.chat_id.as_deref(), Some("c-header"));
        assert_eq!(context.message_id.as_deref(), Some("m2"));
        assert_eq!(
            request["user"]["id"], "u2",
            "the user stays for the translator"
        );
    }

    #[test]
    fn a_plain_client_is_not_open_webui() {
        let mut request = body(json!({"model": "m", "user": "alice"}));
        let context = OpenWebUiContext::take(&mut request, &OpenWebUiHeaders::default());
        assert_eq!(context, OpenWebUiContext::default());
        assert!(!context.from_open_webui);
    }

    #[test]
    fn headers_alone_mark_open_webui() {
        let headers = OpenWebUiHeaders {
            other: true,
            ..Default::default()
        };
        let context = OpenWebUiContext::take(&mut Map::new(), &headers);
        assert!(context.from_open_webui);
    }

    #[test]
    fn odd_context_values_are_ignored_not_fatal() {
        for odd in [
            json!("text"),
            json!(42),
            json!({"chat_id": 7}),
            json!({"features": "on"}),
            json!(null),
        ] {
            let mut request = body(json!({"orpipe_context": odd}));
            let context = OpenWebUiContext::take(&mut request, &OpenWebUiHeaders::default());
            assert!(!request.contains_key(CONTEXT_FIELD));
            assert_eq!(context.chat_id, None, "{odd}");
            assert!(context.from_open_webui, "{odd}: the field says Open WebUI");
        }
        let mut request = body(json!({"orpipe_context": {
            "chat_id": "  ", "user_id": "x".repeat(MAX_ID_CHARS + 1), "user": {"id": 5}}}));
        let context = OpenWebUiContext::take(&mut request, &OpenWebUiHeaders::default());
        assert_eq!(context.chat_id, None, "blank");
        assert_eq!(context.user_id, None, "oversized");
    }
}
