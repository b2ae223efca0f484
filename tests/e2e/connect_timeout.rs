//! `ORPIPE_UPSTREAM_CONNECT_TIMEOUT_SECS` bounds TCP connect and the TLS handshake
//! together: an OpenRouter address that accepts connections but never completes a
//! handshake fails the request after that time, not after the first-byte timeout.

use crate::CLIENT_KEY;
use orpipe_testkit::{HttpClient, Orpipe};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_handshake_that_never_completes_fails_within_the_connect_timeout() {
    // Accepts every connection and holds it open without a byte of TLS.
    let (port, holder) = orpipe_testkit::mute::mute_listener()
        .await
        .expect("listener");
    let base_url = format!("https://127.0.0.1:{port}/api/v1");
    let orpipe = Orpipe::spawn(
        Path::new(env!("CARGO_BIN_EXE_orpipe")),
        &base_url,
        &[
            ("ORPIPE_API_KEYS", CLIENT_KEY),
            ("ORPIPE_UPSTREAM_CONNECT_TIMEOUT_SECS", "1"),
            ("ORPIPE_UPSTREAM_RETRIES", "0"),
        ],
    )
    .await
    .expect("orpipe starts");

    let started = Instant::now();
    let response = HttpClient::new()
        .with_timeout(Duration::from_secs(40))
        .post_json(
            &orpipe.url("/v1/chat/completions"),
            &json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}),
            Some(CLIENT_KEY),
        )
        .await
        .expect("an answer before the client gives up");
    let elapsed = started.elapsed();
    assert_eq!(response.status, 504, "{}", response.text());
    // 1 s configured (perhaps twice: the catalog, then the call); generous for a busy machine.
    assert!(
        elapsed < Duration::from_secs(8),
        "answered after {elapsed:?}"
    );
    holder.abort();
}
