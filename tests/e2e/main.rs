//! End-to-end tests: the real `orpipe` binary (built by this package) against the mock
//! OpenRouter, over loopback HTTP. One test binary, one module per area.

mod component;
mod fixtures_streams;
mod openai_sdk;
mod spine;

use orpipe_testkit::{MockOpenRouter, Orpipe};
use std::path::Path;

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
