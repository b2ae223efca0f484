//! Which identifiers go upstream (FEATURES §4.7) and prompt caching (§4.5, §2.4).
//!
//! - `user`: the Open WebUI user's id (never an email or name), or the client's own `user`
//!   string; off with `send_user_id = false`.
//! - `session_id`: a stable per-chat id, so OpenRouter keeps a conversation on one provider
//!   and its prompt cache. It is a keyed hash of the chat id (HKDF-SHA256 under a secret of
//!   the deployment), never the chat id itself; the client's `session_id` is replaced.
//! - `metadata`: the chat, message and Open WebUI session ids, each by its own setting; when
//!   orpipe sends any, the client's `metadata` is replaced rather than merged.
//! - Anthropic models get OpenRouter's top-level `cache_control` (ephemeral, with the
//!   configured TTL) unless the client sent one.
//!
//! Applied to the translated Responses body; pure, no I/O.

use crate::setting_values::Reader;
use crate::settings::SettingsError;
use hkdf::Hkdf;
use serde_json::{Map, Value, json};
use sha2::Sha256;

const SESSION_SALT: &[u8] = b"orpipe/session-id/v1";
/// OpenRouter's limits (API.md §2): `user` ≤ 128 characters, metadata values ≤ 512.
const USER_MAX_CHARS: usize = 128;
const METADATA_VALUE_MAX_CHARS: usize = 512;

pub mod keys {
    pub const SEND_USER_ID: &str = "send_user_id";
    pub const SEND_CACHE_SESSION_ID: &str = "send_cache_session_id";
    pub const SEND_CHAT_ID: &str = "send_chat_id";
    pub const SEND_MESSAGE_ID: &str = "send_message_id";
    pub const SEND_SESSION_ID: &str = "send_session_id";
    pub const ANTHROPIC_PROMPT_CACHING: &str = "anthropic_prompt_caching";
    pub const ANTHROPIC_CACHE_TTL: &str = "anthropic_cache_ttl";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierSettings {
    pub send_user_id: bool,
    pub send_cache_session_id: bool,
    pub send_chat_id: bool,
    pub send_message_id: bool,
    pub send_session_id: bool,
    pub anthropic_caching: bool,
    /// `1h` instead of the default five minutes (longer TTLs cost more to write).
    pub anthropic_cache_ttl_1h: bool,
}

impl Default for IdentifierSettings {
    fn default() -> Self {
        Self {
            send_user_id: true,
            send_cache_session_id: true,
            send_chat_id: false,
            send_message_id: false,
            send_session_id: false,
            anthropic_caching: true,
            anthropic_cache_ttl_1h: false,
        }
    }
}

impl IdentifierSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let read = Reader::new(lookup);
        Ok(Self {
            send_user_id: read.flag(keys::SEND_USER_ID, defaults.send_user_id)?,
            send_cache_session_id: read
                .flag(keys::SEND_CACHE_SESSION_ID, defaults.send_cache_session_id)?,
            send_chat_id: read.flag(keys::SEND_CHAT_ID, defaults.send_chat_id)?,
            send_message_id: read.flag(keys::SEND_MESSAGE_ID, defaults.send_message_id)?,
            send_session_id: read.flag(keys::SEND_SESSION_ID, defaults.send_session_id)?,
            anthropic_caching: read
                .flag(keys::ANTHROPIC_PROMPT_CACHING, defaults.anthropic_caching)?,
            anthropic_cache_ttl_1h: read.one_of(keys::ANTHROPIC_CACHE_TTL, &["5m", "1h"], "5m")?
                == "1h",
        })
    }
}

/// What orpipe knows about the request's chat (from Open WebUI's context).
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownIds<'a> {
    pub user_id: Option<&'a str>,
    pub chat_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
}

/// Sets `user`, `session_id`, `metadata` and `cache_control` on a translated body.
/// `secret` keys the session id hash; without one no session id is derived.
pub fn apply_identifiers(
    body: &mut Map<String, Value>,
    known: &KnownIds<'_>,
    settings: &IdentifierSettings,
    secret: Option<&str>,
    openrouter_model: &str,
) {
    if !settings.send_user_id {
        body.remove("user");
    } else if let Some(user) = known.user_id {
        body.insert("user".into(), json!(capped(user, USER_MAX_CHARS)));
    }
    if settings.send_cache_session_id
        && let (Some(chat), Some(secret)) = (known.chat_id, secret.filter(|s| !s.is_empty()))
    {
        body.insert("session_id".into(), json!(session_id(secret, chat)));
    }
    let metadata: Map<String, Value> = [
        (settings.send_chat_id, "chat_id", known.chat_id),
        (settings.send_message_id, "message_id", known.message_id),
        (settings.send_session_id, "session_id", known.session_id),
    ]
    .into_iter()
    .filter_map(|(on, key, value)| {
        let value = value.filter(|_| on)?;
        Some((
            key.to_owned(),
            json!(capped(value, METADATA_VALUE_MAX_CHARS)),
        ))
    })
    .collect();
    if !metadata.is_empty() {
        body.insert("metadata".into(), Value::Object(metadata));
    }
    if settings.anthropic_caching
        && openrouter_model.starts_with("anthropic/")
        && !body.contains_key("cache_control")
    {
        let mut cache = json!({"type": "ephemeral"});
        if settings.anthropic_cache_ttl_1h
            && let Some(cache) = cache.as_object_mut()
        {
            cache.insert("ttl".into(), json!("1h"));
        }
        body.insert("cache_control".into(), cache);
    }
}

