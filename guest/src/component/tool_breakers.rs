//! The tool breakers' storage: one small record per user and server tool in
//! `wasi:keyvalue` (Redis when configured, so every replica sees the same state). The
//! decisions are `crate::tool_loop::breaker` (pure, where the rules are written down).
//! A missing or failing store never blocks a call: the breakers then simply never trip.
//!
//! All of a request's records are read at once when it starts; each call's result is
//! written back only when it changes the record. Read-modify-write without a lock, as
//! for the request breaker: two replicas failing the same tool at the same moment may
//! count it once.

use super::{kv, log, unix_now};
use crate::logline::{Event, Level};
use crate::tool_loop::breaker::{ToolBreakerPolicy, ToolRecord, storage_key};
use std::collections::BTreeMap;

/// One tool's storage key and its record as last read or written.
struct Entry {
    key: String,
    record: ToolRecord,
}

/// One user's breakers for the server tools of one request.
pub struct ToolBreakers {
    policy: ToolBreakerPolicy,
    /// By function name; empty when the breaker is off or the request names nobody.
    tools: BTreeMap<String, Entry>,
}

impl ToolBreakers {
    /// Reads the records of `tool_names` (the server tools' function names) for
    /// `identity` (`crate::breaker::user_identity`; only its hash is stored), in one
    /// key-value round trip. No identity, or a policy with `failures: 0`: every tool is
    /// always offered and nothing is stored.
    pub fn load(policy: &ToolBreakerPolicy, identity: Option<&str>, tool_names: &[&str]) -> Self {
        let mut tools = BTreeMap::new();
        if let (Some(identity), false) = (identity, policy.is_off()) {
            for name in tool_names {
                tools.entry((*name).to_owned()).or_insert_with(|| Entry {
                    key: storage_key(identity, name),
                    record: ToolRecord::default(),
                });
            }
            let keys: Vec<&str> = tools.values().map(|e| e.key.as_str()).collect();
            let found = kv::get_many(&keys);
            for (entry, bytes) in tools.values_mut().zip(found) {
                if let Some(bytes) = bytes {
                    entry.record = ToolRecord::decode(&bytes);
                }
            }
        }
        Self {
            policy: *policy,
            tools,
        }
    }

    /// Whether the tool `name` is switched off for this user now (the call is not made
    /// and the model reads `tool_loop::breaker::unavailable_output` instead): the seconds
    /// until the switched-off tool `name` is offered again; `None` when it may be
    /// called (or is no tool this request loaded).
    pub fn reopens_in_secs(&self, name: &str) -> Option<u64> {
        let entry = self.tools.get(name)?;
        self.policy.reopens_in(&entry.record, unix_now().0)
    }

    /// Records how a call of `name` went: `ok` as `tool_loop::breaker::counts_as` says
    /// (a tool's own `isError` answer and a timeout are failures; a call never made, for
    /// bad arguments, is not recorded at all). Writes only when the record changes, so a
    /// success on a clean record costs nothing; a record that becomes clean is deleted.
    pub fn record(&mut self, name: &str, ok: bool) {
        let Some(entry) = self.tools.get_mut(name) else {
            return;
        };
        let now = unix_now().0;
        let next = if ok {
            self.policy.record_success()
        } else {
            self.policy.record_failure(&entry.record, now)
        };
        if next == entry.record {
            return;
        }
        // A store that cannot be written only means the breaker does not trip.
        let _ = if next.is_clean() {
            kv::delete(&entry.key)
        } else {
            kv::set(&entry.key, next.encode())
        };
        let was_open = self.policy.reopens_in(&entry.record, now).is_some();
        if !was_open && self.policy.reopens_in(&next, now).is_some() {
            // The key names no user (a hash), yet lets an operator follow one breaker.
            log::event(
                Level::Warn,
                "tool breaker opened",
                Event::ToolBreakerTripped,
                &[
                    ("tool", serde_json::json!(name)),
                    ("breaker", serde_json::json!(entry.key)),
                    (
                        "cooldown_secs",
                        serde_json::json!(self.policy.cooldown_secs),
                    ),
                ],
            );
        }
        entry.record = next;
    }
}
