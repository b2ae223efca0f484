//! End-to-end tests: the real `orpipe` binary (built by this package) against the mock
//! OpenRouter, over loopback HTTP. One test binary, one module per area.

// The host's no-panic lints are for the product's code; test helpers fail by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admission;
mod artifacts;
mod body_limit;
mod client_identity;
mod compile_cache;
mod component;
mod connect_timeout;
mod effort_retry;
mod faults;
mod fixtures_streams;
mod intake;
mod openai_sdk;
mod retries;
mod sandbox;
mod shutdown;
mod spine;
mod task_stubs;
mod valves;

use orpipe_testkit::{MockOpenRouter, Orpipe};
use std::path::Path;

/// How long a test waits for a log line it expects.
pub const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a Markdown renderer shows of an answer: its hidden marker lines
/// (`[<ULID>]: #`, one per stored reasoning item) removed.
pub fn rendered(content: &str) -> String {
    orpipe_testkit::markers::strip(content).trim().to_owned()
}

/// The client key the tests configure orpipe with.
pub const CLIENT_KEY: &str = "sk-orpipe-test";

/// Starts orpipe against `mock` with client authentication on.
pub async fn start(mock: &MockOpenRouter, extra_env: &[(&str, &str)]) -> Orpipe {
    let mut env = vec![("ORPIPE_API_KEYS", CLIENT_KEY)];
    env.extend_from_slice(extra_env);
    Orpipe::spawn(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        &mock.base_url(),
        &env,
    )
    .await
    .expect("orpipe starts")
}
