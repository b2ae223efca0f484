//! The MCP (Model Context Protocol) client's pure core: the operator's server list, the
//! JSON-RPC messages and their HTTP envelope per protocol revision, version negotiation,
//! reading an answer sent as JSON or as an SSE stream, tool lists and tool results, the
//! cached state of each server, and the function names tools are offered under.
//!
//! Nothing here performs I/O: `component::mcp_client` sends what these modules build and
//! feeds them what comes back, so all of it runs natively under `cargo test`.

pub mod answer;
pub mod envelope;
pub mod error;
pub mod jsonrpc;
pub mod names;
pub mod servers;
pub mod status;
pub mod toolbox;
pub mod tools;
pub mod version;
