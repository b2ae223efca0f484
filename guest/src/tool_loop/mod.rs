//! The tool loop's pure core (issue 10): what a finished response means when it calls
//! server tools (the configured MCP servers' tools, which orpipe runs itself), and the
//! next request built from it. This module never performs I/O: output items and request
//! bodies in, decisions and bodies out; running the calls and streaming the rounds is the
//! component's work.
//!
//! How the component drives it, for one turn:
//!
//! 1. Read [`ToolLoopSettings`] once; `McpTools::load` gives the server tools, whose
//!    `definitions()` are appended to the request's `tools`. Make a [`ToolRounds`] with
//!    `settings.max_rounds` and a [`RoundsUsage`].
//! 2. Send the request; stream its events to the client as usual, except that server
//!    calls (`McpTools::owns`) are not shown as `tool_calls` and a round that continues
//!    sends no finish, usage chunk or `[DONE]` (one client stream spans every round).
//! 3. When the response is finished, add its usage to the [`RoundsUsage`] and ask
//!    [`ToolRounds::finish_response`] with its `output` items and `McpTools::owns`:
//!    * [`RoundOutcome::Done`]: the answer is complete. If [`ToolRounds::answer_missing`],
//!      show [`notices::NO_FINAL_ANSWER`]. Finish with the summed usage.
//!    * [`RoundOutcome::RunServerTools`]: put the calls in a [`RoundResults`]; run them in
//!      the [`batches`] of `settings.parallel_calls` (`McpTools::call_many`, each with
//!      `settings.output_max_bytes`, bounded by `settings.call_timeout_secs`:
//!      [`CallResult::timed_out`] when it runs over), `record` each result by its index;
//!      then [`continuation::next_round`] with `into_output_items(output_max_bytes)` and
//!      go to 2 with the new body.
//!    * [`RoundOutcome::HandToClient`]: run the `server` calls the same way and store them
//!      with their outputs (as artifacts, for the next turn); finish the turn with the
//!      `client` calls as `tool_calls` (`finish_reason: tool_calls`).
//!    * [`RoundOutcome::RoundLimit`]: run nothing; show [`notices::round_limit_notice`];
//!      [`continuation::synthesis_round`] and go to 2 (the model may call no tool there).
//!    * [`RoundOutcome::GaveUp`]: finish the turn with [`notices::gave_up_notice`].
//!
//! A tool that fails, hangs or answers garbage never ends the turn: its output says so
//! ([`outputs::output_text`]) and the model goes on.

pub mod batches;
pub mod breaker;
pub mod calls;
pub mod continuation;
pub mod merged;
pub mod notices;
pub mod outputs;
pub mod rounds;
pub mod settings;
pub mod usage;

#[cfg(test)]
mod breaker_tests;
#[cfg(test)]
mod turn_tests;

pub use batches::batches;
pub use calls::{SplitCalls, ToolCall, split_calls};
pub use outputs::{CallResult, RoundResults};
pub use rounds::{RoundOutcome, ToolRounds};
pub use settings::ToolLoopSettings;
pub use usage::RoundsUsage;
