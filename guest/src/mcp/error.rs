//! Why talking to an MCP server failed, in words an operator (log, admin route) and a
//! model (a tool error it can act on) understand. Never holds the server's token.

use super::answer::AnswerError;
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

/// Why a tool the model called produced no output. Its text is what the model is told.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ToolCallError {
    #[error("there is no tool named {0:?}")]
    UnknownTool(String),
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("the MCP server {server:?} failed: {error}")]
    Server { server: String, error: McpError },
}
