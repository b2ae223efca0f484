//! The phase marker that follows a message carrying a `phase` (GPT-5.x `commentary` /
//! `final_answer`), so a later turn can send the phase back. Markers exist for replay,
//! so only answers whose artifacts are kept get one; streams and whole answers alike.

use crate::markers;

/// The text to put after the message, if any.
pub fn marker_after_message(phase: Option<&str>, capturing: bool) -> Option<String> {
    let line = markers::phase_marker_line(phase?);
    (capturing && markers::is_phase_marker(&line)).then(|| format!("\n\n{line}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kept_answers_with_a_phase_get_a_marker() {
        assert_eq!(
            marker_after_message(Some("final_answer"), true).as_deref(),
            Some("\n\n[P:final_answer]: #\n\n")
        );
        assert_eq!(marker_after_message(Some("final_answer"), false), None);
        assert_eq!(marker_after_message(None, true), None);
    }
}
