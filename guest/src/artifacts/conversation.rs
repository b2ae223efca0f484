//! Which conversation a request belongs to: artifacts are stored and looked up per
//! conversation, so a history can only replay what was written for that conversation.
//!
//! Open WebUI names its chats: with `ENABLE_FORWARD_USER_INFO_HEADERS` it sends
//! `X-OpenWebUI-Chat-Id`, and that id is used as is. Other clients send no id, so one is
//! derived from the start of the conversation, which every later turn repeats: a SHA-256
//! of the messages up to and including the first user message. Two conversations that
//! open with the same words share an id; their artifacts still cannot mix, because a
//! history only replays the ULIDs its own answers carry. Editing that first message
//! starts a new conversation (earlier reasoning is then not replayed).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Longest chat id header accepted; longer ones fall back to the derived id.
const MAX_HEADER_ID: usize = 128;

pub fn conversation_id(chat_id_header: Option<&str>, messages: &[Value]) -> Option<String> {
    if let Some(id) = chat_id_header
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= MAX_HEADER_ID)
    {
        return Some(format!("owui:{id}"));
    }
    let first_user = messages
        .iter()
        .position(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    let mut hash = Sha256::new();
    for message in messages.iter().take(first_user.saturating_add(1)) {
        // Role and content only: clients add or drop other fields (ids, names) freely.
        let role = message.get("role").unwrap_or(&Value::Null);
        let content = message.get("content").unwrap_or(&Value::Null);
        // Serialized straight into the hash: content can be a ~60 MiB inline image, and a
        // `to_string` copy of it (doubling as it grows) could exhaust the guest's memory.
        for value in [role, content] {
            // Writing into a hash cannot fail, nor can serializing a `Value`.
            let _ = serde_json::to_writer(HashWriter(&mut hash), value);
            hash.update(b"\n");
        }
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Some(format!("h:{hex}"))
}

/// Feeds what is written to a SHA-256 (`sha2` without `std` has no `io::Write`).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_header_wins_when_usable() {
        let messages = [json!({"role": "user", "content": "hi"})];
        assert_eq!(
            conversation_id(Some(" 1f2e-chat "), &messages).as_deref(),
            Some("owui:1f2e-chat")
        );
        let long = "x".repeat(200);
        assert!(conversation_id(Some(&long), &messages).is_some_and(|id| id.starts_with("h:")));
    }

    #[test]
    fn later_turns_of_a_conversation_get_the_same_derived_id() {
        let turn1 = [
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "Hi", "name": "ann"}),
        ];
        let turn2 = [
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "Hi"}),
            json!({"role": "assistant", "content": "Hello"}),
            json!({"role": "user", "content": "More"}),
        ];
        let other = [json!({"role": "user", "content": "Hi"})];
        let id = conversation_id(None, &turn1);
        // Pinned: stored artifacts are found by this id, so it must never change.
        // SHA-256 of "\"system\"\n\"Be brief.\"\n\"user\"\n\"Hi\"\n", first 16 bytes.
        assert_eq!(id.as_deref(), Some("h:18be59e5e3bf8207eee070a1b550ad0b"));
        assert_eq!(id, conversation_id(Some(""), &turn2));
        assert_ne!(id, conversation_id(None, &other));
        assert_eq!(
            conversation_id(None, &[json!({"role": "system", "content": "x"})]),
            None
        );
    }
}
