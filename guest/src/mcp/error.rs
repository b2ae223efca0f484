//! Why talking to an MCP server failed, in words an operator (log, admin route) and a
//! model (a tool error it can act on) understand. Never holds the server's token.

use super::answer::AnswerError;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum McpError {
    /// The host refused the connection: origin not configured, or a private address on a
    /// server not marked internal.
    #[error("the host refused the connection (a private address needs `internal: true`)")]
    Refused,
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    #[error("the server did not answer within {0} s")]
    Timeout(u64),
    #[error("the server answered HTTP {0}")]
    Http(u16),
    #[error("{0}")]
    Answer(#[from] AnswerError),
    #[error("the server returned JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("version negotiation failed: {0}")]
    Version(String),
    /// The server forgot the session (HTTP 404 to a request carrying it), twice in a row.
    #[error("the server keeps losing the session")]
    SessionLost,
    /// A 2026-07-28 server asked for input orpipe cannot give (elicitation, sampling).
    #[error("the tool asked for input orpipe cannot provide")]
    InputRequired,
    #[error("the server's answer is malformed: {0}")]
    Malformed(String),
}

impl McpError {
    /// Ran past `limit`, named in whole seconds rounded up (never "0 s").
    pub fn timeout_after(limit: Duration) -> Self {
        let secs = limit.as_secs();
        Self::Timeout(if limit.subsec_nanos() > 0 {
            secs.saturating_add(1)
        } else {
            secs
        })
    }
}

/// Why a tool the model called produced no output. Its text is what the model is told.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ToolCallError {
    #[error("there is no tool named {0:?}")]
    UnknownTool(String),
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("the MCP server {server:?} failed: {error}")]
    Server { server: String, error: McpError },
    /// The call ran past its time limit (the caller's, or the server's shorter one).
    #[error("the MCP server {server:?} did not finish the call within {secs} s")]
    Timeout { server: String, secs: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_names_whole_seconds_rounded_up() {
        assert_eq!(
            McpError::timeout_after(Duration::from_secs(30)),
            McpError::Timeout(30)
        );
        assert_eq!(
            McpError::timeout_after(Duration::from_millis(1500)),
            McpError::Timeout(2)
        );
        assert_eq!(
            McpError::timeout_after(Duration::from_millis(1)),
            McpError::Timeout(1)
        );
        assert_eq!(
            McpError::timeout_after(Duration::MAX),
            McpError::Timeout(u64::MAX)
        );
    }

    #[test]
    fn a_call_over_time_says_which_server_and_how_long() {
        let error = ToolCallError::Timeout {
            server: "kb".into(),
            secs: 15,
        };
        assert_eq!(
            error.to_string(),
            "the MCP server \"kb\" did not finish the call within 15 s"
        );
    }
}
