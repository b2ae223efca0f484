//! The operator's limits on the tool loop: how many rounds, how many calls at once, how
//! much of each output the model reads, how long one call may take. Pure.

use crate::mcp::tools::DEFAULT_MAX_OUTPUT_BYTES;
use crate::setting_values::Reader;
use crate::settings::SettingsError;

/// `wasi:config` keys (registered in `valves::registry`).
pub mod keys {
    pub const MAX_ROUNDS: &str = "tool_loop_max_rounds";
    pub const PARALLEL_CALLS: &str = "tool_loop_parallel_calls";
    pub const OUTPUT_MAX_BYTES: &str = "tool_output_max_bytes";
    pub const CALL_TIMEOUT_SECS: &str = "tool_call_timeout_secs";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLoopSettings {
    /// Responses requests one turn may make while server tools are called (the first one
    /// included); the round that reaches it gets its calls answered with a "not run" stub
    /// and one synthesis request follows.
    pub max_rounds: u32,
    /// Server-tool calls run at once within one request.
    pub parallel_calls: usize,
    /// Bytes of one tool's output the model reads; the rest is cut with a note.
    pub output_max_bytes: usize,
    /// Seconds one call may take (the MCP server's own `timeout_secs` may be shorter).
    pub call_timeout_secs: u64,
}

impl Default for ToolLoopSettings {
    fn default() -> Self {
        Self {
            max_rounds: 8,
            parallel_calls: 4,
            output_max_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            call_timeout_secs: 60,
        }
    }
}

impl ToolLoopSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = Reader::new(lookup);
        let default = Self::default();
        let max_rounds = read.number_in(keys::MAX_ROUNDS, u64::from(default.max_rounds), 1..=50)?;
        let parallel_calls =
            read.number_in(keys::PARALLEL_CALLS, default.parallel_calls as u64, 1..=32)?;
        let output_max_bytes = read.number_in(
            keys::OUTPUT_MAX_BYTES,
            default.output_max_bytes as u64,
            1024..=8 * 1024 * 1024,
        )?;
        Ok(Self {
            // The ranges above fit both types; the fallbacks are never taken.
            max_rounds: u32::try_from(max_rounds).unwrap_or(default.max_rounds),
            parallel_calls: usize::try_from(parallel_calls).unwrap_or(default.parallel_calls),
            output_max_bytes: usize::try_from(output_max_bytes).unwrap_or(default.output_max_bytes),
            call_timeout_secs: read.number_in(
                keys::CALL_TIMEOUT_SECS,
                default.call_timeout_secs,
                1..=600,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<ToolLoopSettings, SettingsError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ToolLoopSettings::from_lookup(move |key| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn unset_keys_give_the_defaults() {
        assert_eq!(settings(&[]), Ok(ToolLoopSettings::default()));
        let defaults = ToolLoopSettings::default();
        assert_eq!(defaults.max_rounds, 8);
        assert_eq!(defaults.parallel_calls, 4);
        assert_eq!(defaults.output_max_bytes, 64 * 1024);
        assert_eq!(defaults.call_timeout_secs, 60);
    }

    #[test]
    fn every_key_is_read() {
        let read = settings(&[
            (keys::MAX_ROUNDS, "3"),
            (keys::PARALLEL_CALLS, " 2 "),
            (keys::OUTPUT_MAX_BYTES, "4096"),
            (keys::CALL_TIMEOUT_SECS, "15"),
        ]);
        assert_eq!(
            read,
            Ok(ToolLoopSettings {
                max_rounds: 3,
                parallel_calls: 2,
                output_max_bytes: 4096,
                call_timeout_secs: 15,
            })
        );
    }

    #[test]
    fn values_out_of_range_are_refused_naming_the_key() {
        for (key, bad) in [
            (keys::MAX_ROUNDS, "0"),
            (keys::MAX_ROUNDS, "51"),
            (keys::PARALLEL_CALLS, "0"),
            (keys::OUTPUT_MAX_BYTES, "10"),
            (keys::CALL_TIMEOUT_SECS, "601"),
            (keys::CALL_TIMEOUT_SECS, "soon"),
        ] {
            let error = settings(&[(key, bad)]).expect_err(bad);
            assert!(error.to_string().contains(key), "{key}={bad}: {error}");
        }
    }
}
