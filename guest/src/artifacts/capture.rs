//! Which output items of an answer become artifacts, and their final form.
//!
//! A reasoning item is worth keeping when it carries something the model can use on the
//! next turn: `encrypted_content`, a summary, reasoning text, or `reasoning_details`
//! (signatures). It is captured when its `output_item.done` arrives, so its marker can
//! go out at that point of the answer; the final payload (`response.completed`) then
//! replaces it with the complete version (signatures often arrive only there) and adds
//! any reasoning item that was never announced. Tool items come back from clients as
//! `tool_calls` and `tool` messages, so only reasoning needs storing today.

use serde_json::Value;

/// Where in the answer's text (bytes of content sent before it) an item finished. Stored
/// inside the artifact, since its marker now sits at the end of the answer: replay puts
/// the item back at this point of the text (`translate::to_responses::messages`) and
/// removes the field before anything goes upstream.
pub const TEXT_OFFSET_FIELD: &str = "orpipe_text_offset";

#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    /// The artifact id (a ULID) its marker carries.
    pub id: String,
    pub item: Value,
}

pub struct Capture {
    new_id: Box<dyn FnMut() -> String>,
    captured: Vec<Captured>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("captured", &self.captured)
            .finish_non_exhaustive()
    }
}

fn non_empty(item: &Value, field: &str) -> bool {
    match item.get(field) {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    }
}

/// True for an item worth replaying on a later turn.
pub fn worth_keeping(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("reasoning")
        && [
            "encrypted_content",
            "summary",
            "content",
            "reasoning_details",
        ]
        .iter()
        .any(|field| non_empty(item, field))
}

impl Capture {
    /// `new_id` mints artifact ids (fresh ULIDs in the component, fixed ones in tests).
    pub fn new(new_id: impl FnMut() -> String + 'static) -> Self {
        Self {
            new_id: Box::new(new_id),
            captured: Vec::new(),
        }
    }

    /// A finished output item, `text_offset` bytes of answer text after the start: its
    /// artifact id if it is kept and new. A known item is replaced by this later version
    /// (keeping where it first finished).
    pub fn item_done(&mut self, item: &Value, text_offset: usize) -> Option<String> {
        if !worth_keeping(item) {
            return None;
        }
        let known = self.position_of(item);
        if let Some(slot) = known.and_then(|at| self.captured.get_mut(at)) {
            let offset = slot.item.get(TEXT_OFFSET_FIELD).cloned();
            slot.item = item.clone();
            if let (Some(offset), Some(fields)) = (offset, slot.item.as_object_mut()) {
                fields.insert(TEXT_OFFSET_FIELD.into(), offset);
            }
            return None;
        }
        Some(self.keep(item, text_offset))
    }

    /// Keeps `item` whatever its type (a server tool's call or output, which the tool loop
    /// stores so later turns replay it), finished at `text_offset`; returns its new id.
    pub fn keep(&mut self, item: &Value, text_offset: usize) -> String {
        let id = (self.new_id)();
        let mut item = item.clone();
        if let Some(fields) = item.as_object_mut() {
            fields.insert(TEXT_OFFSET_FIELD.into(), Value::from(text_offset));
        }
        self.captured.push(Captured {
            id: id.clone(),
            item,
        });
        id
    }

    /// The final payload (`response.completed`'s output), at the end of the text: its
    /// complete versions replace what was captured, and items never seen before are
    /// added; returns the new ids.
    pub fn final_output(&mut self, output: &[Value], text_offset: usize) -> Vec<String> {
        output
            .iter()
            .filter_map(|item| self.item_done(item, text_offset))
            .collect()
    }

    fn position_of(&self, item: &Value) -> Option<usize> {
        let id = item.get("id").and_then(Value::as_str)?;
        self.captured
            .iter()
            .position(|c| c.item.get("id").and_then(Value::as_str) == Some(id))
    }

    #[cfg(test)]
    pub fn captured(&self) -> &[Captured] {
        &self.captured
    }

    pub fn into_captured(self) -> Vec<Captured> {
        self.captured
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("ID{n}")
        }
    }

    fn with_offset(mut item: Value, offset: usize) -> Value {
        item[TEXT_OFFSET_FIELD] = json!(offset);
        item
    }

    #[test]
    fn reasoning_with_content_is_kept_and_finalized_by_the_last_payload() {
        let mut capture = Capture::new(counter());
        let streamed = json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "plan"}]});
        assert_eq!(capture.item_done(&streamed, 0), Some("ID1".into()));
        assert_eq!(
            capture.item_done(&json!({"type": "message", "id": "m"}), 0),
            None
        );
        assert_eq!(
            capture.item_done(
                &json!({"type": "reasoning", "id": "rs_e", "summary": []}),
                0
            ),
            None
        );
        let final_version = json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAA"});
        let late = json!({"type": "reasoning", "id": "rs_2", "encrypted_content": "gBBB"});
        let new_ids = capture.final_output(
            &[
                final_version.clone(),
                json!({"type": "message"}),
                late.clone(),
            ],
            42,
        );
        assert_eq!(new_ids, vec!["ID2".to_owned()]);
        assert_eq!(
            capture.into_captured(),
            vec![
                Captured {
                    id: "ID1".into(),
                    item: with_offset(final_version, 0)
                },
                Captured {
                    id: "ID2".into(),
                    item: with_offset(late, 42)
                },
            ]
        );
    }

    #[test]
    fn reasoning_without_anything_to_replay_is_not_kept() {
        for item in [
            json!({"type": "reasoning"}),
            json!({"type": "reasoning", "encrypted_content": "  ", "summary": null}),
            json!({"type": "function_call", "encrypted_content": "x"}),
            json!("reasoning"),
        ] {
            assert!(!worth_keeping(&item), "{item}");
        }
        assert!(worth_keeping(
            &json!({"type": "reasoning", "reasoning_details": [{"signature": "s"}]})
        ));
    }
}
