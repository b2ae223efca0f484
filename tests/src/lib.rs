//! Test support for orpipe: everything a test or the benchmark needs around the gateway.
//!
//! - [`mock`]: an in-process OpenRouter stand-in ([`MockOpenRouter`]) that replays the
//!   recorded fixtures, injects failures and generates paced synthetic streams.
//! - [`mock_mcp`]: an MCP server whose tools are faults ([`MockMcpServer`]).
//! - [`harness`]: starts the real `orpipe` binary against a mock ([`Orpipe`]).
//! - [`client`]: a small HTTP client that timestamps every SSE event as it arrives.
//! - [`stats`]: percentiles over latency samples, for the benchmark.
//! - [`fixtures`]: where the recorded OpenRouter payloads live and how to read them.
//! - [`wait`]: [`eventually`], the one way a test waits for an effect it cannot be told about.
//! - [`require`]: [`require_tool`] and [`require_env`], the one way a test skips for lack of
//!   an optional tool or service (a failure under `ORPIPE_REQUIRE_ALL=1`).
//!
//! Everything talks over loopback only.
//!
//! A typical end-to-end test:
//!
//! ```no_run
//! use orpipe_testkit::{MockOpenRouter, Orpipe, Reply, client};
//! use serde_json::json;
//!
//! # async fn example() -> anyhow::Result<()> {
//! let mock = MockOpenRouter::start().await?;
//! mock.enqueue(Reply::stream("stream_tool_call.sse").split_every(7));
//! // In the host's integration tests: env!("CARGO_BIN_EXE_orpipe").
//! let binary = std::path::Path::new("target/debug/orpipe");
//! let orpipe = Orpipe::spawn(
//!     binary,
//!     &mock.base_url(),
//!     &[("ORPIPE_API_KEYS", "sk-client")],
//! )
//! .await?;
//! let body = json!({"model": "openai/gpt-4o-mini", "stream": true,
//!                   "messages": [{"role": "user", "content": "weather?"}]});
//! let result = client::stream_sse(&orpipe.url("/v1/chat/completions"), &body, Some("sk-client")).await?;
//! assert!(result.saw_done());
//! let upstream = mock.responses_requests()[0].json()?; // exactly what orpipe sent upstream
//! # let _ = upstream;
//! # Ok(())
//! # }
//! ```

mod accept;
pub mod client;
pub mod fixtures;
pub mod harness;
pub mod mock;
pub mod mock_mcp;
pub mod mute;
pub mod require;
pub mod stats;
pub mod wait;

pub use client::{Frame, HttpClient, HttpResponse, StreamOutcome, StreamResult};
pub use fixtures::fixtures_dir;
pub use harness::Orpipe;
pub use mock::{
    Gate, LOOP_STOPPED_TEXT, MockOpenRouter, RecordedRequest, Reply, ReplyChooser, Split,
    StreamEnd, StreamReply, SyntheticStream, TOOL_RESULTS_PREFIX, tool_calling_chooser,
};
pub use mock_mcp::MockMcpServer;
pub use orpipe_guest::markers;
pub use orpipe_guest::sse::SseEvent;
pub use require::{require_env, require_tool, skip};
pub use wait::eventually;
