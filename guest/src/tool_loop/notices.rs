//! What the loop tells the model and the user when it stops short: the stub output of a
//! call it did not run (the original's `TOOL_CALL_SKIPPED`), the notice for the user when
//! the round limit was reached, and the text for an answer that stayed empty after tools.

use super::settings::keys;

/// The answer after tool rounds was empty (the original's wording, FEATURES §6.3).
pub const NO_FINAL_ANSWER: &str = "I couldn't produce a final answer after running tools. \
     Please retry with a narrower tool query or a shorter context window.";

/// The output the model reads for a call left unrun at the round limit: it says why and
/// asks for an answer from what is already there.
pub fn skipped_call_output(max_rounds: u32) -> String {
    format!(
        "TOOL_CALL_SKIPPED: tool-call loop limit reached ({max_rounds}/{max_rounds}); call not \
         executed, so no output is available. Respond to the user using existing context \
         (no further tool calls)."
    )
}

/// For the user (a card or a status line) when the limit stopped the tools.
pub fn round_limit_notice(max_rounds: u32) -> String {
    format!(
        "orpipe stopped running tools after {max_rounds} rounds (the limit for one answer, \
         setting `{}`); the model was asked to answer with what the tools returned so far.",
        keys::MAX_ROUNDS
    )
}

/// For the user when the model kept calling server tools even after it was asked to
/// answer without them: the turn ends there.
pub fn gave_up_notice(max_rounds: u32) -> String {
    format!(
        "The model kept calling tools after orpipe's limit of {max_rounds} tool rounds \
         (setting `{}`), so the answer stops here. Please retry with a narrower question.",
        keys::MAX_ROUNDS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_the_limit_and_the_setting() {
        assert!(
            skipped_call_output(3)
                .starts_with("TOOL_CALL_SKIPPED: tool-call loop limit reached (3/3)")
        );
        for notice in [round_limit_notice(3), gave_up_notice(3)] {
            assert!(notice.contains(" 3 "), "{notice}");
            assert!(notice.contains(keys::MAX_ROUNDS), "{notice}");
        }
    }
}
