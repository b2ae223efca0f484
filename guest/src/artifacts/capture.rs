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

    /// A finished output item: its artifact id if it is kept.
    pub fn item_done(&mut self, item: &Value) -> Option<String> {
        if !worth_keeping(item) {
            return None;
        }
        let known = self.position_of(item);
        if let Some(slot) = known.and_then(|at| self.captured.get_mut(at)) {
            slot.item = item.clone();
            return None;
        }
        let id = (self.new_id)();
        self.captured.push(Captured {
            id: id.clone(),
            item: item.clone(),
        });
        Some(id)
    }

    /// The final payload's output: earlier captures take their final form; the ids of
    /// items seen only now are returned, for markers at the end of the answer.
    pub fn final_output(&mut self, output: &[Value]) -> Vec<String> {
        output
            .iter()
            .filter_map(|item| self.item_done(item))
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

    #[test]
    fn reasoning_with_content_is_kept_and_finalized_by_the_last_payload() {
        let mut capture = Capture::new(counter());
        let streamed = json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "plan"}]});
        assert_eq!(capture.item_done(&streamed), Some("ID1".into()));
        assert_eq!(
            capture.item_done(&json!({"type": "message", "id": "m"})),
            None
        );
        assert_eq!(
            capture.item_done(&json!({"type": "reasoning", "id": "rs_e", "summary": []})),
            None
        );
        let final_version = json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAA"});
        let late = json!({"type": "reasoning", "id": "rs_2", "encrypted_content": "gBBB"});
        let new_ids = capture.final_output(&[
            final_version.clone(),
            json!({"type": "message"}),
            late.clone(),
        ]);
        assert_eq!(new_ids, vec!["ID2".to_owned()]);
        assert_eq!(
            capture.into_captured(),
            vec![
                Captured {
                    id: "ID1".into(),
                    item: final_version
                },
                Captured {
                    id: "ID2".into(),
                    item: late
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
