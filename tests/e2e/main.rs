//! End-to-end tests: the real `orpipe` binary (built by this package) against the mock
//! OpenRouter, over loopback HTTP. One test binary, one module per area.

// The host's no-panic lints are for the product's code; test helpers fail by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admission;
mod artifacts;
mod body_limit;
mod chat_endpoint;
mod client_identity;
mod compile_cache;
mod component;
mod connect_timeout;
mod effort_retry;
mod error_cards;
mod faults;
mod fixtures_streams;
mod identifiers;
mod image_history;
mod intake;
mod mcp;
mod mcp_faults;
mod metrics;
mod open_webui_events;
mod openai_sdk;
mod reload;
mod retries;
mod sandbox;
mod shutdown;
mod spine;
mod task_stubs;
mod tool_loop;
mod usage_deferred;
mod usage_export;
mod valves;
mod zdr;

use orpipe_testkit::{MockOpenRouter, Orpipe, Reply};
use std::path::Path;

/// How long a test waits for a log line it expects.
pub const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a Markdown renderer shows of an answer: its hidden marker lines
/// (`[<ULID>]: #`, one per stored reasoning item) removed.
pub fn rendered(content: &str) -> String {
    orpipe_testkit::markers::strip(content).trim().to_owned()
}

/// The text a stream's chunks carry in `delta.<field>` (`content`, `reasoning`, …), joined.
pub fn joined(chunks: &[serde_json::Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][field].as_str())
        .collect()
}

/// The embedded guest with one custom section appended: the same behaviour, other bytes
/// (and so another hash and another compiled artifact). `payload` tells builds apart.
pub fn another_build(payload: &[u8]) -> Vec<u8> {
    let mut build = std::fs::read(env!("ORPIPE_GUEST_WASM_PATH")).expect("guest");
    let name = b"orpipe-test";
    build.push(0); // custom section
    let size = 1 + name.len() + payload.len();
    // Sizes are LEB128: one byte each while under 128.
    assert!(
        size < 128,
        "a payload of {} bytes is too long",
        payload.len()
    );
    build.push(u8::try_from(size).expect("short"));
    build.push(u8::try_from(name.len()).expect("short"));
    build.extend_from_slice(name);
    build.extend_from_slice(payload);
    build
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

/// OpenRouter's 503 when no provider instance is free: a transient failure, retried and
/// counted by the breaker.
pub fn service_unavailable() -> Reply {
    Reply::http_error(
        503,
        r#"{"error":{"code":503,"message":"No instances available"}}"#,
    )
}

/// A PostgreSQL schema of its own for one test, so runs never see each other's rows.
pub struct PgSchema {
    /// A connection for the test's own queries (outside the schema's search path).
    pub admin: tokio_postgres::Client,
    /// The schema's name; it also makes a unique Redis prefix.
    pub name: String,
    /// `ORPIPE_DATABASE_URL` for orpipe: the server at `pg`, searching this schema.
    pub database_url: String,
}

impl PgSchema {
    pub async fn create(pg: &str) -> Self {
        let name = format!(
            "orpipe_test_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let (admin, connection) = tokio_postgres::connect(pg, tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .expect("create schema");
        let separator = if pg.contains('?') { '&' } else { '?' };
        let database_url = format!("{pg}{separator}options=-csearch_path%3D{name}");
        Self {
            admin,
            name,
            database_url,
        }
    }

    pub async fn drop_schema(self) {
        self.admin
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .expect("drop schema");
    }
}

/// The ids `/v1/models` lists; also makes sure the catalog is cached (the start-up
/// refresh may still be running).
pub async fn listed_models(orpipe: &Orpipe) -> Vec<String> {
    let response = orpipe_testkit::client::get(&orpipe.url("/v1/models"), Some(CLIENT_KEY))
        .await
        .expect("models");
    assert_eq!(response.status, 200, "{}", response.text());
    response.json().expect("json")["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}