/// 64 hex characters: HKDF-SHA256 of the chat id under the deployment's secret. Stable per
/// chat and across replicas; reveals neither the chat id nor the secret.
pub fn session_id(secret: &str, chat_id: &str) -> String {
    keyed_hash(SESSION_SALT, secret, chat_id)
}

/// 64 hex characters: HKDF-SHA256 of `value` under `secret`, with `salt` naming what the
/// hash is for (the session id, the usage log's user hash), so one never equals another.
pub(crate) fn keyed_hash(salt: &[u8], secret: &str, value: &str) -> String {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), secret.as_bytes());
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160, so expansion cannot fail.
    let _ = hkdf.expand(value.as_bytes(), &mut out);
    out.iter().map(|b| format!("{b:02x}")).collect()
}

fn capped(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    const OWUI: KnownIds<'static> = KnownIds {
        user_id: Some("u-1"),
        chat_id: Some("chat-1"),
        message_id: Some("m-1"),
        session_id: Some("sid-1"),
    };

    #[test]
    fn open_webui_ids_replace_what_the_client_sent() {
        let mut out = body(json!({"user": "client", "session_id": "client-session",
            "metadata": {"client": "x"}}));
        let settings = IdentifierSettings {
            send_chat_id: true,
            send_message_id: true,
            ..Default::default()
        };
        apply_identifiers(&mut out, &OWUI, &settings, Some("secret"), "openai/gpt-4o");
        assert_eq!(out["user"], "u-1");
        assert_eq!(out["session_id"], session_id("secret", "chat-1"));
        assert_eq!(
            out["metadata"],
            json!({"chat_id": "chat-1", "message_id": "m-1"})
        );
        assert!(!out.contains_key("cache_control"), "not an Anthropic model");
    }

    #[test]
    fn the_session_id_is_a_stable_keyed_hash_never_the_chat_id() {
        let id = session_id("secret", "chat-1");
        assert_eq!(id.len(), 64);
        assert!(!id.contains("chat-1"));
        assert_eq!(id, session_id("secret", "chat-1"), "stable");
        assert_ne!(id, session_id("other secret", "chat-1"), "keyed");
        assert_ne!(id, session_id("secret", "chat-2"), "per chat");
    }

    #[test]
    fn a_plain_client_keeps_its_own_identifiers() {
        let original = json!({"user": "alice", "session_id": "s", "metadata": {"k": "v"}});
        let mut out = body(original.clone());
        apply_identifiers(
            &mut out,
            &KnownIds::default(),
            &IdentifierSettings::default(),
            Some("secret"),
            "openai/gpt-4o",
        );
        assert_eq!(Value::Object(out), original);
    }

    #[test]
    fn switched_off_nothing_identifying_is_added_and_user_is_dropped() {
        let mut out = body(json!({"user": "alice"}));
        let settings = IdentifierSettings {
            send_user_id: false,
            send_cache_session_id: false,
            ..Default::default()
        };
        apply_identifiers(&mut out, &OWUI, &settings, Some("secret"), "openai/gpt-4o");
        assert_eq!(Value::Object(out), json!({}));
        let mut out = Map::new();
        apply_identifiers(&mut out, &OWUI, &IdentifierSettings::default(), None, "m");
        assert!(!out.contains_key("session_id"), "no secret, no session id");
    }

    #[test]
    fn anthropic_models_get_cache_control_unless_the_client_chose() {
        let mut out = Map::new();
        let one_hour = IdentifierSettings {
            anthropic_cache_ttl_1h: true,
            ..Default::default()
        };
        apply_identifiers(
            &mut out,
            &KnownIds::default(),
            &one_hour,
            None,
            "anthropic/claude-sonnet-4.5",
        );
        assert_eq!(
            out["cache_control"],
            json!({"type": "ephemeral", "ttl": "1h"})
        );
        let mut out = body(json!({"cache_control": {"type": "ephemeral"}}));
        apply_identifiers(
            &mut out,
            &KnownIds::default(),
            &one_hour,
            None,
            "anthropic/x",
        );
        assert_eq!(out["cache_control"], json!({"type": "ephemeral"}));
        let mut out = Map::new();
        let off = IdentifierSettings {
            anthropic_caching: false,
            ..Default::default()
        };
        apply_identifiers(&mut out, &KnownIds::default(), &off, None, "anthropic/x");
        assert!(!out.contains_key("cache_control"));
    }

    #[test]
    fn settings_parse_with_clear_errors() {
        let settings = IdentifierSettings::from_lookup(|key| match key {
            keys::SEND_CHAT_ID => Some("on".into()),
            keys::ANTHROPIC_CACHE_TTL => Some("1H".into()),
            _ => None,
        })
        .unwrap();
        assert!(settings.send_chat_id && settings.anthropic_cache_ttl_1h);
        let error = IdentifierSettings::from_lookup(|key| {
            (key == keys::ANTHROPIC_CACHE_TTL).then(|| "2h".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("anthropic_cache_ttl"), "{error}");
        let error = IdentifierSettings::from_lookup(|key| {
            (key == keys::SEND_USER_ID).then(|| "maybe".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("send_user_id"), "{error}");
    }

    #[test]
    fn long_ids_are_capped_to_openrouter_limits() {
        let long = "u".repeat(300);
        let mut out = Map::new();
        let known = KnownIds {
            user_id: Some(&long),
            ..Default::default()
        };
        apply_identifiers(&mut out, &known, &IdentifierSettings::default(), None, "m");
        assert_eq!(out["user"].as_str().map(str::len), Some(USER_MAX_CHARS));
    }
}
