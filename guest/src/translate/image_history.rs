//! Images in a chat's history (FEATURES §4.2): only the latest user turn's images go to
//! the model, at most a configured number; each earlier user message's images become one
//! short text note. A long chat then does not resend (and pay for) every image again, and
//! a chat switched to a model without vision does not fail on images from earlier turns.
//! An image in the latest turn to a model without vision still gets the clear 400 of
//! `fit_model`, which runs after this.
//!
//! Works on the translated Responses `input` (`message` items whose `content` is a list
//! of parts). Pure: no I/O.

use serde_json::{Value, json};

/// Default of `max_input_images`, as the original pipe.
pub const DEFAULT_MAX_IMAGES: usize = 5;

/// What was left out, for the request's log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImagesLeftOut {
    /// Images of earlier user turns, replaced by a note.
    pub earlier: usize,
    /// Images of the latest turn beyond the limit.
    pub over_limit: usize,
}

/// Keeps the latest user turn's first `max_latest` images and turns the others into notes.
pub fn limit_history_images(body: &mut Value, max_latest: usize) -> ImagesLeftOut {
    let mut left_out = ImagesLeftOut::default();
    let Some(input) = body.get_mut("input").and_then(Value::as_array_mut) else {
        return left_out;
    };
    let latest_user = input.iter().rposition(is_user_message);
    for (index, item) in input.iter_mut().enumerate() {
        if !is_user_message(item) {
            continue;
        }
        let Some(parts) = item.get_mut("content").and_then(Value::as_array_mut) else {
            continue;
        };
        let images = parts.iter().filter(|p| is_image(p)).count();
        if images == 0 {
            continue;
        }
        if Some(index) == latest_user {
            let over = images.saturating_sub(max_latest);
            if over > 0 {
                drop_images_after(parts, max_latest);
                parts.push(note(&format!(
                    "[{over} more image(s) attached here were not sent: at most {max_latest} per request]"
                )));
                left_out.over_limit += over;
            }
        } else {
            parts.retain(|p| !is_image(p));
            parts.push(note(&format!(
                "[{images} image(s) from an earlier turn, not sent again]"
            )));
            left_out.earlier += images;
        }
    }
    left_out
}

fn is_user_message(item: &Value) -> bool {
    item.get("role").and_then(Value::as_str) == Some("user")
        && item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message")
            == "message"
}

fn is_image(part: &Value) -> bool {
    part.get("type").and_then(Value::as_str) == Some("input_image")
}

/// Removes every image after the first `keep`, in order.
fn drop_images_after(parts: &mut Vec<Value>, keep: usize) {
    let mut seen = 0;
    parts.retain(|part| {
        if !is_image(part) {
            return true;
        }
        seen += 1;
        seen <= keep
    });
}

fn note(text: &str) -> Value {
    json!({"type": "input_text", "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: u32) -> Value {
        json!({"type": "input_image", "image_url": format!("https://x.test/{n}.png"), "detail": "auto"})
    }

    fn user(parts: Vec<Value>) -> Value {
        json!({"type": "message", "role": "user", "content": parts})
    }

    fn text(t: &str) -> Value {
        json!({"type": "input_text", "text": t})
    }

    #[test]
    fn earlier_images_become_notes_and_the_latest_turn_keeps_its_own() {
        let mut body = json!({"input": [
            user(vec![text("look"), image(1), image(2)]),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a cat"}]},
            user(vec![text("and this?"), image(3)]),
        ]});
        let left_out = limit_history_images(&mut body, 5);
        assert_eq!(
            left_out,
            ImagesLeftOut {
                earlier: 2,
                over_limit: 0
            }
        );
        assert_eq!(
            body["input"][0]["content"],
            json!([
                text("look"),
                text("[2 image(s) from an earlier turn, not sent again]")
            ])
        );
        assert_eq!(
            body["input"][2]["content"],
            json!([text("and this?"), image(3)])
        );
    }

    #[test]
    fn the_latest_turn_is_capped_in_order() {
        let mut body = json!({"input": [user(vec![image(1), text("x"), image(2), image(3)])]});
        let left_out = limit_history_images(&mut body, 2);
        assert_eq!(left_out.over_limit, 1);
        assert_eq!(
            body["input"][0]["content"],
            json!([
                image(1),
                text("x"),
                image(2),
                text("[1 more image(s) attached here were not sent: at most 2 per request]")
            ])
        );
    }

    #[test]
    fn a_history_without_images_or_odd_shapes_is_left_alone() {
        for original in [
            json!({"input": [user(vec![text("hi")])]}),
            json!({"input": [{"type": "message", "role": "user", "content": "plain"}]}),
            json!({"input": "text"}),
            json!({"input": [1, null, {"role": "user"}]}),
            json!({}),
        ] {
            let mut body = original.clone();
            assert_eq!(limit_history_images(&mut body, 5), ImagesLeftOut::default());
            assert_eq!(body, original);
        }
    }

    #[test]
    fn tool_outputs_and_assistant_items_are_not_touched() {
        let output = json!({"type": "function_call_output", "call_id": "c", "output": [image(9)]});
        let mut body = json!({"input": [output.clone(), user(vec![image(1)])]});
        limit_history_images(&mut body, 5);
        assert_eq!(body["input"][0], output);
    }
}
