//! An assistant message's text with its hidden markers turned back into the stored items
//! they name (FEATURES §4.3, §5.6). orpipe writes the markers in one block after the text
//! and stores where in the text each item finished (`TEXT_OFFSET_FIELD`), so the items go
//! back in their place; markers inside the text (answers of older versions, or the
//! original pipe's) mark the place themselves. Phase markers split the text into messages
//! for phase-capable models. Pure.

use super::messages::Replay;
use crate::artifacts::capture::TEXT_OFFSET_FIELD;
use crate::markers::{self, Segment};
use serde_json::{Value, json};

/// The assistant's text with each marker replaced by its stored item. orpipe writes the
/// markers in one block after the text; each item then goes back at the place in the text
/// where it finished (stored with it, `TEXT_OFFSET_FIELD`). Markers inside the text (older
/// answers) mark that place themselves.
pub(super) fn replayed_assistant_items(text: &str, replay: &Replay, items: &mut Vec<Value>) {
    if let Some((visible, ids)) = trailing_block(text) {
        let mut placed: Vec<(usize, Value)> = ids
            .iter()
            .filter_map(|id| replay.items.get(*id))
            .map(|item| {
                let (offset, item) = take_offset(item);
                (offset.unwrap_or(visible.len()), item)
            })
            .collect();
        placed.sort_by_key(|(offset, _)| *offset);
        let mut start = 0;
        for (offset, item) in placed {
            let at = char_boundary_at_or_before(visible, offset.clamp(start, visible.len()));
            push_text(visible.get(start..at).unwrap_or_default(), replay, items);
            items.push(item);
            start = at;
        }
        push_text(visible.get(start..).unwrap_or_default(), replay, items);
        return;
    }
    for segment in markers::split(text) {
        match segment {
            Segment::Text(text) => push_text(text, replay, items),
            Segment::Marker(id) => {
                items.extend(replay.items.get(id).map(|item| take_offset(item).1));
            }
        }
    }
}

/// The text before a final block of markers, and the block's ids; `None` when a marker
/// stands before some text.
fn trailing_block(text: &str) -> Option<(&str, Vec<&str>)> {
    let segments = markers::split(text);
    let first = segments
        .iter()
        .position(|s| matches!(s, Segment::Marker(_)))?;
    let mut ids = Vec::new();
    for segment in segments.get(first..).unwrap_or_default() {
        match segment {
            Segment::Marker(id) => ids.push(*id),
            Segment::Text(text) if text.trim().is_empty() => {}
            Segment::Text(_) => return None,
        }
    }
    let visible: usize = segments
        .get(..first)
        .unwrap_or_default()
        .iter()
        .map(|s| match s {
            Segment::Text(text) => text.len(),
            Segment::Marker(_) => 0,
        })
        .sum();
    Some((text.get(..visible)?, ids))
}

/// A stored item without orpipe's offset field, and that offset.
fn take_offset(item: &Value) -> (Option<usize>, Value) {
    let mut item = item.clone();
    let offset = item
        .as_object_mut()
        .and_then(|fields| fields.remove(TEXT_OFFSET_FIELD))
        .and_then(|offset| offset.as_u64())
        .and_then(|offset| usize::try_from(offset).ok());
    (offset, item)
}

fn char_boundary_at_or_before(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Assistant text (markers removed) as messages: with phases, one per phase marker.
fn push_text(text: &str, replay: &Replay, items: &mut Vec<Value>) {
    if replay.phases {
        for (text, phase) in markers::split_phases(text) {
            if text.is_empty() {
                continue;
            }
            let mut message = json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": text}]});
            if let (Some(phase), Some(fields)) = (phase, message.as_object_mut()) {
                fields.insert("phase".into(), Value::String(phase));
            }
            items.push(message);
        }
        return;
    }
    let text = markers::strip(text);
    let text = text.trim();
    if !text.is_empty() {
        items.push(json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text}]}));
    }
}
