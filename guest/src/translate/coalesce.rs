//! Nagle-style coalescing of small text and reasoning deltas (the original pipe's
//! `NagleCoalescer`, FEATURES §5.1, case C28): consecutive deltas of one kind and one item
//! merge into one event, so a client gets fewer, larger chunks.
//!
//! A pure state machine over Responses events. The component does not use it yet:
//! orpipe already writes every frame translated from one upstream read in one write,
//! which saves the syscalls and packets; merging would also change how many chunks a
//! client sees, so it is left for an opt-in setting.
//!
//! Rules: a delta of another kind or item flushes the buffer first; any other
//! (structural) event flushes it and passes through; at the end of a batch the buffer is
//! flushed only when it holds at least `min_flush_chars` characters (the caller flushes
//! the rest on idle or at the end of the stream with [`Coalescer::flush`]). Empty deltas
//! are dropped; a merged event keeps its first event's other fields.

use serde_json::Value;

const BATCHABLE: &[&str] = &[
    "response.output_text.delta",
    "response.reasoning_text.delta",
    "response.reasoning.delta",
];

#[derive(Debug, Default)]
pub struct Coalescer {
    min_flush_chars: usize,
    pending: Option<(Value, String)>,
}

impl Coalescer {
    pub fn new(min_flush_chars: usize) -> Self {
        Self {
            min_flush_chars,
            pending: None,
        }
    }

    /// Takes one event; returns the events ready to translate, in order.
    pub fn push(&mut self, event: Value) -> Vec<Value> {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !BATCHABLE.contains(&kind) {
            let mut out = self.flush();
            out.push(event);
            return out;
        }
        let Some(delta) = event.get("delta").and_then(Value::as_str) else {
            let mut out = self.flush();
            out.push(event);
            return out;
        };
        if delta.is_empty() {
            return Vec::new();
        }
        let delta = delta.to_owned();
        let same_stream = self.pending.as_ref().is_some_and(|(first, _)| {
            first["type"] == event["type"] && first.get("item_id") == event.get("item_id")
        });
        if same_stream {
            if let Some((_, text)) = &mut self.pending {
                text.push_str(&delta);
            }
            return Vec::new();
        }
        let out = self.flush();
        self.pending = Some((event, delta));
        out
    }

    /// The end of a batch of events (one upstream read): flushes a buffer that is big
    /// enough to be worth a chunk.
    pub fn end_of_batch(&mut self) -> Vec<Value> {
        let big_enough = self
            .pending
            .as_ref()
            .is_some_and(|(_, text)| text.chars().count() >= self.min_flush_chars);
        if big_enough { self.flush() } else { Vec::new() }
    }

    /// Everything still buffered, as one event.
    pub fn flush(&mut self) -> Vec<Value> {
        match self.pending.take() {
            Some((mut first, text)) => {
                first["delta"] = Value::String(text);
                vec![first]
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(events: Vec<Value>, min_flush_chars: usize) -> Vec<Value> {
        let mut coalescer = Coalescer::new(min_flush_chars);
        let mut out: Vec<Value> = events.into_iter().flat_map(|e| coalescer.push(e)).collect();
        out.extend(coalescer.end_of_batch());
        out
    }

    #[test]
    fn c28_small_deltas_merge_until_the_kind_changes_or_structure_arrives() {
        let out = run(
            vec![
                json!({"type": "response.output_text.delta", "delta": "He", "item_id": "m1"}),
                json!({"type": "response.output_text.delta", "delta": "llo", "item_id": "m1"}),
                json!({"type": "response.reasoning_text.delta", "delta": "think", "item_id": "r1"}),
                json!({"type": "response.output_item.done", "item": {"type": "message"}}),
            ],
            3,
        );
        assert_eq!(
            out,
            [
                json!({"type": "response.output_text.delta", "item_id": "m1", "delta": "Hello"}),
                json!({"type": "response.reasoning_text.delta", "item_id": "r1", "delta": "think"}),
                json!({"type": "response.output_item.done", "item": {"type": "message"}}),
            ]
        );
    }

    #[test]
    fn a_small_tail_waits_for_more_and_a_big_one_goes_at_the_end_of_the_batch() {
        let delta = |text: &str, item: &str| json!({"type": "response.output_text.delta", "delta": text, "item_id": item, "output_index": 0});
        let mut coalescer = Coalescer::new(3);
        assert!(coalescer.push(delta("Hi", "m1")).is_empty());
        assert!(coalescer.end_of_batch().is_empty(), "2 < 3 characters");
        assert!(
            coalescer.push(delta("", "m1")).is_empty(),
            "empty deltas vanish"
        );
        assert!(coalescer.push(delta("!", "m1")).is_empty());
        assert_eq!(coalescer.end_of_batch(), [delta("Hi!", "m1")]);
        assert!(coalescer.push(delta("a", "m1")).is_empty());
        assert_eq!(
            coalescer.push(delta("b", "m2")),
            [delta("a", "m1")],
            "another item flushes"
        );
        assert_eq!(coalescer.flush(), [delta("b", "m2")]);
        assert!(coalescer.flush().is_empty());
    }
}
