//! The breaker per user and per server tool (issue 10, the original's tool breaker of
//! FEATURES §6.5): `failures` failed calls of one tool by one user within `window_secs`
//! switch that tool off for that user for `cooldown_secs`; the model is told the tool is
//! unavailable ([`unavailable_output`]) instead of the call being made. The tool comes
//! back by itself when the cool-down is over, and the first success clears the record.
//!
//! Half-open: after a cool-down the tool is offered again, but its record remembers that it
//! was off. One more failure within `window_secs` of its coming back switches it off again
//! at once (a tool that is still broken costs one call per cool-down, not `failures`);
//! a success, or a quiet window, forgets it.
//!
//! Separate from the per-user request breaker (`crate::breaker`), and in its style: pure,
//! the clock supplied; the component keeps one [`ToolRecord`] per user and tool in
//! `wasi:keyvalue` under [`storage_key`] (`component/tool_breakers.rs`).
//! "Open" is the breaker's word: an open breaker means the tool is switched off.

use crate::mcp::error::ToolCallError;
use crate::mcp::tools::ToolOutput;
use crate::setting_values::Reader;
use crate::settings::SettingsError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `wasi:config` keys.
pub mod keys {
    pub const FAILURES: &str = "tool_breaker_failures";
    pub const WINDOW_SECS: &str = "tool_breaker_window_secs";
    pub const COOLDOWN_SECS: &str = "tool_breaker_cooldown_secs";
}

/// The most failure times kept, whatever the configuration says (the setting's own
/// maximum): the stored value stays small.
pub const MAX_TRACKED: usize = 100;

/// The longest tool name kept as it is in a storage key; longer (or oddly spelled) names
/// are shortened and made distinct by a hash of the whole name.
const MAX_KEY_TOOL_CHARS: usize = 64;

const DAY: u64 = 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolBreakerPolicy {
    /// Failed calls within the window that switch a tool off; 0 turns the breaker off.
    pub failures: u32,
    pub window_secs: u64,
    /// How long a tool stays off, counted from the failure that switched it off.
    pub cooldown_secs: u64,
}

impl Default for ToolBreakerPolicy {
    fn default() -> Self {
        Self {
            failures: 3,
            window_secs: 300,
            cooldown_secs: 300,
        }
    }
}

/// One user's record for one tool. Both fields are left out when empty, so a stored
/// record is a few bytes; the clean record is never stored (it is deleted instead).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRecord {
    /// Recent failures (unix seconds, oldest first) since the last success or switch-off.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<u64>,
    /// When the tool was last switched off. Kept after the cool-down for the half-open
    /// rule; a success clears it.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<u64>,
}

impl ToolRecord {
    /// Reads a stored record; anything unreadable counts as clean, because a corrupt
    /// record must not switch a tool off.
    pub fn decode(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Nothing to remember: the record to delete rather than store.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty() && self.opened_at.is_none()
    }
}

