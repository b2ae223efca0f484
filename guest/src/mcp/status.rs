//! What is known about each configured server, kept in key-value so every instance and
//! replica reads the same tool lists without asking the server: its tools when it last
//! answered, or, while it is down, how often it failed and when to try again. A server
//! that is down offers no tools; the refresh job retries it with exponential back-off.

use super::servers::McpServer;
use super::tools::Tool;
use super::version::Negotiated;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The first retry after a failure; doubled per further failure.
pub const FIRST_RETRY: Duration = Duration::from_secs(15);
/// The longest wait between retries.
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// How often a server that is up is asked for its tools again, by default.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// The key-value key of a server's record.
pub fn record_key(server: &str) -> String {
    format!("mcp:server:{server}")
}

/// The key-value key of a server's negotiated session (shared by every caller, so only
/// the first pays for the handshake).
pub fn session_key(server: &str) -> String {
    format!("mcp:session:{server}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// `McpServer::fingerprint` when written: a record of another URL is not this one's.
    pub fingerprint: String,
    pub state: ServerState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServerState {
    Up {
        protocol_version: String,
        tools: Vec<Tool>,
        fetched_at_ms: u64,
    },
    Down {
        failures: u32,
        error: String,
        retry_at_ms: u64,
    },
}

/// The session record, tied to the server's fingerprint like the tool list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub fingerprint: String,
    pub negotiated: Negotiated,
}

/// The wait before retry number `failures` (1 = after the first failure).
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1u32 << doublings).min(MAX_RETRY)
}

/// The record after a failed refresh.
pub fn failed(
    server: &McpServer,
    previous: Option<&ServerRecord>,
    error: String,
    now_ms: u64,
) -> ServerRecord {
    let failures = match previous.map(|r| &r.state) {
        Some(ServerState::Down { failures, .. }) if valid(server, previous) => {
            failures.saturating_add(1)
        }
        _ => 1,
    };
    let wait = u64::try_from(backoff(failures).as_millis()).unwrap_or(u64::MAX);
    ServerRecord {
        fingerprint: server.fingerprint(),
        state: ServerState::Down {
            failures,
            error,
            retry_at_ms: now_ms.saturating_add(wait),
        },
    }
}

/// Whether `record` describes `server` as configured now.
pub fn valid(server: &McpServer, record: Option<&ServerRecord>) -> bool {
    record.is_some_and(|r| r.fingerprint == server.fingerprint())
}

/// Whether the refresh job should contact `server` now.
pub fn due(
    server: &McpServer,
    record: Option<&ServerRecord>,
    now_ms: u64,
    refresh: Duration,
) -> bool {
    let Some(record) = record.filter(|r| valid(server, Some(r))) else {
        return true;
    };
    match &record.state {
        ServerState::Up { fetched_at_ms, .. } => {
            let refresh_ms = u64::try_from(refresh.as_millis()).unwrap_or(u64::MAX);
            now_ms >= fetched_at_ms.saturating_add(refresh_ms)
        }
        ServerState::Down { retry_at_ms, .. } => now_ms >= *retry_at_ms,
    }
}

/// The tools to offer from `record`: none while the server is down or the record stale.
pub fn offered_tools<'a>(server: &McpServer, record: Option<&'a ServerRecord>) -> &'a [Tool] {
    match record.filter(|r| valid(server, Some(r))).map(|r| &r.state) {
        Some(ServerState::Up { tools, .. }) => tools,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::servers;

    fn server(url: &str) -> McpServer {
        servers::parse(Some(&format!(r#"[{{"name":"s","url":"{url}"}}]"#)))
            .expect("server")
            .remove(0)
    }

    fn up(server: &McpServer, fetched_at_ms: u64) -> ServerRecord {
        ServerRecord {
            fingerprint: server.fingerprint(),
            state: ServerState::Up {
                protocol_version: "2025-11-25".into(),
                tools: vec![Tool {
                    name: "t".into(),
                    description: None,
                    input_schema: serde_json::json!({"type": "object"}),
                }],
                fetched_at_ms,
            },
        }
    }

    #[test]
    fn backoff_doubles_from_fifteen_seconds_up_to_ten_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [15, 30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn a_down_server_offers_nothing_and_is_retried_after_its_backoff() {
        let s = server("https://a.example/mcp");
        let first = failed(&s, None, "refused".into(), 1_000);
        assert_eq!(offered_tools(&s, Some(&first)), &[] as &[Tool]);
        assert!(!due(&s, Some(&first), 1_000 + 14_999, DEFAULT_REFRESH));
        assert!(due(&s, Some(&first), 1_000 + 15_000, DEFAULT_REFRESH));
        let second = failed(&s, Some(&first), "refused".into(), 20_000);
        assert!(matches!(
            second.state,
            ServerState::Down {
                failures: 2,
                retry_at_ms: 50_000,
                ..
            }
        ));
    }

    #[test]
    fn an_up_server_is_refreshed_after_the_period_and_a_changed_url_invalidates_it() {
        let s = server("https://a.example/mcp");
        let record = up(&s, 0);
        assert_eq!(offered_tools(&s, Some(&record)).len(), 1);
        assert!(!due(&s, Some(&record), 299_999, DEFAULT_REFRESH));
        assert!(due(&s, Some(&record), 300_000, DEFAULT_REFRESH));
        let moved = server("https://b.example/mcp");
        assert!(offered_tools(&moved, Some(&record)).is_empty());
        assert!(due(&moved, Some(&record), 1, DEFAULT_REFRESH));
        // A failure after success starts the back-off from the beginning.
        let down = failed(&s, Some(&record), "x".into(), 0);
        assert!(matches!(down.state, ServerState::Down { failures: 1, .. }));
    }
}