impl ToolBreakerPolicy {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let read = Reader::new(lookup);
        let default = Self::default();
        let failures = read.number_in(
            keys::FAILURES,
            u64::from(default.failures),
            0..=MAX_TRACKED as u64,
        )?;
        Ok(Self {
            // The range above fits a u32; the fallback is never taken.
            failures: u32::try_from(failures).unwrap_or(default.failures),
            window_secs: read.number_in(keys::WINDOW_SECS, default.window_secs, 1..=DAY)?,
            cooldown_secs: read.number_in(keys::COOLDOWN_SECS, default.cooldown_secs, 1..=DAY)?,
        })
    }

    pub fn is_off(&self) -> bool {
        self.failures == 0
    }

    fn threshold(&self) -> usize {
        (self.failures as usize).min(MAX_TRACKED)
    }

    /// `Some(seconds)` until the tool is offered again while it is switched off at `now`;
    /// `None` when it may be called. A switch-off time further ahead than one cool-down is
    /// taken for a corrupt record and ignored, and the wait reported is at most one
    /// cool-down, so a skewed clock never keeps a tool off for long.
    pub fn reopens_in(&self, record: &ToolRecord, now: u64) -> Option<u64> {
        let opened_at = record.opened_at?;
        if self.is_off() || opened_at > now.saturating_add(self.cooldown_secs) {
            return None;
        }
        let back_at = opened_at.saturating_add(self.cooldown_secs);
        (back_at > now).then(|| (back_at - now).min(self.cooldown_secs))
    }

    /// The record after one more failed call at `now`.
    ///
    /// * While the tool is off, nothing changes: a call that started before another
    ///   replica switched it off does not lengthen the cool-down.
    /// * Within `window_secs` after a cool-down (half-open), it is switched off again.
    /// * Otherwise the failure joins those within the window (older ones, and times from
    ///   the future, are forgotten); the `failures`-th switches the tool off, and the
    ///   cool-down starts at that failure.
    pub fn record_failure(&self, record: &ToolRecord, now: u64) -> ToolRecord {
        if self.is_off() || self.reopens_in(record, now).is_some() {
            return record.clone();
        }
        let switched_off = ToolRecord {
            failures: Vec::new(),
            opened_at: Some(now),
        };
        if let Some(opened_at) = record.opened_at {
            let half_open_until = opened_at
                .saturating_add(self.cooldown_secs)
                .saturating_add(self.window_secs);
            if opened_at <= now && now < half_open_until {
                return switched_off;
            }
        }
        let mut failures: Vec<u64> = record
            .failures
            .iter()
            .copied()
            .filter(|t| *t <= now && now - *t < self.window_secs)
            .collect();
        failures.push(now);
        if failures.len() >= self.threshold() {
            return switched_off;
        }
        ToolRecord {
            failures,
            opened_at: None,
        }
    }

    /// The record after a successful call: clean, whatever came before.
    pub fn record_success(&self) -> ToolRecord {
        ToolRecord::default()
    }
}

/// Whether a call's result counts for the breaker: `Some(true)` a success,
/// `Some(false)` a failure, `None` not at all.
///
/// * A tool's own `isError` answer counts as a failure: MCP servers report their
///   backend's outages that way as often as by failing the call, and a tool the model
///   cannot get to work `failures` times in a row is better left out for a while.
/// * A transport or protocol failure (`ToolCallError::Server`) is a failure; so is a call
///   that ran over its timeout (`ToolCallError::Timeout`).
/// * An unknown tool or unreadable arguments are the model's mistakes made before any
///   call: they say nothing about the tool, so nothing is recorded.
pub fn counts_as(result: &Result<ToolOutput, ToolCallError>) -> Option<bool> {
    match result {
        Ok(output) => Some(!output.is_error),
        Err(ToolCallError::Server { .. } | ToolCallError::Timeout { .. }) => Some(false),
        Err(ToolCallError::UnknownTool(_) | ToolCallError::InvalidArguments(_)) => None,
    }
}

/// What the model reads instead of a switched-off tool's output.
pub fn unavailable_output(tool: &str, reopens_in_secs: u64) -> String {
    let minutes = reopens_in_secs.div_ceil(60).max(1);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!(
        "The tool {tool} is unavailable for now after repeated failures; it is offered again \
         in about {minutes} {unit}. Answer without it."
    )
}

/// The key-value key of one user's record for one tool: `toolbrk:<sha256 of the
/// identity>:<tool>`. The identity appears only hashed; a tool name longer than 64
/// characters or with characters other than ASCII letters, digits, `_`, `-` and `.` is
/// cut to its first 48 such characters plus `~` and 16 hex digits of its own hash, so
/// keys stay short (at most 138 bytes) and distinct.
pub fn storage_key(identity: &str, tool: &str) -> String {
    let user = hex(&Sha256::digest(identity.as_bytes()));
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let tool = if tool.len() <= MAX_KEY_TOOL_CHARS && !tool.is_empty() && tool.chars().all(plain) {
        tool.to_owned()
    } else {
        let head: String = tool.chars().filter(|c| plain(*c)).take(48).collect();
        let digest = hex(&Sha256::digest(tool.as_bytes()));
        format!("{head}~{}", digest.get(..16).unwrap_or(&digest))
    };
    format!("toolbrk:{user}:{tool}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
